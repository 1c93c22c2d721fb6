//! The host file system seen through a root.
//!
//! Every file the probe reads goes through [`HostFs`]. On a live host the root is `/` and paths are
//! used as they are. With `--root DIR` every path resolves under `DIR` the way `chroot` would: an
//! absolute symlink restarts at `DIR`, `..` never climbs above it, so a captured tree can never make
//! the probe read the machine it runs on. Reads are bounded in size, never block on FIFOs or
//! devices, and are cached so a file is read once per probe even when several facts need it. The
//! list of files read is kept, which is what `virtprobe capture` copies.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// Largest file the probe reads (8 MiB). A real `/proc/cpuinfo` of a 1024-CPU host is about 1.5 MiB.
pub const MAX_READ: u64 = 8 * 1024 * 1024;
/// Symlinks followed while resolving one path before it counts as a loop (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

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
    /// More than 40 symlinks while resolving.
    #[error("{0}: too many levels of symbolic links")]
    SymlinkLoop(String),
    /// Any other I/O error.
    #[error("{0}: {1}")]
    Io(String, String),
}

impl ReadError {
    /// True when the file simply is not there (as opposed to unreadable).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound(_))
    }
}

pub(crate) fn io_error(path: &str, e: &std::io::Error) -> ReadError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound(path.to_string()),
        std::io::ErrorKind::PermissionDenied => ReadError::PermissionDenied(path.to_string()),
        _ => match e.raw_os_error() {
            Some(libc::ELOOP) => ReadError::SymlinkLoop(path.to_string()),
            Some(libc::ENOTDIR) => ReadError::NotFound(path.to_string()),
            Some(libc::EISDIR) => ReadError::NotAFile(path.to_string()),
            _ => ReadError::Io(path.to_string(), e.to_string()),
        },
    }
}

type Cached = Result<Rc<[u8]>, ReadError>;

/// What the probe learned of a path without reading it, recorded for `virtprobe capture`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touch {
    /// It exists and is a directory.
    Dir,
    /// It exists and is not a directory.
    Other,
    /// A directory listing.
    Listed(Vec<String>),
}

/// The host's file system under a root, with a read cache and a record of what was read.
#[derive(Debug)]
pub struct HostFs {
    root: PathBuf,
    live: bool,
    cache: RefCell<BTreeMap<String, Cached>>,
    touched: Option<RefCell<BTreeMap<String, Touch>>>,
    /// The buffer files are read into before their exact-size copy is cached: one buffer for the
    /// whole probe instead of an 8 KiB one per file (freed, but each one a fresh page or two).
    scratch: RefCell<Vec<u8>>,
}

impl HostFs {
    /// The running host: root `/`, live sources allowed.
    pub fn live() -> Self {
        HostFs {
            root: PathBuf::from("/"),
            live: true,
            cache: RefCell::default(),
            touched: None,
            scratch: RefCell::default(),
        }
    }

    /// The running host, recording every path it looks at (for `virtprobe capture`).
    pub fn live_recording() -> Self {
        HostFs {
            touched: Some(RefCell::default()),
            ..HostFs::live()
        }
    }

    /// A captured tree. `dir` must be a directory; it is canonicalised once.
    pub fn with_root(dir: &Path) -> Result<Self, ReadError> {
        let shown = dir.display().to_string();
        let canon = std::fs::canonicalize(dir).map_err(|e| io_error(&shown, &e))?;
        if !canon.is_dir() {
            return Err(ReadError::NotAFile(shown));
        }
        let live = canon == Path::new("/");
        Ok(HostFs {
            root: canon,
            live,
            cache: RefCell::default(),
            touched: None,
            scratch: RefCell::default(),
        })
    }

