//! The probe: one pass over the host that gathers every fact the technology table needs.
//!
//! Each source has its module ([`cpu`], [`cpuid`], [`kernel`], [`kvm`], [`virt`]); this module runs
//! them in order and adds the small ones: architecture, device and marker paths, installed tools,
//! the invoking user, cgroups and namespaces. The table says which module parameters, paths and
//! tools it needs ([`Needs`]), and only those are read. A source that fails leaves its facts
//! unknown with the reason in `errors`; nothing here aborts.
//!
//! Small sources read here: `/proc/sys/kernel/arch` (captured trees), the bin and sbin folders
//! (tools), `/sys/fs/cgroup/cgroup.controllers` or `/proc/cgroups`, `/proc/self/ns`,
//! `/proc/sys/user/max_user_namespaces`, `/etc/subuid`, `/sys/kernel/iommu_groups`.

pub mod cpu;
pub mod cpuid;
pub mod kernel;
pub mod kvm;
pub mod live;
pub mod virt;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;

use crate::facts::{Facts, ProbeError, Value};
use crate::host::HostFs;
use cpu::CpuInfo;
use cpuid::CpuidFacts;
use live::{KvmOutcome, Live};
use virt::Virtualization;

/// Names the table asks about: borrowed from the embedded table, owned for a data file's.
pub type Names = BTreeSet<crate::rules::Text>;

/// What the technology table asks the probe to look at, beyond the fixed facts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Module parameters, `module.param`.
    pub params: Names,
    /// Paths whose existence matters.
    pub paths: Names,
    /// Tools (exact names, or prefixes ending in `*`).
    pub tools: Names,
    /// Kernel config options the rules read (without `CONFIG_`); only these are kept.
    pub config_keys: Names,
}

/// Everything one probe found.
#[derive(Debug, Clone)]
pub struct Probed {
    /// The facts the rules read.
    pub facts: Facts,
    /// `/proc/cpuinfo`, parsed (shared with what the service keeps).
    pub cpu: Arc<CpuInfo>,
    /// CPUID, when read.
    pub cpuid: Option<CpuidFacts>,
    /// Running-under detection (shared with what the service keeps).
    pub virt: Arc<Virtualization>,
    /// The KVM probe, when it ran.
    pub kvm: Option<KvmOutcome>,
}

/// The usual folders for programs, searched on every host (and under `--root`).
pub const BIN_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
    "/usr/libexec",
    "/opt/bin",
];

/// Run the probe.
pub fn probe(fs: &HostFs, live: &dyn Live, needs: &Needs) -> Probed {
    let cached = live.is_native() && fs.is_live() && !fs.is_recording();
    if cached {
        crate::cache::load();
    }
    let probed = probe_uncached(fs, live, needs);
    if cached {
        crate::cache::store();
    }
    probed
}

