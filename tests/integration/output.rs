//! Output for scripts and for people: through a pipe one record per line, never wrapped; on a
//! terminal, columns under headings; colour decided as anstream decides it; help fitted to the
//! width; completions that offer the technology ids; the report in words, the ioctls in `explain`.

use crate::util::*;

fn stdout(cmd: &mut assert_cmd::Command) -> String {
    let out = cmd.output().unwrap();
    succeeded(&out);
    String::from_utf8(out.stdout).unwrap()
}

/// The ids `list --json` gives.
fn json_ids() -> Vec<String> {
    let listing: serde_json::Value =
        serde_json::from_str(&stdout(bin().args(["list", "--json"]))).unwrap();
    listing["technologies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// `virtprobe list | cut -f1` is exactly the ids, even at a narrow width: three tab-separated
/// fields a line, no heading.
#[test]
fn list_through_a_pipe_cuts_to_the_ids() {
    let text = stdout(bin().arg("list").env("COLUMNS", "40"));
    let first: Vec<String> = text
        .lines()
        .map(|l| {
            assert_eq!(l.split('\t').count(), 3, "{l:?}");
            l.split('\t').next().unwrap().to_string()
        })
        .collect();
    assert_eq!(first, json_ids());
    // The same through the shell, as the docs give it.
    let cut = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("'{}' list | cut -f1", bin_path().display()))
        .output()
        .unwrap();
    let cut = String::from_utf8(cut.stdout).unwrap();
    assert_eq!(cut.lines().collect::<Vec<_>>(), json_ids());
}

/// Run virtprobe with these arguments under a pseudo-terminal (`script`) of this width, with
/// `env` (`NAME=VALUE …`, or empty) in its environment; its output.
fn on_a_terminal(env: &str, args: &str, columns: u16) -> Option<String> {
    if !have("script") {
        skip!("skipped: script (util-linux) is not installed");
        return None;
    }
    let cmd = format!(
        "stty cols {columns} rows 50; {env} '{}' {args}",
        bin_path().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR")
        .env_remove("CLICOLOR_FORCE")
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8(out.stdout).unwrap().replace('\r', ""))
}

/// On a terminal, `list` has a heading over each column and fits the terminal's width.
#[test]
fn list_on_a_terminal_has_headings_and_fits() {
    let Some(text) = on_a_terminal("", "--color never list", 80) else {
        return;
    };
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(head, ["ID", "CATEGORY", "NAME"]);
    for l in lines {
        assert!(l.chars().count() <= 80, "{l:?}");
    }
}

/// The report through a pipe: every technology's summary on its own line, whole, however long
/// (a terminal's report wraps at its width).
#[test]
fn report_through_a_pipe_is_never_wrapped() {
    let root = fixture("intel-vtx");
    let json: serde_json::Value =
        serde_json::from_str(&stdout(bin().arg("--root").arg(&root).arg("--json"))).unwrap();
    let text = stdout(
        bin()
            .arg("--root")
            .arg(&root)
            .arg("--all")
            .env_remove("COLUMNS"),
    );
    let mut longest = 0;
    for t in json["technologies"].as_array().unwrap() {
        let (id, summary) = (t["id"].as_str().unwrap(), t["summary"].as_str().unwrap());
        longest = longest.max(summary.len());
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(id) && l.ends_with(summary)),
            "{id}'s line is not whole: {summary:?}\n{text}"
        );
    }
    assert!(longest > 80, "no summary is long enough to show it");
    let Some(tty) = on_a_terminal(
        "",
        &format!("--color never --root '{}'", root.display()),
        70,
    ) else {
        return;
    };
    for l in tty.lines() {
        assert!(l.chars().count() <= 70, "{l:?}");
    }
}

/// Every column of the report has a heading, the role column included.
#[test]
fn report_columns_have_headings() {
    let text = stdout(bin().arg("--root").arg(fixture("xen-dom0-no-tools")));
    let head = text
        .lines()
        .find(|l| l.contains("TECHNOLOGY"))
        .expect("a heading line");
    assert_eq!(
        head.split_whitespace().collect::<Vec<_>>(),
        ["TECHNOLOGY", "ROLE", "SUMMARY"]
    );
    // The role is written under its heading.
    let col = head.find("ROLE").unwrap();
    let xen = text.lines().find(|l| l.starts_with("  xen ")).unwrap();
    assert_eq!(&xen[col..col + 4], "host", "{xen:?}");
}

