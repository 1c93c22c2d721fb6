//! Hostile input: every case must exit 0 with valid JSON, in bounded time and memory, with the
//! fact that could not be read listed in `errors`.

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::*;

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn base(root: &Path) {
    write(
        root,
        "proc/cpuinfo",
        b"processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu lm vmx\n",
    );
    write(root, "proc/sys/kernel/osrelease", b"6.8.0-48-generic\n");
}

fn max_rss_children_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

/// Run `--root DIR --json`: exit 0, valid JSON, under 3 s and 256 MiB. Returns the report.
fn judge(root: &Path) -> serde_json::Value {
    let started = Instant::now();
    let out = bin()
        .arg("--root")
        .arg(root)
        .arg("--json")
        .timeout(Duration::from_secs(10))
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(
        max_rss_children_kib() < 256 * 1024,
        "max RSS {} KiB",
        max_rss_children_kib()
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn errors(v: &serde_json::Value) -> String {
    v["errors"].to_string()
}

#[test]
fn cpuinfo_cases() {
    type Make = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Make)> = vec![
        ("empty", Box::new(|r: &Path| write(r, "proc/cpuinfo", b""))),
        (
            "binary garbage",
            Box::new(|r: &Path| {
                write(
                    r,
                    "proc/cpuinfo",
                    &(0..4096u32)
                        .map(|i| (i * 7919 % 251) as u8)
                        .collect::<Vec<_>>(),
                )
            }),
        ),
        (
            "non-UTF-8",
            Box::new(|r: &Path| {
                write(
                    r,
                    "proc/cpuinfo",
                    b"vendor_id\t: Genu\xffine\xfe\nflags\t: fpu \xc3\x28 vmx\n",
                )
            }),
        ),
        (
            "100 MB",
            Box::new(|r: &Path| {
                let f = std::fs::File::create(r.join("proc/cpuinfo")).unwrap();
                f.set_len(100 * 1024 * 1024).unwrap();
            }),
        ),
        (
            "a folder",
            Box::new(|r: &Path| {
                std::fs::remove_file(r.join("proc/cpuinfo")).unwrap();
                std::fs::create_dir(r.join("proc/cpuinfo")).unwrap();
            }),
        ),
        (
            "dangling symlink",
            Box::new(|r: &Path| {
                std::fs::remove_file(r.join("proc/cpuinfo")).unwrap();
                symlink("/proc/nothing-here", r.join("proc/cpuinfo")).unwrap();
            }),
        ),
        (
            "symlink loop",
            Box::new(|r: &Path| {
                std::fs::remove_file(r.join("proc/cpuinfo")).unwrap();
                symlink("cpuinfo2", r.join("proc/cpuinfo")).unwrap();
                symlink("cpuinfo", r.join("proc/cpuinfo2")).unwrap();
            }),
        ),
        (
            "a FIFO",
            Box::new(|r: &Path| {
                std::fs::remove_file(r.join("proc/cpuinfo")).unwrap();
                let c = std::ffi::CString::new(r.join("proc/cpuinfo").to_str().unwrap()).unwrap();
                // SAFETY: mkfifo with a valid path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
            }),
        ),
    ];
    for (name, make) in cases {
        let dir = tempfile::tempdir().unwrap();
        base(dir.path());
        make(dir.path());
        let v = judge(dir.path());
        assert!(
            errors(&v).contains("cpuinfo") || v["host"]["cpu"]["vendor"].is_string(),
            "{name}: {}",
            errors(&v)
        );
        if name != "non-UTF-8" {
            assert!(
                errors(&v).contains("/proc/cpuinfo"),
                "{name}: {}",
                errors(&v)
            );
        }
    }
}

#[test]
fn symlinks_never_leave_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    // The whole proc folder is an absolute link to the live /proc, and cpuinfo climbs out.
    symlink("/proc", r.join("proc")).unwrap();
    write(r, "etc/os-release", b"ID=tree\n");
    std::fs::create_dir_all(r.join("sys/class/dmi")).unwrap();
    symlink(
        "../../../../../../../../sys/class/dmi/id",
        r.join("sys/class/dmi/id"),
    )
    .unwrap();
    let v = judge(r);
    // Nothing of the machine running the test may appear.
    assert!(v["host"]["cpu"]["vendor"].is_null(), "{}", v["host"]);
    assert!(v["host"]["kernel"]["release"].is_null(), "{}", v["host"]);
    assert_eq!(v["host"]["virtualization"]["hypervisor"], "none");
}

