//! The `virtprobe` command: parse, run, map errors to exit codes (0 ok, 1 check not met, 2 error).

mod app;
mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // One line: clap's first line, without its usage block.
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("virtprobe: {first} (see `virtprobe --help`)");
            return ExitCode::from(2);
        }
    };
    init_logging();
    match app::run(cli) {
        Ok(code) => code,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("virtprobe: {msg}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = match std::env::var("VIRTPROBE_LOG") {
        Ok(v) => tracing_subscriber::EnvFilter::try_new(v)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        Err(_) => tracing_subscriber::EnvFilter::new("warn"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
