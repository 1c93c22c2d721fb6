//! Kernel modules, their parameters, and the kernel command line.
//!
//! Reads `/proc/modules` (loaded modules; absent on kernels built without module support),
//! lists `/sys/module` (loaded modules and the built-in ones with parameters), reads
//! `/lib/modules/R/modules.builtin` (or under `/usr/lib`), `/sys/module/M/parameters/P` for the
//! parameters the table asks about, and `/proc/cmdline`.

use std::collections::{BTreeMap, BTreeSet};

use procfs::FromBufRead;

use crate::host::HostFs;
use crate::sources::{Gap, Notes, Reading};

/// The module set and whether the kernel loads modules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modules {
    /// Loaded and built-in modules.
    pub modules: Reading<BTreeSet<String>>,
    /// Module support.
    pub support: Reading<bool>,
}

/// Gather the module set; `config_modules` is `CONFIG_MODULES=y` when the config was read.
pub fn read(
    fs: &HostFs,
    release: Option<&str>,
    config_modules: Option<bool>,
    notes: &mut Notes,
) -> Modules {
    let mut all = BTreeSet::new();
    let mut sources = Vec::new();
    let proc_modules = match fs.read_string("/proc/modules") {
        Ok(t) => {
            all.extend(parse_proc_modules(&t));
            sources.push("/proc/modules");
            true
        }
        Err(e) => {
            if !e.is_not_found() {
                notes.error(Gap::KernelModules, e.to_string());
            }
            false
        }
    };
    match fs.read_dir("/sys/module") {
        Ok(names) => {
            all.extend(names);
            sources.push("/sys/module");
        }
        Err(e) if e.is_not_found() => {}
        Err(e) => notes.error(Gap::KernelModules, e.to_string()),
    }
    if let Some(r) = release {
        let builtin = [
            ("/lib/modules", "/lib/modules/R/modules.builtin"),
            ("/usr/lib/modules", "/usr/lib/modules/R/modules.builtin"),
        ]
        .into_iter()
        .find_map(|(dir, shown)| {
            let t = fs.read_string(&format!("{dir}/{r}/modules.builtin")).ok()?;
            Some((parse_modules_builtin(&t), shown))
        });
        if let Some((set, shown)) = builtin {
            all.extend(set);
            sources.push(shown);
        }
    }
    let modules = if sources.is_empty() {
        notes.unknown(
            Gap::KernelModules,
            "neither /proc/modules nor /sys/module could be read",
            "/proc/modules",
        )
    } else {
        Reading::known(all, sources.join(", "))
    };
    let support = match (proc_modules, config_modules) {
        (true, _) => Reading::known(true, "/proc/modules"),
        (false, Some(m)) => Reading::known(m, "kernel config CONFIG_MODULES"),
        (false, None) => Reading::known(false, "/proc/modules absent"),
    };
    Modules { modules, support }
}

/// The parameters in `wanted` (`module.param`), read for the modules that are there (or all,
/// when the module set is unknown).
pub fn params(
    fs: &HostFs,
    modules: &Reading<BTreeSet<String>>,
    wanted: &BTreeSet<String>,
) -> BTreeMap<String, String> {
    wanted
        .iter()
        .filter_map(|key| {
            let (m, p) = key.split_once('.')?;
            if modules.get().is_some_and(|set| !set.contains(m)) {
                return None;
            }
            let v = fs
                .read_trimmed(&format!("/sys/module/{m}/parameters/{p}"))
                .ok()?;
            Some((key.clone(), v))
        })
        .collect()
}

/// The kernel command line.
pub fn cmdline(fs: &HostFs) -> Reading<String> {
    match fs.read_trimmed("/proc/cmdline") {
        Ok(c) => Reading::known(c, "/proc/cmdline"),
        Err(e) => Reading::unknown(e.to_string(), "/proc/cmdline"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        #[test]
        fn modules_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let t = String::from_utf8_lossy(&bytes);
            let _ = parse_proc_modules(&t);
            let _ = parse_modules_builtin(&t);
        }
    }
}
