//! The words for hypervisors and containers: one enum, with systemd-detect-virt's word for each
//! as a table (systemd's `virtualization_table` in `src/basic/virt.c`), plus the layers systemd
//! does not name (`lpar`, `powervm`, `linux-vserver`, `ldoms`). Every detection module names what
//! it found with a [`Virt`]; the technology table's `detect.words` are checked against
//! [`Virt::from_word`]. A new word is one line in the list below. Reads no files.

/// Defines [`Virt`] and its word table from one list.
macro_rules! virt_words {
    ($($(#[$doc:meta])* $variant:ident = $word:literal,)*) => {
        /// A hypervisor or container, as systemd-detect-virt (and virtprobe's additions) name it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Virt {
            $($(#[$doc])* $variant,)*
        }

        /// Every word, in systemd's order and then virtprobe's.
        pub const WORDS: &[(Virt, &str)] = &[$((Virt::$variant, $word),)*];
    };
}

virt_words! {
    /// Nothing found (or found to be bare metal).
    None = "none",
    /// KVM (and platforms on it that systemd names kvm: OpenStack, KubeVirt…).
    Kvm = "kvm",
    /// Amazon EC2's Nitro (KVM-based).
    Amazon = "amazon",
    /// QEMU without KVM.
    Qemu = "qemu",
    /// Bochs.
    Bochs = "bochs",
    /// Xen.
    Xen = "xen",
    /// VMware.
    Vmware = "vmware",
    /// VirtualBox.
    Oracle = "oracle",
    /// Hyper-V.
    Microsoft = "microsoft",
    /// IBM z/VM.
    Zvm = "zvm",
    /// Parallels.
    Parallels = "parallels",
    /// bhyve.
    Bhyve = "bhyve",
    /// QNX hypervisor.
    Qnx = "qnx",
    /// ACRN.
    Acrn = "acrn",
    /// Intel's SRE.
    Sre = "sre",
    /// Apple's Virtualization framework.
    Apple = "apple",
    /// Google Compute Engine (KVM-based).
    Google = "google",
    /// A hypervisor no signature names.
    VmOther = "vm-other",
    /// systemd-nspawn.
    SystemdNspawn = "systemd-nspawn",
    /// LXC through libvirt.
    LxcLibvirt = "lxc-libvirt",
    /// LXC.
    Lxc = "lxc",
    /// OpenVZ.
    Openvz = "openvz",
    /// Docker.
    Docker = "docker",
    /// Podman.
    Podman = "podman",
    /// rkt.
    Rkt = "rkt",
    /// Windows Subsystem for Linux.
    Wsl = "wsl",
    /// proot.
    Proot = "proot",
    /// Pouch.
    Pouch = "pouch",
    /// A container no marker names.
    ContainerOther = "container-other",
    /// User-mode Linux.
    Uml = "uml",
    /// An IBM Z logical partition (PR/SM): beyond systemd.
    Lpar = "lpar",
    /// A POWER logical partition (PowerVM): beyond systemd.
    Powervm = "powervm",
    /// A Linux-VServer guest: beyond systemd.
    LinuxVserver = "linux-vserver",
    /// SPARC Logical Domains: beyond systemd.
    Ldoms = "ldoms",
}

impl Virt {
    /// systemd-detect-virt's word.
    pub fn as_str(self) -> &'static str {
        WORDS
            .iter()
            .find(|(v, _)| *v == self)
            .map_or("none", |(_, w)| w)
    }

    /// The variant for a word.
    pub fn from_word(word: &str) -> Option<Virt> {
        WORDS.iter().find(|(_, w)| *w == word).map(|(v, _)| *v)
    }
}

impl std::fmt::Display for Virt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Virt {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Virt {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = <&str>::deserialize(d)?;
        Virt::from_word(word)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown word {word:?}")))
    }
}

impl schemars::JsonSchema for Virt {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Virt".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let words: Vec<&str> = WORDS.iter().map(|(_, w)| *w).collect();
        schemars::json_schema!({
            "type": "string",
            "description": "systemd-detect-virt's word (or lpar, powervm, linux-vserver, ldoms)",
            "enum": words,
        })
    }
}
