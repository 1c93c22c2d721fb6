//! The technology table: its data format, its validation, and rule evaluation.
//!
//! The table is data (`data/technologies.toml`, embedded; `--data FILE` replaces it). Each
//! technology carries the 2009 source table's columns and a list of requirements. A requirement is
//! a condition over facts (node-feature-discovery's match expressions, in TOML), a class that says
//! what a failure means (`unsupported`, `host-change`, `available`), the reason shown when it fails
//! and the remediation. Evaluation is three-valued (pass, fail, unknown) and never stops at the
//! first miss, so a report lists every reason.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::facts::{Facts, KNOWN_FACTS, Value};
use crate::probe::Needs;
use crate::version::KVersion;

/// The table shipped with virtprobe.
pub const EMBEDDED: &str = include_str!("../data/technologies.toml");
/// The same table, validated and stored in postcard's compact binary serde format
/// (`data/technologies.compiled.bin`), so a run neither parses 80 KB of TOML nor matches the field
/// names of 80 KB of JSON (half the time again). A test keeps it equal to the TOML;
/// `VIRTPROBE_BLESS=1 cargo test compiled` rewrites it after an edit.
pub const COMPILED: &[u8] = include_bytes!("../data/technologies.compiled.bin");
/// The name the embedded table is reported under.
pub const EMBEDDED_NAME: &str = "data/technologies.toml (embedded)";

/// A data file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct DataError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// What a failed requirement means for the verdict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Only installs, module loads or permissions remain.
    Available,
    /// A reboot-level change: firmware setting, another kernel, a hypervisor beneath Linux.
    HostChange,
    /// Impossible on this hardware or architecture, or discontinued.
    Unsupported,
}

/// A condition over facts, as written in the data file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCond {
    fact: Option<String>,
    key: Option<String>,
    #[serde(rename = "in")]
    in_: Option<Vec<String>>,
    not_in: Option<Vec<String>>,
    has: Option<String>,
    has_any: Option<Vec<String>>,
    lacks: Option<String>,
    contains: Option<String>,
    ge: Option<String>,
    lt: Option<String>,
    is: Option<bool>,
    any: Option<Vec<Spanned<RawCond>>>,
    all: Option<Vec<Spanned<RawCond>>>,
    not: Option<Box<Spanned<RawCond>>>,
    always: Option<bool>,
}

/// A validated condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
        /// Fact name.
        fact: String,
        /// Key within a map fact.
        key: Option<String>,
        /// The test.
        op: Op,
    },
}

/// A test on one fact value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Bound {
    /// For `version` facts.
    Version(KVersion),
    /// For `int` facts.
    Int(i64),
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Version(v) => write!(f, "{v}"),
            Bound::Int(i) => write!(f, "{i}"),
        }
    }
}

/// A requirement as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    id: String,
    class: Class,
    why: String,
    #[serde(default)]
    fix: Option<String>,
    #[serde(default)]
    when: Option<Spanned<RawCond>>,
    test: Spanned<RawCond>,
}

/// A validated requirement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// The columns of the 2009 source table (and the same columns for the rows added since).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetect {
    host: Option<Spanned<RawCond>>,
    guest: Option<Spanned<RawCond>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTechnology {
    id: Spanned<String>,
    name: String,
    category: String,
    #[serde(default)]
    source_row: bool,
    status: String,
    #[serde(default)]
    performance_rank: u8,
    #[serde(default)]
    isolation: Vec<String>,
    #[serde(default)]
    guest_os: Vec<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    open_source: bool,
    ready: String,
    #[serde(default)]
    depends: Vec<Spanned<String>>,
    table: TableColumns,
    #[serde(default)]
    detect: Option<RawDetect>,
    #[serde(default)]
    requires: Vec<Spanned<RawRequirement>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    schema_version: u32,
    technology: Vec<RawTechnology>,
}

