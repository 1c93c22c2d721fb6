//! The `virtprobe` command: options turned into a validated [`Config`], then one command run.
//! Library errors become `anyhow` errors here, at the top.

mod args;
mod commands;
mod diff;
mod manual;

use std::io::IsTerminal;
use std::path::PathBuf;

pub use args::Cli;
use args::{ColorChoice, Command, Format, ReportArgs, View};
use clap::ValueEnum;
use virtprobe::host::Mode;
use virtprobe::render;

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

/// What the command line asks for, checked: the options every command shares, then the command
/// with its own.
#[derive(Debug)]
pub struct Config {
    /// The folder judged and what it stands for (`None`: this host).
    pub root: Option<(PathBuf, Mode)>,
    /// `--data`.
    pub data: Option<PathBuf>,
    /// JSON instead of text (explain, advise, list).
    pub json: bool,
    /// How text and JSON are shaped for the reader (colour, width, indent, the report's view).
    pub output: render::Context,
    /// The command.
    pub command: Command,
}

/// The report's format, once `--json` and `--format` agree.
fn report_format(
    a: &ReportArgs,
    cli_json: bool,
    cli_format: Option<Format>,
) -> Result<Format, String> {
    match (a.format.or(cli_format), a.json || cli_json) {
        (Some(f), true) if f != Format::Json => Err(format!(
            "--json and --format {} ask for two formats; give one",
            f.to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_string())
        )),
        (_, true) => Ok(Format::Json),
        (f, false) => Ok(f.unwrap_or(Format::Text)),
    }
}

/// The width text is fitted to: `COLUMNS`, else the terminal's, else (on a terminal that does
/// not say) 80; through a pipe with no `COLUMNS`, none.
fn columns(terminal: bool) -> usize {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return n;
    }
    if !terminal {
        return render::layout::UNWRAPPED;
    }
    rustix::termios::tcgetwinsize(std::io::stdout())
        .ok()
        .map(|w| usize::from(w.ws_col))
        .filter(|&c| c > 0)
        .unwrap_or(0)
}

/// Whether to colour standard output: `--color`, else what anstream decides for it
/// (`CLICOLOR_FORCE` set and not 0: yes; `NO_COLOR` set: no; `CLICOLOR=0`: no; else on a
/// terminal whose `TERM` is not `dumb`).
fn color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !matches!(
            anstream::AutoStream::choice(&std::io::stdout()),
            anstream::ColorChoice::Never
        ),
    }
}

impl Config {
    /// Check the parsed options: each applies where it means something, and nowhere else.
    pub fn new(cli: Cli) -> Result<Config, String> {
        let terminal = std::io::stdout().is_terminal();
        let color = color(cli.color);
        let root = match (cli.root, cli.host_root) {
            (Some(r), _) => Some((r, Mode::Tree)),
            (None, Some(h)) => Some((h, Mode::HostRoot)),
            (None, None) => None,
        };
        let mut command = cli
            .command
            .unwrap_or(Command::Report(ReportArgs::default()));
        let top_view = !cli.view.only.is_empty() || cli.view.all;
        let name = command.name();
        let mut json = cli.json;
        match &mut command {
            Command::Report(a) => {
                a.format = Some(report_format(a, cli.json, cli.format)?);
                json = a.format == Some(Format::Json);
                if top_view {
                    a.view = cli.view.clone();
                }
                if a.format != Some(Format::Text) && (!a.view.only.is_empty() || a.view.all) {
                    return Err("--only and --all shape the text report; they do not apply to --format json, prometheus or nfd".into());
                }
            }
            _ if cli.format.is_some() => {
                return Err(format!(
                    "--format applies to the report, not to `virtprobe {name}`"
                ));
            }
            _ if top_view => {
                return Err(format!(
                    "--only and --all apply to the report, not to `virtprobe {name}`"
                ));
            }
            Command::Explain(a) => json |= a.json,
            Command::List(a) => json |= a.json,
            Command::Advise(a) => json |= a.json,
            Command::Fix(a) => json |= a.json,
            Command::Diff(_) if root.is_some() => {
                return Err(
                    "`virtprobe diff` compares the two states it is given; --root and --host-root do not apply"
                        .into(),
                );
            }
            Command::Diff(a) => json |= a.json,
            Command::Capture(_) if root.is_some() => {
                return Err(
                    "`virtprobe capture` copies this host; --root and --host-root do not apply"
                        .into(),
                );
            }
            _ if cli.json => {
                return Err(format!("--json does not apply to `virtprobe {name}`"));
            }
            _ => {}
        }
        let host_root = matches!(root, Some((_, Mode::HostRoot)));
        let view = match &command {
            Command::Report(a) => a.view.clone(),
            _ => View::default(),
        };
        Ok(Config {
            root,
            data: cli.data,
            json,
            output: render::Context {
                color,
                pretty: terminal,
                columns: columns(terminal),
                pipe: !terminal,
                host_root,
                only: view.only,
                all: view.all,
                service: None,
            },
            command,
        })
    }
}

/// Say one line on standard error, `virtprobe: MESSAGE`, every control character in it escaped
/// (a path given on the command line may hold ESC or CR). A failed write is ignored: it is the
/// last thing said, and the exit code tells the outcome (writing never panics, unlike the
/// standard printing macros).
pub fn say(message: &str) {
    use std::io::Write;
    let line = format!("virtprobe: {}\n", render::clean(message));
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Run the command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = Config::new(cli).map_err(anyhow::Error::msg)?;
    commands::run(config)
}
