//! What changed between two reports: the report's `facts` (every fact of a probe, as JSON) and
//! the comparison `virtprobe diff` and `virtprobe serve`'s history make of two of them. A verdict
//! that differs is a [`Change`]; its `because` names the facts its verdict reads (the table's
//! conditions, its dependencies' too) whose values differ. Reads no host files.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Report, Verdict};
use crate::facts::{Facts, Value};
use crate::rules::Table;

/// A fact's value in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum FactValue {
    /// Yes or no.
    Bool(bool),
    /// A number.
    Int(i64),
    /// A word, a line or a version (`6.1.0`).
    Text(String),
    /// A set of names, sorted.
    Names(BTreeSet<String>),
    /// Names with values.
    Pairs(BTreeMap<String, String>),
}

/// One fact of the report: its value, or why it is unknown, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FactEntry {
    /// The value, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<FactValue>,
    /// Why it is unknown, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    /// Where it came from (a host path, `cpuid`, an ioctl).
    #[serde(default)]
    pub source: String,
}

/// A probe's facts as the report's `facts` holds them.
pub fn facts_json(facts: &Facts) -> BTreeMap<String, FactEntry> {
    facts
        .iter()
        .map(|(name, f)| {
            let (value, unknown) = match &f.value {
                Ok(v) => (Some(value_json(v)), None),
                Err(why) => (None, Some(why.clone())),
            };
            let entry = FactEntry {
                value,
                unknown,
                source: f.source.to_string(),
            };
            (name.to_string(), entry)
        })
        .collect()
}

fn value_json(v: &Value) -> FactValue {
    match v {
        Value::Bool(b) => FactValue::Bool(*b),
        Value::Int(i) => FactValue::Int(*i),
        Value::Str(s) => FactValue::Text(s.clone()),
        Value::Version(v) => FactValue::Text(v.to_string()),
        Value::Set(s) => FactValue::Names(s.clone()),
        Value::Map(m) => FactValue::Pairs(m.clone()),
    }
}

/// What one side of a comparison says: each technology's verdict, and the facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Side {
    /// The document's contract version.
    pub schema_version: u32,
    /// Technologies in table order.
    pub technologies: Vec<SideVerdict>,
    /// The facts (empty for a document written before reports carried them).
    #[serde(default)]
    pub facts: BTreeMap<String, FactEntry>,
}

/// One technology's verdict, as a document gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SideVerdict {
    /// Technology id.
    pub id: String,
    /// Its verdict.
    pub verdict: Verdict,
}

impl Side {
    /// The side a report gives.
    pub fn of(r: &Report) -> Side {
        Side {
            schema_version: r.schema_version,
            technologies: r
                .technologies
                .iter()
                .map(|t| SideVerdict {
                    id: t.id.clone(),
                    verdict: t.verdict,
                })
                .collect(),
            facts: r.facts.clone(),
        }
    }

    fn verdict(&self, id: &str) -> Option<Verdict> {
        self.technologies
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.verdict)
    }
}

/// A fact as seen on one side: its value, or why it is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Seen {
    /// The value (for a set or a map, only the entries the other side does not have).
    Value(FactValue),
    /// Unknown, and why.
    Unknown {
        /// Why.
        unknown: String,
    },
}

/// A fact whose value differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Because {
    /// Fact name.
    pub fact: String,
    /// Before (`null`: the document had no such fact).
    pub from: Option<Seen>,
    /// Now (`null`: the document has no such fact).
    pub to: Option<Seen>,
}

/// A technology whose verdict differs, and the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// Technology id.
    pub technology: String,
    /// Verdict before (`null`: not in the old document).
    pub from: Option<Verdict>,
    /// Verdict now (`null`: not in the new document).
    pub to: Option<Verdict>,
    /// The facts its verdict reads whose values differ (every differing fact for a technology the
    /// table in use does not have).
    pub because: Vec<Because>,
}

/// Every technology whose verdict differs from `old` to `new`, in `new`'s order (then those only
/// `old` has), each with the facts behind it; `table` says which facts each verdict reads.
pub fn compare(old: &Side, new: &Side, table: &Table) -> Vec<Change> {
    let ids = new
        .technologies
        .iter()
        .chain(&old.technologies)
        .map(|t| t.id.as_str());
    let mut seen = BTreeSet::new();
    let mut changes = Vec::new();
    for id in ids {
        if !seen.insert(id) {
            continue;
        }
        let (from, to) = (old.verdict(id), new.verdict(id));
        if from == to {
            continue;
        }
        let reads = table.reads(id);
        let because = differing(old, new)
            .filter_map(|name| {
                if table.get(id).is_none() {
                    return Some(because(name, old, new, None));
                }
                let names = reads.get(name)?;
                Some(because(name, old, new, names.as_ref())).filter(|b| b.from != b.to)
            })
            .collect();
        changes.push(Change {
            technology: id.to_string(),
            from,
            to,
            because,
        });
    }
    changes
}

