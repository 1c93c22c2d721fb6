//! Conformance on real host dumps (../shared/corpus, never copied into the repo): architecture,
//! x86 virtualization flag, hypervisor and container, compared with what lscpu and virt-what say.
//! Cases whose peer answer is not visible in the dump's files are listed with the reason; every
//! other case must agree.

use std::collections::BTreeMap;

use crate::util::*;

/// Peer answers that no file in the dump shows (they come from CPUID, which a dump cannot hold),
/// with what is missing. Anything not listed here must agree.
const NOT_IN_FILES: &[(&str, &str, &str)] = &[
    (
        "virt-what__kvm",
        "hypervisor",
        "the files say QEMU (cpuinfo model \"QEMU Virtual CPU\", DMI Bochs), the same as virt-what's qemu case; only the CPUID signature KVMKVMKVM says kvm",
    ),
    (
        "virt-what__docker",
        "arch",
        "proc/cpuinfo is an empty placeholder: no file tells the architecture",
    ),
    (
        "virt-what__podman",
        "arch",
        "proc/cpuinfo is an empty placeholder: no file tells the architecture",
    ),
    (
        "virt-what__bhyve",
        "arch",
        "proc/cpuinfo is an empty placeholder: no file tells the architecture",
    ),
];

fn norm_arch(a: &str) -> &str {
    match a {
        "i386" | "i486" | "i586" | "i686" => "i686",
        other => other,
    }
}

/// Peer vendor words → systemd-detect-virt words (any of them agrees).
fn expected_hypervisor(vendor: &str, virt_type: &str) -> Vec<&'static str> {
    if virt_type == "container" {
        return vec!["none"];
    }
    match vendor {
        "none" => vec!["none"],
        "IBM" => vec!["lpar"],
        "KVM" | "kvm" | "ibm_power-kvm" => vec!["kvm"],
        "pHyp" | "ibm_power-lpar_shared" | "ibm_power-lpar_dedicated" => vec!["powervm"],
        "Xen" | "xen" | "xen,xen-domU" => vec!["xen"],
        "xen,xen-dom0" => vec!["none"],
        "qemu" => vec!["qemu"],
        "vmware" => vec!["vmware"],
        "hyperv" => vec!["microsoft"],
        "kvm,aws" => vec!["amazon", "kvm"],
        "google_cloud,kvm" => vec!["google", "kvm"],
        "alibaba_cloud,kvm" => vec!["kvm"],
        "parallels" => vec!["parallels"],
        "bhyve" => vec!["bhyve"],
        _ => vec!["?"],
    }
}

#[test]
fn corpus_conformance() {
    let Some(dir) = corpus_dir() else {
        crate::util::note("skipped: ../shared/corpus not found");
        return;
    };
    let index = std::fs::read_to_string(dir.join("INDEX.tsv")).unwrap();
    let mut agree = 0;
    let mut explained = Vec::new();
    let mut disagree = Vec::new();
    let mut total = 0;
    for line in index.lines().skip(1) {
        let c: Vec<&str> = line.split('\t').collect();
        let (source, case, arch, vt, vendor, vtype) = (c[0], c[1], c[2], c[4], c[5], c[6]);
        let folder = if source == "virt-what" {
            format!("virt-what__{case}")
        } else if source.ends_with("historic") {
            format!("lscpu-historic__{case}")
        } else {
            format!("lscpu__{case}")
        };
        let r = report(&dir.join(&folder));
        let h = &r.host;
        let ours_arch = h.arch.clone().unwrap_or_else(|| "unknown".into());
        let ours_vt = if h.cpu.virt_extension_state == "enabled" {
            h.cpu.virt_extension.clone().unwrap_or_default()
        } else {
            "none".into()
        };
        let container = if vtype == "container" { vendor } else { "none" };
        let mut checks: BTreeMap<&str, (String, Vec<String>)> = BTreeMap::new();
        checks.insert(
            "arch",
            (
                norm_arch(&ours_arch).to_string(),
                vec![norm_arch(arch).to_string()],
            ),
        );
        if arch.starts_with('x') || arch.starts_with('i') {
            checks.insert("vt_flag", (ours_vt, vec![vt.to_string()]));
        }
        checks.insert(
            "hypervisor",
            (
                h.virtualization.hypervisor.clone(),
                expected_hypervisor(vendor, vtype)
                    .into_iter()
                    .map(String::from)
                    .collect(),
            ),
        );
        checks.insert(
            "container",
            (
                h.virtualization.container.clone(),
                vec![container.to_string()],
            ),
        );
        for (what, (ours, theirs)) in checks {
            total += 1;
            if theirs.contains(&ours) {
                agree += 1;
            } else if let Some((_, _, why)) = NOT_IN_FILES
                .iter()
                .find(|(f, w, _)| *f == folder && *w == what)
            {
                explained.push(format!(
                    "{folder} {what}: ours {ours}, peer {theirs:?}: {why}"
                ));
            } else {
                disagree.push(format!("{folder} {what}: ours {ours}, peer {theirs:?}"));
            }
        }
    }
    println!(
        "corpus: {agree} of {total} answers agree; {} explained; {} disagree",
        explained.len(),
        disagree.len()
    );
    for e in &explained {
        println!("  explained: {e}");
    }
    assert!(
        disagree.is_empty(),
        "disagreements:\n{}",
        disagree.join("\n")
    );
}
