//! The live KVM check: open `/dev/kvm` and ask the kernel.
//!
//! Flags alone never decide whether KVM works: a CPU can show `vmx` while the firmware or another
//! hypervisor holds VT-x, and a KVM backend such as PVM (`kvm_pvm`) gives a working `/dev/kvm`
//! with no `vmx`/`svm` at all. So, as the invoking user: `open("/dev/kvm", O_RDWR)`, then
//! `KVM_GET_API_VERSION` (must be 12), `KVM_CREATE_VM` and `KVM_CREATE_VCPU`. Each descriptor is
//! closed at once; nothing is left running. `EBUSY` from `KVM_CREATE_VM` means another hypervisor
//! (VirtualBox, VMware) holds the virtualization extensions.
//!
//! On x86 the VM gets a split irqchip (`KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)`, local APICs in
//! the kernel, as QEMU's q35 machine and Firecracker-style VMMs run them) before its vCPU. A
//! vCPU without an in-kernel local APIC flips a kernel-wide static key on creation and again on
//! destruction (`kvm_has_noapic_vcpu`: code patching on every CPU) whenever no other such vCPU
//! exists, which made creating and destroying it cost three times as much. If the kernel refuses
//! the capability, the vCPU is created without it, as before.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::live::KvmOutcome;
use crate::host::HostFs;

const KVMIO: libc::c_ulong = 0xAE;
const KVM_GET_API_VERSION: libc::c_ulong = KVMIO << 8;
const KVM_CREATE_VM: libc::c_ulong = (KVMIO << 8) | 0x01;
const KVM_CREATE_VCPU: libc::c_ulong = (KVMIO << 8) | 0x41;
/// `_IOW(KVMIO, 0xa3, struct kvm_enable_cap)`: the struct is 104 bytes.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
const KVM_ENABLE_CAP: libc::c_ulong = (1 << 30) | (104 << 16) | (KVMIO << 8) | 0xa3;
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
const KVM_CAP_SPLIT_IRQCHIP: u32 = 121;

/// `struct kvm_enable_cap` of `<linux/kvm.h>`.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
#[repr(C)]
struct KvmEnableCap {
    cap: u32,
    flags: u32,
    args: [u64; 4],
    pad: [u8; 64],
}

/// Give a new VM a split irqchip (no I/O APIC or PIC in the kernel, no reserved routes), so its
/// vCPUs get in-kernel local APICs. Whether the kernel agrees does not matter to the check.
#[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
fn split_irqchip(vm: libc::c_int) {
    let cap = KvmEnableCap {
        cap: KVM_CAP_SPLIT_IRQCHIP,
        flags: 0,
        args: [0; 4],
        pad: [0; 64],
    };
    // SAFETY: KVM_ENABLE_CAP reads one `struct kvm_enable_cap`, which `cap` is, for the call.
    unsafe { libc::ioctl(vm, KVM_ENABLE_CAP as _, &cap as *const KvmEnableCap) };
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "x86")))]
fn split_irqchip(_vm: libc::c_int) {}

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
    // Opening answers whether the node exists too: no `stat` first.
    let file = match crate::host::open_raw(path, libc::O_RDWR) {
        Ok(f) => {
            out.exists = true;
            f
        }
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => return out,
        Err(e) => {
            out.exists = true;
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
            split_irqchip(vm.as_raw_fd());
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

#[cfg(test)]
mod tests {
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    #[test]
    fn enable_cap_request_matches_the_struct() {
        // _IOW encodes the argument's size; a wrong size would make the kernel refuse the call.
        assert_eq!(std::mem::size_of::<super::KvmEnableCap>(), 104);
        assert_eq!(super::KVM_ENABLE_CAP, 0x4068_aea3);
    }
}
