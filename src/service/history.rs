//! What the service remembers from one probe to the next: the last report, the verdict changes
//! since it started (the last [`KEPT`], with the facts behind each), and when each technology's
//! verdict last changed. Reads no host files.

use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

use crate::report::changes::{self, Side};
use crate::report::status::{Change, Logged};
use crate::report::{Report, Verdict};
use crate::rules::Table;

/// How many verdict changes the status file keeps.
pub const KEPT: usize = 100;

/// The service's memory of past probes.
#[derive(Debug, Default)]
pub struct History {
    /// The last probe's verdicts and facts.
    last: Option<Side>,
    /// The last [`KEPT`] changes, oldest first.
    pub entries: VecDeque<Logged>,
    /// When each technology's verdict last changed (the first probe counts).
    pub last_change: BTreeMap<String, SystemTime>,
    /// Verdict changes since start.
    pub verdict_changes: u64,
    /// When any verdict last changed, as the report's time.
    pub changed_at: String,
    /// What changed then (the status's `service.changes`).
    pub latest: Vec<Change>,
}

impl History {
    /// Compare a new report with the last one; returns the changes it brought.
    pub fn note(&mut self, report: &Report, table: &Table, now: SystemTime) -> &[Change] {
        let side = Side::of(report);
        let Some(last) = &self.last else {
            for t in &report.technologies {
                self.last_change.insert(t.id.clone(), now);
            }
            self.changed_at = report.generated_at.clone();
            self.last = Some(side);
            return &self.latest;
        };
        let found = changes::compare(last, &side, table);
        if found.is_empty() {
            self.last = Some(side);
            return &[];
        }
        self.latest = found
            .iter()
            .map(|c| Change {
                id: c.technology.clone(),
                from: c.from.unwrap_or(Verdict::Unknown),
                to: c.to.unwrap_or(Verdict::Unknown),
            })
            .collect();
        for c in found {
            self.last_change.insert(c.technology.clone(), now);
            if c.to.is_none() {
                self.last_change.remove(&c.technology);
            }
            self.entries.push_back(Logged {
                time: report.generated_at.clone(),
                change: c,
            });
            if self.entries.len() > KEPT {
                self.entries.pop_front();
            }
        }
        self.verdict_changes += self.latest.len() as u64;
        self.changed_at = report.generated_at.clone();
        self.last = Some(side);
        &self.latest
    }
}
