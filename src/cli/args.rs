//! The command line (clap derive). `///` comments are the help texts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Which virtualization technologies can run on this Linux host, and what stands in the way of the others.
#[derive(Debug, Parser)]
#[command(name = "virtprobe", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Judge a captured host tree instead of this host (like `lscpu --sysroot`).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "VIRTPROBE_ROOT",
        conflicts_with = "host_root"
    )]
    pub root: Option<PathBuf>,
    /// Judge this machine with its file systems mounted at DIR (a container's view of its node):
    /// files from DIR; CPUID, uname and the KVM check stay live.
    #[arg(long, global = true, value_name = "DIR", env = "VIRTPROBE_HOST_ROOT")]
    pub host_root: Option<PathBuf>,
    /// Use this technology table instead of the embedded one.
    #[arg(long, global = true, value_name = "FILE", env = "VIRTPROBE_DATA")]
    pub data: Option<PathBuf>,
    /// Colours in text for a person (auto: on a terminal, unless NO_COLOR is set or TERM=dumb).
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print JSON (the report; also before explain, advise, list).
    #[arg(long)]
    pub json: bool,
    /// Output format of the report.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Which technologies the report shows.
    #[command(flatten)]
    pub view: View,
    /// What to do (default: report).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Which technologies the text report shows.
#[derive(Debug, Clone, Default, Args)]
pub struct View {
    /// Show only technologies with these verdicts.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "VERDICT,…")]
    pub only: Vec<VerdictArg>,
    /// List the unsupported technologies one by one, with why (they are folded into one line).
    #[arg(long)]
    pub all: bool,
}

/// A verdict, as `--only` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerdictArg {
    /// Usable now.
    Ready,
    /// Only installs, module loads or permissions remain.
    Available,
    /// Needs a reboot-level change.
    NeedsHostChange,
    /// Impossible here.
    Unsupported,
    /// Could not be decided.
    Unknown,
}

/// The JSON documents `schema` describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Document {
    /// `virtprobe --json`.
    Report,
    /// The status file of `virtprobe serve`.
    Status,
    /// `virtprobe explain ID --json`.
    Explain,
    /// `virtprobe advise --json`.
    Advise,
    /// `virtprobe list --json`.
    List,
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
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Print JSON (the same as --format json).
        #[arg(long)]
        json: bool,
        /// Which technologies to show.
        #[command(flatten)]
        view: View,
    },
    /// Every rule of one technology with the evidence read.
    Explain {
        /// Technology id (kvm, xen, lxc…; `virtprobe list` shows them all).
        id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
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
    /// The technologies the table knows: id, name, category.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Copy every file the probe reads, plus the live-only answers, into DIR.
    Capture {
        /// Destination folder (created; must be empty if it exists).
        dir: PathBuf,
    },
    /// Keep a JSON status, Prometheus metrics and NFD features current.
    Serve(ServeArgs),
    /// Exit 0 when the status file of `serve` is fresh, 1 when it is older than --max-age or
    /// missing (a liveness check for a container).
    Health {
        /// Status file (JSON).
        #[arg(long, default_value = "/var/lib/virtprobe/status.json")]
        status: PathBuf,
        /// How old the status may be.
        #[arg(long, default_value = "15min", value_parser = parse_interval)]
        max_age: Duration,
    },
    /// Shell completions, on standard output.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff), on standard output.
    #[command(hide = true)]
    Manpage,
    /// Print the JSON Schema of a JSON document virtprobe writes.
    Schema {
        /// Which document.
        #[arg(value_enum, default_value_t = Document::Report)]
        document: Document,
    },
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
    /// Needs, comma separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "NEED,…")]
    pub need: Vec<Need>,
    /// Only open-source technologies.
    #[arg(long, value_enum)]
    pub license: Option<License>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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

/// A need for `advise`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Need {
    /// Several virtual CPUs.
    Smp,
    /// CPU or memory hotplug.
    Hotplug,
    /// Live migration.
    LiveMigration,
    /// Runs without root.
    NoRoot,
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
    /// Probe interval (e.g. 100ms, 30s, 5min), from 1ms to a year.
    #[arg(long, default_value = "60s", value_parser = parse_interval)]
    pub interval: Duration,
    /// Status file (JSON).
    #[arg(long, default_value = "/var/lib/virtprobe/status.json")]
    pub status: PathBuf,
    /// Prometheus textfile (node_exporter reads only names ending in .prom).
    #[arg(long)]
    pub prometheus: Option<PathBuf>,
    /// node-feature-discovery features file.
    #[arg(long)]
    pub nfd: Option<PathBuf>,
    /// Stop after this many probes (0: run until stopped).
    #[arg(long, default_value_t = 0)]
    pub cycles: u64,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let (min, max) = virtprobe::service::INTERVALS;
    match humantime::parse_duration(s) {
        Ok(d) if (min..=max).contains(&d) => Ok(d),
        _ => Err(format!(
            "{s:?} is not a duration from 1ms to 1 year (e.g. 30s, 5min, 1h)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn intervals_are_bounded() {
        assert!(parse_interval("1ms").is_ok());
        assert!(parse_interval("5min").is_ok());
        for bad in ["0s", "99999999999y", "18446744073709551615s", "2y", "soon"] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
