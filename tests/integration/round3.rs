//! Hardening, round three: one test per item of the campaign (writes that follow links, inputs
//! that cost more than their size, a local user silencing the service, faults injected into
//! system calls with strace's `-e inject`). Each builds the hostile tree, race or fault it names.
//! Tests that need root, /dev/kvm or strace say so and skip elsewhere.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::util::*;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn json(out: &Output) -> serde_json::Value {
    succeeded(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn errors(v: &serde_json::Value) -> String {
    v["errors"].to_string()
}

/// Wait for a child at most `limit`; kill it past that. Its exit code, `None` when killed.
fn wait_at_most(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A copy of a fixture in a folder `nobody` can reach.
fn tree_for_nobody(dir: &Path) -> PathBuf {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    tree_copy("intel-vtx", dir)
}

/// `virtprobe --root TREE --json`, parsed.
fn judged(tree: &Path) -> serde_json::Value {
    json(
        &bin()
            .arg("--root")
            .arg(tree)
            .arg("--json")
            .output()
            .unwrap(),
    )
}

/// `virtprobe --root TREE --json` as `nobody`, parsed.
fn judged_as_nobody(tree: &Path) -> serde_json::Value {
    let out = Command::new(bin_path())
        .arg("--root")
        .arg(tree)
        .arg("--json")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    json(&out)
}

fn needs_root(what: &str) -> bool {
    if !is_root() {
        crate::util::skip!("skipped: {what} needs root");
    }
    is_root()
}

fn needs_strace() -> bool {
    if !have("strace") {
        crate::util::skip!("skipped: strace is not installed");
    }
    have("strace")
}

/// `strace -f -o /dev/null ARGS… virtprobe`.
fn straced(args: &[&str]) -> Command {
    let mut c = Command::new("strace");
    c.args(["-f", "-o", "/dev/null"]).args(args).arg(bin_path());
    c
}

/// Item 1: `capture` makes its temporary folder 0700 whatever the umask, and creates everything
/// inside through descriptors: a racer planting symlinks into it, hundreds of rounds, never gets
/// a file written through them.
#[test]
fn capture_never_writes_through_a_planted_symlink() {
    if !needs_root("planting into root's capture folder") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let victim = dir.path().join("victim");
    std::fs::create_dir(&victim).unwrap();
    // The attacker: another user, planting links into every capture folder it can reach.
    let script = format!(
        "while :; do for d in {0}/.virtprobe-capture.*; do \
           ln -s {1} \"$d/proc\" 2>/dev/null; ln -s {1}/live \"$d/virtprobe-live.json\" 2>/dev/null; \
           ln -s {1} \"$d/sys\" 2>/dev/null; done; done",
        shared.display(),
        victim.display()
    );
    let mut attacker = Command::new("sh")
        .arg("-c")
        .arg(script)
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    // An observer: the mode of every capture folder seen.
    let stop = Arc::new(AtomicBool::new(false));
    let modes = Arc::new(std::sync::Mutex::new(Vec::new()));
    let observer = {
        let (shared, stop, modes) = (shared.clone(), stop.clone(), modes.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for e in std::fs::read_dir(&shared).into_iter().flatten().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if name.starts_with(".virtprobe-capture.")
                        && let Ok(md) = std::fs::symlink_metadata(e.path())
                    {
                        modes.lock().unwrap().push(md.mode() & 0o777);
                    }
                }
            }
        })
    };
    let rounds = 200;
    let mut done = 0;
    for i in 0..rounds {
        let out = Command::new("sh")
            .arg("-c")
            .arg("umask 000; exec \"$0\" capture \"$1\"")
            .arg(bin_path())
            .arg(shared.join(format!("c{i}")))
            .output()
            .unwrap();
        assert_ne!(out.status.code(), Some(101), "{out:?}");
        done += usize::from(out.status.success());
    }
    assert!(
        done > rounds * 9 / 10,
        "{done} of {rounds} captures succeeded"
    );
    stop.store(true, Ordering::Relaxed);
    observer.join().unwrap();
    let _ = attacker.kill();
    let _ = attacker.wait();
    let written: Vec<_> = std::fs::read_dir(&victim).unwrap().collect();
    assert!(
        written.is_empty(),
        "written through a planted link: {written:?}"
    );
    let modes = modes.lock().unwrap();
    assert!(
        modes.iter().all(|m| *m == 0o700),
        "temporary folder modes {modes:?}"
    );
    eprintln!("{rounds} captures, {} folder modes seen", modes.len());
    for e in std::fs::read_dir(&shared).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with(".virtprobe-capture."), "left {name}");
        if let Ok(md) = std::fs::symlink_metadata(e.path())
            && md.is_dir()
        {
            assert_eq!(md.mode() & 0o777, 0o700, "{name}");
        }
    }
}

