//! Judgement on hosts virtprobe has never seen: one fixture tree per class of mistake the peers'
//! dumps showed (facts from the peers' code and public formats), with the verdicts, roles and
//! words asserted; then the signatures a file alone can show, one small tree each.

use std::path::Path;

use virtprobe::report::{Report, Role};
use virtprobe::rules::Outcome;

use crate::util::*;

fn reason<'a>(r: &'a Report, id: &str, req: &str) -> &'a virtprobe::report::Reason {
    r.get(id)
        .unwrap()
        .reasons
        .iter()
        .find(|x| x.requirement == req)
        .unwrap_or_else(|| panic!("{id} has no {req}"))
}

fn advise_first(host: &str, args: &[&str]) -> (serde_json::Value, String) {
    let v = advise_json(host, args);
    let first = v["recommendations"][0]["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    (v, first)
}

/// Class 1: Only cpuinfo, no vmx/svm, no CPUID: absent or disabled in firmware, and KVM, VirtualBox and
/// VMware Workstation need a host change, not a module load.
#[test]
fn vt_seen_only_through_cpuinfo() {
    for host in ["p4-no-cpuid", "opteron-no-svm"] {
        let r = report(&fixture(host));
        assert_eq!(
            r.host.cpu.virt_extension_state, "absent-or-disabled",
            "{host}"
        );
        assert_eq!(verdict(&r, "kvm"), "needs-host-change", "{host}");
        assert_eq!(reason(&r, "kvm", "vt-seen").result, Outcome::Fail);
    }
    let r = report(&fixture("opteron-no-svm"));
    for id in ["virtualbox", "vmware-workstation"] {
        assert_eq!(verdict(&r, id), "needs-host-change", "{id}");
    }
}

/// Class 2: Xen's dom0 holds VT: KVM needs a host change even without a kernel config to read.
#[test]
fn another_hypervisor_owns_vt() {
    for host in ["xen-dom0-no-tools", "xen-dom0-2.6.18"] {
        let r = report(&fixture(host));
        assert_eq!(verdict(&r, "kvm"), "needs-host-change", "{host}");
        assert_eq!(
            reason(&r, "kvm", "vt-owner").result,
            Outcome::Fail,
            "{host}"
        );
        assert_eq!(r.get("xen").unwrap().detected, Some(Role::Host));
    }
}

/// Class 3: No kernel config: the version gate and the cgroups the kernel lists decide, and say so.
#[test]
fn no_kernel_config_still_decides() {
    let r = report(&fixture("centos6-no-config"));
    assert!(r.host.kernel.config_source.is_none());
    for id in ["lxc", "docker"] {
        let ns = reason(&r, id, "namespaces");
        assert_eq!(ns.result, Outcome::Pass, "{id}: {ns:#?}");
        assert!(
            ns.evidence.iter().any(|e| e
                .to_string()
                .starts_with("kernel.config_found is false: yes"))
                && ns
                    .evidence
                    .iter()
                    .any(|e| e.to_string().starts_with("cgroup.version in")),
            "{id}: {:#?}",
            ns.evidence
        );
        assert_ne!(verdict(&r, id), "unknown", "{id}");
    }
    assert_eq!(verdict(&r, "lxc"), "ready");
}

/// Class 4: A captured host with kvm_amd loaded and /dev/kvm: KVM stays a KVM host, and what was not
/// tried is said, not asserted.
#[test]
fn what_a_captured_tree_cannot_try_does_not_demote() {
    let r = report(&fixture("epyc-captured"));
    let kvm = r.get("kvm").unwrap();
    assert_eq!(kvm.verdict.as_str(), "ready", "{kvm:#?}");
    assert!(kvm.summary.contains("not tried here"), "{}", kvm.summary);
    assert_eq!(reason(&r, "kvm", "open").result, Outcome::NotTried);
    let (_, first) = advise_first("epyc-captured", &["--guest-os", "windows"]);
    assert_eq!(first, "kvm");
}

/// Class 5: The advisor ranks what needs a group membership above emulation, in plain words, and a
/// root-only /dev/kvm gets advice other than "join the group".
#[test]
fn the_advisor_ranks_by_effort_and_fit() {
    let (v, first) = advise_first("amd-svm-no-access", &["--guest-os", "windows"]);
    assert_eq!(first, "kvm", "{v:#}");
    let ids: Vec<&str> = v["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    let tcg = ids.iter().position(|i| i.starts_with("qemu-tcg"));
    assert!(tcg.is_none_or(|p| p > 0), "{ids:?}");
    let why = v["blocked_best"]["why"].to_string();
    assert!(
        why.contains("is the best fit here, and one step remains"),
        "{why}"
    );
    let r = report(&fixture("kvm-root-only"));
    let kvm = r.get("kvm").unwrap();
    assert_eq!(kvm.verdict.as_str(), "available");
    assert!(
        kvm.remediation[0].contains("udev rule"),
        "{:?}",
        kvm.remediation
    );
    assert!(kvm.summary.contains("root's alone"), "{}", kvm.summary);
}

/// Class 6: Every layer word maps to its technology's role, whichever evidence found the layer.
#[test]
fn layers_and_roles_agree() {
    let r = report(&fixture("xen-hvm-pci"));
    assert_eq!(r.host.virtualization.hypervisor, "xen");
    assert_eq!(r.get("xen").unwrap().detected, Some(Role::Guest));
    let r = report(&fixture("vmware-guest"));
    assert_eq!(r.get("vmware-esx").unwrap().detected, Some(Role::Guest));
    // The table: a word stands for one technology at most, and a layer of that word gives the
    // technology its role (guest beneath or around this Linux, host when this Linux controls it).
    use virtprobe::sources::virt::{Layer, LayerKind};
    let table = virtprobe::rules::Table::embedded().unwrap();
    let fs = virtprobe::host::HostFs::with_root(&fixture("intel-vtx"), virtprobe::host::Mode::Tree)
        .unwrap();
    let live = virtprobe::host::live::sources_for(&fs);
    let base = virtprobe::sources::probe(&fs, live.as_ref(), &table.needs());
    let mut seen = std::collections::BTreeSet::new();
    for t in &table.technologies {
        for word in &t.words {
            assert!(seen.insert(*word), "{word} stands for two technologies");
            for kind in [LayerKind::Hypervisor, LayerKind::Container, LayerKind::Host] {
                let mut probed = base.clone();
                probed.virt.layers = vec![Layer {
                    kind,
                    name: *word,
                    evidence: vec![],
                }];
                let facts = virtprobe::facts::collect(&probed);
                let r = virtprobe::report::build(&probed, &facts, &table, "/");
                let want = if kind == LayerKind::Host {
                    Role::Host
                } else {
                    Role::Guest
                };
                assert_eq!(r.get(&t.id).unwrap().detected, Some(want), "{word}");
                let shown = r.host.virtualization.layers[0].technology.as_deref();
                assert_eq!(shown, Some(t.id.as_str()), "{word}");
            }
        }
    }
}

/// Class 7: s390: VM00 is the innermost level: KVM inside z/VM inside an LPAR is a KVM guest.
#[test]
fn s390_vm00_is_innermost() {
    let r = report(&fixture("s390-kvm-in-zvm"));
    let v = &r.host.virtualization;
    assert_eq!(v.hypervisor, "kvm");
    let names: Vec<&str> = v.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["lpar", "zvm", "kvm"]);
    assert_eq!(r.get("kvm").unwrap().detected, Some(Role::Guest));
    assert_eq!(r.get("zvm").unwrap().detected, Some(Role::Guest));
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const X86: (&str, &str) = (
    "proc/cpuinfo",
    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu lm hypervisor\n",
);

fn words(dir: &Path) -> (String, String) {
    let r = report(dir);
    (
        r.host.virtualization.hypervisor.clone(),
        r.host.virtualization.container.clone(),
    )
}

/// Class 8: What the peers know from files: QEMU's CPU models, guest drivers, Hyper-V's KVP pool,
/// Docker before 1.10, VServer before 2.0, KVM platforms' DMI, `container=oci`, SPARC LDoms.
#[test]
fn the_peers_file_signatures() {
    let r = report(&fixture("qemu-kvm-cpu-model"));
    assert_eq!(r.host.virtualization.hypervisor, "kvm");
    let qemu = tree(&[(
        "proc/cpuinfo",
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: QEMU Virtual CPU version 2.5+\nflags\t: fpu lm\n",
    )]);
    assert_eq!(words(qemu.path()).0, "qemu");
    let vbox = tree(&[
        X86,
        ("proc/modules", "vboxguest 348160 2 vboxsf, Live 0x0\n"),
    ]);
    assert_eq!(words(vbox.path()).0, "oracle");
    assert_eq!(
        report(vbox.path()).get("virtualbox").unwrap().detected,
        Some(Role::Guest)
    );
    let hyperv = tree(&[X86, ("var/lib/hyperv/.kvp_pool_3", "HostName\0host1\0")]);
    assert_eq!(words(hyperv.path()).0, "microsoft");
    let docker = tree(&[X86, (".dockerinit", "")]);
    assert_eq!(words(docker.path()).1, "docker");
    let vserver = tree(&[X86, ("proc/self/status", "Name:\tbash\ns_context: 40012\n")]);
    assert_eq!(words(vserver.path()).1, "linux-vserver");
    for (vendor, product) in [
        ("Alibaba Cloud", "Alibaba Cloud ECS"),
        ("oVirt", "oVirt Node"),
        ("Red Hat", "RHEV Hypervisor"),
        ("Nutanix", "AHV"),
        ("UpCloud", "Cloud Server"),
        ("OpenStack Foundation", "OpenStack Nova"),
    ] {
        let t = tree(&[
            X86,
            ("sys/class/dmi/id/sys_vendor", vendor),
            ("sys/class/dmi/id/product_name", product),
        ]);
        assert_eq!(words(t.path()).0, "kvm", "{vendor} {product}");
    }
    let oci = tree(&[X86, ("proc/1/environ", "PATH=/bin\0container=oci\0")]);
    assert_eq!(words(oci.path()).1, "container-other");
    let ldoms = tree(&[
        (
            "proc/cpuinfo",
            "cpu\t\t: UltraSparc T2 (Niagara2)\nfpu\t\t: UltraSparc T2 integrated FPU\ntype\t\t: sun4v\nncpus probed\t: 8\n",
        ),
        ("dev/mdesc", ""),
    ]);
    assert_eq!(words(ldoms.path()).0, "ldoms");
}

/// Class 9: An empty or unreadable root exits 2 naming the folder (hostile.rs has the unreadable one).
#[test]
fn an_empty_root_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("--root")
        .arg(dir.path())
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&dir.path().display().to_string()));
}

/// This machine, judged live, is what it was: a KVM guest in a Docker container where KVM works.
#[test]
fn the_live_host_is_unchanged_in_substance() {
    let out = bin().arg("--json").output().unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let virt = &v["host"]["virtualization"];
    println!(
        "live: hypervisor {}, container {}",
        virt["hypervisor"], virt["container"]
    );
    if !Path::new("/.dockerenv").exists() {
        crate::util::note(
            "skipped the hypervisor and container words: not this project's own machine",
        );
        return;
    }
    assert_eq!(virt["hypervisor"], "kvm");
    assert_eq!(virt["container"], "docker");
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
    {
        assert_eq!(tech(&v, "kvm")["verdict"], "ready");
    }
}
