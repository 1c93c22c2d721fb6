//! `virtprobe diff OLD NEW`: which verdicts differ between two states of a host (or two hosts),
//! and the facts behind each. OLD and NEW are JSON documents virtprobe wrote (a `--json` report
//! or `serve`'s status file) or captured trees, which are probed. Exit 0 when no verdict
//! differs, 1 when one does, 2 on error, like diff(1).

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use virtprobe::host::{HostFs, Mode, live};
use virtprobe::report::changes::{self, Change, FactValue, Seen, Side};
use virtprobe::report::documents::Diff;
use virtprobe::rules::Table;

use super::args::DiffArgs;
use super::commands::{json, print};
use super::{Config, Exit};

/// The largest document `diff` reads.
const MAX_DOCUMENT: u64 = 64 << 20;

pub fn diff(c: &Config, a: &DiffArgs, table: &Table) -> Result<Exit> {
    let old = side(&a.old, table)?;
    let new = side(&a.new, table)?;
    let found = changes::compare(&old, &new, table);
    let out = if c.json {
        json(&Diff::new(found.clone()), c.output.pretty)?
    } else {
        text(&found).into_bytes()
    };
    print(&out)?;
    Ok(if found.is_empty() {
        Exit::Ok
    } else {
        Exit::NotMet
    })
}

/// One side: a folder is a captured tree, probed; a file is a document virtprobe wrote, read
/// through the descriptor that was opened (`O_NONBLOCK`: a FIFO or a device is refused, never
/// waited on), bounded.
fn side(path: &Path, table: &Table) -> Result<Side> {
    let shown = path.display();
    let fd = rustix::fs::open(
        path,
        rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::NONBLOCK
            | rustix::fs::OFlags::NOCTTY
            | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(std::io::Error::from)
    .with_context(|| format!("{shown}"))?;
    let file = std::fs::File::from(fd);
    let md = file.metadata().with_context(|| format!("{shown}"))?;
    if md.is_dir() {
        let fs = HostFs::with_root(path, Mode::Tree)?;
        let report = virtprobe::report::run(&fs, live::sources_for(&fs).as_ref(), table);
        return Ok(Side::of(&report));
    }
    if !md.is_file() {
        bail!("{shown}: neither a JSON document nor a captured tree folder");
    }
    let mut bytes = Vec::new();
    file.take(MAX_DOCUMENT + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{shown}"))?;
    if bytes.len() as u64 > MAX_DOCUMENT {
        bail!("{shown}: larger than {MAX_DOCUMENT} bytes, not read");
    }
    let side: Side = serde_json::from_slice(&bytes).with_context(|| {
        format!("{shown}: not a report (virtprobe --json) or a status file of virtprobe serve")
    })?;
    if side.schema_version != virtprobe::report::SCHEMA_VERSION {
        bail!(
            "{shown}: schema_version {} (this virtprobe reads {})",
            side.schema_version,
            virtprobe::report::SCHEMA_VERSION
        );
    }
    Ok(side)
}

/// One line per technology whose verdict differs, then one per fact behind it (values from a
/// host are shown escaped, as everywhere in text).
fn text(found: &[Change]) -> String {
    let mut lines = Vec::new();
    for c in found {
        let word = |v: Option<virtprobe::report::Verdict>| v.map_or("(absent)", |v| v.as_str());
        lines.push(format!(
            "{}: {} → {}",
            c.technology,
            word(c.from),
            word(c.to)
        ));
        if c.because.is_empty() {
            lines.push("    (no fact its verdict reads differs)".into());
        }
        for b in &c.because {
            let change = fact_change(b.from.as_ref(), b.to.as_ref());
            lines.push(format!("    {}: {change}", b.fact));
        }
    }
    let mut out = String::new();
    for l in lines {
        let _ = writeln!(out, "{}", virtprobe::render::clean(&l));
    }
    out
}

/// `6.1.0 → 4.19.0`; a set's entries as `-gone +new`; a map's as `KEY: old → new`.
fn fact_change(from: Option<&Seen>, to: Option<&Seen>) -> String {
    match (from, to) {
        (Some(Seen::Value(FactValue::Names(a))), Some(Seen::Value(FactValue::Names(b)))) => {
            let gone = a.iter().map(|n| format!("-{n}"));
            let new = b.iter().map(|n| format!("+{n}"));
            gone.chain(new).collect::<Vec<_>>().join(" ")
        }
        (Some(Seen::Value(FactValue::Pairs(a))), Some(Seen::Value(FactValue::Pairs(b)))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .map(|k| {
                    let v = |m: &std::collections::BTreeMap<String, String>| {
                        m.get(k).map_or("(not set)".to_string(), Clone::clone)
                    };
                    format!("{k}: {} → {}", v(a), v(b))
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
        _ => format!("{} → {}", seen(from), seen(to)),
    }
}

fn seen(s: Option<&Seen>) -> String {
    match s {
        None => "(absent)".into(),
        Some(Seen::Unknown { unknown }) => format!("unknown ({unknown})"),
        Some(Seen::Value(v)) => match v {
            FactValue::Bool(b) => b.to_string(),
            FactValue::Int(i) => i.to_string(),
            FactValue::Text(t) if t.is_empty() => "(empty)".into(),
            FactValue::Text(t) => t.clone(),
            FactValue::Names(n) => n.iter().cloned().collect::<Vec<_>>().join(", "),
            FactValue::Pairs(m) => m
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", "),
        },
    }
}
