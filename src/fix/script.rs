//! The plan as a POSIX sh script: a header that says what it is for and refuses to run without
//! root, each step under a comment naming the technology and why, and what must be done by hand
//! at the end, as comments. Reads no host files.

use super::{Kind, Plan};

/// A word as the shell reads it back: plain words as they are, anything else in single quotes.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:=,+-/@%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A template's commands with `{name}` placeholders filled (values already quoted).
pub fn fill(lines: &[String], values: &[(&str, String)]) -> Vec<String> {
    lines
        .iter()
        .map(|line| {
            values.iter().fold(line.clone(), |l, (name, value)| {
                l.replace(&format!("{{{name}}}"), value)
            })
        })
        .collect()
}

/// Text for a comment: one line per paragraph, each prefixed.
fn comment(out: &mut String, prefix: &str, text: &str) {
    for line in text.lines() {
        let clean: String = line.chars().filter(|c| !c.is_control()).collect();
        out.push_str(prefix);
        out.push_str(&clean);
        out.push('\n');
    }
}

/// The script for `asked` (the ids as the person typed them, for the header).
pub fn render(plan: &Plan, asked: &[&str]) -> String {
    let mut out = String::from("#!/bin/sh\n");
    comment(
        &mut out,
        "# ",
        &format!("virtprobe fix {}", asked.join(" ")),
    );
    let d = &plan.distribution;
    let on = d.pretty_name.clone().unwrap_or_else(|| d.id.clone());
    match &d.family {
        Some(f) => comment(
            &mut out,
            "# ",
            &format!("For {on} (steps of the {f} family)."),
        ),
        None => comment(
            &mut out,
            "# ",
            &format!(
                "For {on}: virtprobe does not know this distribution's commands, so every step below is by hand."
            ),
        ),
    }
    if let Some(c) = &plan.cloud {
        let kind = c
            .instance_type
            .as_deref()
            .unwrap_or("instance type not in DMI");
        comment(&mut out, "# ", &format!("Cloud: {} ({kind}).", c.provider));
    }
    out.push_str(
        "# Review it, then run it as root (sudo sh FILE). virtprobe never runs it; every step\n\
         # checks before it changes anything, so running it again does no harm.\n",
    );
    let ready: Vec<&str> = plan
        .technologies
        .iter()
        .filter(|t| t.verdict == crate::report::Verdict::Ready)
        .map(|t| t.id.as_str())
        .collect();
    if !ready.is_empty() {
        comment(
            &mut out,
            "# ",
            &format!("Already ready, nothing to do: {}.", ready.join(", ")),
        );
    }
    let commands: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.kind == Kind::Command)
        .collect();
    let manual: Vec<_> = plan
        .steps
        .iter()
        .filter(|s| s.kind == Kind::Manual)
        .collect();
    out.push_str("\nset -eu\n");
    if !commands.is_empty() {
        out.push_str(
            "[ \"$(id -u)\" -eq 0 ] || { echo \"virtprobe fix: run this as root (sudo sh $0)\" >&2; exit 1; }\n",
        );
    }
    if commands
        .iter()
        .any(|s| s.commands.iter().any(|c| c.contains("$user")))
    {
        out.push_str(
            "# The account to give access to: the one that ran sudo (set user=NAME to choose another).\n\
             user=\"${SUDO_USER:-$(id -un)}\"\n",
        );
    }
    // Steps of one requirement share a heading; a command already printed is not repeated.
    let mut done: Vec<&str> = Vec::new();
    let mut heading = None;
    let mut said_done = false;
    for s in commands {
        let fresh: Vec<&String> = s
            .commands
            .iter()
            .filter(|c| !done.contains(&c.as_str()))
            .collect();
        if heading != Some((&s.technology, &s.requirement)) {
            heading = Some((&s.technology, &s.requirement));
            said_done = false;
            out.push('\n');
            comment(
                &mut out,
                "# ",
                &format!("{} ({}): {}", s.technology, s.requirement, s.reason),
            );
        }
        if fresh.is_empty() {
            if !said_done {
                comment(&mut out, "# ", "(the commands above do this too)");
                said_done = true;
            }
            continue;
        }
        for c in fresh {
            out.push_str(c);
            out.push('\n');
            done.push(c);
        }
        if !s.note.is_empty() {
            comment(&mut out, "# ", &format!("Then: {}", s.note));
        }
    }
    if !manual.is_empty() {
        out.push_str("\n# By hand: what no script can do here.\n");
        for s in manual {
            out.push_str("#\n");
            comment(
                &mut out,
                "# ",
                &format!("{} ({}): {}", s.technology, s.requirement, s.reason),
            );
            comment(&mut out, "#   ", &s.note);
        }
    }
    if plan.steps.is_empty() {
        out.push_str("\n# Nothing to do.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_through_the_shell() {
        assert_eq!(quote("kvm_intel"), "kvm_intel");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn fill_replaces_only_named_placeholders() {
        let out = fill(
            &["echo {module} ${HOME} {other}".to_string()],
            &[("module", "tun".to_string())],
        );
        assert_eq!(out, ["echo tun ${HOME} {other}"]);
    }
}
