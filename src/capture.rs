//! `virtprobe capture DIR`: copy every file the probe reads into DIR, so `virtprobe --root DIR`
//! reproduces this host's report (for bug reports, fixtures, offline review).
//!
//! Runs the probe once on the running host while recording what it looks at: files read are
//! written with the bytes read; folders listed are recreated with empty entries (for the bin
//! folders, only the tools the table asks about); paths only checked for existence become empty
//! files or folders. Of PID 1's environment only `container=` is kept. The live-only answers
//! (CPUID leaves, `uname`, the KVM check, the user, PATH) go to `virtprobe-live.json` at the top.
//! Everything is written into a temporary folder beside DIR (files 0600, folders 0700) that is
//! renamed to DIR when complete and removed when not: DIR holds a whole capture or nothing.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::host::live::{LIVE_FILE, Live, LiveData, Native, cpuid_key};
use crate::host::{HostError, HostFs, Touch};
use crate::rules::Table;
use crate::sources::{self, cpuid::LEAVES, tools::BIN_DIRS};

/// Why a capture failed (nothing is left behind).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The running host's root cannot be opened.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The destination exists and holds something.
    #[error("{0}: exists and is not empty")]
    NotEmpty(String),
    /// Writing failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaptureError + '_ {
    move |e| CaptureError::Io(path.display().to_string(), e)
}

/// Where a host path goes in the capture, when it is a plain absolute path.
fn target(dir: &Path, host_path: &str) -> Option<PathBuf> {
    let rel = host_path.trim_start_matches('/');
    if rel.is_empty()
        || rel
            .split('/')
            .any(|c| c == ".." || c == "." || c.is_empty())
    {
        return None;
    }
    Some(dir.join(rel))
}

fn make_dir(p: &Path) -> Result<(), CaptureError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(p)
        .map_err(io(p))
}

fn write_file(p: &Path, bytes: &[u8]) -> Result<(), CaptureError> {
    if let Some(parent) = p.parent() {
        make_dir(parent)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(p)
        .map_err(io(p))?;
    f.write_all(bytes).map_err(io(p))
}

/// Of an environment block, only `container=` (the container marker); nothing else of it.
fn container_only(environ: &[u8]) -> Vec<u8> {
    environ
        .split(|&b| b == 0)
        .filter(|kv| kv.starts_with(b"container="))
        .flat_map(|kv| kv.iter().copied().chain([0]))
        .collect()
}

/// Capture this host into `dir`; returns how many files were written.
pub fn capture(table: &Table, dir: &Path) -> Result<usize, CaptureError> {
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(CaptureError::NotEmpty(dir.display().to_string()));
    }
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".virtprobe-capture.")
        .tempdir_in(parent)
        .map_err(io(parent))?;
    let written = write_capture(table, tmp.path())?;
    // An empty folder already there is replaced by the rename.
    std::fs::rename(tmp.path(), dir).map_err(io(dir))?;
    let _ = tmp.keep();
    Ok(written)
}

fn write_capture(table: &Table, dir: &Path) -> Result<usize, CaptureError> {
    let fs = HostFs::live()?.recording();
    let needs = table.needs();
    let native = Native;
    let probed = sources::probe(&fs, &native, &needs);
    let record = fs.take_record();
    let path_dirs = native.path_dirs();
    let mut written = 0usize;
    for (host_path, touch) in &record.touched {
        let Some(t) = target(dir, host_path) else {
            continue;
        };
        match touch {
            Touch::Dir => make_dir(&t)?,
            Touch::Other => {
                if !t.exists() {
                    write_file(&t, b"")?;
                    written += 1;
                }
            }
            Touch::Listed(names) => {
                make_dir(&t)?;
                let bin = BIN_DIRS.contains(&host_path.as_str()) || path_dirs.contains(host_path);
                for n in names {
                    if n.contains('/') || n == "." || n == ".." {
                        continue;
                    }
                    let entry = t.join(n);
                    if entry.exists() {
                        continue;
                    }
                    if !bin {
                        make_dir(&entry)?;
                    } else if matches_tool(n, &needs.tools) {
                        write_file(&entry, b"")?;
                        written += 1;
                    }
                }
            }
        }
    }
    for (host_path, bytes) in &record.files {
        let Some(t) = target(dir, host_path) else {
            continue;
        };
        if t.is_dir() {
            continue;
        }
        let bytes = if host_path == "/proc/1/environ" {
            container_only(bytes)
        } else {
            bytes.clone()
        };
        write_file(&t, &bytes)?;
        written += 1;
    }
    let mut live = LiveData {
        uname: native.uname(),
        kvm: probed.kvm.outcome.clone(),
        user: native.user(),
        tun: native.tun(),
        path: path_dirs,
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
    let json = serde_json::to_vec_pretty(&live).map_err(|e| io(&live_path)(e.into()))?;
    write_file(&live_path, &json)?;
    Ok(written + 1)
}

fn matches_tool(name: &str, wanted: &std::collections::BTreeSet<String>) -> bool {
    wanted.iter().any(|w| match w.strip_suffix('*') {
        Some(p) => name.starts_with(p),
        None => name == w,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_container_marker_is_kept() {
        let env = b"PATH=/bin\0SECRET=hunter2\0container=docker\0HOME=/root\0";
        assert_eq!(super::container_only(env), b"container=docker\0");
        assert!(super::container_only(b"A=1\0B=2").is_empty());
    }
}
