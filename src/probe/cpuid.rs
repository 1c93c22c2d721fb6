//! Raw CPUID (x86), read with raw-cpuid through the [`Live`] source.
//!
//! Reads no files. On a live x86 host the CPU answers, once per boot (the per-boot cache keeps
//! what it said); on a captured tree the answers recorded in `virtprobe-live.json`. Leaf 1 ECX
//! bit 5 is VMX, leaf 0x80000001 ECX bit 2 is SVM, leaf 1 ECX bit 31 says a hypervisor is present
//! and leaf 0x40000000 names it. Comparing these with the flags the kernel shows in
//! `/proc/cpuinfo` tells "the CPU lacks VT" from "the firmware disabled it".

use raw_cpuid::{CpuId, CpuIdResult};
use serde::{Deserialize, Serialize};

use super::live::Live;

/// What CPUID said on this boot, as the per-boot cache (`crate::cache`) keeps it. It cannot
/// change while the machine runs (a virtual machine keeps its CPU model across migrations), and
/// in a virtual machine each CPUID instruction is an exit to the hypervisor: the five asked cost
/// 60 µs of a 2 ms run. What is kept is what the probe derives, the same on every CPU of the
/// machine (the raw registers are not: leaf 1 carries the APIC id of the CPU that answered).
pub(crate) type CpuidCache = Option<CpuidFacts>;

/// This boot's CPUID facts, from the cache file or from the first read.
pub(crate) static CPUID_CACHE: std::sync::Mutex<CpuidCache> = std::sync::Mutex::new(None);

/// What CPUID says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuidFacts {
    /// Vendor string (`GenuineIntel`, `AuthenticAMD`…).
    pub vendor: String,
    /// Leaf 1 ECX bit 5.
    pub vmx: bool,
    /// Leaf 0x80000001 ECX bit 2 (AMD and Hygon only).
    pub svm: bool,
    /// Leaf 1 ECX bit 31.
    pub hypervisor: bool,
    /// Leaf 0x40000000 signature, when the hypervisor bit is set.
    pub signature: Option<String>,
}

/// The leaves read, so a capture can record exactly those.
pub const LEAVES: &[(u32, u32)] = &[
    (0, 0),
    (1, 0),
    (7, 0),
    (0x8000_0000, 0),
    (0x8000_0001, 0),
    (0x8000_001F, 0),
    (0x4000_0000, 0),
];

/// Read CPUID through `live`; `None` when it has none (not x86, or a tree without a capture).
/// On the running host, what an earlier read of this boot found, when the cache has it.
pub fn read(live: &dyn Live) -> Option<CpuidFacts> {
    if !live.is_native() {
        return ask(live);
    }
    if let Some(c) = CPUID_CACHE.lock().ok().and_then(|c| c.clone()) {
        return Some(c);
    }
    let facts = ask(live)?;
    if let Ok(mut cache) = CPUID_CACHE.lock() {
        *cache = Some(facts.clone());
        crate::cache::mark_dirty();
    }
    Some(facts)
}

/// Ask the CPU (or the capture) through `live`.
fn ask(live: &dyn Live) -> Option<CpuidFacts> {
    // Each leaf is asked once: raw-cpuid reads leaf 0 again for the vendor, and in a virtual
    // machine every CPUID instruction is an exit to the hypervisor (8 µs on the machine where
    // virtprobe is benchmarked).
    let asked = std::cell::RefCell::new(vec![((0, 0), live.cpuid(0, 0)?)]);
    let reader = |leaf: u32, sub: u32| {
        let known = asked
            .borrow()
            .iter()
            .find(|(k, _)| *k == (leaf, sub))
            .map(|(_, r)| *r);
        let r = known.unwrap_or_else(|| {
            let r = live.cpuid(leaf, sub).unwrap_or([0; 4]);
            asked.borrow_mut().push(((leaf, sub), r));
            r
        });
        CpuIdResult {
            eax: r[0],
            ebx: r[1],
            ecx: r[2],
            edx: r[3],
        }
    };
    let cpuid = CpuId::with_cpuid_reader(reader);
    let vendor = cpuid
        .get_vendor_info()
        .map(|v| v.as_str().to_string())
        .unwrap_or_default();
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
        vendor,
        vmx,
        svm,
        hypervisor,
        signature,
    })
}

/// systemd-detect-virt's word for a CPUID hypervisor signature.
pub fn hypervisor_word(signature: &str) -> Option<&'static str> {
    Some(match signature.trim_end() {
        "XenVMMXenVMM" => "xen",
        "KVMKVMKVM" | "Linux KVM Hv" => "kvm",
        "TCGTCGTCGTCG" => "qemu",
        "VMwareVMware" => "vmware",
        "Microsoft Hv" => "microsoft",
        "bhyve bhyve" => "bhyve",
        "QNXQVMBSQG" => "qnx",
        "ACRNACRNACRN" => "acrn",
        "SRESRESRESRE" => "sre",
        "Apple VZ" => "apple",
        "LKVMLKVMLKVM" => "kvm",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::live::{LiveData, cpuid_key};
    use super::*;

    fn fake(leaves: &[((u32, u32), [u32; 4])]) -> LiveData {
        let mut d = LiveData::default();
        for (k, v) in leaves {
            d.cpuid.insert(cpuid_key(k.0, k.1), *v);
        }
        d
    }

    #[test]
    fn intel_vmx_and_kvm_signature() {
        // "GenuineIntel" = ebx "Genu", edx "ineI", ecx "ntel".
        let g = u32::from_le_bytes(*b"Genu");
        let i = u32::from_le_bytes(*b"ineI");
        let n = u32::from_le_bytes(*b"ntel");
        let k = u32::from_le_bytes(*b"KVMK");
        let v = u32::from_le_bytes(*b"VMKV");
        let m = u32::from_le_bytes(*b"M\0\0\0");
        let d = fake(&[
            ((0, 0), [0xd, g, n, i]),
            ((1, 0), [0x906ea, 0, (1 << 5) | (1 << 31), 0]),
            ((0x4000_0000, 0), [0x4000_0001, k, v, m]),
        ]);
        let c = read(&d).unwrap();
        assert!(c.vmx && !c.svm && c.hypervisor);
        assert_eq!(c.vendor, "GenuineIntel");
        assert_eq!(c.signature.as_deref(), Some("KVMKVMKVM"));
        assert_eq!(
            hypervisor_word(c.signature.as_deref().unwrap()),
            Some("kvm")
        );
    }

    #[test]
    fn no_cpuid_source() {
        assert_eq!(read(&LiveData::default()), None);
    }
}
