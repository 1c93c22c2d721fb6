//! The KVM check: what opening `/dev/kvm` and creating a VM and a vCPU gave.
//!
//! On the running host (and with `--host-root`) the check runs live, as the invoking user
//! ([`crate::host::live`]); a captured tree has its recorded answer, or only whether its
//! `/dev/kvm` exists (a stat, nothing opened).

use super::{Gap, Notes};
use crate::host::HostFs;
use crate::host::live::{KvmOutcome, Live};

/// What is known of KVM here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kvm {
    /// The check's outcome, when it ran (live or as captured).
    pub outcome: Option<KvmOutcome>,
    /// Where the outcome came from.
    pub source: &'static str,
    /// Whether `/dev/kvm` exists, when the check did not run (an error: the stat failed).
    pub device_exists: Result<bool, String>,
}

/// Run (or look up) the KVM check. A check stopped by an error that does not answer (`EINTR`,
/// `ENOMEM`, `EIO`) is listed in the report's errors.
pub fn read(fs: &HostFs, live: &dyn Live, notes: &mut Notes) -> Kvm {
    let outcome = live.kvm();
    if let Some(why) = outcome.as_ref().and_then(KvmOutcome::unanswered) {
        notes.error(Gap::Kvm, why);
    }
    let device_exists = match &outcome {
        Some(_) => Ok(false),
        None => fs.exists("/dev/kvm").map_err(|e| {
            notes.error(Gap::Kvm, e.to_string());
            e.to_string()
        }),
    };
    Kvm {
        device_exists,
        source: if live.is_native() {
            "open/ioctl /dev/kvm"
        } else {
            "virtprobe-live.json kvm"
        },
        outcome,
    }
}
