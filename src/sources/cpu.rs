//! The CPU as `/proc/cpuinfo` shows it, in every architecture's format.
//!
//! Reads `/proc/cpuinfo`. x86 lists `vendor_id`, `model name` and `flags`; arm64 and arm
//! `Features`, `CPU implementer`, `CPU part` and `CPU architecture`; s390 `vendor_id : IBM/S390` and
//! `features`; POWER `cpu`, `platform` and `model`; RISC-V `isa` (or `hart isa`) and `uarch`;
//! LoongArch `Model Name` and `Features`; UML `vendor_id : User Mode Linux`. The virtualization
//! extension the kernel shows comes from here: `vmx`/`svm` (x86), `sie` (s390), `h` in the RISC-V
//! base ISA, `PowerNV` (POWER in hypervisor mode).

use std::collections::BTreeSet;

use super::{Gap, Notes};
use crate::host::HostFs;

/// What `/proc/cpuinfo` says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuInfo {
    /// Vendor: `GenuineIntel`, `AuthenticAMD`, `IBM/S390`, `ARM implementer 0x41`, `IBM POWER`…
    pub vendor: Option<String>,
    /// Model name as a person would read it.
    pub model: Option<String>,
    /// Feature flags of the first CPU (x86 `flags`, arm `Features`, s390 `features`, RISC-V ISA
    /// extensions).
    pub flags: BTreeSet<String>,
    /// POWER platform: `PowerNV`, `pSeries`, `PS3`, `Cell`…
    pub platform: Option<String>,
    /// POWER machine model line (`IBM pSeries (emulated by qemu)`, `SonyPS3`…).
    pub machine: Option<String>,
    /// RISC-V ISA string.
    pub isa: Option<String>,
    /// Architecture in `uname -m` words, inferred from the format.
    pub arch: Option<String>,
    /// Number of processors listed.
    pub count: usize,
    /// The virtualization extension shown, if any.
    pub virt_extension: Option<&'static str>,
}

/// Read and parse `/proc/cpuinfo`: the CPU, or why it is not known (also listed in `errors`).
pub fn read(fs: &HostFs, notes: &mut Notes) -> Result<CpuInfo, String> {
    let parsed = fs
        .read_string("/proc/cpuinfo")
        .map_err(|e| e.to_string())
        .and_then(|t| {
            let c = parse_cpuinfo(&t);
            if c.count == 0 {
                Err("/proc/cpuinfo: empty or not in a known format".to_string())
            } else {
                Ok(c)
            }
        });
    if let Err(why) = &parsed {
        notes.error(Gap::Cpu, why);
    }
    parsed
}

fn split_line(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    Some((k.trim(), v.trim()))
}

