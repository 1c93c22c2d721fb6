//! Confined path resolution: `openat2` where the kernel lets it through ([`openat2_retrying`]),
//! and without it: one component at a time from the root's
//! descriptor, each opened with `O_PATH | O_NOFOLLOW` relative to the folder before it, symlinks
//! read and resolved here against the root (absolute ones restart at it, `..` stops at it). Every
//! step holds a descriptor of the folder it came from, so renaming or swapping a folder while the
//! walk runs cannot lead it outside the root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Symlinks followed while resolving one path before it counts as a loop (Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Open `rel` (relative, no NUL) under `root` with `flags`; `follow` follows a final symlink.
pub(super) fn open(
    root: &OwnedFd,
    rel: &str,
    flags: OFlags,
    follow: bool,
) -> Result<OwnedFd, Errno> {
    let mut pending: Vec<Vec<u8>> = Vec::new();
    push_components(&mut pending, rel.as_bytes());
    // Folders below the root, innermost last.
    let mut stack: Vec<OwnedFd> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        let here: BorrowedFd<'_> = stack.last().map_or(root.as_fd(), |f| f.as_fd());
        if part == b".." {
            stack.pop();
            continue;
        }
        let last = pending.is_empty();
        let step = rustix::fs::openat(
            here,
            part.as_slice(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let kind = FileType::from_raw_mode(rustix::fs::fstat(&step)?.st_mode);
        if kind == FileType::Symlink && (follow || !last) {
            links += 1;
            if links > MAX_LINKS {
                return Err(Errno::LOOP);
            }
            let target = rustix::fs::readlinkat(&step, "", Vec::new())?;
            let target = target.as_bytes();
            if target.starts_with(b"/") {
                stack.clear();
            }
            push_components(&mut pending, target);
            continue;
        }
        if last {
            if flags.contains(OFlags::PATH) {
                return Ok(step);
            }
            // Opened again by name from the folder held: a symlink swapped in meanwhile fails
            // (O_NOFOLLOW) rather than being followed.
            return rustix::fs::openat(
                here,
                part.as_slice(),
                flags | OFlags::NOFOLLOW,
                Mode::empty(),
            );
        }
        if kind != FileType::Directory {
            return Err(Errno::NOTDIR);
        }
        stack.push(step);
    }
    // The path ended at a folder (`.`, or `..`): open it.
    let here = stack.last().map_or(root.as_fd(), |f| f.as_fd());
    rustix::fs::openat(here, ".", flags, Mode::empty())
}

/// Push a path's components so that popping gives them in order (`.` and empty ones dropped).
fn push_components(stack: &mut Vec<Vec<u8>>, path: &[u8]) {
    let parts: Vec<Vec<u8>> = path
        .split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
        .collect();
    stack.extend(parts.into_iter().rev());
}

/// `openat2` confined to `root`. The kernel answers `EAGAIN` when a rename or mount raced with
/// the lookup; a few more tries settle it, after which the error stands.
pub(super) fn openat2_retrying(root: &OwnedFd, rel: &str, flags: OFlags) -> Result<OwnedFd, Errno> {
    let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
    let mut tries = 0;
    loop {
        match rustix::fs::openat2(root, rel, flags, Mode::empty(), resolve) {
            Err(Errno::AGAIN | Errno::INTR) if tries < 16 => tries += 1,
            other => return other,
        }
    }
}

/// Whether this kernel (and any seccomp filter) lets `openat2` through.
pub(super) fn openat2_works(root: &OwnedFd) -> bool {
    !matches!(
        openat2_retrying(root, ".", OFlags::PATH | OFlags::CLOEXEC),
        Err(Errno::NOSYS | Errno::PERM)
    )
}

/// Whether `dir` is this process's own root: the same file on the same mount (a folder that
/// shows the same files through another mount namespace, such as `/proc/PID/root`, is not).
pub(super) fn is_own_root(dir: &OwnedFd) -> bool {
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

/// A descriptor's metadata, as far as the probe needs it.
pub fn fstat_meta(fd: &OwnedFd) -> Result<super::kinds::Meta, Errno> {
    let st = rustix::fs::fstat(fd)?;
    let kind = match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => super::kinds::FileKind::File,
        FileType::Directory => super::kinds::FileKind::Dir,
        FileType::Symlink => super::kinds::FileKind::Symlink,
        _ => super::kinds::FileKind::Other,
    };
    Ok(super::kinds::Meta {
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        id: (st.st_dev, st.st_ino),
    })
}
