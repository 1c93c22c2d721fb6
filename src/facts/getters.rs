//! The fact table's getters that need more than one field: the CPU (unknown as a whole when
//! `/proc/cpuinfo` could not be read), CPUID, the kernel config, the KVM check and the user.

use super::{Fact, Value, text};
use crate::host::live::{KvmOutcome, UserInfo};
use crate::sources::Probed;
use crate::sources::cpu::CpuInfo;
use crate::sources::cpuid::CpuidFacts;

pub(super) const CPUINFO: &str = "/proc/cpuinfo";
const NO_USER: &str = "captured tree: invoking user not recorded";

/// A value of `/proc/cpuinfo` (`source` says which line), unknown when the file gave nothing.
pub(super) fn cpu(p: &Probed, source: &str, value: impl Fn(&CpuInfo) -> Value) -> Fact {
    match &p.cpu_problem {
        Some(why) => Fact::unknown(why.clone(), CPUINFO),
        None => Fact::known(value(&p.cpu), source),
    }
}

/// A field of `/proc/cpuinfo` that a format may lack.
pub(super) fn cpu_field(p: &Probed, field: impl Fn(&CpuInfo) -> &Option<String>) -> Fact {
    match (&p.cpu_problem, field(&p.cpu)) {
        (Some(why), _) => Fact::unknown(why.clone(), CPUINFO),
        (None, Some(v)) => Fact::known(text(v), CPUINFO),
        (None, None) => Fact::unknown(format!("{CPUINFO}: no such field"), CPUINFO),
    }
}

/// A CPUID answer, unknown where CPUID was not read.
pub(super) fn cpuid(
    p: &Probed,
    source: &'static str,
    value: impl Fn(&CpuidFacts) -> Value,
) -> Fact {
    match &p.cpuid {
        Some(c) => Fact::known(value(c), source),
        None => Fact::unknown(p.cpuid_missing, "cpuid"),
    }
}

pub(super) fn config_found(p: &Probed) -> Fact {
    let c = p.kernel.config.as_ref();
    let found = c.is_some_and(|c| c.value.is_ok());
    let source = c.map_or("no config options asked for", |c| c.source.as_str());
    Fact::known(Value::Bool(found), source)
}

pub(super) fn config(p: &Probed) -> Fact {
    match &p.kernel.config {
        Some(c) => Fact::of(c, |m| Value::Map(m.clone())),
        None => Fact::unknown("no config options asked for", "kernel config"),
    }
}

/// The KVM check's outcome, or the fact "not tried" on a tree that did not record it.
fn kvm(p: &Probed, source: &str, value: impl Fn(&KvmOutcome) -> Fact) -> Fact {
    match &p.kvm.outcome {
        Some(k) => value(k),
        None => Fact::not_tried(p.kvm.untried, source),
    }
}

pub(super) fn kvm_device(p: &Probed) -> Fact {
    match &p.kvm.outcome {
        Some(k) => Fact::known(Value::Bool(k.exists), p.kvm.source),
        None => match &p.kvm.device_exists {
            Ok(b) => Fact::known(Value::Bool(*b), p.kvm.device_source),
            Err(why) => Fact::unknown(why.clone(), p.kvm.device_source),
        },
    }
}

pub(super) fn kvm_group_access(p: &Probed) -> Fact {
    kvm(p, "stat /dev/kvm", |k| match (k.mode, k.gid) {
        (Some(mode), Some(gid)) => {
            let access = gid != 0 && mode & 0o060 == 0o060;
            let shown = format!("/dev/kvm mode {mode:o}, group {gid}");
            Fact::known(Value::Bool(access), shown)
        }
        _ => Fact::unknown("/dev/kvm's owner not recorded", p.kvm.source),
    })
}

/// One step of the check: with no /dev/kvm nothing can be opened or created, which is a fact.
pub(super) fn kvm_step(p: &Probed, step: impl Fn(&KvmOutcome) -> Option<bool>) -> Fact {
    kvm(p, "ioctl /dev/kvm", |k| match (step(k), k.exists) {
        (Some(b), _) => Fact::known(Value::Bool(b), p.kvm.source),
        (None, false) => Fact::known(Value::Bool(false), "/dev/kvm does not exist"),
        (None, true) => Fact::unknown(
            k.unanswered().unwrap_or("not reached").to_string(),
            p.kvm.source,
        ),
    })
}

pub(super) fn kvm_api_version(p: &Probed) -> Fact {
    kvm(p, "ioctl /dev/kvm", |k| match k.api_version {
        Some(v) => Fact::known(Value::Int(v), p.kvm.source),
        None => Fact::unknown(
            k.unanswered().unwrap_or("not reached").to_string(),
            p.kvm.source,
        ),
    })
}

pub(super) fn kvm_error(p: &Probed) -> Fact {
    kvm(p, "ioctl /dev/kvm", |k| {
        Fact::known(text(k.error.as_deref().unwrap_or_default()), p.kvm.source)
    })
}

/// A fact of the invoking user, "not tried" on a tree that did not record one.
pub(super) fn user(p: &Probed, source: &'static str, value: impl Fn(&UserInfo) -> Value) -> Fact {
    match &p.system.user {
        Some(u) => Fact::known(value(u), source),
        None => Fact::not_tried(NO_USER, source),
    }
}

/// The cloud provider's word, `none` when DMI names no cloud.
pub(super) fn cloud(p: &Probed) -> Fact {
    match &p.virt.cloud {
        Some(c) => Fact::known(text(c.provider.as_str()), c.evidence.clone()),
        None => Fact::known(text("none"), "/sys/class/dmi/id"),
    }
}

/// A field of os-release.
pub(super) fn os(p: &Probed, value: impl Fn(&crate::sources::os::OsRelease) -> Value) -> Fact {
    Fact::of(&p.system.os, value)
}