    /// True when every path looked at is recorded (for `virtprobe capture`).
    pub fn is_recording(&self) -> bool {
        self.touched.is_some()
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when this is the running host (root `/`): CPUID, ioctls and uname may be used.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// Resolve a host path (absolute, e.g. `/proc/cpuinfo`) to a real path, confined to the root.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, ReadError> {
        if self.live {
            return Ok(PathBuf::from(path));
        }
        let mut pending: Vec<std::ffi::OsString> = Vec::new();
        push_components(&mut pending, Path::new(path));
        let mut resolved: Vec<std::ffi::OsString> = Vec::new();
        let mut links = 0usize;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let mut candidate = self.root.clone();
            candidate.extend(resolved.iter());
            candidate.push(&part);
            match std::fs::symlink_metadata(&candidate) {
                Ok(md) if md.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(ReadError::SymlinkLoop(path.to_string()));
                    }
                    let target = std::fs::read_link(&candidate).map_err(|e| io_error(path, &e))?;
                    if target.is_absolute() {
                        resolved.clear();
                    }
                    push_components(&mut pending, &target);
                }
                Ok(_) => resolved.push(part),
                Err(e) => {
                    if e.kind() == std::io::ErrorKind::NotFound
                        || e.raw_os_error() == Some(libc::ENOTDIR)
                    {
                        return Err(ReadError::NotFound(path.to_string()));
                    }
                    return Err(io_error(path, &e));
                }
            }
        }
        let mut out = self.root.clone();
        out.extend(resolved.iter());
        Ok(out)
    }

    /// Metadata of a host path (following symlinks inside the root).
    pub fn metadata(&self, path: &str) -> Result<Metadata, ReadError> {
        // (On the running host the path is used as it is, without a copy.)
        let md = if self.live {
            std::fs::metadata(path)
        } else {
            std::fs::metadata(self.resolve(path)?)
        }
        .map_err(|e| io_error(path, &e))?;
        if let Some(t) = &self.touched {
            t.borrow_mut()
                .entry(path.to_string())
                .or_insert(if md.is_dir() {
                    Touch::Dir
                } else {
                    Touch::Other
                });
        }
        Ok(md)
    }

    /// True when the path exists (any file type).
    pub fn exists(&self, path: &str) -> bool {
        self.metadata(path).is_ok()
    }

    /// The names in a directory, sorted. Bounded to 100 000 entries.
    pub fn read_dir(&self, path: &str) -> Result<Vec<String>, ReadError> {
        let mut names = self.read_dir_unsorted(path)?;
        names.sort_unstable();
        Ok(names)
    }

    /// Call `f` with each name in a directory, in the order the file system gives them, without
    /// building a list (for big folders such as /usr/bin). Bounded to 100 000 entries.
    pub fn scan_dir(
        &self,
        path: &str,
        mut f: impl FnMut(&std::ffi::OsStr),
    ) -> Result<(), ReadError> {
        let listing = self.listing(path)?;
        for name in listing.names() {
            f(name);
        }
        Ok(())
    }

    /// A directory's entries as the kernel lists them (`getdents64`), `.` and `..` left out:
    /// one buffer, no allocation per name. Bounded to 100 000 entries.
    pub fn listing(&self, path: &str) -> Result<Listing, ReadError> {
        use std::os::fd::AsRawFd;
        let real = self.resolve(path)?;
        let dir = open_raw(&real, libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NONBLOCK)
            .map_err(|e| io_error(path, &e))?;
        let mut raw: Vec<u8> = Vec::new();
        let mut count = 0usize;
        let pseudo = self.live && (path.starts_with("/proc/") || path.starts_with("/sys/"));
        loop {
            // Zeroed first: the kernel leaves the padding after each name as it found it.
            let start = raw.len();
            raw.resize(start + 32 * 1024, 0);
            // SAFETY: getdents64 writes at most the given length at the given place, inside `raw`.
            let n = unsafe {
                libc::syscall(
                    libc::SYS_getdents64,
                    dir.as_raw_fd(),
                    raw.as_mut_ptr().add(start),
                    32 * 1024,
                )
            };
            raw.truncate(start + n.max(0) as usize);
            if n < 0 {
                return Err(io_error(path, &std::io::Error::last_os_error()));
            }
            if n == 0 {
                break;
            }
            count += Records(&raw[start..]).count();
            // The kernel's own folders are listed whole until the buffer is full: room left for
            // another record (at most 280 bytes) means the end, with no call to say so.
            if count >= MAX_ENTRIES || (pseudo && (n as usize) + 512 < 32 * 1024) {
                break;
            }
        }
        let listing = Listing { raw };
        if let Some(t) = &self.touched {
            let names = listing
                .names()
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            t.borrow_mut()
                .insert(path.to_string(), Touch::Listed(names));
        }
        Ok(listing)
    }

    /// A folder opened for asking whether given names exist in it: one system call per name,
    /// where a listing of a hashed ext4 folder of a thousand programs costs about a millisecond.
    pub fn open_dir(&self, path: &str) -> Result<DirNames, ReadError> {
        let real = self.resolve(path)?;
        let dir =
            open_raw(&real, libc::O_PATH | libc::O_DIRECTORY).map_err(|e| io_error(path, &e))?;
        Ok(DirNames { dir })
    }

    /// The names in a directory, in the order the file system gives them. Bounded to 100 000
    /// entries.
    pub fn read_dir_unsorted(&self, path: &str) -> Result<Vec<String>, ReadError> {
        Ok(self
            .listing(path)?
            .names()
            .map(|n| name_string(n.to_os_string()))
            .collect())
    }

    /// Read a whole file (bounded, cached, never blocking on FIFOs or devices).
    pub fn read(&self, path: &str) -> Result<Rc<[u8]>, ReadError> {
        if let Some(hit) = self.cache.borrow().get(path) {
            return hit.clone();
        }
        let result = {
            let mut buf = self.scratch.borrow_mut();
            buf.clear();
            self.read_uncached(path, &mut buf)
                .map(|()| Rc::from(&buf[..]))
        };
        self.cache
            .borrow_mut()
            .insert(path.to_string(), result.clone());
        result
    }

    /// Read a file as text; invalid UTF-8 is replaced, never an error.
    pub fn read_string(&self, path: &str) -> Result<String, ReadError> {
        self.read(path).map(|b| match std::str::from_utf8(&b) {
            // The common case, validated at memory speed; only a file that is not UTF-8 pays
            // for the character-by-character repair.
            Ok(s) => s.to_owned(),
            Err(_) => String::from_utf8_lossy(&b).into_owned(),
        })
    }

    /// Read a one-line file, trimmed.
    pub fn read_trimmed(&self, path: &str) -> Result<String, ReadError> {
        self.read_string(path).map(|s| trimmed(&s).to_string())
    }

    fn read_uncached(&self, path: &str, buf: &mut Vec<u8>) -> Result<(), ReadError> {
        let real = self.resolve(path)?;
        let mut flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
        if !self.live {
            flags |= libc::O_NOFOLLOW;
        }
        let file: File = open_raw(&real, flags).map_err(|e| io_error(path, &e))?;
        // On the running host /proc and /sys hold the kernel's own files, whose sizes say
        // nothing (0, or 4096 for any sysfs attribute): they are read without asking for their
        // type and size first (a folder among them fails the read itself, and is refused then).
        // Elsewhere, and in any captured tree, only regular files are read.
        let pseudo = self.live && (path.starts_with("/proc/") || path.starts_with("/sys/"));
        let size = if pseudo {
            0
        } else {
            let md = file.metadata().map_err(|e| io_error(path, &e))?;
            let ft = md.file_type();
            if ft.is_dir()
                || ft.is_fifo()
                || ft.is_socket()
                || ft.is_block_device()
                || ft.is_char_device()
            {
                return Err(ReadError::NotAFile(path.to_string()));
            }
            md.len()
        };
        // Files of /proc and /sys report size 0: start with room for most of them in one read.
        let cap = match size {
            0 => 8192,
            n => n.min(MAX_READ) as usize + 1,
        };
        buf.reserve(cap);
        if pseudo {
            // The kernel's own files hand over all they hold in one read when it fits (sysfs
            // attributes, sysctls and seq_file fill the buffer until they run out): a short first
            // read is the whole file, and asking again for the end would be one more call.
            use std::os::fd::AsRawFd;
            let start = buf.len();
            let room = buf.capacity() - start;
            // SAFETY: read writes at most `room` bytes into the spare capacity of `buf`.
            let n =
                unsafe { libc::read(file.as_raw_fd(), buf.as_mut_ptr().add(start).cast(), room) };
            if n >= 0 {
                // SAFETY: the kernel initialised these `n` bytes.
                unsafe { buf.set_len(start + n as usize) };
                if (n as usize) < room {
                    return Ok(());
                }
            }
            // A full buffer, or an error: the loop below reads on (and reports a real error).
        }
        file.take(MAX_READ + 1 - buf.len() as u64)
            .read_to_end(buf)
            .map_err(|e| io_error(path, &e))?;
        if buf.len() as u64 > MAX_READ {
            return Err(ReadError::TooLarge(path.to_string(), MAX_READ));
        }
        Ok(())
    }

    /// Paths looked at without being read (existence checks, listings), when recording.
    pub fn touched(&self) -> BTreeMap<String, Touch> {
        self.touched
            .as_ref()
            .map(|t| t.borrow().clone())
            .unwrap_or_default()
    }

    /// Read results so far: path → content, for the paths that held a readable regular file.
    pub fn contents(&self) -> Vec<(String, Rc<[u8]>)> {
        self.cache
            .borrow()
            .iter()
            .filter_map(|(k, v)| v.as_ref().ok().map(|b| (k.clone(), b.clone())))
            .collect()
    }

    /// The host paths read so far that held a readable regular file.
    pub fn files_read(&self) -> Vec<String> {
        self.cache
            .borrow()
            .iter()
            .filter(|(_, v)| v.is_ok())
            .map(|(k, _)| k.clone())
            .collect()
    }
}

