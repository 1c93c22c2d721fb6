//! A cache, for the current boot, of answers that are costly to derive and change only with
//! files whose identity says so, or not at all while the machine runs: the kernel config options
//! the table reads (inflating `/proc/config.gz` and scanning its 10 000 lines), the tool search
//! (listing the bin folders) and what CPUID said (each instruction an exit to the hypervisor in
//! a virtual machine). The KVM check is never cached: every run opens `/dev/kvm` and creates a VM.
//!
//! Reads `/proc/sys/kernel/random/boot_id` and the cache file; writes the cache file when an
//! answer was derived afresh. The file lives in `$VIRTPROBE_CACHE_DIR`, else systemd's
//! `$RUNTIME_DIRECTORY`, else `/run/virtprobe` for root or `$XDG_RUNTIME_DIR/virtprobe` for
//! others: tmpfs folders that a reboot empties. An entry is used only when the boot id, the
//! virtprobe version and every key match: the config file's path, device, inode, size and mtime,
//! the kernel release and the options wanted; each bin folder's device, inode, mtime and ctime (adding
//! or removing a program changes its folder's times; a folder changed in the last 3 s is not
//! trusted) and the names wanted; for CPUID, the boot
//! alone. A missing, foreign,
//! stale or damaged file is ignored and replaced. Only the running host (no `--root`) uses it, and
//! not `capture`, which must read the files themselves. `--no-cache` turns it off.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::probe::cpuid::{CPUID_CACHE, CpuidCache};
use crate::probe::kernel::{CONFIG_CACHE, ConfigCache};
use crate::probe::{TOOLS_CACHE, ToolsCache};

static ENABLED: AtomicBool = AtomicBool::new(true);
static LOADED: AtomicBool = AtomicBool::new(false);
/// Set when an answer was derived afresh, so the file is out of date.
static DIRTY: AtomicBool = AtomicBool::new(false);

/// The file's name carries its format: a change of the cached types changes the name.
const FILE: &str = "cache.v5";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entries {
    config: ConfigCache,
    tools: ToolsCache,
    cpuid: CpuidCache,
}

#[derive(Debug, Serialize, Deserialize)]
struct Disk {
    version: String,
    boot_id: String,
    entries: Entries,
}

/// Turn the cache off (`--no-cache`) or on.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

fn dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = var("VIRTPROBE_CACHE_DIR") {
        return Some(d);
    }
    if let Some(d) = var("RUNTIME_DIRECTORY") {
        // systemd may list several folders, separated by colons.
        let first = d.to_string_lossy().split(':').next().map(PathBuf::from);
        return first;
    }
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return Some(PathBuf::from("/run/virtprobe"));
    }
    var("XDG_RUNTIME_DIR").map(|d| d.join("virtprobe"))
}

/// This boot's id, read once per process (loading and storing both need it).
fn boot_id() -> Option<String> {
    static ID: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        // A UUID and a newline, which the kernel hands over in one read.
        let mut buf = [0u8; 64];
        let n = std::io::Read::read(
            &mut std::fs::File::open("/proc/sys/kernel/random/boot_id").ok()?,
            &mut buf,
        )
        .ok()?;
        let id = std::str::from_utf8(&buf[..n]).ok()?.trim();
        (!id.is_empty()).then(|| id.to_string())
    })
    .clone()
}

/// Note that an in-memory cache holds an answer the file does not.
pub(crate) fn mark_dirty() {
    DIRTY.store(true, Ordering::Relaxed);
}

/// Fill the in-memory caches from the file, once per process.
pub(crate) fn load() {
    if !ENABLED.load(Ordering::Relaxed) || LOADED.swap(true, Ordering::Relaxed) {
        return;
    }
    let found = (|| {
        let bytes = std::fs::read(dir()?.join(FILE)).ok()?;
        let disk: Disk = postcard::from_bytes(&bytes).ok()?;
        (disk.version == env!("CARGO_PKG_VERSION") && Some(disk.boot_id) == boot_id())
            .then_some(disk.entries)
    })();
    let Some(entries) = found else {
        tracing::debug!("no usable cache file");
        return;
    };
    tracing::debug!(
        config = entries.config.is_some(),
        tools = entries.tools.is_some(),
        cpuid = entries.cpuid.is_some(),
        "cache loaded"
    );
    if let (Some(c), Ok(mut cache)) = (entries.config, CONFIG_CACHE.lock())
        && cache.is_none()
    {
        *cache = Some(c);
    }
    if let (Some(t), Ok(mut cache)) = (entries.tools, TOOLS_CACHE.lock())
        && cache.is_none()
    {
        *cache = Some(t);
    }
    if let (Some(c), Ok(mut cache)) = (entries.cpuid, CPUID_CACHE.lock())
        && cache.is_none()
    {
        *cache = Some(c);
    }
}

/// Write the in-memory caches to the file when an answer was derived afresh. Failures are logged
/// at debug level: a cache that cannot be written only costs time.
pub(crate) fn store() {
    if !ENABLED.load(Ordering::Relaxed) || !DIRTY.swap(false, Ordering::Relaxed) {
        return;
    }
    let now = Entries {
        config: CONFIG_CACHE.lock().map(|c| c.clone()).unwrap_or(None),
        tools: TOOLS_CACHE.lock().map(|c| c.clone()).unwrap_or(None),
        cpuid: CPUID_CACHE.lock().map(|c| c.clone()).unwrap_or(None),
    };
    let result = (|| -> std::io::Result<()> {
        let dir = dir().ok_or_else(|| std::io::Error::other("no cache folder"))?;
        let boot_id = boot_id().ok_or_else(|| std::io::Error::other("no boot id"))?;
        let disk = Disk {
            version: env!("CARGO_PKG_VERSION").to_string(),
            boot_id,
            entries: now,
        };
        let bytes = postcard::to_stdvec(&disk).map_err(std::io::Error::other)?;
        std::fs::create_dir_all(&dir)?;
        crate::swap::write_replacing(&dir.join(FILE), &bytes, false)
    })();
    if let Err(e) = result {
        tracing::debug!(error = %e, "cache not written");
    }
}
