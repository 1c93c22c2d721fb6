//! The per-boot cache of the kernel config options, the tool search and the CPUID answers: same
//! answers cold, warm, damaged and disabled.

use crate::util::*;

fn report_in(dir: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = bin()
        .env("VIRTPROBE_CACHE_DIR", dir)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap();
    succeeded(&out);
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The only field that differs between two runs on one host.
    v.as_object_mut().unwrap().remove("generated_at");
    v
}

#[test]
fn cache_gives_the_same_report_cold_warm_damaged_and_off() {
    if !std::path::Path::new("/proc/sys/kernel/random/boot_id").exists() {
        eprintln!("skipped: no boot id on this host, so no cache");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.v5");
    let cold = report_in(dir.path(), &[]);
    assert!(file.exists(), "the first run writes the cache");
    let written = std::fs::read(&file).unwrap();
    let warm = report_in(dir.path(), &[]);
    assert_eq!(cold, warm);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        written,
        "a warm run rewrites nothing"
    );

    std::fs::write(&file, b"\x00garbage, not a cache").unwrap();
    assert_eq!(report_in(dir.path(), &[]), cold);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        written,
        "a damaged cache is replaced"
    );

    let off = tempfile::tempdir().unwrap();
    assert_eq!(report_in(off.path(), &["--no-cache"]), cold);
    assert!(
        !off.path().join("cache.v5").exists(),
        "--no-cache writes nothing"
    );
}

/// The log is built on its first event: the cache's debug lines appear when asked for, and a
/// run at the default level writes nothing to stderr.
#[test]
fn log_lines_appear_only_when_asked_for() {
    if !std::path::Path::new("/proc/sys/kernel/random/boot_id").exists() {
        eprintln!("skipped: no boot id on this host, so no cache and no cache log lines");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |log: Option<&str>| {
        let mut cmd = bin();
        cmd.env("VIRTPROBE_CACHE_DIR", dir.path()).arg("--json");
        match log {
            Some(l) => cmd.env("VIRTPROBE_LOG", l),
            None => cmd.env_remove("VIRTPROBE_LOG"),
        };
        let out = cmd.output().unwrap();
        succeeded(&out);
        String::from_utf8(out.stderr).unwrap()
    };
    let quiet = run(None);
    assert!(quiet.is_empty(), "{quiet}");
    let debug = run(Some("debug"));
    assert!(
        debug.contains("DEBUG") && debug.contains("virtprobe::cache") && debug.contains("cache"),
        "{debug}"
    );
    // By now the cache holds the CPUID answers too (x86 only: elsewhere there are none).
    if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        assert!(debug.contains("cpuid=true"), "{debug}");
    }
    // A target filter that leaves the cache out.
    let other = run(Some("virtprobe::serve=debug,warn"));
    assert!(other.is_empty(), "{other}");
}
