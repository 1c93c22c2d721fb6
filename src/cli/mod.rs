//! The `virtprobe` command: options turned into a validated [`Config`], then one command run.
//! Library errors become `anyhow` errors here, at the top.

mod args;
mod commands;

use std::io::IsTerminal;
use std::path::PathBuf;

pub use args::Cli;
use args::{ColorChoice, Command, Format};
use virtprobe::host::Mode;

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
    /// JSON instead of text.
    pub json: bool,
    /// Colour the text.
    pub color: bool,
    /// Indent JSON.
    pub pretty: bool,
    /// The command.
    pub command: Command,
}

impl Config {
    /// Validate the parsed options.
    pub fn new(cli: Cli) -> Config {
        let terminal = std::io::stdout().is_terminal();
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal
            }
        };
        let root = match (cli.root, cli.host_root) {
            (Some(r), _) => Some((r, Mode::Tree)),
            (None, Some(h)) => Some((h, Mode::HostRoot)),
            (None, None) => None,
        };
        let command = cli.command.unwrap_or(Command::Report {
            format: if cli.json { Format::Json } else { Format::Text },
        });
        Config {
            root,
            data: cli.data,
            json: cli.json,
            color,
            pretty: terminal,
            command,
        }
    }
}

/// Run the command line.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    commands::run(Config::new(cli))
}
