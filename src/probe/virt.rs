//! Where this Linux runs: under which hypervisor, inside which container, and which layers nest.
//!
//! Follows systemd-detect-virt's order and tie-breaks (`src/basic/virt.c`), then adds what
//! lscpu and virt-what see and systemd does not (s390 LPARs, POWER LPARs from `lparcfg`, QEMU-emulated
//! POWER, hypervisor PCI devices). Reads, through the host root:
//! - DMI: `/sys/class/dmi/id/{product_name,sys_vendor,board_vendor,bios_vendor,product_version}`;
//! - Xen: `/proc/xen`, `/proc/xen/capabilities` (`control_d` = dom0),
//!   `/sys/hypervisor/properties/features` (bit 11 = dom0), `/sys/hypervisor/type`;
//! - the device tree: `/proc/device-tree/{hypervisor/compatible,ibm,partition-name,hmc-managed?,
//!   chosen/qemu,graphic-width,compatible,model}` and any `fw-cfg` node;
//! - s390 `/proc/sysinfo` (LPAR and `VMnn Control Program` levels), POWER `/proc/ppc64/lparcfg`
//!   (or `/proc/powerpc/lparcfg`), PCI vendor ids in `/proc/bus/pci/devices`;
//! - OpenVZ `/proc/vz`, `/proc/bc`; Linux-VServer `VxID` in `/proc/self/status`, `/proc/virtual`;
//! - container markers: `/run/host/container-manager`, `/run/systemd/container`, `container=` in
//!   `/proc/1/environ`, `/run/.containerenv`, `/.dockerenv`, `/proc/1/cgroup`, `/proc/self/cgroup`.

use serde::Serialize;

use super::cpu::CpuInfo;
use super::cpuid::{CpuidFacts, hypervisor_word};
use crate::facts::{Facts, Value};
use crate::host::HostFs;

/// One layer this Linux runs in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Layer {
    /// `hypervisor` or `container`; `host` for a controlling role (Xen dom0, OpenVZ node).
    pub kind: String,
    /// systemd-detect-virt's word (`kvm`, `xen`, `docker`…), or `lpar`, `linux-vserver`.
    pub name: String,
    /// What showed it.
    pub evidence: Vec<String>,
}

/// The result of running-under detection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Virtualization {
    /// Innermost hypervisor (systemd-detect-virt `--vm` word), or `none`.
    pub hypervisor: String,
    /// Container (systemd-detect-virt `--container` word), or `none`.
    pub container: String,
    /// Every layer found, outermost first.
    pub layers: Vec<Layer>,
}

const DMI_FIELDS: &[&str] = &[
    "product_name",
    "sys_vendor",
    "board_vendor",
    "bios_vendor",
    "product_version",
];

/// systemd's DMI vendor table (prefix match), in its order.
const DMI_VENDORS: &[(&str, &str)] = &[
    ("KVM", "kvm"),
    ("OpenStack", "kvm"),
    ("KubeVirt", "kvm"),
    ("Amazon EC2", "amazon"),
    ("QEMU", "qemu"),
    ("VMware", "vmware"),
    ("VMW", "vmware"),
    ("innotek GmbH", "oracle"),
    ("VirtualBox", "oracle"),
    ("Oracle Corporation", "oracle"),
    ("Xen", "xen"),
    ("Bochs", "bochs"),
    ("Parallels", "parallels"),
    ("BHYVE", "bhyve"),
    ("Hyper-V", "microsoft"),
    ("Apple Virtualization", "apple"),
    ("Google Compute Engine", "google"),
];

/// PCI vendor ids of virtual hardware (as lscpu reads them).
const PCI_VENDORS: &[(&str, &str)] = &[
    ("5853", "xen"),
    ("1414", "microsoft"),
    ("15ad", "vmware"),
    ("80ee", "oracle"),
];

fn read_opt(fs: &HostFs, path: &str) -> Option<String> {
    fs.read_string(path).ok()
}

struct Found {
    word: String,
    evidence: Vec<String>,
}

