//! Installed tools: the names the table asks about, looked for in `PATH` and the usual bin and
//! sbin folders.
//!
//! Looks each wanted name up (one `fstatat`) in each folder of `PATH` (live, or as a captured tree
//! recorded it) and of [`BIN_DIRS`], in that order; a tool's path is the first folder that has it.
//! A name ending in `*` is a prefix: only for those is a folder listed.

use std::collections::{BTreeMap, BTreeSet};

use crate::host::HostFs;

/// The usual folders for programs, searched on every host (and under `--root`).
pub const BIN_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
    "/usr/libexec",
    "/opt/bin",
];

/// Where the tools are looked for (each one's path is the fact's value).
pub const SOURCE: &str = "PATH and the usual bin/sbin folders";

/// `PATH` folders looked at, at most, and how deep one may be: a captured tree's
/// `virtprobe-live.json` names them, and must not make a run list thousands of folders.
const MAX_PATH_DIRS: usize = 64;
const MAX_PATH_DEPTH: usize = 32;

/// The tools of `wanted` found, and those a failed lookup leaves unknown.
pub fn find(fs: &HostFs, path_dirs: &[String], wanted: &BTreeSet<String>) -> Lookup {
    let mut found = BTreeMap::new();
    let mut unsure = BTreeMap::new();
    if wanted.is_empty() {
        return Lookup { found, unsure };
    }
    let prefixes: Vec<&str> = wanted.iter().filter_map(|w| w.strip_suffix('*')).collect();
    // PATH usually names the usual folders again, and /bin is often /usr/bin: each folder is
    // listed once, under the first name that reaches it.
    let mut seen = Vec::new();
    let path_dirs = path_dirs
        .iter()
        .map(String::as_str)
        .filter(|d| {
            d.len() <= 4096 && d.split('/').filter(|c| !c.is_empty()).count() <= MAX_PATH_DEPTH
        })
        .take(MAX_PATH_DIRS);
    let names: Vec<&String> = wanted.iter().filter(|w| !w.ends_with('*')).collect();
    for dir in path_dirs.chain(BIN_DIRS.iter().copied()) {
        // A folder that is not there holds no tool; one that cannot be searched (EACCES, EIO)
        // might, so what is not found elsewhere stays unknown.
        let folder = match fs.open_folder(dir) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                for w in wanted {
                    unsure.entry(w.clone()).or_insert_with(|| e.to_string());
                }
                continue;
            }
        };
        if seen.contains(&folder.id) {
            continue;
        }
        seen.push(folder.id);
        for name in &names {
            if found.contains_key(*name) {
                continue;
            }
            match fs.has_entry(&folder, name) {
                Ok(true) => {
                    found.insert((*name).clone(), format!("{dir}/{name}"));
                }
                Ok(false) => {}
                // A folder that fails one lookup is not asked again: what is not found
                // elsewhere stays unknown, and the report lists the failure once.
                Err(e) => {
                    for w in wanted {
                        unsure.entry(w.clone()).or_insert_with(|| e.to_string());
                    }
                    break;
                }
            }
        }
        if prefixes.is_empty() {
            continue;
        }
        let listed = match fs.read_dir(dir) {
            Ok(names) => names,
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => {
                for p in &prefixes {
                    unsure
                        .entry(format!("{p}*"))
                        .or_insert_with(|| e.to_string());
                }
                Vec::new()
            }
        };
        for name in listed {
            if let Some(p) = prefixes.iter().find(|p| name.starts_with(**p)) {
                found
                    .entry(format!("{p}*"))
                    .or_insert_with(|| format!("{dir}/{name}"));
            }
        }
    }
    unsure.retain(|name, _| !found.contains_key(name));
    Lookup { found, unsure }
}

/// Names looked up: those found (with where), and those a failed lookup leaves unknown (with
/// why).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup<T = BTreeMap<String, String>> {
    /// Found.
    pub found: T,
    /// Not found, but a lookup failed for a reason other than "not found".
    pub unsure: BTreeMap<String, String>,
}
