//! The kernel's build configuration.
//!
//! Reads the first readable of `/proc/config.gz`, `/boot/config-R`, `/lib/modules/R/build/.config`,
//! `/usr/lib/modules/R/config` and the other places distributions put it (node-feature-discovery's
//! list; `R` is the release), and keeps only the options the table reads. A gzip file is inflated
//! to at most [`MAX_CONFIG`] bytes, so a decompression bomb becomes an error, not an outage.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use crate::host::HostFs;
use crate::sources::{Notes, Reading};

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
            notes.error("kernel.config", t);
        }
        return Reading::known(options, path);
    }
    let why = if tried.is_empty() {
        "no kernel config found (/proc/config.gz, /boot/config-R, /lib/modules/R/build/.config, /usr/lib/modules/R/config…)".to_string()
    } else {
        tried.join("; ")
    };
    notes.unknown("kernel.config", why, "/proc/config.gz")
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

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn gzip_bombs_and_truncation_are_errors() {
        let big = gzip(&vec![b'A'; 2 * 1024 * 1024]);
        assert!(gunzip(&big, 1024 * 1024).unwrap_err().contains("more than"));
        assert!(gunzip(b"not gzip at all", 1024).is_err());
        let text = b"CONFIG_KVM=y\n# CONFIG_X is not set\n".repeat(3000);
        let gz = gzip(&text);
        assert_eq!(gunzip(&gz, 1 << 20).unwrap(), text);
        for cut in [gz.len() - 1, gz.len() / 2, 12] {
            assert!(gunzip(&gz[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        #[test]
        fn config_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_config(&String::from_utf8_lossy(&bytes));
        }
        #[test]
        fn gunzip_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut gz = vec![0x1f, 0x8b, 8];
            gz.extend(bytes);
            let _ = gunzip(&gz, 1 << 16);
        }
        #[test]
        fn config_round_trip(opts in proptest::collection::btree_map("[A-Z][A-Z0-9_]{0,20}", "(y|m|[a-z0-9]{1,8})", 0..20)) {
            let text: String = opts.iter().map(|(k, v)| format!("CONFIG_{k}={v}\n")).collect();
            prop_assert_eq!(parse_config(&text), opts);
        }
    }
}
