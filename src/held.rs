//! What the service holds between its probes of the running host, so that each probe asks the
//! kernel fewer questions and learns the same answers.
//!
//! `virtprobe serve` probes the same host again and again; this is off for one-shot runs, for
//! `--root` trees and for `capture` (which must look at every file itself). [`hold`] turns it on
//! or off, and either way drops all that was held.
//!
//! - **Kernel files kept open** ([`read_kernel_file`], [`count_kernel_dir`]): a file of `/proc` or
//!   `/sys` is opened once and read again from offset 0 at each probe (a folder: `lseek` to 0 and
//!   `getdents64`). The kernel builds such a file's content afresh at every read from the start,
//!   so the answer is the one a new `open` would give, without the path walk, the open and the
//!   close. A read that fails drops the descriptor and the file is opened again, which gives the
//!   real error (a sysctl whose module was unloaded, a sysfs attribute whose device went away).
//!   Every descriptor is also dropped when the mount table changes (below), since a new open might
//!   then reach another file.
//! - **Mount events** ([`mounts_unchanged`]): `/proc/self/mountinfo` is kept open and polled with
//!   no wait at the start of each probe ([`begin_probe`]). The kernel flags it (`POLLPRI`) after
//!   every mount, unmount, move or remount in this process's mount namespace, propagated ones
//!   included, so an answer that depends only on what is mounted where (the cgroup layout) can be
//!   kept until then.
//! - **Stamps** ([`Stamp`], [`existing`], [`read_stamped`]): adding, removing or renaming a name in a
//!   folder sets the folder's modification and change times; writing a file sets its own. A name
//!   found absent stays absent while its folder's stamp (device, inode, size, both times) stays the
//!   same, and a file's content stays while its own stamp does. A stamp is trusted only when it
//!   was at least [`RACY`] old when the answer was taken: file systems keep times to a clock tick
//!   or coarser, so a change made in the same tick as the one before could leave the times as they
//!   were (git's "racy" index entries). `/proc` and `/sys` are never judged by stamps: their
//!   folders' times do not follow their content.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::host::{HostFs, ReadError, io_error, open_raw};

/// How old a stamp must be, when an answer is taken, for the answer to be kept on it: more than
/// the coarsest time resolution of a Linux file system (FAT keeps modification times to 2 s).
pub const RACY: Duration = Duration::from_secs(3);

/// What changes when a file's content, or a folder's list of names, changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    /// The stamp of a file or folder.
    pub fn of(md: &std::fs::Metadata) -> Self {
        Stamp {
            dev: md.dev(),
            ino: md.ino(),
            size: md.size(),
            mtime: (md.mtime(), md.mtime_nsec()),
            ctime: (md.ctime(), md.ctime_nsec()),
        }
    }

    /// True when this stamp is too recent, at `now`, to be sure that the next change alters it:
    /// either time within `racy` of `now`, or ahead of it (a clock set back).
    pub fn is_recent(&self, now: SystemTime, racy: Duration) -> bool {
        let Ok(now) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return true;
        };
        let newest = self.mtime.max(self.ctime);
        let Ok(secs) = u64::try_from(newest.0) else {
            return false;
        };
        let newest = Duration::new(secs, newest.1.clamp(0, 999_999_999) as u32);
        newest + racy > now
    }
}

