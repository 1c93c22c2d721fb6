//! `virtprobe fix`: a script per distribution family (snapshots), each one valid sh (and clean
//! under shellcheck where installed), the JSON form, the cloud of seven provider trees, the fix
//! book against the technology table, and every Debian package it names in Debian's index.

use std::collections::BTreeSet;
use std::process::Command;

use crate::util::*;
use virtprobe::fix::Book;

/// The fixture trees, one per distribution family (and two close relatives).
const DISTROS: &[&str] = &[
    "fix-debian",
    "fix-ubuntu",
    "fix-fedora",
    "fix-rocky",
    "fix-opensuse",
    "fix-arch",
    "fix-alpine",
];
/// What each tree is asked.
const ASKED: &[&str] = &["qemu", "kvm", "vfio", "lxc", "podman"];

fn fix(tree: &str, args: &[&str]) -> std::process::Output {
    bin()
        .arg("--root")
        .arg(fixture(tree))
        .arg("fix")
        .args(args)
        .output()
        .unwrap()
}

fn script(tree: &str, ids: &[&str]) -> String {
    let out = fix(tree, ids);
    succeeded(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// The script passes `sh -n`, and shellcheck (warnings and errors) where it is installed.
fn valid_sh(name: &str, text: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.sh"));
    std::fs::write(&path, text).unwrap();
    let n = Command::new("sh").arg("-n").arg(&path).output().unwrap();
    assert!(
        n.status.success(),
        "{name}: sh -n: {}",
        String::from_utf8_lossy(&n.stderr)
    );
    if have("shellcheck") {
        let sc = Command::new("shellcheck")
            .args(["-s", "sh", "-S", "warning"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            sc.status.success(),
            "{name}: shellcheck:\n{}",
            String::from_utf8_lossy(&sc.stdout)
        );
    } else {
        crate::util::skip!(
            "skipped: shellcheck is not installed; {name} was checked with sh -n only"
        );
    }
}

#[test]
fn a_script_per_distribution_family() {
    for tree in DISTROS {
        let text = script(tree, ASKED);
        valid_sh(tree, &text);
        insta::assert_snapshot!(format!("fix-{tree}"), text);
    }
}

#[test]
fn each_family_speaks_its_own_tools() {
    let expect = [
        (
            "fix-debian",
            "apt-get install -y qemu-system-x86",
            "update-grub",
        ),
        (
            "fix-ubuntu",
            "apt-get install -y qemu-system-x86",
            "update-grub",
        ),
        (
            "fix-fedora",
            "dnf install -y qemu-system-x86",
            "grubby --update-kernel=ALL",
        ),
        (
            "fix-rocky",
            "dnf install -y qemu-kvm",
            "grubby --update-kernel=ALL",
        ),
        (
            "fix-opensuse",
            "zypper --non-interactive install qemu-x86",
            "grub2-mkconfig",
        ),
        (
            "fix-arch",
            "pacman -S --needed --noconfirm qemu-system-x86",
            "grub-mkconfig -o /boot/grub/grub.cfg",
        ),
        (
            "fix-alpine",
            "apk add qemu-system-x86_64",
            "update-extlinux",
        ),
    ];
    for (tree, install, boot) in expect {
        let text = script(tree, ASKED);
        assert!(text.contains(install), "{tree}: no {install:?}\n{text}");
        assert!(text.contains(boot), "{tree}: no {boot:?}\n{text}");
        // The KVM module for this CPU, made to load at boot, and the group for the user.
        let module = if tree == "fix-arch" {
            "kvm_amd"
        } else {
            "kvm_intel"
        };
        assert!(
            text.contains(&format!("modprobe {module}\n")),
            "{tree}\n{text}"
        );
        assert!(
            text.contains("kvm \"$user\"") || text.contains("\"$user\" kvm"),
            "{tree}\n{text}"
        );
    }
}

#[test]
fn a_user_outside_the_kvm_group_is_added_to_it() {
    let text = script("fix-kvm-group", &["kvm"]);
    valid_sh("fix-kvm-group", &text);
    assert!(text.contains("usermod -aG kvm \"$user\""), "{text}");
    assert!(
        !text.contains("modprobe"),
        "the module is loaded already:\n{text}"
    );
    insta::assert_snapshot!("fix-kvm-group", text);
}

#[test]
fn a_ready_technology_needs_nothing() {
    let text = script("intel-vtx", &["kvm"]);
    valid_sh("ready", &text);
    assert!(
        text.contains("Already ready, nothing to do: kvm."),
        "{text}"
    );
    assert!(text.contains("# Nothing to do."), "{text}");
}

#[test]
fn json_steps_name_the_distribution() {
    let out = fix("fix-rocky", &["--json", "kvm", "lxc"]);
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["distribution"]["id"], "rocky");
    assert_eq!(v["distribution"]["family"], "rhel");
    let steps = v["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .all(|s| s["kind"] == "command" || s["kind"] == "manual")
    );
    // RHEL has LXC only in EPEL: a manual step that says so, not a dnf command that would fail.
    let lxc = steps
        .iter()
        .find(|s| s["technology"] == "lxc" && s["requirement"] == "installed")
        .unwrap();
    assert_eq!(lxc["kind"], "manual");
    assert!(lxc["note"].as_str().unwrap().contains("EPEL"), "{lxc}");
}

#[test]
fn an_unknown_id_exits_2_with_a_hint() {
    let out = fix("fix-debian", &["kvmm"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean kvm"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn an_unknown_distribution_gets_manual_steps_only() {
    let dir = tempfile::tempdir().unwrap();
    let t = tree_copy("fix-debian", dir.path());
    std::fs::remove_file(t.join("etc/os-release")).unwrap();
    std::fs::write(t.join("usr/lib/os-release"), "ID=plan9\n").unwrap();
    let out = bin()
        .arg("--root")
        .arg(&t)
        .args(["fix", "--json", "qemu", "kvm"])
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["distribution"]["family"].is_null());
    let steps = v["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    assert!(steps.iter().all(|s| s["kind"] == "manual"), "{v}");
}

#[test]
fn seven_clouds_from_their_dmi() {
    let expect = [
        ("cloud-aws", "aws", Some("c5.large")),
        ("cloud-gcp", "gcp", None),
        ("cloud-azure", "azure", None),
        ("cloud-alibaba", "alibaba", None),
        ("cloud-oracle", "oracle", None),
        ("cloud-digitalocean", "digitalocean", None),
        ("cloud-hetzner", "hetzner", None),
    ];
    for (tree, provider, kind) in expect {
        let r = report(&fixture(tree));
        let cloud = r.host.cloud.unwrap_or_else(|| panic!("{tree}: no cloud"));
        assert_eq!(cloud.provider.as_str(), provider, "{tree}");
        assert_eq!(cloud.instance_type.as_deref(), kind, "{tree}");
    }
    // A machine of one's own is no cloud.
    for tree in ["intel-vtx", "kvm-guest", "vmware-guest"] {
        assert_eq!(report(&fixture(tree)).host.cloud, None, "{tree}");
    }
}

#[test]
fn kvm_on_a_cloud_guest_without_vt_says_how_the_provider_offers_it() {
    let text = script("cloud-aws", &["kvm"]);
    valid_sh("cloud-aws", &text);
    assert!(text.contains("Cloud: aws (c5.large)."), "{text}");
    assert!(text.contains("This instance (c5.large)"), "{text}");
    assert!(text.contains(".metal"), "{text}");
    assert!(text.contains("--nested-virtualization enabled"), "{text}");
    // No module load that cannot work without VT-x.
    assert!(!text.contains("modprobe"), "{text}");
    insta::assert_snapshot!("fix-cloud-aws", text);
}

/// The book names only technologies and requirements the table has, and a package entry for
/// every tool the table looks for.
#[test]
fn the_book_matches_the_table() {
    let book = Book::embedded().unwrap();
    let table = virtprobe::rules::Table::embedded().unwrap();
    for (tech, req) in book.requirements() {
        let t = table
            .get(tech)
            .unwrap_or_else(|| panic!("fix.{tech}: no such technology"));
        assert!(
            t.requires.iter().any(|r| r.id == req),
            "fix.{tech}.{req}: no such requirement"
        );
    }
    let tools = table.needs().tools;
    let missing: Vec<&String> = tools
        .iter()
        .filter(|t| !book.packages().contains_key(*t))
        .collect();
    assert!(
        missing.is_empty(),
        "tools without a [packages] entry: {missing:?}"
    );
    // Every provider the probe detects has the KVM text.
    for p in virtprobe::sources::virt::cloud::Provider::ALL {
        assert!(
            book.cloud(p.as_str(), "kvm").is_some(),
            "[clouds.{p}.kvm] missing"
        );
    }
}

/// Every Debian package name the book gives exists in Debian's index (this machine's APT lists).
#[test]
fn every_debian_package_is_in_the_index() {
    let debian = std::fs::read_to_string("/etc/os-release")
        .is_ok_and(|s| s.lines().any(|l| l == "ID=debian"));
    if !debian || !have("apt-cache") {
        crate::util::skip!(
            "skipped: not a Debian host with apt-cache; the Debian package names were not checked"
        );
        return;
    }
    let book = Book::embedded().unwrap();
    let names: BTreeSet<&str> = book
        .packages()
        .values()
        .filter_map(|by| by.get("debian"))
        .filter(|v| !v.starts_with("manual:"))
        .flat_map(|v| v.split_whitespace())
        .collect();
    assert!(names.len() >= 8, "{names:?}");
    for name in names {
        let out = Command::new("apt-cache")
            .args(["show", "--no-all-versions", name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&format!("Package: {name}\n")),
            "{name} is not in Debian's index: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The fields read for the cloud are not matched against systemd's vendor table: an asset tag
/// that happens to begin with a vendor's word names no hypervisor.
#[test]
fn cloud_fields_name_no_hypervisor() {
    let dir = tempfile::tempdir().unwrap();
    let id = dir.path().join("sys/class/dmi/id");
    std::fs::create_dir_all(&id).unwrap();
    std::fs::write(id.join("sys_vendor"), "Dell Inc.\n").unwrap();
    std::fs::write(id.join("chassis_asset_tag"), "KVM-rack-7\n").unwrap();
    std::fs::write(id.join("bios_version"), "Xen-ready 2.1\n").unwrap();
    let r = report(dir.path());
    assert_eq!(r.host.virtualization.hypervisor, "none");
    assert_eq!(r.host.cloud, None);
}
