//! The fact table: every fact the rules may read, one row each: its name, its kind, what it means,
//! the source that gives it, what the technology table's operands ask that source to read, and the
//! field of the sources' findings it comes from. [`super::collect`] runs the rows, the data-file
//! validator checks conditions against them, `Table::needs` reads `asks`, and
//! `docs/technologies.md` lists them (a test keeps the list equal). Adding a fact is one row here
//! plus the field its source fills.

use super::{Fact, Value, text};
use crate::sources::{Probed, Reading};

/// The kind of a fact's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Yes or no.
    Bool,
    /// A whole number.
    Int,
    /// A word or a line.
    Str,
    /// A kernel-style version.
    Version,
    /// A set of names.
    Set,
    /// Names with values.
    Map,
}

impl Kind {
    /// The word used in messages and docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Str => "string",
            Kind::Version => "version",
            Kind::Set => "set",
            Kind::Map => "map",
        }
    }
}

/// The source module that gives a fact (`src/sources/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `sources::cpu`: `/proc/cpuinfo`.
    Cpu,
    /// `sources::cpuid`: CPUID.
    Cpuid,
    /// `sources::firmware`: the virtualization extension's state.
    Firmware,
    /// `sources::system`: architecture, host name, paths, IOMMU, TUN, the user.
    System,
    /// `sources::kernel`: release, config, modules, parameters, command line.
    Kernel,
    /// `sources::kvm`: the KVM check.
    Kvm,
    /// `sources::virt`: hypervisors, containers, DMI, device tree.
    Virt,
    /// `sources::cgroups`: cgroups and namespaces.
    Cgroups,
    /// `sources::tools`: installed programs.
    Tools,
}

impl Source {
    /// The module's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Cpu => "cpu",
            Source::Cpuid => "cpuid",
            Source::Firmware => "firmware",
            Source::System => "system",
            Source::Kernel => "kernel",
            Source::Kvm => "kvm",
            Source::Virt => "virt",
            Source::Cgroups => "cgroups",
            Source::Tools => "tools",
        }
    }
}

/// What a condition's key or values ask the probe to read (only what the table names is read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asks {
    /// Nothing: the source reads the fact whole.
    Nothing,
    /// Kernel config options (without `CONFIG_`).
    ConfigKeys,
    /// Module parameters, `module.param`.
    Params,
    /// Paths whose existence matters.
    Paths,
    /// Programs looked up by name.
    Tools,
}

/// One fact of the table.
#[derive(Debug, Clone, Copy)]
pub struct FactDef {
    /// Dotted name.
    pub name: &'static str,
    /// Kind of value.
    pub kind: Kind,
    /// The source that gives it.
    pub source: Source,
    /// What the table's operands ask that source to read.
    pub asks: Asks,
    /// One line: what it is and where it comes from.
    pub doc: &'static str,
    /// The fact, from the sources' findings.
    pub get: fn(&Probed) -> Fact,
}