fn probe_uncached(fs: &HostFs, live: &dyn Live, needs: &Needs) -> Probed {
    crate::held::begin_probe(fs);
    let mut facts = Facts::default();
    if let Some(p) = live.problem() {
        facts.errors.push(ProbeError {
            fact: "live".into(),
            message: p,
        });
    }
    // CPU, CPUID and running-under detection read sources that are fixed for the life of the
    // process on the running host; the service keeps them (see `keep_stable_facts`).
    let keep = KEEP_STABLE.load(std::sync::atomic::Ordering::Relaxed)
        && fs.is_live()
        && live.is_native()
        && !fs.is_recording();
    let stable = keep.then(|| STABLE.lock().ok()?.clone()).flatten();
    // (The kernel release and machine cannot change while the kernel runs: the service asks once.)
    let uname = match &stable {
        Some(s) => s.uname.clone(),
        None => live.uname(),
    };
    // The kept facts go in at once, as one copy of their map; their errors go in below, in the
    // order a fresh probe lists them.
    if let Some(st) = &stable {
        facts.insert_all(&st.base);
    }
    let (kept_cpu, kept_cpuid, kept_virt) = match &stable {
        Some(s) => (Some(&s.cpu), Some(s.cpuid.clone()), Some(&s.virt)),
        None => (None, None, None),
    };
    let (mut fresh_cpu, mut fresh_virt) = (None, None);

    // CPU.
    let cpu = kept_or_probe(kept_cpu, keep, &mut facts, &mut fresh_cpu, |f| {
        Arc::new(probe_cpu(fs, f))
    });

    // Architecture.
    let arch: Option<(String, String)> =
        if let Some(u) = uname.as_ref().filter(|u| !u.machine.is_empty()) {
            Some((
                u.machine.clone(),
                if live.is_native() {
                    "uname".into()
                } else {
                    "virtprobe-live.json uname".into()
                },
            ))
        } else if let Ok(a) = fs
            .read_trimmed("/proc/sys/kernel/arch")
            .map(|a| a.trim().to_string())
        {
            (!a.is_empty()).then(|| (a, "/proc/sys/kernel/arch".to_string()))
        } else {
            None
        }
        .or_else(|| {
            let rel = fs.read_trimmed("/proc/sys/kernel/osrelease").ok()?;
            arch_from_release(&rel)
                .map(|a| (a.to_string(), format!("kernel release suffix of {rel:?}")))
        })
        .or_else(|| {
            cpu.arch
                .clone()
                .map(|a| (a, "/proc/cpuinfo format".to_string()))
        });
    match &arch {
        Some((a, src)) => facts.set("arch", Value::Str(a.as_str().into()), src.clone()),
        None => facts.unknown(
            "arch",
            "no uname, /proc/sys/kernel/arch, kernel release suffix or readable /proc/cpuinfo",
            "/proc/cpuinfo",
        ),
    }
    let arch_s = arch.as_ref().map(|a| a.0.as_str()).unwrap_or("");

    // Host name: gethostname(2) through sysinfo on the running host, the tree's /etc/hostname else.
    let hostname = if live.is_native() {
        sysinfo::System::host_name()
            .ok()
            .map(|h| (h, "gethostname"))
    } else {
        fs.read_trimmed("/etc/hostname")
            .ok()
            .filter(|h| !h.is_empty())
            .map(|h| (h, "/etc/hostname"))
    };
    match hostname {
        Some((h, src)) => facts.set("host.name", Value::Str(h.into()), src),
        None => facts.unknown_quiet("host.name", "no host name", "/etc/hostname"),
    }

    // Kernel.
    kernel::probe(
        fs,
        &mut facts,
        uname.as_ref().map(|u| u.release.clone()),
        &needs.params,
        &needs.config_keys,
        keep,
    );

    // CPUID.
    // (Each CPUID instruction is an exit to the hypervisor in a virtual machine: the service
    // keeps the answers with the other stable sources.)
    let cpuid = kept_cpuid.unwrap_or_else(|| {
        if matches!(arch_s, "x86_64" | "i386" | "i486" | "i586" | "i686" | "")
            || cpu
                .arch
                .as_deref()
                .is_some_and(|a| a.starts_with('x') || a == "i686")
        {
            cpuid::read(live)
        } else {
            None
        }
    });
    match &cpuid {
        Some(c) => {
            facts.set("cpuid.vmx", Value::Bool(c.vmx), "cpuid leaf 1 ecx bit 5");
            facts.set(
                "cpuid.svm",
                Value::Bool(c.svm),
                "cpuid leaf 0x80000001 ecx bit 2",
            );
            facts.set(
                "cpuid.hypervisor",
                Value::Bool(c.hypervisor),
                "cpuid leaf 1 ecx bit 31",
            );
            facts.set(
                "cpuid.hypervisor_signature",
                Value::Str(c.signature.as_deref().unwrap_or_default().into()),
                "cpuid leaf 0x40000000",
            );
        }
        None => {
            let why = if fs.is_live() {
                "not an x86 CPU"
            } else {
                "captured tree without CPUID answers (virtprobe-live.json)"
            };
            for f in [
                "cpuid.vmx",
                "cpuid.svm",
                "cpuid.hypervisor",
                "cpuid.hypervisor_signature",
            ] {
                facts.unknown_quiet(f, why, "cpuid");
            }
        }
    }

    // Running-under detection.
    let release = facts.str("kernel.release").map(str::to_string);
    let virt = kept_or_probe(kept_virt, keep, &mut facts, &mut fresh_virt, |f| {
        Arc::new(virt::probe(fs, f, &cpu, cpuid.as_ref(), release.as_deref()))
    });
    if let (Some(cpu), Some(virt)) = (fresh_cpu, fresh_virt)
        && let Ok(mut st) = STABLE.lock()
    {
        let mut base = Facts::default();
        base.insert_all(&cpu.1);
        base.insert_all(&virt.1);
        *st = Some(Arc::new(Stable {
            uname: uname.clone(),
            cpu,
            cpuid: cpuid.clone(),
            virt,
            base,
        }));
    }

    // Paths the table asks about.
    let existing: BTreeSet<String> = crate::held::existing(fs, needs.paths.iter().map(|p| &**p))
        .into_iter()
        .map(str::to_string)
        .collect();
    facts.set("path", Value::Set(existing.into()), "stat");

    // Tools.
    let tools = find_tools(fs, &live.path_dirs(), &needs.tools);
    facts.set("tool", Value::Map(tools), TOOL_SOURCE);

    // User.
    match live.user() {
        Some(u) => {
            facts.set("user.root", Value::Bool(u.uid == 0), "geteuid");
            facts.set(
                "user.groups",
                Value::Set(Arc::new(u.gids.iter().map(|g| g.to_string()).collect())),
                "getgroups",
            );
        }
        None => {
            facts.unknown_quiet(
                "user.root",
                "captured tree: invoking user not recorded",
                "geteuid",
            );
            facts.unknown_quiet(
                "user.groups",
                "captured tree: invoking user not recorded",
                "getgroups",
            );
        }
    }

    // KVM device.
    // (Only the service, which probes again and again, keeps the answer while its inputs stay.)
    let kvm = if live.is_native() && keep {
        cached_kvm(fs, live, &facts)
    } else {
        live.kvm(fs)
    };
    match &kvm {
        Some(k) => {
            let src = if live.is_native() {
                "open/ioctl /dev/kvm"
            } else {
                "virtprobe-live.json kvm"
            };
            facts.set("kvm.device", Value::Bool(k.exists), src);
            // The probe ran: with no /dev/kvm nothing can be opened or created, which is a fact.
            let opt_bool =
                |facts: &mut Facts, name: &'static str, v: Option<bool>| match (v, k.exists) {
                    (Some(b), _) => facts.set(name, Value::Bool(b), src),
                    (None, false) => facts.set(name, Value::Bool(false), "/dev/kvm does not exist"),
                    (None, true) => facts.unknown_quiet(name, "not reached", src),
                };
            opt_bool(&mut facts, "kvm.open", k.open);
            opt_bool(&mut facts, "kvm.create_vm", k.create_vm);
            opt_bool(&mut facts, "kvm.create_vcpu", k.create_vcpu);
            match k.api_version {
                Some(v) => facts.set("kvm.api_version", Value::Int(v), src),
                None => facts.unknown_quiet("kvm.api_version", "not reached", src),
            }
            facts.set(
                "kvm.error",
                Value::Str(k.error.as_deref().unwrap_or_default().into()),
                src,
            );
        }
        None => {
            facts.set("kvm.device", Value::Bool(fs.exists("/dev/kvm")), "/dev/kvm");
            for f in [
                "kvm.open",
                "kvm.create_vm",
                "kvm.create_vcpu",
                "kvm.api_version",
            ] {
                facts.unknown_quiet(
                    f,
                    "captured tree without the KVM probe's answers (virtprobe-live.json)",
                    "ioctl /dev/kvm",
                );
            }
        }
    }

    // Virtualization extension and its state.
    let (ext, state, mut ext_src) = virt_extension(
        &cpu,
        cpuid.as_ref(),
        arch_s,
        facts.bool("kvm.device").unwrap_or(false),
    );
    if state == "disabled-by-firmware" && fs.is_live() {
        ext_src.push_str(&confirm_firmware_disabled(fs, cpuid.as_ref(), &mut facts));
    }
    facts.set(
        "cpu.virt_extension",
        Value::Str(ext.unwrap_or("none").into()),
        ext_src.clone(),
    );
    facts.set(
        "cpu.virt_extension_state",
        Value::Str(state.into()),
        ext_src,
    );

    probe_containers(fs, &mut facts, keep);

    // (The folder is made once, when the IOMMU driver starts, and never removed: the service
    // lists it again through a descriptor it holds.)
    match crate::held::count_kernel_dir(fs, "/sys/kernel/iommu_groups") {
        Ok(n) => facts.set(
            "iommu.groups",
            Value::Int(n as i64),
            "/sys/kernel/iommu_groups",
        ),
        Err(e) if e.is_not_found() => facts.set(
            "iommu.groups",
            Value::Int(0),
            "/sys/kernel/iommu_groups absent",
        ),
        Err(e) => facts.unknown("iommu.groups", e.to_string(), "/sys/kernel/iommu_groups"),
    }

    Probed {
        facts,
        cpu,
        cpuid,
        virt,
        kvm,
    }
}