/// The facts whose entries differ (value or unknown; the source is not compared).
fn differing<'a>(old: &'a Side, new: &'a Side) -> impl Iterator<Item = &'a str> {
    let names: BTreeSet<&str> = old
        .facts
        .keys()
        .chain(new.facts.keys())
        .map(String::as_str)
        .collect();
    names.into_iter().filter(|n| {
        let (a, b) = (old.facts.get(*n), new.facts.get(*n));
        a.map(|f| (&f.value, &f.unknown)) != b.map(|f| (&f.value, &f.unknown))
    })
}

/// How fact `name` differs; a set or map shows only the entries one side has and the other has
/// not, of `names` when given (the members or keys the verdict asks about).
fn because(name: &str, old: &Side, new: &Side, names: Option<&BTreeSet<String>>) -> Because {
    let seen = |f: Option<&FactEntry>, other: Option<&FactEntry>| -> Option<Seen> {
        let f = f?;
        let Some(v) = &f.value else {
            return Some(Seen::Unknown {
                unknown: f.unknown.clone().unwrap_or_default(),
            });
        };
        let asked = |k: &String| names.is_none_or(|n| n.contains(k));
        Some(Seen::Value(
            match (v, other.and_then(|o| o.value.as_ref())) {
                (FactValue::Names(a), Some(FactValue::Names(b))) => {
                    FactValue::Names(a.difference(b).filter(|k| asked(k)).cloned().collect())
                }
                (FactValue::Names(a), _) => {
                    FactValue::Names(a.iter().filter(|k| asked(k)).cloned().collect())
                }
                (FactValue::Pairs(a), b) => FactValue::Pairs(
                    a.iter()
                        .filter(|(k, v)| {
                            asked(k)
                                && !matches!(b, Some(FactValue::Pairs(b)) if b.get(*k) == Some(v))
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                (v, _) => v.clone(),
            },
        ))
    };
    let (a, b) = (old.facts.get(name), new.facts.get(name));
    Because {
        fact: name.to_string(),
        from: seen(a, b),
        to: seen(b, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(verdicts: &[(&str, Verdict)], facts: &[(&str, FactValue)]) -> Side {
        Side {
            schema_version: 1,
            technologies: verdicts
                .iter()
                .map(|(id, v)| SideVerdict {
                    id: id.to_string(),
                    verdict: *v,
                })
                .collect(),
            facts: facts
                .iter()
                .map(|(n, v)| {
                    let e = FactEntry {
                        value: Some(v.clone()),
                        unknown: None,
                        source: String::new(),
                    };
                    (n.to_string(), e)
                })
                .collect(),
        }
    }

    fn names(n: &[&str]) -> FactValue {
        FactValue::Names(n.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn names_the_facts_a_verdict_reads_and_only_the_entries_it_asks_about() {
        let table = Table::embedded().unwrap();
        let old = side(
            &[("kvm", Verdict::Ready), ("lxc", Verdict::Ready)],
            &[
                ("kernel.modules", names(&["kvm", "kvm_intel", "loop"])),
                ("kernel.release", FactValue::Text("6.1.0".into())),
            ],
        );
        let new = side(
            &[("kvm", Verdict::Available), ("lxc", Verdict::Ready)],
            &[
                ("kernel.modules", names(&["kvm_intel", "fuse"])),
                ("kernel.release", FactValue::Text("6.1.0".into())),
            ],
        );
        let c = compare(&old, &new, &table);
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].technology, "kvm");
        assert_eq!(
            c[0].because,
            [Because {
                fact: "kernel.modules".into(),
                from: Some(Seen::Value(names(&["kvm"]))),
                to: Some(Seen::Value(names(&[]))),
            }]
        );
        assert!(compare(&old, &old, &table).is_empty());
    }

    #[test]
    fn a_technology_the_table_lacks_gets_every_differing_fact() {
        let table = Table::embedded().unwrap();
        let old = side(
            &[("zz", Verdict::Ready)],
            &[("arch", FactValue::Text("a".into()))],
        );
        let new = side(&[], &[("arch", FactValue::Text("b".into()))]);
        let c = compare(&old, &new, &table);
        assert_eq!((c[0].from, c[0].to), (Some(Verdict::Ready), None));
        assert_eq!(c[0].because[0].fact, "arch");
    }
}
