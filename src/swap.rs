//! An output file the service rewrites at every probe, kept current by swapping two files.
//!
//! Writing a new file and renaming it over the old one is the classic atomic replacement, and on
//! ext4 it is the dearest part of a probe: a new inode each time, the old one's blocks freed (a
//! discard on a disk mounted with `discard`), and, because the rename replaces a file, ext4 flushing
//! the new file's data at once (`auto_da_alloc`). So the service keeps two files in the output's
//! folder: the output itself and a hidden spare, `.NAME.virtprobe-spare`. Each probe writes the
//! spare in place (its blocks are already allocated) and exchanges the two names in one
//! `renameat2(RENAME_EXCHANGE)`: a reader opening the output gets the old file or the new one,
//! whole, as with a rename. The file that was the output becomes the spare for the next probe.
//!
//! A reader that opened the output may still hold it when it has become the spare and is about to
//! be rewritten. Before writing the spare, the service takes a write lease on it
//! (`fcntl(F_SETLEASE, F_WRLCK)`), which the kernel grants only when no one else has the file open
//! or mapped; when someone does, that file is left to them and a new spare is made. So a file a
//! reader holds never changes under it.
//!
//! Where the folder's file system cannot exchange names or grant leases, every write is the
//! classic new file renamed over the old one ([`write_replacing`]). When `durable`, the data and
//! the exchange are fsynced; between verdict changes they are not, so after a power loss (not a
//! crash of the service) a status on a disk may hold an older or partly older version until the
//! first probe of the next start, which is durable.
//!
//! Files written: the output, its spare (removed when the service stops), and for a new spare a
//! temporary `.virtprobe.*.tmp` renamed to the spare's name.

use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Replace `path` by a file holding `bytes`: a reader sees the old file or the new one, never a
/// part. With `durable`, the data and the rename also reach the disk before this returns (two
/// fsyncs); without, a crash may keep the previous version.
pub fn write_replacing(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    replace_with_parts(path, &[bytes], durable)
}

fn replace_with_parts(path: &Path, parts: &[&[u8]], durable: bool) -> std::io::Result<()> {
    let dir = folder(path);
    let mut tmp = new_temp(dir)?;
    for part in parts {
        tmp.write_all(part)?;
    }
    if durable {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    if durable {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn new_temp(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".virtprobe.")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
}

/// One output kept current by swapping it with a spare (see the module documentation). Holds no
/// file open between writes (an open file would keep its file system from being remounted
/// read-only).
pub struct Swapped {
    /// Set when the folder cannot exchange names or grant leases: every write replaces the file.
    plain: bool,
    /// What this process last wrote into each of the two files, for writes in parts.
    written: [Option<Written>; 2],
    /// This process's effective user, who must own a spare written in place.
    euid: u32,
}

/// A file as this process left it: its identity and length, its modification time right after
/// the write (a file someone else wrote since has another, or another length), and which head it
/// holds (see [`Swapped::write_parts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    generation: u64,
    head_len: usize,
}

fn cvt(r: libc::c_int) -> std::io::Result<()> {
    if r == -1 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn cstr(p: &Path) -> std::io::Result<std::ffi::CString> {
    std::ffi::CString::new(p.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))
}

/// Take (`F_WRLCK`) or drop (`F_UNLCK`) a lease.
fn lease(f: &File, kind: libc::c_int) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor this process owns.
    cvt(unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLEASE, kind) })
}

/// Errors that say the file system (or a seccomp filter) does not offer an operation at all.
fn unsupported(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EINVAL
                | libc::ENOSYS
                | libc::EPERM
                | libc::EACCES
                | libc::ENOLCK
                | libc::EOPNOTSUPP
        )
    )
}

impl Written {
    fn of(md: &std::fs::Metadata, generation: u64, head_len: usize) -> Written {
        Written {
            dev: md.dev(),
            ino: md.ino(),
            len: md.len(),
            mtime: (md.mtime(), md.mtime_nsec()),
            generation,
            head_len,
        }
    }
}

impl Default for Swapped {
    fn default() -> Self {
        Self::new()
    }
}

impl Swapped {
    /// A writer for one output. Sets SIGIO to be ignored: the kernel sends it when someone opens
    /// the spare while its lease is held, and by default it ends the process.
    pub fn new() -> Swapped {
        // SAFETY: setting a signal's disposition to "ignore" runs no code in the handler.
        unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
        Swapped {
            plain: false,
            written: [None, None],
            // SAFETY: geteuid cannot fail.
            euid: unsafe { libc::geteuid() },
        }
    }

