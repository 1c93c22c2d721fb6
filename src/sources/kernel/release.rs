//! The kernel release (`uname -r`) and its version numbers.
//!
//! On the running host `uname(2)` answers; a captured tree's release is its
//! `/proc/sys/kernel/osrelease` (or the `uname` its `virtprobe-live.json` recorded).

use crate::host::HostFs;
use crate::sources::{Gap, Notes, Reading};
use crate::version::KVersion;

const OSRELEASE: &str = "/proc/sys/kernel/osrelease";

/// The release and its version; `uname` is the live (or captured) `uname -r`.
pub fn read(
    fs: &HostFs,
    uname: Option<String>,
    notes: &mut Notes,
) -> (Reading<String>, Reading<KVersion>) {
    let release = match uname {
        Some(r) => Reading::known(r, "uname"),
        None => match fs.read_trimmed(OSRELEASE) {
            Ok(r) if !r.is_empty() => Reading::known(r, OSRELEASE),
            Ok(_) => notes.unknown(Gap::KernelRelease, format!("{OSRELEASE}: empty"), OSRELEASE),
            Err(e) => notes.unknown(Gap::KernelRelease, e.to_string(), OSRELEASE),
        },
    };
    let version = match release.get() {
        Some(r) => match r.parse::<KVersion>() {
            Ok(v) => Reading::known(v, release.source.clone()),
            Err(e) => notes.unknown(Gap::KernelVersion, e.to_string(), release.source.clone()),
        },
        None => Reading::unknown("kernel release unknown", ""),
    };
    (release, version)
}
