//! `virtprobe serve`: atomic status rewrites, crash safety, a read-only status folder, outputs.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

fn serve(root: &Path, dir: &Path, interval: &str, extra: &[&str]) -> Child {
    Command::new(bin_path())
        .arg("--root")
        .arg(root)
        .args(["serve", "--interval", interval, "--status"])
        .arg(dir.join("status.json"))
        .args(extra)
        .env("VIRTPROBE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) -> String {
    signal(&child, rustix::process::Signal::TERM);
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "SIGTERM took {:?}",
        started.elapsed()
    );
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}

#[test]
fn readers_never_see_a_partial_status() {
    let dir = tempfile::tempdir().unwrap();
    let child = serve(&fixture("intel-vtx"), dir.path(), "100ms", &[]);
    let status = dir.path().join("status.json");
    let mut seen = std::collections::BTreeSet::new();
    let mut reads = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 200 && Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(&status) {
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("invalid JSON after {reads} reads: {e}"));
            seen.insert(v["service"]["probes"].as_u64().unwrap());
            assert_eq!(v["schema_version"], 1);
            reads += 1;
        }
    }
    stop(child);
    assert!(
        seen.len() >= 200,
        "only {} rewrites seen in {reads} reads",
        seen.len()
    );
    // No temporary files left behind.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("status.json")]);
}

#[test]
fn sigkill_never_leaves_a_truncated_status() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    for kills in 1..=15 {
        let mut child = serve(&fixture("intel-vtx"), dir.path(), "10ms", &[]);
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(30 + (seed >> 33) % 250));
        child.kill().unwrap();
        child.wait().unwrap();
        if let Ok(bytes) = std::fs::read(&status) {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("truncated after kill {kills}: {e}"));
        }
    }
    assert!(status.exists());
}

#[test]
fn read_only_status_folder_keeps_running_with_a_clear_error() {
    if !is_root() {
        crate::util::skip!("skipped: mounting a read-only tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("state");
    std::fs::create_dir(&mnt).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&mnt)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        crate::util::skip!("skipped: cannot mount a tmpfs here");
        return;
    }
    // A first good status, then the folder turns read-only.
    let child = serve(&fixture("intel-vtx"), &mnt, "50ms", &[]);
    let status = mnt.join("status.json");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let remount = Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(remount.success());
    let before = std::fs::read(&status).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let mut child = child;
    assert!(
        child.try_wait().unwrap().is_none(),
        "serve exited on a read-only folder"
    );
    let after = std::fs::read(&status).unwrap();
    assert_eq!(before, after, "the last good status changed");
    serde_json::from_slice::<serde_json::Value>(&after).unwrap();
    let err = stop(child);
    let _ = Command::new("umount").arg(&mnt).status();
    assert!(
        err.contains("cannot write the status file") && err.contains(&status.display().to_string()),
        "{err}"
    );
    assert!(err.contains("Read-only file system"), "{err}");
}

#[test]
fn missing_status_folder_is_retried_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("later");
    let mut child = serve(&fixture("intel-vtx"), &missing, "50ms", &[]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(child.try_wait().unwrap().is_none());
    std::fs::create_dir(&missing).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !missing.join("status.json").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(missing.join("status.json").exists(), "not retried");
    let err = stop(child);
    assert!(err.contains("No such file or directory"), "{err}");
}

#[test]
fn prometheus_and_nfd_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let prom = dir.path().join("virtprobe.prom");
    let nfd = dir.path().join("virtprobe");
    let out = Command::new(bin_path())
        .arg("--root")
        .arg(fixture("intel-vtx"))
        .args(["serve", "--cycles", "1", "--interval", "1s", "--status"])
        .arg(dir.path().join("status.json"))
        .arg("--prometheus")
        .arg(&prom)
        .arg("--nfd")
        .arg(&nfd)
        .output()
        .unwrap();
    succeeded(&out);
    let metrics = std::fs::read_to_string(&prom).unwrap();
    assert!(
        metrics.contains("virtprobe_technology_verdict{technology=\"kvm\",verdict=\"ready\"} 1")
    );
    assert!(metrics.contains("virtprobe_probe_duration_seconds "));
    assert!(metrics.contains("virtprobe_last_success_timestamp_seconds "));
    // No sample carries a timestamp: every sample line is `name{labels} value`.
    for l in metrics.lines().filter(|l| !l.starts_with('#')) {
        let value = l.rsplit_once(' ').unwrap().1;
        assert!(value.parse::<f64>().is_ok(), "{l}");
        assert!(
            !l.rsplit_once('}')
                .map(|(_, v)| v.trim())
                .unwrap_or(l.split_once(' ').unwrap().1)
                .contains(' '),
            "timestamp in {l}"
        );
    }
    if let Ok(out) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&prom).unwrap())
        .output()
    {
        assert!(
            out.status.success(),
            "promtool: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("promtool not installed: metrics checked by this test only");
    }
    // NFD features.d: an expiry directive, then key=value lines with valid label values.
    let features = std::fs::read_to_string(&nfd).unwrap();
    assert!(features.len() < 65536);
    let expiry = features
        .lines()
        .find_map(|l| l.strip_prefix("# +expiry-time="))
        .expect("expiry-time");
    let expiry = humantime::parse_rfc3339(expiry).unwrap();
    assert!(expiry > std::time::SystemTime::now());
    for l in features.lines().filter(|l| !l.starts_with('#')) {
        let (k, v) = l.split_once('=').unwrap();
        let (prefix, name) = k.split_once('/').unwrap();
        assert_eq!(prefix, "virtprobe.io");
        assert!(!name.is_empty() && name.len() <= 63, "{l}");
        assert!(
            v.len() <= 63
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{l}"
        );
        assert!(
            v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric()),
            "{l}"
        );
    }
    assert!(features.contains("virtprobe.io/kvm=ready"));
}
