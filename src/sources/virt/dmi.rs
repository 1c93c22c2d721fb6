//! DMI (SMBIOS) strings: who made the (virtual) machine.
//!
//! Reads `/sys/class/dmi/id/{product_name,sys_vendor,board_vendor,bios_vendor,product_version}`
//! (and `bios_version`, `chassis_asset_tag` for the cloud) and matches systemd's vendor table (with the KVM-based platforms virt-what and Ohai know),
//! virt-what's Hyper-V rule and the AWS bare-metal exception.

use super::{Found, Virt};
use crate::host::HostFs;

/// The fields systemd matches its vendor table against, in its order.
const VENDOR_FIELDS: &[&str] = &[
    "product_name",
    "sys_vendor",
    "board_vendor",
    "bios_vendor",
    "product_version",
];
/// Read for the cloud (`cloud.rs`), not matched against the vendor table.
const CLOUD_FIELDS: &[&str] = &["bios_version", "chassis_asset_tag"];

/// systemd's DMI vendor table (prefix match), in its order.
const DMI_VENDORS: &[(&str, Virt)] = &[
    ("KVM", Virt::Kvm),
    ("OpenStack", Virt::Kvm),
    ("KubeVirt", Virt::Kvm),
    ("Amazon EC2", Virt::Amazon),
    ("QEMU", Virt::Qemu),
    ("VMware", Virt::Vmware),
    ("VMW", Virt::Vmware),
    ("innotek GmbH", Virt::Oracle),
    ("VirtualBox", Virt::Oracle),
    ("Oracle Corporation", Virt::Oracle),
    ("Xen", Virt::Xen),
    ("Bochs", Virt::Bochs),
    ("Parallels", Virt::Parallels),
    ("BHYVE", Virt::Bhyve),
    ("Hyper-V", Virt::Microsoft),
    ("Apple Virtualization", Virt::Apple),
    ("Google Compute Engine", Virt::Google),
    // KVM-based platforms that virt-what and Ohai name, and systemd's table does not.
    ("oVirt", Virt::Kvm),
    ("RHEV Hypervisor", Virt::Kvm),
    ("Red Hat Enterprise Virtualization", Virt::Kvm),
    ("Alibaba Cloud", Virt::Kvm),
    ("Nutanix", Virt::Kvm),
    ("UpCloud", Virt::Kvm),
];

/// What DMI says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dmi {
    /// The fields read, `(field, value)`.
    pub values: Vec<(&'static str, String)>,
    /// The hypervisor they name, if any (`none` for an AWS bare-metal instance).
    pub hit: Option<Found>,
}

impl Dmi {
    /// A field's value, when read.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| v.as_str())
    }
}

/// Read the DMI fields (none when the folder is absent).
pub fn read(fs: &HostFs) -> Dmi {
    let mut dmi = Dmi::default();
    if !fs.present("/sys/class/dmi/id") {
        return dmi;
    }
    for field in VENDOR_FIELDS.iter().chain(CLOUD_FIELDS) {
        let path = format!("/sys/class/dmi/id/{field}");
        let Ok(v) = fs.read_trimmed(&path) else {
            continue;
        };
        if dmi.hit.is_none()
            && VENDOR_FIELDS.contains(field)
            && let Some((_, word)) = DMI_VENDORS.iter().find(|(p, _)| v.starts_with(p))
        {
            dmi.hit = Some(Found::new(*word, format!("{path} = {v:?}")));
        }
        dmi.values.push((field, v));
    }
    // virt-what's Hyper-V rule: Microsoft's DMI names the machine "Virtual Machine" (systemd
    // matches "Hyper-V" in product_version, which older Hyper-V generations lack).
    if dmi.hit.is_none()
        && dmi.get("sys_vendor") == Some("Microsoft Corporation")
        && dmi.get("product_name") == Some("Virtual Machine")
    {
        dmi.hit = Some(Found::new(
            Virt::Microsoft,
            "/sys/class/dmi/id: Microsoft Corporation \"Virtual Machine\"",
        ));
    }
    let metal = dmi
        .get("product_name")
        .is_some_and(|p| p.contains(".metal"));
    if let Some(h) = &mut dmi.hit
        && h.word == Virt::Amazon
        && metal
    {
        h.word = Virt::None;
        h.evidence
            .push("product_name names an AWS .metal instance: bare metal".into());
    }
    dmi
}
