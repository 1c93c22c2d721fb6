//! Verdicts and the report: facts plus the table give one verdict per technology.
//!
//! Reads no host files: it combines the probe's facts with the table. The JSON form of
//! [`Report`] is the stable contract (`schema_version` 1): fields are added, never renamed.

use serde::Serialize;

use crate::facts::ProbeError;
use crate::probe::Probed;
use crate::probe::live::KvmOutcome;
use crate::probe::virt::Virtualization;
use crate::rules::{Class, Outcome, Table, TableColumns, Technology, Text, eval, holds};

/// Version of the JSON contract.
pub const SCHEMA_VERSION: u32 = 1;

/// One verdict per technology.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Usable now by the invoking user with what is installed.
    Ready,
    /// Hardware, firmware and kernel can run it; only installs, module loads or permissions remain.
    Available,
    /// Possible on this hardware only after a reboot-level change.
    NeedsHostChange,
    /// Impossible on this hardware or architecture, or discontinued.
    Unsupported,
    /// What the decision needs could not be read.
    Unknown,
}

impl Verdict {
    /// The word used in JSON, metrics and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ready => "ready",
            Verdict::Available => "available",
            Verdict::NeedsHostChange => "needs-host-change",
            Verdict::Unsupported => "unsupported",
            Verdict::Unknown => "unknown",
        }
    }

    /// Every verdict, in order.
    pub const ALL: [Verdict; 5] = [
        Verdict::Ready,
        Verdict::Available,
        Verdict::NeedsHostChange,
        Verdict::Unsupported,
        Verdict::Unknown,
    ];
}

/// This Linux's role for a technology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// This Linux is its controlling OS (Xen dom0, OpenVZ hardware node, VServer host).
    Host,
    /// This Linux runs under or inside it.
    Guest,
}

/// One requirement's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Reason {
    /// Requirement id.
    pub requirement: Text,
    /// What a failure means.
    pub class: Class,
    /// pass, fail or unknown.
    pub result: Outcome,
    /// The requirement's reason.
    pub message: Text,
    /// Facts read, with their sources and values.
    pub evidence: Vec<String>,
}

/// One technology in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TechReport {
    /// Stable id.
    pub id: Text,
    /// Display name.
    pub name: Text,
    /// The verdict.
    pub verdict: Verdict,
    /// This Linux's role, if it runs under or controls it.
    pub detected: Option<Role>,
    /// One line: why this verdict.
    pub summary: Text,
    /// Every requirement: failures and unknowns first.
    pub reasons: Vec<Reason>,
    /// What to do, most blocking first.
    pub remediation: Vec<Text>,
    /// Category (hosted-hypervisor, container…).
    pub category: Text,
    /// Maintained, legacy, discontinued…
    pub status: Text,
    /// One of the 20 rows of the 2009 table.
    pub source_row: bool,
    /// The source table's columns.
    pub table: TableColumns,
}

/// CPU part of the host summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct CpuSummary {
    /// Vendor.
    pub vendor: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// Flags.
    #[schemars(with = "Vec<String>")]
    pub flags: std::sync::Arc<std::collections::BTreeSet<String>>,
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

/// The host summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct HostSummary {
    /// Host name (`gethostname` on the running host, `/etc/hostname` of a captured tree).
    pub hostname: Option<String>,
    /// `uname -m` word.
    pub arch: Option<String>,
    /// CPU.
    pub cpu: CpuSummary,
    /// Kernel.
    pub kernel: KernelSummary,
    /// Hypervisor, container, layers.
    pub virtualization: Virtualization,
    /// The live KVM check.
    pub kvm: Option<KvmOutcome>,
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
    pub data: Text,
    /// The host.
    pub host: HostSummary,
    /// One entry per technology, in table order.
    pub technologies: Vec<TechReport>,
    /// Facts that could not be read.
    pub errors: Vec<ProbeError>,
    /// Checks skipped or weakened because the invoking user lacks a privilege.
    pub needs_privilege: Vec<String>,
}

impl Report {
    /// A technology's entry.
    pub fn get(&self, id: &str) -> Option<&TechReport> {
        self.technologies.iter().find(|t| t.id == id)
    }
}

