//! The hardware virtualization extension (VT-x, AMD-V, SIE, the RISC-V H extension, POWER's
//! hypervisor mode, arm64's EL2) and its state.
//!
//! Compares what the kernel shows in `/proc/cpuinfo` with what CPUID says: the kernel hides `vmx`
//! when the firmware locked VT-x off, so "CPUID has it, cpuinfo does not, no hypervisor" means
//! disabled in the firmware setup. On the running host that is confirmed, where the user may, from
//! the feature-control MSR (`/dev/cpu/0/msr`) and the kernel log (`/dev/kmsg`).

use std::io::Read;
use std::os::unix::fs::FileExt;

use super::Notes;
use super::cpu::CpuInfo;
use super::cpuid::CpuidFacts;
use super::kvm::Kvm;
use crate::host::{HostFs, ReadError};

words! {
    /// What the evidence says of the extension.
    pub enum VtState {
        /// The kernel shows it: usable.
        Enabled = "enabled",
        /// The CPU has it, the firmware turned it off.
        DisabledByFirmware = "disabled-by-firmware",
        /// Not there (or not passed through to this guest).
        Absent = "absent",
        /// `/proc/cpuinfo` shows none and nothing else could tell absent from disabled in firmware.
        AbsentOrDisabled = "absent-or-disabled",
        /// Nothing tells.
        Unknown = "unknown",
    }
}

/// The extension, its state and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// `vmx`, `svm`, `sie`, `h`, `hv-mode`, `el2`, or none.
    pub name: Option<&'static str>,
    /// Its state.
    pub state: VtState,
    /// What showed it.
    pub evidence: String,
}

/// Work out the extension and its state.
pub fn extension(
    fs: &HostFs,
    cpu: &CpuInfo,
    cpuid: Option<&CpuidFacts>,
    arch: &str,
    kvm: &Kvm,
    notes: &mut Notes,
) -> Extension {
    // A /dev/kvm whose stat failed counts as absent here; the failure is in the errors.
    let device = kvm
        .outcome
        .as_ref()
        .map_or(kvm.device_exists == Ok(true), |k| k.exists);
    let mut ext = classify(cpu, cpuid, arch, device);
    if ext.state == VtState::DisabledByFirmware && fs.is_live() {
        ext.evidence
            .push_str(&confirm_firmware_disabled(fs, cpuid, notes));
    }
    ext
}

fn found(name: Option<&'static str>, state: VtState, evidence: impl Into<String>) -> Extension {
    Extension {
        name,
        state,
        evidence: evidence.into(),
    }
}

fn classify(cpu: &CpuInfo, cpuid: Option<&CpuidFacts>, arch: &str, kvm_device: bool) -> Extension {
    use VtState::*;
    if let Some(e) = cpu.virt_extension {
        return found(Some(e), Enabled, format!("/proc/cpuinfo shows {e}"));
    }
    if super::system::is_x86(arch) {
        return classify_x86(cpu, cpuid);
    }
    match arch {
        "aarch64" if kvm_device => found(
            Some("el2"),
            Enabled,
            "/dev/kvm exists: the kernel entered at EL2",
        ),
        "aarch64" | "armv7l" => found(
            None,
            Unknown,
            "arm shows no EL2 flag in /proc/cpuinfo and /dev/kvm is absent",
        ),
        "s390x" | "s390" => found(
            None,
            Absent,
            "/proc/cpuinfo features lack sie (SIE not available to this Linux)",
        ),
        "riscv64" => found(None, Absent, "/proc/cpuinfo ISA lacks the h extension"),
        a if a.starts_with("ppc") => found(
            None,
            Absent,
            format!(
                "/proc/cpuinfo platform {:?} is not PowerNV (no hypervisor mode)",
                cpu.platform.clone().unwrap_or_default()
            ),
        ),
        _ if kvm_device => found(
            None,
            Unknown,
            "/dev/kvm exists; this architecture shows no extension flag",
        ),
        _ => found(
            None,
            Unknown,
            "no known virtualization flag for this architecture",
        ),
    }
}