    /// The spare's name for an output.
    pub fn spare_path(path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        folder(path).join(format!(".{name}.virtprobe-spare"))
    }

    /// Make `path` hold `bytes`, atomically for readers; `durable` as in [`write_replacing`].
    pub fn write(&mut self, path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
        self.write_parts(path, bytes, &[], None, durable)
    }

    /// Make `path` hold `head` followed by `tail`. `generation` names the head: when the spare
    /// still holds the same generation's head, as this process wrote it, only the tail is
    /// written (the service's status changes only its last few hundred bytes between changes).
    pub fn write_parts(
        &mut self,
        path: &Path,
        head: &[u8],
        tail: &[u8],
        generation: Option<u64>,
        durable: bool,
    ) -> std::io::Result<()> {
        if self.plain {
            return replace_with_parts(path, &[head, tail], durable);
        }
        match self.swap_in(path, head, tail, generation, durable) {
            Ok(()) => Ok(()),
            Err(e) if unsupported(&e) => {
                tracing::debug!(path = %path.display(), error = %e, "cannot swap files here; replacing them instead");
                self.plain = true;
                self.finish_spare(path);
                replace_with_parts(path, &[head, tail], durable)
            }
            Err(e) => {
                self.written = [None, None];
                Err(e)
            }
        }
    }

    fn swap_in(
        &mut self,
        path: &Path,
        head: &[u8],
        tail: &[u8],
        generation: Option<u64>,
        durable: bool,
    ) -> std::io::Result<()> {
        let spare_path = Self::spare_path(path);
        let (mut spare, mut found) = match open_spare(&spare_path, self.euid)? {
            Some((f, md)) => (f, Some(md)),
            None => (new_spare(&spare_path)?, None),
        };
        // Granted only when no one else has the file open or mapped; held while it is written.
        if let Err(e) = lease(&spare, libc::F_WRLCK) {
            if e.raw_os_error() != Some(libc::EAGAIN) {
                return Err(e);
            }
            // A reader still holds it: leave it to them.
            spare = new_spare(&spare_path)?;
            found = None;
            lease(&spare, libc::F_WRLCK)?;
        }
        let len = found.as_ref().map_or(0, |m| m.len());
        let holds_head = match (&found, generation) {
            (Some(md), Some(g)) => {
                let now = Written::of(md, g, head.len());
                self.written.iter().flatten().any(|w| *w == now)
            }
            _ => false,
        };
        let written = write_in_place(&spare, head, tail, len, holds_head).and_then(|()| {
            if durable {
                spare.sync_data()?;
            }
            // Remember what the file holds now, for the write after the next.
            let Some(g) = generation else { return Ok(None) };
            Ok(Some(Written::of(&spare.metadata()?, g, head.len())))
        });
        let unleased = lease(&spare, libc::F_UNLCK);
        let now = written?;
        unleased?;
        drop(spare);
        // The record of this file replaces its old one, else the older of the two.
        if let Some(n) = now {
            let same = |w: &Option<Written>| w.is_some_and(|w| (w.dev, w.ino) == (n.dev, n.ino));
            match self.written.iter().position(same) {
                Some(i) => self.written[i] = Some(n),
                None => self.written = [self.written[1], Some(n)],
            }
        }
        let (from, to) = (cstr(&spare_path)?, cstr(path)?);
        // (The system call itself: not every C library has a wrapper; musl's came late.)
        // SAFETY: two NUL-terminated paths; renameat2 reads them only.
        let exchanged = cvt(unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        } as libc::c_int);
        match exchanged {
            // What was the output is the spare now.
            Ok(()) => {}
            // No output yet (or it was removed): the spare becomes it.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => std::fs::rename(&spare_path, path)?,
            Err(e) => return Err(e),
        }
        if durable {
            File::open(folder(path))?.sync_all()?;
        }
        Ok(())
    }

    /// Remove the spare (when the service stops); the output stays.
    pub fn finish(&mut self, path: &Path) {
        if !self.plain {
            self.finish_spare(path);
        }
    }

    fn finish_spare(&self, path: &Path) {
        let _ = std::fs::remove_file(Self::spare_path(path));
    }
}

