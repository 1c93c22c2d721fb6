//! Validating the table's TOML: every error names file, line and column. The embedded table was
//! parsed here when its compact form was written (`compact.rs`; a test keeps the two equal).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::model::*;
use crate::facts::{Asks, Kind, registry};
use crate::sources::virt::words::{Virt, WORDS};
use crate::version::KVersion;

/// The table shipped with virtprobe, as text (what its compact form was made from).
pub const EMBEDDED: &str = include_str!("../../data/technologies.toml");
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

/// A list operand: the values, or a named set of the table's `[sets]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawList {
    Values(Vec<String>),
    Set { set: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCond {
    fact: Option<String>,
    key: Option<String>,
    #[serde(rename = "in")]
    in_: Option<RawList>,
    not_in: Option<RawList>,
    has: Option<String>,
    has_any: Option<RawList>,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetect {
    #[serde(default)]
    words: Vec<Spanned<String>>,
    host: Option<Spanned<RawCond>>,
    guest: Option<Spanned<RawCond>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTechnology {
    id: Spanned<String>,
    name: String,
    category: Category,
    #[serde(default)]
    source_row: bool,
    status: Status,
    #[serde(default)]
    status_note: String,
    #[serde(default)]
    performance_rank: u8,
    #[serde(default)]
    isolation: Vec<Isolation>,
    #[serde(default)]
    guest_os: Vec<GuestOs>,
    #[serde(default)]
    features: Vec<Feature>,
    #[serde(default)]
    open_source: bool,
    ready: String,
    #[serde(default)]
    depends: Vec<Spanned<String>>,
    #[serde(default)]
    table: Option<TableColumns>,
    #[serde(default)]
    detect: Option<RawDetect>,
    #[serde(default)]
    requires: Vec<Spanned<RawRequirement>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    schema_version: u32,
    #[serde(default)]
    sets: BTreeMap<String, Vec<String>>,
    technology: Vec<RawTechnology>,
}

pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    sets: &'a BTreeMap<String, Vec<String>>,
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

    fn list(&self, span: &Range<usize>, l: &RawList) -> Result<Vec<String>, DataError> {
        match l {
            RawList::Values(v) => Ok(v.clone()),
            RawList::Set { set } => self.sets.get(set).cloned().ok_or_else(|| {
                let known: Vec<&str> = self.sets.keys().map(String::as_str).collect();
                self.err(
                    span.clone(),
                    format!(
                        "unknown set {set:?}; the table's [sets] are: {}",
                        known.join(", ")
                    ),
                )
            }),
        }
    }
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
        if let Some(inner) = &r.not {
            return Ok(Cond::Not(Box::new(convert(ctx, inner)?)));
        }
        let (list, name, make): (_, _, fn(Vec<Cond>) -> Cond) = match (&r.any, &r.all) {
            (Some(l), _) => (l, "any", Cond::Any),
            (_, Some(l)) => (l, "all", Cond::All),
            _ => unreachable!("one combinator was counted"),
        };
        if list.is_empty() {
            return Err(ctx.err(span, format!("`{name}` needs at least one condition")));
        }
        let members = list
            .iter()
            .map(|c| convert(ctx, c))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(make(members));
    }
    leaf(ctx, r, span)
}

fn leaf(ctx: &Ctx, r: &RawCond, span: Range<usize>) -> Result<Cond, DataError> {
    let Some(fact) = &r.fact else {
        return Err(ctx.err(span, "a condition needs `fact` (or any/all/not)"));
    };
    let Some(def) = registry::lookup(fact) else {
        let known: Vec<&str> = registry::FACTS.iter().map(|f| f.name).collect();
        return Err(ctx.err(
            span,
            format!("unknown fact {fact:?}; known facts: {}", known.join(", ")),
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
    let kind = if r.key.is_some() {
        if def.kind != Kind::Map {
            return Err(ctx.err(
                span,
                format!(
                    "fact {fact:?} is a {}; `key` is only for map facts",
                    def.kind.as_str()
                ),
            ));
        }
        Kind::Str
    } else {
        def.kind
    };
    let bad = |op: &str| {
        ctx.err(
            span.clone(),
            format!(
                "operator `{op}` does not apply to fact {fact:?} ({})",
                kind.as_str()
            ),
        )
    };
    let bound = |s: &str, op: &str| -> Result<Bound, DataError> {
        match kind {
            Kind::Version => s
                .parse::<KVersion>()
                .map(Bound::Version)
                .map_err(|e| ctx.err(span.clone(), format!("`{op}`: {e}"))),
            Kind::Int => s
                .parse::<i64>()
                .map(Bound::Int)
                .map_err(|_| ctx.err(span.clone(), format!("`{op}`: {s:?} is not a whole number"))),
            _ => Err(bad(op)),
        }
    };
    // A list operator: at least one value, and a fact of one of `kinds`.
    let list = |l: &RawList, op: &str, kinds: &[Kind]| {
        let v = ctx.list(&span, l)?;
        if v.is_empty() {
            Err(ctx.err(span.clone(), format!("`{op}` needs at least one value")))
        } else if !kinds.contains(&kind) {
            Err(bad(op))
        } else {
            Ok(v)
        }
    };
    let single = |v: &String, op: &str, kinds: &[Kind]| {
        if kinds.contains(&kind) {
            Ok(v.clone())
        } else {
            Err(bad(op))
        }
    };
    let op = if let Some(v) = &r.in_ {
        Op::In(list(v, "in", &[Kind::Str, Kind::Int])?)
    } else if let Some(v) = &r.not_in {
        Op::NotIn(list(v, "not_in", &[Kind::Str, Kind::Int])?)
    } else if let Some(v) = &r.has {
        Op::Has(single(v, "has", &[Kind::Set, Kind::Map])?)
    } else if let Some(v) = &r.has_any {
        Op::HasAny(list(v, "has_any", &[Kind::Set, Kind::Map])?)
    } else if let Some(v) = &r.lacks {
        Op::Lacks(single(v, "lacks", &[Kind::Set, Kind::Map])?)
    } else if let Some(v) = &r.contains {
        Op::Contains(single(v, "contains", &[Kind::Str])?)
    } else if let Some(v) = &r.ge {
        Op::Ge(bound(v, "ge")?)
    } else if let Some(v) = &r.lt {
        Op::Lt(bound(v, "lt")?)
    } else if let Some(b) = r.is {
        if kind != Kind::Bool {
            return Err(bad("is"));
        }
        Op::Is(b)
    } else {
        unreachable!("exactly one operator was counted above")
    };
    // A tool is looked up by name in each bin folder: one path component, `*` only at the end.
    if def.asks == Asks::Tools {
        let names: &[String] = match &op {
            Op::Has(v) | Op::Lacks(v) => std::slice::from_ref(v),
            Op::HasAny(v) => v,
            _ => &[],
        };
        let bad_name = |n: &String| {
            let stem = n.strip_suffix('*').unwrap_or(n);
            stem.is_empty()
                || stem == "."
                || stem == ".."
                || !stem
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
        };
        if let Some(n) = names.iter().chain(r.key.iter()).find(|n| bad_name(n)) {
            return Err(ctx.err(
                span,
                format!("tool name {n:?}: a program's file name (letters, digits, - _ . +), `*` only at the end"),
            ));
        }
    }
    Ok(Cond::Leaf {
        fact: def,
        key: r.key.clone(),
        shown: super::eval::describe(&op).into(),
        op,
    })
}

fn technology(
    ctx: &Ctx,
    t: RawTechnology,
    earlier: &BTreeSet<String>,
) -> Result<Technology, DataError> {
    let id = t.id.get_ref().clone();
    let at = t.id.span();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(ctx.err(
            at,
            format!("technology id {id:?} must be lowercase letters, digits and dashes"),
        ));
    }
    if earlier.contains(&id) {
        return Err(ctx.err(at, format!("duplicate technology id {id:?}")));
    }
    if !(1..=5).contains(&t.performance_rank) {
        return Err(ctx.err(
            at,
            format!("{id}: performance_rank must be 1 (native) to 5 (slow emulation)"),
        ));
    }
    if t.source_row && t.table.is_none() {
        return Err(ctx.err(
            at,
            format!("{id}: a row of the 2009 table needs its [technology.table] columns"),
        ));
    }
    let mut req_ids = BTreeSet::new();
    let mut requires = Vec::new();
    for r in &t.requires {
        let rr = r.get_ref();
        if !req_ids.insert(rr.id.clone()) {
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
            when: rr.when.as_ref().map(|c| convert(ctx, c)).transpose()?,
            test: convert(ctx, &rr.test)?,
        });
    }
    let detect = |pick: fn(&RawDetect) -> &Option<Spanned<RawCond>>| {
        t.detect
            .as_ref()
            .and_then(|d| pick(d).as_ref())
            .map(|c| convert(ctx, c))
            .transpose()
    };
    let detect_host = detect(|d| &d.host)?;
    let detect_guest = detect(|d| &d.guest)?;
    let mut words = Vec::new();
    for w in t.detect.iter().flat_map(|d| &d.words) {
        let Some(v) = Virt::from_word(w.get_ref()) else {
            let known = WORDS;
            return Err(ctx.err(
                w.span(),
                format!(
                    "{id}: unknown word {:?} in detect.words; the words are: {}",
                    w.get_ref(),
                    known.join(", ")
                ),
            ));
        };
        words.push(v);
    }
    let mut depends = Vec::new();
    for d in &t.depends {
        let dep = d.get_ref();
        if !earlier.contains(dep) {
            return Err(ctx.err(
                d.span(),
                format!("{id}: depends on {dep:?}, which is not a technology listed before it"),
            ));
        }
        depends.push(dep.clone());
    }
    Ok(Technology {
        id,
        name: t.name,
        category: t.category,
        source_row: t.source_row,
        status: t.status,
        status_note: t.status_note,
        performance_rank: t.performance_rank,
        isolation: t.isolation,
        guest_os: t.guest_os,
        features: t.features,
        open_source: t.open_source,
        ready: t.ready,
        depends,
        table: t.table.map(std::sync::Arc::new),
        detect_host,
        detect_guest,
        words,
        requires,
    })
}

impl Table {
    /// Parse and validate table text.
    pub fn parse(text: &str, file: &str) -> Result<Table, DataError> {
        let raw: RawTable = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
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
        let ctx = Ctx {
            file,
            text,
            sets: &raw.sets,
        };
        let mut seen = BTreeSet::new();
        let mut technologies = Vec::new();
        for t in raw.technology {
            let t = technology(&ctx, t, &seen)?;
            seen.insert(t.id.clone());
            technologies.push(t);
        }
        Ok(Table {
            technologies,
            source: file.to_string(),
        })
    }
}
