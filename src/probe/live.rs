//! Live-only sources: CPUID, the KVM ioctls, `uname`, the invoking user.
//!
//! On the running host these come from the CPU and the kernel. A captured tree cannot hold them as
//! files, so `virtprobe capture` writes their answers to `virtprobe-live.json` at the top of the
//! tree, and `--root` reads that file (and nothing live) instead. Tests use the same file, or the
//! [`Live`] trait directly, as a fake CPUID reader and a fake device prober.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::host::HostFs;

/// Name of the file, at the top of a captured tree, that holds the live-only answers.
pub const LIVE_FILE: &str = "/virtprobe-live.json";

/// What opening `/dev/kvm` and the KVM ioctls gave.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KvmOutcome {
    /// `/dev/kvm` exists.
    pub exists: bool,
    /// The invoking user could open it read-write (`None`: not tried).
    pub open: Option<bool>,
    /// `KVM_GET_API_VERSION` (12 on every kernel since 2.6.22).
    pub api_version: Option<i64>,
    /// `KVM_CREATE_VM` succeeded.
    pub create_vm: Option<bool>,
    /// `KVM_CREATE_VCPU` succeeded on that VM.
    pub create_vcpu: Option<bool>,
    /// The first error met, with its errno name (`EACCES`, `EBUSY`…).
    pub error: Option<String>,
}

/// The invoking user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserInfo {
    /// Effective user id.
    pub uid: u32,
    /// Supplementary and effective group ids.
    pub gids: Vec<u32>,
}

/// `uname(2)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Uname {
    /// `uname -r`.
    pub release: String,
    /// `uname -m`.
    pub machine: String,
}

/// The live-only answers, as captured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveData {
    /// `uname`.
    pub uname: Option<Uname>,
    /// CPUID leaves: `"0x40000000:0x0"` → `[eax, ebx, ecx, edx]`.
    #[serde(default)]
    pub cpuid: BTreeMap<String, [u32; 4]>,
    /// The KVM probe.
    pub kvm: Option<KvmOutcome>,
    /// The user the probe ran as.
    pub user: Option<UserInfo>,
    /// The PATH folders searched for tools.
    #[serde(default)]
    pub path: Vec<String>,
}

/// Key of a CPUID leaf in [`LiveData::cpuid`].
pub fn cpuid_key(leaf: u32, sub: u32) -> String {
    format!("{leaf:#010x}:{sub:#x}")
}

/// The live-only sources the probe asks.
pub trait Live {
    /// `uname`, when available.
    fn uname(&self) -> Option<Uname>;
    /// A CPUID leaf, `None` when this source has no CPUID (not x86, or not captured).
    fn cpuid(&self, leaf: u32, sub: u32) -> Option<[u32; 4]>;
    /// Open `/dev/kvm` and try the ioctls (`None`: this source cannot).
    fn kvm(&self, fs: &HostFs) -> Option<KvmOutcome>;
    /// The invoking user, when known.
    fn user(&self) -> Option<UserInfo>;
    /// Folders of PATH to search for tools, besides the usual bin and sbin folders.
    fn path_dirs(&self) -> std::borrow::Cow<'_, [String]> {
        std::borrow::Cow::Borrowed(&[])
    }
    /// True for the running host's own sources.
    fn is_native(&self) -> bool {
        false
    }
    /// Why the live answers could not be used, if they could not.
    fn problem(&self) -> Option<String> {
        None
    }
}

impl Live for LiveData {
    fn uname(&self) -> Option<Uname> {
        self.uname.clone()
    }
    fn cpuid(&self, leaf: u32, sub: u32) -> Option<[u32; 4]> {
        if self.cpuid.is_empty() {
            return None;
        }
        // Leaves a capture did not record read as zero, as an absent leaf does on a real CPU.
        Some(
            self.cpuid
                .get(&cpuid_key(leaf, sub))
                .copied()
                .unwrap_or([0; 4]),
        )
    }
    fn kvm(&self, _fs: &HostFs) -> Option<KvmOutcome> {
        self.kvm.clone()
    }
    fn user(&self) -> Option<UserInfo> {
        self.user.clone()
    }
    fn path_dirs(&self) -> std::borrow::Cow<'_, [String]> {
        std::borrow::Cow::Borrowed(&self.path)
    }
}