/// The depends bomb: `n` technologies, each depending on the two before it, with long fixes.
fn bomb(n: usize) -> String {
    let mut s = String::from("schema_version = 1\n");
    for i in 0..n {
        let deps: Vec<String> = [i.checked_sub(1), i.checked_sub(2)]
            .into_iter()
            .flatten()
            .map(|j| format!("\"t{j}\""))
            .collect();
        s += &format!(
            r#"[[technology]]
id = "t{i}"
name = "T{i}"
category = "emulator"
status = "maintained"
performance_rank = 3
ready = "ok"
depends = [{}]
[technology.table]
full_virt = "yes"
paravirt = ""
containers = ""
license = "GPL"
architectures = "all"
performance = "slow"
smp_guests = ""
hotplug = ""
standalone_host = ""
notes = ""
[[technology.requires]]
id = "arch"
class = "host-change"
why = "{}"
fix = "fix {i} {}"
test = {{ fact = "arch", in = ["nope"] }}
"#,
            deps.join(", "),
            "w".repeat(200),
            "f".repeat(2000)
        );
    }
    s
}

/// Item 2: judging shares a dependency by reference: the report of a table where each technology
/// depends on the two before it grows linearly with the table (twice the table, at most about
/// twice the report), where copying along every path made it grow without bound.
#[test]
fn judging_is_linear_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let size = |n: usize| {
        let p = dir.path().join(format!("bomb{n}.toml"));
        std::fs::write(&p, bomb(n)).unwrap();
        let out = bin()
            .arg("--root")
            .arg(fixture("intel-vtx"))
            .arg("--data")
            .arg(&p)
            .arg("--json")
            .output()
            .unwrap();
        succeeded(&out);
        out.stdout.len() as f64
    };
    let (small, large) = (size(30), size(60));
    let ratio = large / small;
    assert!(
        ratio < 2.2,
        "30 → 60 technologies: report {small} → {large} bytes ({ratio:.2}×)"
    );
}