/// One technology of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technology {
    /// Stable id (`kvm`, `xen`…).
    pub id: String,
    /// Display name.
    pub name: String,
    /// `hosted-hypervisor`, `standalone-hypervisor`, `firmware-hypervisor`, `emulator`,
    /// `container`, `sandbox`, `capability`.
    pub category: String,
    /// One of the 20 rows of the 2009 table.
    pub source_row: bool,
    /// `maintained`, `legacy`, `discontinued since …`, `research`.
    pub status: String,
    /// 1 (native speed) … 5 (slow emulation), for ranking.
    pub performance_rank: u8,
    /// Isolation it gives: `process`, `kernel`, `hardware`.
    pub isolation: Vec<String>,
    /// Guest operating systems it runs: `linux`, `windows`, `other`, `any-arch`.
    pub guest_os: Vec<String>,
    /// Features: `smp`, `hotplug`, `live-migration`, `no-root`…
    pub features: Vec<String>,
    /// Open-source license.
    pub open_source: bool,
    /// The line shown when it is ready.
    pub ready: String,
    /// Technologies (earlier in the table) whose verdict this one inherits: a VMM on KVM is no
    /// better than KVM here.
    pub depends: Vec<String>,
    /// The source table's columns.
    pub table: TableColumns,
    /// When this Linux is its controlling OS.
    pub detect_host: Option<Cond>,
    /// When this Linux runs under or inside it.
    pub detect_guest: Option<Cond>,
    /// Requirements.
    pub requires: Vec<Requirement>,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Technologies in file order.
    pub technologies: Vec<Technology>,
    /// Where it came from.
    pub source: String,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, message: impl Into<String>) -> DataError {
        let (line, column) = line_col(self.text, span.start);
        DataError {
            file: self.file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

fn fact_kind(name: &str) -> Option<&'static str> {
    KNOWN_FACTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, k)| *k)
}