struct Held {
    on: bool,
    /// `/proc/self/mountinfo`, polled for mount events.
    mounts: Option<File>,
    /// Whether the mount table is the one of the previous probe (set by [`begin_probe`]).
    mounts_unchanged: bool,
    /// Kernel files and folders kept open, by host path.
    files: Vec<(&'static str, File)>,
    /// Paths found absent, with their folder's stamp then.
    absent: BTreeMap<String, Stamp>,
    /// Files read, with their stamp then.
    stamped: BTreeMap<String, (Stamp, Vec<u8>)>,
    /// Answers given from a stamp (for the tests).
    hits: u64,
}

impl Held {
    /// The index in `files` of the held descriptor of `path`, opened now (read-only, not
    /// blocking, with `flags`) if it is not held yet.
    fn open(&mut self, path: &'static str, flags: libc::c_int) -> Result<usize, ReadError> {
        if let Some(i) = self.files.iter().position(|(p, _)| *p == path) {
            return Ok(i);
        }
        let f = open_raw(
            std::path::Path::new(path),
            libc::O_RDONLY | libc::O_NONBLOCK | flags,
        )
        .map_err(|e| io_error(path, &e))?;
        self.files.push((path, f));
        Ok(self.files.len() - 1)
    }
}

static HELD: Mutex<Held> = Mutex::new(Held {
    on: false,
    mounts: None,
    mounts_unchanged: false,
    files: Vec::new(),
    absent: BTreeMap::new(),
    stamped: BTreeMap::new(),
    hits: 0,
});

fn with<T>(f: impl FnOnce(&mut Held) -> T) -> Option<T> {
    HELD.lock().ok().map(|mut h| f(&mut h))
}

/// Turn holding on (the service) or off; either way drop everything held.
pub fn hold(on: bool) {
    with(|h| {
        h.on = on;
        h.mounts = None;
        h.mounts_unchanged = false;
        h.files.clear();
        h.absent.clear();
        h.stamped.clear();
    });
}

/// True when `fs` may use what is held: holding is on, and `fs` is the running host, not
/// recording.
fn active(h: &Held, fs: &HostFs) -> bool {
    h.on && fs.is_live() && !fs.is_recording()
}

fn kernel_path(path: &str) -> bool {
    path.starts_with("/proc/") || path.starts_with("/sys/")
}

/// At the start of a probe: ask whether the mount table changed since the last probe (without
/// waiting); if it did, or cannot be told, drop the kernel files held.
pub fn begin_probe(fs: &HostFs) {
    with(|h| {
        if !active(h, fs) {
            h.mounts_unchanged = false;
            return;
        }
        let unchanged = match &h.mounts {
            Some(f) => {
                let mut p = libc::pollfd {
                    fd: f.as_raw_fd(),
                    events: libc::POLLPRI,
                    revents: 0,
                };
                // SAFETY: one valid pollfd, no wait.
                let n = unsafe { libc::poll(&mut p, 1, 0) };
                n == 0
                    || (n == 1 && p.revents & (libc::POLLPRI | libc::POLLERR | libc::POLLNVAL) == 0)
            }
            None => false,
        };
        if !unchanged {
            h.files.clear();
            // Opening takes the current mount table as the one to compare with.
            h.mounts = open_raw(
                std::path::Path::new("/proc/self/mountinfo"),
                libc::O_RDONLY | libc::O_NONBLOCK,
            )
            .ok();
        }
        h.mounts_unchanged = unchanged;
    });
}

/// True when the mount table is the one of the previous probe (always false unless held).
pub fn mounts_unchanged(fs: &HostFs) -> bool {
    with(|h| active(h, fs) && h.mounts_unchanged).unwrap_or(false)
}

/// Read a file of `/proc` or `/sys` as text (trimmed), through a descriptor held open between
/// probes when holding is on; else as [`HostFs::read_trimmed`] does.
pub fn read_kernel_file(fs: &HostFs, path: &'static str) -> Result<String, ReadError> {
    let held = with(|h| {
        if !active(h, fs) || !kernel_path(path) {
            return None;
        }
        let i = match h.open(path, libc::O_NOCTTY) {
            Ok(i) => i,
            Err(e) => return Some(Err(e)),
        };
        let mut buf = [0u8; 512];
        // SAFETY: pread writes at most buf.len() bytes into buf.
        let n = unsafe {
            libc::pread(
                h.files[i].1.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
            )
        };
        // A failed read, or one that fills the buffer (a file bigger than these one-liners), goes
        // the ordinary way.
        if n < 0 || n as usize >= buf.len() {
            h.files.remove(i);
            return None;
        }
        let text = String::from_utf8_lossy(&buf[..n as usize]);
        Some(Ok(crate::host::trimmed(&text).to_string()))
    })
    .flatten();
    held.unwrap_or_else(|| fs.read_trimmed(path))
}

/// The number of entries of a folder of `/proc` or `/sys`, through a descriptor held open between
/// probes when holding is on; else from [`HostFs::listing`].
pub fn count_kernel_dir(fs: &HostFs, path: &'static str) -> Result<usize, ReadError> {
    let held = with(|h| {
        if !active(h, fs) || !kernel_path(path) {
            return None;
        }
        let i = match h.open(path, libc::O_DIRECTORY) {
            Ok(i) => i,
            Err(e) => return Some(Err(e)),
        };
        let fd = h.files[i].1.as_raw_fd();
        let count = crate::host::count_entries(fd);
        if count.is_none() {
            h.files.remove(i);
        }
        count.map(Ok)
    })
    .flatten();
    held.unwrap_or_else(|| fs.listing(path).map(|l| l.names().count()))
}

/// Which of `paths` exist. When holding is on, a path found absent is not asked about again while
/// its folder's stamp stays the same (one `stat` of `/dev` instead of one per device node); a path
/// that exists is always asked about (it may be a symbolic link whose target went away).
pub fn existing<'a>(fs: &HostFs, paths: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    existing_with(fs, paths, RACY)
}

