//! The mount table of this process's mount namespace (`/proc/self/mountinfo`): the kernel marks
//! the file `POLLPRI` when a mount or unmount happens, and comparing two readings says which
//! mount points changed, so that only a mount over something the probe reads (a bind mount over
//! `/dev/kvm`, a cgroup file system) wakes the service.

use std::collections::BTreeSet;
use std::io::{self, Read, Seek};

/// The largest mount table read (a node with thousands of pods has a long one).
const MAX_MOUNTINFO: u64 = 16 << 20;

/// `/proc/self/mountinfo`, open, and the mount lines it held at the last reading.
pub struct MountTable {
    file: std::fs::File,
    lines: BTreeSet<String>,
}

impl MountTable {
    /// Open the mount table and read it once.
    pub fn open() -> io::Result<MountTable> {
        let file = std::fs::File::open("/proc/self/mountinfo")?;
        let mut t = MountTable {
            file,
            lines: BTreeSet::new(),
        };
        t.lines = t.read()?;
        Ok(t)
    }

    /// The file, for `poll`.
    pub fn file(&self) -> &std::fs::File {
        &self.file
    }

    fn read(&mut self) -> io::Result<BTreeSet<String>> {
        self.file.rewind()?;
        let mut text = String::new();
        (&self.file).take(MAX_MOUNTINFO).read_to_string(&mut text)?;
        Ok(text.lines().map(|l| l.to_string()).collect())
    }

    /// The mount points mounted, unmounted or changed since the last reading (`None`: the table
    /// could not be read again, so anything may have changed).
    pub fn changed(&mut self) -> Option<BTreeSet<String>> {
        let now = self.read().ok()?;
        let points = self
            .lines
            .symmetric_difference(&now)
            .filter_map(|l| mount_point(l))
            .collect();
        self.lines = now;
        Some(points)
    }
}

/// A mountinfo line's mount point (its fifth field), unescaped (`\040` is a space).
pub fn mount_point(line: &str) -> Option<String> {
    let field = line.split(' ').nth(4)?;
    let mut out = Vec::with_capacity(field.len());
    let b = field.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Whether a mount at `point` covers `path` (the same path, or a folder above it).
pub fn covers(point: &str, path: &str) -> bool {
    point == "/"
        || path
            .strip_prefix(point)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_and_what_they_cover() {
        let line = "36 35 98:0 /mnt1 /mnt/a\\040b rw,noatime master:1 - ext3 /dev/root rw";
        assert_eq!(mount_point(line).as_deref(), Some("/mnt/a b"));
        assert_eq!(mount_point("1 2 3").as_deref(), None);
        assert_eq!(mount_point("1 2 3 / /x\\07").as_deref(), Some("/x\\07"));
        assert!(covers("/dev/kvm", "/dev/kvm"));
        assert!(covers(
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/cgroup.controllers"
        ));
        assert!(!covers("/dev/kv", "/dev/kvm"));
        assert!(covers("/", "/etc/subuid"));
    }
}
