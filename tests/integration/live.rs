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
        eprintln!("skipped: /dev/kvm is missing or this user cannot open it");
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
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["root"], "/");
    assert!(v["host"]["arch"].is_string());
    assert!(v["host"]["kernel"]["release"].is_string());
}
