//! Each command: report, explain, check, advise, capture, serve, schema.

use std::io::Write;

use anyhow::{Context as _, Result, bail};
use virtprobe::host::{HostFs, live};
use virtprobe::render::{self, Render};
use virtprobe::report::{Report, Verdict};
use virtprobe::service::{self, Service};
use virtprobe::{advise, capture};

use super::args::{Command, Format};
use super::{Config, Exit};

/// Write to standard output; a reader that went away is not an error worth a message.
fn print(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn json<T: serde::Serialize>(v: &T, pretty: bool) -> Result<Vec<u8>> {
    let mut text = if pretty {
        serde_json::to_vec_pretty(v)?
    } else {
        serde_json::to_vec(v)?
    };
    text.push(b'\n');
    Ok(text)
}

fn open_host(c: &Config) -> Result<HostFs> {
    Ok(match &c.root {
        None => HostFs::live()?,
        Some((dir, mode)) => HostFs::with_root(dir, *mode)?,
    })
}

fn probe(c: &Config, table: &virtprobe::rules::Table) -> Result<Report> {
    let fs = open_host(c)?;
    let live = live::sources_for(&fs);
    Ok(virtprobe::report::run(&fs, live.as_ref(), table))
}

fn find<'a>(report: &'a Report, id: &str) -> Result<&'a virtprobe::report::TechReport> {
    match report.get(id) {
        Some(t) => Ok(t),
        None => bail!("unknown technology {id:?} (see `virtprobe --json` for the ids)"),
    }
}

/// Run one command.
pub fn run(c: Config) -> Result<Exit> {
    let table = service::load_table(c.data.as_deref())?;
    let ctx = render::Context {
        color: c.color,
        pretty: c.pretty,
        ..Default::default()
    };
    match &c.command {
        Command::Schema => {
            let schema = schemars::schema_for!(Report);
            print(&json(&schema, true)?)?;
        }
        Command::Serve(a) => {
            let opts = service::Options {
                root: c.root.clone(),
                data: c.data.clone(),
                interval: a.interval,
                status: a.status.clone(),
                prometheus: a.prometheus.clone(),
                nfd: a.nfd.clone(),
                cycles: a.cycles,
            };
            Service::new(opts, table)?.run()?;
        }
        Command::Capture { dir } => {
            let n = capture::capture(&table, dir)
                .with_context(|| format!("capture into {}", dir.display()))?;
            eprintln!(
                "virtprobe: captured {n} files and the live answers into {}",
                dir.display()
            );
        }
        Command::Report { format } => {
            let report = probe(&c, &table)?;
            let format = if c.json { Format::Json } else { *format };
            let r: &dyn Render = match format {
                Format::Text => &render::Text,
                Format::Json => &render::Json,
                Format::Prometheus => &render::Prometheus,
                Format::Nfd => &render::Nfd,
            };
            print(&render::to_bytes(r, &report, &ctx)?)?;
        }
        Command::Explain { id } => {
            let report = probe(&c, &table)?;
            let t = find(&report, id)?;
            let out = if c.json {
                json(t, c.pretty)?
            } else {
                render::to_bytes(&render::Explain(t), &report, &ctx)?
            };
            print(&out)?;
        }
        Command::Check { ids, quiet } => {
            let report = probe(&c, &table)?;
            let mut out = String::new();
            let mut all = true;
            for id in ids {
                let t = find(&report, id)?;
                all &= t.verdict == Verdict::Ready;
                out.push_str(&format!(
                    "{}: {} — {}\n",
                    t.id,
                    t.verdict.as_str(),
                    render::clean(&t.summary)
                ));
            }
            if !quiet {
                print(out.as_bytes())?;
            }
            return Ok(if all { Exit::Ok } else { Exit::NotMet });
        }
        Command::Advise(a) => {
            let report = probe(&c, &table)?;
            let word = |v: &dyn std::fmt::Debug| format!("{v:?}").to_lowercase();
            let req = advise::Request {
                guest_os: word(&a.guest_os),
                guest_arch: a.guest_arch.clone(),
                isolation: a.isolation.map(|i| word(&i)),
                needs: a.need.iter().map(|n| need_word(*n).to_string()).collect(),
                open_source_only: a.license.is_some(),
            };
            let advice = advise::advise(&report, &table, &req);
            let out = if c.json {
                json(&advice, c.pretty)?
            } else {
                let mut out = Vec::new();
                advise::render_text(&advice, &mut out)?;
                out
            };
            print(&out)?;
        }
    }
    Ok(Exit::Ok)
}

fn need_word(n: super::args::Need) -> &'static str {
    use super::args::Need;
    match n {
        Need::Smp => "smp",
        Need::Hotplug => "hotplug",
        Need::LiveMigration => "live-migration",
        Need::NoRoot => "no-root",
    }
}
