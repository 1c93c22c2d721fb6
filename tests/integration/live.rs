//! The running host. Needs /dev/kvm (and permission to open it); skips with a message elsewhere.

use std::os::unix::fs::OpenOptionsExt;

use crate::util::*;

fn kvm_openable() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open("/dev/kvm")
        .is_ok()
}

#[test]
fn kvm_is_ready_when_dev_kvm_creates_vms() {
    if !kvm_openable() {
        crate::util::skip!("skipped: /dev/kvm is missing or this user cannot open it");
        return;
    }
    let out = bin().args(["--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kvm = &v["host"]["kvm"];
    assert_eq!(kvm["api_version"], 12);
    assert_eq!(kvm["create_vm"], true);
    assert_eq!(kvm["create_vcpu"], true);
    bin().args(["check", "kvm"]).assert().code(0);
    bin().args(["check", "lguest"]).assert().code(1);
}

#[test]
fn live_report_is_whole() {
    let out = bin().args(["--json"]).output().unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["root"], "/");
    assert!(v["host"]["arch"].is_string());
    assert!(v["host"]["kernel"]["release"].is_string());
}

/// An ordinary user gets a full report, and is told which checks wanted more privilege.
#[test]
fn unprivileged_run_gives_a_full_report() {
    use std::os::unix::process::CommandExt;
    if !is_root() {
        crate::util::skip!("skipped: this test drops from root to nobody");
        return;
    }
    let as_root: serde_json::Value =
        serde_json::from_slice(&bin().arg("--json").output().unwrap().stdout).unwrap();
    let out = std::process::Command::new(bin_path())
        .arg("--json")
        .uid(65534)
        .gid(65534)
        .env_remove("HOME")
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids = |v: &serde_json::Value| {
        v["technologies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&v), ids(&as_root));
    assert_eq!(v["host"]["arch"], as_root["host"]["arch"]);
    assert_eq!(
        v["host"]["virtualization"]["hypervisor"],
        as_root["host"]["virtualization"]["hypervisor"]
    );
    assert_eq!(
        v["host"]["kernel"]["release"],
        as_root["host"]["kernel"]["release"]
    );
    assert!(
        !v["needs_privilege"].as_array().unwrap().is_empty(),
        "{:#}",
        v["needs_privilege"]
    );
    // Where /dev/kvm is root-only (0600), nobody may not open it: KVM is available, with the fix.
    let mode = std::fs::metadata("/dev/kvm")
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o007);
    if mode.is_ok_and(|m| m == 0) {
        let kvm = tech(&v, "kvm");
        assert_eq!(kvm["verdict"], "available", "{kvm:#}");
        assert!(kvm["remediation"].to_string().contains("usermod -aG kvm"));
    }
}

/// `capture` then `--root` reproduces this host's report.
#[test]
fn capture_reproduces_the_live_report() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("host");
    let out = bin().arg("capture").arg(&tree).output().unwrap();
    succeeded(&out);
    let live: serde_json::Value =
        serde_json::from_slice(&bin().arg("--json").output().unwrap().stdout).unwrap();
    let replay: serde_json::Value = serde_json::from_slice(
        &bin()
            .arg("--root")
            .arg(&tree)
            .arg("--json")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let summary = |v: &serde_json::Value| {
        v["technologies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["id"].clone(), t["verdict"].clone(), t["detected"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(summary(&replay), summary(&live));
    for k in ["arch", "virtualization", "kvm"] {
        assert_eq!(replay["host"][k], live["host"][k], "host.{k}");
    }
    assert_eq!(
        replay["host"]["cpu"]["virt_extension_state"],
        live["host"]["cpu"]["virt_extension_state"]
    );
    // A second capture into the same folder is refused.
    let again = bin().arg("capture").arg(&tree).output().unwrap();
    assert_eq!(again.status.code(), Some(2));
}
