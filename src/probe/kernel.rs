//! Kernel facts: release, version, configuration, modules, module parameters, command line.
//!
//! Reads, through the host root:
//! - `/proc/sys/kernel/osrelease` (captured trees; a live host asks `uname(2)`), the release;
//! - the kernel configuration from the first readable of `/proc/config.gz`, `/boot/config-R`,
//!   `/lib/modules/R/build/.config`, `/usr/lib/modules/R/config` and the other places distributions
//!   put it (node-feature-discovery's list), recording which one was used. A gzip file is inflated
//!   with a 16 MiB bound, so a decompression bomb becomes an error, not an outage;
//! - `/proc/modules` (loaded modules; absent on kernels built without module support),
//!   `/sys/module` (loaded modules and built-ins with parameters) and `/lib/modules/R/modules.builtin`;
//! - `/sys/module/M/parameters/P` only for the parameters the technology table asks about;
//! - `/proc/cmdline`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use procfs::FromBufRead;

use crate::facts::{Facts, Value};
use crate::host::{HostFs, ReadError};
use crate::version::KVersion;

/// The most a compressed kernel config may inflate to (a real one is about 300 KiB).
pub const MAX_CONFIG: u64 = 16 * 1024 * 1024;

/// Where kernel configurations are looked for, in order; `{R}` is the release.
pub const CONFIG_PATHS: &[&str] = &[
    "/proc/config.gz",
    "/boot/config-{R}",
    "/lib/modules/{R}/build/.config",
    "/usr/lib/modules/{R}/config",
    "/usr/src/linux-{R}/.config",
    "/usr/lib/ostree-boot/config-{R}",
    "/usr/lib/kernel/config-{R}",
    "/usr/src/linux-headers-{R}/.config",
];

/// Parse kernel config text into `NAME` (without `CONFIG_`) → `y`, `m` or the value (quotes
/// removed). Options that are `not set` are absent, as in the kernel's own format.
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    let mut scan = ConfigScan::new(None);
    scan.feed(text.as_bytes());
    scan.finish().0
}

/// Kernel config text scanned as it arrives, in chunks of any size: the inflated text of a
/// config (about 250 KiB) is never held in memory.
pub struct ConfigScan<'w> {
    wanted: Option<&'w super::Names>,
    /// A quick filter before the set: the first bytes and the lengths of the wanted names.
    first: [bool; 256],
    lengths: u128,
    /// The unfinished last line of the previous chunk.
    partial: Vec<u8>,
    out: BTreeMap<String, String>,
    config_lines: bool,
}

/// A line longer than this is no config line (the longest real ones are a few hundred bytes).
const MAX_LINE: usize = 64 * 1024;

impl<'w> ConfigScan<'w> {
    /// Keep the options in `wanted`, or all of them.
    pub fn new(wanted: Option<&'w super::Names>) -> Self {
        let mut first = [wanted.is_none(); 256];
        let mut lengths = if wanted.is_none() { u128::MAX } else { 0 };
        for w in wanted.into_iter().flatten() {
            if let Some(&b) = w.as_bytes().first() {
                first[b as usize] = true;
            }
            lengths |= 1u128 << w.len().min(127);
        }
        ConfigScan {
            wanted,
            first,
            lengths,
            partial: Vec::new(),
            out: BTreeMap::new(),
            config_lines: false,
        }
    }

    /// The next bytes of the text.
    pub fn feed(&mut self, mut chunk: &[u8]) {
        if !self.partial.is_empty() {
            let Some(nl) = memchr::memchr(b'\n', chunk) else {
                if self.partial.len() + chunk.len() <= MAX_LINE {
                    self.partial.extend_from_slice(chunk);
                }
                return;
            };
            let mut line = std::mem::take(&mut self.partial);
            if line.len() + nl <= MAX_LINE {
                line.extend_from_slice(&chunk[..nl]);
                self.line(&line);
            }
            line.clear();
            self.partial = line;
            chunk = &chunk[nl + 1..];
        }
        let mut rest = chunk;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            self.line(&rest[..nl]);
            rest = &rest[nl + 1..];
        }
        if rest.len() <= MAX_LINE {
            self.partial.extend_from_slice(rest);
        }
    }

    /// The options kept, and whether the text had any `CONFIG_` line at all.
    pub fn finish(mut self) -> (BTreeMap<String, String>, bool) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line);
        }
        (self.out, self.config_lines)
    }

    fn line(&mut self, line: &[u8]) {
        let Some(rest) = line.strip_prefix(b"CONFIG_") else {
            return;
        };
        self.config_lines = true;
        let Some(eq) = memchr::memchr(b'=', rest) else {
            return;
        };
        let name = &rest[..eq];
        if name.is_empty()
            || !self.first[name[0] as usize]
            || self.lengths & (1u128 << name.len().min(127)) == 0
        {
            return;
        }
        let Ok(name) = std::str::from_utf8(name) else {
            return;
        };
        if self.wanted.is_some_and(|w| !w.contains(name)) {
            return;
        }
        let value = String::from_utf8_lossy(&rest[eq + 1..]);
        self.out
            .insert(name.to_string(), value.trim().trim_matches('"').to_string());
    }
}

