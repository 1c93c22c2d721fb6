//! CPUID (x86), read with raw-cpuid through the [`Live`] answers.
//!
//! Reads no files. On the running host the CPU answers; on a captured tree the answers recorded
//! in `virtprobe-live.json`. Leaf 1 ECX bit 5 is VMX, leaf 0x80000001 ECX bit 2 is SVM, leaf 1 ECX
//! bit 31 says a hypervisor is present and leaf 0x40000000 names it. Comparing these with the
//! flags the kernel shows in `/proc/cpuinfo` tells "the CPU lacks VT" from "the firmware
//! disabled it".

use raw_cpuid::{CpuId, CpuIdResult};

use super::virt::Virt;
use crate::host::live::Live;

/// What CPUID says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuidFacts {
    /// Leaf 1 ECX bit 5.
    pub vmx: bool,
    /// Leaf 0x80000001 ECX bit 2 (AMD and Hygon only).
    pub svm: bool,
    /// Leaf 1 ECX bit 31.
    pub hypervisor: bool,
    /// Leaf 0x40000000 signature, when the hypervisor bit is set.
    pub signature: Option<String>,
}

/// The leaves read (0 and 0x80000000 give the highest standard and extended leaf, which
/// raw-cpuid checks), so a capture can record exactly those.
pub const LEAVES: &[(u32, u32)] = &[
    (0, 0),
    (1, 0),
    (0x8000_0000, 0),
    (0x8000_0001, 0),
    (0x4000_0000, 0),
];

/// Read CPUID through `live`; `None` when it has none (not x86, or a tree without a capture).
pub fn read(live: &dyn Live) -> Option<CpuidFacts> {
    live.cpuid(0, 0)?;
    let reader = |leaf: u32, sub: u32| {
        let r = live.cpuid(leaf, sub).unwrap_or([0; 4]);
        CpuIdResult {
            eax: r[0],
            ebx: r[1],
            ecx: r[2],
            edx: r[3],
        }
    };
    let cpuid = CpuId::with_cpuid_reader(reader);
    let feat = cpuid.get_feature_info();
    let vmx = feat.as_ref().is_some_and(|f| f.has_vmx());
    let hypervisor = feat.as_ref().is_some_and(|f| f.has_hypervisor());
    let svm = cpuid
        .get_extended_processor_and_feature_identifiers()
        .is_some_and(|e| e.has_svm());
    let signature = if hypervisor {
        live.cpuid(0x4000_0000, 0).map(|r| {
            let bytes: Vec<u8> = [r[1], r[2], r[3]]
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .filter(|&b| b != 0)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
    } else {
        None
    };
    Some(CpuidFacts {
        vmx,
        svm,
        hypervisor,
        signature,
    })
}

/// CPUID hypervisor signatures (leaf 0x40000000) and what they name, as systemd reads them.
pub const SIGNATURES: &[(&str, Virt)] = &[
    ("XenVMMXenVMM", Virt::Xen),
    ("KVMKVMKVM", Virt::Kvm),
    ("Linux KVM Hv", Virt::Kvm),
    ("TCGTCGTCGTCG", Virt::Qemu),
    ("VMwareVMware", Virt::Vmware),
    ("Microsoft Hv", Virt::Microsoft),
    ("bhyve bhyve", Virt::Bhyve),
    ("QNXQVMBSQG", Virt::Qnx),
    ("ACRNACRNACRN", Virt::Acrn),
    ("SRESRESRESRE", Virt::Sre),
    ("Apple VZ", Virt::Apple),
    ("LKVMLKVMLKVM", Virt::Kvm),
];

/// What a CPUID hypervisor signature names.
pub fn hypervisor_word(signature: &str) -> Option<Virt> {
    let sig = signature.trim_end();
    SIGNATURES.iter().find(|(s, _)| *s == sig).map(|(_, v)| *v)
}
