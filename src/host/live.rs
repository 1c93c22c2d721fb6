//! The answers no file holds: CPUID, `uname(2)`, the invoking user, `PATH`, whether the user may
//! open `/dev/net/tun`, and the KVM check (open `/dev/kvm`, `KVM_GET_API_VERSION`,
//! `KVM_CREATE_VM`, `KVM_CREATE_VCPU`).
//!
//! On the running host (and with `--host-root`) the CPU and the kernel answer ([`Native`]). A
//! captured tree cannot hold them as files, so `virtprobe capture` writes them to
//! `virtprobe-live.json` at the top of the tree, and `--root` reads that file ([`LiveData`]) and
//! nothing live. Tests use the same file as a fake CPUID reader and device prober.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::HostFs;

/// The host paths the live checks open themselves, in this process's own file system (not under
/// a `--host-root`): the KVM check's and the TUN check's device nodes. `virtprobe serve` watches
/// them.
pub const LIVE_PATHS: &[&str] = &[KVM_DEVICE, TUN_DEVICE];
/// The KVM device the live check opens.
pub const KVM_DEVICE: &str = "/dev/kvm";
/// The TUN device the live check opens.
pub const TUN_DEVICE: &str = "/dev/net/tun";
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
    /// `/dev/kvm`'s permission bits, when it exists.
    #[serde(default)]
    pub mode: Option<u32>,
    /// `/dev/kvm`'s group id, when it exists.
    #[serde(default)]
    pub gid: Option<u32>,
}

impl KvmOutcome {
    /// The error that stopped the check before a step was answered (an `EINTR`, `ENOMEM` or `EIO`
    /// says nothing of KVM), if one did: the steps from there on are unknown, not "no".
    pub fn unanswered(&self) -> Option<&str> {
        if !self.exists {
            return None;
        }
        let steps = [
            self.open,
            self.api_version.map(|_| true),
            self.create_vm,
            self.create_vcpu,
        ];
        match steps.iter().find(|s| **s != Some(true)) {
            Some(None) => self.error.as_deref(),
            _ => None,
        }
    }
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
    /// The KVM check.
    pub kvm: Option<KvmOutcome>,
    /// The user the probe ran as.
    pub user: Option<UserInfo>,
    /// The PATH folders searched for tools.
    #[serde(default)]
    pub path: Vec<String>,
    /// The user could open `/dev/net/tun` read-write.
    #[serde(default)]
    pub tun: Option<bool>,
    /// Host paths the capture could not read, stat or list, with why: `--root` answers them
    /// as unreadable, not as absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unreadable: BTreeMap<String, String>,
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
    /// The KVM check (`None`: this source cannot tell).
    fn kvm(&self) -> Option<KvmOutcome>;
    /// The invoking user, when known.
    fn user(&self) -> Option<UserInfo>;
    /// Whether the invoking user could open `/dev/net/tun` read-write (`None`: not tried; an
    /// error: the open failed in a way that does not answer, such as `EIO` or `EMFILE`).
    fn tun(&self) -> Option<Result<bool, String>>;
    /// Folders of PATH to search for tools, besides the usual bin and sbin folders.
    fn path_dirs(&self) -> Vec<String>;
    /// True for the running host's own answers.
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
    fn kvm(&self) -> Option<KvmOutcome> {
        self.kvm.clone()
    }
    fn user(&self) -> Option<UserInfo> {
        self.user.clone()
    }
    fn tun(&self) -> Option<Result<bool, String>> {
        self.tun.map(Ok)
    }
    fn path_dirs(&self) -> Vec<String> {
        self.path.clone()
    }
}

/// No live answers at all: a captured tree without `virtprobe-live.json`, or (with the reason,
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
    fn kvm(&self) -> Option<KvmOutcome> {
        None
    }
    fn user(&self) -> Option<UserInfo> {
        None
    }
    fn tun(&self) -> Option<Result<bool, String>> {
        None
    }
    fn path_dirs(&self) -> Vec<String> {
        Vec::new()
    }
    fn problem(&self) -> Option<String> {
        self.0.clone()
    }
}

