//! The sources: one pass over the host that gathers what the technology table needs, each source
//! family in its own module returning a typed struct ([`Probed`] holds them all).
//!
//! [`probe`] runs them in a fixed order, commented there. A source that cannot read something
//! keeps the reason in its struct and, when the gap matters, lists it in [`Notes`] (the report's
//! `errors`); every failure of the host layer other than "not found" is listed there too, once;
//! nothing here aborts. The table says which module parameters, paths, tools and kernel
//! config options it needs ([`Needs`]); only those are read. Which host files each source reads
//! is in its module's documentation.

pub mod cgroups;
pub mod cpu;
pub mod cpuid;
pub mod firmware;
pub mod kernel;
pub mod kvm;
pub mod os;
pub mod privilege;
pub mod system;
pub mod tools;
pub mod virt;

use std::collections::BTreeSet;

use crate::host::HostFs;
use crate::host::live::Live;

/// What the technology table asks the probe to look at, beyond the fixed sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Module parameters, `module.param`.
    pub params: BTreeSet<String>,
    /// Paths whose existence matters.
    pub paths: BTreeSet<String>,
    /// Tools (exact names, or prefixes ending in `*`).
    pub tools: BTreeSet<String>,
    /// Kernel config options the rules read (without `CONFIG_`); only these are kept.
    pub config_keys: BTreeSet<String>,
}

/// A value a source read, or why it is not known, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading<T> {
    /// The value, or the reason it is unknown.
    pub value: Result<T, String>,
    /// A host path, `uname`, `cpuid`, an ioctl…
    pub source: String,
    /// Unknown because it could not be tried here (a captured tree cannot run the KVM check),
    /// not because something failed.
    pub not_tried: bool,
}

impl<T> Reading<T> {
    /// A value read from `source`.
    pub fn known(value: T, source: impl Into<String>) -> Self {
        Reading {
            value: Ok(value),
            source: source.into(),
            not_tried: false,
        }
    }

    /// Not known, and why.
    pub fn unknown(why: impl Into<String>, source: impl Into<String>) -> Self {
        Reading {
            value: Err(why.into()),
            source: source.into(),
            not_tried: false,
        }
    }

    /// Not known because it cannot be tried here, and why.
    pub fn not_tried(why: impl Into<String>, source: impl Into<String>) -> Self {
        Reading {
            not_tried: true,
            ..Reading::unknown(why, source)
        }
    }

    /// The value, when known.
    pub fn get(&self) -> Option<&T> {
        self.value.as_ref().ok()
    }
}

/// What a gap leaves unknown: a source's own word for it (the report's `errors[].fact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// A captured tree's `virtprobe-live.json`.
    Live,
    /// `/proc/cpuinfo`.
    Cpu,
    /// The architecture.
    Arch,
    /// The kernel release.
    KernelRelease,
    /// The kernel version.
    KernelVersion,
    /// The kernel config.
    KernelConfig,
    /// The loaded and built-in modules.
    KernelModules,
    /// The cgroup layout.
    CgroupVersion,
    /// `user.max_user_namespaces`.
    UsernsMax,
    /// The IOMMU groups.
    IommuGroups,
    /// The KVM check.
    Kvm,
    /// Opening `/dev/net/tun`.
    Tun,
    /// A host path or tool looked up.
    Path,
    /// A folder listing cut at its bound.
    Listing,
}

impl Gap {
    /// The word the report shows (the fact it leaves unknown, or the source).
    pub fn as_str(self) -> &'static str {
        match self {
            Gap::Live => "live",
            Gap::Cpu => "cpu",
            Gap::Arch => "arch",
            Gap::KernelRelease => "kernel.release",
            Gap::KernelVersion => "kernel.version",
            Gap::KernelConfig => "kernel.config",
            Gap::KernelModules => "kernel.modules",
            Gap::CgroupVersion => "cgroup.version",
            Gap::UsernsMax => "userns.max",
            Gap::IommuGroups => "iommu.groups",
            Gap::Kvm => "kvm",
            Gap::Tun => "tun.open",
            Gap::Path => "paths",
            Gap::Listing => "listing",
        }
    }
}

/// Something the probe could not read: what it leaves unknown, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What stays unknown.
    pub gap: Gap,
    /// What went wrong, with the path.
    pub message: String,
}

/// What the sources report beside their values: the gaps, in the order met, and the checks that
/// wanted more privilege than the invoking user has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    /// Gaps that matter (the report's `errors`).
    pub errors: Vec<Problem>,
    /// Checks skipped because the invoking user lacks a privilege.
    pub needs_privilege: Vec<String>,
}

impl Notes {
    /// List a gap.
    pub fn error(&mut self, gap: Gap, message: impl Into<String>) {
        self.errors.push(Problem {
            gap,
            message: message.into(),
        });
    }

    /// A [`Reading`] that is unknown, with the gap listed.
    pub fn unknown<T>(
        &mut self,
        gap: Gap,
        why: impl Into<String>,
        source: impl Into<String>,
    ) -> Reading<T> {
        let why = why.into();
        self.error(gap, why.clone());
        Reading::unknown(why, source)
    }
}

