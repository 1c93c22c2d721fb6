//! `virtprobe fix`: for each technology that is not ready, the steps that would make it so on this
//! host's distribution and cloud, as a POSIX sh script (virtprobe never runs it) or as JSON.
//!
//! The steps come from the fix book (`data/fixes.toml`, [`book`]), chosen by the requirements
//! that failed in the report and by the same facts the verdicts were judged on; the distribution
//! is the report's os-release, the cloud its DMI finding. Reads no host files itself.

pub mod book;
pub mod script;

use serde::Serialize;

use crate::facts::Facts;
use crate::report::{Reason, Report, TechReport, Verdict};
use crate::rules::{Class, Outcome, Table, holds};
pub use book::{Action, Book, Does, Template};

/// Version of the JSON contract of `fix --json`.
pub const SCHEMA_VERSION: u32 = 1;

words! {
    /// Whether a step can be run.
    pub enum Kind {
        /// Shell commands, in the script.
        Command = "command",
        /// Something a person must do (firmware setup, a cloud console), said exactly.
        Manual = "manual",
    }
}

/// The distribution the steps are written for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Distribution {
    /// os-release `ID` (`linux` when unknown).
    pub id: String,
    /// os-release `ID_LIKE`.
    pub id_like: Vec<String>,
    /// os-release `VERSION_ID`.
    pub version_id: Option<String>,
    /// os-release `PRETTY_NAME`.
    pub pretty_name: Option<String>,
    /// The book's entry the steps follow (`debian`, `fedora`, `rhel`, `suse`, `arch`, `alpine`…),
    /// or null when virtprobe does not know this distribution's commands.
    pub family: Option<String>,
}

/// A technology asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Asked {
    /// Its id.
    pub id: String,
    /// Its verdict now.
    pub verdict: Verdict,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Step {
    /// The technology it is for.
    pub technology: String,
    /// The requirement that failed.
    pub requirement: String,
    /// Command or manual.
    pub kind: Kind,
    /// POSIX sh commands, each complete (empty for a manual step).
    pub commands: Vec<String>,
    /// A manual step's exact action, or what to know about the commands.
    pub note: String,
    /// Why the step is needed (the requirement's reason).
    pub reason: String,
}

/// Everything `fix` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Plan {
    /// Contract version (1).
    pub schema_version: u32,
    /// The distribution.
    pub distribution: Distribution,
    /// The cloud, when DMI names one.
    pub cloud: Option<crate::sources::virt::cloud::Cloud>,
    /// The technologies asked about and those they depend on, dependencies first.
    pub technologies: Vec<Asked>,
    /// The steps, in the order to take them.
    pub steps: Vec<Step>,
}

/// The technologies to fix: each asked one after the ones it depends on that are not ready.
fn order<'a>(report: &'a Report, ids: &[&str]) -> Vec<&'a TechReport> {
    // `depends` names only technologies before it in the table, so this ends.
    fn visit<'a>(report: &'a Report, id: &str, out: &mut Vec<&'a TechReport>) {
        let Some(t) = report.get(id) else { return };
        if out.iter().any(|o| o.id == t.id) {
            return;
        }
        for r in t.reasons.iter().filter(|r| r.result != Outcome::Pass) {
            if let Some(crate::rules::Evidence::Depends { id, .. }) = r.evidence.first() {
                visit(report, id, out);
            }
        }
        out.push(t);
    }
    let mut out = Vec::new();
    for id in ids {
        visit(report, id, &mut out);
    }
    out
}

/// Where a step falls in the script: packages first (they create groups and tools), then
/// settings, modules, access, services, the boot command line, and what is done by hand.
fn phase(d: &Does) -> u8 {
    match d {
        Does::Install(_) => 0,
        Does::Sysctl { .. } | Does::Run(_) => 1,
        Does::Options { .. } => 2,
        Does::Module(_) => 3,
        Does::Group(_) | Does::Subids => 4,
        Does::Service(_) => 5,
        Does::Cmdline(_) => 6,
        Does::Manual(_) | Does::Cloud(_) => 7,
    }
}

/// The plan for `ids` (known technology ids of `report`).
pub fn plan(report: &Report, facts: &Facts, table: &Table, book: &Book, ids: &[&str]) -> Plan {
    // No os-release: the word os-release(5) prescribes for that, `linux`.
    let os = report
        .host
        .os
        .clone()
        .unwrap_or_else(|| crate::sources::os::parse(""));
    let family = book.family(&os.id, &os.id_like).map(|(k, _)| k.to_string());
    let ctx = Ctx {
        report,
        book,
        family: family.as_deref(),
    };
    let techs = order(report, ids);
    let mut steps = Vec::new();
    for t in &techs {
        if t.verdict == Verdict::Ready {
            continue;
        }
        let mut mine: Vec<(u8, Step)> = Vec::new();
        for r in t.reasons.iter().filter(|r| !r.is_dependency()) {
            match r.result {
                Outcome::Fail => mine.extend(ctx.for_failure(t, r, facts, table)),
                Outcome::Unknown | Outcome::NotTried => mine.push((
                    7,
                    step(t, r, Kind::Manual, vec![], format!(
                        "virtprobe could not decide this ({}); `virtprobe explain {}` shows what it read",
                        r.message, t.id
                    )),
                )),
                Outcome::Pass => {}
            }
        }
        mine.sort_by_key(|(p, _)| *p);
        steps.extend(mine.into_iter().map(|(_, s)| s));
    }
    Plan {
        schema_version: SCHEMA_VERSION,
        distribution: Distribution {
            id: os.id,
            id_like: os.id_like,
            version_id: os.version_id,
            pretty_name: os.pretty_name,
            family,
        },
        cloud: report.host.cloud.clone(),
        technologies: techs
            .iter()
            .map(|t| Asked {
                id: t.id.clone(),
                verdict: t.verdict,
            })
            .collect(),
        steps,
    }
}

