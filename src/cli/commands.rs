//! One function per command: report, explain, check, advise, list, capture, serve, health,
//! completions, manpage, schema (`diff` has its own module). Only the commands that judge a host load the table.

use std::io::Write;

use anyhow::{Context as _, Result, bail};
use virtprobe::host::{HostFs, live};
use virtprobe::render::{self, Render, layout::hanging};
use virtprobe::report::documents::{Explanation, Listing};
use virtprobe::report::status::Status;
use virtprobe::report::{Report, TechReport, Verdict};
use virtprobe::rules::Table;
use virtprobe::service::{self, Service};
use virtprobe::{advise, capture, fix};

use super::args::{
    AdviseArgs, CaptureArgs, CheckArgs, Command, CompletionsArgs, Document, ExplainArgs, FixArgs,
    Format, ManpageArgs, SchemaArgs, ServeArgs,
};
use super::{Config, Exit};

/// Write to standard output; a reader that went away is not an error worth a message.
pub(super) fn print(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

pub(super) fn json<T: serde::Serialize>(v: &T, pretty: bool) -> Result<Vec<u8>> {
    let mut text = if pretty {
        serde_json::to_vec_pretty(v)?
    } else {
        serde_json::to_vec(v)?
    };
    text.push(b'\n');
    Ok(text)
}

/// Probe the host (or the tree `--root`/`--host-root` names) and judge it.
fn probe(c: &Config, table: &Table) -> Result<Report> {
    Ok(probe_with_facts(c, table)?.0)
}

/// The same, keeping the facts the verdicts were judged on.
fn probe_with_facts(c: &Config, table: &Table) -> Result<(Report, virtprobe::facts::Facts)> {
    let fs = match &c.root {
        None => HostFs::live()?,
        Some((dir, mode)) => HostFs::with_root(dir, *mode)?,
    };
    let live = live::sources_for(&fs);
    Ok(virtprobe::report::run_with_facts(&fs, live.as_ref(), table))
}

/// A technology by id, whatever its case; an unknown id gets the nearest ones suggested.
fn find<'a>(report: &'a Report, id: &str) -> Result<&'a TechReport> {
    let wanted = id.to_lowercase();
    if let Some(t) = report.get(&wanted) {
        return Ok(t);
    }
    let mut near: Vec<(usize, &str)> = report
        .technologies
        .iter()
        .map(|t| (strsim::levenshtein(&wanted, &t.id), t.id.as_str()))
        .filter(|(d, t)| *d <= 2 || t.starts_with(&wanted) || wanted.starts_with(t))
        .collect();
    near.sort();
    let hint = match near.first() {
        Some((_, t)) => format!("; did you mean {t}?"),
        None => String::new(),
    };
    bail!("unknown technology {id:?}{hint} (`virtprobe list` shows every id)")
}

/// Run one command.
pub fn run(c: Config) -> Result<Exit> {
    match &c.command {
        Command::Report(a) => report(&c, a.format.unwrap_or(Format::Text)),
        Command::Explain(a) => explain(&c, a),
        Command::Check(a) => check(&c, a),
        Command::Advise(a) => advise(&c, a),
        Command::List(_) => list(&c),
        Command::Fix(a) => fix(&c, a),
        Command::Capture(a) => capture(&c, a),
        Command::Diff(a) => super::diff::diff(&c, a, &table(&c)?),
        Command::Serve(a) => serve(&c, a),
        Command::Health(a) => health(&a.status, a.max_age),
        Command::Completions(a) => completions(&c, a),
        Command::Manpage(a) => manpage(a),
        Command::Schema(a) => schema(a),
    }
}

fn table(c: &Config) -> Result<Table> {
    Ok(service::load_table(c.data.as_deref())?)
}

fn report(c: &Config, format: Format) -> Result<Exit> {
    let report = probe(c, &table(c)?)?;
    let r: &dyn Render = match format {
        Format::Text => &render::Text,
        Format::Json => &render::Json,
        Format::Prometheus => &render::Prometheus,
        Format::Nfd => &render::Nfd,
    };
    print(&render::to_bytes(r, &report, &c.output)?)?;
    Ok(Exit::Ok)
}

fn explain(c: &Config, a: &ExplainArgs) -> Result<Exit> {
    let table = table(c)?;
    let report = probe(c, &table)?;
    let t = find(&report, &a.id)?;
    let out = if c.json {
        json(&Explanation::new(t.clone()), c.output.pretty)?
    } else {
        let rules = table.get(&t.id);
        render::to_bytes(&render::Explain(t, rules), &report, &c.output)?
    };
    print(&out)?;
    Ok(Exit::Ok)
}

