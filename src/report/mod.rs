//! The report: facts judged by the table give one verdict per technology, with the host summary.
//! Its JSON form is the stable contract (`schema_version` 1: fields are added, never renamed);
//! every type here is part of it, and so are the status file's ([`status`]). Reads no host files.

pub mod changes;
pub mod documents;
mod judge;
pub mod status;

use serde::Serialize;

use crate::facts::Facts;
use crate::host::HostFs;
use crate::host::live::{KvmOutcome, Live};
use crate::rules::{Category, Class, Evidence, Outcome, Status, Table, TableColumns};
pub use crate::sources::virt::LayerKind;
use crate::sources::virt::Virt;
use crate::sources::{self, Probed};
pub use judge::{Judged, class_verdict as failing_verdict, judge};

/// Version of the JSON contract.
pub const SCHEMA_VERSION: u32 = 1;

words! {
    /// One verdict per technology (ordered from best to worst, unknown last).
    pub enum Verdict {
        /// Usable now by the invoking user with what is installed.
        Ready = "ready",
        /// Hardware, firmware and kernel can run it; only installs, module loads or permissions remain.
        Available = "available",
        /// Possible on this hardware only after a reboot-level change.
        NeedsHostChange = "needs-host-change",
        /// Impossible on this hardware or architecture, or discontinued.
        Unsupported = "unsupported",
        /// What the decision needs could not be read.
        Unknown = "unknown",
    }
}

words! {
    /// This Linux's role for a technology.
    pub enum Role {
        /// This Linux is its controlling OS (Xen dom0, OpenVZ hardware node, VServer host).
        Host = "host",
        /// This Linux runs under or inside it.
        Guest = "guest",
    }
}

/// One requirement's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Reason {
    /// Requirement id.
    pub requirement: String,
    /// What a failure means.
    pub class: Class,
    /// pass, fail or unknown.
    pub result: Outcome,
    /// The requirement's reason.
    pub message: String,
    /// Facts read, with their sources and values.
    pub evidence: Vec<Evidence>,
}

/// One technology in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TechReport {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The verdict.
    pub verdict: Verdict,
    /// This Linux's role, if it runs under or controls it.
    pub detected: Option<Role>,
    /// One line: why this verdict.
    pub summary: String,
    /// Every requirement: failures and unknowns first.
    pub reasons: Vec<Reason>,
    /// What to do, most blocking first.
    pub remediation: Vec<String>,
    /// What kind of technology.
    pub category: Category,
    /// Where it stands today.
    pub status: Status,
    /// What the status means here.
    pub status_note: String,
    /// One of the 20 rows of the 2009 table.
    pub source_row: bool,
    /// The source table's columns.
    pub table: Option<std::sync::Arc<TableColumns>>,
}

/// CPU part of the host summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CpuSummary {
    /// Vendor.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Flags.
    pub flags: Vec<String>,
    /// `vmx`, `svm`, `sie`, `h`, `hv-mode`, `el2`, or null.
    pub virt_extension: Option<String>,
    /// `enabled`, `disabled-by-firmware`, `absent`, `unknown`.
    pub virt_extension_state: String,
    /// Why that state.
    pub virt_extension_evidence: String,
}

/// Kernel part of the host summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct KernelSummary {
    /// `uname -r`.
    pub release: Option<String>,
    /// `[major, minor, patch]`.
    pub version: Option<[u32; 3]>,
    /// Where the config came from.
    pub config_source: Option<String>,
    /// Loaded and built-in modules.
    pub modules: Vec<String>,
}

/// One layer this Linux runs in (or controls).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Layer {
    /// Its kind.
    pub kind: LayerKind,
    /// systemd-detect-virt's word (`kvm`, `xen`, `docker`…), or `lpar`, `linux-vserver`.
    pub name: Virt,
    /// The technology of the table it stands for, if any.
    pub technology: Option<String>,
    /// What showed it.
    pub evidence: Vec<String>,
}

/// Where this Linux runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Virtualization {
    /// Innermost hypervisor (systemd-detect-virt `--vm` word), or `none`.
    pub hypervisor: String,
    /// Container (systemd-detect-virt `--container` word), or `none`.
    pub container: String,
    /// Every layer found, outermost first.
    pub layers: Vec<Layer>,
}

/// The host summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct HostSummary {
    /// Host name (`gethostname` on the running host, `/etc/hostname` of a captured tree).
    pub hostname: Option<String>,
    /// `uname -m` word.
    pub arch: Option<String>,
    /// The distribution (os-release), when a file says it.
    pub os: Option<crate::sources::os::OsRelease>,
    /// The cloud provider and instance type, when DMI names one; null elsewhere.
    pub cloud: Option<crate::sources::virt::cloud::Cloud>,
    /// CPU.
    pub cpu: CpuSummary,
    /// Kernel.
    pub kernel: KernelSummary,
    /// Hypervisor, container, layers.
    pub virtualization: Virtualization,
    /// The live KVM check.
    pub kvm: Option<KvmOutcome>,
}

