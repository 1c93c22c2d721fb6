//! The systemd units: `systemd-analyze verify` and `security`, and an end-to-end run under a real
//! systemd booted with systemd-nspawn in a minimal Debian tree (root only; skips elsewhere).
//!
//! The Debian tree is made once with `debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus
//! bookworm` and cached outside the clone (`VIRTPROBE_NSPAWN_CACHE`, default
//! /var/cache/virtprobe-test/bookworm); each run boots a copy of it.

use crate::util::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const UNITS: [&str; 1] = ["virtprobe.service"];

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

/// The binary to install: the one `VIRTPROBE_TEST_BIN` names, else the release build beside this
/// test's debug build when it is there (CI builds it), else this test's.
fn binary() -> PathBuf {
    if let Some(p) = bin_override() {
        return p;
    }
    let this = PathBuf::from(env!("CARGO_BIN_EXE_virtprobe"));
    let release = this
        .parent()
        .and_then(Path::parent)
        .map(|target| target.join("release/virtprobe"));
    match release {
        Some(r) if r.exists() => r,
        _ => this,
    }
}

#[test]
fn units_score_and_verify() {
    if !have("systemd-analyze") {
        crate::util::skip!("skipped: systemd-analyze not installed");
        return;
    }
    for unit in UNITS {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true"])
            .arg(units_dir().join(unit))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let score: f64 = text
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no score for {unit}: {text}"));
        println!("{unit}: exposure {score}");
        assert!(score <= 1.5, "{unit} scores {score}");
    }
    // verify needs the unit's executables and the system units beside them: a scratch root.
    let Ok(system) = std::fs::read_dir("/usr/lib/systemd/system") else {
        crate::util::skip!("skipped verify: no /usr/lib/systemd/system here");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    for d in [
        "usr/lib/systemd/system",
        "etc/systemd/system",
        "usr/bin",
        "bin",
    ] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    for e in system.flatten() {
        if e.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::copy(
                e.path(),
                r.join("usr/lib/systemd/system").join(e.file_name()),
            );
        }
    }
    std::fs::copy(binary(), r.join("usr/bin/virtprobe")).unwrap();
    std::fs::copy("/bin/sh", r.join("bin/sh")).unwrap();
    for u in UNITS {
        std::fs::copy(units_dir().join(u), r.join("etc/systemd/system").join(u)).unwrap();
    }
    // verify runs `man` on each Documentation= page: give it the pages the package installs.
    let man1 = r.join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    let pages = Command::new(binary())
        .args(["manpage", "--list"])
        .output()
        .unwrap();
    for page in String::from_utf8_lossy(&pages.stdout).lines() {
        let out = Command::new(binary())
            .args(["manpage", page])
            .output()
            .unwrap();
        std::fs::write(man1.join(format!("{page}.1")), out.stdout).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .args(UNITS)
        .env("MANPATH", format!("{}:", r.join("man").display()))
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && all.trim().is_empty(),
        "systemd-analyze verify: {all}"
    );
}

struct Booted {
    child: Child,
    pid1: u32,
    tree: tempfile::TempDir,
    /// One booted container at a time: two systemd instances starting and stopping side by side
    /// on two cores made `systemctl` calls of the other test fail.
    _one_at_a_time: std::sync::MutexGuard<'static, ()>,
}

static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Booted {
    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("nsenter")
            .args(["-t", &self.pid1.to_string(), "-m", "-u", "-i", "-n", "-p"])
            .args(args)
            .output()
            .unwrap()
    }
    fn stdout(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.run(args).stdout)
            .trim()
            .to_string()
    }
    fn show(&self, unit: &str, prop: &str) -> String {
        self.stdout(&["systemctl", "show", "-P", prop, unit])
    }
    fn wait_for(&self, what: &str, mut ok: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if ok(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let journal = self.stdout(&["journalctl", "--no-pager", "-n", "60"]);
        panic!("timed out waiting for {what}\n{journal}");
    }
    fn status(&self) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.tree.path().join("var/lib/virtprobe/status.json")).ok()?;
        Some(serde_json::from_slice(&bytes).expect("status.json is valid JSON"))
    }
}