fn push_components(stack: &mut Vec<std::ffi::OsString>, p: &Path) {
    // `stack` is popped from the end, so push in reverse order.
    let parts: Vec<std::ffi::OsString> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

/// A directory listing (see [`HostFs::listing`]): the kernel's `linux_dirent64` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    raw: Vec<u8>,
}

/// Entries a listing gives at most.
const MAX_ENTRIES: usize = 100_000;

impl Listing {
    /// The entries' names, `.` and `..` left out.
    pub fn names(&self) -> impl Iterator<Item = &std::ffi::OsStr> {
        use std::os::unix::ffi::OsStrExt;
        Records(&self.raw)
            .filter(|n| *n != b"." && *n != b"..")
            .take(MAX_ENTRIES)
            .map(std::ffi::OsStr::from_bytes)
    }
}

/// The names in a buffer of `linux_dirent64` records: inode (8 bytes), offset (8), record length
/// (2), type (1), then the NUL-terminated name. A record the buffer does not hold whole ends it.
struct Records<'a>(&'a [u8]);

impl<'a> Iterator for Records<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        const NAME: usize = 19;
        let buf = self.0;
        let reclen = u16::from_ne_bytes([*buf.get(16)?, *buf.get(17)?]) as usize;
        if reclen <= NAME || reclen > buf.len() {
            self.0 = &[];
            return None;
        }
        let field = &buf[NAME..reclen];
        let name = &field[..field.iter().position(|&b| b == 0).unwrap_or(field.len())];
        self.0 = &buf[reclen..];
        Some(name)
    }
}

