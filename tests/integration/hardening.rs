//! The hardening round: each test builds the hostile tree or process it describes (the race on a
//! swapped folder is in hostile.rs). Tests that need root say so and skip elsewhere.

use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn stderr_line(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Run a command to its end with its address space capped at `mib` MiB (more than its peak
/// memory, which a fork's inherited high-water mark would hide from getrusage): its exit code and
/// stderr. Past the cap, an allocation fails and the process aborts: not exit 2.
fn run_capped(cmd: &mut Command, mib: u64) -> (Option<i32>, String) {
    // SAFETY: setrlimit is async-signal-safe and touches only the child's limits.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: mib << 20,
                rlim_max: mib << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.stdout(Stdio::null()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mount_tmpfs(dir: &Path, size: &str) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success())
}

/// Item 2: The root of a process in its own mount namespace is a tree, not this host.
#[test]
fn another_mount_namespace_root_is_a_tree() {
    if !is_root() {
        crate::util::skip!("skipped: unshare --mount needs root");
        return;
    }
    let Ok(mut child) = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sleep", "30"])
        .spawn()
    else {
        crate::util::skip!("skipped: no unshare here");
        return;
    };
    std::thread::sleep(Duration::from_millis(300));
    let root = format!("/proc/{}/root", child.id());
    let out = bin().args(["--root", &root, "--json"]).output().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["root"], root.as_str(), "judged as this host");
    assert!(
        v["host"]["kvm"].is_null(),
        "the live KVM check ran for a tree"
    );
    // This process's own root, given as --root, is still this host.
    let me: serde_json::Value = serde_json::from_slice(
        &bin()
            .args(["--root", "/proc/self/root", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(me["root"], "/");
}

/// Item 3: A capture holds no file others may read and nothing of PID 1's environment but `container`.
#[test]
fn capture_keeps_secrets_in() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    succeeded(&bin().arg("capture").arg(&tree).output().unwrap());
    let mut stack = vec![tree.clone()];
    let mut files = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let md = e.metadata().unwrap();
            assert_eq!(
                md.mode() & 0o077,
                0,
                "{} is open to others",
                e.path().display()
            );
            if md.is_dir() {
                stack.push(e.path());
            } else {
                files += 1;
            }
        }
    }
    assert!(files > 10, "{files} files");
    if let Ok(env) = std::fs::read(tree.join("proc/1/environ")) {
        for kv in env.split(|&b| b == 0).filter(|kv| !kv.is_empty()) {
            assert!(
                kv.starts_with(b"container="),
                "{}",
                String::from_utf8_lossy(kv)
            );
        }
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(left.len(), 1, "a temporary folder was left");
}

/// Item 4: A capture onto a full disk leaves nothing, and a retry with room succeeds.
#[test]
fn capture_onto_a_full_disk_leaves_nothing() {
    if !is_root() {
        crate::util::skip!("skipped: mounting a tmpfs needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("small");
    if !mount_tmpfs(&mnt, "16k") {
        crate::util::skip!("skipped: cannot mount a tmpfs here");
        return;
    }
    let out = bin().arg("capture").arg(mnt.join("tree")).output().unwrap();
    let listed: Vec<_> = std::fs::read_dir(&mnt)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let remount = Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&mnt)
        .status();
    let retry = bin().arg("capture").arg(mnt.join("tree")).output().unwrap();
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(out.status.code(), Some(2));
    stderr_line(&out);
    assert!(listed.is_empty(), "left behind: {listed:?}");
    assert!(remount.unwrap().success());
    succeeded(&retry);
}

/// Item 5: A second `serve` on the same status path exits 2 within a second, and readers of the first
/// never see an empty or partial file.
#[test]
fn a_second_service_on_the_same_files_stops_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let serve = || {
        Command::new(bin_path())
            .arg("--root")
            .arg(fixture("intel-vtx"))
            .args(["serve", "--interval", "20ms", "--status"])
            .arg(&status)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = serve();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !status.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let reader = {
        let status = status.clone();
        std::thread::spawn(move || {
            let mut reads = 0;
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                let bytes = std::fs::read(&status).unwrap();
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .unwrap_or_else(|e| panic!("read {reads}: {e} ({} bytes)", bytes.len()));
                reads += 1;
            }
            reads
        })
    };
    let started = Instant::now();
    let second = serve().wait_with_output().unwrap();
    let took = started.elapsed();
    assert!(reader.join().unwrap() > 100);
    signal(&first, rustix::process::Signal::TERM);
    assert!(first.wait().unwrap().success());
    assert_eq!(second.status.code(), Some(2));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert!(stderr_line(&second).contains("another virtprobe serve"));
}

/// Item 6: An output that is a symlink, a FIFO or a device node is refused, never replaced.
#[test]
fn outputs_that_are_not_regular_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "keep me").unwrap();
    let link = dir.path().join("status.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("metrics.prom");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let mut cmd = bin();
    cmd.arg("--root").arg(fixture("intel-vtx"));
    cmd.args(["serve", "--cycles", "1", "--status"]).arg(&link);
    cmd.arg("--prometheus").arg(&fifo);
    // A device node of the test's own (the null device), never the system's /dev/null.
    let node = dir.path().join("features");
    if is_root() {
        let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
        // SAFETY: mknod with a valid path.
        let made = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
        assert_eq!(made, 0);
        cmd.arg("--nfd").arg(&node);
    }
    let out = cmd.timeout(Duration::from_secs(10)).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(&fifo).unwrap().file_type()
    ));
    if is_root() {
        let md = std::fs::symlink_metadata(&node).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_char_device(
            &md.file_type()
        ));
    }
}