impl Drop for Booted {
    fn drop(&mut self) {
        let _ = self.run(&["systemctl", "poweroff"]);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Debian package `cargo deb` built, if there is one (the newest).
pub fn debian_package() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debian");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
}

fn debian_tree() -> Option<PathBuf> {
    let cache = std::env::var_os("VIRTPROBE_NSPAWN_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/virtprobe-test/bookworm"));
    if cache.join("usr/lib/systemd/systemd").exists() {
        return Some(cache);
    }
    if !have("debootstrap") {
        crate::util::skip!(
            "skipped: no cached Debian tree at {} and no debootstrap",
            cache.display()
        );
        return None;
    }
    let tmp = cache.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(cache.parent().unwrap()).ok()?;
    let ok = Command::new("debootstrap")
        .args([
            "--variant=minbase",
            "--include=systemd,systemd-sysv,dbus",
            "bookworm",
        ])
        .arg(&tmp)
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        crate::util::skip!("skipped: debootstrap failed (no network to Debian's mirror?)");
        let _ = std::fs::remove_dir_all(&tmp);
        return None;
    }
    std::fs::rename(&tmp, &cache).ok()?;
    Some(cache)
}

fn boot() -> Option<Booted> {
    if !is_root() {
        crate::util::skip!("skipped: systemd-nspawn needs root");
        return None;
    }
    if !have("systemd-nspawn") || !have("nsenter") {
        crate::util::skip!("skipped: systemd-nspawn or nsenter not installed");
        return None;
    }
    if !Path::new("/dev/kvm").exists() {
        crate::util::skip!("skipped: no /dev/kvm to pass into the container");
        return None;
    }
    let cache = debian_tree()?;
    let serial = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let tree = tempfile::Builder::new()
        .prefix("virtprobe-nspawn.")
        .tempdir_in("/var/tmp")
        .unwrap();
    let t = tree.path().to_path_buf();
    assert!(
        Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", cache.display()))
            .arg(&t)
            .status()
            .unwrap()
            .success()
    );
    // Install the package (CI builds it), or else the binary, the units and the sysusers file;
    // then enable the service.
    let unit_dir = match debian_package() {
        Some(deb) => {
            std::fs::copy(&deb, t.join("tmp/virtprobe.deb")).unwrap();
            let out = Command::new("chroot")
                .arg(&t)
                .args(["dpkg", "-i", "/tmp/virtprobe.deb"])
                .output()
                .unwrap();
            succeeded(&out);
            println!("installed {}", deb.display());
            "/usr/lib/systemd/system"
        }
        None => {
            std::fs::copy(binary(), t.join("usr/bin/virtprobe")).unwrap();
            for u in UNITS {
                std::fs::copy(units_dir().join(u), t.join("etc/systemd/system").join(u)).unwrap();
            }
            std::fs::copy(
                units_dir().join("sysusers.d/virtprobe.conf"),
                t.join("usr/lib/sysusers.d/virtprobe.conf"),
            )
            .unwrap();
            "/etc/systemd/system"
        }
    };
    let wants = t.join("etc/systemd/system/multi-user.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    let _ = std::os::unix::fs::symlink(
        format!("{unit_dir}/virtprobe.service"),
        wants.join("virtprobe.service"),
    );
    // A data file the service reads, so `systemctl reload` has something to re-read.
    std::fs::create_dir_all(t.join("etc/virtprobe")).unwrap();
    std::fs::write(
        t.join("etc/virtprobe/technologies.toml"),
        virtprobe::rules::EMBEDDED,
    )
    .unwrap();
    let dropin = t.join("etc/systemd/system/virtprobe.service.d");
    std::fs::create_dir_all(&dropin).unwrap();
    std::fs::write(
        dropin.join("test.conf"),
        "[Service]\nExecStart=\nExecStart=/usr/bin/virtprobe --data /etc/virtprobe/technologies.toml serve --status /var/lib/virtprobe/status.json\nEnvironment=VIRTPROBE_LOG=debug\n",
    )
    .unwrap();
    // The users exist before boot (as systemd-sysusers makes them at boot), so the device node
    // passed in can belong to the tree's kvm group: a node of our own, not the host's /dev/kvm.
    assert!(
        Command::new("systemd-sysusers")
            .arg(format!("--root={}", t.display()))
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let group = std::fs::read_to_string(t.join("etc/group")).unwrap();
    let gid: u32 = group
        .lines()
        .find_map(|l| l.strip_prefix("kvm:x:"))
        .and_then(|r| r.split(':').next())
        .and_then(|g| g.parse().ok())
        .expect("kvm group");
    let node = t.join("kvm-node");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: mknod/chown/chmod on a path we own, with valid arguments.
    unsafe {
        assert_eq!(
            libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o660, libc::makedev(10, 232)),
            0
        );
        assert_eq!(libc::chown(c.as_ptr(), 0, gid), 0);
        assert_eq!(libc::chmod(c.as_ptr(), 0o660), 0);
    }
    let child = Command::new("systemd-nspawn")
        .arg("-D")
        .arg(&t)
        .args(["--boot", "--register=no", "--keep-unit", "--quiet"])
        .arg(format!("--bind={}:/dev/kvm", node.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let nspawn = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut pid1 = None;
    while pid1.is_none() && Instant::now() < deadline {
        pid1 = std::fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children"))
            .ok()
            .and_then(|c| c.split_whitespace().next().and_then(|p| p.parse().ok()));
        std::thread::sleep(Duration::from_millis(100));
    }
    let Some(pid1) = pid1 else {
        crate::util::skip!("skipped: systemd-nspawn did not start a container here");
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        return None;
    };
    let b = Booted {
        child,
        pid1,
        tree,
        _one_at_a_time: serial,
    };
    b.wait_for("boot", |b| {
        matches!(
            b.stdout(&["systemctl", "is-system-running"]).as_str(),
            "running" | "degraded"
        )
    });
    Some(b)
}

#[test]
fn units_run_under_real_systemd() {
    let Some(b) = boot() else { return };
    // Active (running) through READY=1 (Type=notify).
    b.wait_for("virtprobe.service active", |b| {
        b.show("virtprobe.service", "SubState") == "running"
    });
    assert_eq!(b.show("virtprobe.service", "Type"), "notify");
    assert!(
        b.show("virtprobe.service", "StatusText").contains("ready"),
        "{}",
        b.show("virtprobe.service", "StatusText")
    );
    // The status file is there, valid, and the hardening did not blind the probe: KVM is ready.
    b.wait_for("status.json", |b| b.status().is_some());
    let status = b.status().unwrap();
    let kvm = tech(&status, "kvm");
    assert_eq!(kvm["verdict"], "ready", "{:#}", status["host"]["kvm"]);
    assert!(
        status["host"]["cpu"]["flags"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "cpuinfo hidden"
    );
    // Killed with SIGKILL, it is restarted.
    let pid = b.show("virtprobe.service", "MainPID");
    let kill = b.run(&["systemctl", "kill", "-s", "KILL", "virtprobe.service"]);
    assert!(
        kill.status.success(),
        "systemctl kill: {}",
        String::from_utf8_lossy(&kill.stderr)
    );
    b.wait_for("restart after SIGKILL", |b| {
        b.show("virtprobe.service", "NRestarts") == "1"
            && b.show("virtprobe.service", "SubState") == "running"
            && b.show("virtprobe.service", "MainPID") != pid
    });
    // An edit of the data file is seen at once, without a reload: change KVM's ready line and
    // see it in the status (the interval is an hour).
    b.wait_for("status after restart", |b| {
        b.status().is_some_and(|s| s["service"]["probes"] == 1)
    });
    let data = b.tree.path().join("etc/virtprobe/technologies.toml");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&data).unwrap();
        assert!(text.contains(from), "the table has no {from:?}");
        std::fs::write(&data, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "this user opened /dev/kvm and",
        "this user opened /dev/kvm (edited table) and",
    );
    b.wait_for("edited table in the status", |b| {
        b.status()
            .is_some_and(|s| s.to_string().contains("/dev/kvm (edited table)"))
    });
    // `systemctl reload` re-reads it too.
    edit("/dev/kvm (edited table)", "/dev/kvm (reloaded table)");
    let out = b.run(&["systemctl", "reload", "virtprobe.service"]);
    assert!(
        out.status.success(),
        "reload: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    b.wait_for("reloaded table in the status", |b| {
        b.status()
            .is_some_and(|s| s.to_string().contains("/dev/kvm (reloaded table)"))
    });
    assert_eq!(b.show("virtprobe.service", "SubState"), "running");
    // The device's mode changes: seen at once, with the fact behind it in the history.
    assert!(b.run(&["chmod", "0600", "/dev/kvm"]).status.success());
    b.wait_for("kvm no longer ready, with a change naming kvm.open", |b| {
        b.status().is_some_and(|s| {
            tech(&s, "kvm")["verdict"] != "ready"
                && s["changes"].as_array().is_some_and(|c| {
                    c.iter().any(|c| {
                        c["technology"] == "kvm" && c["because"].to_string().contains("kvm.open")
                    })
                })
        })
    });
    assert_eq!(b.show("virtprobe.service", "SubState"), "running");
}

/// A fix really run: in the booted Debian tree, `virtprobe fix systemd-nspawn` prints a script
/// that installs systemd-container; run (twice: it is safe to run again), it turns the verdict
/// ready. Needs Debian's package registry from the container (skips, saying so, where it cannot be
/// reached).
#[test]
fn a_fix_run_in_debian_turns_the_verdict_ready() {
    let Some(b) = boot() else { return };
    let check = |b: &Booted| b.run(&["virtprobe", "check", "systemd-nspawn"]);
    let before = check(&b);
    assert_eq!(
        before.status.code(),
        Some(1),
        "systemd-nspawn should not be ready before the fix: {}",
        String::from_utf8_lossy(&before.stdout)
    );
    let update = b.run(&["apt-get", "update", "-qq"]);
    if !update.status.success() {
        crate::util::skip!(
            "skipped: Debian's package registry cannot be reached from the container: {}",
            String::from_utf8_lossy(&update.stderr).trim()
        );
        return;
    }
    let script = b.run(&["virtprobe", "fix", "systemd-nspawn"]);
    succeeded(&script);
    let text = String::from_utf8(script.stdout).unwrap();
    assert!(
        text.contains("apt-get install -y systemd-container"),
        "{text}"
    );
    std::fs::write(b.tree.path().join("root/fix.sh"), &text).unwrap();
    for round in ["first", "second"] {
        let run = b.run(&[
            "env",
            "DEBIAN_FRONTEND=noninteractive",
            "sh",
            "/root/fix.sh",
        ]);
        assert!(
            run.status.success(),
            "{round} run of the fix failed:\n{}\n{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let after = check(&b);
    assert_eq!(
        after.status.code(),
        Some(0),
        "after the fix: {}",
        String::from_utf8_lossy(&after.stdout)
    );
}

/// The package in a booted Debian: removing it stops the service and leaves it neither enabled
/// nor running; installing it again (systemd now running) enables and starts it, as Debian's own
/// service packages do; purging it forgets the unit. Needs the package (CI builds it).
#[test]
fn the_package_enables_on_install_and_stops_on_remove() {
    let Some(deb) = debian_package() else {
        crate::util::skip!("skipped: no target/debian/*.deb (CI builds it with cargo deb)");
        return;
    };
    let Some(b) = boot() else { return };
    // (The booted tree's /tmp is a fresh tmpfs.)
    std::fs::copy(&deb, b.tree.path().join("root/virtprobe.deb")).unwrap();
    let dpkg = |args: &[&str]| {
        let out = b.run(&[&["env", "DEBIAN_FRONTEND=noninteractive", "dpkg"], args].concat());
        succeeded(&out);
    };
    let state = |b: &Booted| {
        (
            b.stdout(&["systemctl", "is-enabled", "virtprobe.service"]),
            b.stdout(&["systemctl", "is-active", "virtprobe.service"]),
        )
    };
    b.wait_for("the installed service running", |b| {
        b.show("virtprobe.service", "SubState") == "running"
    });
    dpkg(&["-r", "virtprobe"]);
    let (enabled, active) = state(&b);
    assert_ne!(enabled, "enabled", "enabled after dpkg -r");
    assert_ne!(active, "active", "running after dpkg -r");
    assert!(!b.tree.path().join("usr/bin/virtprobe").exists());
    dpkg(&["-i", "/root/virtprobe.deb"]);
    b.wait_for("the reinstalled service enabled and running", |b| {
        state(b) == ("enabled".to_string(), "active".to_string())
    });
    dpkg(&["-r", "virtprobe"]);
    let (enabled, active) = state(&b);
    assert_ne!(enabled, "enabled", "enabled after the second dpkg -r");
    assert_ne!(active, "active", "running after the second dpkg -r");
    dpkg(&["--purge", "virtprobe"]);
    let wants = b
        .tree
        .path()
        .join("etc/systemd/system/multi-user.target.wants/virtprobe.service");
    assert!(
        std::fs::symlink_metadata(&wants).is_err(),
        "purge left {}",
        wants.display()
    );
    assert!(!b.tree.path().join("var/lib/virtprobe").exists());
    let (enabled, _) = state(&b);
    assert_ne!(enabled, "enabled", "enabled after purge");
}
