//! Conditions: the TOML's condition tables validated into [`Cond`], every error with its file,
//! line and column.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::model::*;
use super::parse::DataError;
use super::raw::{RawCond, RawGroup, RawList};
use crate::facts::{Asks, Kind, registry};
use crate::version::KVersion;

/// 1-based line and column of a byte offset in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

pub(super) struct Ctx<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) sets: &'a BTreeMap<String, Vec<String>>,
    /// The table's named conditions (empty while they themselves are read: one cannot use
    /// another).
    pub(super) conditions: &'a BTreeMap<String, Cond>,
    /// The table's named groups of requirements.
    pub(super) groups: &'a BTreeMap<String, RawGroup>,
}

impl Ctx<'_> {
    pub(super) fn err(&self, span: Range<usize>, message: impl Into<String>) -> DataError {
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

pub(super) fn convert(ctx: &Ctx, raw: &Spanned<RawCond>) -> Result<Cond, DataError> {
    let span = raw.span();
    let r = raw.get_ref();
    if let Some(name) = &r.use_ {
        if r.given() != ["use"] {
            return Err(ctx.err(span, "`use` stands alone in a condition"));
        }
        return ctx.conditions.get(name).cloned().ok_or_else(|| {
            let known: Vec<&str> = ctx.conditions.keys().map(String::as_str).collect();
            let message = if known.is_empty() {
                format!("unknown named condition {name:?} (a named condition cannot use another)")
            } else {
                format!(
                    "unknown named condition {name:?}; the table's [conditions] are: {}",
                    known.join(", ")
                )
            };
            ctx.err(span.clone(), message)
        });
    }
    if let Some(b) = r.always {
        if r.given() != ["always"] {
            return Err(ctx.err(span, "`always` stands alone in a condition"));
        }
        return Ok(Cond::Const(b));
    }
    if r.any.is_some() || r.all.is_some() || r.not.is_some() {
        if !matches!(r.given().as_slice(), ["any"] | ["all"] | ["not"]) {
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

/// The operators of a fact test, as the TOML spells them.
const OPERATORS: &[&str] = &[
    "in", "not_in", "has", "has_any", "lacks", "contains", "ge", "lt", "is",
];

fn leaf(ctx: &Ctx, r: &RawCond, span: Range<usize>) -> Result<Cond, DataError> {
    let Some(fact) = &r.fact else {
        return Err(ctx.err(span, "a condition needs `fact` (or any/all/not/use)"));
    };
    // Shorthands for several tests on one fact, all of which must hold: `match` (each key of a map
    // fact in its values) and `has_all` (a set holds each). They become `all` of single tests,
    // so the evidence has a line per key or member.
    if r.match_.is_some() || r.has_all.is_some() {
        let one = RawCond {
            fact: Some(fact.clone()),
            ..RawCond::default()
        };
        if r.given() != ["fact", "match"] && r.given() != ["fact", "has_all"] {
            return Err(ctx.err(
                span,
                format!("fact {fact:?}: `match` and `has_all` stand alone beside `fact`"),
            ));
        }
        let members: Vec<RawCond> = match (&r.match_, &r.has_all) {
            (Some(m), None) if !m.0.is_empty() => {
                m.0.iter()
                    .map(|(k, v)| RawCond {
                        key: Some(k.clone()),
                        in_: Some(RawList::Values(v.clone())),
                        ..one.clone()
                    })
                    .collect()
            }
            (None, Some(l)) => {
                let values = ctx.list(&span, l)?;
                values
                    .into_iter()
                    .map(|v| RawCond {
                        has: Some(v),
                        ..one.clone()
                    })
                    .collect()
            }
            _ => {
                return Err(ctx.err(
                    span,
                    format!("fact {fact:?}: give one of `match` and `has_all`, not empty"),
                ));
            }
        };
        if members.is_empty() {
            return Err(ctx.err(span, "`has_all` needs at least one value"));
        }
        let tests = members
            .iter()
            .map(|m| leaf(ctx, m, span.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Cond::All(tests));
    }
    let Some(def) = registry::lookup(fact) else {
        let known: Vec<&str> = registry::FACTS.iter().map(|f| f.name).collect();
        return Err(ctx.err(
            span,
            format!("unknown fact {fact:?}; known facts: {}", known.join(", ")),
        ));
    };
    let ops = r
        .given()
        .into_iter()
        .filter(|g| OPERATORS.contains(g))
        .count();
    if ops != 1 {
        return Err(ctx.err(
            span,
            format!(
                "fact {fact:?}: give exactly one of {} (found {ops})",
                OPERATORS.join(", ")
            ),
        ));
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

/// A condition written in another data file (`data/fixes.toml`), as read before validation.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(transparent)]
pub struct Written(Spanned<super::raw::RawCond>);

impl Written {
    /// Validate it as the table's conditions are (no named sets or conditions), every error with
    /// `file`, line and column in `text`.
    pub fn validate(&self, file: &str, text: &str) -> Result<Cond, DataError> {
        let none = BTreeMap::new();
        let groups = BTreeMap::new();
        let ctx = Ctx {
            file,
            text,
            sets: &none,
            conditions: &BTreeMap::new(),
            groups: &groups,
        };
        convert(&ctx, &self.0)
    }
}