/// The kernel config of a running kernel does not change until a reboot, so a long-running
/// `virtprobe serve` inflates and parses it once (and [`crate::cache`] keeps it for the boot):
/// keyed by the real path, its device, inode, size and mtime, the kernel release and the options
/// wanted.
pub(crate) type ConfigKey = (
    std::path::PathBuf,
    (u64, u64, u64),
    Option<std::time::SystemTime>,
    String,
    super::Names,
);
pub(crate) type ConfigCache = Option<(ConfigKey, String, std::sync::Arc<BTreeMap<String, String>>)>;
pub(crate) static CONFIG_CACHE: std::sync::Mutex<ConfigCache> = std::sync::Mutex::new(None);

/// Inflate a gzip file, handing the text to `sink` in chunks, and fail past `limit` bytes.
///
/// The header is parsed here and the deflate stream inflated raw; the trailer's length is
/// checked and its CRC-32 is not: computing it would cost as much again as the inflating (a third
/// of a whole report), a damaged deflate stream rarely inflates at all, and the length catches
/// truncation. Only the first member of a multi-member file is read (the kernel writes one).
pub fn gunzip_chunks(bytes: &[u8], limit: u64, mut sink: impl FnMut(&[u8])) -> Result<(), String> {
    let body = gzip_body(bytes).ok_or("not a valid gzip file (bad header)")?;
    let mut dec = flate2::Decompress::new(false);
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let (in0, out0) = (dec.total_in(), dec.total_out());
        let input = &body[(in0 as usize).min(body.len())..];
        let status = dec
            .decompress(input, &mut buf, flate2::FlushDecompress::None)
            .map_err(|e| format!("not a valid gzip file ({e})"))?;
        let produced = (dec.total_out() - out0) as usize;
        if dec.total_out() > limit {
            return Err(format!("inflates to more than {limit} bytes, not read"));
        }
        sink(&buf[..produced]);
        match status {
            flate2::Status::StreamEnd => break,
            _ if produced == 0 && dec.total_in() == in0 => {
                return Err("not a valid gzip file (truncated)".into());
            }
            _ => {}
        }
    }
    let trailer = body
        .get(dec.total_in() as usize..)
        .and_then(|t| t.get(4..8))
        .ok_or("not a valid gzip file (truncated)")?;
    let isize = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    if isize != dec.total_out() as u32 {
        return Err("not a valid gzip file (length does not match its trailer)".into());
    }
    Ok(())
}

/// The deflate stream of a gzip file: what follows its header (RFC 1952, section 2.3).
fn gzip_body(b: &[u8]) -> Option<&[u8]> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if b.len() < 10 || b[0] != 0x1f || b[1] != 0x8b || b[2] != 8 || b[3] & 0xe0 != 0 {
        return None;
    }
    let flags = b[3];
    let mut rest = &b[10..];
    if flags & FEXTRA != 0 {
        let len = u16::from_le_bytes([*rest.first()?, *rest.get(1)?]) as usize;
        rest = rest.get(2 + len..)?;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let nul = rest.iter().position(|&c| c == 0)?;
            rest = &rest[nul + 1..];
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    Some(rest)
}

/// Inflate a gzip stream with a size bound, into memory (see [`gunzip_chunks`]).
pub fn gunzip_bounded(bytes: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    gunzip_chunks(bytes, limit, |c| out.extend_from_slice(c))?;
    Ok(out)
}

/// What was derived from an input, kept for an input equal to the last one.
struct LastInput<K, V>(std::sync::Mutex<Option<(K, V)>>);

