//! The technology table as data: its types, and the parsing and validation of its TOML form.
//!
//! This file is also compiled into the build script (`build.rs`), which parses and validates
//! `data/technologies.toml` once, at build time, and writes the embedded table as Rust statics:
//! a run decodes nothing and allocates nothing for it. So it depends only on `crate::facts`'s list
//! of fact names and `crate::version`, and reads no host file.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::facts::KNOWN_FACTS;
use crate::version::KVersion;

/// The table shipped with virtprobe, as text (`--data` files are read in the same format).
pub const EMBEDDED: &str = include_str!("../../data/technologies.toml");
/// The name the embedded table is reported under.
pub const EMBEDDED_NAME: &str = "data/technologies.toml (embedded)";

/// Text of the table: borrowed from the binary for the embedded table, owned for a data file.
pub type Text = Cow<'static, str>;
/// A list of the table: borrowed for the embedded table, owned for a data file.
pub type List<T> = Cow<'static, [T]>;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    /// Every one passes.
    All(List<Cond>),
    /// At least one passes.
    Any(List<Cond>),
    /// The inner one (the list holds exactly one) fails. A list rather than a box, so that the
    /// embedded table can be a static.
    Not(List<Cond>),
    /// A fact of the table itself (a discontinued product, a hypervisor no probe can see).
    Const(bool),
    /// A test on one fact.
    Leaf {
        /// Fact name.
        fact: Text,
        /// Key within a map fact.
        key: Option<Text>,
        /// The test.
        op: Op,
    },
}

/// A test on one fact value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Equal to one of.
    In(List<Text>),
    /// Equal to none of.
    NotIn(List<Text>),
    /// The set holds it (or the map has that key).
    Has(Text),
    /// The set holds at least one of them (or the map has one of those keys).
    HasAny(List<Text>),
    /// The set does not hold it.
    Lacks(Text),
    /// The string contains it.
    Contains(Text),
    /// Version or number at least.
    Ge(Bound),
    /// Version or number below.
    Lt(Bound),
    /// Boolean equals.
    Is(bool),
}

/// A comparison bound.
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// Short id, unique within the technology.
    pub id: Text,
    /// What a failure means.
    pub class: Class,
    /// Shown when it fails or cannot be decided.
    pub why: Text,
    /// What to do about it.
    pub fix: Option<Text>,
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
    pub full_virt: Text,
    /// Paravirtualization.
    pub paravirt: Text,
    /// Containers (OS-level virtualization).
    pub containers: Text,
    /// License.
    pub license: Text,
    /// Architectures.
    pub architectures: Text,
    /// Performance.
    pub performance: Text,
    /// SMP guests.
    pub smp_guests: Text,
    /// CPU / memory hotplug.
    pub hotplug: Text,
    /// Standalone host (the hypervisor boots before Linux).
    pub standalone_host: Text,
    /// Notes.
    pub notes: Text,
    /// Where the 2009 table is wrong or out of date today, with the source.
    #[serde(default)]
    pub corrections: List<Text>,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technology {
    /// Stable id (`kvm`, `xen`…).
    pub id: Text,
    /// Display name.
    pub name: Text,
    /// `hosted-hypervisor`, `standalone-hypervisor`, `firmware-hypervisor`, `emulator`,
    /// `container`, `sandbox`, `capability`.
    pub category: Text,
    /// One of the 20 rows of the 2009 table.
    pub source_row: bool,
    /// `maintained`, `legacy`, `discontinued since …`, `research`.
    pub status: Text,
    /// 1 (native speed) … 5 (slow emulation), for ranking.
    pub performance_rank: u8,
    /// Isolation it gives: `process`, `kernel`, `hardware`.
    pub isolation: List<Text>,
    /// Guest operating systems it runs: `linux`, `windows`, `other`, `any-arch`.
    pub guest_os: List<Text>,
    /// Features: `smp`, `hotplug`, `live-migration`, `no-root`…
    pub features: List<Text>,
    /// Open-source license.
    pub open_source: bool,
    /// The line shown when it is ready.
    pub ready: Text,
    /// Technologies (earlier in the table) whose verdict this one inherits: a VMM on KVM is no
    /// better than KVM here.
    pub depends: List<Text>,
    /// The source table's columns.
    pub table: TableColumns,
    /// When this Linux is its controlling OS.
    pub detect_host: Option<Cond>,
    /// When this Linux runs under or inside it.
    pub detect_guest: Option<Cond>,
    /// Requirements.
    pub requires: List<Requirement>,
}

/// The whole table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Technologies in file order.
    pub technologies: List<Technology>,
    /// Where it came from.
    pub source: Text,
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
        let lists = [
            (&r.any, "any", Cond::Any as fn(List<Cond>) -> Cond),
            (&r.all, "all", Cond::All),
        ];
        for (list, name, make) in lists {
            let Some(list) = list else { continue };
            if list.is_empty() {
                return Err(ctx.err(span, format!("`{name}` needs at least one condition")));
            }
            let members = list
                .iter()
                .map(|c| convert(ctx, c))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(make(members.into()));
        }
        if let Some(inner) = &r.not {
            return Ok(Cond::Not(vec![convert(ctx, inner)?].into()));
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
            Ok(owned_list(v))
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
        Op::Has(v.clone().into())
    } else if let Some(v) = &r.has_any {
        Op::HasAny(list(v, "has_any", &["set", "map"])?)
    } else if let Some(v) = &r.lacks {
        if !matches!(value_kind, "set" | "map") {
            return Err(bad("lacks"));
        }
        Op::Lacks(v.clone().into())
    } else if let Some(v) = &r.contains {
        if value_kind != "string" {
            return Err(bad("contains"));
        }
        Op::Contains(v.clone().into())
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
        fact: fact.clone().into(),
        key: r.key.clone().map(Into::into),
        op,
    })
}

/// Strings of a data file, as a list of the table.
fn owned_list(v: &[String]) -> List<Text> {
    v.iter().cloned().map(Cow::Owned).collect::<Vec<_>>().into()
}

impl Table {
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
                    id: rr.id.clone().into(),
                    class: rr.class,
                    why: rr.why.clone().into(),
                    fix: rr.fix.clone().map(Into::into),
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
                depends.push(Text::from(dep.clone()));
            }
            technologies.push(Technology {
                depends: depends.into(),
                id: id.into(),
                name: t.name.into(),
                category: t.category.into(),
                source_row: t.source_row,
                status: t.status.into(),
                performance_rank: t.performance_rank,
                isolation: owned_list(&t.isolation),
                guest_os: owned_list(&t.guest_os),
                features: owned_list(&t.features),
                open_source: t.open_source,
                ready: t.ready.into(),
                table: t.table,
                detect_host,
                detect_guest,
                requires: requires.into(),
            });
        }
        Ok(Table {
            technologies: technologies.into(),
            source: file.to_string().into(),
        })
    }

    /// A technology by id.
    pub fn get(&self, id: &str) -> Option<&Technology> {
        self.technologies.iter().find(|t| t.id == id)
    }
}
