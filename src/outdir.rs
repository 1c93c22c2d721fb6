//! Writing into a folder without following a path twice: an [`OutDir`] is a folder opened once
//! (`O_DIRECTORY | O_NOFOLLOW`), and everything made in it is made relative to that descriptor.
//!
//! New files are created `O_CREAT | O_EXCL | O_NOFOLLOW` and given their mode with `fchmod`
//! (never the umask's); folders are made with `mkdirat` and opened `O_NOFOLLOW`; a file is
//! replaced by exchanging a synced temporary file with it (`renameat2(RENAME_EXCHANGE)`), and
//! what it held is looked at only then, through the name the exchange gave it: a device node,
//! folder or symlink that stood at the name (or was raced onto it) is put back and the write
//! refused, so nothing but a regular file is ever replaced. A symlink planted anywhere is refused,
//! never followed. This module reads no host file.

use std::ffi::{OsStr, OsString};
use std::hash::BuildHasher;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

/// How many names a temporary file or folder tries before giving up.
const TRIES: u32 = 64;

/// The temporary file of an output: `.virtprobe.NAME.RANDOM.tmp`.
fn temp_name(name: &str, random: u64) -> String {
    format!(".virtprobe.{name}.{random:016x}.tmp")
}

/// Whether `entry` is a temporary file [`OutDir::replace`] made for `name`.
pub fn is_temp_of(entry: &str, name: &str) -> bool {
    entry
        .strip_prefix(".virtprobe.")
        .and_then(|r| r.strip_prefix(name))
        .and_then(|r| r.strip_prefix('.'))
        .and_then(|r| r.strip_suffix(".tmp"))
        .is_some_and(|r| r.len() == 16 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A folder opened once, for writing in it.
#[derive(Debug)]
pub struct OutDir {
    fd: OwnedFd,
    path: PathBuf,
    /// Seeds the random part of temporary names (std's per-process random keys).
    random: std::hash::RandomState,
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from(e)
}

impl OutDir {
    /// Open the folder `path`; a final symlink is refused (`O_NOFOLLOW`).
    pub fn open(path: &Path) -> io::Result<OutDir> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::LOOP => io::Error::other("a symbolic link, not a folder: refusing to follow it"),
            e => io_err(e),
        })?;
        Ok(OutDir {
            fd,
            path: path.to_path_buf(),
            random: std::hash::RandomState::new(),
        })
    }

    /// The folder's path, as opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn random(&self, n: u32) -> u64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        self.random.hash_one((std::process::id(), n, nanos))
    }

    /// The folder `name` in this one, opened (a symlink is refused).
    pub fn sub(&self, name: &str) -> io::Result<OutDir> {
        self.sub_os(OsStr::new(name))
    }

    fn sub_os(&self, name: &OsStr) -> io::Result<OutDir> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io_err)?;
        Ok(OutDir {
            fd,
            path: self.path.join(name),
            random: self.random.clone(),
        })
    }

    /// Make the folder `name` with `mode` (exactly: not the umask's), or open it if it is already
    /// a folder; a symlink there is refused.
    pub fn make_dir(&self, name: &str, mode: u32) -> io::Result<OutDir> {
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(mode)) {
            Ok(()) => {
                let d = self.sub(name)?;
                rustix::fs::fchmod(&d.fd, Mode::from_raw_mode(mode)).map_err(io_err)?;
                Ok(d)
            }
            Err(Errno::EXIST) => self.sub(name),
            Err(e) => Err(io_err(e)),
        }
    }

    /// Make a new folder named `PREFIX` and a random part, mode 0700; its name and the folder.
    pub fn make_private_dir(&self, prefix: &str) -> io::Result<(String, OutDir)> {
        for n in 0..TRIES {
            let name = format!("{prefix}{:016x}", self.random(n));
            match rustix::fs::mkdirat(&self.fd, name.as_str(), Mode::from_raw_mode(0o700)) {
                Ok(()) => {
                    let d = self.sub(&name)?;
                    rustix::fs::fchmod(&d.fd, Mode::from_raw_mode(0o700)).map_err(io_err)?;
                    return Ok((name, d));
                }
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(io::Error::other("no free name for a temporary folder"))
    }

    /// Create the new file `name` with `bytes` and `mode` (exactly); an existing file or symlink
    /// there is an error (`EEXIST`), never written through.
    pub fn write_new(&self, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(mode),
        )
        .map_err(io_err)?;
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode)).map_err(io_err)?;
        std::fs::File::from(fd).write_all(bytes)
    }

    /// Replace the file `name` with `bytes` (mode `mode`), atomically and durably: a reader sees
    /// the old file or the new one, whole. Only a regular file is replaced: anything else found
    /// at the name, before or during the write, is left as it was and the write refused.
    pub fn replace(&self, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
        let tmp = self.new_temp(name, bytes, mode)?;
        self.place(&tmp, name)?;
        rustix::fs::fsync(&self.fd).map_err(io_err)
    }

    /// A synced temporary file beside `name` holding `bytes`.
    fn new_temp(&self, name: &str, bytes: &[u8], mode: u32) -> io::Result<String> {
        for n in 0..TRIES {
            let tmp = temp_name(name, self.random(n));
            let fd = match rustix::fs::openat(
                &self.fd,
                tmp.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(mode),
            ) {
                Ok(fd) => fd,
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(io_err(e)),
            };
            let mut file = std::fs::File::from(fd);
            let written = rustix::fs::fchmod(&file, Mode::from_raw_mode(mode))
                .map_err(io_err)
                .and_then(|()| file.write_all(bytes))
                .and_then(|()| file.sync_all());
            if let Err(e) = written {
                let _ = rustix::fs::unlinkat(&self.fd, tmp.as_str(), AtFlags::empty());
                return Err(e);
            }
            return Ok(tmp);
        }
        Err(io::Error::other("no free name for a temporary file"))
    }

    /// Put the temporary file `tmp` at `name`. `tmp` is gone afterwards, but when what stood at
    /// `name` could not be put back: then it is left under the temporary name, never removed.
    fn place(&self, tmp: &str, name: &str) -> io::Result<()> {
        let unlink = || rustix::fs::unlinkat(&self.fd, tmp, AtFlags::empty()).map_err(io_err);
        let failed = |e: io::Error| {
            let _ = unlink();
            Err(e)
        };
        let refuse =
            || io::Error::other("exists and is not a regular file: refusing to replace it");
        for _ in 0..TRIES {
            match rustix::fs::renameat_with(&self.fd, tmp, &self.fd, name, RenameFlags::EXCHANGE) {
                Ok(()) => {
                    // `tmp` now names what stood at `name`: remove it only if it is a regular
                    // file; anything else (or what cannot be looked at) goes back.
                    let old = rustix::fs::statat(&self.fd, tmp, AtFlags::SYMLINK_NOFOLLOW);
                    if old.is_ok_and(|st| {
                        FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
                    }) {
                        return unlink();
                    }
                    self.put_back(tmp, name)?;
                    // `tmp` holds what stood at `name` a moment ago, normally our own file.
                    let _ = self.remove_if_regular(tmp);
                    return Err(match old {
                        Err(e) => io_err(e),
                        Ok(_) => refuse(),
                    });
                }
                // Nothing there yet: take the name unless something appears meanwhile.
                Err(Errno::NOENT) => {
                    match rustix::fs::renameat_with(
                        &self.fd,
                        tmp,
                        &self.fd,
                        name,
                        RenameFlags::NOREPLACE,
                    ) {
                        Ok(()) => return Ok(()),
                        Err(Errno::EXIST) => continue,
                        Err(e) => return failed(io_err(e)),
                    }
                }
                // A file system without the exchange (some network and FUSE ones): look, then
                // rename; a race there is the one window this fallback cannot close.
                Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {
                    match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile => {
                            return failed(refuse());
                        }
                        Ok(_) | Err(Errno::NOENT) => {}
                        Err(e) => return failed(io_err(e)),
                    }
                    return match rustix::fs::renameat(&self.fd, tmp, &self.fd, name) {
                        Ok(()) => Ok(()),
                        Err(e) => failed(io_err(e)),
                    };
                }
                Err(e) => return failed(io_err(e)),
            }
        }
        failed(io::Error::other(
            "the name kept changing while it was replaced",
        ))
    }

    /// Give `name` back what the exchange moved to `tmp`, leaving `tmp` with what stands at
    /// `name` now. When `name` was removed meanwhile, `tmp` simply takes the name again; when
    /// something new appeared there instead, nothing is destroyed and the error says so.
    fn put_back(&self, tmp: &str, name: &str) -> io::Result<()> {
        match rustix::fs::renameat_with(&self.fd, tmp, &self.fd, name, RenameFlags::EXCHANGE) {
            Err(Errno::NOENT) => {
                rustix::fs::renameat_with(&self.fd, tmp, &self.fd, name, RenameFlags::NOREPLACE)
                    .map_err(io_err)
            }
            done => done.map_err(io_err),
        }
    }

    /// Remove `name` if it is a regular file; anything else stays.
    fn remove_if_regular(&self, name: &str) -> io::Result<bool> {
        let st = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Ok(false);
        }
        rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).map_err(io_err)?;
        Ok(true)
    }

    /// Rename `name` in this folder to `to_name` in `to` (a folder is renamed over an empty one).
    pub fn rename(&self, name: &str, to: &OutDir, to_name: &str) -> io::Result<()> {
        rustix::fs::renameat(&self.fd, name, &to.fd, to_name).map_err(io_err)
    }

    /// The folder's owner and permission bits.
    pub fn owner_and_mode(&self) -> io::Result<(u32, u32)> {
        let st = rustix::fs::fstat(&self.fd).map_err(io_err)?;
        Ok((st.st_uid, st.st_mode & 0o7777))
    }

    /// Open (or create, mode 0600) the file `name` for reading and writing, for a lock; a
    /// symlink there is refused.
    pub fn open_private_file(&self, name: &str) -> io::Result<std::fs::File> {
        let fd = rustix::fs::openat(
            &self.fd,
            name,
            OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(io_err)?;
        Ok(std::fs::File::from(fd))
    }

    /// Flush the folder's entries to disk.
    pub fn sync(&self) -> io::Result<()> {
        rustix::fs::fsync(&self.fd).map_err(io_err)
    }

    /// The names in this folder (`.` and `..` left out), as the kernel gives them.
    fn entries(&self) -> io::Result<Vec<OsString>> {
        use std::os::unix::ffi::OsStrExt;
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsStr::from_bytes(name).to_os_string());
            }
        }
        Ok(names)
    }

    /// The names in this folder (`.` and `..` left out; a name that is not UTF-8 shown lossily).
    pub fn names(&self) -> io::Result<Vec<String>> {
        Ok(self
            .entries()?
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect())
    }

    /// Remove the temporary files [`OutDir::replace`] left for any of `outputs` (a process killed
    /// while writing); returns how many. Only regular files with exactly that shape of name go.
    pub fn remove_stale(&self, outputs: &[&str]) -> io::Result<usize> {
        let mut removed = 0;
        for entry in self.entries()? {
            let Some(name) = entry.to_str() else { continue };
            if !outputs.iter().any(|o| is_temp_of(name, o)) {
                continue;
            }
            removed += usize::from(self.remove_if_regular(name)?);
        }
        Ok(removed)
    }

    /// Remove `name` and, for a folder, everything in it; symlinks are removed, never followed.
    pub fn remove_tree(&self, name: &str) -> io::Result<()> {
        self.remove_tree_os(OsStr::new(name))
    }

    fn remove_tree_os(&self, name: &OsStr) -> io::Result<()> {
        let st = rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW).map_err(io_err)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
            return rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()).map_err(io_err);
        }
        let sub = self.sub_os(name)?;
        for entry in sub.entries()? {
            sub.remove_tree_os(&entry)?;
        }
        rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR).map_err(io_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_names_are_recognised_only_for_their_output() {
        let t = temp_name("status.json", 0xdead_beef);
        assert!(is_temp_of(&t, "status.json"));
        assert!(!is_temp_of(&t, "status"));
        assert!(!is_temp_of(".virtprobe.status.json.x.tmp", "status.json"));
        assert!(!is_temp_of("status.json", "status.json"));
    }

    #[test]
    fn puts_back_what_it_moved_even_when_the_name_was_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = OutDir::open(dir.path()).unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.path().join("t")).unwrap();
        d.put_back("t", "a").unwrap();
        assert!(dir.path().join("a").is_symlink());
        assert!(!dir.path().join("t").exists());
        std::os::unix::fs::symlink("/dev/null", dir.path().join("t")).unwrap();
        std::fs::write(dir.path().join("b"), "new").unwrap();
        d.put_back("t", "b").unwrap();
        assert!(dir.path().join("b").is_symlink());
        assert_eq!(std::fs::read(dir.path().join("t")).unwrap(), b"new");
    }

    #[test]
    fn replaces_a_file_and_refuses_anything_else() {
        let dir = tempfile::tempdir().unwrap();
        let d = OutDir::open(dir.path()).unwrap();
        d.replace("a", b"one", 0o644).unwrap();
        d.replace("a", b"two", 0o644).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"two");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("l")).unwrap();
        assert!(d.replace("l", b"x", 0o644).is_err());
        assert!(dir.path().join("l").is_symlink());
        std::fs::create_dir(dir.path().join("f")).unwrap();
        assert!(d.replace("f", b"x", 0o644).is_err());
        assert!(dir.path().join("f").is_dir());
        // Nothing is left behind.
        let mut names = d.names().unwrap();
        names.sort();
        assert_eq!(names, ["a", "f", "l"]);
    }
}
