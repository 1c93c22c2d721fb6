//! Runs one command with validated options. Library errors become `anyhow` errors here, at the top.

use std::io::{IsTerminal, Write};

use anyhow::{Context as _, Result};
use virtprobe::render::{self, Render};
use virtprobe::report::Verdict;
use virtprobe::{Error, advise, capture, serve};

use crate::cli::{Cli, ColorChoice, Command, Format};

fn color(choice: ColorChoice, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal,
    }
}

fn emit(r: &dyn Render, report: &virtprobe::report::Report, ctx: &render::Context) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if r.buffers_itself() {
        r.render(report, ctx, &mut stdout)?;
    } else {
        // One buffer, reused: a buffer the size of the whole report would cost more in
        // first-touch page faults than the writes it saves.
        let mut out = std::io::BufWriter::with_capacity(32 * 1024, stdout);
        r.render(report, ctx, &mut out)?;
        out.flush()?;
        return Ok(());
    }
    stdout.flush()?;
    Ok(())
}

/// JSON indented for a person at a terminal, compact for a program (as `gh` does).
fn to_json<T: serde::Serialize>(v: &T, pretty: bool) -> serde_json::Result<String> {
    if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<u8> {
    let terminal = std::io::stdout().is_terminal();
    let pretty = terminal;
    let ctx = render::Context {
        color: color(cli.color, terminal),
        pretty,
        ..Default::default()
    };
    if cli.no_cache {
        virtprobe::cache::set_enabled(false);
    }
    let command = cli.command.unwrap_or(Command::Report {
        format: if cli.json { Format::Json } else { Format::Text },
    });
    let table = virtprobe::load_table(cli.data.as_deref())?;
    if let Command::Schema = command {
        let schema = schemars::schema_for!(virtprobe::report::Report);
        println!("{}", serde_json::to_string_pretty(&schema)?);
        return Ok(0);
    }
    let fs = virtprobe::open_host(cli.root.as_deref())?;
    match command {
        Command::Serve(args) => {
            serve::run(serve::Options {
                root: cli.root.clone(),
                data: cli.data.clone(),
                interval: args.interval,
                status: args.status,
                prometheus: args.prometheus,
                nfd: args.nfd,
                cycles: args.cycles,
            })?;
            Ok(0)
        }
        Command::Capture { dir } => {
            let n = capture::capture(&table, &dir)
                .with_context(|| format!("capture into {}", dir.display()))?;
            eprintln!(
                "virtprobe: captured {n} files and the live answers into {}",
                dir.display()
            );
            Ok(0)
        }
        command => {
            let live = virtprobe::live_sources(&fs);
            let (report, probed) = virtprobe::run(&fs, live.as_ref(), &table);
            let result = (|| -> Result<u8> {
                match command {
                    Command::Report { format } => {
                        let format = if cli.json { Format::Json } else { format };
                        let r: &dyn Render = match format {
                            Format::Text => &render::Text,
                            Format::Json => &render::Json,
                            Format::Prometheus => &render::Prometheus,
                            Format::Nfd => &render::Nfd,
                        };
                        emit(r, &report, &ctx)?;
                        Ok(0)
                    }
                    Command::Explain { id } => {
                        let t = report
                            .get(&id)
                            .ok_or_else(|| Error::UnknownTechnology(id.clone()))?;
                        if cli.json {
                            println!("{}", to_json(t, pretty)?);
                        } else {
                            emit(&render::Explain(t), &report, &ctx)?;
                        }
                        Ok(0)
                    }
                    Command::Check { ids, quiet } => {
                        let mut all = true;
                        for id in &ids {
                            let t = report
                                .get(id)
                                .ok_or_else(|| Error::UnknownTechnology(id.clone()))?;
                            if t.verdict != Verdict::Ready {
                                all = false;
                            }
                            if !quiet {
                                println!(
                                    "{}: {} — {}",
                                    t.id,
                                    t.verdict.as_str(),
                                    render::clean(&t.summary)
                                );
                            }
                        }
                        Ok(if all { 0 } else { 1 })
                    }
                    Command::Advise(a) => {
                        let req = advise::Request {
                            guest_os: format!("{:?}", a.guest_os).to_lowercase(),
                            guest_arch: a.guest_arch,
                            isolation: a.isolation.map(|i| format!("{i:?}").to_lowercase()),
                            needs: a.need,
                            open_source_only: a.license.is_some(),
                        };
                        let advice = advise::advise(&report, &table, &req)?;
                        if cli.json {
                            println!("{}", to_json(&advice, pretty)?);
                        } else {
                            let stdout = std::io::stdout();
                            let mut out = stdout.lock();
                            advise::render_text(&advice, &mut out)?;
                        }
                        Ok(0)
                    }
                    Command::Serve(_) | Command::Capture { .. } | Command::Schema => {
                        unreachable!("handled above")
                    }
                }
            })();
            // The process ends after this command: handing the table, the facts and the report
            // back to the allocator piece by piece would only cost time (a third of a millisecond).
            std::mem::forget((report, probed, live, fs, table));
            result
        }
    }
}
