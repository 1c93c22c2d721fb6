//! What containers need of the kernel at run time: cgroups, namespaces, user namespaces.
//!
//! Reads `/sys/fs/cgroup/cgroup.controllers` (cgroup v2) or `/proc/cgroups` (v1 and hybrid, with
//! `/sys/fs/cgroup/unified` looked at), lists `/proc/self/ns`, and reads
//! `/proc/sys/user/max_user_namespaces` and `/etc/subuid`.

use std::collections::BTreeSet;

use super::kernel::Kernel;
use super::{Gap, Notes, Reading};
use crate::host::HostFs;
use crate::version::KVersion;

/// What the cgroup and namespace sources found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroups {
    /// `v2`, `hybrid` or `v1`.
    pub version: Reading<String>,
    /// Enabled controllers (v2's built-in freezer and eBPF device control counted).
    pub controllers: Reading<BTreeSet<String>>,
    /// Namespace types this process can see.
    pub namespaces: Reading<BTreeSet<String>>,
    /// `user.max_user_namespaces`.
    pub userns_max: Reading<i64>,
    /// `/etc/subuid` gives ranges.
    pub subids: bool,
}

const V2: &str = "/sys/fs/cgroup/cgroup.controllers";

/// Read the cgroup and namespace sources.
pub fn read(fs: &HostFs, kernel: &Kernel, notes: &mut Notes) -> Cgroups {
    let (version, controllers) = match fs.read_string(V2) {
        Ok(text) => {
            let set = v2_controllers(fs, &text, kernel);
            (
                Reading::known("v2".to_string(), V2),
                Reading::known(set, V2),
            )
        }
        Err(_) => match fs.read_string("/proc/cgroups") {
            Ok(text) => {
                let hybrid = fs.present("/sys/fs/cgroup/unified/cgroup.controllers")
                    || fs.present("/sys/fs/cgroup/unified");
                let version = if hybrid { "hybrid" } else { "v1" };
                (
                    Reading::known(version.to_string(), "/proc/cgroups, /sys/fs/cgroup"),
                    Reading::known(parse_proc_cgroups(&text), "/proc/cgroups"),
                )
            }
            Err(e) => (
                notes.unknown(Gap::CgroupVersion, e.to_string(), "/proc/cgroups"),
                Reading::unknown(e.to_string(), "/proc/cgroups"),
            ),
        },
    };
    let namespaces = match fs.read_dir("/proc/self/ns") {
        Ok(names) => Reading::known(
            names
                .into_iter()
                .filter(|n| !n.ends_with("_for_children"))
                .collect(),
            "/proc/self/ns",
        ),
        Err(e) => Reading::unknown(e.to_string(), "/proc/self/ns"),
    };
    const USERNS: &str = "/proc/sys/user/max_user_namespaces";
    let userns_max = match fs.read_trimmed(USERNS).map(|s| s.parse::<i64>()) {
        Ok(Ok(n)) => Reading::known(n, USERNS),
        Ok(Err(_)) => notes.unknown(Gap::UsernsMax, format!("{USERNS}: not a number"), USERNS),
        Err(e) => Reading::unknown(e.to_string(), USERNS),
    };
    let subids = fs
        .read_string("/etc/subuid")
        .map(|s| s.lines().any(|l| l.split(':').count() == 3))
        .unwrap_or(false);
    Cgroups {
        version,
        controllers,
        namespaces,
        userns_max,
        subids,
    }
}

/// cgroup v2 has no freezer or devices controller files: freezing is `cgroup.freeze` (kernel
/// 5.2+), device control is eBPF (`CONFIG_CGROUP_BPF`). Count them as present so the v2 false
/// negatives of older checkers are not repeated.
fn v2_controllers(fs: &HostFs, text: &str, kernel: &Kernel) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = text.split_whitespace().map(str::to_string).collect();
    let new_kernel = kernel
        .version
        .get()
        .is_some_and(|v| *v >= KVersion(5, 2, 0));
    if new_kernel || fs.present("/sys/fs/cgroup/cgroup.freeze") {
        set.insert("freezer".into());
    }
    let bpf = kernel
        .config
        .as_ref()
        .and_then(|c| c.get())
        .is_some_and(|c| c.get("CGROUP_BPF").is_some_and(|v| v == "y"));
    if bpf {
        set.insert("devices".into());
    }
    if set.contains("cpu") {
        set.insert("cpuacct".into());
    }
    set
}

/// The enabled controllers of `/proc/cgroups` (`name hierarchy num_cgroups enabled`), parsed by
/// procfs-core; a line it cannot read (a truncated file) leaves the lines before it.
pub fn parse_proc_cgroups(text: &str) -> BTreeSet<String> {
    use procfs::FromBufRead;
    // procfs stops at the first bad line: parse line by line so the good ones still count.
    text.lines()
        .filter_map(|l| procfs::CGroupControllers::from_buf_read(l.as_bytes()).ok())
        .flat_map(|c| c.0)
        .filter(|c| c.enabled)
        .map(|c| c.name)
        .collect()
}