fn set_opt_str(facts: &mut Facts, name: &'static str, v: Option<String>, src: &'static str) {
    match v {
        Some(s) => facts.set(name, Value::Str(s.into()), src),
        None => facts.unknown_quiet(name, format!("{src}: no such field"), src),
    }
}

/// The kept answer of one of the stable sources, its facts added to `facts`; else the probe's
/// fresh answer, also put in `fresh` when it is to be kept.
///
/// (A kept answer's facts are already in `facts`, from [`Stable::base`]; only its errors are
/// added here.)
fn kept_or_probe<T: Clone>(
    kept: Option<&(T, Facts)>,
    keep: bool,
    facts: &mut Facts,
    fresh: &mut Option<(T, Facts)>,
    probe: impl FnOnce(&mut Facts) -> T,
) -> T {
    if let Some((value, f)) = kept {
        facts.absorb_errors(f);
        return value.clone();
    }
    let mut f = Facts::default();
    let value = probe(&mut f);
    if keep {
        *fresh = Some((value.clone(), f.clone()));
    }
    facts.absorb(f);
    value
}

/// `/proc/cpuinfo`: vendor, model, flags, count, platform.
fn probe_cpu(fs: &HostFs, facts: &mut Facts) -> CpuInfo {
    match fs.read_string("/proc/cpuinfo") {
        Ok(t) => {
            let c = cpu::parse_cpuinfo(&t);
            if c.count == 0 {
                for f in ["cpu.vendor", "cpu.model", "cpu.flags"] {
                    facts.unknown_quiet(
                        f,
                        "/proc/cpuinfo: empty or not in a known format",
                        "/proc/cpuinfo",
                    );
                }
                facts.errors.push(ProbeError {
                    fact: "cpu".into(),
                    message: "/proc/cpuinfo: empty or not in a known format".into(),
                });
            } else {
                set_opt_str(facts, "cpu.vendor", c.vendor.clone(), "/proc/cpuinfo");
                set_opt_str(facts, "cpu.model", c.model.clone(), "/proc/cpuinfo");
                facts.set(
                    "cpu.flags",
                    Value::Set(Arc::clone(&c.flags)),
                    "/proc/cpuinfo",
                );
                facts.set("cpu.count", Value::Int(c.count as i64), "/proc/cpuinfo");
                facts.set(
                    "cpu.platform",
                    Value::Str(c.platform.as_deref().unwrap_or_default().into()),
                    "/proc/cpuinfo platform",
                );
            }
            c
        }
        Err(e) => {
            for f in ["cpu.vendor", "cpu.model", "cpu.flags"] {
                facts.unknown_quiet(f, e.to_string(), "/proc/cpuinfo");
            }
            facts.errors.push(ProbeError {
                fact: "cpu".into(),
                message: e.to_string(),
            });
            CpuInfo::default()
        }
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

/// Where readable, confirm "disabled in firmware" from the feature-control MSR (Intel 0x3a: locked
/// without VMX outside SMX; AMD VM_CR 0xc0010114: SVMDIS) and the kernel log. Both need root (and
/// the msr module); without them the CPUID-versus-cpuinfo evidence stands alone and the report
/// says which check wanted more privilege.
fn confirm_firmware_disabled(fs: &HostFs, cpuid: Option<&CpuidFacts>, facts: &mut Facts) -> String {
    use std::os::unix::fs::FileExt;
    let mut out = String::new();
    let amd = cpuid.is_some_and(|c| c.svm && !c.vmx);
    let (msr, what) = if amd {
        (0xc001_0114u64, "VM_CR")
    } else {
        (0x3a, "IA32_FEATURE_CONTROL")
    };
    match fs.resolve("/dev/cpu/0/msr").and_then(|p| std::fs::File::open(&p).map_err(|e| crate::host::ReadError::Io("/dev/cpu/0/msr".into(), e.to_string()))) {
        Ok(f) => {
            let mut b = [0u8; 8];
            if f.read_exact_at(&mut b, msr).is_ok() {
                let v = u64::from_le_bytes(b);
                let disabled = if amd { v & (1 << 4) != 0 } else { v & 1 != 0 && v & (1 << 2) == 0 };
                out.push_str(&format!("; MSR {what} = {v:#x}: {}", if disabled { "confirms it is disabled" } else { "does not show it disabled" }));
            }
        }
        Err(_) => facts.needs_privilege.push(format!("reading MSR {what} ({msr:#x}) to confirm VT is disabled in firmware: needs root and the msr module (/dev/cpu/0/msr)")),
    }
    match fs.resolve("/dev/kmsg").and_then(|p| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .map_err(|e| crate::host::ReadError::Io("/dev/kmsg".into(), e.to_string()))
    }) {
        Ok(mut f) => {
            use std::io::Read;
            let mut buf = vec![0u8; 8192];
            let mut total = 0usize;
            // One record per read; stop at the end (EAGAIN) or after 4 MiB.
            while let Ok(n) = f.read(&mut buf) {
                if n == 0 || total > 4 << 20 {
                    break;
                }
                total += n;
                let line = String::from_utf8_lossy(&buf[..n]);
                let msg = line.split_once(';').map(|x| x.1).unwrap_or(&line).trim();
                if msg.contains("disabled by BIOS") || msg.contains("not enabled (by BIOS)") || msg.contains("SVM disabled") {
                    out.push_str(&format!("; kernel log: {msg:?}"));
                    break;
                }
            }
        }
        Err(_) => facts.needs_privilege.push("reading the kernel log (/dev/kmsg) for \"disabled by BIOS\": needs root or kernel.dmesg_restrict=0".into()),
    }
    out
}

fn virt_extension(
    cpu: &CpuInfo,
    cpuid: Option<&CpuidFacts>,
    arch: &str,
    kvm_device: bool,
) -> (Option<&'static str>, &'static str, String) {
    if let Some(e) = cpu.virt_extension {
        return (Some(e), "enabled", format!("/proc/cpuinfo shows {e}"));
    }
    let x86 = matches!(arch, "x86_64" | "i386" | "i486" | "i586" | "i686");
    if x86 {
        if let Some(c) = cpuid {
            let ext = if c.vmx {
                Some("vmx")
            } else if c.svm {
                Some("svm")
            } else {
                None
            };
            return match (ext, c.hypervisor) {
                (Some(e), false) => (
                    Some(e),
                    "disabled-by-firmware",
                    format!("CPUID reports {e} but the kernel hides it in /proc/cpuinfo, and no hypervisor bit: disabled in the firmware setup"),
                ),
                (Some(e), true) => (None, "absent", format!("CPUID reports {e} under a hypervisor that the kernel does not use")),
                (None, true) => (None, "absent", "neither /proc/cpuinfo nor CPUID shows vmx or svm; a hypervisor does not pass them through (no nested virtualization)".into()),
                (None, false) => (None, "absent", "neither /proc/cpuinfo nor CPUID shows vmx or svm: this CPU has no hardware virtualization".into()),
            };
        }
        if cpu.flags.contains("hypervisor") {
            return (None, "absent", "/proc/cpuinfo shows no vmx/svm, and the hypervisor flag: not passed through to this guest".into());
        }
        if cpu.count == 0 {
            return (None, "unknown", "/proc/cpuinfo unreadable".into());
        }
        return (
            None,
            "unknown",
            "/proc/cpuinfo shows no vmx/svm and CPUID was not read: absent or disabled in firmware"
                .into(),
        );
    }
    match arch {
        "aarch64" if kvm_device => (
            Some("el2"),
            "enabled",
            "/dev/kvm exists: the kernel entered at EL2".into(),
        ),
        "aarch64" | "armv7l" => (
            None,
            "unknown",
            "arm shows no EL2 flag in /proc/cpuinfo and /dev/kvm is absent".into(),
        ),
        "s390x" | "s390" => (
            None,
            "absent",
            "/proc/cpuinfo features lack sie (SIE not available to this Linux)".into(),
        ),
        "riscv64" => (
            None,
            "absent",
            "/proc/cpuinfo ISA lacks the h extension".into(),
        ),
        a if a.starts_with("ppc") => (
            None,
            "absent",
            format!(
                "/proc/cpuinfo platform {:?} is not PowerNV (no hypervisor mode)",
                cpu.platform.clone().unwrap_or_default()
            ),
        ),
        _ if kvm_device => (
            None,
            "unknown",
            "/dev/kvm exists; this architecture shows no extension flag".into(),
        ),
        _ => (
            None,
            "unknown",
            "no known virtualization flag for this architecture".into(),
        ),
    }
}

/// Answers kept across the probes of one process (the service), keyed by what would change with
/// them: the KVM probe by /dev/kvm's identity, owner and mode, the user and the module set, and at
/// most [`KVM_RECHECK`] old; the tool search by the identity and mtime of every bin folder.
type KvmKey = (
    Option<(u64, u64, u64, u32, u32, u32)>,
    Option<live::UserInfo>,
    usize,
);
static KVM_CACHE: std::sync::Mutex<Option<(KvmKey, std::time::Instant, KvmOutcome)>> =
    std::sync::Mutex::new(None);
pub(crate) type ToolsKey = (Vec<ToolsDir>, Names, std::path::PathBuf);
/// A bin folder's name and stamp: device, inode, modification and change times (s, ns).
pub(crate) type ToolsDir = DirStamp<String>;
/// A bin folder's name (owned or borrowed) and stamp.
pub(crate) type DirStamp<S> = (S, u64, u64, (i64, i64), (i64, i64));
/// Tools found: name (or `prefix*`) → the path it was found at.
pub(crate) type Tools = Arc<BTreeMap<String, String>>;
pub(crate) type ToolsCache = Option<(ToolsKey, Tools)>;
pub(crate) static TOOLS_CACHE: std::sync::Mutex<ToolsCache> = std::sync::Mutex::new(None);
/// What [`keep_stable_facts`] keeps: the CPU and the running-under detection, with the facts
/// (and errors) they produced.
#[derive(Debug)]
struct Stable {
    uname: Option<live::Uname>,
    cpu: (Arc<CpuInfo>, Facts),
    cpuid: Option<CpuidFacts>,
    virt: (Arc<Virtualization>, Facts),
    /// The CPU's and the running-under detection's facts in one map, without their errors.
    base: Facts,
}
static KEEP_STABLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static STABLE: std::sync::Mutex<Option<Arc<Stable>>> = std::sync::Mutex::new(None);

/// For a long-running process on the running host (the service): read `/proc/cpuinfo`, CPUID,
/// `uname`'s release and machine, the hypervisor, firmware and container markers, the kernel
/// command line, the running release's built-in modules and the namespace types
/// (`/proc/self/ns`) once, not at every probe, and hold what [`crate::held`] holds. They cannot
/// change while the process runs (a reboot ends it; a container's markers are fixed when it
/// starts); the one exception, a CPU brought online, is seen after a restart or SIGHUP. Turning
/// it off (or on again) forgets what was kept.
pub fn keep_stable_facts(on: bool) {
    KEEP_STABLE.store(on, std::sync::atomic::Ordering::Relaxed);
    kernel::forget_boot_fixed();
    crate::held::hold(on);
    if let Ok(mut c) = CGROUP_LAYOUT.lock() {
        *c = None;
    }
    if let Ok(mut s) = STABLE.lock() {
        *s = None;
    }
}

/// How long the service trusts a KVM probe whose inputs did not change.
pub const KVM_RECHECK: std::time::Duration = std::time::Duration::from_secs(600);

fn cached_kvm(fs: &HostFs, live: &dyn Live, facts: &Facts) -> Option<KvmOutcome> {
    use std::os::unix::fs::MetadataExt;
    let dev = fs
        .metadata("/dev/kvm")
        .ok()
        .map(|m| (m.dev(), m.ino(), m.rdev(), m.mode(), m.uid(), m.gid()));
    let key: KvmKey = (
        dev,
        live.user(),
        facts.set_of("kernel.modules").map_or(0, |m| m.len()),
    );
    if let Ok(cache) = KVM_CACHE.lock()
        && let Some((k, at, out)) = cache.as_ref()
        && *k == key
        && at.elapsed() < KVM_RECHECK
    {
        return Some(out.clone());
    }
    let out = live.kvm(fs)?;
    if let Ok(mut cache) = KVM_CACHE.lock() {
        *cache = Some((key, std::time::Instant::now(), out.clone()));
    }
    Some(out)
}

/// The same names, told apart without reading a text twice when both name the same one (the
/// embedded table's names are its own static texts).
fn same_names(a: &Names, b: &Names) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| crate::facts::same_str(x, y))
}

