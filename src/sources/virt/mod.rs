//! Where this Linux runs: under which hypervisor, inside which container, and which layers nest.
//!
//! Follows systemd-detect-virt's order and tie-breaks (`src/basic/virt.c`), then adds what lscpu
//! and virt-what see and systemd does not (s390 LPARs, POWER LPARs from `lparcfg`, QEMU-emulated
//! POWER, hypervisor PCI devices). Each kind of evidence has its module and its check here; the
//! files each reads are in its module's documentation. Besides them: `/proc/bus/pci/devices`.

pub mod containers;
pub mod devicetree;
pub mod dmi;
pub mod power;
pub mod s390;
pub mod xen;

use super::cpu::CpuInfo;
use super::cpuid::{CpuidFacts, hypervisor_word};
use super::{Notes, Reading};
use crate::host::HostFs;
use xen::XenRole;

/// What a check found: a systemd-detect-virt word and what showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `kvm`, `xen`, `docker`…
    pub word: String,
    /// What showed it.
    pub evidence: Vec<String>,
}

impl Found {
    fn new(word: &str, evidence: impl Into<String>) -> Found {
        Found {
            word: word.to_string(),
            evidence: vec![evidence.into()],
        }
    }
}

/// What kind of layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerKind {
    /// A hypervisor beneath this Linux.
    Hypervisor,
    /// A container this Linux's processes run in.
    Container,
    /// A technology this Linux controls (Xen dom0, OpenVZ node, VServer host).
    Host,
}

/// One layer this Linux runs in (or controls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Its kind.
    pub kind: LayerKind,
    /// systemd-detect-virt's word (`kvm`, `xen`, `docker`…), or `lpar`, `linux-vserver`.
    pub name: String,
    /// What showed it.
    pub evidence: Vec<String>,
}

impl Layer {
    fn new(kind: LayerKind, name: &str, evidence: impl Into<String>) -> Layer {
        Layer {
            kind,
            name: name.to_string(),
            evidence: vec![evidence.into()],
        }
    }
}

/// Everything running-under detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Virt {
    /// Innermost hypervisor word, or `none`, and what showed it.
    pub hypervisor: Reading<String>,
    /// Container word, or `none`, and what showed it.
    pub container: Reading<String>,
    /// Every layer found, outermost first.
    pub layers: Vec<Layer>,
    /// DMI `sys_vendor` (empty when absent).
    pub dmi_sys_vendor: Reading<String>,
    /// DMI `product_name` (empty when absent).
    pub dmi_product_name: Reading<String>,
    /// `dom0`, `domU` or `none`.
    pub xen_role: Reading<String>,
    /// Device tree `model` (empty when absent).
    pub dt_model: Reading<String>,
    /// Device tree `compatible` (empty when absent).
    pub dt_compatible: Reading<String>,
    /// s390 levels, outermost first, joined by ` > ` (empty when not s390).
    pub s390_layers: Reading<String>,
    /// POWER LPAR: `shared`, `dedicated`, `yes` or `none`.
    pub ppc_lpar: Reading<String>,
    /// OpenVZ role.
    pub openvz_role: Reading<String>,
    /// Linux-VServer role.
    pub vserver_role: Reading<String>,
}

/// The evidence the hypervisor checks look at, read once.
struct Evidence<'a> {
    cpu: &'a CpuInfo,
    cpuid: Option<&'a CpuidFacts>,
    dmi: dmi::Dmi,
    xen: xen::Xen,
    dt: devicetree::DeviceTree,
    s390: s390::S390,
    power: power::Power,
    pci: Option<(&'static str, String)>,
}