/// Parse `/proc/cpuinfo` text. Never fails: an empty or garbage file gives an empty [`CpuInfo`]
/// (`count == 0`), which the caller reports as unknown.
pub fn parse_cpuinfo(text: &str) -> CpuInfo {
    let mut c = CpuInfo::default();
    let mut implementer = None;
    let mut part = None;
    let mut arm_arch = None;
    let mut arm_processor = None;
    let mut s390_machine = None;
    let mut ppc_cpu = None;
    let mut uarch = None;
    let mut loong = false;
    let mut ia64 = false;
    let mut sparc = false;
    let mut flags_seen = false;
    let mut x86 = false;
    for line in text.lines() {
        let Some((key, value)) = split_line(line) else {
            continue;
        };
        match key {
            "processor" => {
                c.count += 1;
                // s390: "processor 0: version = FF,  identification = 0E3F12,  machine = 2817"
            }
            k if k.starts_with("processor ") && value.contains("machine") => {
                c.count += 1;
                if s390_machine.is_none() {
                    s390_machine = value.split(',').find_map(|p| {
                        p.trim()
                            .strip_prefix("machine = ")
                            .map(|m| m.trim().to_string())
                    });
                }
            }
            "vendor_id" | "vendor" if c.vendor.is_none() => c.vendor = Some(value.to_string()),
            "model name" | "Model Name" if c.model.is_none() => c.model = Some(value.to_string()),
            "flags" | "Features" | "features" if !flags_seen => {
                flags_seen = true;
                c.flags = value.split_whitespace().map(str::to_string).collect();
                if key == "flags" {
                    x86 = true;
                }
            }
            "CPU implementer" if implementer.is_none() => implementer = Some(value.to_string()),
            "CPU part" if part.is_none() => part = Some(value.to_string()),
            "CPU architecture" if arm_arch.is_none() => arm_arch = Some(value.to_string()),
            "Processor" if arm_processor.is_none() => arm_processor = Some(value.to_string()),
            "cpu" if ppc_cpu.is_none() => ppc_cpu = Some(value.to_string()),
            "platform" if c.platform.is_none() => c.platform = Some(value.to_string()),
            "model" | "machine" if c.machine.is_none() && ppc_cpu.is_some() => {
                c.machine = Some(value.to_string())
            }
            "isa" | "hart isa" if c.isa.is_none() => c.isa = Some(value.to_string()),
            "uarch" if uarch.is_none() => uarch = Some(value.to_string()),
            "CPU Family" if value.contains("Loongson") => loong = true,
            // IA-64: "arch : IA-64", "family : Itanium 2".
            "arch" if value.starts_with("IA-64") => ia64 = true,
            // SPARC: "cpu : TI UltraSparc T2 (BlackBird)", "type : sun4v".
            "type" if value.starts_with("sun4") => sparc = true,
            _ => {}
        }
    }
    let vendor = c.vendor.clone().unwrap_or_default();
    if vendor == "IBM/S390" {
        c.arch = Some(
            if c.flags.contains("zarch") || c.flags.is_empty() {
                "s390x"
            } else {
                "s390"
            }
            .into(),
        );
        if c.model.is_none() {
            c.model = s390_machine.map(|m| format!("IBM/S390 machine type {m}"));
        }
        if c.flags.contains("sie") {
            c.virt_extension = Some("sie");
        }
    } else if vendor == "User Mode Linux" {
        c.arch = Some("um".into());
    } else if let Some(isa) = c.isa.clone() {
        let lower = isa.to_ascii_lowercase();
        c.arch = Some(
            if lower.starts_with("rv32") {
                "riscv32"
            } else {
                "riscv64"
            }
            .into(),
        );
        let base = lower.get(4..).unwrap_or("").split('_').next().unwrap_or("");
        // The base ISA letters come first; multi-letter extensions follow after '_'.
        if base.contains('h') {
            c.virt_extension = Some("h");
        }
        let mut flags: BTreeSet<String> = lower.split('_').skip(1).map(str::to_string).collect();
        flags.extend(base.chars().map(|ch| ch.to_string()));
        c.flags = flags;
        c.vendor.get_or_insert_with(|| "RISC-V".into());
        if c.model.is_none() {
            c.model = uarch;
        }
    } else if ia64 {
        c.arch = Some("ia64".into());
    } else if sparc
        || ppc_cpu
            .as_deref()
            .is_some_and(|p| p.contains("Sparc") || p.contains("SPARC"))
    {
        c.arch = Some("sparc64".into());
        if c.model.is_none() {
            c.model = ppc_cpu.clone();
        }
    } else if let Some(cpu) = ppc_cpu.clone().filter(|_| !x86) {
        c.arch = Some("ppc64".into());
        c.vendor.get_or_insert_with(|| "IBM POWER".into());
        if c.model.is_none() {
            c.model = Some(cpu);
        }
        if c.platform.as_deref() == Some("PowerNV") {
            c.virt_extension = Some("hv-mode");
        }
    } else if implementer.is_some() || arm_arch.is_some() {
        let arch_num: u32 = arm_arch
            .as_deref()
            .and_then(|a| a.split(|ch: char| !ch.is_ascii_digit()).next())
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let aarch64 = arch_num >= 8
            && !c.flags.contains("swp")
            && arm_processor.as_deref().is_none_or(|p| !p.contains("v7"));
        c.arch = Some(if aarch64 { "aarch64" } else { "armv7l" }.into());
        if c.vendor.is_none() {
            c.vendor = implementer.clone().map(|i| format!("ARM implementer {i}"));
        }
        if c.model.is_none() {
            c.model = match (implementer, part) {
                (Some(i), Some(p)) => Some(format!("ARM implementer {i} part {p}")),
                _ => arm_processor,
            };
        }
    } else if loong {
        c.arch = Some("loongarch64".into());
    } else if x86 || !vendor.is_empty() {
        c.arch = Some(
            if c.flags.contains("lm") {
                "x86_64"
            } else {
                "i686"
            }
            .into(),
        );
        if c.flags.contains("vmx") {
            c.virt_extension = Some("vmx");
        } else if c.flags.contains("svm") {
            c.virt_extension = Some("svm");
        }
    }
    // A file with no `processor` line still says what it says (a model name alone is a QEMU/KVM
    // signature): it describes at least one CPU.
    let said = c.vendor.is_some()
        || c.model.is_some()
        || !c.flags.is_empty()
        || c.arch.is_some()
        || c.platform.is_some()
        || c.machine.is_some();
    if c.count == 0 && said {
        c.count = 1;
    }
    c
}
