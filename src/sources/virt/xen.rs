//! Xen: whether this Linux is Xen's control domain (dom0) or a guest (domU).
//!
//! Reads `/proc/xen` and `/proc/xen/capabilities` (`control_d` = dom0),
//! `/sys/hypervisor/properties/features` (bit 11 = dom0) and `/sys/hypervisor/type`.

use crate::host::HostFs;

/// This Linux's Xen role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XenRole {
    /// The control domain.
    Dom0,
    /// A guest.
    DomU,
}

/// What the Xen interfaces show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Xen {
    /// The role, when this Linux runs on Xen.
    pub role: Option<XenRole>,
    /// What showed the role.
    pub role_source: &'static str,
    /// `/sys/hypervisor/type`.
    pub hypervisor_type: Option<String>,
}

/// Read the Xen interfaces.
pub fn read(fs: &HostFs) -> Xen {
    let proc_xen = fs.present("/proc/xen");
    // (No /proc/xen, no file in it to open.)
    let caps = proc_xen
        .then(|| fs.read_string("/proc/xen/capabilities").ok())
        .flatten();
    let by_features = fs
        .read_trimmed("/sys/hypervisor/properties/features")
        .ok()
        .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        .map(|bits| bits & (1 << 11) != 0);
    let by_caps = caps.as_deref().map(|c| c.contains("control_d"));
    let role = (proc_xen || by_features.is_some()).then(|| {
        if by_features.unwrap_or(false) || by_caps.unwrap_or(false) {
            XenRole::Dom0
        } else {
            XenRole::DomU
        }
    });
    let role_source = match (role, by_features) {
        (None, _) => "/proc/xen absent",
        (Some(_), Some(_)) => "/sys/hypervisor/properties/features",
        (Some(_), None) => "/proc/xen/capabilities",
    };
    Xen {
        role,
        role_source,
        hypervisor_type: fs.read_trimmed("/sys/hypervisor/type").ok(),
    }
}