fn existing_with<'a>(
    fs: &HostFs,
    paths: impl Iterator<Item = &'a str>,
    racy: Duration,
) -> Vec<&'a str> {
    let on = with(|h| active(h, fs)).unwrap_or(false);
    if !on {
        return paths.filter(|p| fs.exists(p)).collect();
    }
    let now = SystemTime::now();
    // Each folder's stamp, asked once per call.
    let mut folders: Vec<(&str, Option<Stamp>)> = Vec::new();
    let mut found = Vec::new();
    for p in paths {
        let parent = match p.rfind('/') {
            Some(0) => "/",
            Some(i) => &p[..i],
            None => "",
        };
        if kernel_path(p) || parent.is_empty() || p.ends_with('/') {
            if fs.exists(p) {
                found.push(p);
            }
            continue;
        }
        let stamp = match folders.iter().find(|(f, _)| *f == parent) {
            Some((_, s)) => *s,
            None => {
                let s = fs
                    .metadata(parent)
                    .ok()
                    .filter(|m| m.is_dir())
                    .map(|m| Stamp::of(&m));
                folders.push((parent, s));
                s
            }
        };
        let Some(stamp) = stamp else {
            // No folder (or not one): the path is asked about as it is.
            if fs.exists(p) {
                found.push(p);
            }
            continue;
        };
        let known_absent = with(|h| {
            let hit = h.absent.get(p) == Some(&stamp);
            h.hits += u64::from(hit);
            hit
        })
        .unwrap_or(false);
        if known_absent {
            continue;
        }
        let exists = fs.exists(p);
        with(|h| {
            if exists || stamp.is_recent(now, racy) {
                h.absent.remove(p);
            } else {
                h.absent.insert(p.to_string(), stamp);
            }
        });
        if exists {
            found.push(p);
        }
    }
    found
}

/// A file's content; when holding is on, the content read before while the file's stamp is the
/// same (one `stat` instead of an open, a read and a close).
pub fn read_stamped(fs: &HostFs, path: &str) -> Result<String, ReadError> {
    read_stamped_with(fs, path, RACY)
}

