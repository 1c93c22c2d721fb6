//! The technology table's types, as validated.

use serde::Serialize;

use crate::facts::FactDef;
use crate::sources::virt::Virt;
use crate::version::KVersion;

words! {
    /// What a failed requirement means for the verdict (ordered: the worst last).
    pub enum Class {
        /// Only installs, module loads or permissions remain.
        Available = "available",
        /// A reboot-level change: firmware setting, another kernel, a hypervisor beneath Linux.
        HostChange = "host-change",
        /// Impossible on this hardware or architecture, or discontinued.
        Unsupported = "unsupported",
    }
}

words! {
    /// What kind of technology.
    pub enum Category {
        /// Boots beneath the OS (Xen, ESXi).
        StandaloneHypervisor = "standalone-hypervisor",
        /// Runs inside Linux (KVM, VirtualBox).
        HostedHypervisor = "hosted-hypervisor",
        /// Lives in firmware (PR/SM, PowerVM, lv1).
        FirmwareHypervisor = "firmware-hypervisor",
        /// Partitions the machine (Jailhouse).
        PartitioningHypervisor = "partitioning-hypervisor",
        /// A minimal VMM on KVM (Firecracker).
        Microvm = "microvm",
        /// A CPU emulator (QEMU TCG).
        Emulator = "emulator",
        /// A kernel that runs as a user process (UML).
        UserSpaceKernel = "user-space-kernel",
        /// Containers sharing the host kernel.
        Container = "container",
        /// A sandbox between container and VM (gVisor).
        Sandbox = "sandbox",
        /// A host capability other technologies use (vhost-net, VFIO).
        Capability = "capability",
    }
}

words! {
    /// Where a technology stands today.
    pub enum Status {
        /// Released and supported.
        Maintained = "maintained",
        /// Maintained, but changes are rare.
        LowActivity = "low-activity",
        /// Patches outside the mainline kernel.
        OutOfTree = "out-of-tree",
        /// Still available, no longer developed.
        Legacy = "legacy",
        /// Gone.
        Discontinued = "discontinued",
        /// A research project.
        Research = "research",
    }
}

words! {
    /// The isolation a technology gives (ordered: the strongest last).
    pub enum Isolation {
        /// Processes sharing the host kernel (containers).
        Process = "process",
        /// A kernel of its own (user-space kernels, paravirtualization).
        Kernel = "kernel",
        /// Hardware-enforced (virtual machines).
        Hardware = "hardware",
    }
}

words! {
    /// The guests a technology runs.
    pub enum GuestOs {
        /// Linux.
        Linux = "linux",
        /// Windows.
        Windows = "windows",
        /// Another operating system.
        Other = "other",
        /// Guests of any architecture (an emulator).
        AnyArch = "any-arch",
    }
}

words! {
    /// What a technology offers.
    pub enum Feature {
        /// Several virtual CPUs.
        Smp = "smp",
        /// CPU or memory hotplug.
        Hotplug = "hotplug",
        /// Live migration.
        LiveMigration = "live-migration",
        /// Runs without root.
        NoRoot = "no-root",
    }
}

/// A condition over facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Cond {
    /// Every one passes.
    All(Vec<Cond>),
    /// At least one passes.
    Any(Vec<Cond>),
    /// The inner one fails.
    Not(Box<Cond>),
    /// A fact of the table itself (a discontinued product, a hypervisor no probe can see).
    Const(bool),
    /// A test on one fact.
    Leaf {
        /// The fact, a row of the fact table (by name in the compact form).
        #[serde(with = "super::compact::fact_row")]
        fact: &'static FactDef,
        /// Key within a map fact.
        key: Option<String>,
        /// The test.
        op: Op,
        /// The test as evidence shows it (`in [x86_64, aarch64]`, `has "kvm"`, `>= 2.6.32`),
        /// written once when the table loads and shared by every line of evidence citing it.
        /// (For speed: with the facts' shared sources it took judging from 0.19 to 0.13 ms and
        /// the 8× table's ratio under 8, docs/performance.md.)
        shown: std::sync::Arc<str>,
    },
}