fn convert(ctx: &Ctx, raw: &Spanned<RawCond>) -> Result<Cond, DataError> {
    let span = raw.span();
    let r = raw.get_ref();
    if let Some(b) = r.always {
        if r.fact.is_some()
            || r.any.is_some()
            || r.all.is_some()
            || r.not.is_some()
            || r.key.is_some()
        {
            return Err(ctx.err(span, "`always` stands alone in a condition"));
        }
        return Ok(Cond::Const(b));
    }
    let combinators = [r.any.is_some(), r.all.is_some(), r.not.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if combinators > 0 {
        if combinators > 1 || r.fact.is_some() || r.key.is_some() {
            return Err(ctx.err(
                span,
                "a condition is either one of any/all/not, or a fact test",
            ));
        }
        if let Some(list) = &r.any {
            if list.is_empty() {
                return Err(ctx.err(span, "`any` needs at least one condition"));
            }
            return Ok(Cond::Any(
                list.iter()
                    .map(|c| convert(ctx, c))
                    .collect::<Result<_, _>>()?,
            ));
        }
        if let Some(list) = &r.all {
            if list.is_empty() {
                return Err(ctx.err(span, "`all` needs at least one condition"));
            }
            return Ok(Cond::All(
                list.iter()
                    .map(|c| convert(ctx, c))
                    .collect::<Result<_, _>>()?,
            ));
        }
        if let Some(inner) = &r.not {
            return Ok(Cond::Not(Box::new(convert(ctx, inner)?)));
        }
    }
    let Some(fact) = &r.fact else {
        return Err(ctx.err(span, "a condition needs `fact` (or any/all/not)"));
    };
    let Some(kind) = fact_kind(fact) else {
        return Err(ctx.err(
            span,
            format!(
                "unknown fact {fact:?}; known facts: {}",
                KNOWN_FACTS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let ops = [
        r.in_.is_some(),
        r.not_in.is_some(),
        r.has.is_some(),
        r.has_any.is_some(),
        r.lacks.is_some(),
        r.contains.is_some(),
        r.ge.is_some(),
        r.lt.is_some(),
        r.is.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if ops != 1 {
        return Err(ctx.err(span, format!("fact {fact:?}: give exactly one of in, not_in, has, has_any, lacks, contains, ge, lt, is (found {ops})")));
    }
    let value_kind = if r.key.is_some() {
        if kind != "map" {
            return Err(ctx.err(
                span,
                format!("fact {fact:?} is a {kind}; `key` is only for map facts"),
            ));
        }
        "string"
    } else {
        kind
    };
    let bad = |op: &str| {
        ctx.err(
            span.clone(),
            format!("operator `{op}` does not apply to fact {fact:?} ({value_kind})"),
        )
    };
    let bound = |s: &str, op: &str| -> Result<Bound, DataError> {
        match value_kind {
            "version" => s
                .parse::<KVersion>()
                .map(Bound::Version)
                .map_err(|e| ctx.err(span.clone(), format!("`{op}`: {e}"))),
            "int" => s
                .parse::<i64>()
                .map(Bound::Int)
                .map_err(|_| ctx.err(span.clone(), format!("`{op}`: {s:?} is not a whole number"))),
            _ => Err(bad(op)),
        }
    };
    // A list operator: at least one value, and a fact of one of `kinds`.
    let list = |v: &Vec<String>, op: &str, kinds: &[&str]| {
        if v.is_empty() {
            Err(ctx.err(span.clone(), format!("`{op}` needs at least one value")))
        } else if !kinds.contains(&value_kind) {
            Err(bad(op))
        } else {
            Ok(v.clone())
        }
    };
    let op = if let Some(v) = &r.in_ {
        Op::In(list(v, "in", &["string", "int"])?)
    } else if let Some(v) = &r.not_in {
        Op::NotIn(list(v, "not_in", &["string", "int"])?)
    } else if let Some(v) = &r.has {
        if !matches!(value_kind, "set" | "map") {
            return Err(bad("has"));
        }
        Op::Has(v.clone())
    } else if let Some(v) = &r.has_any {
        Op::HasAny(list(v, "has_any", &["set", "map"])?)
    } else if let Some(v) = &r.lacks {
        if !matches!(value_kind, "set" | "map") {
            return Err(bad("lacks"));
        }
        Op::Lacks(v.clone())
    } else if let Some(v) = &r.contains {
        if value_kind != "string" {
            return Err(bad("contains"));
        }
        Op::Contains(v.clone())
    } else if let Some(v) = &r.ge {
        Op::Ge(bound(v, "ge")?)
    } else if let Some(v) = &r.lt {
        Op::Lt(bound(v, "lt")?)
    } else if let Some(b) = r.is {
        if value_kind != "bool" {
            return Err(bad("is"));
        }
        Op::Is(b)
    } else {
        unreachable!("exactly one operator was counted above")
    };
    Ok(Cond::Leaf {
        fact: fact.clone(),
        key: r.key.clone(),
        op,
    })
}

impl Table {
    /// The embedded table (from its compiled form; the TOML if that were ever unreadable).
    pub fn embedded() -> Result<Table, DataError> {
        match postcard::from_bytes::<Table>(COMPILED) {
            Ok(t) => Ok(t),
            Err(_) => Table::parse(EMBEDDED, EMBEDDED_NAME),
        }
    }

    /// Load a data file.
    pub fn load(path: &std::path::Path) -> Result<Table, DataError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| DataError {
            file: name.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let (line, column) = line_col(
                &String::from_utf8_lossy(e.as_bytes()),
                e.utf8_error().valid_up_to(),
            );
            DataError {
                file: name.clone(),
                line,
                column,
                message: "not valid UTF-8".into(),
            }
        })?;
        Table::parse(&text, &name)
    }

    /// Parse and validate table text.
    pub fn parse(text: &str, file: &str) -> Result<Table, DataError> {
        let ctx = Ctx { file, text };
        let raw: RawTable = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            DataError {
                file: file.to_string(),
                line,
                column,
                message: e.message().trim().to_string(),
            }
        })?;
        if raw.schema_version != 1 {
            return Err(DataError {
                file: file.into(),
                line: 1,
                column: 1,
                message: format!(
                    "schema_version {} is not supported (this virtprobe reads 1)",
                    raw.schema_version
                ),
            });
        }
        let mut seen: BTreeMap<String, ()> = BTreeMap::new();
        let mut technologies = Vec::new();
        for t in raw.technology {
            let id = t.id.get_ref().clone();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(ctx.err(
                    t.id.span(),
                    format!("technology id {id:?} must be lowercase letters, digits and dashes"),
                ));
            }
            if seen.insert(id.clone(), ()).is_some() {
                return Err(ctx.err(t.id.span(), format!("duplicate technology id {id:?}")));
            }
            if !(1..=5).contains(&t.performance_rank) {
                return Err(ctx.err(
                    t.id.span(),
                    format!("{id}: performance_rank must be 1 (native) to 5 (slow emulation)"),
                ));
            }
            let mut req_ids: BTreeMap<String, ()> = BTreeMap::new();
            let mut requires = Vec::new();
            for r in &t.requires {
                let rr = r.get_ref();
                if req_ids.insert(rr.id.clone(), ()).is_some() {
                    return Err(ctx.err(
                        r.span(),
                        format!("{id}: duplicate requirement id {:?}", rr.id),
                    ));
                }
                requires.push(Requirement {
                    id: rr.id.clone(),
                    class: rr.class,
                    why: rr.why.clone(),
                    fix: rr.fix.clone(),
                    when: rr.when.as_ref().map(|c| convert(&ctx, c)).transpose()?,
                    test: convert(&ctx, &rr.test)?,
                });
            }
            let (detect_host, detect_guest) = match &t.detect {
                Some(d) => (
                    d.host.as_ref().map(|c| convert(&ctx, c)).transpose()?,
                    d.guest.as_ref().map(|c| convert(&ctx, c)).transpose()?,
                ),
                None => (None, None),
            };
            let mut depends = Vec::new();
            for d in &t.depends {
                let dep = d.get_ref();
                if !seen.contains_key(dep) || dep == &id {
                    return Err(ctx.err(
                        d.span(),
                        format!(
                            "{id}: depends on {dep:?}, which is not a technology listed before it"
                        ),
                    ));
                }
                depends.push(dep.clone());
            }
            technologies.push(Technology {
                depends,
                id,
                name: t.name,
                category: t.category,
                source_row: t.source_row,
                status: t.status,
                performance_rank: t.performance_rank,
                isolation: t.isolation,
                guest_os: t.guest_os,
                features: t.features,
                open_source: t.open_source,
                ready: t.ready,
                table: t.table,
                detect_host,
                detect_guest,
                requires,
            });
        }
        Ok(Table {
            technologies,
            source: file.to_string(),
        })
    }

    /// A technology by id.
    pub fn get(&self, id: &str) -> Option<&Technology> {
        self.technologies.iter().find(|t| t.id == id)
    }

    /// What the probe must look at for these rules.
    pub fn needs(&self) -> Needs {
        let mut n = Needs::default();
        fn walk(c: &Cond, n: &mut Needs) {
            match c {
                Cond::All(v) | Cond::Any(v) => v.iter().for_each(|c| walk(c, n)),
                Cond::Not(c) => walk(c, n),
                Cond::Const(_) => {}
                Cond::Leaf { fact, key, op } => {
                    let values: Vec<String> = match (key, op) {
                        (Some(k), _) => vec![k.clone()],
                        (None, Op::Has(v) | Op::Lacks(v)) => vec![v.clone()],
                        (None, Op::HasAny(v)) => v.clone(),
                        _ => Vec::new(),
                    };
                    match fact.as_str() {
                        "kernel.config" => n.config_keys.extend(values),
                        "module.param" => n.params.extend(values),
                        "path" => n.paths.extend(values),
                        "tool" => n.tools.extend(values),
                        _ => {}
                    }
                }
            }
        }
        for t in &self.technologies {
            for r in &t.requires {
                walk(&r.test, &mut n);
                if let Some(w) = &r.when {
                    walk(w, &mut n);
                }
            }
            for c in [&t.detect_host, &t.detect_guest].into_iter().flatten() {
                walk(c, &mut n);
            }
        }
        // The probe reads these itself: module support and the cgroup v2 device controller.
        n.config_keys
            .extend(["MODULES".to_string(), "CGROUP_BPF".to_string()]);
        n
    }
}

/// The outcome of a condition or requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Holds.
    Pass,
    /// Does not hold.
    Fail,
    /// Could not be decided: a fact it needs is unknown.
    Unknown,
}

