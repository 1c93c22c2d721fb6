//! Kernel uevents: a netlink socket on the kernel's own group (`NETLINK_KOBJECT_UEVENT`, group
//! 1), and which of its messages tell of something the probe reads. Reads no host files.

use std::io;
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SocketFlags, SocketType, netlink};

/// A socket on the kernel's uevent group, non-blocking.
pub fn socket() -> io::Result<OwnedFd> {
    let sock = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        Some(netlink::KOBJECT_UEVENT),
    )?;
    rustix::net::bind(&sock, &netlink::SocketAddrNetlink::new(0, 1))?;
    Ok(sock)
}

/// What a kernel uevent says, when it is about something the probe reads: a module loaded or
/// removed, a misc device (`kvm`, `tun`, `vhost-net`) or a VFIO group added or removed.
pub fn matters(msg: &[u8]) -> Option<String> {
    let mut fields = msg.split(|b| *b == 0).map(String::from_utf8_lossy);
    let head = fields.next()?;
    let (action, devpath) = head.split_once('@')?;
    let mut subsystem = String::new();
    for f in fields {
        if let Some(s) = f.strip_prefix("SUBSYSTEM=") {
            subsystem = s.to_string();
        }
    }
    let name = devpath.rsplit('/').next().unwrap_or_default();
    match (subsystem.as_str(), action) {
        ("module", "add" | "remove") => Some(format!("module {name}: {action}")),
        ("misc" | "vfio", "add" | "remove") => Some(format!("device {name}: {action}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uevents_that_matter() {
        let msg = b"add@/module/kvm_intel\0ACTION=add\0DEVPATH=/module/kvm_intel\0SUBSYSTEM=module\0SEQNUM=1\0";
        assert_eq!(matters(msg).as_deref(), Some("module kvm_intel: add"));
        let msg = b"add@/devices/virtual/misc/kvm\0ACTION=add\0SUBSYSTEM=misc\0";
        assert_eq!(matters(msg).as_deref(), Some("device kvm: add"));
        let msg = b"change@/devices/system/cpu/cpu0\0ACTION=change\0SUBSYSTEM=cpu\0";
        assert_eq!(matters(msg), None);
        assert_eq!(matters(b""), None);
        assert_eq!(matters(b"\xff\xfe@\0"), None);
    }
}
