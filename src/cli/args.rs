//! The command line (clap derive). `///` comments are the help texts.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use virtprobe::report::Verdict;
use virtprobe::rules::{Feature, GuestOs, Isolation};

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
    /// Colours in text for a person (auto: on a terminal whose TERM is not dumb, unless NO_COLOR
    /// is set or CLICOLOR=0; CLICOLOR_FORCE=1 forces them).
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
    #[arg(long, value_delimiter = ',', value_name = "VERDICT,…", value_parser = words(Verdict::WORDS, Verdict::from_word))]
    pub only: Vec<Verdict>,
    /// List the unsupported technologies one by one, with why (they are folded into one line).
    #[arg(long)]
    pub all: bool,
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
    /// `virtprobe diff OLD NEW --json`.
    Diff,
    /// `virtprobe fix ID… --json`.
    Fix,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// As NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM and the terminal say.
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

/// Subcommands, each with its own options.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe the host and judge every technology (the default).
    Report(ReportArgs),
    /// Every rule of one technology with the evidence read.
    Explain(ExplainArgs),
    /// Exit 0 when every named technology is ready, 1 when one is not, 2 on error.
    Check(CheckArgs),
    /// Rank the technologies that fit a workload on this host.
    Advise(AdviseArgs),
    /// The technologies the table knows: id, name, category.
    List(ListArgs),
    /// For each named technology that is not ready, the steps that make it so on this
    /// distribution and cloud: a POSIX sh script on standard output (never run by virtprobe).
    Fix(FixArgs),
    /// Copy every file the probe reads, plus the live-only answers, into DIR.
    Capture(CaptureArgs),
    /// Which verdicts differ between two reports, status files or captured trees, and the facts
    /// behind each; exit 0 when none differs, 1 when one does, 2 on error.
    Diff(DiffArgs),
    /// Keep a JSON status, Prometheus metrics and NFD features current.
    ///
    /// Probes at start, at once when something the probe reads changes (inotify on /dev and the
    /// tool folders, the kernel's module uevents, the mount table; a burst of events is probed
    /// once), and every --interval as a safety net. Each output is written whole: a temporary file
    /// in the output's folder, synced, then renamed over the old one, so a reader never sees half
    /// a file and a failed write keeps the previous one. Each verdict change is logged with what
    /// woke the probe, and kept in the status file's history (`virtprobe diff` compares two
    /// states).
    ///
    /// SIGTERM and SIGINT stop it; SIGHUP reloads --data (a bad file is logged and the previous
    /// table kept). A lock in the runtime folder keeps a second serve from writing the same status
    /// file. Under systemd (Type=notify) it says READY=1 after the first probe and pings the
    /// watchdog.
    Serve(ServeArgs),
    /// Exit 0 when the status file of `serve` is fresh, 1 when it is older than --max-age or
    /// missing (a liveness check for a container).
    Health(HealthArgs),
    /// Shell completions, on standard output.
    Completions(CompletionsArgs),
    /// A manual page (roff), on standard output: `virtprobe` or `virtprobe-SUBCOMMAND`.
    #[command(hide = true)]
    Manpage(ManpageArgs),
    /// Print the JSON Schema of a JSON document virtprobe writes.
    Schema(SchemaArgs),
}

impl Command {
    /// The subcommand's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Report(_) => "report",
            Command::Explain(_) => "explain",
            Command::Check(_) => "check",
            Command::Advise(_) => "advise",
            Command::List(_) => "list",
            Command::Fix(_) => "fix",
            Command::Capture(_) => "capture",
            Command::Diff(_) => "diff",
            Command::Serve(_) => "serve",
            Command::Schema(_) => "schema",
            Command::Health(_) => "health",
            Command::Completions(_) => "completions",
            Command::Manpage(_) => "manpage",
        }
    }
}

/// Options of `report`.
#[derive(Debug, Clone, Default, Args)]
pub struct ReportArgs {
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Print JSON (the same as --format json).
    #[arg(long)]
    pub json: bool,
    /// Which technologies to show.
    #[command(flatten)]
    pub view: View,
}

