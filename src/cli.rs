//! Command-line options (clap derive), turned into a validated [`Config`] before anything runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Which virtualization technologies can run on this Linux host, and what stands in the way of the others.
#[derive(Debug, Parser)]
#[command(name = "virtprobe", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Judge a captured host tree instead of this host (like `lscpu --sysroot`).
    #[arg(long, global = true, value_name = "DIR", env = "VIRTPROBE_ROOT")]
    pub root: Option<PathBuf>,
    /// Use this technology table instead of the embedded one.
    #[arg(long, global = true, value_name = "FILE", env = "VIRTPROBE_DATA")]
    pub data: Option<PathBuf>,
    /// Print JSON (report, explain, advise).
    #[arg(long, global = true)]
    pub json: bool,
    /// Colours in the report for a person.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Derive the kernel config options and the tool search afresh, without reading or writing
    /// the per-boot cache (see README).
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// What to do (default: report).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For a person.
    Text,
    /// The JSON contract.
    Json,
    /// Prometheus textfile metrics.
    Prometheus,
    /// node-feature-discovery features.d.
    Nfd,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe the host and judge every technology (the default).
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Every rule of one technology with the evidence read.
    Explain {
        /// Technology id (kvm, xen, lxc…).
        id: String,
    },
    /// Exit 0 when every named technology is ready, 1 when one is not, 2 on error.
    Check {
        /// Technology ids.
        #[arg(required = true)]
        ids: Vec<String>,
        /// Print nothing.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Rank the technologies that fit a workload on this host.
    Advise(AdviseArgs),
    /// Copy every file the probe reads, plus the live-only answers, into DIR.
    Capture {
        /// Destination folder (created; must be empty if it exists).
        dir: PathBuf,
    },
    /// Keep a JSON status, Prometheus metrics and NFD features current.
    Serve(ServeArgs),
    /// Print the JSON Schema of the report.
    Schema,
}

/// Options of `advise`.
#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// Guest operating system.
    #[arg(long, value_enum, default_value_t = GuestOs::Linux)]
    pub guest_os: GuestOs,
    /// Guest architecture (`uname -m` word); default: the host's.
    #[arg(long, value_name = "ARCH")]
    pub guest_arch: Option<String>,
    /// Isolation wanted.
    #[arg(long, value_enum)]
    pub isolation: Option<Isolation>,
    /// Needs, comma separated: smp, hotplug, live-migration, no-root.
    #[arg(long, value_delimiter = ',', value_name = "NEED,…")]
    pub need: Vec<String>,
    /// Only open-source technologies.
    #[arg(long, value_enum)]
    pub license: Option<License>,
}

/// Guest OS for `advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GuestOs {
    /// Linux.
    Linux,
    /// Windows.
    Windows,
    /// Another OS.
    Other,
}

/// Isolation for `advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Isolation {
    /// Processes sharing the host kernel (containers).
    Process,
    /// A kernel of its own (user-space kernels, paravirtualization, VMs).
    Kernel,
    /// Hardware-enforced (virtual machines).
    Hardware,
}

/// License filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum License {
    /// Open source only.
    Open,
}

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Probe interval (e.g. 100ms, 30s, 5min).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Status file (JSON).
    #[arg(long, default_value = "/var/lib/virtprobe/status.json")]
    pub status: PathBuf,
    /// Prometheus textfile (should end in .prom).
    #[arg(long)]
    pub prometheus: Option<PathBuf>,
    /// node-feature-discovery features file.
    #[arg(long)]
    pub nfd: Option<PathBuf>,
    /// Stop after this many probes (0: run until stopped).
    #[arg(long, default_value_t = 0)]
    pub cycles: u64,
}

impl Cli {
    /// The command lines a fleet runs every minute, parsed without building clap's parser (which
    /// costs more than a tenth of a millisecond and 300 allocations): no arguments, or `--json`
    /// and `--no-cache`, each at most once, with neither `VIRTPROBE_ROOT` nor `VIRTPROBE_DATA`
    /// set. Gives exactly what clap would (a test checks it); anything else is `None`, for clap.
    pub fn parse_common(args: impl IntoIterator<Item = std::ffi::OsString>) -> Option<Cli> {
        if ["VIRTPROBE_ROOT", "VIRTPROBE_DATA"]
            .iter()
            .any(|v| std::env::var_os(v).is_some())
        {
            return None;
        }
        let (mut json, mut no_cache) = (false, false);
        for a in args.into_iter().skip(1) {
            let flag = match a.as_encoded_bytes() {
                b"--json" => &mut json,
                b"--no-cache" => &mut no_cache,
                _ => return None,
            };
            if std::mem::replace(flag, true) {
                // Given twice: clap's error message.
                return None;
            }
        }
        Some(Cli {
            root: None,
            data: None,
            json,
            color: ColorChoice::Auto,
            no_cache,
            command: None,
        })
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| format!("{s:?}: {e}"))?;
    if d < Duration::from_millis(10) {
        return Err(format!("{s:?}: the interval must be at least 10ms"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::Parser;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    fn args(a: &[&str]) -> Vec<std::ffi::OsString> {
        std::iter::once("virtprobe")
            .chain(a.iter().copied())
            .map(Into::into)
            .collect()
    }

    /// The common command lines give what clap gives; every other one is left to clap.
    #[test]
    fn common_command_lines_parse_as_clap_does() {
        // (The test process has neither VIRTPROBE_ROOT nor VIRTPROBE_DATA.)
        for a in [
            &[][..],
            &["--json"],
            &["--no-cache"],
            &["--json", "--no-cache"],
            &["--no-cache", "--json"],
        ] {
            let fast = Cli::parse_common(args(a)).expect("a common command line");
            let clap = Cli::try_parse_from(args(a)).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{a:?}");
        }
        for a in [
            &["--json", "--json"][..],
            &["report"],
            &["--root", "/"],
            &["--color", "never"],
            &["--jsonx"],
            &["--help"],
            &["-V"],
            &["check", "kvm"],
            &[""],
        ] {
            assert!(Cli::parse_common(args(a)).is_none(), "{a:?}");
        }
    }
}
