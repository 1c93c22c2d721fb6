//! The manual: one page for `virtprobe` and one for each subcommand (`virtprobe-serve(1)`…),
//! written by clap_mangen from the clap definitions, with the sections clap does not know: EXIT
//! STATUS, ENVIRONMENT, FILES and SEE ALSO.

use clap::CommandFactory;
use roff::{Roff, bold, roman};

/// The page names: `virtprobe`, then `virtprobe-SUBCOMMAND` for every subcommand shown in help.
pub fn names() -> Vec<String> {
    let cmd = built();
    std::iter::once("virtprobe".to_string())
        .chain(
            cmd.get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| format!("virtprobe-{}", s.get_name())),
        )
        .collect()
}

/// The command, built (so that each subcommand knows its full name, `virtprobe serve`).
fn built() -> clap::Command {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// One page as roff, or `None` for a name that is not a page.
pub fn page(name: &str) -> Option<Vec<u8>> {
    let top = built();
    let sub = match name.strip_prefix("virtprobe-") {
        Some(s) => Some(top.find_subcommand(s).filter(|c| !c.is_hide_set())?.clone()),
        None if name == "virtprobe" => None,
        None => return None,
    };
    let sub_name = sub.as_ref().map(|s| s.get_name().to_string());
    let cmd = sub.unwrap_or_else(|| top.clone());
    let man = clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .source(format!("virtprobe {}", env!("CARGO_PKG_VERSION")))
        .manual("virtprobe manual");
    let mut out = Vec::new();
    // Writing into memory does not fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if sub_name.is_none() {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut roff = Roff::new();
    sections(sub_name.as_deref(), &mut roff);
    let _ = roff.to_writer(&mut out);
    let _ = man.render_version_section(&mut out);
    Some(out)
}

/// A section of paragraphs, each a tagged item (`.TP`): the tag in bold, then its text.
fn items(roff: &mut Roff, title: &str, list: &[(&str, &str)]) {
    roff.control("SH", [title]);
    for (tag, text) in list {
        roff.control("TP", [])
            .text([bold(*tag)])
            .text([roman(*text)]);
    }
}

/// EXIT STATUS, ENVIRONMENT, FILES and SEE ALSO of one page (`None`: the main page).
fn sections(sub: Option<&str>, roff: &mut Roff) {
    const ERROR: (&str, &str) = (
        "2",
        "A bad argument, a bad --root or --data, an unknown technology id, or a failure; one line on standard error says which (a data file's error names file:line:column).",
    );
    let exit: Vec<(&str, &str)> = match sub {
        Some("check") => vec![
            ("0", "Every named technology is ready."),
            ("1", "At least one is not."),
            ERROR,
        ],
        Some("diff") => vec![
            ("0", "No verdict differs between OLD and NEW."),
            ("1", "At least one verdict differs."),
            ERROR,
        ],
        Some("health") => vec![
            ("0", "The status file is there, whole and fresh."),
            (
                "1",
                "It is missing, unreadable, not a regular file, not JSON, or older than --max-age; one line on standard error says which.",
            ),
            ERROR,
        ],
        Some("serve") => vec![
            (
                "0",
                "Stopped by SIGTERM or SIGINT, or after --cycles probes, every output written.",
            ),
            (
                "2",
                "It could not start (another serve holds the lock, an output folder cannot be opened), or under --cycles an output could not be written.",
            ),
        ],
        Some("capture") => vec![
            (
                "0",
                "Every file the probe reads was copied (or, with --keep-going, the capture was kept with the files it could not copy recorded as unreadable).",
            ),
            (
                "2",
                "A file could not be copied (the capture is removed) or the destination is not an empty folder; or any error above.",
            ),
        ],
        _ => vec![("0", "Done."), ERROR],
    };
    items(roff, "EXIT STATUS", &exit);

    let mut env: Vec<(&str, &str)> = vec![
        ("VIRTPROBE_ROOT", "The same as --root DIR."),
        ("VIRTPROBE_HOST_ROOT", "The same as --host-root DIR."),
        ("VIRTPROBE_DATA", "The same as --data FILE."),
    ];
    match sub {
        Some("serve") => env.extend([
            (
                "VIRTPROBE_LOG",
                "Log level on standard error (error, warn, info, debug, or per target: virtprobe=debug,warn); warn by default. The unit sets info: each verdict change and what woke the probe.",
            ),
            (
                "RUNTIME_DIRECTORY",
                "Where the lock file lives (systemd sets it from RuntimeDirectory=); else /run/virtprobe for root, $XDG_RUNTIME_DIR/virtprobe or /tmp/virtprobe-UID for a user.",
            ),
            (
                "NOTIFY_SOCKET, WATCHDOG_USEC",
                "Set by systemd for Type=notify and WatchdogSec=: serve says READY=1 after its first probe and pings the watchdog.",
            ),
        ]),
        Some("fix" | "check" | "health" | "capture" | "schema" | "completions") => {}
        _ => env.extend([
            (
                "COLUMNS",
                "The width text is fitted to; else the terminal's. Through a pipe with no COLUMNS nothing is wrapped, and the report and list print one record per line even with it.",
            ),
            (
                "NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM",
                "Colour with --color auto: none when NO_COLOR is set; colour when CLICOLOR_FORCE is set and not 0; none when CLICOLOR=0; else colour on a terminal whose TERM is not dumb.",
            ),
        ]),
    }
    items(roff, "ENVIRONMENT", &env);

    let files: Vec<(&str, &str)> = match sub {
        Some("serve") | Some("health") => vec![
            (
                "/var/lib/virtprobe/status.json",
                "The status JSON (virtprobe schema status describes it); health reads it.",
            ),
            (
                "/run/virtprobe/serve-*.lock",
                "The lock that keeps a second serve from writing the same status file, one per status file (in RuntimeDirectory=, mode 0700, so no other user can take it).",
            ),
            (
                "/var/lib/prometheus/node-exporter/virtprobe.prom",
                "Where Debian's prometheus-node-exporter reads textfile metrics (--prometheus).",
            ),
            (
                "/etc/kubernetes/node-feature-discovery/features.d/virtprobe",
                "Where node-feature-discovery's worker reads feature files (--nfd).",
            ),
            (
                "/usr/lib/systemd/system/virtprobe.service",
                "The unit; a drop-in (systemctl edit virtprobe) adds outputs.",
            ),
            (
                "/usr/share/doc/virtprobe/examples/outputs.conf",
                "An example drop-in for the Prometheus and NFD outputs.",
            ),
        ],
        _ => vec![
            (
                "/proc, /sys, /dev, /boot, /lib/modules, /etc/os-release, PATH",
                "What the probe reads (under --root or --host-root when given); capture copies them.",
            ),
            (
                "/dev/kvm",
                "Opened read-write for the KVM check, which starts a test VM with one vCPU and stops it.",
            ),
            (
                "DIR/virtprobe-live.json",
                "In a captured tree: the answers only a live host gives (CPUID, uname, the KVM and TUN checks).",
            ),
        ],
    };
    items(roff, "FILES", &files);

    roff.control("SH", ["SEE ALSO"]);
    // The main page names every subcommand's page; a subcommand's page names the main one.
    let mut see: Vec<String> = match sub {
        None => names()
            .into_iter()
            .skip(1)
            .map(|n| format!("{n}(1)"))
            .collect(),
        Some(_) => vec!["virtprobe(1)".to_string()],
    };
    if sub == Some("serve") {
        see.extend(
            [
                "virtprobe-health(1)",
                "systemd.exec(5)",
                "prometheus-node-exporter(1)",
            ]
            .map(String::from),
        );
    }
    see.extend(
        [
            "virt-host-validate(1)",
            "kvm-ok(1)",
            "lscpu(1)",
            "systemd-detect-virt(1)",
            "virt-what(1)",
        ]
        .map(String::from),
    );
    roff.text([roman(see.join(", "))]);
    roff.control("PP", []).text([roman(
        "Documentation: /usr/share/doc/virtprobe/README.md and https://github.com/virtprobe/virtprobe/tree/main/docs",
    )]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every page renders, with the sections clap does not write.
    #[test]
    fn every_page_has_its_sections() {
        let names = names();
        assert!(names.contains(&"virtprobe-serve".to_string()));
        assert!(names.contains(&"virtprobe-fix".to_string()));
        assert!(!names.contains(&"virtprobe-manpage".to_string()));
        for n in &names {
            let text = String::from_utf8(page(n).unwrap()).unwrap();
            for s in ["EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO"] {
                assert!(
                    text.contains(&format!(".SH \"{s}\"")) || text.contains(&format!(".SH {s}")),
                    "{n}: {s}"
                );
            }
        }
        assert!(page("virtprobe-nothing").is_none());
        assert!(page("ls").is_none());
    }
}
