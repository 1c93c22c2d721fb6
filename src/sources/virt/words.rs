//! The words for hypervisors and containers: one enum, with systemd-detect-virt's word for each
//! as a table (systemd's `virtualization_table` in `src/basic/virt.c`), plus the layers systemd
//! does not name (`lpar`, `powervm`, `linux-vserver`, `ldoms`). Every detection module names what
//! it found with a [`Virt`]; the technology table's `detect.words` are checked against
//! `Virt::from_word`. A new word is one line in the list below (`words!` gives the rest). Reads no files.

words! {
    /// A hypervisor or container, as systemd-detect-virt (and virtprobe's additions) name it.
    pub enum Virt {
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
}
