//! `virtprobe capture DIR`: copy every file the probe reads into DIR, so `virtprobe --root DIR`
//! reproduces this host's report (for bug reports, fixtures, offline review).
//!
//! Runs the probe once on the running host while recording what it looks at: files read are
//! written with the bytes read; folders listed are recreated with empty entries (for the bin
//! folders, only the tools the table asks about); paths only checked for existence become empty
//! files or folders. Of PID 1's environment only `container=` is kept. The live-only answers
//! (CPUID leaves, `uname`, the KVM check, the user, PATH) go to `virtprobe-live.json` at the top,
//! with the paths that could not be read and why (`--root` answers them as unreadable, not absent).
//!
//! Everything is written into a new temporary folder beside DIR, made mode 0700 (not from the
//! umask), and every file and folder in it is made relative to its descriptors
//! ([`crate::outdir::OutDir`]: `O_EXCL | O_NOFOLLOW`, files 0600, folders 0700), so a symlink
//! planted by another user is never followed. The folder is renamed to DIR when complete and
//! removed when not, or when SIGINT, SIGTERM or SIGHUP arrives: DIR holds a whole capture or
//! nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::host::live::{LIVE_FILE, Live, LiveData, Native, cpuid_key};
use crate::host::{HostError, HostFs, Touch};
use crate::outdir::OutDir;
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
    /// Some host paths could not be read, and the capture was not told to keep going.
    #[error("could not read {}; nothing was kept (--keep-going keeps a capture that records them as unreadable)", listed(.0))]
    Unreadable(BTreeMap<String, String>),
    /// A signal asked to stop.
    #[error("interrupted by a signal; nothing was kept")]
    Interrupted,
    /// Writing failed.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// Paths and why, the first five, for one line.
fn listed(paths: &BTreeMap<String, String>) -> String {
    let mut shown: Vec<&str> = paths.values().take(5).map(String::as_str).collect();
    if paths.len() > 5 {
        let more = format!("and {} more", paths.len() - 5);
        return format!("{} {more}", shown.join("; "));
    }
    shown.dedup();
    shown.join("; ")
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaptureError + '_ {
    move |e| CaptureError::Io(path.display().to_string(), e)
}

/// What a capture wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captured {
    /// Files written.
    pub files: usize,
    /// Host paths that could not be read, stat'ed or listed, with why (recorded in the capture).
    pub unreadable: BTreeMap<String, String>,
    /// Of those, the ones the probe did not expect (not a file only a privileged user may read,
    /// which the report lists as needing privilege anyway): these fail a capture.
    pub failed: BTreeMap<String, String>,
}

/// The components of a plain absolute host path (`None` for `..`, `.` or empty components).
fn components(host_path: &str) -> Option<Vec<&str>> {
    let rel = host_path.trim_start_matches('/');
    let parts: Vec<&str> = rel.split('/').collect();
    if rel.is_empty()
        || parts
            .iter()
            .any(|c| *c == ".." || *c == "." || c.is_empty())
    {
        return None;
    }
    Some(parts)
}

/// The folder holding a host path's last component inside the capture, made as needed, and that
/// component; `None` when the path is not plain or its folders cannot be made (another recorded
/// path is a file there).
fn parent_of<'a>(top: &OutDir, host_path: &'a str) -> Option<(OutDir, &'a str)> {
    let parts = components(host_path)?;
    let (last, dirs) = parts.split_last()?;
    let mut d = top.sub(".").ok()?;
    for c in dirs {
        d = d.make_dir(c, 0o700).ok()?;
    }
    Some((d, last))
}

/// A new file, or nothing when something is already there (a file read wins over a path only
/// looked at: files are written first).
fn file(top: &OutDir, host_path: &str, bytes: &[u8]) -> Result<bool, CaptureError> {
    let Some((d, name)) = parent_of(top, host_path) else {
        return Ok(false);
    };
    match d.write_new(name, bytes, 0o600) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::EXIST.raw_os_error()) => Ok(false),
        Err(e) => Err(io(&d.path().join(name))(e)),
    }
}

/// A folder (an existing one is kept).
fn folder(top: &OutDir, host_path: &str) -> Option<OutDir> {
    let (d, name) = parent_of(top, host_path)?;
    d.make_dir(name, 0o700).ok()
}

/// Of an environment block, only `container=` (the container marker); nothing else of it.
fn container_only(environ: &[u8]) -> Vec<u8> {
    environ
        .split(|&b| b == 0)
        .filter(|kv| kv.starts_with(b"container="))
        .flat_map(|kv| kv.iter().copied().chain([0]))
        .collect()
}

/// Stops a capture at the next file when SIGINT, SIGTERM or SIGHUP arrives. When it is dropped,
/// those signals take their default action again (terminate), rather than being ignored:
/// signal-hook cannot put a previous handler back, so a program that captures twice has the
/// second capture stopped by the default action, without its clean-up (the command captures once).
struct Signals {
    raised: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
    ids: Vec<signal_hook::SigId>,
}