/// Detect the hypervisor, the container and the layers. `release` is the kernel release if known.
pub fn detect(
    fs: &HostFs,
    cpu: &CpuInfo,
    cpuid: Option<&CpuidFacts>,
    release: Option<&str>,
    notes: &mut Notes,
) -> Virt {
    let dt = devicetree::read(fs);
    let e = Evidence {
        cpu,
        cpuid,
        dmi: dmi::read(fs),
        xen: xen::read(fs),
        power: power::read(fs, cpu, &dt),
        dt,
        s390: s390::read(fs),
        pci: pci_vendor(fs),
    };
    let dom0 = e.xen.role == Some(XenRole::Dom0);
    let mut layers = Vec::new();
    if dom0 {
        layers.push(Layer::new(
            LayerKind::Host,
            "xen",
            "Xen control domain (dom0): this Linux controls the Xen hypervisor",
        ));
    }
    let hypervisor = match hypervisor(&e) {
        Some(f) => {
            // An s390 guest of z/VM or KVM inside an LPAR: the LPAR is the outer layer.
            if e.s390.vm.is_some() && e.s390.in_lpar() && f.word != "lpar" {
                layers.push(Layer::new(
                    LayerKind::Hypervisor,
                    "lpar",
                    "/proc/sysinfo LPAR lines",
                ));
            }
            let source = f.evidence.join("; ");
            if f.word != "none" {
                layers.push(Layer {
                    kind: LayerKind::Hypervisor,
                    name: f.word.clone(),
                    evidence: f.evidence,
                });
            }
            Reading::known(f.word, source)
        }
        None => Reading::known(
            "none".to_string(),
            if cpuid.is_some() {
                "CPUID, DMI, /proc, device tree: no hypervisor"
            } else {
                "DMI, /proc, device tree: no hypervisor (no CPUID read)"
            },
        ),
    };
    let roles = containers::roles(fs);
    if roles.openvz == "host" {
        layers.push(Layer::new(
            LayerKind::Host,
            "openvz",
            "/proc/vz and /proc/bc present: OpenVZ hardware node",
        ));
    }
    if roles.vserver == "host" {
        layers.push(Layer::new(
            LayerKind::Host,
            "linux-vserver",
            "VxID 0 or /proc/virtual: Linux-VServer host",
        ));
    }
    let container = match containers::detect(fs, release, &roles, notes) {
        Some(f) => {
            let source = f.evidence.join("; ");
            layers.push(Layer {
                kind: LayerKind::Container,
                name: f.word.clone(),
                evidence: f.evidence,
            });
            Reading::known(f.word, source)
        }
        None => Reading::known("none".to_string(), "no container marker"),
    };
    let dmi_field = |field: &str| match e.dmi.get(field) {
        Some(v) => Reading::known(v.to_string(), format!("/sys/class/dmi/id/{field}")),
        None => Reading::known(String::new(), format!("/sys/class/dmi/id/{field} absent")),
    };
    let xen_role = match e.xen.role {
        Some(XenRole::Dom0) => "dom0",
        Some(XenRole::DomU) => "domU",
        None => "none",
    };
    Virt {
        hypervisor,
        container,
        layers,
        dmi_sys_vendor: dmi_field("sys_vendor"),
        dmi_product_name: dmi_field("product_name"),
        xen_role: Reading::known(xen_role.to_string(), e.xen.role_source),
        dt_model: Reading::known(
            e.dt.model.clone().unwrap_or_default(),
            "/proc/device-tree/model",
        ),
        dt_compatible: Reading::known(
            e.dt.compatible.clone().unwrap_or_default(),
            "/proc/device-tree/compatible",
        ),
        s390_layers: if e.s390.present {
            Reading::known(e.s390.layers.join(" > "), "/proc/sysinfo")
        } else {
            Reading::known(String::new(), "/proc/sysinfo absent")
        },
        ppc_lpar: Reading::known(e.power.lpar.unwrap_or("none").to_string(), e.power.source),
        openvz_role: Reading::known(roles.openvz.to_string(), "/proc/vz, /proc/bc"),
        vserver_role: Reading::known(
            roles.vserver.to_string(),
            "/proc/self/status VxID, /proc/virtual",
        ),
    }
}

/// The innermost hypervisor, systemd's order first, then what lscpu and virt-what also read.
fn hypervisor(e: &Evidence) -> Option<Found> {
    dmi_decisive(e)
        .or_else(|| uml(e))
        .or_else(|| xen_guest(e))
        .or_else(|| cpuid_signature(e))
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
        .or_else(|| hyperv_cpuid(e))
        .or_else(|| cpuinfo_flag(e))
}

/// DMI vendors that win over CPUID (systemd: they run on KVM or Xen but are their own products).
fn dmi_decisive(e: &Evidence) -> Option<Found> {
    let h = e.dmi.hit.as_ref()?;
    matches!(
        h.word.as_str(),
        "oracle" | "xen" | "amazon" | "parallels" | "google"
    )
    .then(|| h.clone())
}

fn uml(e: &Evidence) -> Option<Found> {
    (e.cpu.vendor.as_deref() == Some("User Mode Linux"))
        .then(|| Found::new("uml", "/proc/cpuinfo vendor_id = \"User Mode Linux\""))
}

