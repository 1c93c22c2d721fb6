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
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Dir, FileType, Mode as FileMode, OFlags};
use rustix::io::Errno;

use super::kinds::{FileKind, Folder, Looked, Meta, Mode, Record, Touch};
use super::{HostError, ReadError, trimmed};

/// Largest file the probe reads (8 MiB). A real `/proc/cpuinfo` of a 1024-CPU host is about 1.5 MiB.
pub const MAX_READ: u64 = 8 * 1024 * 1024;
/// Entries a directory listing gives at most.
pub const MAX_ENTRIES: usize = 100_000;

/// The host's file system under a root.
#[derive(Debug)]
pub struct HostFs {
    root: OwnedFd,
    root_path: PathBuf,
    mode: Mode,
    /// `openat2` is not available: paths are walked one component at a time.
    walk: bool,
    record: Option<RefCell<Record>>,
    /// Every path looked at, found or not (for `virtprobe serve`'s watches), when asked.
    looked: Option<RefCell<Looked>>,
    /// Every failure other than "not found" met so far, in order (what [`HostFs::failures`]
    /// hands to the report's errors, so none is taken for an absence without a word).
    failures: RefCell<Vec<(ReadError, Handled)>>,
    /// A captured tree's paths that could not be read when it was captured, with why.
    unreadable: BTreeMap<String, String>,
}

