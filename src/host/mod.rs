//! The host as virtprobe sees it: files under a root ([`HostFs`]) and the answers only a running
//! kernel and CPU can give ([`live`]).
//!
//! Every file the probe reads goes through [`HostFs`], which opens each path relative to the
//! root's directory descriptor with the kernel's own confinement, so a captured tree (`--root`)
//! can never make virtprobe read the machine it runs on. This module reads no file itself.

mod fs;
mod kinds;
pub mod live;
mod walk;

pub use fs::{HostFs, MAX_ENTRIES, MAX_READ};
pub use kinds::{FileKind, Folder, Looked, Meta, Mode, Record, Touch};

/// Why a host file could not be read. Each becomes an `unknown` fact with this text as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file does not exist.
    #[error("{0}: not found")]
    NotFound(String),
    /// The invoking user may not read it.
    #[error("{0}: permission denied")]
    PermissionDenied(String),
    /// A directory, FIFO, socket or device stands where a regular file was expected.
    #[error("{0}: not a regular file")]
    NotAFile(String),
    /// Larger than [`MAX_READ`].
    #[error("{0}: larger than {1} bytes, not read")]
    TooLarge(String, u64),
    /// More than 40 symlinks while resolving, or a link the confinement refuses.
    #[error("{0}: too many levels of symbolic links")]
    SymlinkLoop(String),
    /// A folder with more entries than [`MAX_ENTRIES`]: not listed, since a listing cut short
    /// would make what it left out look absent.
    #[error("{0}: more than {1} entries, not listed")]
    TooMany(String, usize),
    /// Any other I/O error.
    #[error("{0}: {1}")]
    Io(String, String),
}

impl ReadError {
    /// True when the file simply is not there (as opposed to unreadable).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound(_))
    }

    /// The path it is about.
    pub fn path(&self) -> &str {
        match self {
            ReadError::NotFound(p)
            | ReadError::PermissionDenied(p)
            | ReadError::NotAFile(p)
            | ReadError::TooLarge(p, _)
            | ReadError::SymlinkLoop(p)
            | ReadError::TooMany(p, _)
            | ReadError::Io(p, _) => p,
        }
    }

    /// The error for `path` from a system call's error number.
    pub(crate) fn from_errno(path: &str, e: rustix::io::Errno) -> ReadError {
        use rustix::io::Errno;
        let path = path.to_string();
        match e {
            Errno::NOENT | Errno::NOTDIR => ReadError::NotFound(path),
            Errno::ACCESS | Errno::PERM => ReadError::PermissionDenied(path),
            Errno::LOOP | Errno::XDEV => ReadError::SymlinkLoop(path),
            Errno::ISDIR => ReadError::NotAFile(path),
            e => ReadError::Io(path, std::io::Error::from(e).to_string()),
        }
    }

    /// The error for `path` from a standard I/O error.
    pub(crate) fn from_io(path: &str, e: &std::io::Error) -> ReadError {
        match e.raw_os_error() {
            Some(n) => ReadError::from_errno(path, rustix::io::Errno::from_raw_os_error(n)),
            None => ReadError::Io(path.to_string(), e.to_string()),
        }
    }
}

/// Why a root folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// `--root` (or `--host-root`) is missing, not a folder or unreadable.
    #[error("{flag} {path}: {reason}")]
    Root {
        /// `--root` or `--host-root`.
        flag: &'static str,
        /// The path given.
        path: String,
        /// Why it cannot be used.
        reason: String,
    },
}

/// A one-line file's text without the white space and NULs around it.
pub fn trimmed(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}