/// Item 3: wrapping is linear in the length of a word: a 1.6 MB CPU model name and a 100 KB
/// `--guest-arch` print (the quadratic wrap took 86 s and 12 s; the bound here only tells a
/// hang from a run).
#[test]
fn a_huge_word_wraps_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_copy("intel-vtx", dir.path());
    let cpuinfo = std::fs::read_to_string(tree.join("proc/cpuinfo")).unwrap();
    let word = "M".repeat(1_600_000);
    let forged: String = cpuinfo
        .lines()
        .map(|l| {
            if l.starts_with("model name") {
                format!("model name\t: {word}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(tree.join("proc/cpuinfo"), forged).unwrap();
    let mut child = Command::new(bin_path())
        .arg("--root")
        .arg(&tree)
        .arg("--all")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(wait_at_most(&mut child, Duration::from_secs(20)), Some(0));
    let arch = "a".repeat(100_000);
    let mut child = Command::new(bin_path())
        .args(["--root"])
        .arg(fixture("intel-vtx"))
        .args(["advise", "--guest-arch", &arch])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_at_most(&mut child, Duration::from_secs(20)).is_some());
}

/// `virtprobe serve` writing into `status_dir`, its lock in `run`.
fn serve(run: &Path, status_dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin_path());
    c.env("RUNTIME_DIRECTORY", run)
        .args(["--root"])
        .arg(fixture("intel-vtx"))
        .arg("serve")
        .arg("--status")
        .arg(status_dir.join("status.json"))
        .args(args);
    c
}

/// Item 4: a user who can read the status folder cannot stop the service: its lock is in a folder
/// only the service's user can open, so `flock` on the status folder as `nobody` changes nothing.
#[test]
fn another_user_cannot_take_the_lock() {
    if !needs_root("dropping to nobody") || !have("flock") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let status = dir.path().join("status");
    std::fs::create_dir(&status).unwrap();
    let mut holder = Command::new("flock")
        .arg("-n")
        .arg(&status)
        .args(["sleep", "30"])
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let run = dir.path().join("run");
    let out = serve(&run, &status, &["--interval", "50ms", "--cycles", "2"])
        .output()
        .unwrap();
    let _ = holder.kill();
    let _ = holder.wait();
    succeeded(&out);
    assert!(status.join("status.json").is_file());
    let mode = std::fs::metadata(&run).unwrap().mode() & 0o777;
    assert_eq!(mode, 0o700, "the lock's folder");
    // Nor can nobody open the lock file itself.
    let lock = std::fs::read_dir(&run)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let as_nobody = Command::new("flock")
        .arg("-n")
        .arg(&lock)
        .arg("true")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap();
    assert!(!as_nobody.status.success());
}

/// Item 5: `health` opens the status once, without following a link or waiting on a FIFO: with
/// its stat of the file slowed down (strace), a symlink to /dev/zero or a FIFO swapped in right
/// after the file was looked at is never read; each check ends at once with the good file.
#[test]
fn health_reads_only_a_regular_file_bounded() {
    if !needs_strace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let good = format!(
        "{{\"generated_at\": \"{}\"}}\n",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
    );
    for swap in ["symlink", "fifo"] {
        std::fs::write(&status, &good).unwrap();
        let mut child = straced(&["-e", "trace=statx", "-e", "inject=statx:delay_exit=400000"])
            .arg("health")
            .arg("--status")
            .arg(&status)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let staged = dir.path().join("staged");
        if swap == "symlink" {
            std::os::unix::fs::symlink("/dev/zero", &staged).unwrap();
        } else {
            assert!(
                Command::new("mkfifo")
                    .arg(&staged)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        std::fs::rename(&staged, &status).unwrap();
        let code = wait_at_most(&mut child, Duration::from_secs(20));
        assert!(
            matches!(code, Some(0 | 1)),
            "{swap}: health ended with {code:?}"
        );
    }
}

/// Item 6: an output is never replaced unless it is a regular file, even when a device node is
/// raced onto its path while the service writes (hundreds of rounds).
#[test]
fn a_device_raced_onto_an_output_is_never_replaced() {
    if !needs_root("mknod") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let run = dir.path().join("run");
    let mut child = serve(
        &run,
        dir.path(),
        &["--interval", "1ms", "--cycles", "100000"],
    )
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    while !status.exists() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mut rounds, mut destroyed) = (0, 0);
    let staged = dir.path().join("staged");
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until || rounds < 300 {
        let _ = std::fs::remove_file(&staged);
        let made = Command::new("mknod")
            .arg(&staged)
            .args(["c", "1", "3"])
            .status()
            .unwrap();
        assert!(made.success());
        let ino = std::fs::symlink_metadata(&staged).unwrap().ino();
        if std::fs::rename(&staged, &status).is_err() {
            continue;
        }
        rounds += 1;
        std::thread::sleep(Duration::from_millis(2));
        // The device stands at the path again within a moment (the writer that met it swapped it
        // back), or it was destroyed.
        let back = (0..100).any(|_| {
            let md = std::fs::symlink_metadata(&status);
            let ok = md.is_ok_and(|m| m.file_type().is_char_device() && m.ino() == ino);
            if !ok {
                std::thread::sleep(Duration::from_millis(1));
            }
            ok
        });
        destroyed += usize::from(!back);
        let _ = std::fs::remove_file(&status);
        std::thread::sleep(Duration::from_millis(3));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        destroyed, 0,
        "{destroyed} of {rounds} device nodes replaced"
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.len() <= 1, "temporary files left: {left:?}");
}

/// Item 7: removing and recreating the status folder does not let a second writer start.
#[test]
fn a_recreated_status_folder_keeps_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status");
    std::fs::create_dir(&status).unwrap();
    let run = dir.path().join("run");
    let mut first = serve(&run, &status, &["--interval", "100ms"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while !status.join("status.json").exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::fs::remove_dir_all(&status).unwrap();
    std::fs::create_dir(&status).unwrap();
    let second = serve(&run, &status, &["--cycles", "1"]).output().unwrap();
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(2), "{second:?}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another virtprobe serve"), "{err}");
}

/// Item 8: the service removes the temporary files a killed run left (kill -9 while writing),
/// and `capture` removes its temporary folder on SIGTERM.
#[test]
fn nothing_temporary_outlives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // One left as a `kill -9` leaves it, besides those the kills below leave.
    write(
        dir.path(),
        ".virtprobe.status.json.0123456789abcdef.tmp",
        b"{",
    );
    for i in 0..20 {
        let mut child = serve(&run, dir.path(), &["--interval", "1ms"])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + 7 * i));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    succeeded(
        &serve(&run, dir.path(), &["--cycles", "1"])
            .output()
            .unwrap(),
    );
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // capture, stopped by SIGTERM at several moments.
    let mut stopped = 0;
    for (i, ms) in [0u64, 2, 5, 10, 20, 40, 80].into_iter().enumerate() {
        let dest = dir.path().join(format!("cap{i}"));
        let mut child = Command::new(bin_path())
            .arg("capture")
            .arg(&dest)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        signal(&child, rustix::process::Signal::TERM);
        let status = child.wait().unwrap();
        stopped += usize::from(!status.success());
        assert!(
            status.success() == dest.exists(),
            "a whole capture or nothing"
        );
    }
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".virtprobe-capture."))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    eprintln!("{stopped} of 7 captures stopped by SIGTERM");
}

