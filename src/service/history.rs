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
        self.note_side(Side::of(report), &report.generated_at, table, now)
    }

    /// The same, for a report's verdicts and facts and its time.
    fn note_side(&mut self, side: Side, time: &str, table: &Table, now: SystemTime) -> &[Change] {
        let Some(last) = &self.last else {
            for t in &side.technologies {
                self.last_change.insert(t.id.clone(), now);
            }
            self.changed_at = time.to_string();
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
                time: time.to_string(),
                change: c,
            });
            if self.entries.len() > KEPT {
                self.entries.pop_front();
            }
        }
        self.verdict_changes += self.latest.len() as u64;
        self.changed_at = time.to_string();
        self.last = Some(side);
        &self.latest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::changes::SideVerdict;

    fn side(v: Verdict) -> Side {
        Side {
            schema_version: 1,
            technologies: vec![SideVerdict {
                id: "kvm".into(),
                verdict: v,
            }],
            facts: Default::default(),
        }
    }

    #[test]
    fn keeps_the_last_changes_most_recent_last() {
        let table = Table::embedded().unwrap();
        let mut h = History::default();
        let t0 = SystemTime::UNIX_EPOCH;
        assert!(
            h.note_side(side(Verdict::Ready), "t0", &table, t0)
                .is_empty()
        );
        assert_eq!(h.last_change["kvm"], t0);
        assert!(
            h.note_side(side(Verdict::Ready), "t1", &table, t0)
                .is_empty()
        );
        for i in 0..(KEPT + 5) {
            let v = [Verdict::Available, Verdict::Ready][i % 2];
            let at = t0 + std::time::Duration::from_secs(i as u64 + 1);
            assert_eq!(h.note_side(side(v), &format!("t{i}"), &table, at).len(), 1);
        }
        assert_eq!(h.entries.len(), KEPT);
        assert_eq!(h.entries.back().unwrap().time, format!("t{}", KEPT + 4));
        assert_eq!(h.entries.front().unwrap().time, "t5");
        assert_eq!(h.verdict_changes, KEPT as u64 + 5);
        assert_eq!(h.changed_at, format!("t{}", KEPT + 4));
        assert_eq!(
            h.last_change["kvm"],
            t0 + std::time::Duration::from_secs(KEPT as u64 + 5)
        );
    }
}