fn check(c: &Config, a: &CheckArgs) -> Result<Exit> {
    let report = probe(c, &table(c)?)?;
    let mut out = String::new();
    let mut all = true;
    for id in &a.ids {
        let t = find(&report, id)?;
        all &= t.verdict == Verdict::Ready;
        let first = format!("{}: {} — ", t.id, t.verdict.as_str());
        out.push_str(&hanging(
            &first,
            &render::clean(&t.summary),
            c.output.width(),
        ));
        out.push('\n');
    }
    if !a.quiet {
        print(out.as_bytes())?;
    }
    Ok(if all { Exit::Ok } else { Exit::NotMet })
}

fn fix(c: &Config, a: &FixArgs) -> Result<Exit> {
    let table = table(c)?;
    let (report, facts) = probe_with_facts(c, &table)?;
    let ids = a
        .ids
        .iter()
        .map(|id| find(&report, id).map(|t| t.id.as_str()))
        .collect::<Result<Vec<_>>>()?;
    let book = fix::Book::embedded()?;
    let plan = fix::plan(&report, &facts, &table, &book, &ids);
    let out = if c.json {
        json(&plan, c.output.pretty)?
    } else {
        fix::script::render(&plan, &ids).into_bytes()
    };
    print(&out)?;
    Ok(Exit::Ok)
}

fn advise(c: &Config, a: &AdviseArgs) -> Result<Exit> {
    let table = table(c)?;
    let report = probe(c, &table)?;
    let req = advise::Request {
        guest_os: a.guest_os,
        guest_arch: a.guest_arch.clone(),
        isolation: a.isolation,
        needs: a.need.clone(),
        open_source_only: a.license.is_some(),
    };
    let advice = advise::advise(&report, &table, &req);
    let out = if c.json {
        json(&advice, c.output.pretty)?
    } else {
        let mut out = Vec::new();
        advise::render_text(&advice, c.output.width(), &mut out)?;
        out
    };
    print(&out)?;
    Ok(Exit::Ok)
}

/// `list`: on a terminal, columns under headings; through a pipe, one technology per line as
/// tab-separated fields (id, category, name) with no heading, so `cut -f1` gives the ids.
fn list(c: &Config) -> Result<Exit> {
    let listing = Listing::new(&table(c)?);
    let out = if c.json {
        json(&listing, c.output.pretty)?
    } else if c.output.pipe {
        let mut out = String::new();
        for t in &listing.technologies {
            out.push_str(&format!("{}\t{}\t{}\n", t.id, t.category.as_str(), t.name));
        }
        out.into_bytes()
    } else {
        let idw = listing
            .technologies
            .iter()
            .map(|t| t.id.len())
            .max()
            .unwrap_or(10);
        let mut out = format!("{:idw$}  {:<23} NAME\n", "ID", "CATEGORY");
        for t in &listing.technologies {
            let first = format!("{:idw$}  {:<23} ", t.id, t.category.as_str());
            out.push_str(&hanging(&first, &t.name, c.output.width()));
            out.push('\n');
        }
        out.into_bytes()
    };
    print(&out)?;
    Ok(Exit::Ok)
}

fn capture(c: &Config, a: &CaptureArgs) -> Result<Exit> {
    let dir = &a.dir;
    let done = capture::capture(&table(c)?, dir, a.keep_going)
        .with_context(|| format!("capture into {}", dir.display()))?;
    for why in done.unreadable.values() {
        super::say(&format!("not copied: {why} (recorded as unreadable)"));
    }
    super::say(&format!(
        "captured {} files and the live answers into {}",
        done.files,
        dir.display()
    ));
    Ok(Exit::Ok)
}

fn serve(c: &Config, a: &ServeArgs) -> Result<Exit> {
    let opts = service::Options {
        root: c.root.clone(),
        data: c.data.clone(),
        interval: a.interval,
        status: a.status.clone(),
        prometheus: a.prometheus.clone(),
        nfd: a.nfd.clone(),
        cycles: a.cycles,
        runtime: service::output::runtime_dir(),
    };
    Service::new(opts, table(c)?)?.run()?;
    Ok(Exit::Ok)
}

