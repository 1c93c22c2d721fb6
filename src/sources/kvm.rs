//! The KVM check: what opening `/dev/kvm` and creating a VM and a vCPU gave.
//!
//! On the running host (and with `--host-root`) the check runs live, as the invoking user
//! ([`crate::host::live`]); a captured tree has its recorded answer, or only whether its
//! `/dev/kvm` exists (a stat, nothing opened). With `--host-root`, a container that was not given
//! `/dev/kvm` on a node whose sysfs shows the KVM device (`/sys/class/misc/kvm`) has not tried the
//! check: that is what it says, not that the node lacks KVM.

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
    /// What says whether it exists, when the check did not run.
    pub device_source: &'static str,
    /// Why the check did not run, when it did not.
    pub untried: &'static str,
}

/// Why a captured tree has no KVM answer.
const NO_KVM_CHECK: &str = "captured tree: virtprobe-live.json has no KVM check";

/// Why a container judging its node did not try the node's KVM.
const NOT_GIVEN: &str = "this container was not given /dev/kvm (the node has it: /sys/class/misc/kvm), so the KVM check did not run; give the pod /dev/kvm to try it";

/// Where the node's sysfs shows the KVM device (a misc device, there whenever /dev/kvm is).
const KVM_SYSFS: &str = "/sys/class/misc/kvm";

/// Run (or look up) the KVM check. A check stopped by an error that does not answer (`EINTR`,
/// `ENOMEM`, `EIO`) is listed in the report's errors.
pub fn read(fs: &HostFs, live: &dyn Live, notes: &mut Notes) -> Kvm {
    let outcome = live.kvm();
    if let Some(why) = outcome.as_ref().and_then(KvmOutcome::unanswered) {
        notes.error(Gap::Kvm, why);
    }
    if fs.is_host_root() && outcome.as_ref().is_some_and(|k| !k.exists) && fs.present(KVM_SYSFS) {
        return Kvm {
            outcome: None,
            source: "open/ioctl /dev/kvm",
            device_exists: Ok(true),
            device_source: KVM_SYSFS,
            untried: NOT_GIVEN,
        };
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
        device_source: "/dev/kvm",
        untried: NO_KVM_CHECK,
        source: if live.is_native() {
            "open/ioctl /dev/kvm"
        } else {
            "virtprobe-live.json kvm"
        },
        outcome,
    }
}