/// A test on one fact value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Op {
    /// Equal to one of.
    In(Vec<String>),
    /// Equal to none of.
    NotIn(Vec<String>),
    /// The set holds it (or the map has that key).
    Has(String),
    /// The set holds at least one of them (or the map has one of those keys).
    HasAny(Vec<String>),
    /// The set does not hold it.
    Lacks(String),
    /// The string contains it.
    Contains(String),
    /// Version or number at least.
    Ge(Bound),
    /// Version or number below.
    Lt(Bound),
    /// Boolean equals.
    Is(bool),
}

/// A comparison bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum Bound {
    /// For `version` facts.
    Version(KVersion),
    /// For `int` facts.
    Int(i64),
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Version(v) => write!(f, "{v}"),
            Bound::Int(i) => write!(f, "{i}"),
        }
    }
}

/// A requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Requirement {
    /// Short id, unique within the technology.
    pub id: String,
    /// What a failure means.
    pub class: Class,
    /// Shown when it fails or cannot be decided.
    pub why: String,
    /// What to do about it.
    pub fix: Option<String>,
    /// Applies only when this passes (a `when` that cannot be decided leaves the requirement out:
    /// the facts it needs are reported by the requirements that test them).
    pub when: Option<Cond>,
    /// The test.
    pub test: Cond,
}

/// The columns of the 2009 source table (required on its 20 rows, optional on the others).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct TableColumns {
    /// Full virtualization.
    pub full_virt: String,
    /// Paravirtualization.
    pub paravirt: String,
    /// Containers (OS-level virtualization).
    pub containers: String,
    /// License.
    pub license: String,
    /// Architectures.
    pub architectures: String,
    /// Performance.
    pub performance: String,
    /// SMP guests.
    pub smp_guests: String,
    /// CPU / memory hotplug.
    pub hotplug: String,
    /// Standalone host (the hypervisor boots before Linux).
    pub standalone_host: String,
    /// Notes.
    pub notes: String,
    /// Where the 2009 table is wrong or out of date today, with the source.
    #[serde(default)]
    pub corrections: Vec<String>,
}

/// One technology of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Technology {
    /// Stable id (`kvm`, `xen`…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// What kind of technology.
    pub category: Category,
    /// One of the 20 rows of the 2009 table.
    pub source_row: bool,
    /// Where it stands today.
    pub status: Status,
    /// What the status means here (`removed from Linux in 4.14 (2017)`).
    pub status_note: String,
    /// 1 (native speed) … 5 (slow emulation), for ranking.
    pub performance_rank: u8,
    /// Isolation it gives.
    pub isolation: Vec<Isolation>,
    /// Guest operating systems it runs.
    pub guest_os: Vec<GuestOs>,
    /// What it offers.
    pub features: Vec<Feature>,
    /// Open-source license.
    pub open_source: bool,
    /// The line shown when it is ready.
    pub ready: String,
    /// Technologies (earlier in the table) whose verdict this one inherits: a VMM on KVM is no
    /// better than KVM here.
    pub depends: Vec<String>,
    /// The source table's columns (shared with every report judged from this table).
    pub table: Option<std::sync::Arc<TableColumns>>,
    /// When this Linux is its controlling OS.
    pub detect_host: Option<Cond>,
    /// When this Linux runs under or inside it.
    pub detect_guest: Option<Cond>,
    /// The hypervisor and container words that stand for it: a layer found with one makes this
    /// Linux its guest (its host, for a layer this Linux controls).
    pub words: Vec<Virt>,
    /// Requirements.
    pub requires: Vec<Requirement>,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Table {
    /// Technologies in file order.
    pub technologies: Vec<Technology>,
    /// Where it came from.
    pub source: String,
}

impl Table {
    /// A technology by id.
    pub fn get(&self, id: &str) -> Option<&Technology> {
        self.technologies.iter().find(|t| t.id == id)
    }
}
