//! The device tree (arm, POWER, RISC-V): hypervisor nodes, POWER partitions, QEMU's markers.
//!
//! Reads, only when `/proc/device-tree` exists, `hypervisor/compatible`, `ibm,partition-name`,
//! `hmc-managed?`, `chosen/qemu,graphic-width`, `compatible`, `model`, and lists the folder for a
//! `fw-cfg` node.

use crate::host::HostFs;

/// What the device tree shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceTree {
    /// `hypervisor/compatible`, as read.
    pub hypervisor: Option<String>,
    /// `ibm,partition-name` exists (a POWER partition).
    pub partition: bool,
    /// `hmc-managed?` exists.
    pub hmc: bool,
    /// `chosen/qemu,graphic-width` exists (QEMU).
    pub qemu_graphics: bool,
    /// `compatible`, NULs as spaces.
    pub compatible: Option<String>,
    /// `model`, NULs as spaces.
    pub model: Option<String>,
    /// A `fw-cfg` node (QEMU).
    pub fw_cfg: bool,
}

/// Read the device tree (most x86 hosts have none: nothing is read then).
pub fn read(fs: &HostFs) -> DeviceTree {
    const DT: &str = "/proc/device-tree";
    if !fs.present(DT) {
        return DeviceTree::default();
    }
    let text = |p: &str| {
        fs.read_trimmed(&format!("{DT}/{p}"))
            .ok()
            .map(|s| s.replace('\0', " "))
    };
    let exists = |p: &str| fs.present(&format!("{DT}/{p}"));
    DeviceTree {
        hypervisor: fs.read_trimmed(&format!("{DT}/hypervisor/compatible")).ok(),
        partition: exists("ibm,partition-name"),
        hmc: exists("hmc-managed?"),
        qemu_graphics: exists("chosen/qemu,graphic-width"),
        compatible: text("compatible"),
        model: text("model"),
        fw_cfg: fs
            .read_dir(DT)
            .is_ok_and(|names| names.iter().any(|n| n.starts_with("fw-cfg"))),
    }
}
