//! The `virtprobe` command: parse the arguments, run, map the outcome to an exit code
//! (0 done, 1 a `check` not met, 2 an error).

#![forbid(unsafe_code)]

mod cli;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            let _ = e.print();
            return ExitCode::from(cli::Exit::Ok as u8);
        }
        Err(e) => {
            cli::say(&format!("{} (see `virtprobe --help`)", clap_message(&e)));
            return ExitCode::from(cli::Exit::Error as u8);
        }
    };
    init_logging();
    match cli::run(cli) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            cli::say(&format!("{e:#}"));
            ExitCode::from(cli::Exit::Error as u8)
        }
    }
}

/// clap's error on one line, whole but for its usage block: `the following required arguments
/// were not provided: <ID>`.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let message = text
        .split("\n\nUsage:")
        .next()
        .and_then(|m| m.split("\n\nFor more information").next())
        .unwrap_or(&text);
    let words: Vec<&str> = message.split_whitespace().collect();
    words.join(" ").trim_start_matches("error: ").to_string()
}

/// Logs go to standard error. VIRTPROBE_LOG: a level (`info`) or per-target levels
/// (`virtprobe=debug,warn`); warnings and errors by default.
fn init_logging() {
    use tracing_subscriber::prelude::*;
    let filter: tracing_subscriber::filter::Targets = std::env::var("VIRTPROBE_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            tracing_subscriber::filter::Targets::new().with_default(tracing::Level::WARN)
        });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}
