//! The command line: exit codes, one-line errors, formats.

use predicates::prelude::*;

use crate::util::*;

fn one_line_error(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "stderr should be one line: {err:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn check_exit_codes() {
    let root = fixture("intel-vtx");
    bin()
        .args(["--root"])
        .arg(&root)
        .args(["check", "kvm"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("kvm: ready"));
    bin()
        .args(["--root"])
        .arg(&root)
        .args(["check", "kvm", "lguest"])
        .assert()
        .code(1);
    bin()
        .args(["--root"])
        .arg(&root)
        .args(["check", "-q", "lguest"])
        .assert()
        .code(1)
        .stdout("");
    let out = bin()
        .args(["--root"])
        .arg(&root)
        .args(["check", "no-such-thing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("unknown technology \"no-such-thing\""));
}

#[test]
fn bad_root_is_exit_2_one_line() {
    let out = bin()
        .args(["--root", "/no/such/dir", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("--root /no/such/dir: no such directory"));
    let file = fixture("intel-vtx").join("proc/cpuinfo");
    let out = bin().arg("--root").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("not a directory"));
}

#[test]
fn bad_arguments_are_exit_2_one_line() {
    for args in [
        &["--bogus"][..],
        &["check"],
        &["serve", "--interval", "0s"],
        &["report", "--format", "yaml"],
        &["advise", "--need", "wings"],
    ] {
        let out = bin()
            .args(["--root"])
            .arg(fixture("intel-vtx"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        one_line_error(&out);
    }
    bin()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Usage"));
    bin().arg("--version").assert().code(0);
}

#[test]
fn broken_data_files_name_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/technologies.toml"
    ))
    .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "syntax.toml",
            "schema_version = 1\n[[technology]\nid = 1\n".into(),
            "syntax.toml:2:",
        ),
        (
            "unknown-field.toml",
            shipped.replacen(
                "ready = \"this Linux is the Xen",
                "colour = \"blue\"\nready = \"this Linux is the Xen",
                1,
            ),
            "unknown field `colour`",
        ),
        (
            "wrong-type.toml",
            shipped.replacen("performance_rank = 2", "performance_rank = \"fast\"", 1),
            "invalid type",
        ),
        (
            "duplicate.toml",
            shipped.replacen("id = \"lguest\"", "id = \"kvm\"", 1),
            "duplicate technology id \"kvm\"",
        ),
        (
            "unknown-fact.toml",
            shipped.replacen("fact = \"virt.xen_role\"", "fact = \"virt.xen_rol\"", 1),
            "unknown fact \"virt.xen_rol\"",
        ),
        (
            "bad-op.toml",
            shipped.replacen(
                "{ fact = \"arch\", in = [\"x86_64\", \"aarch64\", \"armv7l\"] }",
                "{ fact = \"arch\", ge = \"1\" }",
                1,
            ),
            "does not apply",
        ),
        (
            "bad-dep.toml",
            shipped.replacen(
                "depends = [\"kvm\"]\nready = \"qemu-system",
                "depends = [\"kvmm\"]\nready = \"qemu-system",
                1,
            ),
            "depends on \"kvmm\"",
        ),
    ];
    for (name, text, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = bin()
            .args(["--root"])
            .arg(fixture("intel-vtx"))
            .arg("--data")
            .arg(&p)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = one_line_error(&out);
        let loc = regex_lite_loc(&err, name);
        assert!(loc, "{name}: no file:line:column in {err:?}");
        assert!(err.contains(expect), "{name}: {err:?} lacks {expect:?}");
    }
    let out = bin()
        .args(["--data", "/no/such/file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("/no/such/file.toml:1:1: cannot read"));
}

/// `…/NAME:LINE:COLUMN: …` with numbers.
fn regex_lite_loc(err: &str, name: &str) -> bool {
    let Some(i) = err.find(name) else {
        return false;
    };
    let rest = &err[i + name.len()..];
    let mut parts = rest.splitn(4, ':');
    parts.next() == Some("")
        && parts.next().is_some_and(|l| l.parse::<u32>().is_ok())
        && parts.next().is_some_and(|c| c.parse::<u32>().is_ok())
}

#[test]
fn json_contract_fields() {
    let out = bin()
        .args(["--root"])
        .arg(fixture("intel-vtx"))
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    for k in [
        "virtprobe_version",
        "generated_at",
        "root",
        "host",
        "technologies",
        "errors",
    ] {
        assert!(v.get(k).is_some(), "{k}");
    }
    let h = &v["host"];
    for k in ["arch", "cpu", "kernel", "virtualization"] {
        assert!(h.get(k).is_some(), "host.{k}");
    }
    for k in [
        "vendor",
        "model",
        "flags",
        "virt_extension",
        "virt_extension_state",
    ] {
        assert!(h["cpu"].get(k).is_some(), "cpu.{k}");
    }
    for k in ["release", "version", "config_source", "modules"] {
        assert!(h["kernel"].get(k).is_some(), "kernel.{k}");
    }
    assert_eq!(h["kernel"]["version"], serde_json::json!([6, 8, 0]));
    assert_eq!(h["virtualization"]["hypervisor"], "none");
    let kvm = tech(&v, "kvm");
    for k in [
        "id",
        "name",
        "verdict",
        "detected",
        "reasons",
        "remediation",
        "table",
    ] {
        assert!(kvm.get(k).is_some(), "technology.{k}");
    }
    assert!(humantime::parse_rfc3339(v["generated_at"].as_str().unwrap()).is_ok());
}

#[test]
fn root_tree_and_root_slash_give_the_same_kinds_of_answers() {
    let tree: serde_json::Value = serde_json::from_slice(
        &bin()
            .args(["--root"])
            .arg(fixture("intel-vtx"))
            .arg("--json")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let slash: serde_json::Value = serde_json::from_slice(
        &bin()
            .args(["--root", "/", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&tree), keys(&slash));
    assert_eq!(keys(&tree["host"]), keys(&slash["host"]));
    let ids = |v: &serde_json::Value| {
        v["technologies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&tree), ids(&slash));
    let verdicts = [
        "ready",
        "available",
        "needs-host-change",
        "unsupported",
        "unknown",
    ];
    for v in [&tree, &slash] {
        for t in v["technologies"].as_array().unwrap() {
            assert!(verdicts.contains(&t["verdict"].as_str().unwrap()));
        }
    }
}

#[test]
fn formats_render() {
    let root = fixture("intel-vtx");
    bin()
        .arg("--root")
        .arg(&root)
        .args(["report", "--format", "prometheus"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "virtprobe_technology_verdict{technology=\"kvm\",verdict=\"ready\"} 1",
        ));
    bin()
        .arg("--root")
        .arg(&root)
        .args(["report", "--format", "nfd"])
        .assert()
        .success()
        .stdout(predicate::str::contains("virtprobe.io/kvm=ready"));
    bin()
        .arg("--root")
        .arg(&root)
        .args(["explain", "kvm"])
        .assert()
        .success()
        .stdout(predicate::str::contains("kvm.create_vm is true: yes"));
    let out = bin()
        .arg("--root")
        .arg(&root)
        .args(["explain", "kvm", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "ready");
    // No colour codes unless asked; NO_COLOR wins over auto.
    bin()
        .arg("--root")
        .arg(&root)
        .env("NO_COLOR", "1")
        .assert()
        .success()
        .stdout(predicate::str::contains("\x1b[").not());
    bin()
        .arg("--root")
        .arg(&root)
        .args(["--color", "always"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\x1b[32m"));
}

#[test]
fn ids_ignore_case_and_typos_get_a_suggestion() {
    let root = fixture("intel-vtx");
    bin()
        .arg("--root")
        .arg(&root)
        .args(["explain", "KVM"])
        .assert()
        .success()
        .stdout(predicate::str::starts_with("KVM (kvm): ready"));
    let out = bin()
        .arg("--root")
        .arg(&root)
        .args(["explain", "kvmm"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("did you mean kvm?"));
    let out = bin()
        .arg("--root")
        .arg(&root)
        .args(["check", "Lxd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("did you mean lxc?"));
    // A missing argument is named.
    for (cmd, arg) in [
        ("explain", "<ID>"),
        ("check", "<IDS>"),
        ("capture", "<DIR>"),
    ] {
        let out = bin().arg(cmd).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(one_line_error(&out).contains(arg), "{cmd}");
    }
}

#[test]
fn list_names_every_technology() {
    let table = virtprobe::rules::Table::embedded().unwrap();
    let out = bin().arg("list").output().unwrap();
    succeeded(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    // (A long name wraps onto an indented line.)
    let ids: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let want: Vec<&str> = table.technologies.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, want);
    let v: serde_json::Value =
        serde_json::from_slice(&bin().args(["list", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(v["technologies"].as_array().unwrap().len(), want.len());
}

#[test]
fn json_and_format_apply_where_they_mean_something() {
    let root = fixture("intel-vtx");
    // Accepted at the top level too.
    bin()
        .arg("--root")
        .arg(&root)
        .args(["--format", "nfd"])
        .assert()
        .success()
        .stdout(predicate::str::contains("virtprobe.io/kvm=ready"));
    for (args, says) in [
        (
            &["report", "--format", "prometheus", "--json"][..],
            "two formats",
        ),
        (&["--json", "--format", "nfd"], "two formats"),
        (&["--json", "serve"], "does not apply to `virtprobe serve`"),
        (
            &["--json", "check", "kvm"],
            "does not apply to `virtprobe check`",
        ),
        (
            &["--format", "json", "explain", "kvm"],
            "--format applies to the report",
        ),
        (&["--only", "ready", "list"], "apply to the report"),
        (&["--json", "--only", "ready"], "shape the text report"),
        (&["serve", "--json"], "unexpected argument"),
    ] {
        let out = bin().arg("--root").arg(&root).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(one_line_error(&out).contains(says), "{args:?}");
    }
    // TERM=dumb gets no colour, even when asked automatically.
    bin()
        .arg("--root")
        .arg(&root)
        .env("TERM", "dumb")
        .assert()
        .success()
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn only_and_all_choose_the_rows() {
    let root = fixture("intel-vtx");
    let run = |args: &[&str]| {
        let out = bin().arg("--root").arg(&root).args(args).output().unwrap();
        succeeded(&out);
        String::from_utf8(out.stdout).unwrap()
    };
    let default = run(&[]);
    assert!(default.contains("Unsupported (") && default.contains("(--all shows why)"));
    let all = run(&["--all"]);
    assert!(all.contains("\n  lguest ") && !all.contains("--all shows why"));
    let ready = run(&["--only", "ready,available"]);
    assert!(ready.contains("Ready (") && ready.contains("Available ("));
    assert!(!ready.contains("Needs a host change") && !ready.contains("Unsupported"));
    assert_eq!(run(&["report", "--only", "ready,available"]), ready);
}
