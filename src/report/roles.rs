//! One table from the words the detection uses (systemd-detect-virt's, plus `lpar`, `powervm`,
//! `linux-vserver`, `ldoms`) to the technologies of the table, used for both the layers the report
//! shows and the roles it gives the technologies: a Linux found running under Xen through its PCI
//! devices is a `xen` guest, whichever evidence found it.

use super::{Layer, LayerKind, Role, TechReport};

/// Each word, and the technology it stands for (`None`: none of the table's).
pub const WORDS: &[(&str, Option<&str>)] = &[
    ("kvm", Some("kvm")),
    ("amazon", Some("kvm")),
    ("google", Some("kvm")),
    ("qemu", Some("qemu")),
    ("xen", Some("xen")),
    ("vmware", Some("vmware-esx")),
    ("oracle", Some("virtualbox")),
    ("microsoft", Some("hyperv")),
    ("wsl", Some("hyperv")),
    ("zvm", Some("zvm")),
    ("lpar", Some("lpar")),
    ("powervm", Some("phyp")),
    ("acrn", Some("acrn")),
    ("uml", Some("uml")),
    ("openvz", Some("openvz")),
    ("linux-vserver", Some("linux-vserver")),
    ("docker", Some("docker")),
    ("podman", Some("podman")),
    ("lxc", Some("lxc")),
    ("lxc-libvirt", Some("lxc")),
    ("systemd-nspawn", Some("systemd-nspawn")),
    ("bochs", None),
    ("parallels", None),
    ("bhyve", None),
    ("apple", None),
    ("qnx", None),
    ("sre", None),
    ("ldoms", None),
    ("vm-other", None),
    ("rkt", None),
    ("proot", None),
    ("pouch", None),
    ("container-other", None),
];

/// The technology a word stands for.
pub fn technology(word: &str) -> Option<&'static str> {
    WORDS.iter().find(|(w, _)| *w == word).and_then(|(_, t)| *t)
}

/// Give each technology the role its layer shows (a layer this Linux controls makes it the host;
/// one it runs in, a guest), where the table's own detection did not already.
pub fn apply(technologies: &mut [TechReport], layers: &[Layer]) {
    for layer in layers {
        let Some(id) = layer.technology.as_deref() else {
            continue;
        };
        let role = match layer.kind {
            LayerKind::Host => Role::Host,
            LayerKind::Hypervisor | LayerKind::Container => Role::Guest,
        };
        if let Some(t) = technologies.iter_mut().find(|t| t.id == id) {
            t.detected.get_or_insert(role);
        }
    }
}