fn found(word: &str, ev: impl Into<String>) -> Option<Found> {
    Some(Found {
        word: word.to_string(),
        evidence: vec![ev.into()],
    })
}

/// Gather the platform facts and detect the layers. `release` is the kernel release if known.
pub fn probe(
    fs: &HostFs,
    facts: &mut Facts,
    cpu: &CpuInfo,
    cpuid: Option<&CpuidFacts>,
    release: Option<&str>,
) -> Virtualization {
    let mut layers: Vec<Layer> = Vec::new();

    // DMI.
    facts.set(
        "dmi.sys_vendor",
        Value::Str("".into()),
        "/sys/class/dmi/id/sys_vendor absent",
    );
    facts.set(
        "dmi.product_name",
        Value::Str("".into()),
        "/sys/class/dmi/id/product_name absent",
    );
    let mut dmi_hit: Option<Found> = None;
    let mut dmi_values = Vec::new();
    let dmi_fields = if fs.exists("/sys/class/dmi/id") {
        DMI_FIELDS
    } else {
        &[]
    };
    for field in dmi_fields {
        let path = format!("/sys/class/dmi/id/{field}");
        if let Ok(v) = fs.read_trimmed(&path) {
            if *field == "sys_vendor" {
                facts.set(
                    "dmi.sys_vendor",
                    Value::Str(v.as_str().into()),
                    path.clone(),
                );
            }
            if *field == "product_name" {
                facts.set(
                    "dmi.product_name",
                    Value::Str(v.as_str().into()),
                    path.clone(),
                );
            }
            if dmi_hit.is_none()
                && let Some((_, word)) = DMI_VENDORS.iter().find(|(p, _)| v.starts_with(p))
            {
                dmi_hit = found(word, format!("{path} = {v:?}"));
            }
            dmi_values.push((field.to_string(), v));
        }
    }
    // virt-what's Hyper-V rule: Microsoft's DMI names the machine "Virtual Machine" (systemd
    // matches "Hyper-V" in product_version, which older Hyper-V generations lack).
    let dmi = |f: &str| {
        dmi_values
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.as_str())
    };
    if dmi_hit.is_none()
        && dmi("sys_vendor") == Some("Microsoft Corporation")
        && dmi("product_name") == Some("Virtual Machine")
    {
        dmi_hit = found(
            "microsoft",
            "/sys/class/dmi/id: Microsoft Corporation \"Virtual Machine\"",
        );
    }
    if let Some(h) = &mut dmi_hit
        && h.word == "amazon"
    {
        let metal = dmi_values
            .iter()
            .any(|(f, v)| f == "product_name" && v.contains(".metal"));
        if metal {
            h.word = "none".into();
            h.evidence
                .push("product_name names an AWS .metal instance: bare metal".into());
        }
    }

    // Xen.
    let proc_xen = fs.exists("/proc/xen");
    // (No /proc/xen, no file in it to open.)
    let caps = proc_xen
        .then(|| read_opt(fs, "/proc/xen/capabilities"))
        .flatten();
    let features = fs.read_trimmed("/sys/hypervisor/properties/features").ok();
    let dom0_by_features = features
        .as_deref()
        .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        .map(|bits| bits & (1 << 11) != 0);
    let dom0_by_caps = caps.as_deref().map(|c| c.contains("control_d"));
    let xen_role = if proc_xen || dom0_by_features.is_some() {
        let dom0 = dom0_by_features.unwrap_or(false) || dom0_by_caps.unwrap_or(false);
        Some(if dom0 { "dom0" } else { "domU" })
    } else {
        None
    };
    match xen_role {
        Some(role) => {
            let src = if dom0_by_features.is_some() {
                "/sys/hypervisor/properties/features"
            } else {
                "/proc/xen/capabilities"
            };
            facts.set("virt.xen_role", Value::Str(role.into()), src);
        }
        None => facts.set(
            "virt.xen_role",
            Value::Str("none".into()),
            "/proc/xen absent",
        ),
    }
    let hyp_type = fs.read_trimmed("/sys/hypervisor/type").ok();

    // Device tree.
    // Most x86 hosts have no device tree: look inside only when it is there.
    let dt = fs.exists("/proc/device-tree");
    let dt_read = |p: &str| if dt { fs.read_trimmed(p).ok() } else { None };
    let dt_exists = |p: &str| dt && fs.exists(p);
    let dt_hyp = dt_read("/proc/device-tree/hypervisor/compatible");
    let dt_partition = dt_exists("/proc/device-tree/ibm,partition-name");
    let dt_hmc = dt_exists("/proc/device-tree/hmc-managed?");
    let dt_qemu_gfx = dt_exists("/proc/device-tree/chosen/qemu,graphic-width");
    let dt_compatible = dt_read("/proc/device-tree/compatible").map(|s| s.replace('\0', " "));
    let dt_model = dt_read("/proc/device-tree/model").map(|s| s.replace('\0', " "));
    let dt_fwcfg = dt
        && fs
            .read_dir("/proc/device-tree")
            .map(|names| names.iter().any(|n| n.starts_with("fw-cfg")))
            .unwrap_or(false);
    // Absent files are known absences here (most hosts have no device tree), not unknowns.
    facts.set(
        "dt.model",
        Value::Str(dt_model.as_deref().unwrap_or_default().into()),
        "/proc/device-tree/model",
    );
    facts.set(
        "dt.compatible",
        Value::Str(dt_compatible.as_deref().unwrap_or_default().into()),
        "/proc/device-tree/compatible",
    );

    // s390.
    let sysinfo = read_opt(fs, "/proc/sysinfo");
    let mut s390_layers = Vec::new();
    let mut s390_vm: Option<(String, String)> = None;
    if let Some(text) = &sysinfo {
        let (lpar, levels) = parse_sysinfo(text);
        if lpar {
            s390_layers.push("LPAR".to_string());
        }
        for (k, cp) in levels {
            s390_layers.push(cp.clone());
            s390_vm = Some((k, cp));
        }
        facts.set(
            "virt.s390_layers",
            Value::Str(s390_layers.join(" > ").into()),
            "/proc/sysinfo",
        );
    } else {
        facts.set(
            "virt.s390_layers",
            Value::Str("".into()),
            "/proc/sysinfo absent",
        );
    }

    // POWER LPAR.
    let (lparcfg, lparcfg_path) = match read_opt(fs, "/proc/ppc64/lparcfg") {
        Some(t) => (Some(t), "/proc/ppc64/lparcfg"),
        None => (
            read_opt(fs, "/proc/powerpc/lparcfg"),
            "/proc/powerpc/lparcfg",
        ),
    };
    let ppc_qemu = cpu
        .machine
        .as_deref()
        .is_some_and(|m| m.contains("emulated by qemu"))
        || dt_compatible
            .as_deref()
            .is_some_and(|c| c.contains("qemu,pseries"))
        || dt_qemu_gfx;
    let ppc_lpar = if let Some(t) = &lparcfg {
        Some(parse_lparcfg(t))
    } else if dt_partition && dt_hmc && !ppc_qemu {
        Some("yes")
    } else {
        None
    };
    facts.set(
        "virt.ppc_lpar",
        Value::Str(ppc_lpar.unwrap_or("none").into()),
        if lparcfg.is_some() {
            lparcfg_path
        } else {
            "/proc/device-tree/ibm,partition-name"
        },
    );

    // PCI.
    let pci_hit = read_opt(fs, "/proc/bus/pci/devices").and_then(|t| {
        t.lines().find_map(|l| {
            let id = l.split_whitespace().nth(1)?;
            let vendor = id.get(..4)?.to_ascii_lowercase();
            PCI_VENDORS
                .iter()
                .find(|(v, _)| *v == vendor)
                .map(|(_, w)| (w.to_string(), id.to_string()))
        })
    });

    // --- VM detection, systemd's order.
    let mut hyperv_hint: Option<Found> = None;
    let vm: Option<Found> = (|| {
        if let Some(h) = &dmi_hit
            && matches!(
                h.word.as_str(),
                "oracle" | "xen" | "amazon" | "parallels" | "google"
            )
        {
            return Some(Found {
                word: h.word.clone(),
                evidence: h.evidence.clone(),
            });
        }
        if cpu.vendor.as_deref() == Some("User Mode Linux") {
            return found("uml", "/proc/cpuinfo vendor_id = \"User Mode Linux\"");
        }
        if xen_role == Some("domU") {
            return found(
                "xen",
                "/proc/xen exists and this is not the control domain (domU)",
            );
        }
        if let Some(c) = cpuid
            && c.hypervisor
        {
            let sig = c.signature.clone().unwrap_or_default();
            match hypervisor_word(&sig) {
                Some("microsoft") => {
                    hyperv_hint = found("microsoft", format!("CPUID 0x40000000 signature {sig:?}"));
                }
                Some(w) => return found(w, format!("CPUID 0x40000000 signature {sig:?}")),
                None => {
                    return found(
                        "vm-other",
                        format!("CPUID hypervisor bit set, unknown signature {sig:?}"),
                    );
                }
            }
        }
        if let Some(h) = &dmi_hit
            && h.word != "none"
        {
            return Some(Found {
                word: h.word.clone(),
                evidence: h.evidence.clone(),
            });
        }
        if let Some(t) = &hyp_type
            && xen_role != Some("dom0")
        {
            let w = if t == "xen" { "xen" } else { "vm-other" };
            return found(w, format!("/sys/hypervisor/type = {t:?}"));
        }
        if let Some(c) = &dt_hyp {
            let w = if c.contains("linux,kvm") {
                "kvm"
            } else if c.contains("xen") {
                "xen"
            } else if c.contains("vmware") {
                "vmware"
            } else {
                "vm-other"
            };
            return found(
                w,
                format!("/proc/device-tree/hypervisor/compatible = {c:?}"),
            );
        }
        if dt_partition && dt_hmc && !dt_qemu_gfx {
            return found(
                "powervm",
                "/proc/device-tree/ibm,partition-name and hmc-managed? present",
            );
        }
        if dt_fwcfg
            || dt_compatible
                .as_deref()
                .is_some_and(|c| c.contains("qemu,pseries"))
        {
            return found(
                "qemu",
                "/proc/device-tree has a fw-cfg node or compatible qemu,pseries",
            );
        }
        if let Some((k, cp)) = &s390_vm {
            let w = if cp.split_whitespace().next() == Some("z/VM") {
                "zvm"
            } else {
                "kvm"
            };
            return found(w, format!("/proc/sysinfo {k}: {cp}"));
        }
        // Beyond systemd: what lscpu and virt-what also read.
        if s390_layers.first().map(String::as_str) == Some("LPAR") {
            return found(
                "lpar",
                "/proc/sysinfo has LPAR lines and no VM level (PR/SM)",
            );
        }
        if cpu.platform.as_deref() == Some("pSeries") && ppc_qemu {
            return found(
                "kvm",
                "/proc/cpuinfo platform pSeries, machine emulated by qemu",
            );
        }
        if let Some(kind) = ppc_lpar {
            let src = if lparcfg.is_some() {
                lparcfg_path
            } else {
                "/proc/device-tree/ibm,partition-name"
            };
            return found("powervm", format!("{src}: POWER LPAR ({kind})"));
        }
        if let Some((w, id)) = &pci_hit
            && xen_role != Some("dom0")
        {
            return found(
                w,
                format!("/proc/bus/pci/devices lists virtual hardware {id}"),
            );
        }
        if let Some(h) = hyperv_hint.take() {
            return Some(h);
        }
        if cpu.flags.contains("hypervisor") {
            return found(
                "vm-other",
                "/proc/cpuinfo has the hypervisor flag, no vendor identified",
            );
        }
        None
    })();
    let mut hypervisor = "none".to_string();
    if let Some(x) = xen_role.filter(|r| *r == "dom0") {
        let _ = x;
        layers.push(Layer {
            kind: "host".into(),
            name: "xen".into(),
            evidence: vec![
                "Xen control domain (dom0): this Linux controls the Xen hypervisor".into(),
            ],
        });
    }
    if let Some(f) = vm {
        if s390_vm.is_some()
            && s390_layers.first().map(String::as_str) == Some("LPAR")
            && f.word != "lpar"
        {
            layers.push(Layer {
                kind: "hypervisor".into(),
                name: "lpar".into(),
                evidence: vec!["/proc/sysinfo LPAR lines".into()],
            });
        }
        hypervisor = f.word.clone();
        if f.word != "none" {
            layers.push(Layer {
                kind: "hypervisor".into(),
                name: f.word,
                evidence: f.evidence.clone(),
            });
        }
        facts.set(
            "virt.hypervisor",
            Value::Str(hypervisor.as_str().into()),
            f.evidence.join("; "),
        );
    } else {
        let src = if cpuid.is_some() {
            "CPUID, DMI, /proc, device tree: no hypervisor"
        } else {
            "DMI, /proc, device tree: no hypervisor (no CPUID read)"
        };
        facts.set("virt.hypervisor", Value::Str("none".into()), src);
    }

    // --- OpenVZ and Linux-VServer roles.
    let vz = fs.exists("/proc/vz");
    let bc = fs.exists("/proc/bc");
    let openvz_role = match (vz, bc) {
        (true, true) => "host",
        (true, false) => "container",
        _ => "none",
    };
    facts.set(
        "openvz.role",
        Value::Str(openvz_role.into()),
        "/proc/vz, /proc/bc",
    );
    if openvz_role == "host" {
        layers.push(Layer {
            kind: "host".into(),
            name: "openvz".into(),
            evidence: vec!["/proc/vz and /proc/bc present: OpenVZ hardware node".into()],
        });
    }
    let vxid = read_opt(fs, "/proc/self/status").and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("VxID:").map(|v| v.trim().to_string()))
    });
    let vserver_role = match vxid.as_deref() {
        Some("0") => "host",
        Some(_) => "guest",
        None if fs.exists("/proc/virtual") => "host",
        None => "none",
    };
    facts.set(
        "vserver.role",
        Value::Str(vserver_role.into()),
        "/proc/self/status VxID, /proc/virtual",
    );
    if vserver_role == "host" {
        layers.push(Layer {
            kind: "host".into(),
            name: "linux-vserver".into(),
            evidence: vec!["VxID 0 or /proc/virtual: Linux-VServer host".into()],
        });
    }

    // --- Container detection, systemd's order plus cgroup and VServer markers.
    let container: Option<Found> = (|| {
        if openvz_role == "container" {
            return found("openvz", "/proc/vz present, /proc/bc absent");
        }
        if let Some(r) = release
            && (r.contains("Microsoft") || r.contains("WSL"))
        {
            return found("wsl", format!("kernel release {r:?}"));
        }
        for p in ["/run/host/container-manager", "/run/systemd/container"] {
            if let Ok(v) = fs.read_trimmed(p)
                && !v.is_empty()
                && v != "oci"
            {
                return found(&container_word(&v), format!("{p} = {v:?}"));
            }
        }
        let env = fs.read("/proc/1/environ");
        if let Err(crate::host::ReadError::PermissionDenied(_)) = &env {
            facts.needs_privilege.push("reading container= from /proc/1/environ: needs CAP_SYS_PTRACE or the same user as PID 1 (the other container markers were still read)".into());
        }
        if let Ok(env) = env {
            let env = String::from_utf8_lossy(&env);
            if let Some(v) = env.split('\0').find_map(|kv| kv.strip_prefix("container="))
                && !v.is_empty()
                && v != "oci"
            {
                return found(&container_word(v), format!("/proc/1/environ container={v}"));
            }
        }
        if fs.exists("/run/.containerenv") {
            return found("podman", "/run/.containerenv exists");
        }
        if fs.exists("/.dockerenv") {
            return found("docker", "/.dockerenv exists");
        }
        for p in ["/proc/1/cgroup", "/proc/self/cgroup"] {
            if let Some(t) = read_opt(fs, p) {
                if t.contains("/libpod-") {
                    return found("podman", format!("{p} names a libpod cgroup"));
                }
                if t.contains("/docker/") || t.contains("/docker-") {
                    return found("docker", format!("{p} names a docker cgroup"));
                }
                if t.contains("/lxc/") || t.contains("lxc.payload") {
                    return found("lxc", format!("{p} names an lxc cgroup"));
                }
            }
        }
        if vserver_role == "guest" {
            return found(
                "linux-vserver",
                format!(
                    "/proc/self/status VxID: {}",
                    vxid.clone().unwrap_or_default()
                ),
            );
        }
        None
    })();
    let container_name = match container {
        Some(f) => {
            layers.push(Layer {
                kind: "container".into(),
                name: f.word.clone(),
                evidence: f.evidence.clone(),
            });
            facts.set(
                "virt.container",
                Value::Str(f.word.as_str().into()),
                f.evidence.join("; "),
            );
            f.word
        }
        None => {
            facts.set(
                "virt.container",
                Value::Str("none".into()),
                "no container marker",
            );
            "none".into()
        }
    };

    Virtualization {
        hypervisor,
        container: container_name,
        layers,
    }
}