fn write_op(out: &mut String, op: &Op) {
    use std::fmt::Write as _;
    let list = |out: &mut String, v: &[String]| {
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(x);
        }
    };
    let _ = match op {
        Op::In(v) => {
            out.push_str("in [");
            list(out, v);
            write!(out, "]")
        }
        Op::NotIn(v) => {
            out.push_str("not in [");
            list(out, v);
            write!(out, "]")
        }
        Op::Has(v) => write!(out, "has {v:?}"),
        Op::HasAny(v) if v.len() > 4 => {
            out.push_str("has any of [");
            list(out, &v[..3]);
            write!(out, " and {} more]", v.len() - 3)
        }
        Op::HasAny(v) => {
            out.push_str("has any of [");
            list(out, v);
            write!(out, "]")
        }
        Op::Lacks(v) => write!(out, "lacks {v:?}"),
        Op::Contains(v) => write!(out, "contains {v:?}"),
        Op::Ge(b) => write!(out, ">= {b}"),
        Op::Lt(b) => write!(out, "< {b}"),
        Op::Is(b) => write!(out, "is {b}"),
    };
}

/// Evaluate a condition, collecting the evidence read.
pub fn eval(c: &Cond, facts: &Facts, evidence: &mut Vec<String>) -> Outcome {
    match c {
        // Every member is evaluated (no short cut), so the evidence lists every reason.
        Cond::All(list) => {
            let (mut fail, mut unknown) = (false, false);
            for c in list {
                match eval(c, facts, evidence) {
                    Outcome::Fail => fail = true,
                    Outcome::Unknown => unknown = true,
                    Outcome::Pass => {}
                }
            }
            if fail {
                Outcome::Fail
            } else if unknown {
                Outcome::Unknown
            } else {
                Outcome::Pass
            }
        }
        Cond::Any(list) => {
            let (mut pass, mut unknown) = (false, false);
            for c in list {
                match eval(c, facts, evidence) {
                    Outcome::Pass => pass = true,
                    Outcome::Unknown => unknown = true,
                    Outcome::Fail => {}
                }
            }
            if pass {
                Outcome::Pass
            } else if unknown {
                Outcome::Unknown
            } else {
                Outcome::Fail
            }
        }
        Cond::Const(b) => {
            evidence.push(format!(
                "the technology table: {}",
                if *b {
                    "always holds"
                } else {
                    "never holds on a Linux host"
                }
            ));
            pass(*b)
        }
        Cond::Not(inner) => match eval(inner, facts, evidence) {
            Outcome::Pass => Outcome::Fail,
            Outcome::Fail => Outcome::Pass,
            Outcome::Unknown => Outcome::Unknown,
        },
        Cond::Leaf { fact, key, op } => {
            let label = match key {
                Some(k) => format!("{fact}[{k}]"),
                None => fact.clone(),
            };
            let Some(f) = facts.get(fact) else {
                evidence.push(format!("{label}: unknown (not probed)"));
                return Outcome::Unknown;
            };
            let value = match &f.value {
                Ok(v) => v,
                Err(why) => {
                    evidence.push(format!("{label}: unknown ({why})"));
                    return Outcome::Unknown;
                }
            };
            let (outcome, seen) = test(value, key.as_deref(), op);
            // One string, written in place: a report holds a few hundred of these.
            use std::fmt::Write as _;
            let mut line = label;
            line.reserve(64 + seen.len() + f.source.len());
            line.push(' ');
            write_op(&mut line, op);
            let _ = write!(
                line,
                ": {} (observed {seen})",
                match outcome {
                    Outcome::Pass => "yes",
                    Outcome::Fail => "no",
                    Outcome::Unknown => "unknown",
                }
            );
            if !f.source.is_empty() {
                let _ = write!(line, " [{}]", f.source);
            }
            evidence.push(line);
            outcome
        }
    }
}

