//! virtprobe: which virtualization technologies can run on this Linux host, and what stands in the
//! way of the others.
//!
//! The pipeline: [`host::HostFs`] reads the host (or a captured tree under `--root`), [`probe`]
//! gathers typed [`facts`], [`rules`] holds the technology table (data, not code) and evaluates its
//! requirements, [`report`] turns the results into verdicts, and [`render`] writes them for a person,
//! as JSON, as Prometheus metrics or as node-feature-discovery features. [`serve`] keeps them current
//! as a service, [`advise`] ranks the options for a workload, [`capture`] copies what the probe read.
#![deny(missing_docs)]

pub mod advise;
pub mod cache;
pub mod capture;
pub mod facts;
pub mod held;
pub mod host;
pub mod probe;
pub mod render;
pub mod report;
pub mod rules;
pub mod serve;
pub mod swap;
pub mod version;

use std::path::{Path, PathBuf};

use host::HostFs;
use probe::live::{Live, LiveData, Native, NoLive};
use rules::{DataError, Table};

/// What can stop virtprobe (everything else becomes an `unknown` fact).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The technology table is malformed.
    #[error("{0}")]
    Data(#[from] DataError),
    /// `--root` is not a readable directory.
    #[error("--root {path}: {reason}")]
    Root {
        /// The path given.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// An id that is not in the table.
    #[error("unknown technology {0:?} (see `virtprobe --json` for the ids)")]
    UnknownTechnology(String),
    /// Writing an output failed.
    #[error("{path}: {source}")]
    Output {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// Something this host cannot do.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Open the host: the running one, or a captured tree.
pub fn open_host(root: Option<&Path>) -> Result<HostFs, Error> {
    match root {
        None => Ok(HostFs::live()),
        Some(dir) => HostFs::with_root(dir).map_err(|e| Error::Root {
            path: dir.display().to_string(),
            reason: match e {
                host::ReadError::NotFound(_) => "no such directory".into(),
                host::ReadError::NotAFile(_) => "not a directory".into(),
                other => other.to_string(),
            },
        }),
    }
}

/// The live sources for a host: the running host's own, a captured tree's `virtprobe-live.json`,
/// or none.
pub fn live_sources(fs: &HostFs) -> Box<dyn Live> {
    if fs.is_live() {
        return Box::new(Native);
    }
    match probe::live::load_live_file(fs) {
        Ok(Some(d)) => Box::new(d),
        Ok(None) => Box::new(NoLive(None)),
        // A bad live file is reported in `errors`, like any unreadable fact.
        Err(e) => Box::new(NoLive(Some(e))),
    }
}

/// Load the table: a data file, or the embedded one.
pub fn load_table(data: Option<&Path>) -> Result<Table, Error> {
    Ok(match data {
        Some(p) => Table::load(p)?,
        None => Table::embedded(),
    })
}

/// Probe a host and judge the table: the whole pipeline.
pub fn run(fs: &HostFs, live: &dyn Live, table: &Table) -> (report::Report, probe::Probed) {
    let probed = probe::probe(fs, live, &table.needs());
    (report::build(&probed, table, &root_label(fs)), probed)
}

/// How the report names the root it judged: `/` for the running host, else the tree's path.
pub fn root_label(fs: &HostFs) -> String {
    if fs.is_live() {
        "/".to_string()
    } else {
        fs.root().display().to_string()
    }
}

/// Probe with explicit live data (tests, captures).
pub fn run_with(
    root: &Path,
    live: Option<LiveData>,
    table: &Table,
) -> Result<report::Report, Error> {
    let fs = open_host(Some(root))?;
    let live: Box<dyn Live> = match live {
        Some(d) => Box::new(d),
        None => live_sources(&fs),
    };
    Ok(run(&fs, live.as_ref(), table).0)
}

/// A path argument made absolute for messages.
pub fn display_path(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// How many cases each property test generates: `PROPTEST_CASES`, default 5,000.
#[cfg(test)]
pub(crate) fn proptest_cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(5_000)
}