/// Where the tools are looked for (each one's path is the fact's value).
const TOOL_SOURCE: &str = "PATH and the usual bin/sbin folders";

/// Bin folders at most this size (one block on most file systems) are listed; bigger ones are
/// asked for each wanted name.
const LIST_MAX: u64 = 4096;

fn find_tools(fs: &HostFs, path_dirs: &[String], wanted: &Names) -> Tools {
    find_tools_with(fs, path_dirs, wanted, LIST_MAX)
}

fn find_tools_with(fs: &HostFs, path_dirs: &[String], wanted: &Names, list_max: u64) -> Tools {
    use std::os::unix::fs::MetadataExt;
    // Each tool found, with the path it was found at (the first folder in search order).
    let mut found: BTreeMap<String, String> = BTreeMap::new();
    if wanted.is_empty() {
        return Tools::default();
    }
    // The folders to look in, once each, and their stamps for the cache (names borrowed until
    // the answer is kept).
    let mut dirs: Vec<DirStamp<&str>> = Vec::new();
    // A folder changed too recently may change again within its time's resolution without the
    // stamp showing it: the answer is then not kept.
    let mut recent = false;
    let now = std::time::SystemTime::now();
    let mut sizes: Vec<u64> = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    for d in path_dirs
        .iter()
        .map(String::as_str)
        .chain(BIN_DIRS.iter().copied())
    {
        // PATH usually names the usual folders again: look at each name once.
        if named.contains(&d) {
            continue;
        }
        named.push(d);
        let Ok(md) = fs.metadata(d) else { continue };
        // (A folder reached twice, such as /bin through its link to /usr/bin, counts once.)
        if md.is_dir()
            && !dirs
                .iter()
                .any(|&(_, dev, ino, ..)| (dev, ino) == (md.dev(), md.ino()))
        {
            sizes.push(md.size());
            recent |= crate::held::Stamp::of(&md).is_recent(now, crate::held::RACY);
            dirs.push((
                d,
                md.dev(),
                md.ino(),
                (md.mtime(), md.mtime_nsec()),
                (md.ctime(), md.ctime_nsec()),
            ));
        }
    }
    if !fs.is_recording()
        && let Ok(mut cache) = TOOLS_CACHE.lock()
        && let Some(((k_dirs, k_wanted, k_root), v)) = cache.as_mut()
        && k_dirs.len() == dirs.len()
        && k_dirs
            .iter()
            .zip(&dirs)
            .all(|((n, a, b, c, d), (m, e, f, g, h))| n == m && (a, b, c, d) == (e, f, g, h))
        && same_names(k_wanted, wanted)
        && k_root == fs.root()
    {
        // A memo from the per-boot cache file holds copies of the names: take the table's own,
        // so that the service's next comparisons are by address.
        if !k_wanted
            .iter()
            .zip(wanted)
            .all(|(a, b)| std::ptr::eq(a.as_ptr(), b.as_ptr()))
        {
            *k_wanted = wanted.clone();
        }
        return v.clone();
    }
    let key: ToolsKey = (
        dirs.iter()
            .map(|&(d, dev, ino, m, c)| (d.to_string(), dev, ino, m, c))
            .collect(),
        wanted.clone(),
        fs.root().to_path_buf(),
    );
    let prefixes: Vec<&str> = wanted.iter().filter_map(|w| w.strip_suffix('*')).collect();
    let exact: Vec<&str> = wanted
        .iter()
        .filter(|w| !w.ends_with('*'))
        .map(|w| &**w)
        .collect();
    fn note(found: &mut BTreeMap<String, String>, k: String, d: &str, n: &str) {
        found.entry(k).or_insert_with(|| format!("{d}/{n}"));
    }
    for ((d, ..), size) in key.0.iter().zip(&sizes) {
        let d = d.as_str();
        // A folder of one block lists in one cheap read; a bigger one (on ext4 a hashed
        // directory: /usr/bin with a thousand programs costs about a millisecond to list) is
        // asked for each name instead, unless a prefix needs the listing. A recording probe
        // (`capture`) lists, so the captured tree has the names.
        if *size > list_max
            && prefixes.is_empty()
            && !fs.is_recording()
            && let Ok(dir) = fs.open_dir(d)
        {
            for n in &exact {
                if !found.contains_key(*n) && dir.has(n) {
                    note(&mut found, n.to_string(), d, n);
                }
            }
            continue;
        }
        let _ = fs.scan_dir(d, |name| {
            let Some(n) = name.to_str() else { return };
            if wanted.contains(n) {
                note(&mut found, n.to_string(), d, n);
            } else if let Some(p) = prefixes.iter().find(|p| n.starts_with(**p)) {
                note(&mut found, format!("{p}*"), d, n);
            }
        });
    }
    let found = Arc::new(found);
    if let Ok(mut cache) = TOOLS_CACHE.lock() {
        *cache = (!recent).then(|| (key, Arc::clone(&found)));
        crate::cache::mark_dirty();
    }
    found
}