fn pass(b: bool) -> Outcome {
    if b { Outcome::Pass } else { Outcome::Fail }
}

fn test(value: &Value, key: Option<&str>, op: &Op) -> (Outcome, String) {
    // Map facts with a key: look the key up, absent means "not set".
    if let (Some(k), Value::Map(m)) = (key, value) {
        let v = m.get(k);
        let seen = v
            .map(|s| format!("{s:?}"))
            .unwrap_or_else(|| "not set".into());
        let out = match op {
            Op::In(list) => pass(v.is_some_and(|s| list.contains(s))),
            Op::NotIn(list) => pass(!v.is_some_and(|s| list.contains(s))),
            Op::Contains(sub) => pass(v.is_some_and(|s| s.contains(sub.as_str()))),
            _ => Outcome::Unknown,
        };
        return (out, seen);
    }
    match (value, op) {
        (Value::Str(s), Op::In(list)) => (pass(list.contains(s)), format!("{s:?}")),
        (Value::Str(s), Op::NotIn(list)) => (pass(!list.contains(s)), format!("{s:?}")),
        (Value::Str(s), Op::Contains(sub)) => (pass(s.contains(sub.as_str())), format!("{s:?}")),
        (Value::Int(i), Op::In(list)) => (
            pass(list.iter().any(|x| x.parse::<i64>().ok() == Some(*i))),
            i.to_string(),
        ),
        (Value::Int(i), Op::NotIn(list)) => (
            pass(!list.iter().any(|x| x.parse::<i64>().ok() == Some(*i))),
            i.to_string(),
        ),
        (Value::Int(i), Op::Ge(Bound::Int(b))) => (pass(i >= b), i.to_string()),
        (Value::Int(i), Op::Lt(Bound::Int(b))) => (pass(i < b), i.to_string()),
        (Value::Version(v), Op::Ge(Bound::Version(b))) => (pass(v >= b), v.to_string()),
        (Value::Version(v), Op::Lt(Bound::Version(b))) => (pass(v < b), v.to_string()),
        (Value::Bool(b), Op::Is(want)) => (pass(b == want), b.to_string()),
        (Value::Set(s), Op::Has(x)) => (
            pass(s.contains(x)),
            if s.contains(x) {
                format!("{x:?} present")
            } else {
                format!("{x:?} absent")
            },
        ),
        (Value::Set(s), Op::HasAny(list)) => match list.iter().find(|x| s.contains(*x)) {
            Some(x) => (Outcome::Pass, format!("{x:?} present")),
            None => (Outcome::Fail, "none present".to_string()),
        },
        (Value::Map(m), Op::HasAny(list)) => match list.iter().find_map(|x| m.get_key_value(x)) {
            Some((k, v)) => (Outcome::Pass, format!("{k:?} = {v:?}")),
            None => (Outcome::Fail, "none set".to_string()),
        },
        (Value::Set(s), Op::Lacks(x)) => (
            pass(!s.contains(x)),
            if s.contains(x) {
                format!("{x:?} present")
            } else {
                format!("{x:?} absent")
            },
        ),
        (Value::Map(m), Op::Has(x)) => match m.get(x) {
            Some(v) => (Outcome::Pass, format!("{x:?} = {v:?}")),
            None => (Outcome::Fail, format!("{x:?} not set")),
        },
        (Value::Map(m), Op::Lacks(x)) => (
            pass(!m.contains_key(x)),
            if m.contains_key(x) {
                format!("{x:?} set")
            } else {
                format!("{x:?} not set")
            },
        ),
        (v, _) => (
            Outcome::Unknown,
            format!("a {} value the operator does not apply to", v.kind()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"schema_version = 1
[[technology]]
id = "t"
name = "T"
category = "emulator"
status = "maintained"
performance_rank = 3
ready = "ok"
[technology.table]
full_virt = "yes"
paravirt = ""
containers = ""
license = "GPL"
architectures = "all"
performance = "slow"
smp_guests = ""
hotplug = ""
standalone_host = ""
notes = ""
[[technology.requires]]
id = "arch"
class = "unsupported"
why = "x86 only"
test = { fact = "arch", in = ["x86_64"] }
"#;

    #[test]
    fn parses_and_evaluates() {
        let t = Table::parse(MINI, "mini.toml").unwrap();
        let mut f = Facts::default();
        f.set("arch", Value::Str("x86_64".into()), "uname");
        let mut ev = Vec::new();
        assert_eq!(
            eval(&t.technologies[0].requires[0].test, &f, &mut ev),
            Outcome::Pass
        );
        assert!(ev[0].contains("x86_64"), "{ev:?}");
        let mut f2 = Facts::default();
        f2.unknown("arch", "no cpuinfo", "/proc/cpuinfo");
        assert_eq!(
            eval(&t.technologies[0].requires[0].test, &f2, &mut Vec::new()),
            Outcome::Unknown
        );
    }

    #[test]
    fn has_any_on_sets_and_its_errors() {
        let src = MINI.replace(
            r#"test = { fact = "arch", in = ["x86_64"] }"#,
            r#"test = { fact = "tool", has_any = ["qemu-system-x86_64", "qemu-system-aarch64"] }"#,
        );
        let t = Table::parse(&src, "x.toml").unwrap();
        let needs = t.needs();
        assert!(needs.tools.contains("qemu-system-aarch64") && needs.tools.len() == 2);
        let test = &t.technologies[0].requires[0].test;
        let mut f = Facts::default();
        f.set(
            "tool",
            Value::Map(
                [(
                    "qemu-system-aarch64".into(),
                    "/usr/bin/qemu-system-aarch64".into(),
                )]
                .into(),
            ),
            "PATH",
        );
        let mut ev = Vec::new();
        assert_eq!(eval(test, &f, &mut ev), Outcome::Pass);
        assert!(
            ev[0].contains("\"qemu-system-aarch64\" = \"/usr/bin/qemu-system-aarch64\""),
            "{ev:?}"
        );
        f.set("tool", Value::Map(Default::default()), "PATH");
        assert_eq!(eval(test, &f, &mut Vec::new()), Outcome::Fail);
        for (bad, why) in [
            (r#"{ fact = "tool", has_any = [] }"#, "at least one"),
            (r#"{ fact = "arch", has_any = ["x"] }"#, "does not apply"),
        ] {
            let src = MINI.replace(r#"{ fact = "arch", in = ["x86_64"] }"#, bad);
            let e = Table::parse(&src, "x.toml").unwrap_err();
            assert!(e.message.contains(why), "{e}");
            assert_eq!(e.line, 24);
        }
    }

    #[test]
    fn errors_carry_position() {
        let bad = MINI.replace("fact = \"arch\"", "fact = \"arch.nope\"");
        let e = Table::parse(&bad, "x.toml").unwrap_err();
        assert_eq!((e.line, e.file.as_str()), (24, "x.toml"));
        assert!(e.message.contains("unknown fact"), "{e}");
        let typo = MINI.replace("why = \"x86 only\"", "why = \"x86 only\"\nwhy_not = 1");
        let e = Table::parse(&typo, "x.toml").unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, 24);
        let wrong_type = MINI.replace("performance_rank = 3", "performance_rank = \"fast\"");
        assert!(
            Table::parse(&wrong_type, "x.toml")
                .unwrap_err()
                .to_string()
                .starts_with("x.toml:7:")
        );
        let dup = format!(
            "{MINI}{}",
            &MINI[MINI.find("[[technology]]").unwrap()
                ..MINI.find("[[technology.requires]]").unwrap()]
        );
        assert!(
            Table::parse(&dup, "x.toml")
                .unwrap_err()
                .message
                .contains("duplicate technology id")
        );
        let op = MINI.replace("in = [\"x86_64\"]", "ge = \"3\"");
        assert!(
            Table::parse(&op, "x.toml")
                .unwrap_err()
                .message
                .contains("does not apply")
        );
    }
}
