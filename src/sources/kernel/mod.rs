//! The kernel: its release and version ([`release`]), its build configuration ([`config`]), its
//! modules and their parameters, and its command line ([`modules`]). Which files each reads is in
//! its module's documentation.

pub mod config;
pub mod modules;
pub mod release;

use std::collections::{BTreeMap, BTreeSet};

use super::{Needs, Notes, Reading};
use crate::host::HostFs;
use crate::host::live::Uname;
use crate::version::KVersion;

/// What the kernel sources found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kernel {
    /// `uname -r`.
    pub release: Reading<String>,
    /// The release's leading numbers.
    pub version: Reading<KVersion>,
    /// The config options the table reads (`None`: it reads none).
    pub config: Option<Reading<BTreeMap<String, String>>>,
    /// Loaded and built-in modules.
    pub modules: Reading<BTreeSet<String>>,
    /// Whether the kernel loads modules at all.
    pub module_support: Reading<bool>,
    /// The module parameters the table reads, `module.param` → value.
    pub params: BTreeMap<String, String>,
    /// `/proc/cmdline`.
    pub cmdline: Reading<String>,
}

/// Read the kernel sources, in the order their answers are needed.
pub fn read(fs: &HostFs, uname: Option<&Uname>, needs: &Needs, notes: &mut Notes) -> Kernel {
    let (release, version) = release::read(fs, uname.map(|u| u.release.clone()), notes);
    let config = (!needs.config_keys.is_empty()).then(|| {
        config::read(
            fs,
            release.get().map(String::as_str),
            &needs.config_keys,
            notes,
        )
    });
    let config_modules = config
        .as_ref()
        .and_then(|c| c.get())
        .map(|c| c.get("MODULES").is_some_and(|v| v == "y"));
    let found = modules::read(fs, release.get().map(String::as_str), config_modules, notes);
    let params = modules::params(fs, &found.modules, &needs.params);
    Kernel {
        release,
        version,
        config,
        modules: found.modules,
        module_support: found.support,
        params,
        cmdline: modules::cmdline(fs),
    }
}