/// This machine's own answers: the CPUID instruction, KVM ioctls, `uname(2)`, the process's
/// credentials and `PATH`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Native;

impl Live for Native {
    fn uname(&self) -> Option<Uname> {
        let u = rustix::system::uname();
        Some(Uname {
            release: u.release().to_string_lossy().into_owned(),
            machine: u.machine().to_string_lossy().into_owned(),
        })
    }

    #[cfg(target_arch = "x86_64")]
    fn cpuid(&self, leaf: u32, sub: u32) -> Option<[u32; 4]> {
        // Every x86_64 CPU has CPUID; leaves past the highest one answer with its data, which
        // the caller bounds by leaves 0 and 0x80000000.
        let r = std::arch::x86_64::__cpuid_count(leaf, sub);
        Some([r.eax, r.ebx, r.ecx, r.edx])
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn cpuid(&self, _leaf: u32, _sub: u32) -> Option<[u32; 4]> {
        None
    }

    fn kvm(&self) -> Option<KvmOutcome> {
        Some(kvm_check())
    }

    fn user(&self) -> Option<UserInfo> {
        use rustix::process::{getegid, geteuid, getgroups};
        let mut gids = vec![getegid().as_raw()];
        gids.extend(getgroups().unwrap_or_default().iter().map(|g| g.as_raw()));
        gids.sort_unstable();
        gids.dedup();
        Some(UserInfo {
            uid: geteuid().as_raw(),
            gids,
        })
    }

    fn tun(&self) -> Option<Result<bool, String>> {
        // Opening the clone device creates nothing until TUNSETIFF; the descriptor is closed at once.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(TUN_DEVICE);
        Some(match opened {
            Ok(_) => Ok(true),
            Err(e) => {
                let n = e.raw_os_error().unwrap_or(0);
                let absent = [rustix::io::Errno::NOENT, rustix::io::Errno::NOTDIR]
                    .contains(&rustix::io::Errno::from_raw_os_error(n));
                if absent || decides(n) {
                    Ok(false)
                } else {
                    Err(format!("open /dev/net/tun: {}", errno_text(n)))
                }
            }
        })
    }

    fn path_dirs(&self) -> Vec<String> {
        std::env::var_os("PATH")
            .map(|p| {
                std::env::split_paths(&p)
                    .filter(|d| d.is_absolute())
                    .map(|d| d.to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn is_native(&self) -> bool {
        true
    }
}

/// The live answers for a host: this machine's own, a captured tree's `virtprobe-live.json`, or
/// none.
pub fn sources_for(fs: &HostFs) -> Box<dyn Live> {
    if fs.has_live_sources() {
        return Box::new(Native);
    }
    match fs.read(LIVE_FILE) {
        Ok(bytes) => match serde_json::from_slice::<LiveData>(&bytes) {
            Ok(d) => Box::new(d),
            Err(e) => Box::new(NoLive(Some(format!("{LIVE_FILE}: {e}")))),
        },
        Err(e) if e.is_not_found() => Box::new(NoLive(None)),
        Err(e) => Box::new(NoLive(Some(e.to_string()))),
    }
}

/// Whether an error of the KVM check answers the question: the device refuses this user or
/// this kernel cannot do it (`EACCES`, `ENODEV`, `EBUSY`: VT held by another hypervisor…). Any
/// other error (`EINTR`, `ENOMEM`, `EIO`, `EMFILE`…) says something about this moment, not about
/// KVM: the step stays unanswered, and the report lists the error.
fn decides(n: i32) -> bool {
    use rustix::io::Errno;
    [
        Errno::ACCESS,
        Errno::PERM,
        Errno::NODEV,
        Errno::NXIO,
        Errno::BUSY,
        Errno::INVAL,
        Errno::OPNOTSUPP,
        Errno::NOTTY,
        Errno::NOSYS,
        Errno::ROFS,
    ]
    .contains(&Errno::from_raw_os_error(n))
}

/// `EACCES (Permission denied (os error 13))`: the errno's name and its text.
fn errno_text(n: i32) -> String {
    use rustix::io::Errno;
    let e = Errno::from_raw_os_error(n);
    let name = match e {
        Errno::ACCESS => "EACCES",
        Errno::PERM => "EPERM",
        Errno::BUSY => "EBUSY",
        Errno::NODEV => "ENODEV",
        Errno::NXIO => "ENXIO",
        Errno::NOENT => "ENOENT",
        Errno::INVAL => "EINVAL",
        Errno::NOMEM => "ENOMEM",
        Errno::OPNOTSUPP => "EOPNOTSUPP",
        Errno::INTR => "EINTR",
        Errno::IO => "EIO",
        Errno::AGAIN => "EAGAIN",
        Errno::MFILE => "EMFILE",
        Errno::NFILE => "ENFILE",
        Errno::NOTTY => "ENOTTY",
        Errno::NOSYS => "ENOSYS",
        _ => "",
    };
    let text = std::io::Error::from_raw_os_error(n).to_string();
    if name.is_empty() {
        text
    } else {
        format!("{name} ({text})")
    }
}

/// The KVM check, as the invoking user. Flags alone never decide whether KVM works: a CPU can
/// show `vmx` while the firmware or another hypervisor holds VT-x, and a backend such as PVM
/// gives a working `/dev/kvm` with no `vmx`/`svm` at all. Every descriptor is closed at once.
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
fn kvm_check() -> KvmOutcome {
    use rustix::io::Errno;
    let mut out = KvmOutcome::default();
    let absent = |n: i32| n == Errno::NOENT.raw_os_error() || n == Errno::NOTDIR.raw_os_error();
    if let Ok(st) = rustix::fs::stat(KVM_DEVICE) {
        out.mode = Some(st.st_mode & 0o777);
        out.gid = Some(st.st_gid);
    }
    let kvm = match kvm_ioctls::Kvm::new() {
        Ok(k) => k,
        Err(e) if absent(e.errno()) => return out,
        Err(e) => {
            out.exists = true;
            out.open = decides(e.errno()).then_some(false);
            out.error = Some(format!("open /dev/kvm: {}", errno_text(e.errno())));
            return out;
        }
    };
    out.exists = true;
    out.open = Some(true);
    let version = kvm.get_api_version();
    if version < 0 {
        let n = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        out.error = Some(format!("KVM_GET_API_VERSION: {}", errno_text(n)));
        return out;
    }
    out.api_version = Some(i64::from(version));
    match kvm.create_vm() {
        Ok(vm) => {
            out.create_vm = Some(true);
            match vm.create_vcpu(0) {
                Ok(_) => out.create_vcpu = Some(true),
                Err(e) => {
                    out.create_vcpu = decides(e.errno()).then_some(false);
                    out.error = Some(format!("KVM_CREATE_VCPU: {}", errno_text(e.errno())));
                }
            }
        }
        Err(e) => {
            out.create_vm = decides(e.errno()).then_some(false);
            out.error = Some(format!("KVM_CREATE_VM: {}", errno_text(e.errno())));
        }
    }
    out
}

/// Where kvm-ioctls does not build, only whether `/dev/kvm` exists and opens is told.
#[cfg(not(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
)))]
fn kvm_check() -> KvmOutcome {
    let mut out = KvmOutcome::default();
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(KVM_DEVICE)
    {
        Ok(_) => {
            out.exists = true;
            out.open = Some(true);
            out.error = Some("the KVM ioctls are not built for this architecture".into());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let n = e.raw_os_error().unwrap_or(0);
            out.exists = true;
            out.open = decides(n).then_some(false);
            out.error = Some(format!("open /dev/kvm: {}", errno_text(n)));
        }
    }
    out
}