/// s390 `/proc/sysinfo`: whether it shows an LPAR level, and each `VMnn Control Program` level
/// (`("VM00 Control Program", "z/VM    7.3.0")`), outermost first.
pub fn parse_sysinfo(text: &str) -> (bool, Vec<(String, String)>) {
    let lpar = text
        .lines()
        .any(|l| l.starts_with("LPAR Number") || l.starts_with("LPAR Name"));
    let levels = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.starts_with("VM") && k.trim_end().ends_with("Control Program"))
                .then(|| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    (lpar, levels)
}

/// POWER `lparcfg`: `shared` or `dedicated` processors (`shared_processor_mode`), or `yes` when
/// the file does not say.
pub fn parse_lparcfg(text: &str) -> &'static str {
    match text
        .lines()
        .find_map(|l| l.trim().strip_prefix("shared_processor_mode="))
        .map(str::trim)
    {
        Some("1") => "shared",
        Some(_) => "dedicated",
        None => "yes",
    }
}

fn container_word(v: &str) -> String {
    match v.trim() {
        "lxc-libvirt" => "lxc-libvirt".into(),
        v if v.starts_with("lxc") => "lxc".into(),
        "systemd-nspawn" => "systemd-nspawn".into(),
        "docker" => "docker".into(),
        "podman" => "podman".into(),
        "rkt" => "rkt".into(),
        "wsl" => "wsl".into(),
        "proot" => "proot".into(),
        "pouch" => "pouch".into(),
        _ => "container-other".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sysinfo_levels() {
        let (lpar, levels) = parse_sysinfo(
            "LPAR Number: 21\nLPAR Name: LP21\nVM00 Name: X\nVM00 Control Program: z/VM    7.3.0\n",
        );
        assert!(lpar);
        assert_eq!(
            levels,
            vec![(
                "VM00 Control Program".to_string(),
                "z/VM    7.3.0".to_string()
            )]
        );
        assert_eq!(
            parse_lparcfg("lparcfg 1.9\nshared_processor_mode=1\n"),
            "shared"
        );
        assert_eq!(parse_lparcfg("shared_processor_mode=0"), "dedicated");
        assert_eq!(parse_lparcfg(""), "yes");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        #[test]
        fn sysinfo_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_sysinfo(&String::from_utf8_lossy(&bytes));
        }
        #[test]
        fn sysinfo_finds_every_level(names in proptest::collection::vec("[A-Za-z/ .0-9]{1,20}", 0..6)) {
            let text: String = names.iter().enumerate().map(|(i, n)| format!("VM{i:02} Control Program: {n}\n")).collect();
            let (_, levels) = parse_sysinfo(&text);
            prop_assert_eq!(levels.len(), names.len());
        }
        #[test]
        fn lparcfg_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_lparcfg(&String::from_utf8_lossy(&bytes));
        }
    }
}