/// Item 7: A data file that is a FIFO, /dev/zero or 70 MB: exit 2 within 2 s, in 100 MB; and a
/// SIGHUP reload with a FIFO neither freezes the service nor stops SIGTERM from working.
#[test]
fn hostile_data_files_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let big = dir.path().join("big.toml");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(70 * 1024 * 1024).unwrap();
    for data in [fifo.as_path(), Path::new("/dev/zero"), big.as_path()] {
        let started = Instant::now();
        let (code, err) = run_capped(
            Command::new(bin_path())
                .arg("--root")
                .arg(fixture("intel-vtx"))
                .arg("--data")
                .arg(data),
            100,
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{}",
            data.display()
        );
        assert_eq!(code, Some(2), "{}: {err}", data.display());
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }

    let good = dir.path().join("data.toml");
    std::fs::write(&good, virtprobe::rules::EMBEDDED).unwrap();
    let mut child = Command::new(bin_path())
        .arg("--root")
        .arg(fixture("intel-vtx"))
        .arg("--data")
        .arg(&good)
        .args(["serve", "--interval", "1h", "--status"])
        .arg(dir.path().join("status.json"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dir.path().join("status.json").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::remove_file(&good).unwrap();
    std::fs::rename(&fifo, &good).unwrap();
    signal(&child, rustix::process::Signal::HUP);
    std::thread::sleep(Duration::from_millis(300));
    signal(&child, rustix::process::Signal::TERM);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "SIGTERM ignored after a FIFO reload"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("not a regular file"), "{err}");
}

/// Item 8: An interval too large to add to a clock: exit 2, one line, no panic.
#[test]
fn huge_intervals_are_refused() {
    for interval in ["99999999999y", "18446744073709551615s", "0s"] {
        let out = bin()
            .args(["serve", "--cycles", "1", "--interval", interval])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{interval}");
        assert!(stderr_line(&out).contains("1ms to 1 year"), "{interval}");
    }
}

