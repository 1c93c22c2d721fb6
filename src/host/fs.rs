//! [`HostFs`]: the host's files under a root, opened with the kernel's confinement.
//!
//! The root is opened once as a directory; every path is then opened relative to it with
//! `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: an absolute symlink restarts at the root,
//! `..` never climbs above it, and the kernel resolves each component while holding it, so a tree
//! that changes while it is read (a folder swapped for a symlink to `/proc`) cannot lead outside.
//! Where `openat2` is missing (Linux before 5.6, some seccomp filters), the same rules are applied
//! by walking one component at a time (`super::walk`). A file is read only after its descriptor
//! shows a regular file; reads are bounded in size and never block.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Dir, FileType, Mode as FileMode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::{HostError, ReadError};

/// Largest file the probe reads (8 MiB). A real `/proc/cpuinfo` of a 1024-CPU host is about 1.5 MiB.
pub const MAX_READ: u64 = 8 * 1024 * 1024;
/// Entries a directory listing gives at most.
pub const MAX_ENTRIES: usize = 100_000;

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

/// A folder of the host opened once ([`HostFs::open_folder`]).
#[derive(Debug)]
pub struct Folder {
    fd: OwnedFd,
    path: String,
    /// Device and inode: the folder's identity.
    pub id: (u64, u64),
}

/// The host's file system under a root.
#[derive(Debug)]
pub struct HostFs {
    root: OwnedFd,
    root_path: PathBuf,
    mode: Mode,
    /// `openat2` is not available: paths are walked one component at a time.
    walk: bool,
    record: Option<RefCell<Record>>,
}

impl HostFs {
    /// The running host.
    pub fn live() -> Result<Self, HostError> {
        Self::open(Path::new("/"), Mode::Live, "--root")
    }

    /// A folder as `mode` says: [`Mode::Tree`] for `--root`, [`Mode::HostRoot`] for
    /// `--host-root`. A `--root` that is this process's own root (same file and same mount) is the
    /// running host.
    pub fn with_root(dir: &Path, mode: Mode) -> Result<Self, HostError> {
        let flag = if mode == Mode::HostRoot {
            "--host-root"
        } else {
            "--root"
        };
        let mut fs = Self::open(dir, mode, flag)?;
        if mode == Mode::Tree && is_own_root(&fs.root) {
            fs.mode = Mode::Live;
            return Ok(fs);
        }
        // A folder that holds nothing (or cannot be listed) is no host tree: judging it would
        // report a bare-metal host with nothing installed.
        let err = |reason: &str| HostError::Root {
            flag,
            path: dir.display().to_string(),
            reason: reason.to_string(),
        };
        match fs.read_dir("/") {
            Ok(names) if names.is_empty() => Err(err("empty folder, not a host tree")),
            Ok(_) => Ok(fs),
            Err(ReadError::PermissionDenied(_)) => Err(err("cannot list it: permission denied")),
            Err(e) => Err(err(&format!("cannot list it: {e}"))),
        }
    }

