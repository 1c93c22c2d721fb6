//! Whole-pipeline tests on the fixture host trees in tests/fixtures/hosts (facts from the
//! technology notes): each tree is probed through `--root` with its recorded live answers
//! (virtprobe-live.json: the fake CPUID reader and device prober), and judged by the shipped table.

use std::collections::BTreeSet;

use crate::util::*;
use virtprobe::report::{Role, Verdict};

#[test]
fn text_report_snapshots() {
    for name in fixture_names() {
        // The checkout's path would change where the header wraps; the snapshot names no path.
        let mut r = report(&fixture(&name));
        r.root = "<fixture>".into();
        insta::assert_snapshot!(format!("report-{name}"), text(&r));
    }
}

/// Text at 80 and 120 columns: every line fits, and no word is cut (each summary and reason can be
/// read back whole from the wrapped text).
#[test]
fn text_fits_the_width_without_cutting_words() {
    use virtprobe::render::{Context, Explain};
    let advise = |root: &std::path::Path, columns: &str| {
        let out = bin()
            .arg("--root")
            .arg(root)
            .args(["advise", "--guest-os", "windows"])
            .env("COLUMNS", columns)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let table = virtprobe::rules::Table::embedded().unwrap();
    for width in [80, 120] {
        for name in fixture_names() {
            let mut r = report(&fixture(&name));
            r.root = "<fixture>".into();
            let ctx = Context {
                columns: width,
                all: true,
                ..Context::default()
            };
            let mut texts = vec![
                String::from_utf8(
                    virtprobe::render::to_bytes(&virtprobe::render::Text, &r, &ctx).unwrap(),
                )
                .unwrap(),
            ];
            let kvm = r.get("kvm").unwrap();
            texts.push(
                String::from_utf8(
                    virtprobe::render::to_bytes(&Explain(kvm, table.get("kvm")), &r, &ctx).unwrap(),
                )
                .unwrap(),
            );
            texts.push(advise(&fixture(&name), &width.to_string()));
            for text in &texts {
                for l in text.lines() {
                    assert!(l.chars().count() <= width, "{name} at {width}: {l:?}");
                }
                let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
                for t in &r.technologies {
                    if text.contains(&format!("  {} ", t.id)) || text.starts_with(&t.name) {
                        let summary = virtprobe::render::clean(&t.summary);
                        let summary = summary.split_whitespace().collect::<Vec<_>>().join(" ");
                        assert!(
                            flat.contains(&summary),
                            "{name} at {width}: {summary:?} cut"
                        );
                    }
                }
            }
            if ["intel-vtx", "docker-container"].contains(&name.as_str()) {
                insta::assert_snapshot!(format!("report-{name}-{width}-all"), texts[0]);
                insta::assert_snapshot!(format!("explain-kvm-{name}-{width}"), texts[1]);
                insta::assert_snapshot!(format!("advise-windows-{name}-{width}"), texts[2]);
            }
        }
    }
}

#[test]
fn json_contract_snapshot() {
    let r = report(&fixture("intel-vtx"));
    insta::assert_json_snapshot!("json-intel-vtx", r, { ".generated_at" => "[time]", ".root" => "[root]" });
}

fn check(host: &str, id: &str, verdict: &str, role: Option<Role>) -> virtprobe::report::TechReport {
    let r = report(&fixture(host));
    let t = r.get(id).unwrap().clone();
    assert_eq!(
        (t.verdict.as_str(), t.detected),
        (verdict, role),
        "{host}/{id}: {t:#?}"
    );
    t
}

#[test]
fn source_rows_on_their_hosts() {
    check("intel-vtx", "kvm", "ready", None);
    check("intel-vtx", "qemu", "ready", None);
    check("intel-vtx", "lxc", "ready", None);
    check("intel-vtx", "virtualbox", "available", None);
    check("x86-no-vt", "kvm", "unsupported", None);
    check("x86-no-vt", "virtualbox", "unsupported", None);
    check("xen-dom0-2.6.18", "xen", "ready", Some(Role::Host));
    check("xen-dom0-2.6.18", "lxc", "needs-host-change", None);
    check("xen-domU", "xen", "needs-host-change", Some(Role::Guest));
    check("kvm-guest", "kvm", "needs-host-change", Some(Role::Guest));
    check("s390-lpar", "lpar", "ready", Some(Role::Guest));
    check("s390-lpar", "kvm", "ready", None);
    check("s390-zvm", "zvm", "ready", Some(Role::Guest));
    check("s390-zvm", "lpar", "ready", Some(Role::Guest));
    check("power-lpar", "phyp", "ready", Some(Role::Guest));
    check("ps3", "lv1", "ready", Some(Role::Guest));
    check("celleb-beat", "beat", "ready", Some(Role::Guest));
    check("arm64-kvm", "kvm", "ready", None);
    check("arm64-kvm", "virtualbox", "unsupported", None);
    check("i686-lguest", "lguest", "ready", None);
    check("i686-lguest", "uml", "ready", None);
    check("intel-vtx", "lguest", "unsupported", None);
    check("ppc32-mol", "mol", "ready", None);
    check("uml-guest", "uml", "ready", Some(Role::Guest));
    check("openvz-node", "openvz", "ready", Some(Role::Host));
    check(
        "openvz-container",
        "openvz",
        "needs-host-change",
        Some(Role::Guest),
    );
    check("vserver-host", "linux-vserver", "ready", Some(Role::Host));
    check(
        "vserver-guest",
        "linux-vserver",
        "needs-host-change",
        Some(Role::Guest),
    );
    check("vmware-guest", "vmware-esx", "ready", Some(Role::Guest));
    check("intel-vtx", "vmware-workstation", "available", None);
    check("intel-vtx", "vmware-server", "unsupported", None);
    check("intel-vtx", "rhype", "unsupported", None);
    check("intel-vtx", "l4linux", "needs-host-change", None);
    check("docker-container", "docker", "unknown", Some(Role::Guest));
    check("docker-container", "kvm", "ready", None);
}

#[test]
fn firmware_disabled_vt_is_a_host_change_not_unsupported() {
    let r = report(&fixture("intel-vt-disabled"));
    assert_eq!(r.host.cpu.virt_extension.as_deref(), Some("vmx"));
    assert_eq!(r.host.cpu.virt_extension_state, "disabled-by-firmware");
    let kvm = check("intel-vt-disabled", "kvm", "needs-host-change", None);
    assert!(
        kvm.remediation[0].contains("firmware setup"),
        "{:?}",
        kvm.remediation
    );
}

#[test]
fn dev_kvm_the_user_may_not_open_is_available_with_the_group_fix() {
    let kvm = check("amd-svm-no-access", "kvm", "available", None);
    assert!(
        kvm.remediation
            .iter()
            .any(|f| f.contains("group") && f.contains("kvm")),
        "{:?}",
        kvm.remediation
    );
}

#[test]
fn every_verdict_and_role_of_the_source_rows_is_covered() {
    let mut verdicts = BTreeSet::new();
    let mut roles = BTreeSet::new();
    let mut rows_non_trivial = BTreeSet::new();
    for name in fixture_names() {
        let r = report(&fixture(&name));
        for t in r.technologies.iter().filter(|t| t.source_row) {
            verdicts.insert(t.verdict);
            if let Some(role) = t.detected {
                roles.insert(format!("{role:?}"));
            }
            if t.verdict != Verdict::Unknown {
                rows_non_trivial.insert(t.id.clone());
            }
        }
    }
    assert_eq!(verdicts.len(), 5, "{verdicts:?}");
    assert_eq!(roles.len(), 2, "{roles:?}");
    assert_eq!(rows_non_trivial.len(), 20, "{rows_non_trivial:?}");
}

#[test]
fn a_tree_with_nothing_to_read_is_unknown_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("etc")).unwrap();
    std::fs::write(dir.path().join("etc/hostname"), "bare\n").unwrap();
    let r = report(dir.path());
    assert!(!r.errors.is_empty());
    assert_eq!(verdict(&r, "kvm"), "unknown");
    assert_eq!(r.host.arch, None);
}