fn read_stamped_with(fs: &HostFs, path: &str, racy: Duration) -> Result<String, ReadError> {
    let on = with(|h| active(h, fs)).unwrap_or(false);
    if !on || kernel_path(path) {
        return fs.read_string(path);
    }
    // The stamp is taken before the read: a change in between shows at the next probe.
    let stamp = Stamp::of(&fs.metadata(path)?);
    let kept = with(|h| {
        let text = h
            .stamped
            .get(path)
            .filter(|(s, _)| *s == stamp)
            .map(|(_, t)| String::from_utf8_lossy(t).into_owned());
        h.hits += u64::from(text.is_some());
        text
    })
    .flatten();
    if let Some(t) = kept {
        return Ok(t);
    }
    let bytes = fs.read(path).inspect_err(|_| {
        with(|h| h.stamped.remove(path));
    })?;
    with(|h| {
        if stamp.is_recent(SystemTime::now(), racy) {
            h.stamped.remove(path);
        } else {
            h.stamped.insert(path.to_string(), (stamp, bytes.to_vec()));
        }
    });
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
pub(crate) fn hits() -> u64 {
    with(|h| h.hits).unwrap_or(0)
}

/// One lock for the tests that turn holding on (it is process-wide).
#[cfg(test)]
pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_stamps_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let s = Stamp::of(&std::fs::metadata(dir.path()).unwrap());
        let now = SystemTime::now();
        assert!(s.is_recent(now, RACY));
        assert!(!s.is_recent(now + Duration::from_secs(10), RACY));
        assert!(
            s.is_recent(now - Duration::from_secs(10), RACY),
            "a time ahead of the clock"
        );
    }

    /// A kernel file read through the held descriptor is generated afresh at each read.
    #[test]
    fn held_kernel_files_are_read_afresh() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        if !std::path::Path::new("/proc/uptime").exists() {
            eprintln!("skipped: no /proc on this machine");
            return;
        }
        let fs = HostFs::live();
        hold(true);
        begin_probe(&fs);
        let a = read_kernel_file(&fs, "/proc/uptime").unwrap();
        std::thread::sleep(Duration::from_millis(30));
        let b = read_kernel_file(&fs, "/proc/uptime").unwrap();
        let held = with(|h| h.files.len()).unwrap();
        let n = count_kernel_dir(&fs, "/proc/self/task").unwrap();
        hold(false);
        assert_eq!(held, 1, "the file is held");
        assert_ne!(a, b, "the second read gave the first read's content");
        let up = |s: &str| s.split(' ').next().unwrap().parse::<f64>().unwrap();
        assert!(up(&b) > up(&a));
        assert!(n >= 1);
        assert_eq!(
            read_kernel_file(&fs, "/proc/sys/kernel/ostype").unwrap(),
            "Linux"
        );
    }

    /// A name found absent is given from the folder's stamp until the folder changes, even when
    /// its modification time is put back as it was.
    #[test]
    fn absent_names_follow_their_folder() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let (a, b) = (format!("{d}/a"), format!("{d}/b"));
        std::fs::write(&a, "").unwrap();
        let fs = HostFs::live();
        hold(true);
        let ask = || existing_with(&fs, [a.as_str(), b.as_str()].into_iter(), Duration::ZERO);
        assert_eq!(ask(), vec![a.as_str()]);
        let before = hits();
        assert_eq!(ask(), vec![a.as_str()]);
        assert_eq!(hits(), before + 1, "b was not given from the stamp");
        let mtime = std::fs::metadata(&d).unwrap().modified().unwrap();
        std::fs::write(&b, "").unwrap();
        std::fs::File::open(&d)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        assert_eq!(ask(), vec![a.as_str(), b.as_str()]);
        std::fs::remove_file(&a).unwrap();
        assert_eq!(ask(), vec![b.as_str()]);
        // Too recent a folder is not trusted.
        hold(true);
        let before = hits();
        let recent = existing_with(&fs, [a.as_str()].into_iter(), RACY);
        let again = existing_with(&fs, [a.as_str()].into_iter(), RACY);
        hold(false);
        assert!(recent.is_empty() && again.is_empty());
        assert_eq!(hits(), before);
    }

    /// A file's kept content follows every write, even one that keeps its size and mtime.
    #[test]
    fn stamped_files_follow_their_writes() {
        let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("subuid");
        let ps = p.to_str().unwrap();
        std::fs::write(&p, "a:1:2\n").unwrap();
        let fs = HostFs::live();
        hold(true);
        assert_eq!(
            read_stamped_with(&fs, ps, Duration::ZERO).unwrap(),
            "a:1:2\n"
        );
        let before = hits();
        assert_eq!(
            read_stamped_with(&HostFs::live(), ps, Duration::ZERO).unwrap(),
            "a:1:2\n"
        );
        assert_eq!(hits(), before + 1, "not given from the stamp");
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        std::fs::write(&p, "b:3:4\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        let after = read_stamped_with(&HostFs::live(), ps, Duration::ZERO);
        std::fs::remove_file(&p).unwrap();
        let gone = read_stamped_with(&HostFs::live(), ps, Duration::ZERO);
        hold(false);
        assert_eq!(after.unwrap(), "b:3:4\n");
        assert!(gone.unwrap_err().is_not_found());
    }
}