    fn open(dir: &Path, mode: Mode, flag: &'static str) -> Result<Self, HostError> {
        let err = |reason: String| HostError::Root {
            flag,
            path: dir.display().to_string(),
            reason,
        };
        let root = rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            FileMode::empty(),
        )
        .map_err(|e| {
            err(match e {
                Errno::NOENT => "no such directory".into(),
                Errno::NOTDIR => "not a directory".into(),
                e => std::io::Error::from(e).to_string(),
            })
        })?;
        let walk = !openat2_works(&root);
        Ok(HostFs {
            root,
            root_path: dir.to_path_buf(),
            mode,
            walk,
            record: None,
        })
    }

    /// Walk paths one component at a time even where `openat2` exists (tests of the fallback).
    #[doc(hidden)]
    pub fn without_openat2(mut self) -> Self {
        self.walk = true;
        self
    }

    /// Record every path looked at (for `virtprobe capture`).
    pub fn recording(mut self) -> Self {
        self.record = Some(RefCell::default());
        self
    }

    /// What was recorded, when recording.
    pub fn take_record(&self) -> Record {
        self.record
            .as_ref()
            .map(|r| std::mem::take(&mut *r.borrow_mut()))
            .unwrap_or_default()
    }

    /// The root folder as given.
    pub fn root(&self) -> &Path {
        &self.root_path
    }

    /// True for the running host's own root `/`.
    pub fn is_live(&self) -> bool {
        self.mode == Mode::Live
    }

    /// True when CPUID, `uname` and the KVM check are this machine's (live or `--host-root`).
    pub fn has_live_sources(&self) -> bool {
        self.mode != Mode::Tree
    }

    fn open_at(&self, path: &str, flags: OFlags, follow: bool) -> Result<OwnedFd, ReadError> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        if rel.contains('\0') {
            return Err(ReadError::NotFound(path.to_string()));
        }
        let flags = flags
            | OFlags::CLOEXEC
            | if follow {
                OFlags::empty()
            } else {
                OFlags::NOFOLLOW
            };
        let opened = if self.walk {
            super::walk::open(&self.root, rel, flags, follow)
        } else {
            openat2_retrying(&self.root, rel, flags)
        };
        opened.map_err(|e| ReadError::from_errno(path, e))
    }

    /// Metadata of a host path, following symlinks inside the root.
    pub fn metadata(&self, path: &str) -> Result<Meta, ReadError> {
        self.stat(path, true)
    }

    /// Metadata of a host path itself (a final symlink is not followed).
    pub fn symlink_metadata(&self, path: &str) -> Result<Meta, ReadError> {
        self.stat(path, false)
    }

    fn stat(&self, path: &str, follow: bool) -> Result<Meta, ReadError> {
        let fd = self.open_at(path, OFlags::PATH, follow)?;
        let meta = fstat_meta(&fd).map_err(|e| ReadError::from_errno(path, e))?;
        if let Some(r) = &self.record {
            r.borrow_mut().touched.entry(path.to_string()).or_insert(
                if meta.kind == FileKind::Dir {
                    Touch::Dir
                } else {
                    Touch::Other
                },
            );
        }
        Ok(meta)
    }

    /// A folder opened once, for looking names up in it ([`HostFs::has_entry`]).
    pub fn open_folder(&self, path: &str) -> Result<Folder, ReadError> {
        let fd = self.open_at(path, OFlags::PATH | OFlags::DIRECTORY, true)?;
        let meta = fstat_meta(&fd).map_err(|e| ReadError::from_errno(path, e))?;
        if let Some(r) = &self.record {
            r.borrow_mut()
                .touched
                .entry(path.to_string())
                .or_insert(Touch::Dir);
        }
        Ok(Folder {
            fd,
            path: path.to_string(),
            id: meta.id,
        })
    }

    /// True when `name` is an entry of the folder (any file type, a dangling symlink too). `name`
    /// is one path component: anything else (`a/b`, `..`) is not looked up, so a lookup never
    /// leaves the folder.
    pub fn has_entry(&self, folder: &Folder, name: &str) -> bool {
        if name.is_empty() || name.contains(['/', '\0']) || name == "." || name == ".." {
            return false;
        }
        let found =
            rustix::fs::statat(&folder.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_ok();
        if found && let Some(r) = &self.record {
            let path = format!("{}/{name}", folder.path.trim_end_matches('/'));
            r.borrow_mut().touched.entry(path).or_insert(Touch::Other);
        }
        found
    }

    /// True when the path exists (any file type; a dangling symlink does not count).
    pub fn exists(&self, path: &str) -> bool {
        self.metadata(path).is_ok()
    }

    /// The names in a directory, sorted, `.` and `..` left out; at most [`MAX_ENTRIES`].
    pub fn read_dir(&self, path: &str) -> Result<Vec<String>, ReadError> {
        let fd = self.open_at(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NONBLOCK,
            true,
        )?;
        let err = |e| ReadError::from_errno(path, e);
        let mut names = Vec::new();
        for entry in Dir::read_from(&fd).map_err(err)? {
            let entry = entry.map_err(err)?;
            let name = String::from_utf8_lossy(entry.file_name().to_bytes()).into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
            if names.len() >= MAX_ENTRIES {
                break;
            }
        }
        names.sort_unstable();
        if let Some(r) = &self.record {
            r.borrow_mut()
                .touched
                .insert(path.to_string(), Touch::Listed(names.clone()));
        }
        Ok(names)
    }

    /// Read a whole regular file, at most [`MAX_READ`] bytes. Anything else (a folder, a device
    /// node, a FIFO) is refused before a byte is read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ReadError> {
        let file = std::fs::File::from(self.open_regular(path)?);
        let mut buf = Vec::new();
        file.take(MAX_READ + 1)
            .read_to_end(&mut buf)
            .map_err(|e| ReadError::from_io(path, &e))?;
        if buf.len() as u64 > MAX_READ {
            return Err(ReadError::TooLarge(path.to_string(), MAX_READ));
        }
        if let Some(r) = &self.record {
            r.borrow_mut().files.insert(path.to_string(), buf.clone());
        }
        Ok(buf)
    }

    /// Open a regular file for reading: the path is looked at without opening what it names
    /// (`O_PATH`), and opened for reading only when that was a regular file; the file opened must
    /// be the one looked at.
    fn open_regular(&self, path: &str) -> Result<OwnedFd, ReadError> {
        let not_file = || ReadError::NotAFile(path.to_string());
        let look = self.open_at(path, OFlags::PATH, true)?;
        let before = rustix::fs::fstat(&look).map_err(|e| ReadError::from_errno(path, e))?;
        if FileType::from_raw_mode(before.st_mode) != FileType::RegularFile {
            return Err(not_file());
        }
        let fd = self.open_at(
            path,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            true,
        )?;
        let after = rustix::fs::fstat(&fd).map_err(|e| ReadError::from_errno(path, e))?;
        if (after.st_dev, after.st_ino) != (before.st_dev, before.st_ino) {
            return Err(not_file());
        }
        Ok(fd)
    }

    /// Read a file as text; invalid UTF-8 is replaced, never an error.
    pub fn read_string(&self, path: &str) -> Result<String, ReadError> {
        self.read(path).map(|b| {
            String::from_utf8(b)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        })
    }

    /// Read a one-line file, trimmed.
    pub fn read_trimmed(&self, path: &str) -> Result<String, ReadError> {
        self.read_string(path).map(|s| trimmed(&s).to_string())
    }

    /// Open a character device of the running host for reading (the MSR and kernel log
    /// devices), without blocking; anything else is refused.
    pub fn open_char_device(&self, path: &str) -> Result<std::fs::File, ReadError> {
        let fd = self.open_at(
            path,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            true,
        )?;
        let st = rustix::fs::fstat(&fd).map_err(|e| ReadError::from_errno(path, e))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice {
            return Err(ReadError::NotAFile(path.to_string()));
        }
        Ok(std::fs::File::from(fd))
    }
}

