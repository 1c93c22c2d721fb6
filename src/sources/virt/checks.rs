//! The checks for a hypervisor beneath this Linux: one short function per signature, tried in the
//! order [`hypervisor`] lists (systemd-detect-virt's, then what lscpu, virt-what and Ohai also
//! read). Reads `/proc/bus/pci/devices`; the other evidence was read by the sibling modules.

use super::xen::XenRole;
use super::{Evidence, Found, Virt};
use crate::host::HostFs;
use crate::sources::cpuid::hypervisor_word;

/// The innermost hypervisor, systemd's order first, then what lscpu and virt-what also read.
pub(super) fn hypervisor(e: &Evidence) -> Option<Found> {
    dmi_decisive(e)
        .or_else(|| uml(e))
        .or_else(|| xen_guest(e))
        .or_else(|| cpuid_signature(e))
        .or_else(|| cpu_model(e))
        .or_else(|| dmi_other(e))
        .or_else(|| sys_hypervisor(e))
        .or_else(|| devicetree_hypervisor(e))
        .or_else(|| powervm_devicetree(e))
        .or_else(|| qemu_devicetree(e))
        .or_else(|| s390_control_program(e))
        // Beyond systemd.
        .or_else(|| s390_lpar(e))
        .or_else(|| power_qemu(e))
        .or_else(|| power_lpar(e))
        .or_else(|| pci_device(e))
        .or_else(|| guest_driver(e))
        .or_else(|| hyperv_kvp(e))
        .or_else(|| ldoms(e))
        .or_else(|| hyperv_cpuid(e))
        .or_else(|| cpuinfo_flag(e))
}

/// QEMU's built-in CPU models (a part of the model name) and what they show: `kvm64` is "Common
/// KVM processor", TCG's default "QEMU Virtual CPU" (virt-what and Ohai read them; a DMI that
/// says only Bochs cannot tell these apart).
const CPU_MODELS: &[(&str, Virt)] = &[
    ("Common KVM processor", Virt::Kvm),
    ("Common 32-bit KVM processor", Virt::Kvm),
    ("QEMU Virtual CPU", Virt::Qemu),
];

fn cpu_model(e: &Evidence) -> Option<Found> {
    let model = e.cpu.model.as_deref()?;
    let (_, word) = CPU_MODELS.iter().find(|(m, _)| model.contains(m))?;
    Some(Found::new(
        *word,
        format!("/proc/cpuinfo model name {model:?}"),
    ))
}

/// A hypervisor's guest driver loaded (VirtualBox's `vboxguest`, as Ohai reads it).
fn guest_driver(e: &Evidence) -> Option<Found> {
    e.modules?.contains("vboxguest").then(|| {
        Found::new(
            Virt::Oracle,
            "kernel module vboxguest (VirtualBox guest additions) loaded",
        )
    })
}

/// Hyper-V's key-value exchange pool, which its guest daemon keeps (Ohai).
fn hyperv_kvp(e: &Evidence) -> Option<Found> {
    e.hyperv_kvp.then(|| {
        Found::new(
            Virt::Microsoft,
            "/var/lib/hyperv/.kvp_pool_3 exists (Hyper-V KVP daemon)",
        )
    })
}

/// SPARC Logical Domains: the machine description device (virt-what).
fn ldoms(e: &Evidence) -> Option<Found> {
    let role = e.ldoms?;
    Some(Found::new(
        Virt::Ldoms,
        format!("/dev/mdesc exists on SPARC: a logical domain ({role})"),
    ))
}

/// DMI vendors that win over CPUID (systemd: they run on KVM or Xen but are their own products).
fn dmi_decisive(e: &Evidence) -> Option<Found> {
    let h = e.dmi.hit.as_ref()?;
    matches!(
        h.word,
        Virt::Oracle | Virt::Xen | Virt::Amazon | Virt::Parallels | Virt::Google
    )
    .then(|| h.clone())
}

fn uml(e: &Evidence) -> Option<Found> {
    (e.cpu.vendor.as_deref() == Some("User Mode Linux"))
        .then(|| Found::new(Virt::Uml, "/proc/cpuinfo vendor_id = \"User Mode Linux\""))
}

fn xen_guest(e: &Evidence) -> Option<Found> {
    (e.xen.role == Some(XenRole::DomU)).then(|| {
        Found::new(
            Virt::Xen,
            "/proc/xen exists and this is not the control domain (domU)",
        )
    })
}

/// The CPUID hypervisor leaf (Hyper-V's is kept for later, as systemd does: other hypervisors
/// offer its interface too).
fn cpuid_signature(e: &Evidence) -> Option<Found> {
    let c = e.cpuid.filter(|c| c.hypervisor)?;
    let sig = c.signature.clone().unwrap_or_default();
    match hypervisor_word(&sig) {
        Some(Virt::Microsoft) => None,
        Some(w) => Some(Found::new(w, format!("CPUID 0x40000000 signature {sig:?}"))),
        None => Some(Found::new(
            Virt::VmOther,
            format!("CPUID hypervisor bit set, unknown signature {sig:?}"),
        )),
    }
}

