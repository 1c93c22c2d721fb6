//! `virtprobe capture DIR`: copy every file the probe reads into DIR, so `virtprobe --root DIR`
//! reproduces this host's report (for bug reports, fixtures, offline review).
//!
//! Runs the probe once on the live host while recording what it looks at: files read are written
//! with the bytes read; directories listed are recreated with empty entries (for the bin folders,
//! only the tools the table asks about); paths only checked for existence become empty files or
//! folders. The live-only answers (CPUID leaves, `uname`, the KVM probe, the user, PATH) go to
//! `virtprobe-live.json` at the top of the tree. Nothing outside DIR is written.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::host::{HostFs, Touch};
use crate::probe::live::{LIVE_FILE, Live, LiveData, Native, cpuid_key};
use crate::probe::{self, BIN_DIRS, cpuid::LEAVES};
use crate::rules::Table;

fn out_err(path: &Path, e: std::io::Error) -> Error {
    Error::Output {
        path: path.display().to_string(),
        source: e,
    }
}

fn target(dir: &Path, host_path: &str) -> Option<PathBuf> {
    let rel = host_path.trim_start_matches('/');
    if rel.is_empty() || rel.split('/').any(|c| c == ".." || c == ".") {
        return None;
    }
    Some(dir.join(rel))
}

fn matches_tool(name: &str, wanted: &crate::probe::Names) -> bool {
    wanted.iter().any(|w| match w.strip_suffix('*') {
        Some(p) => name.starts_with(p),
        None => name == w,
    })
}

/// Capture this host into `dir`; returns how many files were written.
pub fn capture(table: &Table, dir: &Path) -> Result<usize, Error> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map_err(|e| out_err(dir, e))?
            .next()
            .is_some()
    {
        return Err(Error::Output {
            path: dir.display().to_string(),
            source: std::io::Error::other("exists and is not empty"),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| out_err(dir, e))?;
    let fs = HostFs::live_recording();
    let needs = table.needs();
    let native = Native;
    let probed = probe::probe(&fs, &native, &needs);

    let mut written = 0usize;
    let path_dirs = native.path_dirs();
    for (host_path, touch) in fs.touched() {
        let Some(t) = target(dir, &host_path) else {
            continue;
        };
        match touch {
            Touch::Dir => std::fs::create_dir_all(&t).map_err(|e| out_err(&t, e))?,
            Touch::Other => {
                if let Some(p) = t.parent() {
                    std::fs::create_dir_all(p).map_err(|e| out_err(p, e))?;
                }
                if !t.exists() {
                    std::fs::write(&t, b"").map_err(|e| out_err(&t, e))?;
                    written += 1;
                }
            }
            Touch::Listed(names) => {
                std::fs::create_dir_all(&t).map_err(|e| out_err(&t, e))?;
                let bin = BIN_DIRS.contains(&host_path.as_str()) || path_dirs.contains(&host_path);
                for n in names {
                    if n.contains('/') || n == "." || n == ".." {
                        continue;
                    }
                    let entry = t.join(&n);
                    if bin {
                        if matches_tool(&n, &needs.tools) && !entry.exists() {
                            std::fs::write(&entry, b"").map_err(|e| out_err(&entry, e))?;
                            written += 1;
                        }
                    } else if !entry.exists() {
                        std::fs::create_dir_all(&entry).map_err(|e| out_err(&entry, e))?;
                    }
                }
            }
        }
    }
    for (host_path, bytes) in fs.contents() {
        let Some(t) = target(dir, &host_path) else {
            continue;
        };
        if let Some(p) = t.parent() {
            std::fs::create_dir_all(p).map_err(|e| out_err(p, e))?;
        }
        if t.is_dir() {
            continue;
        }
        std::fs::write(&t, &bytes).map_err(|e| out_err(&t, e))?;
        written += 1;
    }

    let mut live = LiveData {
        uname: native.uname(),
        kvm: probed.kvm.clone(),
        user: native.user(),
        path: path_dirs.into_owned(),
        ..Default::default()
    };
    if native.cpuid(0, 0).is_some() {
        for (leaf, sub) in LEAVES {
            if let Some(r) = native.cpuid(*leaf, *sub) {
                live.cpuid.insert(cpuid_key(*leaf, *sub), r);
            }
        }
    }
    let live_path = dir.join(LIVE_FILE.trim_start_matches('/'));
    let json = serde_json::to_vec_pretty(&live)
        .map_err(|e| out_err(&live_path, std::io::Error::other(e)))?;
    std::fs::write(&live_path, json).map_err(|e| out_err(&live_path, e))?;
    Ok(written + 1)
}
