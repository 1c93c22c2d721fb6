//! The small sources: architecture, host name, the paths the table asks about, the invoking user
//! and the IOMMU groups.
//!
//! Reads `/proc/sys/kernel/arch` and `/proc/sys/kernel/osrelease` (for the architecture when no
//! `uname` answer exists, as in a captured tree), `/etc/hostname` (a tree's host name), each path
//! the table names (existence only) and the folder `/sys/kernel/iommu_groups`.

use std::collections::BTreeSet;

use super::cpu::CpuInfo;
use super::tools::Lookup;
use super::{Gap, Notes, Reading};
use crate::host::HostFs;
use crate::host::live::{Live, Uname, UserInfo};

/// What the small sources found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    /// `uname -m` word.
    pub arch: Reading<String>,
    /// Host name.
    pub hostname: Reading<String>,
    /// The table's paths that exist.
    pub paths: Lookup<BTreeSet<String>>,
    /// The invoking user (not recorded in a tree captured by an old virtprobe).
    pub user: Option<UserInfo>,
    /// Number of IOMMU groups.
    pub iommu: Reading<i64>,
    /// The invoking user could open `/dev/net/tun` read-write.
    pub tun: Reading<bool>,
    /// The distribution (os-release).
    pub os: Reading<super::os::OsRelease>,
}

/// Whether the invoking user may open `/dev/net/tun` (live, or as a capture recorded it).
pub fn tun(live: &dyn Live, notes: &mut Notes) -> Reading<bool> {
    match (live.tun(), live.is_native()) {
        (Some(Ok(ok)), true) => Reading::known(ok, "open /dev/net/tun"),
        (Some(Ok(ok)), false) => Reading::known(ok, "virtprobe-live.json tun"),
        (Some(Err(why)), _) => notes.unknown(Gap::Tun, why, "open /dev/net/tun"),
        (None, _) => Reading::not_tried(
            "captured tree: virtprobe-live.json has no answer for it",
            "open /dev/net/tun",
        ),
    }
}

/// The architecture: `uname`, else the tree's `/proc/sys/kernel/arch`, else a distribution
/// kernel release's suffix, else the format of `/proc/cpuinfo`.
pub fn arch(
    fs: &HostFs,
    live: &dyn Live,
    uname: Option<&Uname>,
    cpu: &CpuInfo,
    notes: &mut Notes,
) -> Reading<String> {
    if let Some(u) = uname.filter(|u| !u.machine.is_empty()) {
        let src = if live.is_native() {
            "uname"
        } else {
            "virtprobe-live.json uname"
        };
        return Reading::known(u.machine.clone(), src);
    }
    if let Ok(a) = fs.read_trimmed("/proc/sys/kernel/arch")
        && !a.is_empty()
    {
        return Reading::known(a, "/proc/sys/kernel/arch");
    }
    if let Ok(rel) = fs.read_trimmed("/proc/sys/kernel/osrelease")
        && let Some(a) = arch_from_release(&rel)
    {
        return Reading::known(a.to_string(), format!("kernel release suffix of {rel:?}"));
    }
    if let Some(a) = &cpu.arch {
        return Reading::known(a.clone(), "/proc/cpuinfo format");
    }
    notes.unknown(
        Gap::Arch,
        "no uname, /proc/sys/kernel/arch, kernel release suffix or readable /proc/cpuinfo",
        "/proc/cpuinfo",
    )
}

/// The `uname -m` words of 32-bit x86.
pub const X86_32: &[&str] = &["i386", "i486", "i586", "i686"];

/// Whether an architecture word is x86 (32 or 64 bit): where CPUID and VT-x/AMD-V apply.
pub fn is_x86(arch: &str) -> bool {
    arch == "x86_64" || X86_32.contains(&arch)
}

/// The architecture a word names, in `uname -m` words: the other spellings people and
/// distributions use (`amd64`, `arm64`, `x86`) and every 32-bit x86 word are one.
pub fn canonical_arch(word: &str) -> &str {
    match word {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "x86" => "i686",
        w if X86_32.contains(&w) => "i686",
        w => w,
    }
}

/// Architecture from a distribution kernel release suffix (`3.10.0-1160.el7.x86_64`).
pub fn arch_from_release(release: &str) -> Option<&'static str> {
    const SUFFIXES: &[(&str, &str)] = &[
        ("x86_64", "x86_64"),
        ("amd64", "x86_64"),
        ("aarch64", "aarch64"),
        ("arm64", "aarch64"),
        ("ppc64le", "ppc64le"),
        ("ppc64", "ppc64"),
        ("s390x", "s390x"),
        ("i686", "i686"),
        ("i586", "i686"),
        ("riscv64", "riscv64"),
        ("loongarch64", "loongarch64"),
    ];
    let last = release.rsplit(['.', '-', '+']).next()?;
    SUFFIXES.iter().find(|(s, _)| *s == last).map(|(_, a)| *a)
}

/// The host name: `gethostname(2)` on the running host, the tree's `/etc/hostname` else (and for
/// `--host-root`, the node's, falling back to this machine's).
pub fn hostname(fs: &HostFs, live: &dyn Live) -> Reading<String> {
    if !fs.is_live()
        && let Ok(h) = fs.read_trimmed("/etc/hostname")
        && !h.is_empty()
    {
        return Reading::known(h, "/etc/hostname");
    }
    if live.is_native()
        && let Ok(h) = sysinfo::System::host_name()
    {
        return Reading::known(h, "gethostname");
    }
    Reading::unknown("no host name", "/etc/hostname")
}

/// Which of `paths` exist, and which could not be told (a stat that failed other than "not
/// found").
pub fn existing(fs: &HostFs, paths: &BTreeSet<String>) -> Lookup<BTreeSet<String>> {
    let mut out: Lookup<BTreeSet<String>> = Lookup::default();
    for p in paths {
        match fs.exists(p) {
            Ok(true) => {
                out.found.insert(p.clone());
            }
            Ok(false) => {}
            Err(e) => {
                out.unsure.insert(p.clone(), e.to_string());
            }
        }
    }
    out
}

/// How many IOMMU groups the kernel made (0 when the folder is absent: no IOMMU driver).
pub fn iommu_groups(fs: &HostFs, notes: &mut Notes) -> Reading<i64> {
    const DIR: &str = "/sys/kernel/iommu_groups";
    match fs.read_dir(DIR) {
        Ok(n) => Reading::known(n.len() as i64, DIR),
        Err(e) if e.is_not_found() => Reading::known(0, "/sys/kernel/iommu_groups absent"),
        Err(e) => notes.unknown(Gap::IommuGroups, e.to_string(), DIR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_suffixes() {
        assert_eq!(arch_from_release("3.10.0-1160.el7.x86_64"), Some("x86_64"));
        assert_eq!(arch_from_release("5.14.0-427.el9.aarch64"), Some("aarch64"));
        assert_eq!(arch_from_release("6.8.0-48-generic"), None);
        assert_eq!(arch_from_release(""), None);
    }
}
