//! Where the service writes: its outputs, each replaced atomically in its folder
//! ([`crate::outdir::OutDir::replace`]: the folder opened once, a synced temporary file
//! `.virtprobe.NAME.RANDOM.tmp` exchanged with the output, never anything but a regular file
//! replaced), and its lock.
//!
//! The lock is an exclusive `flock` on a file in a runtime folder only the service's user can
//! open (`RuntimeDirectory=` with mode 0700 under systemd; see [`runtime_dir`]), named after the
//! status file's absolute path: another user cannot take it to stop the service, and removing and
//! recreating the status folder does not let a second `virtprobe serve` start beside the first.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use crate::outdir::OutDir;

/// The folder an output lives in.
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// An output's file name (the last component of its path).
pub fn file_name(path: &Path) -> std::io::Result<String> {
    match path.file_name().map(|n| n.to_str()) {
        Some(Some(n)) => Ok(n.to_string()),
        Some(None) => Err(std::io::Error::other("a file name that is not UTF-8")),
        None => Err(std::io::Error::other("names no file")),
    }
}

/// Replace `path` with `bytes`, atomically and durably (mode 0644).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = file_name(path)?;
    OutDir::open(folder(path))?.replace(&name, bytes, 0o644)
}

/// Remove the temporary files a killed run left beside the outputs `paths`; returns how many.
pub fn remove_stale(paths: &[&Path]) -> std::io::Result<usize> {
    let mut removed = 0;
    for p in paths {
        let name = file_name(p)?;
        match OutDir::open(folder(p)) {
            Ok(d) => removed += d.remove_stale(&[&name])?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// The runtime folder the lock goes in: `$RUNTIME_DIRECTORY` (systemd's `RuntimeDirectory=`, the
/// first when it names several), else `/run/virtprobe` for root, else
/// `$XDG_RUNTIME_DIR/virtprobe`, else `/tmp/virtprobe-UID`.
pub fn runtime_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("RUNTIME_DIRECTORY") {
        let first = d
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or("")
            .to_string();
        return PathBuf::from(first);
    }
    let uid = rustix::process::geteuid();
    if uid.is_root() {
        return PathBuf::from("/run/virtprobe");
    }
    match env("XDG_RUNTIME_DIR") {
        Some(d) => d.join("virtprobe"),
        None => PathBuf::from(format!("/tmp/virtprobe-{}", uid.as_raw())),
    }
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another virtprobe serve is writing {0} (its lock {1} is held)")]
    Busy(String, String),
    /// The runtime folder is open to other users, who could take the lock.
    #[error(
        "{0}: the lock's folder must be this user's alone (owner {1}, mode {2:o}; want owner {3}, no access for group or others)"
    )]
    Exposed(String, u32, u32, u32),
    /// The folder or file cannot be made, opened or locked.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The service's lock, held while it lives.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] std::fs::File);

/// FNV-1a: a stable name for the lock of one status path.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Lock {
    /// Take the lock for the status file `status` in the runtime folder `runtime` (made, mode
    /// 0700, when missing), without waiting.
    pub fn take(runtime: &Path, status: &Path) -> Result<Lock, LockError> {
        use std::os::unix::ffi::OsStrExt;
        let shown = runtime.display().to_string();
        let io = |e| LockError::Io(shown.clone(), e);
        let parent = OutDir::open(folder(runtime)).map_err(io)?;
        let dir = parent
            .make_dir(&file_name(runtime).map_err(io)?, 0o700)
            .map_err(io)?;
        let me = rustix::process::geteuid().as_raw();
        let (owner, mode) = dir.owner_and_mode().map_err(io)?;
        if owner != me || mode & 0o077 != 0 {
            return Err(LockError::Exposed(shown, owner, mode, me));
        }
        let status = std::path::absolute(status).map_err(io)?;
        let name = format!("serve-{:016x}.lock", fnv1a(status.as_os_str().as_bytes()));
        let lock_path = runtime.join(&name).display().to_string();
        let mut file = dir
            .open_private_file(&name)
            .map_err(|e| LockError::Io(lock_path.clone(), e))?;
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => {
                return Err(LockError::Busy(status.display().to_string(), lock_path));
            }
            Err(e) => return Err(LockError::Io(lock_path, e.into())),
        }
        // Which status file the lock stands for, for a person listing the folder.
        let _ = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| writeln!(file, "{}", status.display()));
        Ok(Lock(file))
    }
}
