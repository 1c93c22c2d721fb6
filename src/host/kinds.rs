//! The small types the host layer hands out: what a root stands for, a file's kind and
//! metadata, a folder opened once, and what `virtprobe capture` and `serve` record. Nothing here
//! reads a file.

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// What the root stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The running host: root `/`, live CPUID, `uname` and KVM check.
    Live,
    /// The running host with its file systems mounted under a folder (a container's view of its
    /// node): files from the folder, CPUID, `uname` and the KVM check live.
    HostRoot,
    /// A captured tree: files from the folder, live answers from its `virtprobe-live.json`.
    Tree,
}

/// The kind of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (seen only when not followed).
    Symlink,
    /// A device node, FIFO or socket.
    Other,
}

/// What a path's metadata says, as far as the probe needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Its kind.
    pub kind: FileKind,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device and inode: the file's identity.
    pub id: (u64, u64),
}

/// What `virtprobe capture` learned of a path it did not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// It exists and is a directory.
    Dir,
    /// It exists and is not a directory.
    Other,
    /// A directory listing.
    Listed(Vec<String>),
}

/// Everything a recording [`HostFs`] looked at (for `virtprobe capture`).
#[derive(Debug, Default)]
pub struct Record {
    /// Files read, with their bytes.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Paths looked at without being read.
    pub touched: BTreeMap<String, Touch>,
}

/// Every path a probe looked at, found or not (what `virtprobe serve` watches for a change).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Looked {
    /// Paths looked up, opened, read or listed, as the probe names them.
    pub paths: BTreeSet<String>,
    /// Of those, the folders listed (every name in them matters).
    pub listed: BTreeSet<String>,
}

/// A folder of the host opened once (`O_PATH`, [`super::HostFs::open_folder`]).
#[derive(Debug)]
pub struct Folder {
    pub(super) fd: OwnedFd,
    pub(super) path: String,
    /// Device and inode: the folder's identity.
    pub id: (u64, u64),
}

impl Folder {
    /// The path the probe names it by.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl AsFd for Folder {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}