/// Judge one technology.
pub fn judge(t: &Technology, probed: &Probed, earlier: &[TechReport]) -> TechReport {
    let facts = &probed.facts;
    let mut reasons = Vec::new();
    let mut inherited_fixes: Vec<Text> = Vec::new();
    for dep in t.depends.iter() {
        let Some(d) = earlier.iter().find(|x| &x.id == dep) else {
            continue;
        };
        let (result, class) = match d.verdict {
            Verdict::Ready => (Outcome::Pass, Class::Available),
            Verdict::Available => (Outcome::Fail, Class::Available),
            Verdict::NeedsHostChange => (Outcome::Fail, Class::HostChange),
            Verdict::Unsupported => (Outcome::Fail, Class::Unsupported),
            Verdict::Unknown => (Outcome::Unknown, Class::HostChange),
        };
        let evidence = std::iter::once(format!("{}: {} ({})", d.id, d.verdict.as_str(), d.summary))
            .chain(
                d.reasons
                    .iter()
                    .filter(|x| x.result != Outcome::Pass)
                    .flat_map(|x| x.evidence.iter().cloned()),
            )
            .collect();
        inherited_fixes.extend(d.remediation.iter().cloned());
        let message = if result == Outcome::Pass {
            format!("runs on {}, which is ready", d.name)
        } else {
            format!("needs {}: {}", d.name, d.summary)
        };
        reasons.push((
            None,
            Reason {
                requirement: format!("depends:{}", d.id).into(),
                class,
                result,
                message: message.into(),
                evidence,
            },
        ));
    }
    for r in t.requires.iter() {
        if let Some(w) = &r.when
            && holds(w, facts) != Outcome::Pass
        {
            continue;
        }
        let mut evidence = Vec::new();
        let result = eval(&r.test, facts, &mut evidence);
        reasons.push((
            Some(r),
            Reason {
                requirement: r.id.clone(),
                class: r.class,
                result,
                message: r.why.clone(),
                evidence,
            },
        ));
    }
    let worst = |o: Outcome| {
        reasons
            .iter()
            .filter(|(_, x)| x.result == o)
            .map(|(_, x)| x.class)
            .max()
    };
    let (fail, unknown) = (worst(Outcome::Fail), worst(Outcome::Unknown));
    let verdict = match (fail, unknown) {
        (None, None) => Verdict::Ready,
        (Some(f), u) if u.is_none_or(|u| f >= u) => class_verdict(f),
        (_, Some(Class::Available)) => Verdict::Available,
        _ => Verdict::Unknown,
    };
    // Failures and unknowns first, most blocking first; passes after.
    reasons.sort_by_key(|(_, x)| {
        (
            x.result == Outcome::Pass,
            std::cmp::Reverse(x.class),
            x.result == Outcome::Unknown,
        )
    });
    let summary = match verdict {
        Verdict::Ready => t.ready.clone(),
        _ => reasons
            .iter()
            .find(|(_, x)| x.result != Outcome::Pass)
            .map(|(_, x)| match x.result {
                Outcome::Unknown => format!("cannot tell: {}", x.message).into(),
                _ => x.message.clone(),
            })
            .unwrap_or_default(),
    };
    let mut remediation: Vec<Text> = Vec::new();
    for (r, x) in &reasons {
        if x.result == Outcome::Pass {
            continue;
        }
        let fixes: Vec<Text> = match r {
            Some(r) => r.fix.iter().cloned().collect(),
            None => inherited_fixes.clone(),
        };
        for fix in fixes {
            if !remediation.contains(&fix) {
                remediation.push(fix);
            }
        }
    }
    let role = |c: &Option<crate::rules::Cond>| {
        c.as_ref().is_some_and(|c| holds(c, facts) == Outcome::Pass)
    };
    let detected = if role(&t.detect_host) {
        Some(Role::Host)
    } else if role(&t.detect_guest) {
        Some(Role::Guest)
    } else {
        None
    };
    TechReport {
        id: t.id.clone(),
        name: t.name.clone(),
        verdict,
        detected,
        summary,
        reasons: reasons.into_iter().map(|(_, x)| x).collect(),
        remediation,
        category: t.category.clone(),
        status: t.status.clone(),
        source_row: t.source_row,
        table: t.table.clone(),
    }
}

fn class_verdict(c: Class) -> Verdict {
    match c {
        Class::Available => Verdict::Available,
        Class::HostChange => Verdict::NeedsHostChange,
        Class::Unsupported => Verdict::Unsupported,
    }
}

/// A report's `generated_at`: now, in RFC 3339 to the second.
pub fn timestamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Build the report: judge the table on the probed facts.
pub fn build(probed: &Probed, table: &Table, root: &str) -> Report {
    let f = &probed.facts;
    let version = match f.get("kernel.version").map(|x| &x.value) {
        Some(Ok(crate::facts::Value::Version(v))) => Some(v.parts()),
        _ => None,
    };
    let ext = f
        .str("cpu.virt_extension")
        .filter(|e| *e != "none")
        .map(str::to_string);
    let host = HostSummary {
        hostname: f.str("host.name").map(str::to_string),
        arch: f.str("arch").map(str::to_string),
        cpu: CpuSummary {
            vendor: probed.cpu.vendor.clone(),
            model: probed.cpu.model.clone(),
            flags: std::sync::Arc::clone(&probed.cpu.flags),
            virt_extension: ext,
            virt_extension_state: f
                .str("cpu.virt_extension_state")
                .unwrap_or("unknown")
                .to_string(),
            virt_extension_evidence: f
                .get("cpu.virt_extension_state")
                .map(|x| x.source.to_string())
                .unwrap_or_default(),
        },
        kernel: KernelSummary {
            release: f.str("kernel.release").map(str::to_string),
            version,
            config_source: f
                .get("kernel.config")
                .filter(|x| x.value.is_ok())
                .map(|x| x.source.to_string()),
            modules: f
                .set_of("kernel.modules")
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default(),
        },
        virtualization: (*probed.virt).clone(),
        kvm: probed.kvm.clone(),
    };
    Report {
        schema_version: SCHEMA_VERSION,
        virtprobe_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: timestamp(),
        root: root.to_string(),
        data: table.source.clone(),
        host,
        technologies: {
            // (Sized up front: growing it would copy it past the evidence written meanwhile.)
            let all = Vec::with_capacity(table.technologies.len());
            table.technologies.iter().fold(all, |mut done, t| {
                let r = judge(t, probed, &done);
                done.push(r);
                done
            })
        },
        errors: f.errors.clone(),
        needs_privilege: f.needs_privilege.clone(),
    }
}