fn classify_x86(cpu: &CpuInfo, cpuid: Option<&CpuidFacts>) -> Extension {
    use VtState::*;
    if let Some(c) = cpuid {
        let ext = if c.vmx {
            Some("vmx")
        } else if c.svm {
            Some("svm")
        } else {
            None
        };
        return match (ext, c.hypervisor) {
            (Some(e), false) => found(
                Some(e),
                DisabledByFirmware,
                format!(
                    "CPUID reports {e} but the kernel hides it in /proc/cpuinfo, and no hypervisor bit: disabled in the firmware setup"
                ),
            ),
            (Some(e), true) => found(
                None,
                Absent,
                format!("CPUID reports {e} under a hypervisor that the kernel does not use"),
            ),
            (None, true) => found(
                None,
                Absent,
                "neither /proc/cpuinfo nor CPUID shows vmx or svm: the hypervisor does not show them to this guest",
            ),
            (None, false) => found(
                None,
                Absent,
                "neither /proc/cpuinfo nor CPUID shows vmx or svm: this CPU has no hardware virtualization",
            ),
        };
    }
    if cpu.flags.contains("hypervisor") {
        return found(
            None,
            Absent,
            "/proc/cpuinfo shows no vmx/svm, and the hypervisor flag: not passed through to this guest",
        );
    }
    if cpu.count == 0 {
        return found(None, Unknown, "/proc/cpuinfo unreadable");
    }
    found(
        None,
        AbsentOrDisabled,
        "/proc/cpuinfo shows no vmx/svm and CPUID was not read: the CPU lacks VT-x/AMD-V or the firmware disabled it",
    )
}

/// Where readable, confirm "disabled in firmware" from the feature-control MSR (Intel 0x3a: locked
/// without VMX outside SMX; AMD VM_CR 0xc0010114: SVMDIS) and the kernel log. Both need root (and
/// the msr module); without them the CPUID-versus-cpuinfo evidence stands alone and the report
/// says which check wanted more privilege.
fn confirm_firmware_disabled(fs: &HostFs, cpuid: Option<&CpuidFacts>, notes: &mut Notes) -> String {
    let mut out = String::new();
    let amd = cpuid.is_some_and(|c| c.svm && !c.vmx);
    let (msr, what) = if amd {
        (0xc001_0114u64, "VM_CR")
    } else {
        (0x3a, "IA32_FEATURE_CONTROL")
    };
    match fs.open_char_device("/dev/cpu/0/msr") {
        Ok(f) => {
            let mut b = [0u8; 8];
            if f.read_exact_at(&mut b, msr).is_ok() {
                let v = u64::from_le_bytes(b);
                let disabled = if amd {
                    v & (1 << 4) != 0
                } else {
                    v & 1 != 0 && v & (1 << 2) == 0
                };
                let verdict = if disabled {
                    "confirms it is disabled"
                } else {
                    "does not show it disabled"
                };
                out.push_str(&format!("; MSR {what} = {v:#x}: {verdict}"));
            }
        }
        Err(e @ ReadError::PermissionDenied(_)) => {
            fs.handled(&e);
            notes.needs_privilege.push(format!(
                "reading MSR {what} ({msr:#x}) to confirm VT is disabled in firmware: needs root (/dev/cpu/0/msr)"
            ));
        }
        // No msr module: nothing a privilege would change.
        Err(_) => {}
    }
    match fs.open_char_device("/dev/kmsg") {
        Ok(mut f) => {
            let mut buf = vec![0u8; 8192];
            let mut total = 0usize;
            // One record per read; stop at the end (EAGAIN) or after 4 MiB.
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 || total > 4 << 20 {
                    break;
                }
                total += n;
                let line = String::from_utf8_lossy(&buf[..n]);
                let msg = line.split_once(';').map(|x| x.1).unwrap_or(&line).trim();
                if msg.contains("disabled by BIOS")
                    || msg.contains("not enabled (by BIOS)")
                    || msg.contains("SVM disabled")
                {
                    out.push_str(&format!("; kernel log: {msg:?}"));
                    break;
                }
            }
        }
        Err(e @ ReadError::PermissionDenied(_)) => {
            fs.handled(&e);
            notes.needs_privilege.push(
                "reading the kernel log (/dev/kmsg) for \"disabled by BIOS\": needs root or kernel.dmesg_restrict=0".into(),
            );
        }
        Err(_) => {}
    }
    out
}