impl Signals {
    fn catch() -> Result<Signals, CaptureError> {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let err = |e| CaptureError::Io("signal handling".into(), e);
        let raised = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let mut ids = Vec::new();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Once the capture is over, the default action again (signal-hook does not put the
            // previous handler back when an action is removed).
            signal_hook::flag::register_conditional_default(sig, Arc::clone(&done)).map_err(err)?;
            ids.push(signal_hook::flag::register(sig, Arc::clone(&raised)).map_err(err)?);
        }
        Ok(Signals { raised, done, ids })
    }

    fn check(&self) -> Result<(), CaptureError> {
        if self.raised.load(Ordering::Relaxed) {
            return Err(CaptureError::Interrupted);
        }
        Ok(())
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}

/// Capture this host into `dir`: what was written, and what could not be read. Every path that
/// could not be read is recorded in the capture; one the probe did not expect to be refused (an
/// `EIO`, a folder too large to list) fails the capture unless `keep_going`.
pub fn capture(table: &Table, dir: &Path, keep_going: bool) -> Result<Captured, CaptureError> {
    let parent_path = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = match dir.file_name().map(|n| n.to_str()) {
        Some(Some(n)) => n.to_string(),
        Some(None) => return Err(io(dir)(std::io::Error::other("a name that is not UTF-8"))),
        None => return Err(io(dir)(std::io::Error::other("names no folder"))),
    };
    let parent = OutDir::open(parent_path).map_err(io(parent_path))?;
    match parent.sub(&name) {
        Ok(d) if !d.names().map_err(io(dir))?.is_empty() => {
            return Err(CaptureError::NotEmpty(dir.display().to_string()));
        }
        _ => {}
    }
    let signals = Signals::catch()?;
    let (tmp_name, tmp) = parent
        .make_private_dir(".virtprobe-capture.")
        .map_err(io(parent_path))?;
    let written = write_capture(table, &tmp, &signals).and_then(|c| {
        signals.check()?;
        if !keep_going && !c.failed.is_empty() {
            return Err(CaptureError::Unreadable(c.failed));
        }
        // An empty folder already there is replaced by the rename.
        parent.rename(&tmp_name, &parent, &name).map_err(io(dir))?;
        parent.sync().map_err(io(parent_path))?;
        Ok(c)
    });
    if written.is_err() {
        let _ = parent.remove_tree(&tmp_name);
    }
    written
}

fn write_capture(table: &Table, top: &OutDir, signals: &Signals) -> Result<Captured, CaptureError> {
    let fs = HostFs::live()?.recording();
    let needs = table.needs();
    let native = Native;
    let probed = sources::probe(&fs, &native, &needs);
    let record = fs.take_record();
    // What could not be read: all of it is recorded; what no source expected fails a capture.
    let (mut unreadable, mut failed) = (BTreeMap::new(), BTreeMap::new());
    for (e, handled) in fs.every_failure() {
        let entry = (e.path().to_string(), e.to_string());
        if !handled {
            failed.insert(entry.0.clone(), entry.1.clone());
        }
        unreadable.insert(entry.0, entry.1);
    }
    let path_dirs = native.path_dirs();
    let mut written = 0usize;
    // Files read first, with their bytes.
    for (host_path, bytes) in &record.files {
        signals.check()?;
        let bytes = if host_path == "/proc/1/environ" {
            container_only(bytes)
        } else {
            bytes.clone()
        };
        written += usize::from(file(top, host_path, &bytes)?);
    }
    // Then what was only looked at or listed.
    for (host_path, touch) in &record.touched {
        signals.check()?;
        match touch {
            Touch::Dir => {
                folder(top, host_path);
            }
            Touch::Other => written += usize::from(file(top, host_path, b"")?),
            Touch::Listed(names) => {
                let Some(d) = folder(top, host_path) else {
                    continue;
                };
                let bin = BIN_DIRS.contains(&host_path.as_str()) || path_dirs.contains(host_path);
                for n in names {
                    if n.contains('/') || n == "." || n == ".." {
                        continue;
                    }
                    if !bin {
                        let _ = d.make_dir(n, 0o700);
                    } else if matches_tool(n, &needs.tools) && d.write_new(n, b"", 0o600).is_ok() {
                        written += 1;
                    }
                }
            }
        }
    }
    let mut live = LiveData {
        uname: native.uname(),
        kvm: probed.kvm.outcome.clone(),
        user: native.user(),
        tun: native.tun().and_then(Result::ok),
        path: path_dirs,
        unreadable: unreadable.clone(),
        ..Default::default()
    };
    if native.cpuid(0, 0).is_some() {
        for (leaf, sub) in LEAVES {
            if let Some(r) = native.cpuid(*leaf, *sub) {
                live.cpuid.insert(cpuid_key(*leaf, *sub), r);
            }
        }
    }
    let live_name = LIVE_FILE.trim_start_matches('/');
    let json = serde_json::to_vec_pretty(&live).map_err(|e| io(top.path())(e.into()))?;
    top.write_new(live_name, &json, 0o600)
        .map_err(io(&top.path().join(live_name)))?;
    top.sync().map_err(io(top.path()))?;
    Ok(Captured {
        files: written + 1,
        unreadable,
        failed,
    })
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