/// Item 9: a folder listing that would stop at its bound says so in `errors`, naming the
/// folder, and what it would have left out is not judged absent.
#[test]
fn a_listing_past_its_bound_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_copy("intel-vtx", dir.path());
    let module = tree.join("sys/module");
    std::fs::create_dir_all(&module).unwrap();
    for i in 0..=virtprobe::host::MAX_ENTRIES {
        std::fs::File::create(module.join(format!("m{i:06}"))).unwrap();
    }
    let v = judged(&tree);
    let e = errors(&v);
    assert!(e.contains("/sys/module: more than 100000 entries"), "{e}");
}

/// Item 10: a file the invoking user may not read makes its fact unknown, never "absent":
/// `/proc/self/status` mode 000 in a tree, read as `nobody`.
#[test]
fn permission_denied_is_unknown_not_absent() {
    if !needs_root("dropping to nobody") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_for_nobody(dir.path());
    write(&tree, "proc/self/status", b"Name:\tbash\nVxID:\t0\n");
    std::fs::set_permissions(
        tree.join("proc/self/status"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let v = judged_as_nobody(&tree);
    let vs = tech(&v, "linux-vserver");
    assert_eq!(vs["verdict"], "unknown", "{vs:#}");
    assert!(errors(&v).contains("/proc/self/status: permission denied"));
}

/// Item 11: every output escapes every control character: Prometheus label values as the format
/// allows, NFD lines with nothing from the host but label characters.
#[test]
fn outputs_escape_every_control_character() {
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_copy("intel-vtx", dir.path());
    let live = tree.join("virtprobe-live.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&live).unwrap()).unwrap();
    v["uname"]["release"] = "6.8\r\t\u{1b}[31m\0=x\ny \"q\" \\".into();
    std::fs::write(&live, serde_json::to_vec(&v).unwrap()).unwrap();
    let run = |format: &str| {
        let out = bin()
            .arg("--root")
            .arg(&tree)
            .args(["--format", format])
            .output()
            .unwrap();
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let prom = run("prometheus");
    assert!(
        !prom.chars().any(|c| c.is_control() && c != '\n'),
        "raw control character in {prom:?}"
    );
    assert!(
        prom.contains(r#"kernel="6.8\\u{d}\\u{9}\\u{1b}[31m\\u{0}=x\ny \"q\" \\""#),
        "{prom}"
    );
    if have("promtool") {
        let p = dir.path().join("m.prom");
        std::fs::write(&p, &prom).unwrap();
        let check = Command::new("sh")
            .arg("-c")
            .arg("promtool check metrics < \"$0\"")
            .arg(&p)
            .output()
            .unwrap();
        assert!(check.status.success(), "{check:?}");
    }
    for line in run("nfd").lines() {
        let ok = line.starts_with('#')
            || line.split_once('=').is_some_and(|(k, val)| {
                k.starts_with("virtprobe.io/")
                    && val
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        assert!(ok, "{line:?}");
    }
}

/// Item 12: each message once, naming the real cause; arguments escaped.
#[test]
fn each_message_once_and_the_real_cause() {
    // The status folder missing: said per probe, but never "cannot lock" (the lock is elsewhere).
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let out = serve(&run, &dir.path().join("missing"), &["--cycles", "1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        err.matches("cannot write the status file").count(),
        1,
        "{err}"
    );
    assert!(!err.contains("cannot lock"), "{err}");
    // The root vanishing: the exit message blames the root, not the outputs.
    let tree = tree_copy("intel-vtx", dir.path());
    let mut c = Command::new(bin_path());
    c.env("RUNTIME_DIRECTORY", &run)
        .arg("--root")
        .arg(&tree)
        .arg("serve")
        .arg("--status")
        .arg(dir.path().join("s.json"))
        .args(["--interval", "300ms", "--cycles", "2"])
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    while !dir.path().join("s.json").exists() {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_dir_all(&tree).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(last.contains("--root") && !last.contains("output"), "{err}");
    // An argument's control characters are escaped in the message.
    let out = bin()
        .arg("--root")
        .arg("/nonexistent\u{1b}[31m\rforged")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}') && !err.contains('\r'), "{err:?}");
    assert!(err.contains("\\u{1b}"), "{err:?}");
}

/// Item 12, the tree half: a tree whose /dev cannot be searched does not say "the kernel has no
/// TUN/TAP".
#[test]
fn an_unreadable_tree_is_not_a_missing_feature() {
    if !needs_root("dropping to nobody") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tree = tree_for_nobody(dir.path());
    std::fs::set_permissions(tree.join("dev"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let v = judged_as_nobody(&tree);
    let tun = tech(&v, "tun");
    assert!(
        !tun["summary"].as_str().unwrap().contains("no TUN/TAP"),
        "{tun:#}"
    );
    assert!(errors(&v).contains("permission denied"), "{}", errors(&v));
}

/// Item 13: a failed write to standard output or error never panics: an error on stdout is exit
/// 2, a last message on a full stderr is dropped.
#[test]
fn a_full_stdout_or_stderr_never_panics() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let code = |mut c: Command| c.output().unwrap().status.code();
    let mut c = Command::new(bin_path());
    c.args(["--root", "/nonexistent"]).stderr(full());
    assert_eq!(code(c), Some(2));
    let mut c = Command::new(bin_path());
    c.arg("list").stdout(full());
    assert_eq!(code(c), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let mut c = Command::new(bin_path());
    c.arg("capture").arg(dir.path().join("t")).stderr(full());
    assert_eq!(code(c), Some(0));
    let mut c = serve(&dir.path().join("run"), dir.path(), &["--cycles", "1"]);
    c.env("VIRTPROBE_LOG", "info").stderr(full());
    assert_eq!(code(c), Some(0));
}

/// Item 14: a KVM ioctl that fails with EINTR or EIO is in `errors` with its errno, and leaves
/// KVM unknown, never "cannot create a VM".
#[test]
fn a_failed_kvm_ioctl_is_unknown_with_its_errno() {
    if !needs_strace() || !std::path::Path::new("/dev/kvm").exists() {
        crate::util::skip!("skipped: needs strace and /dev/kvm");
        return;
    }
    for (call, errno, named) in [
        (2, "EINTR", "KVM_CREATE_VM: EINTR"),
        (1, "EIO", "KVM_GET_API_VERSION: EIO"),
    ] {
        let inject = format!("inject=ioctl:error={errno}:when={call}");
        let v = json(
            &straced(&["-P", "/dev/kvm", "-e", "trace=ioctl", "-e", &inject])
                .arg("--json")
                .output()
                .unwrap(),
        );
        assert!(errors(&v).contains(named), "{}", errors(&v));
        let kvm = tech(&v, "kvm");
        if kvm["verdict"] != "ready" {
            assert!(
                kvm["summary"].as_str().unwrap().starts_with("cannot tell"),
                "{kvm:#}"
            );
        }
        assert_ne!(kvm["verdict"], "ready");
    }
}

/// Item 15: `capture` records what it could not copy, says so, and exits non-zero unless told to
/// keep going; `--root` then judges it unreadable, not absent.
#[test]
fn capture_says_what_it_could_not_copy() {
    if !needs_strace() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let eio = [
        "-P",
        "/proc/cpuinfo",
        "-e",
        "trace=read",
        "-e",
        "inject=read:error=EIO",
    ];
    let out = straced(&eio)
        .arg("capture")
        .arg(dir.path().join("a"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("/proc/cpuinfo"));
    assert!(!dir.path().join("a").exists());
    let out = straced(&eio)
        .arg("capture")
        .arg("--keep-going")
        .arg(dir.path().join("b"))
        .output()
        .unwrap();
    succeeded(&out);
    assert!(String::from_utf8_lossy(&out.stderr).contains("not copied: /proc/cpuinfo"));
    let v = judged(&dir.path().join("b"));
    assert!(errors(&v).contains("/proc/cpuinfo"), "{}", errors(&v));
}

/// Item 16: a lookup that fails with EIO is not "absent": tools looked up with every stat failing
/// are unknown with the error listed, and a TUN open that fails with EIO is unknown.
#[test]
fn a_failed_lookup_is_unknown_not_absent() {
    if !needs_strace() {
        return;
    }
    // The dynamic loader's own stats come first (none in a static build); every lookup after
    // them fails.
    let trace = tempfile::NamedTempFile::new().unwrap();
    let out = Command::new("strace")
        .arg("-f")
        .arg("-o")
        .arg(trace.path())
        .args(["-e", "trace=newfstatat"])
        .arg(bin_path())
        .arg("--json")
        .output()
        .unwrap();
    succeeded(&out);
    let calls = std::fs::read_to_string(trace.path()).unwrap();
    let first = calls
        .lines()
        .position(|l| l.contains("AT_SYMLINK_NOFOLLOW"))
        .expect("the tools are looked up with fstatat")
        + 1;
    let inject = format!("inject=newfstatat:error=EIO:when={first}+");
    let v = json(
        &straced(&["-e", "trace=newfstatat", "-e", &inject])
            .arg("--json")
            .output()
            .unwrap(),
    );
    // One error per folder searched, not one per tool (the text is the C library's).
    let listed = v["errors"].as_array().unwrap();
    let eio = |e: &serde_json::Value| {
        let m = e["message"].as_str().unwrap_or("");
        m.contains("(os error 5)") || m.contains("Input/output error")
    };
    assert!(listed.iter().any(eio), "{listed:?}");
    assert!(listed.len() <= 20, "{} errors: {listed:?}", listed.len());
    let nspawn = tech(&v, "systemd-nspawn");
    assert_ne!(nspawn["verdict"], "ready", "{nspawn:#}");
    if std::path::Path::new("/dev/net/tun").exists() {
        let v = json(
            &straced(&[
                "-P",
                "/dev/net/tun",
                // glibc opens with openat, musl with open.
                "-e",
                "trace=open,openat",
                "-e",
                "inject=open,openat:error=EIO",
            ])
            .arg("--json")
            .output()
            .unwrap(),
        );
        assert!(
            errors(&v).contains("open /dev/net/tun: EIO"),
            "{}",
            errors(&v)
        );
        let tun = tech(&v, "tun");
        assert!(
            tun["summary"].as_str().unwrap().starts_with("cannot tell"),
            "{tun:#}"
        );
    }
}