fn fstat_meta(fd: &OwnedFd) -> Result<Meta, Errno> {
    let st = rustix::fs::fstat(fd)?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => FileKind::File,
        FileType::Directory => FileKind::Dir,
        FileType::Symlink => FileKind::Symlink,
        _ => FileKind::Other,
    };
    Ok(Meta {
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        id: (st.st_dev, st.st_ino),
    })
}

/// `openat2` confined to `root`. The kernel answers `EAGAIN` when a rename or mount raced with
/// the lookup; a few more tries settle it, after which the error stands.
fn openat2_retrying(root: &OwnedFd, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(root, rel, flags, FileMode::empty(), resolve) {
            Err(Errno::AGAIN | Errno::INTR) if tries < 16 => tries += 1,
            other => return other,
        }
    }
}

/// Whether this kernel (and any seccomp filter) lets `openat2` through.
fn openat2_works(root: &OwnedFd) -> bool {
    !matches!(
        openat2_retrying(root, ".", OFlags::PATH | OFlags::CLOEXEC),
        Err(Errno::NOSYS | Errno::PERM)
    )
}

/// Whether `dir` is this process's own root: the same file on the same mount (a folder that
/// shows the same files through another mount namespace, such as `/proc/PID/root`, is not).
fn is_own_root(dir: &OwnedFd) -> bool {
    use rustix::fs::{AtFlags, CWD, StatxFlags, statx};
    let want = StatxFlags::INO | StatxFlags::MNT_ID;
    let (Ok(a), Ok(b)) = (
        statx(dir.as_fd(), "", AtFlags::EMPTY_PATH, want),
        statx(CWD, "/", AtFlags::empty(), want),
    ) else {
        return false;
    };
    let same_file = (a.stx_dev_major, a.stx_dev_minor, a.stx_ino)
        == (b.stx_dev_major, b.stx_dev_minor, b.stx_ino);
    let mnt_known =
        StatxFlags::from_bits_retain(a.stx_mask & b.stx_mask).contains(StatxFlags::MNT_ID);
    same_file && mnt_known && a.stx_mnt_id == b.stx_mnt_id
}

/// A one-line file's text without the white space and NULs around it.
pub fn trimmed(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}
