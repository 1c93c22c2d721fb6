//! The kernel's build configuration.
//!
//! Reads the first readable of `/proc/config.gz`, `/boot/config-R`, `/lib/modules/R/build/.config`,
//! `/usr/lib/modules/R/config` and the other places distributions put it (node-feature-discovery's
//! list; `R` is the release), and keeps only the options the table reads. A gzip file is inflated
//! to at most [`MAX_CONFIG`] bytes, so a decompression bomb becomes an error, not an outage.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use crate::host::HostFs;
use crate::sources::{Gap, Notes, Reading};

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

/// The options in `wanted` from the first config found, and where it was.
pub fn read(
    fs: &HostFs,
    release: Option<&str>,
    wanted: &BTreeSet<String>,
    notes: &mut Notes,
) -> Reading<BTreeMap<String, String>> {
    let mut tried = Vec::new();
    for pattern in CONFIG_PATHS {
        let path = match (pattern.contains("{R}"), release) {
            (true, Some(r)) => pattern.replace("{R}", r),
            (true, None) => continue,
            (false, _) => pattern.to_string(),
        };
        let text = match fs.read(&path) {
            Ok(bytes) => match config_text(&path, bytes) {
                Ok(t) => t,
                Err(why) => {
                    tried.push(why);
                    continue;
                }
            },
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                tried.push(e.to_string());
                continue;
            }
        };
        if !text.lines().any(|l| l.starts_with("CONFIG_")) {
            tried.push(format!("{path}: no CONFIG_ lines"));
            continue;
        }
        let options = parse_config_keeping(&text, |name| wanted.contains(name));
        for t in tried {
            notes.error(Gap::KernelConfig, t);
        }
        return Reading::known(options, path);
    }
    let why = if tried.is_empty() {
        "no kernel config found (/proc/config.gz, /boot/config-R, /lib/modules/R/build/.config, /usr/lib/modules/R/config…)".to_string()
    } else {
        tried.join("; ")
    };
    notes.unknown(Gap::KernelConfig, why, "/proc/config.gz")
}

/// A config file's text: inflated when it is gzip (bounded), as it is otherwise.
fn config_text(path: &str, bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return gunzip(&bytes, MAX_CONFIG)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .map_err(|e| format!("{path}: {e}"));
    }
    if path.ends_with(".gz") {
        return Err(format!("{path}: not a gzip file"));
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Inflate a gzip file to at most `limit` bytes.
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not a valid gzip file ({e})"))?;
    if out.len() as u64 > limit {
        return Err(format!("inflates to more than {limit} bytes, not read"));
    }
    Ok(out)
}

/// Parse kernel config text into `NAME` (without `CONFIG_`) → `y`, `m` or the value (quotes
/// removed). Options that are `not set` are absent, as in the kernel's own format.
pub fn parse_config(text: &str) -> BTreeMap<String, String> {
    parse_config_keeping(text, |_| true)
}

/// [`parse_config`], keeping only the options `keep` names.
pub fn parse_config_keeping(text: &str, keep: impl Fn(&str) -> bool) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("CONFIG_")?.split_once('='))
        .filter(|(name, _)| !name.is_empty() && keep(name))
        .map(|(name, value)| (name.to_string(), value.trim().trim_matches('"').to_string()))
        .collect()
}