fn hyperv_cpuid(e: &Evidence) -> Option<Found> {
    let c = e.cpuid.filter(|c| c.hypervisor)?;
    let sig = c.signature.clone().unwrap_or_default();
    (hypervisor_word(&sig) == Some(Virt::Microsoft)).then(|| {
        Found::new(
            Virt::Microsoft,
            format!("CPUID 0x40000000 signature {sig:?}"),
        )
    })
}

fn dmi_other(e: &Evidence) -> Option<Found> {
    e.dmi.hit.clone().filter(|h| h.word != Virt::None)
}

fn sys_hypervisor(e: &Evidence) -> Option<Found> {
    let t = e.xen.hypervisor_type.as_ref()?;
    if e.xen.role == Some(XenRole::Dom0) {
        return None;
    }
    let w = if t == "xen" { Virt::Xen } else { Virt::VmOther };
    Some(Found::new(w, format!("/sys/hypervisor/type = {t:?}")))
}

/// `/proc/device-tree/hypervisor/compatible` (a part of it) and what it names, systemd's order.
const DT_HYPERVISORS: &[(&str, Virt)] = &[
    ("linux,kvm", Virt::Kvm),
    ("xen", Virt::Xen),
    ("vmware", Virt::Vmware),
];

fn devicetree_hypervisor(e: &Evidence) -> Option<Found> {
    let c = e.dt.hypervisor.as_ref()?;
    let w = DT_HYPERVISORS
        .iter()
        .find(|(p, _)| c.contains(p))
        .map_or(Virt::VmOther, |(_, w)| *w);
    Some(Found::new(
        w,
        format!("/proc/device-tree/hypervisor/compatible = {c:?}"),
    ))
}

fn powervm_devicetree(e: &Evidence) -> Option<Found> {
    (e.dt.partition && e.dt.hmc && !e.dt.qemu_graphics).then(|| {
        Found::new(
            Virt::Powervm,
            "/proc/device-tree/ibm,partition-name and hmc-managed? present",
        )
    })
}

fn qemu_devicetree(e: &Evidence) -> Option<Found> {
    let pseries =
        e.dt.compatible
            .as_deref()
            .is_some_and(|c| c.contains("qemu,pseries"));
    (e.dt.fw_cfg || pseries).then(|| {
        Found::new(
            Virt::Qemu,
            "/proc/device-tree has a fw-cfg node or compatible qemu,pseries",
        )
    })
}

fn s390_control_program(e: &Evidence) -> Option<Found> {
    let (k, cp) = e.s390.vm.as_ref()?;
    let w = if cp.split_whitespace().next() == Some("z/VM") {
        Virt::Zvm
    } else {
        Virt::Kvm
    };
    Some(Found::new(w, format!("/proc/sysinfo {k}: {cp}")))
}

fn s390_lpar(e: &Evidence) -> Option<Found> {
    e.s390.in_lpar().then(|| {
        Found::new(
            Virt::Lpar,
            "/proc/sysinfo has LPAR lines and no VM level (PR/SM)",
        )
    })
}

fn power_qemu(e: &Evidence) -> Option<Found> {
    (e.cpu.platform.as_deref() == Some("pSeries") && e.power.qemu).then(|| {
        Found::new(
            Virt::Kvm,
            "/proc/cpuinfo platform pSeries, machine emulated by qemu",
        )
    })
}

fn power_lpar(e: &Evidence) -> Option<Found> {
    let kind = e.power.lpar?;
    Some(Found::new(
        Virt::Powervm,
        format!("{}: POWER LPAR ({kind})", e.power.source),
    ))
}

fn pci_device(e: &Evidence) -> Option<Found> {
    let (w, id) = e.pci.as_ref()?;
    (e.xen.role != Some(XenRole::Dom0)).then(|| {
        Found::new(
            *w,
            format!("/proc/bus/pci/devices lists virtual hardware {id}"),
        )
    })
}

fn cpuinfo_flag(e: &Evidence) -> Option<Found> {
    e.cpu.flags.contains("hypervisor").then(|| {
        Found::new(
            Virt::VmOther,
            "/proc/cpuinfo has the hypervisor flag, no vendor identified",
        )
    })
}

/// PCI vendor ids of virtual hardware (as lscpu reads them).
const PCI_VENDORS: &[(&str, Virt)] = &[
    ("5853", Virt::Xen),
    ("1414", Virt::Microsoft),
    ("15ad", Virt::Vmware),
    ("80ee", Virt::Oracle),
];

/// The first PCI device whose vendor makes virtual hardware: its word and id.
pub(super) fn pci_vendor(fs: &HostFs) -> Option<(Virt, String)> {
    let text = fs.read_string("/proc/bus/pci/devices").ok()?;
    text.lines().find_map(|l| {
        let id = l.split_whitespace().nth(1)?;
        let vendor = id.get(..4)?.to_ascii_lowercase();
        PCI_VENDORS
            .iter()
            .find(|(v, _)| *v == vendor)
            .map(|(_, w)| (*w, id.to_string()))
    })
}