/// The number of entries (`.` and `..` left out) of the kernel folder open as `fd`, listed again
/// from its start; `None` when it cannot be listed. (For [`crate::held`]: like
/// [`HostFs::listing`] on `/proc` and `/sys`, a short listing is the whole one.)
pub(crate) fn count_entries(fd: std::os::fd::RawFd) -> Option<usize> {
    // SAFETY: lseek on a descriptor the caller owns.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } != 0 {
        return None;
    }
    let mut buf = [0u8; 8192];
    let mut count = 0usize;
    loop {
        // SAFETY: getdents64 writes at most buf.len() bytes into buf.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), buf.len()) };
        if n < 0 {
            return None;
        }
        let n = n as usize;
        count += Records(&buf[..n.min(buf.len())])
            .filter(|r| *r != b"." && *r != b"..")
            .count();
        if n == 0 || n + 512 < buf.len() || count >= MAX_ENTRIES {
            return Some(count.min(MAX_ENTRIES));
        }
    }
}

/// An open folder (see [`HostFs::open_dir`]).
#[derive(Debug)]
pub struct DirNames {
    dir: File,
}

impl DirNames {
    /// Whether the folder has an entry of that name (a symbolic link counts, wherever it points;
    /// a name with `/` or NUL has none).
    pub fn has(&self, name: &str) -> bool {
        use std::os::fd::AsRawFd;
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return false;
        }
        let Ok(c) = std::ffi::CString::new(name) else {
            return false;
        };
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: a valid descriptor, a NUL-terminated relative name and a buffer for one stat.
        unsafe {
            libc::fstatat(
                self.dir.as_raw_fd(),
                c.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            ) == 0
        }
    }
}

