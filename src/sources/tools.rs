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

/// The tools of `wanted` found: name (or `prefix*`) → the path it was found at.
pub fn find(
    fs: &HostFs,
    path_dirs: &[String],
    wanted: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    if wanted.is_empty() {
        return found;
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
        let Ok(folder) = fs.open_folder(dir) else {
            continue;
        };
        if seen.contains(&folder.id) {
            continue;
        }
        seen.push(folder.id);
        for name in &names {
            if !found.contains_key(*name) && fs.has_entry(&folder, name) {
                found.insert((*name).clone(), format!("{dir}/{name}"));
            }
        }
        if prefixes.is_empty() {
            continue;
        }
        for name in fs.read_dir(dir).unwrap_or_default() {
            if let Some(p) = prefixes.iter().find(|p| name.starts_with(**p)) {
                found
                    .entry(format!("{p}*"))
                    .or_insert_with(|| format!("{dir}/{name}"));
            }
        }
    }
    found
}
