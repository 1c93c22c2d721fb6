//! Writing the service's outputs so that a reader sees the old file or the new one, whole: a
//! temporary file in the same folder (`.virtprobe.*.tmp`, mode 0644) is written, synced and
//! renamed over the output, and the folder synced. An existing output that is not a regular file
//! (a device node, a symlink, a folder) is refused, never replaced.
//!
//! The status folder is also where the service's lock is: an exclusive `flock` on the folder, so a
//! second `virtprobe serve` writing the same files stops at once instead of racing the first.

use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The folder an output lives in.
pub fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Replace `path` with `bytes`, atomically and durably.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(md) if !md.file_type().is_file() => {
            return Err(std::io::Error::other(
                "exists and is not a regular file: refusing to replace it",
            ));
        }
        _ => {}
    }
    let dir = folder(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".virtprobe.")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("another virtprobe serve is writing to {0} (its lock is held)")]
    Busy(String),
    /// The folder cannot be opened or locked.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

/// The service's lock: an exclusive `flock` on the status file's folder, held while the
/// descriptor lives.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] OwnedFd);

impl Lock {
    /// Take the lock on `dir` without waiting.
    pub fn take(dir: &Path) -> Result<Lock, LockError> {
        use rustix::fs::{FlockOperation, Mode, OFlags};
        let shown = dir.display().to_string();
        let fd = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| LockError::Io(shown.clone(), e.into()))?;
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Lock(fd)),
            Err(rustix::io::Errno::WOULDBLOCK) => Err(LockError::Busy(shown)),
            Err(e) => Err(LockError::Io(shown, e.into())),
        }
    }
}
