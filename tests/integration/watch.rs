//! `virtprobe serve` notices a change at once, under real conditions (inotify, the mount table),
//! and says what changed and why: a tool appearing in a folder it searches, a bind mount over
//! `/dev/kvm` in a private mount namespace, a module unloaded in a captured tree. Each must show
//! in the status within a second of the change, with a `changes` entry naming the facts, while
//! the interval (an hour) never comes due.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `serve`, killed when dropped.
struct Serving {
    child: Child,
    status: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    /// Start `command` (a `serve` writing `status.json` in `dir`) and wait for its first status.
    fn start(mut command: Command, dir: &Path) -> Serving {
        let status = dir.join("status.json");
        let child = command
            .env("RUNTIME_DIRECTORY", dir.join("run"))
            .arg("serve")
            .arg("--status")
            .arg(&status)
            .args(["--prometheus"])
            .arg(dir.join("virtprobe.prom"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Serving { child, status };
        let deadline = Instant::now() + Duration::from_secs(30);
        while s.read().is_none() {
            assert!(Instant::now() < deadline, "no status within 30 s");
            std::thread::sleep(Duration::from_millis(10));
        }
        s
    }

    fn read(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&std::fs::read(&self.status).ok()?).ok()
    }

    /// Wait until the status shows `technology` at a verdict other than `before`; how long that
    /// took and the status then. Panics after 5 s.
    fn until_changed(&self, technology: &str, before: &str) -> (Duration, serde_json::Value) {
        let from = Instant::now();
        loop {
            if let Some(s) = self.read()
                && verdict_of(&s, technology) != before
            {
                return (from.elapsed(), s);
            }
            assert!(
                from.elapsed() < Duration::from_secs(5),
                "{technology} still {before} after 5 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn verdict_of(status: &serde_json::Value, id: &str) -> String {
    status["technologies"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["id"] == id))
        .map(|t| t["verdict"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

/// The last `changes` entry for `technology`, and the facts its `because` names.
fn change_of(status: &serde_json::Value, technology: &str) -> (serde_json::Value, Vec<String>) {
    let entry = status["changes"]
        .as_array()
        .and_then(|c| c.iter().rev().find(|c| c["technology"] == technology))
        .cloned()
        .unwrap_or_else(|| panic!("no change for {technology}: {:#}", status["changes"]));
    let facts = entry["because"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["fact"].as_str().unwrap().to_string())
        .collect();
    (entry, facts)
}

/// What every one of these tests checks once the change is seen: within a second, by a probe
/// the change caused (not the interval), logged in `changes` with the facts, the service's own
/// counters and the Prometheus timestamp of the change.
fn seen_within_a_second(s: &Serving, technology: &str, before: &str, fact: &str) {
    let probes_before = s.read().unwrap()["service"]["probes"].as_u64().unwrap();
    let (took, status) = s.until_changed(technology, before);
    println!(
        "{technology}: {before} → {} in {took:?}",
        verdict_of(&status, technology)
    );
    assert!(
        took < Duration::from_secs(1),
        "{technology} seen after {took:?}"
    );
    let (entry, facts) = change_of(&status, technology);
    assert_eq!(entry["from"], before);
    assert_eq!(
        entry["to"].as_str().unwrap(),
        verdict_of(&status, technology)
    );
    assert!(
        facts.iter().any(|f| f == fact),
        "{technology}'s change names {facts:?}, not {fact}"
    );
    assert!(entry["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    let service = &status["service"];
    assert!(service["probes"].as_u64().unwrap() > probes_before);
    assert!(service["verdict_changes"].as_u64().unwrap() >= 1);
    assert_eq!(service["interval_seconds"], 3600.0);
    let prom = std::fs::read_to_string(s.status.with_file_name("virtprobe.prom")).unwrap();
    let line = format!(
        "virtprobe_technology_last_change_timestamp_seconds{{technology=\"{technology}\"}}"
    );
    assert!(prom.contains(&line), "{prom}");
}

/// A tool appears in a folder the live probe searches (one of `PATH`): `cloud-hypervisor`.
#[test]
fn a_tool_appearing_in_a_watched_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let mut c = Command::new(bin_path());
    c.env("PATH", &bin_dir);
    let s = Serving::start(c, dir.path());
    let status = s.read().unwrap();
    let before = verdict_of(&status, "cloud-hypervisor");
    assert!(
        status["facts"]["tool"]["value"]
            .get("cloud-hypervisor")
            .is_none(),
        "cloud-hypervisor is installed on this machine already"
    );
    let tool = bin_dir.join("cloud-hypervisor");
    std::fs::write(&tool, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    seen_within_a_second(&s, "cloud-hypervisor", &before, "tool");
}

/// A bind mount over `/dev/kvm` in the service's own private mount namespace: the device is still
/// there, but no longer KVM. (A mount elsewhere first: it does not wake the probe.) Needs root,
/// `/dev/kvm`, unshare and nsenter.
#[test]
fn a_bind_mount_over_dev_kvm() {
    if !is_root() || !Path::new("/dev/kvm").exists() || !have("unshare") || !have("nsenter") {
        crate::util::skip!("skipped: needs root, /dev/kvm, unshare and nsenter");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new("unshare");
    c.args(["--mount", "--propagation", "private"])
        .arg(bin_path());
    let s = Serving::start(c, dir.path());
    assert_eq!(verdict_of(&s.read().unwrap(), "kvm"), "ready");
    let pid = s.child.id().to_string();
    // A mount over nothing the probe reads does not wake it.
    let probes = s.read().unwrap()["service"]["probes"].clone();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let mounted = Command::new("nsenter")
        .args(["-t", &pid, "-m", "mount", "-t", "tmpfs", "none"])
        .arg(&elsewhere)
        .status()
        .unwrap();
    assert!(mounted.success());
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(s.read().unwrap()["service"]["probes"], probes);
    let mounted = Command::new("nsenter")
        .args(["-t", &pid, "-m", "mount", "--bind", "/dev/null", "/dev/kvm"])
        .status()
        .unwrap();
    assert!(mounted.success());
    seen_within_a_second(&s, "kvm", "ready", "kvm.api_version");
}

/// A module unloaded in a captured tree (`--root`): `/proc/modules` rewritten and the module's
/// `/sys/module` folder removed, as the kernel would.
#[test]
fn a_module_unloaded_in_a_root_tree() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_copy("intel-vtx", dir.path());
    let mut c = Command::new(bin_path());
    c.arg("--root").arg(&tree);
    let s = Serving::start(c, dir.path());
    assert_eq!(verdict_of(&s.read().unwrap(), "nested-kvm"), "ready");
    let modules = tree.join("proc/modules");
    let kept: String = std::fs::read_to_string(&modules)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("kvm"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&modules, kept).unwrap();
    std::fs::remove_dir_all(tree.join("sys/module/kvm_intel")).unwrap();
    std::fs::remove_dir_all(tree.join("sys/module/kvm")).unwrap();
    seen_within_a_second(&s, "nested-kvm", "ready", "kernel.modules");
    // Said once: the burst of writes and removals gave one verdict change, not several.
    let status = s.read().unwrap();
    let entries = status["changes"].as_array().unwrap();
    assert_eq!(
        entries
            .iter()
            .filter(|c| c["technology"] == "nested-kvm")
            .count(),
        1,
        "{entries:#?}"
    );
}

/// With nothing changing, the service does not probe again before its interval.
#[test]
fn nothing_changing_means_no_probe() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_copy("intel-vtx", dir.path());
    let mut c = Command::new(bin_path());
    c.arg("--root").arg(&tree);
    let s = Serving::start(c, dir.path());
    let first = s.read().unwrap()["service"]["probes"].clone();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(s.read().unwrap()["service"]["probes"], first);
}

/// `diff` on two captures that differ in kernel release names `lxc` and the kernel version fact
/// (exit 1); on a document and itself, exit 0.
#[test]
fn diff_names_the_technologies_and_facts() {
    let dir = tempfile::tempdir().unwrap();
    let old = tree_copy("intel-vtx", dir.path());
    let live = old.join("virtprobe-live.json");
    let text = std::fs::read_to_string(&live).unwrap();
    let release = "\"release\": \"6.8.0-48-generic\"";
    assert!(text.contains(release));
    std::fs::write(
        &live,
        text.replace(release, "\"release\": \"2.6.18-8.el5\""),
    )
    .unwrap();
    std::fs::write(old.join("proc/sys/kernel/osrelease"), "2.6.18-8.el5\n").unwrap();
    let out = bin()
        .arg("diff")
        .arg(&old)
        .arg(fixture("intel-vtx"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let lxc = text
        .split_inclusive('\n')
        .skip_while(|l| !l.starts_with("lxc: "))
        .take_while(|l| l.starts_with("lxc: ") || l.starts_with("    "))
        .collect::<String>();
    assert!(lxc.starts_with("lxc: needs-host-change → ready"), "{text}");
    assert!(lxc.contains("    kernel.version: 2.6.18 → 6.8.0"), "{text}");
    // JSON: the same, as data.
    let out = bin()
        .arg("diff")
        .arg(&old)
        .arg(fixture("intel-vtx"))
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let lxc = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["technology"] == "lxc")
        .unwrap();
    assert!(
        lxc["because"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["fact"] == "kernel.version" && b["from"] == "2.6.18" && b["to"] == "6.8.0"),
        "{lxc:#}"
    );
    // A document and itself: nothing differs. A report against its own tree: nothing either.
    let doc = dir.path().join("report.json");
    let out = bin()
        .arg("--root")
        .arg(fixture("intel-vtx"))
        .arg("--json")
        .output()
        .unwrap();
    std::fs::write(&doc, &out.stdout).unwrap();
    for other in [doc.clone(), fixture("intel-vtx")] {
        let out = bin().arg("diff").arg(&doc).arg(&other).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(out.stdout.is_empty());
    }
    // Errors: exit 2 and one line (a FIFO is refused, not waited on).
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (a, b) in [
        (doc.clone(), dir.path().join("missing")),
        (doc.clone(), Path::new("/etc/hostname").to_path_buf()),
        (fifo.clone(), doc.clone()),
    ] {
        let out = bin().arg("diff").arg(&a).arg(&b).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
}
