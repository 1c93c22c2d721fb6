//! The cloud this Linux runs in, and its instance type where the machine's DMI says it.
//!
//! Reads nothing itself: it judges the DMI strings [`super::dmi`] read, and `/sys/hypervisor/uuid`
//! (old Xen-based EC2 instances). The rules are cloud-init's `ds-identify` and data sources
//! (`DataSourceEc2`, `DataSourceGCE`, `azure/identity.py`, `DataSourceAliYun`, `DataSourceOracle`,
//! `DataSourceDigitalOcean`, `DataSourceHetzner`), checked against virt-what's and Ohai's; sources
//! and dates in docs/fix.md. Only AWS puts the instance type in DMI (`product_name`); elsewhere
//! it is null, since only the provider's metadata service knows it and virtprobe makes no network
//! request.

use serde::Serialize;

use super::dmi::Dmi;

words! {
    /// A cloud provider virtprobe recognises.
    pub enum Provider {
        /// Amazon Web Services (EC2).
        Aws = "aws",
        /// Google Cloud (Compute Engine).
        Gcp = "gcp",
        /// Microsoft Azure.
        Azure = "azure",
        /// Alibaba Cloud (ECS).
        Alibaba = "alibaba",
        /// Oracle Cloud Infrastructure.
        Oracle = "oracle",
        /// DigitalOcean (Droplets).
        DigitalOcean = "digitalocean",
        /// Hetzner Cloud.
        Hetzner = "hetzner",
    }
}

/// Azure's chassis asset tag (cloud-init `ChassisAssetTag.AZURE_CLOUD`).
const AZURE_ASSET_TAG: &str = "7783-7084-3265-9085-8269-3286-77";
/// Oracle's chassis asset tag, on virtual machines and bare metal alike (cloud-init).
const ORACLE_ASSET_TAG: &str = "OracleCloud.com";

/// Where this Linux runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Cloud {
    /// The provider.
    pub provider: Provider,
    /// The instance type, when the machine's DMI names it (AWS); null elsewhere.
    pub instance_type: Option<String>,
    /// What showed it: the file and its value.
    #[serde(skip)]
    #[schemars(skip)]
    pub evidence: String,
}

/// The cloud the DMI strings (and the Xen UUID) name, checked in this order: the asset tags
/// that only one provider writes, then vendor names, then the old Xen EC2 signs.
pub fn detect(dmi: &Dmi, xen_uuid: Option<&str>) -> Option<Cloud> {
    let get = |f: &str| dmi.get(f).unwrap_or("");
    let found = |provider, evidence: String| Cloud {
        provider,
        instance_type: None,
        evidence,
    };
    let tag = get("chassis_asset_tag");
    if tag == AZURE_ASSET_TAG {
        return Some(found(
            Provider::Azure,
            format!("/sys/class/dmi/id/chassis_asset_tag = {tag:?}"),
        ));
    }
    if tag == ORACLE_ASSET_TAG {
        return Some(found(
            Provider::Oracle,
            format!("/sys/class/dmi/id/chassis_asset_tag = {tag:?}"),
        ));
    }
    let (vendor, product, bios) = (get("sys_vendor"), get("product_name"), get("bios_vendor"));
    if vendor == "Amazon EC2" || bios == "Amazon EC2" {
        // Nitro: product_name is the instance type (c5.large, i3.metal).
        let kind = Some(product.to_string()).filter(|p| !p.is_empty() && p.contains('.'));
        return Some(Cloud {
            instance_type: kind,
            ..found(
                Provider::Aws,
                format!("/sys/class/dmi/id/sys_vendor = {vendor:?}"),
            )
        });
    }
    if product == "Google Compute Engine" || vendor == "Google" || bios == "Google" {
        return Some(found(
            Provider::Gcp,
            format!("/sys/class/dmi/id/product_name = {product:?}"),
        ));
    }
    if vendor.starts_with("Alibaba Cloud") || product == "Alibaba Cloud ECS" {
        return Some(found(
            Provider::Alibaba,
            format!("/sys/class/dmi/id/sys_vendor = {vendor:?}"),
        ));
    }
    if vendor == "DigitalOcean" {
        return Some(found(
            Provider::DigitalOcean,
            format!("/sys/class/dmi/id/sys_vendor = {vendor:?}"),
        ));
    }
    if vendor == "Hetzner" {
        return Some(found(
            Provider::Hetzner,
            format!("/sys/class/dmi/id/sys_vendor = {vendor:?}"),
        ));
    }
    // Xen-based EC2 (m4, c4, t2…): "4.11.amazon" BIOS, or a Xen UUID that begins with ec2.
    let bios_version = get("bios_version");
    if bios_version.contains(".amazon") {
        return Some(found(
            Provider::Aws,
            format!("/sys/class/dmi/id/bios_version = {bios_version:?}"),
        ));
    }
    if let Some(u) = xen_uuid.filter(|u| u.to_ascii_lowercase().starts_with("ec2")) {
        return Some(found(
            Provider::Aws,
            format!("/sys/hypervisor/uuid = {u:?}"),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dmi(values: &[(&'static str, &str)]) -> Dmi {
        Dmi {
            values: values.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            hit: None,
        }
    }

    #[test]
    fn aws_names_its_instance_type() {
        let c = detect(
            &dmi(&[("sys_vendor", "Amazon EC2"), ("product_name", "m5.metal")]),
            None,
        );
        let c = c.expect("aws");
        assert_eq!(
            (c.provider, c.instance_type.as_deref()),
            (Provider::Aws, Some("m5.metal"))
        );
    }

    #[test]
    fn old_xen_ec2_is_aws_without_a_type() {
        let c = detect(
            &dmi(&[("sys_vendor", "Xen"), ("product_name", "HVM domU")]),
            Some("ec2e1916-9099-7caf-fd21-012345abcdef"),
        );
        assert_eq!(
            c.map(|c| (c.provider, c.instance_type)),
            Some((Provider::Aws, None))
        );
    }

    #[test]
    fn a_plain_kvm_guest_is_no_cloud() {
        assert_eq!(
            detect(
                &dmi(&[
                    ("sys_vendor", "QEMU"),
                    ("product_name", "Standard PC (Q35 + ICH9, 2009)")
                ]),
                None
            ),
            None
        );
        assert_eq!(detect(&Dmi::default(), None), None);
    }
}
