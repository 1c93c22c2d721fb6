//! Every fact the sources give the rules: its name, its kind and what it means. The data-file
//! validator checks conditions against this list, `docs/technologies.md` lists it, and a test
//! keeps it equal to what [`super::collect`] produces.

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

/// One registered fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactDef {
    /// Dotted name.
    pub name: &'static str,
    /// Kind of value.
    pub kind: Kind,
    /// One line: what it is and where it comes from.
    pub doc: &'static str,
}

const fn def(name: &'static str, kind: Kind, doc: &'static str) -> FactDef {
    FactDef { name, kind, doc }
}

use Kind::*;

/// Every fact, in the order of the sources.
#[rustfmt::skip]
pub const FACTS: &[FactDef] = &[
    def("arch", Str, "`uname -m` word (uname; a tree's /proc/sys/kernel/arch, release suffix or cpuinfo format)"),
    def("host.name", Str, "host name (gethostname; a tree's /etc/hostname)"),
    def("cpu.vendor", Str, "CPU vendor from /proc/cpuinfo (GenuineIntel, AuthenticAMD, IBM/S390…)"),
    def("cpu.model", Str, "CPU model name from /proc/cpuinfo"),
    def("cpu.flags", Set, "feature flags of the first CPU in /proc/cpuinfo (x86 flags, arm Features, RISC-V ISA letters)"),
    def("cpu.count", Int, "processors listed in /proc/cpuinfo"),
    def("cpu.platform", Str, "POWER platform line of /proc/cpuinfo (PowerNV, pSeries, PS3, Cell…), empty elsewhere"),
    def("cpu.virt_extension", Str, "hardware virtualization extension: vmx, svm, sie, h, hv-mode, el2 or none"),
    def("cpu.virt_extension_state", Str, "enabled, disabled-by-firmware, absent, absent-or-disabled or unknown"),
    def("cpuid.vmx", Bool, "CPUID leaf 1 ECX bit 5 (x86)"),
    def("cpuid.svm", Bool, "CPUID leaf 0x80000001 ECX bit 2 (AMD, Hygon)"),
    def("cpuid.hypervisor", Bool, "CPUID leaf 1 ECX bit 31: running under a hypervisor"),
    def("cpuid.hypervisor_signature", Str, "CPUID leaf 0x40000000 signature (KVMKVMKVM, XenVMMXenVMM…)"),
    def("kernel.release", Str, "`uname -r`"),
    def("kernel.version", Version, "the release's major.minor.patch"),
    def("kernel.config_found", Bool, "a kernel config was found and read"),
    def("kernel.config", Map, "build options the table reads (without CONFIG_) → y, m or value"),
    def("kernel.modules", Set, "loaded and built-in modules (/proc/modules, /sys/module, modules.builtin)"),
    def("kernel.module_support", Bool, "the kernel loads modules"),
    def("kernel.cmdline", Str, "/proc/cmdline"),
    def("module.param", Map, "module parameters the table reads, module.param → value"),
    def("path", Set, "paths the table names that exist"),
    def("tool", Map, "tools the table names that are installed → their path"),
    def("kvm.device", Bool, "/dev/kvm exists"),
    def("kvm.group_access", Bool, "/dev/kvm is read-write for a group other than root's (so joining it gives access)"),
    def("kvm.open", Bool, "the invoking user opened /dev/kvm read-write"),
    def("kvm.api_version", Int, "KVM_GET_API_VERSION"),
    def("kvm.create_vm", Bool, "KVM_CREATE_VM succeeded"),
    def("kvm.create_vcpu", Bool, "KVM_CREATE_VCPU succeeded"),
    def("kvm.error", Str, "the KVM check's first error with its errno name, or empty"),
    def("tun.open", Bool, "the invoking user opened /dev/net/tun read-write"),
    def("iommu.groups", Int, "IOMMU groups in /sys/kernel/iommu_groups"),
    def("virt.hypervisor", Str, "innermost hypervisor (systemd-detect-virt --vm word) or none"),
    def("virt.container", Str, "container (systemd-detect-virt --container word) or none"),
    def("virt.xen_role", Str, "dom0, domU or none"),
    def("virt.s390_layers", Str, "IBM Z levels from /proc/sysinfo, outermost first, joined by ' > '"),
    def("virt.ppc_lpar", Str, "POWER LPAR: shared, dedicated, yes or none"),
    def("dmi.sys_vendor", Str, "DMI sys_vendor, empty when absent"),
    def("dmi.product_name", Str, "DMI product_name, empty when absent"),
    def("dt.model", Str, "device tree model, empty when absent"),
    def("dt.compatible", Str, "device tree compatible, empty when absent"),
    def("openvz.role", Str, "host, container or none"),
    def("vserver.role", Str, "host, guest or none"),
    def("user.root", Bool, "the invoking user is root (euid 0)"),
    def("user.groups", Set, "the invoking user's group ids"),
    def("cgroup.version", Str, "v2, hybrid or v1"),
    def("cgroup.controllers", Set, "enabled cgroup controllers"),
    def("ns.available", Set, "namespace types the kernel offers (/proc/self/ns)"),
    def("userns.max", Int, "user.max_user_namespaces"),
    def("userns.subids", Bool, "/etc/subuid gives subordinate id ranges"),
];

/// A registered fact by name.
pub fn lookup(name: &str) -> Option<&'static FactDef> {
    FACTS.iter().find(|f| f.name == name)
}