/// Everything one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// `/proc/cpuinfo` (empty when it could not be read).
    pub cpu: cpu::CpuInfo,
    /// Why `/proc/cpuinfo` gave nothing, if it did not.
    pub cpu_problem: Option<String>,
    /// Architecture, host name, paths, user, IOMMU.
    pub system: system::System,
    /// Kernel release, config, modules, parameters, command line.
    pub kernel: kernel::Kernel,
    /// CPUID, when read.
    pub cpuid: Option<cpuid::CpuidFacts>,
    /// Why CPUID was not read, when it was not.
    pub cpuid_missing: &'static str,
    /// Hypervisors, containers and the layers this Linux runs in.
    pub virt: virt::Findings,
    /// Tools found: name (or `prefix*`) → the path it was found at; and those a failed lookup
    /// leaves unknown.
    pub tools: tools::Lookup,
    /// The KVM check.
    pub kvm: kvm::Kvm,
    /// The hardware virtualization extension and its state.
    pub extension: firmware::Extension,
    /// cgroups, namespaces, user namespaces.
    pub cgroups: cgroups::Cgroups,
    /// Gaps and privilege notes.
    pub notes: Notes,
}

/// Run every source, in this order (later sources use what earlier ones found).
pub fn probe(fs: &HostFs, live: &dyn Live, needs: &Needs) -> Probed {
    let mut notes = Notes::default();
    // The captured live answers, when a tree has them and they are broken.
    if let Some(p) = live.problem() {
        notes.error(Gap::Live, p);
    }
    let uname = live.uname();
    // The CPU as the kernel shows it: every later source may look at it.
    let cpu = cpu::read(fs, &mut notes);
    let cpu_problem = cpu.as_ref().err().cloned();
    let cpu = cpu.unwrap_or_default();
    // Architecture and host name: uname first, then what the files say.
    let arch = system::arch(fs, live, uname.as_ref(), &cpu, &mut notes);
    let hostname = system::hostname(fs, live);
    // The kernel: release (uname, or the tree's osrelease), config, modules, parameters.
    let kernel = kernel::read(fs, uname.as_ref(), needs, &mut notes);
    // CPUID, on x86 only (or where the architecture is not known).
    let arch_word = arch.get().map(String::as_str).unwrap_or("");
    let (cpuid, cpuid_missing) = cpuid_for(fs, live, arch_word, &cpu);
    // Where this Linux runs: hypervisors and containers, systemd-detect-virt's order.
    let release = kernel.release.get().cloned();
    let modules = kernel.modules.get();
    let virt = virt::detect(
        fs,
        &cpu,
        cpuid.as_ref(),
        release.as_deref(),
        modules,
        &mut notes,
    );
    // The paths and tools the table names, and the invoking user.
    let paths = system::existing(fs, &needs.paths);
    let tools = tools::find(fs, &live.path_dirs(), &needs.tools);
    let user = live.user();
    // The KVM check (live, or as captured).
    let kvm = kvm::read(fs, live, &mut notes);
    // The virtualization extension: cpuinfo and CPUID compared, confirmed in firmware if it can be.
    let extension = firmware::extension(fs, &cpu, cpuid.as_ref(), arch_word, &kvm, &mut notes);
    // cgroups, namespaces, user namespaces.
    let cgroups = cgroups::read(fs, &kernel, &mut notes);
    // IOMMU groups, for device assignment.
    let iommu = system::iommu_groups(fs, &mut notes);
    // Whether the invoking user may open /dev/net/tun.
    let tun = system::tun(live, &mut notes);
    // The distribution, for the steps `fix` prints.
    let os = os::read(fs);
    // Every read, stat or listing that failed for a reason other than "not found", said once:
    // none of them is taken for an absence without a word.
    for e in fs.failures() {
        let text = e.to_string();
        if !notes.errors.iter().any(|p| p.message.contains(&text)) {
            let gap = match e {
                crate::host::ReadError::TooMany(..) => Gap::Listing,
                _ => Gap::Path,
            };
            notes.error(gap, text);
        }
    }
    Probed {
        cpu,
        cpu_problem,
        system: system::System {
            arch,
            hostname,
            paths,
            user,
            iommu,
            tun,
            os,
        },
        kernel,
        cpuid,
        cpuid_missing,
        virt,
        tools,
        kvm,
        extension,
        cgroups,
        notes,
    }
}

/// CPUID when this is an x86 CPU (or one whose architecture nothing told), and otherwise why not.
fn cpuid_for(
    fs: &HostFs,
    live: &dyn Live,
    arch: &str,
    cpu: &cpu::CpuInfo,
) -> (Option<cpuid::CpuidFacts>, &'static str) {
    let x86 =
        arch.is_empty() || system::is_x86(arch) || cpu.arch.as_deref().is_some_and(system::is_x86);
    let read = if x86 { cpuid::read(live) } else { None };
    let why = if fs.has_live_sources() {
        "not an x86 CPU"
    } else {
        "captured tree without CPUID answers (virtprobe-live.json)"
    };
    (read, why)
}
