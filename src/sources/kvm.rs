//! The KVM check: what opening `/dev/kvm` and creating a VM and a vCPU gave.
//!
//! On the running host (and with `--host-root`) the check runs live, as the invoking user
//! ([`crate::host::live`]); a captured tree has its recorded answer, or only whether its
//! `/dev/kvm` exists (a stat, nothing opened).

use crate::host::HostFs;
use crate::host::live::{KvmOutcome, Live};

/// What is known of KVM here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kvm {
    /// The check's outcome, when it ran (live or as captured).
    pub outcome: Option<KvmOutcome>,
    /// Where the outcome came from.
    pub source: &'static str,
    /// Whether `/dev/kvm` exists, when the check did not run.
    pub device_exists: bool,
}

/// Run (or look up) the KVM check.
pub fn read(fs: &HostFs, live: &dyn Live) -> Kvm {
    let outcome = live.kvm();
    Kvm {
        device_exists: outcome.is_none() && fs.exists("/dev/kvm"),
        source: if live.is_native() {
            "open/ioctl /dev/kvm"
        } else {
            "virtprobe-live.json kvm"
        },
        outcome,
    }
}
