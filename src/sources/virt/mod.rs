//! Where this Linux runs: under which hypervisor, inside which container, and which layers nest.
//!
//! Follows systemd-detect-virt's order and tie-breaks (`src/basic/virt.c`), then adds what lscpu
//! and virt-what see and systemd does not (s390 LPARs, POWER LPARs from `lparcfg`, QEMU-emulated
//! POWER, hypervisor PCI devices, QEMU's CPU models, guest drivers, Hyper-V's KVP pool, SPARC
//! LDoms). Each kind of evidence has its module and its check here; the files each reads are in its
//! module's documentation. Besides them: `/proc/bus/pci/devices`, `/var/lib/hyperv/.kvp_pool_3`,
//! `/dev/mdesc` and `/sys/class/vlds` (SPARC).

mod checks;
pub mod cloud;
pub mod containers;
pub mod devicetree;
pub mod dmi;
pub mod power;
pub mod s390;
pub mod words;
pub mod xen;

use super::cpu::CpuInfo;
use super::cpuid::CpuidFacts;
use super::{Notes, Reading};
use crate::host::HostFs;
pub use words::Virt;
use xen::XenRole;

/// What a check found and what showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// `kvm`, `xen`, `docker`…
    pub word: Virt,
    /// What showed it.
    pub evidence: Vec<String>,
}

impl Found {
    fn new(word: Virt, evidence: impl Into<String>) -> Found {
        Found {
            word,
            evidence: vec![evidence.into()],
        }
    }
}

words! {
    /// What kind of layer.
    pub enum LayerKind {
        /// A hypervisor beneath this Linux.
        Hypervisor = "hypervisor",
        /// A container this Linux's processes run in.
        Container = "container",
        /// A technology this Linux controls (Xen dom0, OpenVZ node, VServer host).
        Host = "host",
    }
}

/// One layer this Linux runs in (or controls).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Its kind.
    pub kind: LayerKind,
    /// What it is.
    pub name: Virt,
    /// What showed it.
    pub evidence: Vec<String>,
}

impl Layer {
    fn new(kind: LayerKind, name: Virt, evidence: impl Into<String>) -> Layer {
        Layer {
            kind,
            name,
            evidence: vec![evidence.into()],
        }
    }
}

/// Everything running-under detection found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
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
    /// The cloud provider and instance type, when DMI names one.
    pub cloud: Option<cloud::Cloud>,
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
    pci: Option<(Virt, String)>,
    modules: Option<&'a std::collections::BTreeSet<String>>,
    hyperv_kvp: bool,
    ldoms: Option<&'static str>,
}

/// A role as a reading: the word, or why it cannot be told.
fn role(r: &Result<&'static str, String>, source: &str) -> Reading<String> {
    match r {
        Ok(word) => Reading::known(word.to_string(), source),
        Err(why) => Reading::unknown(why.clone(), source),
    }
}

/// "none" when no marker was found and none failed; unknown, with the first failure, when
/// nothing was found but a marker could not be read (it might have said otherwise).
fn none_unless_failed(fs: &HostFs, mark: usize, source: &str) -> Reading<String> {
    match fs.failures_since(mark) {
        None => Reading::known("none".to_string(), source),
        Some(e) => Reading::unknown(format!("no marker found, but {e}"), source),
    }
}

/// Detect the hypervisor, the container and the layers. `release` is the kernel release if known.
pub fn detect(
    fs: &HostFs,
    cpu: &CpuInfo,
    cpuid: Option<&CpuidFacts>,
    release: Option<&str>,
    modules: Option<&std::collections::BTreeSet<String>>,
    notes: &mut Notes,
) -> Findings {
    let mark = fs.failure_mark();
    let dt = devicetree::read(fs);
    let sparc = cpu.arch.as_deref().is_some_and(|a| a.starts_with("sparc"));
    let e = Evidence {
        cpu,
        cpuid,
        dmi: dmi::read(fs),
        xen: xen::read(fs),
        power: power::read(fs, cpu, &dt),
        dt,
        s390: s390::read(fs),
        pci: checks::pci_vendor(fs),
        modules,
        hyperv_kvp: fs.present("/var/lib/hyperv/.kvp_pool_3"),
        ldoms: (sparc && fs.present("/dev/mdesc")).then(|| {
            if fs.present("/sys/class/vlds/ctrl") && fs.present("/sys/class/vlds/sp") {
                "control"
            } else {
                "guest"
            }
        }),
    };
    let dom0 = e.xen.role == Some(XenRole::Dom0);
    let mut layers = Vec::new();
    if dom0 {
        layers.push(Layer::new(
            LayerKind::Host,
            Virt::Xen,
            "Xen control domain (dom0): this Linux controls the Xen hypervisor",
        ));
    }
    let hypervisor = match checks::hypervisor(&e) {
        Some(f) => {
            // An s390 guest of z/VM or KVM inside an LPAR: the LPAR, then every control program
            // beneath the innermost one, are the outer layers.
            if e.s390.vm.is_some() && f.word != Virt::Lpar {
                if e.s390.in_lpar() {
                    layers.push(Layer::new(
                        LayerKind::Hypervisor,
                        Virt::Lpar,
                        "/proc/sysinfo LPAR lines",
                    ));
                }
                let outer = e.s390.layers.iter().filter(|l| *l != "LPAR");
                for cp in outer.clone().take(outer.count().saturating_sub(1)) {
                    let word = if cp.starts_with("z/VM") {
                        Virt::Zvm
                    } else {
                        Virt::Kvm
                    };
                    let why = format!("/proc/sysinfo control program {cp:?} beneath VM00");
                    layers.push(Layer::new(LayerKind::Hypervisor, word, why));
                }
            }
            let source = f.evidence.join("; ");
            if f.word != Virt::None {
                layers.push(Layer {
                    kind: LayerKind::Hypervisor,
                    name: f.word,
                    evidence: f.evidence,
                });
            }
            Reading::known(f.word.as_str().to_string(), source)
        }
        None => none_unless_failed(
            fs,
            mark,
            if cpuid.is_some() {
                "CPUID, DMI, /proc, device tree: no hypervisor"
            } else {
                "DMI, /proc, device tree: no hypervisor (no CPUID read)"
            },
        ),
    };
    let mark = fs.failure_mark();
    let roles = containers::roles(fs);
    if roles.openvz == Ok("host") {
        layers.push(Layer::new(
            LayerKind::Host,
            Virt::Openvz,
            "/proc/vz and /proc/bc present: OpenVZ hardware node",
        ));
    }
    if roles.vserver == Ok("host") {
        layers.push(Layer::new(
            LayerKind::Host,
            Virt::LinuxVserver,
            "VxID 0 or /proc/virtual: Linux-VServer host",
        ));
    }
    let container = match containers::detect(fs, release, &roles, notes) {
        Some(f) => {
            let source = f.evidence.join("; ");
            layers.push(Layer {
                kind: LayerKind::Container,
                name: f.word,
                evidence: f.evidence,
            });
            Reading::known(f.word.as_str().to_string(), source)
        }
        None => none_unless_failed(fs, mark, "no container marker"),
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
    // Old Xen-based EC2 instances say "ec2" here and nowhere in DMI.
    let xen_uuid = e
        .xen
        .role
        .and_then(|_| fs.read_trimmed("/sys/hypervisor/uuid").ok());
    let cloud = cloud::detect(&e.dmi, xen_uuid.as_deref());
    Findings {
        cloud,
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
        openvz_role: role(&roles.openvz, "/proc/vz, /proc/bc"),
        vserver_role: role(&roles.vserver, "/proc/self/status VxID, /proc/virtual"),
    }
}