#[test]
fn kernel_release_cases() {
    for release in [
        "6",
        "5.15.0-rc1+",
        "2.6.32-042stab",
        "",
        "garbage",
        "99999999999999999999.1.1",
        "\u{0}\u{1}",
    ] {
        let dir = tempfile::tempdir().unwrap();
        base(dir.path());
        write(dir.path(), "proc/sys/kernel/osrelease", release.as_bytes());
        let v = judge(dir.path());
        let version = &v["host"]["kernel"]["version"];
        match release {
            "6" => assert_eq!(*version, serde_json::json!([6, 0, 0])),
            "5.15.0-rc1+" => assert_eq!(*version, serde_json::json!([5, 15, 0])),
            "2.6.32-042stab" => assert_eq!(*version, serde_json::json!([2, 6, 32])),
            _ => {
                assert!(version.is_null(), "{release:?}: {version}");
                assert!(errors(&v).contains("kernel"), "{release:?}: {}", errors(&v));
            }
        }
    }
}

#[test]
fn kernel_config_cases() {
    // Not gzip at all.
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    write(dir.path(), "proc/config.gz", b"CONFIG_KVM=y\n");
    let v = judge(dir.path());
    assert!(errors(&v).contains("not a gzip file"), "{}", errors(&v));
    assert!(v["host"]["kernel"]["config_source"].is_null());
    // A gzip bomb: 200 MiB of zeros inflates past the bound.
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..200 {
        enc.write_all(&chunk).unwrap();
    }
    write(dir.path(), "proc/config.gz", &enc.finish().unwrap());
    let v = judge(dir.path());
    assert!(
        errors(&v).contains("inflates to more than"),
        "{}",
        errors(&v)
    );
    // Truncated gzip.
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(b"CONFIG_KVM=y\nCONFIG_NAMESPACES=y\n")
        .unwrap();
    let gz = enc.finish().unwrap();
    write(dir.path(), "proc/config.gz", &gz[..gz.len() / 2]);
    let v = judge(dir.path());
    assert!(errors(&v).contains("gzip"), "{}", errors(&v));
}

#[test]
fn garbage_platform_files() {
    let garbage: Vec<u8> = (0..2048u32).map(|i| (i * 31 % 256) as u8).collect();
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    base(r);
    for f in [
        "proc/sysinfo",
        "proc/ppc64/lparcfg",
        "proc/device-tree/model",
        "proc/device-tree/compatible",
        "proc/device-tree/hypervisor/compatible",
        "sys/class/dmi/id/sys_vendor",
        "sys/class/dmi/id/product_name",
        "proc/xen/capabilities",
        "sys/hypervisor/properties/features",
        "sys/hypervisor/type",
        "proc/bus/pci/devices",
        "proc/1/environ",
        "proc/self/status",
        "proc/modules",
        "proc/cgroups",
        "sys/fs/cgroup/cgroup.controllers",
        "proc/sys/user/max_user_namespaces",
        "virtprobe-live.json.unused",
    ] {
        write(r, f, &garbage);
    }
    let v = judge(r);
    assert!(v["technologies"].as_array().unwrap().len() > 20);
}

#[test]
fn garbage_live_file_is_an_error_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    write(dir.path(), "virtprobe-live.json", b"{not json");
    let v = judge(dir.path());
    assert!(errors(&v).contains("virtprobe-live.json"), "{}", errors(&v));
}

