//! Which inotify watches a probe's paths need: the folder of each path, for the names in it the
//! probe read (every name of a folder it listed; a folder that does not exist through its nearest
//! existing parent), and each device node under `/dev` itself. Folders and nodes are opened
//! through the host layer (under the root, confined) and watched as `/proc/self/fd/N`. Reads no
//! file; opens folders and nodes with `O_PATH` only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::fs::inotify::{self, WatchFlags};
use rustix::io::Errno;

use crate::host::{HostFs, Looked};

/// One inotify watch: the folder as the probe names it, and the names in it that matter (`None`:
/// every name).
#[derive(Debug)]
pub struct Watch {
    /// The folder (or node) as the probe names it.
    pub folder: String,
    /// The names in it that matter (`None`: every name).
    pub names: Option<BTreeSet<String>>,
    /// The data file's folder.
    pub data: bool,
}

/// Each inotify event the watches ask for: a name made, removed, renamed, written or changed in
/// mode, owner or ACL (`IN_ATTRIB`), and the folder itself going away. Closing a file opened for
/// writing (`IN_CLOSE_WRITE`) is left out: the KVM and TUN checks do that to device nodes.
pub fn watch_flags() -> WatchFlags {
    node_flags()
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::MODIFY
        | WatchFlags::ONLYDIR
}

/// What a watch on a device node itself asks for: its mode, owner or ACL, and its going away.
fn node_flags() -> WatchFlags {
    WatchFlags::ATTRIB | WatchFlags::DELETE_SELF | WatchFlags::MOVE_SELF
}

/// Watch, through `fs`, the folders of `looked`'s paths for the names in them (every name of a
/// listed folder), and each device node under `/dev` itself.
pub fn watch_paths(
    ino: &OwnedFd,
    fs: &HostFs,
    looked: &Looked,
    watches: &mut HashMap<i32, Watch>,
    failed: &mut Vec<(String, Errno)>,
) {
    let mut wanted: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
    for path in looked
        .paths
        .iter()
        .filter(|p| !(fs.has_live_sources() && kernel_made(p)))
    {
        if looked.listed.contains(path) {
            wanted.insert(path.clone(), None);
        } else if let Some((folder, name)) = split(path) {
            add_name(&mut wanted, folder, name);
        }
    }
    for (folder, names) in wanted {
        let Some((opened, names)) = nearest(fs, &folder, names) else {
            continue;
        };
        match inotify::add_watch(ino, fd_path(&opened), watch_flags()) {
            Ok(wd) => merge(watches, wd, opened.path().to_string(), names, false),
            Err(e) => failed.push((opened.path().to_string(), e)),
        }
    }
    for path in looked.paths.iter().filter(|p| p.starts_with("/dev/")) {
        let Ok((fd, meta)) = fs.look(path) else {
            continue;
        };
        if meta.kind != crate::host::FileKind::Other {
            continue;
        }
        match inotify::add_watch(ino, fd_path(&fd), node_flags()) {
            Ok(wd) => merge(watches, wd, path.clone(), None, false),
            Err(e) => failed.push((path.clone(), e)),
        }
    }
}

/// Paths the kernel makes itself: no inotify event tells of a change there.
fn kernel_made(path: &str) -> bool {
    ["/proc", "/sys"].iter().any(|k| {
        path.strip_prefix(k)
            .is_some_and(|r| r.is_empty() || r.starts_with('/'))
    })
}

/// `/a/b/c` → (`/a/b`, `c`); `/c` → (`/`, `c`).
fn split(path: &str) -> Option<(&str, &str)> {
    let (folder, name) = path.rsplit_once('/')?;
    (!name.is_empty()).then_some((if folder.is_empty() { "/" } else { folder }, name))
}

fn add_name(wanted: &mut BTreeMap<String, Option<BTreeSet<String>>>, folder: &str, name: &str) {
    if let Some(names) = wanted
        .entry(folder.to_string())
        .or_insert_with(|| Some(BTreeSet::new()))
    {
        names.insert(name.to_string());
    }
}

/// The folder opened, or its nearest existing parent with the name of the step towards it.
fn nearest(
    fs: &HostFs,
    folder: &str,
    names: Option<BTreeSet<String>>,
) -> Option<(crate::host::Folder, Option<BTreeSet<String>>)> {
    let (mut folder, mut names) = (folder.to_string(), names);
    for _ in 0..64 {
        match fs.open_folder(&folder) {
            Ok(f) => return Some((f, names)),
            Err(e) if e.is_not_found() => {
                let (parent, name) = split(&folder)?;
                names = Some(BTreeSet::from([name.to_string()]));
                folder = parent.to_string();
            }
            Err(_) => return None,
        }
    }
    None
}

/// Record watch `wd` (the same inode reached by two paths is one watch: their names unite).
pub fn merge(
    watches: &mut HashMap<i32, Watch>,
    wd: i32,
    folder: String,
    names: Option<BTreeSet<String>>,
    data: bool,
) {
    let w = watches.entry(wd).or_insert_with(|| Watch {
        folder,
        names: Some(BTreeSet::new()),
        data,
    });
    w.data |= data;
    match (&mut w.names, names) {
        (Some(have), Some(more)) => have.extend(more),
        (have, None) => *have = None,
        (None, Some(_)) => {}
    }
}

/// The path inotify follows to an opened folder.
fn fd_path(f: &impl AsFd) -> OsString {
    format!("/proc/self/fd/{}", f.as_fd().as_raw_fd()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_made_paths_and_splits() {
        assert!(kernel_made("/proc/cpuinfo") && kernel_made("/sys") && !kernel_made("/system"));
        assert_eq!(split("/dev/kvm"), Some(("/dev", "kvm")));
        assert_eq!(split("/kvm"), Some(("/", "kvm")));
        assert_eq!(split("/"), None);
    }
}
