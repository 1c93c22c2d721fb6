//! The status file `virtprobe serve` keeps: the report plus what the service counts.

use serde::Serialize;

use super::{Report, Verdict};

/// A verdict that changed between two probes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// Technology id.
    pub id: String,
    /// Verdict before.
    pub from: Verdict,
    /// Verdict now.
    pub to: Verdict,
}

/// What the status file adds to the report.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ServiceInfo {
    /// When any verdict last changed (the first probe counts).
    pub verdicts_changed_at: String,
    /// What changed then.
    pub changes: Vec<Change>,
    /// Probes since start.
    pub probes: u64,
    /// Verdict changes since start.
    pub verdict_changes: u64,
    /// How long the last probe took, in seconds.
    pub probe_duration_seconds: f64,
    /// The probe interval, in seconds.
    pub interval_seconds: f64,
}

/// One verdict change in the status file's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Logged {
    /// When the probe that saw it finished (RFC 3339, UTC).
    pub time: String,
    /// The change and the facts behind it.
    #[serde(flatten)]
    pub change: super::changes::Change,
}

/// The status file: the report plus `service`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Status {
    /// The report, as `virtprobe --json` prints it.
    #[serde(flatten)]
    pub report: Report,
    /// Service bookkeeping.
    pub service: ServiceInfo,
    /// The last verdict changes this service saw (at most 100), most recent last.
    pub changes: Vec<Logged>,
}
