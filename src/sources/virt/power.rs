//! IBM POWER: logical partitions (PowerVM), and POWER guests emulated by QEMU.
//!
//! Reads `/proc/ppc64/lparcfg` (or `/proc/powerpc/lparcfg`); uses the device tree and the
//! machine line of `/proc/cpuinfo`.

use super::devicetree::DeviceTree;
use crate::host::HostFs;
use crate::sources::cpu::CpuInfo;

/// What shows a POWER partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Power {
    /// `shared`, `dedicated` or `yes` in a PowerVM LPAR.
    pub lpar: Option<&'static str>,
    /// What showed it.
    pub source: &'static str,
    /// QEMU emulates this POWER machine.
    pub qemu: bool,
}

/// Read the POWER partition sources.
pub fn read(fs: &HostFs, cpu: &CpuInfo, dt: &DeviceTree) -> Power {
    let lparcfg = ["/proc/ppc64/lparcfg", "/proc/powerpc/lparcfg"]
        .into_iter()
        .find_map(|p| fs.read_string(p).ok().map(|t| (t, p)));
    let qemu = cpu
        .machine
        .as_deref()
        .is_some_and(|m| m.contains("emulated by qemu"))
        || dt
            .compatible
            .as_deref()
            .is_some_and(|c| c.contains("qemu,pseries"))
        || dt.qemu_graphics;
    match lparcfg {
        Some((text, path)) => Power {
            lpar: Some(parse_lparcfg(&text)),
            source: path,
            qemu,
        },
        None => Power {
            lpar: (dt.partition && dt.hmc && !qemu).then_some("yes"),
            source: "/proc/device-tree/ibm,partition-name",
            qemu,
        },
    }
}

/// POWER `lparcfg`: `shared` or `dedicated` processors (`shared_processor_mode`), or `yes` when
/// the file does not say.
pub fn parse_lparcfg(text: &str) -> &'static str {
    match text
        .lines()
        .find_map(|l| l.trim().strip_prefix("shared_processor_mode="))
        .map(str::trim)
    {
        Some("1") => "shared",
        Some(_) => "dedicated",
        None => "yes",
    }
}
