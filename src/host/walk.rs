//! Confined path resolution without `openat2`: one component at a time from the root's
//! descriptor, each opened with `O_PATH | O_NOFOLLOW` relative to the folder before it, symlinks
//! read and resolved here against the root (absolute ones restart at it, `..` stops at it). Every
//! step holds a descriptor of the folder it came from, so renaming or swapping a folder while the
//! walk runs cannot lead it outside the root.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::{FileType, Mode, OFlags};
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