/// Item 9: As `nobody`, TUN and systemd-nspawn are not ready: that user cannot open /dev/net/tun (where
/// it is root's only) and nspawn needs root.
#[test]
fn verdicts_are_for_the_invoking_user() {
    if !is_root() {
        crate::util::skip!("skipped: this test drops from root to nobody");
        return;
    }
    let out = Command::new(bin_path())
        .arg("--json")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_ne!(tech(&v, "systemd-nspawn")["verdict"], "ready");
    let tun_mode = std::fs::metadata("/dev/net/tun").map(|m| m.permissions().mode() & 0o006);
    if tun_mode.is_ok_and(|m| m != 0o006) {
        assert_ne!(tech(&v, "tun")["verdict"], "ready", "{:#}", tech(&v, "tun"));
    }
    // Root with CAP_SYS_PTRACE is not told it needs CAP_SYS_PTRACE.
    let root: serde_json::Value =
        serde_json::from_slice(&bin().arg("--json").output().unwrap().stdout).unwrap();
    assert!(
        !root["needs_privilege"]
            .to_string()
            .contains("needs CAP_SYS_PTRACE")
    );
}

/// Item 10: Control and bidirectional characters from the host are shown escaped in text, exact in JSON.
#[test]
fn host_text_cannot_forge_lines() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "proc/cpuinfo",
        "processor\t: 0\nvendor_id\t: Genuine\u{202e}letnI\nflags\t: fpu lm vmx\n".as_bytes(),
    );
    write(
        dir.path(),
        "proc/sys/kernel/osrelease",
        b"6.8.0\n  FORGED  ready  line",
    );
    let out = bin().arg("--root").arg(dir.path()).output().unwrap();
    succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("FORGED")),
        "{text}"
    );
    assert!(text.contains("6.8.0\\n FORGED"), "{text}");
    assert!(
        !text.contains('\u{202e}') && text.contains("\\u{202e}"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &bin()
            .arg("--root")
            .arg(dir.path())
            .arg("--json")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["host"]["cpu"]["vendor"], "Genuine\u{202e}letnI");
}

/// Item 11: Every data-file and capture error says its message once.
#[test]
fn errors_say_their_message_once() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "schema_version = 1\n[[technology]\nid = 1\n").unwrap();
    let not_empty = dir.path().join("full");
    write(&not_empty, "x", b"x");
    for (args, message) in [
        (
            vec!["--data".to_string(), bad.display().to_string()],
            "bad.toml:2:",
        ),
        (vec!["--data".into(), "/no/such.toml".into()], "cannot read"),
        (
            vec!["capture".into(), not_empty.display().to_string()],
            "exists and is not empty",
        ),
    ] {
        let out = bin().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr_line(&out);
        assert_eq!(err.matches(message).count(), 1, "{err}");
    }
}

/// Item 12: Deep PATH entries in a captured tree's live file do not slow a run down.
#[test]
fn deep_path_entries_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "proc/cpuinfo",
        b"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t: fpu lm vmx\n",
    );
    // 2,000 levels, made one at a time (the whole path is longer than PATH_MAX).
    let mut fd = rustix::fs::open(
        root,
        rustix::fs::OFlags::DIRECTORY,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    for _ in 0..2000 {
        rustix::fs::mkdirat(&fd, "d", rustix::fs::Mode::from_raw_mode(0o755)).unwrap();
        fd = rustix::fs::openat(
            &fd,
            "d",
            rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
    }
    let deep = "/d".repeat(2000);
    // Fifty spellings of the same folder, so that none is skipped as a repeat of another.
    let path: Vec<String> = (0..50)
        .map(|i| format!("{deep}{}", "/.".repeat(i)))
        .collect();
    let live = serde_json::json!({ "uname": null, "kvm": null, "user": null, "path": path });
    write(root, "virtprobe-live.json", live.to_string().as_bytes());
    let started = Instant::now();
    let out = bin()
        .arg("--root")
        .arg(root)
        .arg("--json")
        .output()
        .unwrap();
    succeeded(&out);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
}
