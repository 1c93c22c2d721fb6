//! Validating the table's TOML: every error names file, line and column. The embedded table was
//! parsed here when its compact form was written (`compact.rs`; a test keeps the two equal).

use std::collections::{BTreeMap, BTreeSet};

use toml::Spanned;

use super::cond::{Ctx, convert, line_col};
use super::model::*;
use super::raw::{RawCond, RawDetect, RawRequirement, RawTable, RawTechnology};
use crate::sources::virt::Virt;

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
/// One requirement as written (`name` fills `{name}` in a group's wording; `proof` passes its
/// test too).
fn requirement(
    ctx: &Ctx,
    raw: &Spanned<RawRequirement>,
    name: &str,
    proof: Option<&Cond>,
) -> Result<Requirement, DataError> {
    let r = raw.get_ref();
    if r.proof.is_some() {
        return Err(ctx.err(raw.span(), "`proof` goes with `group`"));
    }
    let (Some(id), Some(class), Some(why), Some(test)) = (&r.id, r.class, &r.why, &r.test) else {
        return Err(ctx.err(
            raw.span(),
            "a requirement needs id, class, why and test (or names a `group`)",
        ));
    };
    let test = convert(ctx, test)?;
    Ok(Requirement {
        id: id.clone(),
        class,
        why: why.replace("{name}", name),
        fix: r.fix.as_ref().map(|f| f.replace("{name}", name)),
        when: r.when.as_ref().map(|c| convert(ctx, c)).transpose()?,
        test: match proof {
            Some(p) => Cond::Any(vec![p.clone(), test]),
            None => test,
        },
    })
}

/// A group's requirements, in the place of the requirement that names it.
fn group(
    ctx: &Ctx,
    name: &str,
    group: &str,
    raw: &Spanned<RawRequirement>,
) -> Result<Vec<Requirement>, DataError> {
    let r = raw.get_ref();
    let only_group = r.id.is_none()
        && r.class.is_none()
        && r.why.is_none()
        && r.fix.is_none()
        && r.when.is_none()
        && r.test.is_none();
    if !only_group {
        return Err(ctx.err(raw.span(), "`group` stands alone (with `proof` at most)"));
    }
    let Some(g) = ctx.groups.get(group) else {
        let known: Vec<&str> = ctx.groups.keys().map(String::as_str).collect();
        return Err(ctx.err(
            raw.span(),
            format!(
                "unknown group {group:?}; the table's [groups] are: {}",
                known.join(", ")
            ),
        ));
    };
    let proof = r.proof.as_ref().map(|p| convert(ctx, p)).transpose()?;
    g.requires
        .iter()
        .map(|gr| {
            if gr.get_ref().group.is_some() {
                return Err(ctx.err(gr.span(), "a group cannot name another group"));
            }
            requirement(ctx, gr, name, proof.as_ref())
        })
        .collect()
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
    let mut requires = Vec::new();
    let mut req_ids = BTreeSet::new();
    for r in &t.requires {
        let these = match &r.get_ref().group {
            Some(name) => group(ctx, &t.name, name, r)?,
            None => vec![requirement(ctx, r, &t.name, None)?],
        };
        for req in these {
            if !req_ids.insert(req.id.clone()) {
                return Err(ctx.err(
                    r.span(),
                    format!("{id}: duplicate requirement id {:?}", req.id),
                ));
            }
            requires.push(req);
        }
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
            return Err(ctx.err(
                w.span(),
                format!(
                    "{id}: unknown word {:?} in detect.words; the words are: {}",
                    w.get_ref(),
                    Virt::WORDS.join(", ")
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
        // Named conditions first (they may not use one another), then the technologies.
        let none = BTreeMap::new();
        let mut ctx = Ctx {
            file,
            text,
            sets: &raw.sets,
            conditions: &none,
            groups: &raw.groups,
        };
        let mut conditions = BTreeMap::new();
        for (name, c) in &raw.conditions {
            conditions.insert(name.clone(), convert(&ctx, c)?);
        }
        ctx.conditions = &conditions;
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