/// Options of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Technology id (kvm, xen, lxc…; `virtprobe list` shows them all).
    pub id: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Technology ids.
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Print nothing.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Options of `fix`.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// Technology ids (kvm, qemu, lxc…; `virtprobe list` shows them all).
    #[arg(required = true)]
    pub ids: Vec<String>,
    /// Print the steps as JSON instead of a script.
    #[arg(long)]
    pub json: bool,
}

/// Options of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `capture`.
#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Destination folder (created; must be empty if it exists).
    pub dir: PathBuf,
    /// Keep a capture that could not copy every file (each is listed, and recorded in the
    /// capture as unreadable) and exit 0; without it such a capture is removed and exits 2.
    #[arg(long)]
    pub keep_going: bool,
}

/// Options of `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old state: a report (`virtprobe --json`), a status file of `serve`, or a captured
    /// tree folder.
    pub old: PathBuf,
    /// The new state, as OLD.
    pub new: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Status file (JSON) of `virtprobe serve`.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/var/lib/virtprobe/status.json"
    )]
    pub status: PathBuf,
    /// How old the status may be (default: twice the service's interval, which the status
    /// file records, plus a minute).
    #[arg(long, value_name = "AGE", value_parser = parse_interval)]
    pub max_age: Option<Duration>,
}

/// Options of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Options of the hidden `manpage` (the package's build writes every page with it).
#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// The page: `virtprobe` or `virtprobe-SUBCOMMAND`.
    #[arg(default_value = "virtprobe", conflicts_with = "list")]
    pub page: String,
    /// Print the page names, one a line.
    #[arg(long)]
    pub list: bool,
}

/// Options of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which document.
    #[arg(value_enum, default_value_t = Document::Report)]
    pub document: Document,
}

/// Options of `advise`.
#[derive(Debug, Args)]
pub struct AdviseArgs {
    /// Guest operating system.
    #[arg(long, default_value = "linux", value_parser = words(&["linux", "windows", "other"], GuestOs::from_word))]
    pub guest_os: GuestOs,
    /// Guest architecture (`uname -m` word); default: the host's.
    #[arg(long, value_name = "ARCH")]
    pub guest_arch: Option<String>,
    /// Isolation wanted at least.
    #[arg(long, value_parser = words(Isolation::WORDS, Isolation::from_word))]
    pub isolation: Option<Isolation>,
    /// Needs, comma separated.
    #[arg(long, value_delimiter = ',', value_name = "NEED,…", value_parser = words(Feature::WORDS, Feature::from_word))]
    pub need: Vec<Feature>,
    /// Only open-source technologies.
    #[arg(long, value_enum)]
    pub license: Option<License>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// A value parser for one of the table's words (`process`, `no-root`…): clap lists them in help
/// and completions, and gives the typed value.
fn words<T: Clone + Send + Sync + 'static>(
    words: &'static [&'static str],
    from: fn(&str) -> Option<T>,
) -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(words).try_map(move |w| {
        from(&w).ok_or_else(|| format!("{w:?} is not one of {}", words.join(", ")))
    })
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
    /// Interval of full probes (e.g. 30s, 5min, 1h), from 1ms to a year; a change to what the
    /// probe reads is probed at once besides.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_interval)]
    pub interval: Duration,
    /// Status file (JSON; `virtprobe schema status` describes it).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "/var/lib/virtprobe/status.json"
    )]
    pub status: PathBuf,
    /// Prometheus textfile for node_exporter's textfile collector (it reads only names ending
    /// in .prom; Debian's folder is /var/lib/prometheus/node-exporter).
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,
    /// node-feature-discovery feature file (its worker reads
    /// /etc/kubernetes/node-feature-discovery/features.d/).
    #[arg(long, value_name = "FILE")]
    pub nfd: Option<PathBuf>,
    /// Stop after this many probes (0: run until stopped).
    #[arg(long, value_name = "N", default_value_t = 0)]
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