impl<K: PartialEq, V: Clone> LastInput<K, V> {
    const fn new() -> Self {
        LastInput(std::sync::Mutex::new(None))
    }

    /// `derive(&input)`, or what it gave for the same input last time (only when `on`).
    fn get(&self, on: bool, input: K, derive: impl FnOnce(&K) -> V) -> V {
        if !on {
            return derive(&input);
        }
        if let Ok(last) = self.0.lock()
            && let Some((k, v)) = last.as_ref()
            && *k == input
        {
            return v.clone();
        }
        let v = derive(&input);
        if let Ok(mut last) = self.0.lock() {
            *last = Some((input, v.clone()));
        }
        v
    }
}

type NameSet = Arc<BTreeSet<String>>;
type ParamValues = Arc<BTreeMap<String, String>>;
/// The loaded modules, kept while `/proc/modules` reads the same.
static PROC_MODULES: LastInput<String, NameSet> = LastInput::new();
/// The union of the module sets, by the sets it was made of.
static UNION: LastInput<Vec<Same>, NameSet> = LastInput::new();

/// A set compared by identity: the same set, not an equal one. (Held, so that its address cannot
/// be taken by another while it is compared against.)
#[derive(Debug, Clone)]
struct Same(NameSet);

impl PartialEq for Same {
    fn eq(&self, other: &Same) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// What the service keeps of the kernel facts because it cannot change while the kernel runs
/// (see `probe`), until SIGHUP.
struct Kept {
    /// No `/proc/modules` on the running host: a kernel without module support.
    no_proc_modules: bool,
    /// The entries of `/sys/module` that are not loaded modules (all of them without module
    /// support).
    sys_module: Option<NameSet>,
    /// The running release's `modules.builtin` and where it was found, once looked for (`None`
    /// inside: there is none).
    builtin: Option<Option<(NameSet, &'static str)>>,
    /// The module parameters read, with the module set they were read for: kept only when every
    /// file read was read-only (a module must be loaded again to change those).
    params: Option<(Same, ParamValues)>,
    /// The running kernel's own configuration (`/proc/config.gz`). (Files elsewhere can be
    /// replaced, and are looked at again at every probe.)
    config: Option<ParamValues>,
}

impl Kept {
    const NOTHING: Kept = Kept {
        no_proc_modules: false,
        sys_module: None,
        builtin: None,
        params: None,
        config: None,
    };
}

static KEPT: std::sync::Mutex<Kept> = std::sync::Mutex::new(Kept::NOTHING);

/// Look at or change what the service keeps (a poisoned lock is taken as it is).
fn kept<T>(f: impl FnOnce(&mut Kept) -> T) -> T {
    f(&mut KEPT.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Module names from `/proc/modules` text: procfs's parser, or the first word of each line when
/// a line does not have the kernel's six fields.
pub fn parse_proc_modules(text: &str) -> BTreeSet<String> {
    match procfs::KernelModules::from_buf_read(text.as_bytes()) {
        Ok(m) => m.0.into_keys().collect(),
        Err(_) => text
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect(),
    }
}

/// Module names from `modules.builtin` (`kernel/arch/x86/kvm/kvm.ko` → `kvm`).
pub fn parse_modules_builtin(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let file = l.trim().rsplit('/').next()?;
            let name = file.strip_suffix(".ko").unwrap_or(file);
            (!name.is_empty()).then(|| name.replace('-', "_"))
        })
        .collect()
}

/// Gather the kernel facts. `release` is from `uname` on a live host, else `None`.
pub fn probe(
    fs: &HostFs,
    facts: &mut Facts,
    live_release: Option<String>,
    params: &super::Names,
    config_keys: &super::Names,
    keep: bool,
) {
    let (release, release_src): (_, std::borrow::Cow<'static, str>) = match live_release {
        Some(r) => (Some(r), "uname".into()),
        None => match fs.read_trimmed("/proc/sys/kernel/osrelease") {
            Ok(r) if !r.is_empty() => (Some(r), "/proc/sys/kernel/osrelease".into()),
            Ok(_) => {
                facts.unknown(
                    "kernel.release",
                    "/proc/sys/kernel/osrelease: empty",
                    "/proc/sys/kernel/osrelease",
                );
                (None, "".into())
            }
            Err(e) => {
                facts.unknown(
                    "kernel.release",
                    e.to_string(),
                    "/proc/sys/kernel/osrelease",
                );
                (None, "".into())
            }
        },
    };
    if let Some(r) = &release {
        facts.set(
            "kernel.release",
            Value::Str(r.as_str().into()),
            release_src.clone(),
        );
        match r.parse::<KVersion>() {
            Ok(v) => facts.set("kernel.version", Value::Version(v), release_src.clone()),
            Err(e) => facts.unknown("kernel.version", e.to_string(), release_src.clone()),
        }
    } else {
        facts.unknown_quiet("kernel.version", "kernel release unknown", "");
    }

    if !config_keys.is_empty() {
        probe_config(fs, facts, release.as_deref(), config_keys, keep);
    }

    // Modules: loaded (/proc/modules), present in /sys/module, built in (modules.builtin).
    // /sys/module holds the loaded modules and the built-in ones with parameters. Built-ins
    // cannot change while the kernel runs, and without module support (no /proc/modules on the
    // running host) nothing can: the service lists the folder once and keeps the built-ins (the
    // names /proc/modules did not list the first time), and reads /proc/modules at every probe.
    let mut parts: Vec<NameSet> = Vec::new();
    let mut sources = Vec::new();
    let mut have_proc_modules = false;
    match if keep && kept(|k| k.no_proc_modules) {
        Err(ReadError::NotFound("/proc/modules".into()))
    } else {
        fs.read_string("/proc/modules")
    } {
        Ok(t) => {
            parts.push(PROC_MODULES.get(keep, t, |t| Arc::new(parse_proc_modules(t))));
            sources.push("/proc/modules");
            have_proc_modules = true;
        }
        Err(e) if e.is_not_found() => {
            if keep {
                kept(|k| k.no_proc_modules = true);
            }
        }
        Err(e) => facts.errors.push(crate::facts::ProbeError {
            fact: "kernel.modules".into(),
            message: e.to_string(),
        }),
    }
    let sys_module = match keep.then(|| kept(|k| k.sys_module.clone())).flatten() {
        Some(set) => Ok(set),
        None => fs.listing("/sys/module").map(|listing| {
            let all: NameSet = Arc::new(
                listing
                    .names()
                    .map(|n| n.to_string_lossy().into_owned())
                    .collect(),
            );
            if keep {
                let built_in = match parts.first() {
                    Some(loaded) if have_proc_modules => {
                        Arc::new(all.difference(loaded).cloned().collect())
                    }
                    _ => Arc::clone(&all),
                };
                kept(|k| k.sys_module = Some(built_in));
            }
            all
        }),
    };
    match sys_module {
        Ok(set) => {
            parts.push(set);
            sources.push("/sys/module");
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => facts.errors.push(crate::facts::ProbeError {
            fact: "kernel.modules".into(),
            message: e.to_string(),
        }),
    }
    let builtin = match keep.then(|| kept(|k| k.builtin.clone())).flatten() {
        Some(looked) => looked,
        None => {
            let found = release.as_ref().and_then(|r| {
                [
                    ("/lib/modules", "/lib/modules/R/modules.builtin"),
                    ("/usr/lib/modules", "/usr/lib/modules/R/modules.builtin"),
                ]
                .into_iter()
                .find_map(|(dir, shown)| {
                    let t = fs.read_string(&format!("{dir}/{r}/modules.builtin")).ok()?;
                    Some((Arc::new(parse_modules_builtin(&t)), shown))
                })
            });
            if keep {
                kept(|k| k.builtin = Some(found.clone()));
            }
            found
        }
    };
    if let Some((set, shown)) = builtin {
        parts.push(set);
        sources.push(shown);
    }
    let modules = match parts.as_slice() {
        [one] => Arc::clone(one),
        _ => {
            let key: Vec<Same> = parts.iter().map(|p| Same(Arc::clone(p))).collect();
            UNION.get(keep, key, |_| {
                Arc::new(parts.iter().flat_map(|p| p.iter().cloned()).collect())
            })
        }
    };
    if sources.is_empty() {
        facts.unknown(
            "kernel.modules",
            "neither /proc/modules nor /sys/module could be read",
            "/proc/modules",
        );
    } else {
        facts.set(
            "kernel.modules",
            Value::Set(Arc::clone(&modules)),
            sources.join(", "),
        );
    }
    let config_modules = facts
        .map_of("kernel.config")
        .map(|c| c.get("MODULES").is_some_and(|v| v == "y"));
    match (have_proc_modules, config_modules) {
        (true, _) => facts.set("kernel.module_support", Value::Bool(true), "/proc/modules"),
        (false, Some(m)) => facts.set(
            "kernel.module_support",
            Value::Bool(m),
            "kernel config CONFIG_MODULES",
        ),
        (false, None) => facts.set(
            "kernel.module_support",
            Value::Bool(false),
            "/proc/modules absent",
        ),
    }

    // Only the module parameters the table asks about.
    let kept_params = keep
        .then(|| kept(|k| k.params.clone()))
        .flatten()
        .filter(|(set, _)| *set == Same(Arc::clone(&modules)))
        .map(|(_, values)| values);
    let values = kept_params.unwrap_or_else(|| {
        let mut values = BTreeMap::new();
        let mut read_only = true;
        // (Only for modules that are there: a missing module's parameters need no failed open.)
        for key in params {
            if let Some((m, p)) = key.split_once('.')
                && (sources.is_empty() || modules.contains(m))
            {
                let path = format!("/sys/module/{m}/parameters/{p}");
                if let Ok(v) = fs.read_trimmed(&path) {
                    values.insert(key.to_string(), v);
                    if keep {
                        use std::os::unix::fs::PermissionsExt;
                        read_only &= fs
                            .metadata(&path)
                            .is_ok_and(|md| md.permissions().mode() & 0o222 == 0);
                    }
                }
            }
        }
        let values = Arc::new(values);
        if keep && read_only {
            kept(|k| k.params = Some((Same(Arc::clone(&modules)), Arc::clone(&values))));
        }
        values
    });
    facts.set(
        "module.param",
        Value::Map(values),
        "/sys/module/*/parameters",
    );

    match read_boot_fixed(fs, "/proc/cmdline", keep) {
        Ok(c) => facts.set("kernel.cmdline", Value::Str(c), "/proc/cmdline"),
        Err(e) => facts.unknown_quiet("kernel.cmdline", e.to_string(), "/proc/cmdline"),
    }
}

fn probe_config(
    fs: &HostFs,
    facts: &mut Facts,
    release: Option<&str>,
    wanted: &super::Names,
    keep: bool,
) {
    // (The running kernel's own configuration, which the service keeps.)
    const OWN: &str = "/proc/config.gz";
    if let Some(map) = keep.then(|| kept(|k| k.config.clone())).flatten() {
        facts.set("kernel.config", Value::Map(map), OWN);
        return;
    }
    let mut tried = Vec::new();
    for pattern in CONFIG_PATHS {
        let path = match (pattern.contains("{R}"), release) {
            (true, Some(r)) => pattern.replace("{R}", r),
            (true, None) => continue,
            (false, _) => pattern.to_string(),
        };
        let key = fs.resolve(&path).ok().and_then(|real| {
            use std::os::unix::fs::MetadataExt;
            let md = std::fs::metadata(&real).ok()?;
            Some((
                real,
                (md.dev(), md.ino(), md.len()),
                md.modified().ok(),
                release.unwrap_or("").to_string(),
                wanted.clone(),
            ))
        });
        if let Some(k) = &key
            && !fs.is_recording()
            && let Ok(cache) = CONFIG_CACHE.lock()
            && let Some((ck, cpath, cmap)) = cache.as_ref()
            && ck == k
        {
            if keep && cpath == OWN {
                kept(|k| k.config = Some(Arc::clone(cmap)));
            }
            facts.set("kernel.config", Value::Map(cmap.clone()), cpath.clone());
            return;
        }
        let bytes = match fs.read(&path) {
            Ok(b) => b,
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                tried.push(e.to_string());
                continue;
            }
        };
        let mut scan = ConfigScan::new(Some(wanted));
        if bytes.starts_with(&[0x1f, 0x8b]) {
            if let Err(e) = gunzip_chunks(&bytes, MAX_CONFIG, |c| scan.feed(c)) {
                tried.push(format!("{path}: {e}"));
                continue;
            }
        } else if path.ends_with(".gz") {
            tried.push(format!("{path}: not a gzip file"));
            continue;
        } else {
            scan.feed(&bytes);
        }
        let (map, config_lines) = scan.finish();
        if !config_lines {
            tried.push(format!("{path}: no CONFIG_ lines"));
            continue;
        }
        let map = std::sync::Arc::new(map);
        if keep && path == OWN {
            kept(|k| k.config = Some(Arc::clone(&map)));
        }
        if let (Some(k), Ok(mut cache)) = (key, CONFIG_CACHE.lock()) {
            *cache = Some((k, path.clone(), std::sync::Arc::clone(&map)));
            crate::cache::mark_dirty();
        }
        facts.set("kernel.config", Value::Map(map), path);
        for t in tried {
            facts.errors.push(crate::facts::ProbeError {
                fact: "kernel.config".into(),
                message: t,
            });
        }
        return;
    }
    let why = if tried.is_empty() {
        "no kernel config found (/proc/config.gz, /boot/config-R, /lib/modules/R/build/.config, /usr/lib/modules/R/config…)".to_string()
    } else {
        tried.join("; ")
    };
    facts.unknown("kernel.config", why, "/proc/config.gz");
}

/// What a process that keeps stable facts (the service) read once per boot-fixed path.
type Memo<T> = std::sync::Mutex<BTreeMap<String, Result<T, ReadError>>>;
/// Files read once per boot-fixed path (their text, trimmed, shared with the facts made of it).
static BOOT_FIXED: Memo<Arc<str>> = std::sync::Mutex::new(BTreeMap::new());
/// The namespace types, listed once.
static NAMESPACES: Memo<NameSet> = std::sync::Mutex::new(BTreeMap::new());

/// `read` at every probe, or once per path when `keep` (the service keeps what
/// [`super::keep_stable_facts`] names, and forgets these with them).
fn once_if<T: Clone>(
    memo: &Memo<T>,
    path: &str,
    keep: bool,
    read: impl Fn() -> Result<T, ReadError>,
) -> Result<T, ReadError> {
    if keep && let Ok(mut memo) = memo.lock() {
        if let Some(hit) = memo.get(path) {
            return hit.clone();
        }
        return memo.entry(path.to_string()).or_insert_with(read).clone();
    }
    read()
}

/// A file that cannot change while the kernel runs (the command line it booted with, which cgroup
/// controllers are enabled), trimmed.
pub(crate) fn read_boot_fixed(fs: &HostFs, path: &str, keep: bool) -> Result<Arc<str>, ReadError> {
    once_if(&BOOT_FIXED, path, keep, || {
        fs.read_string(path)
            .map(|t| crate::host::trimmed(&t).into())
    })
}

/// The namespace types the kernel was built with, as this process sees them (`/proc/self/ns`,
/// without the `*_for_children` entries), which cannot change while the kernel runs.
pub(crate) fn namespace_types(fs: &HostFs, keep: bool) -> Result<NameSet, ReadError> {
    const PATH: &str = "/proc/self/ns";
    once_if(&NAMESPACES, PATH, keep, || {
        fs.read_dir(PATH).map(|n| {
            Arc::new(
                n.into_iter()
                    .filter(|x| !x.ends_with("_for_children"))
                    .collect(),
            )
        })
    })
}

/// Forget the boot-fixed files and folders (SIGHUP, or stable facts turned off).
pub(crate) fn forget_boot_fixed() {
    if let Ok(mut memo) = BOOT_FIXED.lock() {
        memo.clear();
    }
    if let Ok(mut memo) = NAMESPACES.lock() {
        memo.clear();
    }
    kept(|k| *k = Kept::NOTHING);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn config_lines() {
        let m = parse_config(
            "# comment\nCONFIG_KVM=y\nCONFIG_KVM_AMD=m\n# CONFIG_KVM_INTEL is not set\nCONFIG_LOCALVERSION=\"-generic\"\nCONFIG_=y\n",
        );
        assert_eq!(m.get("KVM").map(String::as_str), Some("y"));
        assert_eq!(m.get("KVM_AMD").map(String::as_str), Some("m"));
        assert_eq!(m.get("LOCALVERSION").map(String::as_str), Some("-generic"));
        assert!(!m.contains_key("KVM_INTEL"));
        assert!(!m.contains_key(""));
    }

    #[test]
    fn builtin_names() {
        let s =
            parse_modules_builtin("kernel/arch/x86/kvm/kvm.ko\nkernel/arch/x86/kvm/kvm-pvm.ko\n\n");
        assert!(s.contains("kvm") && s.contains("kvm_pvm"));
        let p = parse_proc_modules(
            "kvm_intel 372736 0 - Live 0x0\nkvm 1142784 1 kvm_intel, Live 0x0\n",
        );
        assert!(p.contains("kvm_intel") && p.contains("kvm"));
    }

    #[test]
    fn gzip_bomb_is_bounded() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b'A'; 2 * 1024 * 1024]).unwrap();
        let gz = enc.finish().unwrap();
        assert!(
            gunzip_bounded(&gz, 1024 * 1024)
                .unwrap_err()
                .contains("more than")
        );
        assert!(gunzip_bounded(b"not gzip at all", 1024).is_err());
    }

    fn gzip(data: &[u8], name: Option<&str>) -> Vec<u8> {
        use std::io::Write;
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n).comment("a comment").extra(vec![1, 2, 3]);
        }
        let mut enc = b.write(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_headers_trailers_and_truncation() {
        let text = b"CONFIG_KVM=y\n# CONFIG_X is not set\n".repeat(3000);
        for name in [None, Some("config")] {
            let gz = gzip(&text, name);
            assert_eq!(gunzip_bounded(&gz, 1 << 20).unwrap(), text);
            // Cut anywhere: an error, never a partial success.
            for cut in [gz.len() - 1, gz.len() - 5, gz.len() / 2, 12] {
                assert!(gunzip_bounded(&gz[..cut], 1 << 20).is_err(), "cut at {cut}");
            }
            // A trailer whose length disagrees.
            let mut bad = gz.clone();
            let n = bad.len();
            bad[n - 1] ^= 0xff;
            assert!(
                gunzip_bounded(&bad, 1 << 20)
                    .unwrap_err()
                    .contains("length")
            );
        }
    }

    #[test]
    fn scan_of_a_real_sized_config_keeps_only_the_wanted() {
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!("CONFIG_OPT_{i}=y\n# CONFIG_OFF_{i} is not set\n"));
        }
        text.push_str("CONFIG_KVM=m\nCONFIG_LAST=\"quoted\"");
        let wanted: crate::probe::Names =
            ["KVM", "LAST", "OPT_4999", "ABSENT"].map(Into::into).into();
        let mut scan = ConfigScan::new(Some(&wanted));
        gunzip_chunks(&gzip(text.as_bytes(), None), MAX_CONFIG, |c| scan.feed(c)).unwrap();
        let (got, lines) = scan.finish();
        assert!(lines);
        assert_eq!(got.len(), 3);
        assert_eq!(got["KVM"], "m");
        assert_eq!(got["LAST"], "quoted");
        assert_eq!(got["OPT_4999"], "y");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        #[test]
        fn config_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_config(&String::from_utf8_lossy(&bytes));
        }
        #[test]
        fn config_in_chunks_equals_config_whole(
            opts in proptest::collection::btree_map("[A-Z][A-Z0-9_]{0,20}", "(y|m|[a-z0-9 \"]{1,8})", 0..20),
            cuts in proptest::collection::vec(0usize..400, 0..6),
        ) {
            let text: String = opts.iter().map(|(k, v)| format!("# c\nCONFIG_{k}={v}\r\n")).collect();
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort();
            let mut scan = ConfigScan::new(None);
            let mut at = 0;
            for c in cuts {
                scan.feed(&bytes[at..c]);
                at = c;
            }
            scan.feed(&bytes[at..]);
            prop_assert_eq!(scan.finish().0, parse_config(&text));
        }
        #[test]
        fn gunzip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut gz = vec![0x1f, 0x8b, 8];
            gz.extend(bytes);
            let _ = gunzip_bounded(&gz, 1 << 16);
        }
        #[test]
        fn config_round_trip(opts in proptest::collection::btree_map("[A-Z][A-Z0-9_]{0,20}", "(y|m|[a-z0-9]{1,8})", 0..20)) {
            let text: String = opts.iter().map(|(k, v)| format!("CONFIG_{k}={v}\n")).collect();
            prop_assert_eq!(parse_config(&text), opts);
        }
        #[test]
        fn modules_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let t = String::from_utf8_lossy(&bytes);
            let _ = parse_proc_modules(&t);
            let _ = parse_modules_builtin(&t);
        }
    }
}