/// What is mounted at `/sys/fs/cgroup`, as far as the cgroup facts go. The service keeps it while
/// the mount table stays the same (see [`crate::held::mounts_unchanged`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum CgroupLayout {
    /// cgroup v2 at `/sys/fs/cgroup`; whether its root has `cgroup.freeze`.
    Unified { freeze: bool },
    /// cgroup v1 hierarchies, and cgroup v2 at `/sys/fs/cgroup/unified` (systemd's hybrid layout),
    /// with the controllers `/proc/cgroups` shows enabled (fixed at boot).
    Hybrid(Arc<BTreeSet<String>>),
}

static CGROUP_LAYOUT: std::sync::Mutex<Option<CgroupLayout>> = std::sync::Mutex::new(None);

fn probe_containers(fs: &HostFs, facts: &mut Facts, keep: bool) {
    // cgroups.
    let kept = if keep && crate::held::mounts_unchanged(fs) {
        CGROUP_LAYOUT.lock().ok().and_then(|c| c.clone())
    } else {
        None
    };
    let controllers = match kept {
        Some(CgroupLayout::Hybrid(_)) => None,
        _ => Some(crate::held::read_kernel_file(
            fs,
            "/sys/fs/cgroup/cgroup.controllers",
        )),
    };
    let layout = match controllers {
        Some(Ok(c)) => {
            let mut set: BTreeSet<String> = c.split_whitespace().map(str::to_string).collect();
            // cgroup v2 has no freezer or devices controller files: freezing is cgroup.freeze
            // (kernel 5.2+), device control is eBPF (CONFIG_CGROUP_BPF). Count them as present so
            // the v2 false negatives of older checkers are not repeated.
            let new_kernel = facts.get("kernel.version").is_some_and(|f| matches!(&f.value, Ok(Value::Version(v)) if *v >= crate::version::KVersion(5, 2, 0)));
            let freeze = match kept {
                Some(CgroupLayout::Unified { freeze }) => freeze,
                _ => !new_kernel && fs.exists("/sys/fs/cgroup/cgroup.freeze"),
            };
            if freeze || new_kernel {
                set.insert("freezer".into());
            }
            if facts
                .map_of("kernel.config")
                .is_some_and(|c| c.get("CGROUP_BPF").is_some_and(|v| v == "y"))
            {
                set.insert("devices".into());
            }
            if set.contains("cpu") {
                set.insert("cpuacct".into());
            }
            facts.set(
                "cgroup.version",
                Value::Str("v2".into()),
                "/sys/fs/cgroup/cgroup.controllers",
            );
            facts.set(
                "cgroup.controllers",
                Value::Set(set.into()),
                "/sys/fs/cgroup/cgroup.controllers",
            );
            Some(CgroupLayout::Unified { freeze })
        }
        // (Which controllers are enabled is fixed at boot: the service reads it once.)
        _ => match match &kept {
            Some(CgroupLayout::Hybrid(set)) => Ok(Arc::clone(set)),
            _ => kernel::read_boot_fixed(fs, "/proc/cgroups", keep).map(|t| {
                Arc::new(
                    t.lines()
                        .filter(|l| !l.starts_with('#'))
                        .filter_map(|l| {
                            let cols: Vec<&str> = l.split_whitespace().collect();
                            (cols.len() >= 4 && cols[3] == "1").then(|| cols[0].to_string())
                        })
                        .collect(),
                )
            }),
        } {
            Ok(set) => {
                // cgroup v2 mounted at unified/ makes the layout a matter of mounts alone; a bare
                // unified/ folder (or none) is looked at again at each probe.
                let mounted = matches!(kept, Some(CgroupLayout::Hybrid(_)))
                    || fs.exists("/sys/fs/cgroup/unified/cgroup.controllers");
                let hybrid = mounted || fs.exists("/sys/fs/cgroup/unified");
                facts.set(
                    "cgroup.version",
                    Value::Str(if hybrid { "hybrid" } else { "v1" }.into()),
                    "/proc/cgroups, /sys/fs/cgroup",
                );
                facts.set(
                    "cgroup.controllers",
                    Value::Set(Arc::clone(&set)),
                    "/proc/cgroups",
                );
                mounted.then_some(CgroupLayout::Hybrid(set))
            }
            Err(e) => {
                facts.unknown("cgroup.version", e.to_string(), "/proc/cgroups");
                facts.unknown_quiet("cgroup.controllers", e.to_string(), "/proc/cgroups");
                None
            }
        },
    };
    if keep && let Ok(mut c) = CGROUP_LAYOUT.lock() {
        *c = layout;
    }
    // Namespaces the kernel offers (what this process can see of them).
    match kernel::namespace_types(fs, keep) {
        Ok(set) => facts.set("ns.available", Value::Set(set), "/proc/self/ns"),
        Err(e) => facts.unknown_quiet("ns.available", e.to_string(), "/proc/self/ns"),
    }
    match crate::held::read_kernel_file(fs, "/proc/sys/user/max_user_namespaces")
        .map(|s| s.parse::<i64>())
    {
        Ok(Ok(n)) => facts.set(
            "userns.max",
            Value::Int(n),
            "/proc/sys/user/max_user_namespaces",
        ),
        Ok(Err(_)) => facts.unknown(
            "userns.max",
            "/proc/sys/user/max_user_namespaces: not a number",
            "/proc/sys/user/max_user_namespaces",
        ),
        Err(e) => facts.unknown_quiet(
            "userns.max",
            e.to_string(),
            "/proc/sys/user/max_user_namespaces",
        ),
    }
    let subids = crate::held::read_stamped(fs, "/etc/subuid")
        .map(|s| s.lines().any(|l| l.split(':').count() == 3))
        .unwrap_or(false);
    facts.set("userns.subids", Value::Bool(subids), "/etc/subuid");
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

    /// The service's kept CPU and running-under facts are the ones a fresh probe finds.
    #[test]
    fn kept_stable_facts_equal_fresh_ones() {
        let _g = crate::held::SERIAL
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        crate::cache::set_enabled(false);
        let fs = HostFs::live();
        let needs = crate::rules::Table::embedded().needs();
        let fresh = probe(&fs, &live::Native, &needs);
        keep_stable_facts(true);
        let first = probe(&fs, &live::Native, &needs);
        let kept = probe(&fs, &live::Native, &needs);
        // (The third one also answers from the descriptors and stamps the service holds.)
        let held = probe(&HostFs::live(), &live::Native, &needs);
        keep_stable_facts(false);
        assert!(STABLE.lock().unwrap().is_none());
        for p in [&first, &kept, &held] {
            assert_eq!(p.cpu, fresh.cpu);
            assert_eq!(p.virt, fresh.virt);
            // Every fact, kept or read again (the module set and parameters, the kernel config,
            // the cgroup controllers as well as the CPU and what the host runs under).
            for (name, fact) in fresh.facts.iter() {
                assert_eq!(p.facts.get(name), Some(fact), "{name}");
            }
            assert_eq!(p.facts, fresh.facts);
        }
    }

    /// Looking names up and listing the folder give the same tools, the same first folders.
    #[test]
    fn tool_lookup_equals_tool_listing() {
        let root = tempfile::tempdir().unwrap();
        let bin = root.path().join("usr/bin");
        let local = root.path().join("usr/local/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&local).unwrap();
        for i in 0..300 {
            std::fs::write(bin.join(format!("tool-{i}")), "").unwrap();
        }
        for n in ["qemu-system-aarch64", "firecracker", "lxc-start"] {
            std::fs::write(bin.join(n), "").unwrap();
        }
        std::fs::write(local.join("firecracker"), "").unwrap();
        std::os::unix::fs::symlink("/nowhere/podman", bin.join("podman")).unwrap();
        let fs = HostFs::with_root(root.path()).unwrap();
        let wanted: Names = [
            "qemu-system-x86_64",
            "qemu-system-aarch64",
            "firecracker",
            "podman",
            "absent",
            "a/b",
            "..",
        ]
        .map(Into::into)
        .into();
        let mut answers = Vec::new();
        for list_max in [0, u64::MAX] {
            *TOOLS_CACHE.lock().unwrap() = None;
            answers.push(find_tools_with(&fs, &[], &wanted, list_max));
        }
        assert_eq!(answers[0], answers[1]);
        let found = &answers[0];
        let names: Vec<&str> = found.keys().map(String::as_str).collect();
        assert_eq!(names, ["firecracker", "podman", "qemu-system-aarch64"]);
        assert_eq!(found["firecracker"], "/usr/local/bin/firecracker");
        assert_eq!(found["podman"], "/usr/bin/podman");
    }
}