#[test]
fn empty_or_unreadable_root_is_exit_2_naming_the_folder() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let out = bin().arg("--root").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(&dir.path().display().to_string()) && err.contains("empty"),
        "{err}"
    );
    if is_root() {
        let locked = dir.path().join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("x"), "").unwrap();
        std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let out = std::process::Command::new(bin_path())
            .arg("--root")
            .arg(&locked)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&locked.display().to_string()), "{err}");
    }
}

#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    base(dir.path());
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    for d in ["proc", "proc/sys", "proc/sys/kernel"] {
        std::fs::set_permissions(dir.path().join(d), std::fs::Permissions::from_mode(0o755))
            .unwrap();
    }
    std::fs::set_permissions(
        dir.path().join("proc/sys/kernel/osrelease"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(
        dir.path().join("proc/cpuinfo"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let mut cmd = std::process::Command::new(bin_path());
    cmd.arg("--root").arg(dir.path()).arg("--json");
    // Root reads files whatever their mode, so drop to nobody.
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    succeeded(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        errors(&v).contains("/proc/cpuinfo: permission denied"),
        "{}",
        errors(&v)
    );
    assert_eq!(v["host"]["kernel"]["version"], serde_json::json!([6, 8, 0]));
}

/// A tree whose `proc` folder is swapped, in a tight loop, with a symlink to a folder outside the
/// tree that holds a `cpuinfo` of its own: whatever moment a read lands on, the outside file is
/// never read (`openat2` confinement, and the walk used where it is missing).
struct Swapping {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    root: std::path::PathBuf,
}

const OUTSIDE: &str = "OutsideSecretVendor";

impl Swapping {
    fn start() -> Swapping {
        use std::sync::atomic::Ordering;
        let tree = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        base(tree.path());
        write(
            outside.path(),
            "cpuinfo",
            format!("processor\t: 0\nvendor_id\t: {OUTSIDE}\nflags\t\t: fpu lm vmx\n").as_bytes(),
        );
        write(outside.path(), "sys/kernel/osrelease", b"9.9.9-outside\n");
        let proc_dir = tree.path().join("proc");
        let link = tree.path().join("proc-swap");
        symlink(outside.path(), &link).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !flag.load(Ordering::Relaxed) {
                rustix::fs::renameat_with(
                    rustix::fs::CWD,
                    &proc_dir,
                    rustix::fs::CWD,
                    &link,
                    rustix::fs::RenameFlags::EXCHANGE,
                )
                .expect("renameat2(RENAME_EXCHANGE)");
                swaps += 1;
            }
            swaps
        });
        let root = tree.path().to_path_buf();
        Swapping {
            stop,
            thread: Some(thread),
            _dirs: (tree, outside),
            root,
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

#[test]
fn swapped_folders_never_lead_outside_the_root_in_process() {
    use virtprobe::host::{HostFs, Mode};
    let s = Swapping::start();
    let (mut inside, mut absent) = (0, 0);
    for walk in [false, true] {
        for _ in 0..5000 {
            let mut fs = HostFs::with_root(&s.root, Mode::Tree).unwrap();
            if walk {
                fs = fs.without_openat2();
            }
            match fs.read_string("/proc/cpuinfo") {
                Ok(t) => {
                    assert!(!t.contains(OUTSIDE), "read outside the root (walk: {walk})");
                    inside += 1;
                }
                Err(_) => absent += 1,
            }
        }
    }
    let swaps = s.finish();
    println!("{inside} reads inside, {absent} refused, {swaps} swaps");
    assert!(swaps > 100 && inside > 0, "{swaps} swaps, {inside} reads");
}

#[test]
fn swapped_folders_never_lead_outside_the_root_in_300_runs() {
    let s = Swapping::start();
    for run in 0..300 {
        let out = bin()
            .arg("--root")
            .arg(&s.root)
            .arg("--json")
            .output()
            .unwrap();
        succeeded(&out);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(OUTSIDE), "run {run} read outside the root");
        assert!(
            !text.contains("9.9.9-outside"),
            "run {run} read outside the root"
        );
    }
    assert!(s.finish() > 300);
}
