//! What a fleet runs: the container view of a node (`--host-root`), the DaemonSet, the alerting
//! rules and the dashboard, the Debian package, the one-shot unit's schedule.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::*;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// The feature lines of an NFD file (comments and directives aside).
fn labels(nfd: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(nfd)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// With this machine's root bind-mounted read-only at a folder, `--host-root` gives the labels a
/// run on the machine itself gives, the live KVM check included.
#[test]
fn host_root_gives_the_labels_of_the_host() {
    if !is_root() {
        crate::util::skip!("skipped: bind mounts need root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let host = dir.path().join("host");
    std::fs::create_dir(&host).unwrap();
    let mount = |args: &[&str]| {
        Command::new("mount")
            .args(args)
            .arg(&host)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !mount(&["--rbind", "/"]) {
        crate::util::skip!("skipped: cannot bind-mount / here");
        return;
    }
    // Unmounting below must not reach the real mounts, and the view is read-only.
    let ok = mount(&["--make-rslave"]) && mount(&["-o", "remount,bind,ro"]);
    let inside = bin()
        .arg("--host-root")
        .arg(&host)
        .args(["--format", "nfd"])
        .output()
        .unwrap();
    let _ = Command::new("umount").arg("-R").arg(&host).status();
    assert!(ok, "could not make the bind mount read-only");
    let outside = bin().args(["--format", "nfd"]).output().unwrap();
    succeeded(&inside);
    succeeded(&outside);
    assert_eq!(labels(&inside.stdout), labels(&outside.stdout));
    if std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
    {
        assert!(labels(&inside.stdout).contains(&"virtprobe.io/kvm=ready".to_string()));
    }
}

/// `kubectl kustomize` of a folder of deploy/kubernetes (kubectl's own kustomize): the YAML, and
/// the DaemonSet it holds as JSON (read with PyYAML, which kubernetes-validate brings).
fn kustomize(dir: &str) -> Option<(String, serde_json::Value)> {
    if !have("kubectl") {
        crate::util::skip!("skipped: kubectl is not installed; the manifests were not rendered");
        return None;
    }
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(repo(dir))
        .output()
        .unwrap();
    succeeded(&out);
    let yaml = String::from_utf8(out.stdout).unwrap();
    let mut python = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    python
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let out = python.wait_with_output().unwrap();
    if !out.status.success() {
        crate::util::skip!(
            "skipped: python3 with PyYAML could not read the manifests: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    Some((yaml, serde_json::from_slice(&out.stdout).unwrap()))
}

/// The base runs on any cluster: no extended resource (a device plugin's request keeps a pod
/// Pending where the plugin is missing), the image in one place, nothing that changes a node
/// folder's mode, only the features folder writable; the KubeVirt overlay adds the /dev/kvm
/// request and nothing else. Both render with kubectl's kustomize and pass kubernetes-validate.
#[test]
fn daemonset_runs_anywhere_and_mounts_only_what_it_reads() {
    let yaml = std::fs::read_to_string(repo("deploy/kubernetes/base/daemonset.yaml")).unwrap();
    for whole in [
        "path: /etc,",
        "path: /etc}",
        "path: /dev,",
        "path: /dev}",
        "path: /usr,",
        "path: /usr}",
    ] {
        assert!(!yaml.contains(whole), "mounts {whole}");
    }
    let (Some((base_yaml, base)), Some((kubevirt_yaml, kubevirt))) = (
        kustomize("deploy/kubernetes/base"),
        kustomize("deploy/kubernetes/overlays/kubevirt"),
    ) else {
        return;
    };
    let pod = &base["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    // Nothing runs before the probe to change a node folder's mode or owner.
    assert!(pod.get("initContainers").is_none(), "{pod}");
    for word in ["chmod", "chgrp", "chown"] {
        assert!(!base_yaml.contains(word), "the DaemonSet runs {word}");
    }
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let args: Vec<&str> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(args.contains(&"--host-root=/host"), "{args:?}");
    assert!(c.get("livenessProbe").is_some());
    // No privilege, no capability added, every one dropped.
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert!(sc["capabilities"].get("add").is_none(), "{sc}");
    // No extended resource in the base (a resource name with a slash).
    assert!(!base_yaml.contains("devices.kubevirt.io"), "{base_yaml}");
    for kind in ["limits", "requests"] {
        let names: Vec<&String> = c["resources"][kind].as_object().unwrap().keys().collect();
        assert!(names.iter().all(|r| !r.contains('/')), "{kind}: {names:?}");
    }
    // The overlay adds the /dev/kvm request and changes nothing else.
    let mut overlay = kubevirt.clone();
    let limits = overlay["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
        .as_object_mut()
        .unwrap();
    assert_eq!(
        limits.remove("devices.kubevirt.io/kvm"),
        Some(serde_json::json!("1"))
    );
    assert_eq!(overlay, base, "the overlay changes more than the request");
    // Every host mount but the features folder is read-only; the other writable folders are the
    // pod's own emptyDirs.
    let volumes = pod["volumes"].as_array().unwrap();
    let volume = |name: &str| volumes.iter().find(|v| v["name"] == name).unwrap();
    let mut writable_host = Vec::new();
    for m in c["volumeMounts"].as_array().unwrap() {
        if m["readOnly"] == true {
            continue;
        }
        let v = volume(m["name"].as_str().unwrap());
        match v["hostPath"]["path"].as_str() {
            Some(path) => writable_host.push(path.to_string()),
            None => assert!(v.get("emptyDir").is_some(), "{v}"),
        }
    }
    assert_eq!(
        writable_host,
        ["/etc/kubernetes/node-feature-discovery/features.d"]
    );
    // One image and tag: the kustomization's, the one deploy/build-image.sh builds.
    let tag = format!("localhost/virtprobe:{}", env!("CARGO_PKG_VERSION"));
    assert_eq!(c["image"], tag.as_str());
    assert_eq!(base_yaml.matches("image: ").count(), 1);
    let script = std::fs::read_to_string(repo("deploy/build-image.sh")).unwrap();
    assert!(script.contains("localhost/virtprobe:$version"));
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    assert!(readme.contains(&tag), "the README names another tag");
    if !have("kubernetes-validate") {
        crate::util::skip!("skipped the schema check: kubernetes-validate (PyPI) not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("base.yaml", &base_yaml), ("kubevirt.yaml", &kubevirt_yaml)] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new("kubernetes-validate")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A pod judging its node with `--host-root` but not given `/dev/kvm` (the base DaemonSet) says
/// so, where the node's sysfs shows the device; it does not advise loading a module. Where the
/// node has no KVM device either, KVM is not there. (A private mount namespace hides this
/// machine's /dev; root only.)
#[test]
fn a_pod_without_dev_kvm_says_it_was_not_given_it() {
    if !is_root() || !have("unshare") {
        crate::util::skip!("skipped: hiding /dev in a mount namespace needs root and unshare");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let judge = |node_has_kvm: bool| {
        let node = dir.path().join(format!("node-{node_has_kvm}"));
        std::fs::create_dir(&node).unwrap();
        let host = tree_copy("intel-vtx", &node);
        let misc = host.join("sys/class/misc");
        std::fs::create_dir_all(&misc).unwrap();
        if node_has_kvm {
            std::fs::create_dir_all(misc.join("kvm")).unwrap();
        }
        let out = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs none /dev && exec \"$0\" --host-root \"$1\" check kvm")
            .arg(bin_path())
            .arg(&host)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let given = judge(true);
    assert!(given.contains("was not given /dev/kvm"), "{given}");
    assert!(!given.contains("not loaded"), "{given}");
    let absent = judge(false);
    assert!(absent.contains("/dev/kvm does not exist"), "{absent}");
}

#[test]
fn alerting_rules_pass_their_tests() {
    if !have("promtool") {
        crate::util::skip!("skipped: promtool not installed");
        return;
    }
    let dir = repo("deploy/prometheus");
    for args in [
        &["check", "rules", "virtprobe.rules.yml"][..],
        &["test", "rules", "virtprobe.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The metric names virtprobe writes as the service does.
fn emitted_metrics() -> BTreeSet<String> {
    let r = report(&fixture("intel-vtx"));
    let now = std::time::SystemTime::now();
    let ctx = virtprobe::render::Context {
        service: Some(virtprobe::render::ServiceFigures {
            duration: std::time::Duration::from_millis(5),
            finished: now,
            expiry: now,
            probes: 1,
            verdict_changes: 0,
            interval: std::time::Duration::from_secs(3600),
            last_change: r.technologies.iter().map(|t| (t.id.clone(), now)).collect(),
        }),
        ..Default::default()
    };
    let text = virtprobe::render::to_bytes(&virtprobe::render::Prometheus, &r, &ctx).unwrap();
    String::from_utf8(text)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("virtprobe_") {
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[i + name.len()..];
        names.push(name);
    }
    names
}

#[test]
fn dashboard_and_rules_ask_only_for_metrics_virtprobe_writes() {
    let emitted = emitted_metrics();
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("deploy/grafana/virtprobe.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for p in dash["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().unwrap() {
            exprs.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for v in dash["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["query"].as_str() {
            exprs.push(q.to_string());
        }
    }
    let rules = std::fs::read_to_string(repo("deploy/prometheus/virtprobe.rules.yml")).unwrap();
    exprs.extend(
        rules
            .lines()
            .filter_map(|l| l.trim().strip_prefix("expr:"))
            .map(str::to_string),
    );
    assert!(exprs.len() > 10);
    let mut seen = 0;
    for e in &exprs {
        for name in metric_names(e) {
            assert!(
                emitted.contains(&name),
                "{name} in {e:?} is not written by virtprobe"
            );
            seen += 1;
        }
    }
    assert!(seen > 10);
}

/// The shipped service's NFD labels outlive the wait for its next full probe, in the unit and in
/// the DaemonSet (the interval is `--interval`, else serve's default).
#[test]
fn labels_outlive_the_interval() {
    let unit = std::fs::read_to_string(repo("systemd/virtprobe.service")).unwrap();
    let daemonset = std::fs::read_to_string(repo("deploy/kubernetes/base/daemonset.yaml")).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    let words: Vec<String> = exec.split_whitespace().map(str::to_string).collect();
    let args: Vec<String> = daemonset
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .map(|a| format!("--{a}"))
        .collect();
    for (what, words) in [("the unit", words), ("the DaemonSet", args)] {
        let given = words
            .iter()
            .find_map(|w| w.strip_prefix("--interval=").map(str::to_string))
            .or_else(|| {
                words
                    .iter()
                    .skip_while(|w| *w != "--interval")
                    .nth(1)
                    .cloned()
            });
        let interval = humantime::parse_duration(given.as_deref().unwrap_or("1h")).unwrap();
        assert!(
            virtprobe::service::nfd_lifetime(interval) > interval,
            "{what}: labels expire before the next full probe"
        );
    }
}

#[test]
fn a_one_shot_run_that_cannot_write_fails() {
    let out = bin()
        .arg("--root")
        .arg(fixture("intel-vtx"))
        .args([
            "serve",
            "--cycles",
            "1",
            "--status",
            "/nonexistent/virtprobe/status.json",
        ])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not be written"));
}

/// `virtprobe health` says whether the status is fresh (the containers' liveness check).
#[test]
fn health_follows_the_status_file() {
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let health = |max_age: &str| {
        bin()
            .args(["health", "--max-age", max_age, "--status"])
            .arg(&status)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(health("1h"), Some(1), "no status file yet");
    succeeded(
        &bin()
            .arg("--root")
            .arg(fixture("intel-vtx"))
            .args(["serve", "--cycles", "1", "--status"])
            .arg(&status)
            .output()
            .unwrap(),
    );
    assert_eq!(health("1h"), Some(0));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(health("1ms"), Some(1), "a stale status");
    // Without --max-age, the service's own interval decides: twice it, plus a minute.
    let default = || {
        bin()
            .args(["health", "--status"])
            .arg(&status)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(default(), Some(0));
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap();
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(200);
    v["generated_at"] = humantime::format_rfc3339_seconds(at).to_string().into();
    v["service"]["interval_seconds"] = 60.0.into();
    std::fs::write(&status, v.to_string()).unwrap();
    assert_eq!(default(), Some(1), "200 s old, interval 60 s");
    v["service"]["interval_seconds"] = 3600.0.into();
    std::fs::write(&status, v.to_string()).unwrap();
    assert_eq!(default(), Some(0), "200 s old, interval an hour");
}

/// The Debian package (CI builds it with `cargo deb`) holds the binary, the service, the
/// sysusers file, a man page per command and the completions, and no longer the retired timer;
/// its maintainer scripts enable, start and stop the service; lintian finds no error or warning.
#[test]
fn debian_package_holds_everything() {
    let Some(deb) = crate::systemd::debian_package() else {
        crate::util::skip!("skipped: no target/debian/*.deb (CI builds it with cargo deb)");
        return;
    };
    let out = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    succeeded(&out);
    let list = String::from_utf8_lossy(&out.stdout);
    let pages =
        String::from_utf8(bin().args(["manpage", "--list"]).output().unwrap().stdout).unwrap();
    assert!(pages.lines().count() > 10, "{pages}");
    let pages: Vec<String> = pages
        .lines()
        .map(|p| format!("./usr/share/man/man1/{p}.1.gz"))
        .collect();
    for path in [
        "./usr/bin/virtprobe",
        "./usr/lib/systemd/system/virtprobe.service",
        "./usr/lib/sysusers.d/virtprobe.conf",
        "./usr/share/man/man1/virtprobe-serve.1.gz",
        "./usr/share/man/man1/virtprobe-fix.1.gz",
        "./usr/share/man/man1/virtprobe-diff.1.gz",
        "./usr/share/bash-completion/completions/virtprobe",
        "./usr/share/zsh/vendor-completions/_virtprobe",
        "./usr/share/fish/vendor_completions.d/virtprobe.fish",
        "./usr/share/doc/virtprobe/changelog.Debian.gz",
        "./usr/share/doc/virtprobe/copyright",
    ]
    .into_iter()
    .chain(pages.iter().map(String::as_str))
    {
        assert!(
            list.contains(path),
            "{path} missing from {}:\n{list}",
            deb.display()
        );
    }
    assert!(!list.contains("virtprobe.timer") && !list.contains("virtprobe-once"));
    // The maintainer scripts: the user, then enable and start on install; stop on remove;
    // daemon-reload and forget on purge.
    let script = |name: &str| {
        let out = Command::new("dpkg-deb")
            .args(["-I"])
            .arg(&deb)
            .arg(name)
            .output()
            .unwrap();
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let postinst = script("postinst");
    for line in [
        "systemd-sysusers",
        "deb-systemd-helper enable virtprobe.service",
        "deb-systemd-invoke $_dh_action virtprobe.service",
    ] {
        assert!(
            postinst.contains(line),
            "postinst lacks {line:?}:\n{postinst}"
        );
    }
    assert!(script("prerm").contains("deb-systemd-invoke stop virtprobe.service"));
    let postrm = script("postrm");
    assert!(postrm.contains("daemon-reload") && postrm.contains("deb-systemd-helper purge"));
    if !have("lintian") {
        crate::util::skip!("skipped: lintian is not installed; the package was not linted");
        return;
    }
    let out = Command::new("lintian")
        .arg("--fail-on")
        .arg("error,warning")
        .arg(&deb)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && !said
                .lines()
                .any(|l| l.starts_with("E:") || l.starts_with("W:")),
        "lintian:\n{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `man virtprobe-serve` renders, with every option of `serve` and the sections clap does not
/// write.
#[test]
fn the_serve_man_page_renders_every_option() {
    if !have("man") {
        crate::util::skip!("skipped: man (man-db) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("virtprobe-serve.1");
    let out = bin().args(["manpage", "virtprobe-serve"]).output().unwrap();
    succeeded(&out);
    std::fs::write(&page, &out.stdout).unwrap();
    let out = Command::new("man")
        .arg("-l")
        .arg(&page)
        .env("MANWIDTH", "100")
        .output()
        .unwrap();
    succeeded(&out);
    // Bold and underline are overstruck (`N\bN`, `_\bx`): keep the last of each.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "--interval",
        "--status",
        "--prometheus",
        "--nfd",
        "--cycles",
        "--root",
        "--host-root",
        "--data",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "SEE ALSO",
        "SIGHUP",
        "RUNTIME_DIRECTORY",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    // The unit's Documentation= names the page.
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/virtprobe.service"),
    )
    .unwrap();
    assert!(unit.contains("Documentation=man:virtprobe-serve(1)"));
}