fn xen_guest(e: &Evidence) -> Option<Found> {
    (e.xen.role == Some(XenRole::DomU)).then(|| {
        Found::new(
            "xen",
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
        Some("microsoft") => None,
        Some(w) => Some(Found::new(w, format!("CPUID 0x40000000 signature {sig:?}"))),
        None => Some(Found::new(
            "vm-other",
            format!("CPUID hypervisor bit set, unknown signature {sig:?}"),
        )),
    }
}

fn hyperv_cpuid(e: &Evidence) -> Option<Found> {
    let c = e.cpuid.filter(|c| c.hypervisor)?;
    let sig = c.signature.clone().unwrap_or_default();
    (hypervisor_word(&sig) == Some("microsoft"))
        .then(|| Found::new("microsoft", format!("CPUID 0x40000000 signature {sig:?}")))
}

fn dmi_other(e: &Evidence) -> Option<Found> {
    e.dmi.hit.clone().filter(|h| h.word != "none")
}

fn sys_hypervisor(e: &Evidence) -> Option<Found> {
    let t = e.xen.hypervisor_type.as_ref()?;
    if e.xen.role == Some(XenRole::Dom0) {
        return None;
    }
    let w = if t == "xen" { "xen" } else { "vm-other" };
    Some(Found::new(w, format!("/sys/hypervisor/type = {t:?}")))
}

fn devicetree_hypervisor(e: &Evidence) -> Option<Found> {
    let c = e.dt.hypervisor.as_ref()?;
    let w = if c.contains("linux,kvm") {
        "kvm"
    } else if c.contains("xen") {
        "xen"
    } else if c.contains("vmware") {
        "vmware"
    } else {
        "vm-other"
    };
    Some(Found::new(
        w,
        format!("/proc/device-tree/hypervisor/compatible = {c:?}"),
    ))
}

fn powervm_devicetree(e: &Evidence) -> Option<Found> {
    (e.dt.partition && e.dt.hmc && !e.dt.qemu_graphics).then(|| {
        Found::new(
            "powervm",
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
            "qemu",
            "/proc/device-tree has a fw-cfg node or compatible qemu,pseries",
        )
    })
}

fn s390_control_program(e: &Evidence) -> Option<Found> {
    let (k, cp) = e.s390.vm.as_ref()?;
    let w = if cp.split_whitespace().next() == Some("z/VM") {
        "zvm"
    } else {
        "kvm"
    };
    Some(Found::new(w, format!("/proc/sysinfo {k}: {cp}")))
}

fn s390_lpar(e: &Evidence) -> Option<Found> {
    e.s390.in_lpar().then(|| {
        Found::new(
            "lpar",
            "/proc/sysinfo has LPAR lines and no VM level (PR/SM)",
        )
    })
}

fn power_qemu(e: &Evidence) -> Option<Found> {
    (e.cpu.platform.as_deref() == Some("pSeries") && e.power.qemu).then(|| {
        Found::new(
            "kvm",
            "/proc/cpuinfo platform pSeries, machine emulated by qemu",
        )
    })
}

fn power_lpar(e: &Evidence) -> Option<Found> {
    let kind = e.power.lpar?;
    Some(Found::new(
        "powervm",
        format!("{}: POWER LPAR ({kind})", e.power.source),
    ))
}

fn pci_device(e: &Evidence) -> Option<Found> {
    let (w, id) = e.pci.as_ref()?;
    (e.xen.role != Some(XenRole::Dom0)).then(|| {
        Found::new(
            w,
            format!("/proc/bus/pci/devices lists virtual hardware {id}"),
        )
    })
}

fn cpuinfo_flag(e: &Evidence) -> Option<Found> {
    e.cpu.flags.contains("hypervisor").then(|| {
        Found::new(
            "vm-other",
            "/proc/cpuinfo has the hypervisor flag, no vendor identified",
        )
    })
}

/// PCI vendor ids of virtual hardware (as lscpu reads them).
const PCI_VENDORS: &[(&str, &str)] = &[
    ("5853", "xen"),
    ("1414", "microsoft"),
    ("15ad", "vmware"),
    ("80ee", "oracle"),
];

/// The first PCI device whose vendor makes virtual hardware: its word and id.
fn pci_vendor(fs: &HostFs) -> Option<(&'static str, String)> {
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