/// The spare and its length, when there is one that can be written in place: a regular file of
/// this user's with one name (not a symbolic link, and not a hard link to some other file).
fn open_spare(spare_path: &Path, euid: u32) -> std::io::Result<Option<(File, std::fs::Metadata)>> {
    let file = match crate::host::open_raw(
        spare_path,
        libc::O_RDWR | libc::O_NOFOLLOW | libc::O_NONBLOCK,
    ) {
        Ok(f) => f,
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT | libc::ELOOP | libc::ENXIO | libc::EISDIR)
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let md = file.metadata()?;
    Ok((md.is_file() && md.nlink() == 1 && md.uid() == euid).then_some((file, md)))
}

/// A new, empty spare at `spare_path` (made under a temporary name, then renamed, so a file of
/// someone else's at that name is replaced, never written into).
fn new_spare(spare_path: &Path) -> std::io::Result<File> {
    let tmp = new_temp(folder(spare_path))?;
    tmp.persist(spare_path).map_err(|e| e.error)
}

/// Make `f`, a file `len` bytes long, hold `head` and `tail`; with `holds_head`, it holds the
/// head already.
fn write_in_place(
    f: &File,
    head: &[u8],
    tail: &[u8],
    len: u64,
    holds_head: bool,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    if !holds_head {
        f.write_all_at(head, 0)?;
    }
    f.write_all_at(tail, head.len() as u64)?;
    let total = (head.len() + tail.len()) as u64;
    if len > total {
        f.set_len(total)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn read(p: &Path) -> Vec<u8> {
        std::fs::read(p).unwrap()
    }

    #[test]
    fn writes_swap_and_finish_leaves_only_the_output() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("status.json");
        let mut w = Swapped::new();
        for (i, text) in [
            "first, long\n",
            "second\n",
            "third, longer than both\n",
            "4\n",
        ]
        .iter()
        .enumerate()
        {
            w.write(&out, text.as_bytes(), i == 0).unwrap();
            assert_eq!(read(&out), text.as_bytes());
        }
        assert!(Swapped::spare_path(&out).exists());
        w.finish(&out);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("status.json")]);
        assert_eq!(read(&out), b"4\n");
    }

    #[test]
    fn a_file_a_reader_holds_never_changes() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("status.json");
        let mut w = Swapped::new();
        w.write(&out, b"one\n", false).unwrap();
        w.write(&out, b"two\n", false).unwrap();
        // The reader opens "two"; two more writes would bring that file round again.
        let mut held = File::open(&out).unwrap();
        for text in ["three\n", "four\n", "five\n"] {
            w.write(&out, text.as_bytes(), false).unwrap();
            assert_eq!(read(&out), text.as_bytes());
        }
        let mut got = String::new();
        held.read_to_string(&mut got).unwrap();
        assert_eq!(got, "two\n");
    }

    #[test]
    fn writes_in_parts_skip_only_a_head_the_file_still_holds() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("status.json");
        let mut w = Swapped::new();
        let mut expect = Vec::new();
        let mut check = |w: &mut Swapped, head: &[u8], tail: &[u8], g: u64| {
            w.write_parts(&out, head, tail, Some(g), false).unwrap();
            expect = [head, tail].concat();
            assert_eq!(read(&out), expect, "generation {g}");
        };
        let head1 = vec![b'a'; 10_000];
        let head2 = vec![b'b'; 9_000];
        for (i, tail) in ["1\n", "22\n", "333\n", "4\n", "55555\n"]
            .iter()
            .enumerate()
        {
            check(&mut w, &head1, tail.as_bytes(), 1);
            if i == 2 {
                // Someone writes into the output: that file must be written whole next time round.
                std::fs::write(&out, vec![b'x'; 10_003]).unwrap();
            }
        }
        for tail in ["6\n", "77\n", "8\n"] {
            check(&mut w, &head2, tail.as_bytes(), 2);
        }
        check(&mut w, &head1, b"9\n", 3);
        check(&mut w, &head1, b"10\n", 3);
        check(&mut w, &head1, b"11\n", 3);
    }

    #[test]
    fn a_link_at_the_spare_name_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("status.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        std::os::unix::fs::symlink(&victim, Swapped::spare_path(&out)).unwrap();
        let mut w = Swapped::new();
        w.write(&out, b"a\n", false).unwrap();
        w.write(&out, b"b\n", false).unwrap();
        assert_eq!(read(&victim), b"keep me");
        // A hard link to another file is not written into either.
        w.finish(&out);
        std::fs::hard_link(&victim, Swapped::spare_path(&out)).unwrap();
        w.write(&out, b"c\n", false).unwrap();
        assert_eq!(read(&victim), b"keep me");
        assert_eq!(read(&out), b"c\n");
    }
}