/// Colour: anstream's rules. CLICOLOR_FORCE colours a pipe, NO_COLOR wins over it, and
/// `--color never` over both; nothing else colours a pipe.
#[test]
fn colour_follows_clicolor_and_no_color() {
    let root = fixture("intel-vtx");
    let run = |envs: &[(&str, &str)], args: &[&str]| {
        let mut cmd = bin();
        cmd.arg("--root").arg(&root).args(args);
        for k in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
            cmd.env_remove(k);
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        stdout(&mut cmd).contains('\x1b')
    };
    assert!(!run(&[], &[]));
    assert!(run(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!run(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &[]));
    assert!(!run(&[("CLICOLOR_FORCE", "1")], &["--color", "never"]));
    assert!(run(&[], &["--color", "always"]));
    // On a terminal: colour, unless CLICOLOR=0.
    let tree = format!("--root '{}'", root.display());
    if let Some(tty) = on_a_terminal("", &tree, 80) {
        assert!(tty.contains('\x1b') && tty.contains("Ready"));
    }
    if let Some(tty) = on_a_terminal("CLICOLOR=0", &tree, 80) {
        assert!(!tty.contains('\x1b') && tty.contains("Ready"));
    }
}

/// Help is fitted to the width (clap's wrap_help), and `serve --help` names every option.
#[test]
fn help_fits_the_width() {
    for columns in ["80", "100"] {
        let text = stdout(bin().args(["serve", "--help"]).env("COLUMNS", columns));
        for l in text.lines() {
            assert!(
                l.chars().count() <= columns.parse().unwrap(),
                "{columns}: {l:?}"
            );
        }
        for opt in [
            "--interval",
            "--status",
            "--prometheus",
            "--nfd",
            "--cycles",
        ] {
            assert!(text.contains(opt), "{opt}");
        }
    }
}

/// Completions offer the technology ids after `explain`, `check` and `fix`.
#[test]
fn completions_offer_technology_ids() {
    let ids = json_ids();
    let bash = stdout(bin().args(["completions", "bash"]));
    for sub in ["explain", "check", "fix"] {
        let case = format!("virtprobe__subcmd__{sub})");
        let block = bash
            .split(&case)
            .nth(1)
            .unwrap_or_else(|| panic!("no {case}"));
        let opts = block.lines().find(|l| l.contains("opts=")).unwrap();
        for id in &ids {
            assert!(
                opts.split_whitespace().any(|w| w.trim_matches('"') == id),
                "{sub}: {id}"
            );
        }
    }
    let zsh = stdout(bin().args(["completions", "zsh"]));
    assert!(
        zsh.contains("kvm\\:\"KVM\""),
        "zsh offers kvm with its name"
    );
    let fish = stdout(bin().args(["completions", "fish"]));
    for sub in ["explain", "check", "fix"] {
        let offer = format!("__fish_virtprobe_using_subcommand {sub}\" -f -a 'kvm' -d 'KVM'");
        assert!(fish.contains(&offer), "{offer}");
    }
}

/// The report says what was tried in words; the ioctl names are in `explain`, with any-of groups
/// and the verdict each rule gives when it fails.
#[test]
fn report_speaks_words_and_explain_shows_the_rules() {
    let root = fixture("intel-vtx");
    let report = stdout(bin().arg("--root").arg(&root));
    assert!(report.contains("opened /dev/kvm and started a test VM"));
    for ioctl in ["KVM_GET_API_VERSION", "KVM_CREATE_VM", "KVM_CREATE_VCPU"] {
        assert!(!report.contains(ioctl), "{report}");
    }
    let explain = stdout(bin().arg("--root").arg(&root).args(["explain", "kvm"]));
    assert!(explain.contains("KVM_CREATE_VM: succeeded"), "{explain}");
    assert!(explain.contains("[pass] cpu-extension: would make it unsupported if it failed"));
    assert!(explain.contains("any of these passes:"));
    let failing = stdout(
        bin()
            .arg("--root")
            .arg(fixture("amd-svm-no-access"))
            .args(["explain", "kvm"]),
    );
    assert!(
        failing.contains("[FAIL] open: makes it available:"),
        "{failing}"
    );
}

/// `--host-root` judges this machine: its title says so, not "captured tree".
#[test]
fn host_root_is_not_called_a_captured_tree() {
    let root = fixture("intel-vtx");
    let text = stdout(bin().arg("--host-root").arg(&root));
    let title = text.lines().next().unwrap();
    assert!(title.contains("this host"), "{title}");
    assert!(!title.contains("captured"), "{title}");
    let tree = stdout(bin().arg("--root").arg(&root));
    assert!(tree.lines().next().unwrap().contains("captured tree"));
    // Nothing of the tree was refused: no privilege note.
    assert!(!tree.contains("permission denied"), "{tree}");
}
