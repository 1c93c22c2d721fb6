//! The live KVM check: open `/dev/kvm` and ask the kernel.
//!
//! Flags alone never decide whether KVM works: a CPU can show `vmx` while the firmware or another
//! hypervisor holds VT-x, and a KVM backend such as PVM (`kvm_pvm`) gives a working `/dev/kvm`
//! with no `vmx`/`svm` at all. So, as the invoking user: `open("/dev/kvm", O_RDWR)`, then
//! `KVM_GET_API_VERSION` (must be 12), `KVM_CREATE_VM` and `KVM_CREATE_VCPU`. Each descriptor is
//! closed at once; nothing is left running. `EBUSY` from `KVM_CREATE_VM` means another hypervisor
//! (VirtualBox, VMware) holds the virtualization extensions.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use super::live::KvmOutcome;
use crate::host::HostFs;

const KVMIO: libc::c_ulong = 0xAE;
const KVM_GET_API_VERSION: libc::c_ulong = KVMIO << 8;
const KVM_CREATE_VM: libc::c_ulong = (KVMIO << 8) | 0x01;
const KVM_CREATE_VCPU: libc::c_ulong = (KVMIO << 8) | 0x41;

fn errno_name(e: &std::io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::EACCES) => "EACCES",
        Some(libc::EPERM) => "EPERM",
        Some(libc::EBUSY) => "EBUSY",
        Some(libc::ENODEV) => "ENODEV",
        Some(libc::ENXIO) => "ENXIO",
        Some(libc::ENOENT) => "ENOENT",
        Some(libc::EINVAL) => "EINVAL",
        Some(libc::ENOMEM) => "ENOMEM",
        Some(libc::EOPNOTSUPP) => "EOPNOTSUPP",
        _ => "",
    };
    if name.is_empty() {
        e.to_string()
    } else {
        format!("{name} ({e})")
    }
}

fn ioctl(fd: libc::c_int, req: libc::c_ulong, arg: libc::c_ulong) -> std::io::Result<libc::c_int> {
    // SAFETY: the KVM ioctls used here take an integer argument, not a pointer.
    let r = unsafe { libc::ioctl(fd, req as _, arg) };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Probe `/dev/kvm` of the running host.
pub fn probe_dev_kvm(fs: &HostFs) -> KvmOutcome {
    match fs.resolve("/dev/kvm") {
        Ok(path) => probe_path(&path),
        Err(_) => KvmOutcome::default(),
    }
}

/// Probe a KVM device node.
pub fn probe_path(path: &std::path::Path) -> KvmOutcome {
    let mut out = KvmOutcome::default();
    if std::fs::metadata(path).is_err() {
        return out;
    }
    out.exists = true;
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            out.open = Some(false);
            out.error = Some(format!("open /dev/kvm: {}", errno_name(&e)));
            return out;
        }
    };
    out.open = Some(true);
    let fd = file.as_raw_fd();
    match ioctl(fd, KVM_GET_API_VERSION, 0) {
        Ok(v) => out.api_version = Some(v as i64),
        Err(e) => {
            out.error = Some(format!("KVM_GET_API_VERSION: {}", errno_name(&e)));
            return out;
        }
    }
    match ioctl(fd, KVM_CREATE_VM, 0) {
        Ok(vm) => {
            // SAFETY: the kernel just returned this new descriptor; we own it.
            let vm = unsafe { OwnedFd::from_raw_fd(vm) };
            out.create_vm = Some(true);
            match ioctl(vm.as_raw_fd(), KVM_CREATE_VCPU, 0) {
                Ok(vcpu) => {
                    // SAFETY: as above.
                    drop(unsafe { OwnedFd::from_raw_fd(vcpu) });
                    out.create_vcpu = Some(true);
                }
                Err(e) => {
                    out.create_vcpu = Some(false);
                    out.error = Some(format!("KVM_CREATE_VCPU: {}", errno_name(&e)));
                }
            }
        }
        Err(e) => {
            out.create_vm = Some(false);
            out.error = Some(format!("KVM_CREATE_VM: {}", errno_name(&e)));
        }
    }
    out
}