impl PartialEq for FactDef {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for FactDef {}

const fn row(
    name: &'static str,
    kind: Kind,
    source: Source,
    doc: &'static str,
    get: fn(&Probed) -> Fact,
) -> FactDef {
    FactDef {
        name,
        kind,
        source,
        asks: Asks::Nothing,
        doc,
        get,
    }
}

const fn asking(asks: Asks, d: FactDef) -> FactDef {
    FactDef { asks, ..d }
}

fn s(r: &Reading<String>) -> Fact {
    Fact::of(r, |v| text(v))
}

use super::getters as g;
use Kind::*;
use Source as S;

/// Every fact, in the order of the sources.
#[rustfmt::skip]
pub const FACTS: &[FactDef] = &[
    row("arch", Str, S::System, "`uname -m` word (uname; a tree's /proc/sys/kernel/arch, release suffix or cpuinfo format)", |p| s(&p.system.arch)),
    row("os.id", Str, S::System, "distribution: os-release ID (debian, fedora, opensuse-leap…; linux when unset)", |p| g::os(p, |o| text(&o.id))),
    row("os.id_like", Set, S::System, "os-release ID_LIKE: the distributions this one derives from", |p| g::os(p, |o| Value::Set(o.id_like.iter().cloned().collect()))),
    row("host.name", Str, S::System, "host name (gethostname; a tree's /etc/hostname)", |p| s(&p.system.hostname)),
    row("cpu.vendor", Str, S::Cpu, "CPU vendor from /proc/cpuinfo (GenuineIntel, AuthenticAMD, IBM/S390…)", |p| g::cpu_field(p, |c| &c.vendor)),
    row("cpu.model", Str, S::Cpu, "CPU model name from /proc/cpuinfo", |p| g::cpu_field(p, |c| &c.model)),
    row("cpu.flags", Set, S::Cpu, "feature flags of the first CPU in /proc/cpuinfo (x86 flags, arm Features, RISC-V ISA letters)", |p| g::cpu(p, g::CPUINFO, |c| Value::Set(c.flags.clone()))),
    row("cpu.count", Int, S::Cpu, "processors listed in /proc/cpuinfo", |p| g::cpu(p, g::CPUINFO, |c| Value::Int(c.count as i64))),
    row("cpu.platform", Str, S::Cpu, "POWER platform line of /proc/cpuinfo (PowerNV, pSeries, PS3, Cell…), empty elsewhere", |p| g::cpu(p, "/proc/cpuinfo platform", |c| text(c.platform.as_deref().unwrap_or_default()))),
    row("cpu.virt_extension", Str, S::Firmware, "hardware virtualization extension: vmx, svm, sie, h, hv-mode, el2 or none", |p| Fact::known(text(p.extension.name.unwrap_or("none")), p.extension.evidence.clone())),
    row("cpu.virt_extension_state", Str, S::Firmware, "enabled, disabled-by-firmware, absent, absent-or-disabled or unknown", |p| Fact::known(text(p.extension.state.as_str()), p.extension.evidence.clone())),
    row("cpuid.vmx", Bool, S::Cpuid, "CPUID leaf 1 ECX bit 5 (x86)", |p| g::cpuid(p, "cpuid leaf 1 ecx bit 5", |c| Value::Bool(c.vmx))),
    row("cpuid.svm", Bool, S::Cpuid, "CPUID leaf 0x80000001 ECX bit 2 (AMD, Hygon)", |p| g::cpuid(p, "cpuid leaf 0x80000001 ecx bit 2", |c| Value::Bool(c.svm))),
    row("cpuid.hypervisor", Bool, S::Cpuid, "CPUID leaf 1 ECX bit 31: running under a hypervisor", |p| g::cpuid(p, "cpuid leaf 1 ecx bit 31", |c| Value::Bool(c.hypervisor))),
    row("cpuid.hypervisor_signature", Str, S::Cpuid, "CPUID leaf 0x40000000 signature (KVMKVMKVM, XenVMMXenVMM…)", |p| g::cpuid(p, "cpuid leaf 0x40000000", |c| text(c.signature.as_deref().unwrap_or_default()))),
    row("kernel.release", Str, S::Kernel, "`uname -r`", |p| s(&p.kernel.release)),
    row("kernel.version", Version, S::Kernel, "the release's major.minor.patch", |p| Fact::of(&p.kernel.version, |v| Value::Version(*v))),
    row("kernel.config_found", Bool, S::Kernel, "a kernel config was found and read", g::config_found),
    asking(Asks::ConfigKeys, row("kernel.config", Map, S::Kernel, "build options the table reads (without CONFIG_) → y, m or value", g::config)),
    row("kernel.modules", Set, S::Kernel, "loaded and built-in modules (/proc/modules, /sys/module, modules.builtin)", |p| Fact::of(&p.kernel.modules, |m| Value::Set(m.clone()))),
    row("kernel.module_support", Bool, S::Kernel, "the kernel loads modules", |p| Fact::of(&p.kernel.module_support, |b| Value::Bool(*b))),
    row("kernel.cmdline", Str, S::Kernel, "/proc/cmdline", |p| s(&p.kernel.cmdline)),
    asking(Asks::Params, row("module.param", Map, S::Kernel, "module parameters the table reads, module.param → value", |p| Fact::known(Value::Map(p.kernel.params.clone()), "/sys/module/*/parameters"))),
    asking(Asks::Paths, row("path", Set, S::System, "paths the table names that exist", |p| Fact::known(Value::Set(p.system.paths.found.clone()), "stat").unsure(&p.system.paths.unsure))),
    asking(Asks::Tools, row("tool", Map, S::Tools, "tools the table names that are installed → their path", |p| Fact::known(Value::Map(p.tools.found.clone()), crate::sources::tools::SOURCE).unsure(&p.tools.unsure))),
    row("kvm.device", Bool, S::Kvm, "/dev/kvm exists", g::kvm_device),
    row("kvm.group_access", Bool, S::Kvm, "/dev/kvm is read-write for a group other than root's (so joining it gives access)", g::kvm_group_access),
    row("kvm.open", Bool, S::Kvm, "the invoking user opened /dev/kvm read-write", |p| g::kvm_step(p, |k| k.open)),
    row("kvm.api_version", Int, S::Kvm, "KVM_GET_API_VERSION", g::kvm_api_version),
    row("kvm.create_vm", Bool, S::Kvm, "KVM_CREATE_VM succeeded", |p| g::kvm_step(p, |k| k.create_vm)),
    row("kvm.create_vcpu", Bool, S::Kvm, "KVM_CREATE_VCPU succeeded", |p| g::kvm_step(p, |k| k.create_vcpu)),
    row("kvm.error", Str, S::Kvm, "the KVM check's first error with its errno name, or empty", g::kvm_error),
    row("tun.open", Bool, S::System, "the invoking user opened /dev/net/tun read-write", |p| Fact::of(&p.system.tun, |b| Value::Bool(*b))),
    row("iommu.groups", Int, S::System, "IOMMU groups in /sys/kernel/iommu_groups", |p| Fact::of(&p.system.iommu, |n| Value::Int(*n))),
    row("virt.hypervisor", Str, S::Virt, "innermost hypervisor (systemd-detect-virt --vm word) or none", |p| s(&p.virt.hypervisor)),
    row("virt.container", Str, S::Virt, "container (systemd-detect-virt --container word) or none", |p| s(&p.virt.container)),
    row("virt.xen_role", Str, S::Virt, "dom0, domU or none", |p| s(&p.virt.xen_role)),
    row("virt.s390_layers", Str, S::Virt, "IBM Z levels from /proc/sysinfo, outermost first, joined by ' > '", |p| s(&p.virt.s390_layers)),
    row("virt.ppc_lpar", Str, S::Virt, "POWER LPAR: shared, dedicated, yes or none", |p| s(&p.virt.ppc_lpar)),
    row("cloud.provider", Str, S::Virt, "cloud provider DMI names (aws, gcp, azure, alibaba, oracle, digitalocean, hetzner) or none", g::cloud),
    row("dmi.sys_vendor", Str, S::Virt, "DMI sys_vendor, empty when absent", |p| s(&p.virt.dmi_sys_vendor)),
    row("dmi.product_name", Str, S::Virt, "DMI product_name, empty when absent", |p| s(&p.virt.dmi_product_name)),
    row("dt.model", Str, S::Virt, "device tree model, empty when absent", |p| s(&p.virt.dt_model)),
    row("dt.compatible", Str, S::Virt, "device tree compatible, empty when absent", |p| s(&p.virt.dt_compatible)),
    row("openvz.role", Str, S::Virt, "host, container or none", |p| s(&p.virt.openvz_role)),
    row("vserver.role", Str, S::Virt, "host, guest or none", |p| s(&p.virt.vserver_role)),
    row("user.root", Bool, S::System, "the invoking user is root (euid 0)", |p| g::user(p, "geteuid", |u| Value::Bool(u.uid == 0))),
    row("user.groups", Set, S::System, "the invoking user's group ids", |p| g::user(p, "getgroups", |u| Value::Set(u.gids.iter().map(|g| g.to_string()).collect()))),
    row("cgroup.version", Str, S::Cgroups, "v2, hybrid or v1", |p| s(&p.cgroups.version)),
    row("cgroup.controllers", Set, S::Cgroups, "enabled cgroup controllers", |p| Fact::of(&p.cgroups.controllers, |c| Value::Set(c.clone()))),
    row("ns.available", Set, S::Cgroups, "namespace types the kernel offers (/proc/self/ns)", |p| Fact::of(&p.cgroups.namespaces, |c| Value::Set(c.clone()))),
    row("userns.max", Int, S::Cgroups, "user.max_user_namespaces", |p| Fact::of(&p.cgroups.userns_max, |n| Value::Int(*n))),
    row("userns.subids", Bool, S::Cgroups, "/etc/subuid gives subordinate id ranges", |p| Fact::known(Value::Bool(p.cgroups.subids), "/etc/subuid")),
];

/// A fact of the table by name.
pub fn lookup(name: &str) -> Option<&'static FactDef> {
    FACTS.iter().find(|f| f.name == name)
}
