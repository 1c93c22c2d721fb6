//! Which privilege a refused read lacked, so a note names only what is actually missing.
//!
//! Reads this process's own `/proc/self/status` (its effective capabilities; only when judging
//! this machine) and PID 1's `/proc/1/status` through the host root.

use crate::host::HostFs;

/// Capability names by bit, as `capabilities(7)` lists them.
const CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];
const CAP_SYS_PTRACE: u32 = 19;

/// A hexadecimal capability field (`CapEff:`) of a `status` file.
fn caps(status: &str, field: &str) -> Option<u64> {
    let v = status.lines().find_map(|l| l.strip_prefix(field))?;
    u64::from_str_radix(v.trim(), 16).ok()
}

/// Why reading PID 1's environment was refused, in terms of what this process lacks.
pub fn environ_refused(fs: &HostFs) -> String {
    if !fs.has_live_sources() {
        return "the captured file is not readable by this user".into();
    }
    let ours = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| caps(&s, "CapEff:"));
    let pid1 = fs
        .read_string("/proc/1/status")
        .ok()
        .and_then(|s| caps(&s, "CapPrm:"));
    match (ours, pid1) {
        (Some(ours), _) if ours & (1 << CAP_SYS_PTRACE) == 0 => {
            "needs CAP_SYS_PTRACE or the same user as PID 1".into()
        }
        (Some(ours), Some(theirs)) if theirs & !ours != 0 => {
            let lacking: Vec<&str> = (0..64)
                .filter(|b| theirs & !ours & (1 << b) != 0)
                .map(|b| {
                    CAPS.get(b as usize)
                        .copied()
                        .unwrap_or("an unnamed capability")
                })
                .collect();
            format!(
                "PID 1 holds capabilities this process lacks ({}), so the kernel hides its environment",
                lacking.join(", ")
            )
        }
        _ => "the kernel refused it (a security module, or PID 1 in another user namespace)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_fields() {
        let s = "Name:\tx\nCapPrm:\t000001ffffffffff\nCapEff:\t000001fffeffffff\n";
        assert_eq!(caps(s, "CapEff:"), Some(0x1fffeffffff));
        assert_eq!(CAPS[24], "CAP_SYS_RESOURCE");
        assert_eq!(CAPS[CAP_SYS_PTRACE as usize], "CAP_SYS_PTRACE");
        assert_eq!(caps("", "CapEff:"), None);
    }
}
