//! The `virtprobe` command: options turned into a validated [`Config`], then one command run.
//! Library errors become `anyhow` errors here, at the top.

mod args;
mod commands;

use std::io::IsTerminal;
use std::path::PathBuf;

pub use args::Cli;
use args::{ColorChoice, Command, Format, VerdictArg, View};
use virtprobe::host::Mode;
use virtprobe::report::Verdict;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done.
    Ok = 0,
    /// `check`: a technology is not ready.
    NotMet = 1,
    /// Bad arguments, a bad data file or root, or a failure.
    Error = 2,
}

/// What the command line asks for, checked.
#[derive(Debug)]
pub struct Config {
    /// The folder judged and what it stands for (`None`: this host).
    pub root: Option<(PathBuf, Mode)>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// The report's format (for `report`).
    pub format: Format,
    /// JSON instead of text (explain, advise, list).
    pub json: bool,
    /// Colour the text.
    pub color: bool,
    /// Indent JSON.
    pub pretty: bool,
    /// Width text is fitted to.
    pub columns: usize,
    /// Verdicts shown (empty: all), and the unsupported ones listed.
    pub only: Vec<Verdict>,
    /// List the unsupported technologies one by one.
    pub all: bool,
    /// The command.
    pub command: Command,
}

/// The width of the terminal: `COLUMNS`, else the terminal's, else 80.
fn columns() -> usize {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return n;
    }
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&c| c > 0)
        .unwrap_or(0)
}

fn verdict(v: VerdictArg) -> Verdict {
    match v {
        VerdictArg::Ready => Verdict::Ready,
        VerdictArg::Available => Verdict::Available,
        VerdictArg::NeedsHostChange => Verdict::NeedsHostChange,
        VerdictArg::Unsupported => Verdict::Unsupported,
        VerdictArg::Unknown => Verdict::Unknown,
    }
}

/// The subcommand's name, for messages.
fn name(c: &Command) -> &'static str {
    match c {
        Command::Report { .. } => "report",
        Command::Explain { .. } => "explain",
        Command::Check { .. } => "check",
        Command::Advise(_) => "advise",
        Command::List { .. } => "list",
        Command::Capture { .. } => "capture",
        Command::Serve(_) => "serve",
        Command::Schema { .. } => "schema",
        Command::Health { .. } => "health",
        Command::Completions { .. } => "completions",
        Command::Manpage => "manpage",
    }
}

impl Config {
    /// Check the parsed options: each applies where it means something, and nowhere else.
    pub fn new(cli: Cli) -> Result<Config, String> {
        let terminal = std::io::stdout().is_terminal();
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                    && terminal
            }
        };
        let root = match (cli.root, cli.host_root) {
            (Some(r), _) => Some((r, Mode::Tree)),
            (None, Some(h)) => Some((h, Mode::HostRoot)),
            (None, None) => None,
        };
        let command = cli.command.unwrap_or(Command::Report {
            format: None,
            json: false,
            view: View::default(),
        });
        let top_view = !cli.view.only.is_empty() || cli.view.all;
        let (json, format, view) = match &command {
            Command::Report { format, json, view } => {
                let json = *json || cli.json;
                let format = match (format.or(cli.format), json) {
                    (Some(f), true) if f != Format::Json => {
                        return Err(format!(
                            "--json and --format {} ask for two formats; give one",
                            format!("{f:?}").to_lowercase()
                        ));
                    }
                    (_, true) => Format::Json,
                    (f, false) => f.unwrap_or(Format::Text),
                };
                let view = if top_view {
                    cli.view.clone()
                } else {
                    view.clone()
                };
                if format != Format::Text && (!view.only.is_empty() || view.all) {
                    return Err("--only and --all shape the text report; they do not apply to --format json, prometheus or nfd".into());
                }
                (json, format, view)
            }
            other => {
                if cli.format.is_some() {
                    return Err(format!(
                        "--format applies to the report, not to `virtprobe {}`",
                        name(other)
                    ));
                }
                if top_view {
                    return Err(format!(
                        "--only and --all apply to the report, not to `virtprobe {}`",
                        name(other)
                    ));
                }
                let own = match other {
                    Command::Explain { json, .. } | Command::List { json } => *json,
                    Command::Advise(a) => a.json,
                    _ if cli.json => {
                        return Err(format!(
                            "--json does not apply to `virtprobe {}`",
                            name(other)
                        ));
                    }
                    _ => false,
                };
                (own || cli.json, Format::Text, View::default())
            }
        };
        if root.is_some() && matches!(command, Command::Capture { .. }) {
            return Err(
                "`virtprobe capture` copies this host; --root and --host-root do not apply".into(),
            );
        }
        Ok(Config {
            root,
            data: cli.data,
            format,
            json,
            color,
            pretty: terminal,
            columns: columns(),
            only: view.only.into_iter().map(verdict).collect(),
            all: view.all,
            command,
        })
    }
}

/// Run the command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = Config::new(cli).map_err(anyhow::Error::msg)?;
    commands::run(config)
}