/// Something the probe could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ProbeError {
    /// The fact that stays unknown because of it.
    pub fact: String,
    /// What went wrong, with the path.
    pub message: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// Contract version (1).
    pub schema_version: u32,
    /// virtprobe's version.
    pub virtprobe_version: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// The host root judged (`/` for the running host).
    pub root: String,
    /// The technology table used.
    pub data: String,
    /// The host.
    pub host: HostSummary,
    /// One entry per technology, in table order.
    pub technologies: Vec<TechReport>,
    /// Facts that could not be read.
    pub errors: Vec<ProbeError>,
    /// Checks skipped or weakened because the invoking user lacks a privilege.
    pub needs_privilege: Vec<String>,
    /// Every fact of the probe, by name: what the verdicts were judged on (`virtprobe diff`
    /// compares them).
    pub facts: std::collections::BTreeMap<String, changes::FactEntry>,
}

impl Reason {
    /// Whether it stands for a technology this one depends on.
    pub fn is_dependency(&self) -> bool {
        matches!(self.evidence.first(), Some(Evidence::Depends { .. }))
    }
}

impl Report {
    /// A technology's entry.
    pub fn get(&self, id: &str) -> Option<&TechReport> {
        self.technologies.iter().find(|t| t.id == id)
    }
}

/// A report's `generated_at`: now, in RFC 3339 to the second.
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// How the report names the root it judged: `/` for the running host, else the folder.
pub fn root_label(fs: &HostFs) -> String {
    if fs.is_live() {
        "/".to_string()
    } else {
        fs.root().display().to_string()
    }
}

/// The whole pipeline: probe the host, name the facts, judge the table.
pub fn run(fs: &HostFs, live: &dyn Live, table: &Table) -> Report {
    run_with_facts(fs, live, table).0
}

/// The pipeline, keeping the facts the verdicts were judged on (`fix` chooses its steps by them).
pub fn run_with_facts(fs: &HostFs, live: &dyn Live, table: &Table) -> (Report, Facts) {
    let probed = sources::probe(fs, live, &table.needs());
    let facts = crate::facts::collect(&probed);
    let report = build(&probed, &facts, table, &root_label(fs));
    (report, facts)
}

/// Judge the table on the probed facts.
pub fn build(probed: &Probed, facts: &Facts, table: &Table, root: &str) -> Report {
    // Judged in table order; `depends` names technologies before, found by id in `index`.
    let layers = &probed.virt.layers;
    let mut judged: Vec<judge::Judged> = Vec::with_capacity(table.technologies.len());
    let mut index = std::collections::HashMap::new();
    for t in &table.technologies {
        let r = judge(t, facts, layers, |id| index.get(id).map(|&i| &judged[i]));
        index.insert(t.id.as_str(), judged.len());
        judged.push(r);
    }
    let technologies = judged.into_iter().map(|j| j.report).collect();
    let host = host_summary(probed, table);
    Report {
        schema_version: SCHEMA_VERSION,
        virtprobe_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: timestamp(),
        root: root.to_string(),
        data: table.source.clone(),
        host,
        technologies,
        errors: probed
            .notes
            .errors
            .iter()
            .map(|p| ProbeError {
                fact: p.gap.as_str().to_string(),
                message: p.message.clone(),
            })
            .collect(),
        needs_privilege: probed.notes.needs_privilege.clone(),
        facts: changes::facts_json(facts),
    }
}

/// The host summary, from the sources' findings.
fn host_summary(p: &Probed, table: &Table) -> HostSummary {
    let layers = p
        .virt
        .layers
        .iter()
        .map(|l| Layer {
            kind: l.kind,
            name: l.name,
            technology: table
                .technologies
                .iter()
                .find(|t| t.words.contains(&l.name))
                .map(|t| t.id.clone()),
            evidence: l.evidence.clone(),
        })
        .collect();
    let word = |r: &sources::Reading<String>| r.get().cloned().unwrap_or_else(|| "none".into());
    HostSummary {
        hostname: p.system.hostname.get().cloned(),
        arch: p.system.arch.get().cloned(),
        os: p.system.os.get().cloned(),
        cloud: p.virt.cloud.clone(),
        cpu: CpuSummary {
            vendor: p.cpu.vendor.clone(),
            model: p.cpu.model.clone(),
            flags: p.cpu.flags.iter().cloned().collect(),
            virt_extension: p.extension.name.map(str::to_string),
            virt_extension_state: p.extension.state.as_str().to_string(),
            virt_extension_evidence: p.extension.evidence.clone(),
        },
        kernel: KernelSummary {
            release: p.kernel.release.get().cloned(),
            version: p.kernel.version.get().map(|v| v.parts()),
            config_source: p
                .kernel
                .config
                .as_ref()
                .filter(|c| c.value.is_ok())
                .map(|c| c.source.clone()),
            modules: p
                .kernel
                .modules
                .get()
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        },
        virtualization: Virtualization {
            hypervisor: word(&p.virt.hypervisor),
            container: word(&p.virt.container),
            layers,
        },
        kvm: p.kvm.outcome.clone(),
    }
}