/// Shell completions; the technology ids of the table (`--data`, else the embedded one) are
/// offered where a command takes them (`explain`, `check`, `fix`).
fn completions(c: &Config, a: &CompletionsArgs) -> Result<Exit> {
    const TAKE_IDS: [(&str, &str); 3] = [("explain", "id"), ("check", "ids"), ("fix", "ids")];
    let table = table(c)?;
    let ids: Vec<clap::builder::PossibleValue> = table
        .technologies
        .iter()
        .map(|t| clap::builder::PossibleValue::new(t.id.clone()).help(t.name.clone()))
        .collect();
    let mut cmd = <super::Cli as clap::CommandFactory>::command();
    for (sub, arg) in TAKE_IDS {
        let parser = clap::builder::PossibleValuesParser::new(ids.clone());
        cmd = cmd.mut_subcommand(sub, |s| s.mut_arg(arg, |a| a.value_parser(parser)));
    }
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "virtprobe", &mut out);
    // clap_complete's fish script offers no value of a positional argument: say them here.
    if a.shell == clap_complete::Shell::Fish {
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        for (sub, _) in TAKE_IDS {
            for t in &table.technologies {
                out.extend_from_slice(
                    format!(
                        "complete -c virtprobe -n \"__fish_virtprobe_using_subcommand {sub}\" -f -a {} -d {}\n",
                        quote(&t.id),
                        quote(&t.name)
                    )
                    .as_bytes(),
                );
            }
        }
    }
    print(&out)?;
    Ok(Exit::Ok)
}

fn manpage(a: &ManpageArgs) -> Result<Exit> {
    if a.list {
        print(super::manual::names().join("\n").as_bytes())?;
        print(b"\n")?;
        return Ok(Exit::Ok);
    }
    match super::manual::page(&a.page) {
        Some(page) => print(&page)?,
        None => bail!(
            "no manual page {:?}; `virtprobe manpage --list` names them",
            a.page
        ),
    }
    Ok(Exit::Ok)
}

fn schema(a: &SchemaArgs) -> Result<Exit> {
    let schema = match a.document {
        Document::Report => schemars::schema_for!(Report),
        Document::Status => schemars::schema_for!(Status),
        Document::Explain => schemars::schema_for!(Explanation),
        Document::Advise => schemars::schema_for!(advise::Advice),
        Document::List => schemars::schema_for!(Listing),
        Document::Diff => schemars::schema_for!(virtprobe::report::documents::Diff),
        Document::Fix => schemars::schema_for!(fix::Plan),
    };
    print(&json(&schema, true)?)?;
    Ok(Exit::Ok)
}

/// The largest status file `health` reads.
const MAX_STATUS: u64 = 16 << 20;

/// Whether the status file is there, whole, and younger than `max_age`. The file is opened once
/// (`O_NOFOLLOW | O_NONBLOCK`: a symlink, a FIFO or a device swapped in is neither followed nor
/// waited on), must be a regular file, and is read through that descriptor, bounded.
fn health(path: &std::path::Path, max_age: Option<std::time::Duration>) -> Result<Exit> {
    use std::io::Read;
    let stale = |why: String| {
        super::say(&format!("{}: {why}", path.display()));
        Ok(Exit::NotMet)
    };
    let opened = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::NOFOLLOW
            | rustix::fs::OFlags::NONBLOCK
            | rustix::fs::OFlags::NOCTTY
            | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    );
    let file = match opened {
        Ok(fd) => std::fs::File::from(fd),
        Err(rustix::io::Errno::LOOP) => return stale("is a symbolic link, not read".into()),
        Err(e) => return stale(std::io::Error::from(e).to_string()),
    };
    match file.metadata() {
        Ok(md) if md.is_file() => {}
        Ok(_) => return stale("not a regular file, not read".into()),
        Err(e) => return stale(e.to_string()),
    }
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_STATUS + 1).read_to_end(&mut bytes) {
        return stale(e.to_string());
    }
    if bytes.len() as u64 > MAX_STATUS {
        return stale(format!("larger than {MAX_STATUS} bytes, not read"));
    }
    let status: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => return stale(format!("not JSON: {e}")),
    };
    let Some(at) = status["generated_at"]
        .as_str()
        .and_then(|t| humantime::parse_rfc3339(t).ok())
    else {
        return stale("no generated_at".into());
    };
    // By default the service's own interval decides: with nothing changing, it probes once an
    // interval.
    let max_age = max_age.unwrap_or_else(|| {
        status["service"]["interval_seconds"]
            .as_f64()
            .and_then(|s| std::time::Duration::try_from_secs_f64(s * 2.0 + 60.0).ok())
            .unwrap_or(std::time::Duration::from_secs(15 * 60))
    });
    let age = std::time::SystemTime::now()
        .duration_since(at)
        .unwrap_or_default();
    if age > max_age {
        return stale(format!(
            "written {} ago, more than {}",
            humantime::format_duration(std::time::Duration::from_secs(age.as_secs())),
            humantime::format_duration(max_age)
        ));
    }
    Ok(Exit::Ok)
}