fn step(t: &TechReport, r: &Reason, kind: Kind, commands: Vec<String>, note: String) -> Step {
    Step {
        technology: t.id.clone(),
        requirement: r.requirement.clone(),
        kind,
        commands,
        note,
        reason: r.message.clone(),
    }
}

struct Ctx<'a> {
    report: &'a Report,
    book: &'a Book,
    family: Option<&'a str>,
}

impl Ctx<'_> {
    /// The steps for one failed requirement, each with its phase.
    fn for_failure(
        &self,
        t: &TechReport,
        r: &Reason,
        facts: &Facts,
        table: &Table,
    ) -> Vec<(u8, Step)> {
        let table_fix = table
            .get(&t.id)
            .and_then(|tech| tech.requires.iter().find(|q| q.id == r.requirement))
            .and_then(|q| q.fix.clone())
            .unwrap_or_else(|| format!("see `virtprobe explain {}`", t.id));
        let actions = self.book.actions(&t.id, &r.requirement);
        let chosen: Vec<&Action> = actions
            .iter()
            .filter(|a| {
                a.when
                    .as_ref()
                    .is_none_or(|c| holds(c, facts) == Outcome::Pass)
            })
            .collect();
        let blocked = t.reasons.iter().any(|o| {
            o.result == Outcome::Fail && matches!(o.class, Class::HostChange | Class::Unsupported)
        });
        if chosen.is_empty() && r.class == Class::Available && blocked {
            // A load or an install that only matters once the host change before it is made
            // (a module without VT-x to drive): the blocking step says what to do first.
            return vec![];
        }
        if chosen.is_empty() {
            // Nothing in the book applies: the table's own remedy, by hand.
            let note = match r.class {
                Class::Unsupported => format!("not possible on this machine: {table_fix}"),
                _ => table_fix,
            };
            return vec![(7, step(t, r, Kind::Manual, vec![], note))];
        }
        chosen
            .into_iter()
            .map(|a| (phase(&a.does), self.action(t, r, a, &table_fix)))
            .collect()
    }

    /// One action as a step.
    fn action(&self, t: &TechReport, r: &Reason, a: &Action, table_fix: &str) -> Step {
        let note = a.note.clone().unwrap_or_default();
        let manual = |text: String| step(t, r, Kind::Manual, vec![], text);
        let filled =
            |which: Template, fill: &[(&str, String)]| match self.book.template(self.family, which)
            {
                Some(lines) => step(t, r, Kind::Command, script::fill(lines, fill), note.clone()),
                None => manual(format!(
                    "virtprobe does not know this distribution's commands: {table_fix}"
                )),
            };
        let q = |s: &str| script::quote(s);
        match &a.does {
            Does::Install(tool) => match self.book.package(self.family, tool) {
                Ok(pkgs) => {
                    let words: Vec<String> = pkgs.split_whitespace().map(script::quote).collect();
                    filled(Template::Install, &[("packages", words.join(" "))])
                }
                Err(Some(how)) => manual(how.to_string()),
                Err(None) => manual(format!(
                    "install the package that provides {tool}: {table_fix}"
                )),
            },
            Does::Module(m) => filled(Template::Module, &[("module", q(m))]),
            Does::Options { module, option } => filled(
                Template::Options,
                &[("module", q(module)), ("option", q(option))],
            ),
            Does::Group(g) => filled(Template::Group, &[("group", q(g))]),
            Does::Subids => filled(Template::Subids, &[]),
            Does::Sysctl { key, value } => {
                filled(Template::Sysctl, &[("key", q(key)), ("value", q(value))])
            }
            Does::Service(s) => filled(Template::Service, &[("service", q(s))]),
            Does::Cmdline(args) => filled(
                Template::Cmdline,
                &[
                    ("args", q(&args.join(" "))),
                    (
                        "arglist",
                        args.iter().map(|s| q(s)).collect::<Vec<_>>().join(" "),
                    ),
                    ("name", q(&t.id)),
                ],
            ),
            Does::Run(lines) => step(t, r, Kind::Command, lines.clone(), note),
            Does::Manual(text) => manual(text.clone()),
            Does::Cloud(key) => {
                let cloud = self.report.host.cloud.as_ref();
                let text = cloud.and_then(|c| self.book.cloud(c.provider.as_str(), key));
                match (cloud, text) {
                    (Some(c), Some(text)) => {
                        let which = match &c.instance_type {
                            Some(i) => format!("This instance ({i})"),
                            None => "This instance".to_string(),
                        };
                        manual(text.replace("{instance_type}", &which))
                    }
                    _ => manual(table_fix.to_string()),
                }
            }
        }
    }
}