/// Whether a source said what a failure means itself ([`HostFs::handled`]).
type Handled = bool;

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
        if mode == Mode::Tree && super::walk::is_own_root(&fs.root) {
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
            Ok(_) => {
                if mode == Mode::Tree {
                    fs.unreadable = unreadable_when_captured(&fs);
                }
                Ok(fs)
            }
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
        let walk = !super::walk::openat2_works(&root);
        Ok(HostFs {
            root,
            root_path: dir.to_path_buf(),
            mode,
            walk,
            record: None,
            looked: None,
            failures: RefCell::default(),
            unreadable: BTreeMap::new(),
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

    /// Keep every path looked at, found or not ([`HostFs::take_looked`]).
    pub fn noting_paths(mut self) -> Self {
        self.looked = Some(RefCell::default());
        self
    }

    /// The paths looked at so far, when noting them.
    pub fn take_looked(&self) -> Looked {
        self.looked
            .as_ref()
            .map(|r| std::mem::take(&mut *r.borrow_mut()))
            .unwrap_or_default()
    }

    /// What was recorded, when recording.
    pub fn take_record(&self) -> Record {
        self.record
            .as_ref()
            .map(|r| std::mem::take(&mut *r.borrow_mut()))
            .unwrap_or_default()
    }

    /// Every failure other than "not found" met so far, each once, in order, and whether a source
    /// handled it ([`HostFs::handled`]); `virtprobe capture` records them all.
    pub fn every_failure(&self) -> Vec<(ReadError, bool)> {
        self.failures.borrow().clone()
    }

    /// The failures other than "not found" met so far that no source handled, each once, in
    /// order.
    pub fn failures(&self) -> Vec<ReadError> {
        let f = self.failures.borrow();
        f.iter()
            .filter(|(_, h)| !h)
            .map(|(e, _)| e.clone())
            .collect()
    }

    /// A source said what this failure means itself (a file only root may read, listed as a
    /// check that needs privilege): it is neither an error of the report nor a reason for
    /// [`HostFs::failures_since`].
    pub fn handled(&self, e: &ReadError) {
        for (f, h) in self.failures.borrow_mut().iter_mut() {
            if f == e {
                *h = true;
            }
        }
    }

    /// Keep a failure other than "not found" (for the report's errors and for `capture`).
    fn failed<T>(&self, r: Result<T, ReadError>) -> Result<T, ReadError> {
        if let Err(e) = &r
            && !e.is_not_found()
        {
            let mut f = self.failures.borrow_mut();
            if !f.iter().any(|(x, _)| x == e) {
                f.push((e.clone(), false));
            }
        }
        r
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
    /// True for `--host-root`: the files are this machine's, seen from a container.
    pub fn is_host_root(&self) -> bool {
        self.mode == Mode::HostRoot
    }

    fn open_at(&self, path: &str, flags: OFlags, follow: bool) -> Result<OwnedFd, ReadError> {
        self.replay(path)?;
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
            super::walk::openat2_retrying(&self.root, rel, flags)
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
        self.failed(self.stat_inner(path, follow))
    }

    fn stat_inner(&self, path: &str, follow: bool) -> Result<Meta, ReadError> {
        let (_, meta) = self.open_path(path, OFlags::empty(), follow)?;
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

    /// A path opened without being read (`O_PATH`, symlinks followed inside the root), with its
    /// metadata: for watching it.
    pub fn look(&self, path: &str) -> Result<(OwnedFd, Meta), ReadError> {
        self.open_path(path, OFlags::empty(), true)
    }

    /// `path` opened with `O_PATH` (and `flags`), and its metadata.
    fn open_path(
        &self,
        path: &str,
        flags: OFlags,
        follow: bool,
    ) -> Result<(OwnedFd, Meta), ReadError> {
        let fd = self.open_at(path, OFlags::PATH | flags, follow)?;
        let meta = super::walk::fstat_meta(&fd).map_err(|e| ReadError::from_errno(path, e))?;
        Ok((fd, meta))
    }

    /// A folder opened once, for looking names up in it ([`HostFs::has_entry`]).
    pub fn open_folder(&self, path: &str) -> Result<Folder, ReadError> {
        let (fd, meta) = self.failed(self.open_path(path, OFlags::DIRECTORY, true))?;
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

    /// Whether `name` is an entry of the folder (any file type, a dangling symlink too). `name`
    /// is one path component: anything else (`a/b`, `..`) is not looked up, so a lookup never
    /// leaves the folder. Only "not found" is `false`; any other failure is an error.
    pub fn has_entry(&self, folder: &Folder, name: &str) -> Result<bool, ReadError> {
        if name.is_empty() || name.contains(['/', '\0']) || name == "." || name == ".." {
            return Ok(false);
        }
        let path = format!("{}/{name}", folder.path.trim_end_matches('/'));
        self.failed(self.replay(&path))?;
        let found =
            match rustix::fs::statat(&folder.fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
                Ok(_) => Ok(true),
                Err(e) => match ReadError::from_errno(&path, e) {
                    ReadError::NotFound(_) => Ok(false),
                    e => Err(e),
                },
            };
        let found = self.failed(found)?;
        if found && let Some(r) = &self.record {
            r.borrow_mut().touched.entry(path).or_insert(Touch::Other);
        }
        Ok(found)
    }

    /// Whether the path exists (any file type; a dangling symlink does not count). Only "not
    /// found" is `false`; any other failure (`EACCES`, `EIO`) is an error, never an absence.
    pub fn exists(&self, path: &str) -> Result<bool, ReadError> {
        match self.metadata(path) {
            Ok(_) => Ok(true),
            Err(ReadError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Whether a marker path exists, for the detection sources: a failure other than "not found"
    /// reads as `false` here, but is kept ([`HostFs::failures_since`]) so that a source that
    /// found nothing can say it cannot tell, and the report lists it.
    pub fn present(&self, path: &str) -> bool {
        self.exists(path).unwrap_or(false)
    }

    /// How many failures have been kept so far (a mark for [`HostFs::failures_since`]).
    pub fn failure_mark(&self) -> usize {
        self.failures.borrow().len()
    }

    /// The first failure kept since `mark`, if any.
    pub fn failures_since(&self, mark: usize) -> Option<ReadError> {
        let f = self.failures.borrow();
        f.iter()
            .skip(mark)
            .find(|(_, h)| !h)
            .map(|(e, _)| e.clone())
    }

    /// The names in a directory, sorted, `.` and `..` left out. A folder with more than
    /// [`MAX_ENTRIES`] entries is an error naming it ([`ReadError::TooMany`]): a listing cut short
    /// would make what it left out look absent.
    pub fn read_dir(&self, path: &str) -> Result<Vec<String>, ReadError> {
        if let Some(l) = &self.looked {
            l.borrow_mut().listed.insert(path.to_string());
        }
        let names = self.failed(self.list(path))?;
        if let Some(r) = &self.record {
            r.borrow_mut()
                .touched
                .insert(path.to_string(), Touch::Listed(names.clone()));
        }
        Ok(names)
    }

    fn list(&self, path: &str) -> Result<Vec<String>, ReadError> {
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
            if name == "." || name == ".." {
                continue;
            }
            if names.len() == MAX_ENTRIES {
                return Err(ReadError::TooMany(path.to_string(), MAX_ENTRIES));
            }
            names.push(name);
        }
        names.sort_unstable();
        Ok(names)
    }

    /// Read a whole regular file, at most [`MAX_READ`] bytes. Anything else (a folder, a device
    /// node, a FIFO) is refused before a byte is read.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, ReadError> {
        self.failed(self.read_inner(path))
    }

    fn read_inner(&self, path: &str) -> Result<Vec<u8>, ReadError> {
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
        self.failed(self.open_device(path))
    }

    fn open_device(&self, path: &str) -> Result<std::fs::File, ReadError> {
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

impl HostFs {
    /// A captured tree's answer for a path it could not read when captured: the same error.
    fn replay(&self, path: &str) -> Result<(), ReadError> {
        if let Some(l) = &self.looked {
            l.borrow_mut().paths.insert(path.to_string());
        }
        match self.unreadable.get(path) {
            None => Ok(()),
            Some(why) if why.ends_with(": permission denied") => {
                Err(ReadError::PermissionDenied(path.to_string()))
            }
            Some(why) => Err(ReadError::Io(
                path.to_string(),
                format!("not readable when captured ({why})"),
            )),
        }
    }
}

/// The paths a captured tree's `virtprobe-live.json` lists as unreadable (none when it has no
/// such list or cannot be read: reading the live answers reports that).
fn unreadable_when_captured(fs: &HostFs) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(default)]
        unreadable: BTreeMap<String, String>,
    }
    fs.read(super::live::LIVE_FILE)
        .ok()
        .and_then(|b| serde_json::from_slice::<Listed>(&b).ok())
        .map(|l| l.unreadable)
        .unwrap_or_default()
}
