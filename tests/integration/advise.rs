//! `virtprobe advise` on fixture hosts.

use crate::util::*;

fn ids(v: &serde_json::Value) -> Vec<String> {
    v["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn windows_guest_on_a_vt_host_gets_kvm_first() {
    let v = advise_json("intel-vtx", &["--guest-os", "windows"]);
    assert_eq!(ids(&v)[0], "kvm", "{v:#}");
    assert!(v["blocked_best"].is_null());
    let excluded = v["excluded"].to_string();
    assert!(
        excluded.contains("a Windows guest needs full virtualization"),
        "{excluded}"
    );
}

#[test]
fn no_vt_host_gets_qemu_tcg_and_why() {
    let v = advise_json("x86-no-vt", &["--isolation", "hardware"]);
    let ids = ids(&v);
    assert!(ids[0].starts_with("qemu"), "{ids:?}");
    for hw in [
        "kvm",
        "qemu-kvm",
        "virtualbox",
        "vmware-workstation",
        "firecracker",
        "kata",
    ] {
        assert!(
            !ids.contains(&hw.to_string()),
            "{hw} offered without VT: {ids:?}"
        );
    }
    let why = v["recommendations"][0]["why"].to_string();
    assert!(
        why.contains("without root or VT") || why.contains("emulation"),
        "{why}"
    );
    let excluded = v["excluded"].to_string();
    assert!(
        excluded.contains("no hardware virtualization extension"),
        "{excluded}"
    );
}

#[test]
fn foreign_guest_architecture_gets_qemu_first() {
    let v = advise_json("intel-vtx", &["--guest-arch", "aarch64"]);
    let ids = ids(&v);
    assert!(ids[0] == "qemu" || ids[0] == "qemu-tcg", "{ids:?}");
    assert!(ids.iter().all(|i| i.starts_with("qemu")), "{ids:?}");
    assert!(v["excluded"].to_string().contains("needs an emulator"));
}

#[test]
fn process_isolation_gets_containers_first() {
    let v = advise_json("intel-vtx", &["--isolation", "process"]);
    assert_eq!(ids(&v)[0], "lxc", "{v:#}");
}

#[test]
fn no_root_keeps_only_rootless_options() {
    let table = virtprobe::rules::Table::embedded().unwrap();
    let v = advise_json("intel-vtx", &["--need", "no-root"]);
    let ids = ids(&v);
    assert!(!ids.is_empty());
    for id in &ids {
        assert!(
            table
                .get(id)
                .unwrap()
                .features
                .contains(&virtprobe::rules::Feature::NoRoot),
            "{id} needs root"
        );
    }
    assert!(!ids.contains(&"docker".to_string()));
}

#[test]
fn fixable_best_option_is_named_first() {
    let v = advise_json("intel-vt-disabled", &["--guest-os", "windows"]);
    assert_eq!(v["blocked_best"]["id"], "kvm", "{v:#}");
    assert!(
        v["blocked_best"]["steps"]
            .to_string()
            .contains("firmware setup")
    );
    let out = bin()
        .arg("--root")
        .arg(fixture("intel-vt-disabled"))
        .args(["advise", "--guest-os", "windows"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("First: KVM would be the best fit here"),
        "{text}"
    );
    let v = advise_json("amd-svm-no-access", &["--guest-os", "windows"]);
    assert_eq!(v["blocked_best"]["id"], "kvm", "{v:#}");
    assert!(
        v["blocked_best"]["steps"]
            .to_string()
            .contains("usermod -aG kvm")
    );
}