/// No live sources at all: a captured tree without `virtprobe-live.json`, or (with the reason,
/// which the report lists in `errors`) one whose file could not be used.
#[derive(Debug, Default, Clone)]
pub struct NoLive(pub Option<String>);

impl Live for NoLive {
    fn uname(&self) -> Option<Uname> {
        None
    }
    fn cpuid(&self, _: u32, _: u32) -> Option<[u32; 4]> {
        None
    }
    fn kvm(&self, _fs: &HostFs) -> Option<KvmOutcome> {
        None
    }
    fn user(&self) -> Option<UserInfo> {
        None
    }
    fn problem(&self) -> Option<String> {
        self.0.clone()
    }
}

/// The running host's own sources: CPUID instructions, KVM ioctls, `uname(2)`, `getuid(2)`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Native;

impl Live for Native {
    fn uname(&self) -> Option<Uname> {
        // SAFETY: uname fills a caller-provided struct; it is zeroed first and checked for errors.
        let mut u: libc::utsname = unsafe { std::mem::zeroed() };
        if unsafe { libc::uname(&mut u) } != 0 {
            return None;
        }
        let field = |f: &[libc::c_char]| {
            let bytes: Vec<u8> = f
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        Some(Uname {
            release: field(&u.release),
            machine: field(&u.machine),
        })
    }

    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    fn cpuid(&self, leaf: u32, sub: u32) -> Option<[u32; 4]> {
        #[cfg(target_arch = "x86")]
        use std::arch::x86::__cpuid_count;
        #[cfg(target_arch = "x86_64")]
        use std::arch::x86_64::__cpuid_count;
        // CPUID is available on every x86_64 CPU and every i686 CPU Rust targets; out-of-range
        // leaves return data of the highest basic leaf, which callers bound by leaf 0 / 0x80000000.
        let r = __cpuid_count(leaf, sub);
        Some([r.eax, r.ebx, r.ecx, r.edx])
    }

    #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
    fn cpuid(&self, _leaf: u32, _sub: u32) -> Option<[u32; 4]> {
        None
    }

    fn kvm(&self, fs: &HostFs) -> Option<KvmOutcome> {
        Some(crate::probe::kvm::probe_dev_kvm(fs))
    }

    fn user(&self) -> Option<UserInfo> {
        // The process's own credentials: asked once (virtprobe never changes them).
        static USER: std::sync::OnceLock<UserInfo> = std::sync::OnceLock::new();
        Some(USER.get_or_init(native_user).clone())
    }

    fn path_dirs(&self) -> std::borrow::Cow<'_, [String]> {
        // (Read once: nothing in the process changes its environment, and the service would
        // otherwise split PATH again at every probe.)
        static DIRS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        std::borrow::Cow::Borrowed(DIRS.get_or_init(|| {
            std::env::var_os("PATH")
                .map(|p| {
                    std::env::split_paths(&p)
                        .filter(|d| d.is_absolute())
                        .map(|d| d.to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        }))
    }

    fn is_native(&self) -> bool {
        true
    }
}

/// Load `virtprobe-live.json` from a captured tree, if there is one.
pub fn load_live_file(fs: &HostFs) -> Result<Option<LiveData>, String> {
    match fs.read(LIVE_FILE) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| format!("{LIVE_FILE}: {e}")),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// The invoking user: effective uid, effective gid and supplementary groups.
fn native_user() -> UserInfo {
    // SAFETY: getgroups with a correctly sized buffer; geteuid/getegid cannot fail.
    let uid = unsafe { libc::geteuid() };
    let mut gids = vec![unsafe { libc::getegid() }];
    let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    if n > 0 {
        let mut buf = vec![0 as libc::gid_t; n as usize];
        let got = unsafe { libc::getgroups(n, buf.as_mut_ptr()) };
        if got > 0 {
            gids.extend(buf.into_iter().take(got as usize));
        }
    }
    gids.sort_unstable();
    gids.dedup();
    UserInfo { uid, gids }
}