/// Open `path` with `flags` (and `O_CLOEXEC`) in one system call. (The standard library's open
/// goes through the C library, and musl follows every `O_CLOEXEC` open with an `fcntl` that
/// kernels older than 2.6.23 needed: one call more for each file a probe reads.)
pub fn open_raw(path: &Path, flags: libc::c_int) -> std::io::Result<File> {
    use std::os::fd::FromRawFd;
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in path"))?;
    loop {
        // SAFETY: a NUL-terminated path; openat reads it only.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                c.as_ptr(),
                flags | libc::O_CLOEXEC,
                0o666 as libc::c_uint,
            )
        };
        if fd >= 0 {
            // SAFETY: a new descriptor that nothing else owns.
            return Ok(unsafe { File::from_raw_fd(fd as libc::c_int) });
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// A one-line file's text without the white space and NULs around it.
pub fn trimmed(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\0')
}

/// A file name as text: the name itself when it is UTF-8 (no copy), else with U+FFFD for the bytes
/// that are not.
fn name_string(name: std::ffi::OsString) -> String {
    name.into_string()
        .unwrap_or_else(|n| n.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::os::unix::fs::symlink;

    /// The raw listing names what the standard library's listing names, odd names included, and
    /// so many that the kernel needs several calls.
    #[test]
    fn listing_names_every_entry() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let mut want = std::collections::BTreeSet::new();
        for i in 0..1500 {
            let name = format!("entry-{i:04}-{}", "x".repeat(i % 200));
            std::fs::write(dir.path().join(&name), "").unwrap();
            want.insert(std::ffi::OsString::from(name));
        }
        let odd = std::ffi::OsStr::from_bytes(b"not-utf8-\xff\xfe");
        std::fs::create_dir(dir.path().join(odd)).unwrap();
        want.insert(odd.to_os_string());
        let fs = HostFs::with_root(dir.path()).unwrap();
        let listing = fs.listing("/").unwrap();
        let got: std::collections::BTreeSet<_> =
            listing.names().map(|n| n.to_os_string()).collect();
        assert_eq!(got.len(), listing.names().count(), "a name listed twice");
        assert_eq!(got, want);
        assert_eq!(listing, fs.listing("/").unwrap());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        /// Any bytes at all parse into names without a panic, each inside the buffer.
        #[test]
        fn records_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let total: usize = Records(&bytes).map(<[u8]>::len).sum();
            prop_assert!(total <= bytes.len());
        }
    }

    /// On the running host, /proc and /sys files are read without a type check first: a folder
    /// there is still refused as not a file, and a file still reads whole.
    #[test]
    fn live_kernel_files_read_and_folders_are_refused() {
        let fs = HostFs::live();
        if !Path::new("/proc/self/status").exists() {
            eprintln!("skipped: no /proc on this machine");
            return;
        }
        assert!(matches!(fs.read("/proc/self"), Err(ReadError::NotAFile(_))));
        assert!(matches!(
            fs.read("/sys/module"),
            Err(ReadError::NotAFile(_)) | Err(ReadError::NotFound(_))
        ));
        let status = fs.read_string("/proc/self/status").unwrap();
        assert!(
            status.starts_with("Name:") && status.contains("\nPid:"),
            "{status}"
        );
        assert!(matches!(
            fs.read("/proc/no-such-file"),
            Err(ReadError::NotFound(_))
        ));
    }

    #[test]
    fn symlinks_stay_inside_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::fs::write(root.join("usr/lib/os-release"), "ID=test\n").unwrap();
        symlink("../usr/lib/os-release", root.join("etc/os-release")).unwrap();
        symlink("/etc/hostname", root.join("etc/abs")).unwrap();
        symlink("../../../../../../etc/passwd", root.join("etc/up")).unwrap();
        symlink("loop2", root.join("etc/loop1")).unwrap();
        symlink("loop1", root.join("etc/loop2")).unwrap();
        let fs = HostFs::with_root(root).unwrap();
        assert_eq!(fs.read_string("/etc/os-release").unwrap(), "ID=test\n");
        assert!(fs.read("/etc/abs").unwrap_err().is_not_found());
        // `..` is clamped at the root: /etc/passwd of the tree, which does not exist.
        assert!(fs.read("/etc/up").unwrap_err().is_not_found());
        assert!(matches!(
            fs.read("/etc/loop1"),
            Err(ReadError::SymlinkLoop(_))
        ));
        assert!(matches!(fs.read("/etc"), Err(ReadError::NotAFile(_))));
        assert_eq!(fs.files_read(), vec!["/etc/os-release".to_string()]);
    }
}
