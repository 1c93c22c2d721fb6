//! Evaluating conditions on facts: three-valued (pass, fail, unknown), and never stopping at the
//! first miss, so a report lists every reason with the facts it read.

use super::evidence::{Evidence, Observed};
use super::model::{Cond, Op};
use crate::facts::{Facts, Value};

words! {
    /// The outcome of a condition or requirement.
    pub enum Outcome {
        /// Holds.
        Pass = "pass",
        /// Does not hold.
        Fail = "fail",
        /// Could not be decided: a fact it needs is unknown.
        Unknown = "unknown",
        /// Could not be tried here (a captured tree, a check that needs another user); nothing
        /// observed fails it.
        NotTried = "not-tried",
    }
}

fn pass(b: bool) -> Outcome {
    if b { Outcome::Pass } else { Outcome::Fail }
}

/// Evaluate a condition, writing a line of evidence for every fact it reads.
pub fn eval(c: &Cond, facts: &Facts, evidence: &mut Vec<Evidence>) -> Outcome {
    run(c, facts, &mut Some(evidence))
}

/// Whether a condition holds, without its evidence (a requirement's `when`, a role's detection).
pub fn holds(c: &Cond, facts: &Facts) -> Outcome {
    run(c, facts, &mut None)
}

fn run(c: &Cond, facts: &Facts, evidence: &mut Option<&mut Vec<Evidence>>) -> Outcome {
    match c {
        // Every member is evaluated (no short cut), so the evidence lists every reason. One
        // member decides `all` when it fails and `any` when it passes; else an unknown member
        // leaves it unknown. A member not tried here neither rescues an `any` that otherwise
        // fails nor blocks an `all`: the outcome is "not tried" only when nothing else decides.
        Cond::All(list) | Cond::Any(list) => {
            let outcomes: Vec<Outcome> = list.iter().map(|c| run(c, facts, evidence)).collect();
            let has = |o: Outcome| outcomes.contains(&o);
            let (decides, otherwise) = match c {
                Cond::All(_) => (Outcome::Fail, Outcome::Pass),
                _ => (Outcome::Pass, Outcome::Fail),
            };
            if has(decides) {
                decides
            } else if has(Outcome::Unknown) {
                Outcome::Unknown
            } else if has(otherwise) && !(decides == Outcome::Fail && has(Outcome::NotTried)) {
                otherwise
            } else {
                Outcome::NotTried
            }
        }
        Cond::Const(b) => {
            if let Some(e) = evidence {
                e.push(Evidence::Table(*b));
            }
            pass(*b)
        }
        Cond::Not(inner) => match run(inner, facts, evidence) {
            Outcome::Pass => Outcome::Fail,
            Outcome::Fail => Outcome::Pass,
            other => other,
        },
        Cond::Leaf { fact, key, op, .. } => {
            let Some(f) = facts.get(fact.name) else {
                return record(evidence, c, Observed::NotProbed, None, Outcome::Unknown);
            };
            match &f.value {
                Err(why) if f.not_tried => {
                    let seen = Observed::NotTried(why.clone());
                    record(evidence, c, seen, None, Outcome::NotTried)
                }
                Err(why) => record(
                    evidence,
                    c,
                    Observed::Unknown(why.clone()),
                    None,
                    Outcome::Unknown,
                ),
                Ok(value) => {
                    if let Some(why) = unsure(value, key.as_deref(), op, &f.unsure) {
                        let seen = Observed::Unknown(why.to_string());
                        return record(evidence, c, seen, None, Outcome::Unknown);
                    }
                    let (outcome, seen) = test(value, key.as_deref(), op);
                    record(evidence, c, Observed::Value(seen), Some(&f.source), outcome)
                }
            }
        }
    }
}

/// Write a test's line of evidence, when evidence is kept; give its outcome back.
fn record(
    evidence: &mut Option<&mut Vec<Evidence>>,
    c: &Cond,
    observed: Observed,
    source: Option<&std::sync::Arc<str>>,
    outcome: Outcome,
) -> Outcome {
    if let (
        Some(e),
        Cond::Leaf {
            fact, key, shown, ..
        },
    ) = (evidence, c)
    {
        e.push(Evidence::Fact {
            fact: fact.name,
            key: key.clone(),
            op: shown.clone(),
            observed,
            source: source.cloned(),
            outcome,
        });
    }
    outcome
}

/// An operator as the evidence shows it (`in [x86_64, aarch64]`, `has "kvm"`, `>= 2.6.32`).
pub(super) fn describe(op: &Op) -> String {
    match op {
        Op::In(v) => format!("in [{}]", v.join(", ")),
        Op::NotIn(v) => format!("not in [{}]", v.join(", ")),
        // A long has_any (QEMU's emulators) shows its first three.
        Op::HasAny(v) if v.len() > 4 => {
            format!(
                "has any of [{} and {} more]",
                v[..3].join(", "),
                v.len() - 3
            )
        }
        Op::HasAny(v) => format!("has any of [{}]", v.join(", ")),
        Op::Has(v) => format!("has {v:?}"),
        Op::Lacks(v) => format!("lacks {v:?}"),
        Op::Contains(v) => format!("contains {v:?}"),
        Op::Ge(b) => format!(">= {b}"),
        Op::Lt(b) => format!("< {b}"),
        Op::Is(b) => if *b { "is true" } else { "is false" }.to_string(),
    }
}

/// Why a test of a set or map fact cannot be decided: the names it asks about are not in the
/// value and the probe could not tell whether they should be.
fn unsure<'a>(
    value: &Value,
    key: Option<&str>,
    op: &Op,
    unsure: &'a std::collections::BTreeMap<String, String>,
) -> Option<&'a str> {
    if unsure.is_empty() || key.is_some() {
        return None;
    }
    let present = |x: &String| match value {
        Value::Set(s) => s.contains(x),
        Value::Map(m) => m.contains_key(x),
        _ => true,
    };
    match op {
        Op::Has(x) | Op::Lacks(x) if !present(x) => unsure.get(x).map(String::as_str),
        Op::HasAny(list) if !list.iter().any(present) => {
            list.iter().find_map(|x| unsure.get(x)).map(String::as_str)
        }
        _ => None,
    }
}

/// Test one fact value: the outcome, and what was observed.
fn test(value: &Value, key: Option<&str>, op: &Op) -> (Outcome, String) {
    let listed = |list: &[String], s: &str| list.iter().any(|x| x == s);
    // Map facts with a key: look the key up, absent means "not set".
    if let (Some(k), Value::Map(m)) = (key, value) {
        let v = m.get(k).map(String::as_str);
        let seen = v.map_or("not set".to_string(), |s| format!("{s:?}"));
        let outcome = match op {
            Op::In(list) => pass(v.is_some_and(|s| listed(list, s))),
            Op::NotIn(list) => pass(!v.is_some_and(|s| listed(list, s))),
            Op::Contains(sub) => pass(v.is_some_and(|s| s.contains(sub.as_str()))),
            _ => Outcome::Unknown,
        };
        return (outcome, seen);
    }
    let present = |yes: bool| if yes { "present" } else { "absent" };
    match (value, op) {
        (Value::Str(s), Op::In(list)) => (pass(listed(list, s)), format!("{s:?}")),
        (Value::Str(s), Op::NotIn(list)) => (pass(!listed(list, s)), format!("{s:?}")),
        (Value::Str(s), Op::Contains(sub)) => (pass(s.contains(sub.as_str())), format!("{s:?}")),
        (Value::Int(i), Op::In(list) | Op::NotIn(list)) => {
            let found = list.iter().any(|x| x.parse::<i64>().ok() == Some(*i));
            (pass(found == matches!(op, Op::In(_))), i.to_string())
        }
        // `ge` holds when the value is at least the bound, `lt` when it is not.
        (Value::Int(i), Op::Ge(super::Bound::Int(b)) | Op::Lt(super::Bound::Int(b))) => {
            (pass((i >= b) == matches!(op, Op::Ge(_))), i.to_string())
        }
        (
            Value::Version(v),
            Op::Ge(super::Bound::Version(b)) | Op::Lt(super::Bound::Version(b)),
        ) => (pass((v >= b) == matches!(op, Op::Ge(_))), v.to_string()),
        (Value::Bool(b), Op::Is(want)) => (pass(b == want), b.to_string()),
        (Value::Set(s), Op::Has(x) | Op::Lacks(x)) => {
            let yes = s.contains(x);
            (
                pass(yes == matches!(op, Op::Has(_))),
                format!("{x:?} {}", present(yes)),
            )
        }
        (Value::Set(s), Op::HasAny(list)) => match list.iter().find(|x| s.contains(*x)) {
            Some(x) => (Outcome::Pass, format!("{x:?} present")),
            None => (Outcome::Fail, "none present".into()),
        },
        (Value::Map(m), Op::HasAny(list)) => match list.iter().find_map(|x| m.get_key_value(x)) {
            Some((k, v)) => (Outcome::Pass, format!("{k:?} = {v:?}")),
            None => (Outcome::Fail, "none set".into()),
        },
        (Value::Map(m), Op::Has(x)) => match m.get(x) {
            Some(v) => (Outcome::Pass, format!("{x:?} = {v:?}")),
            None => (Outcome::Fail, format!("{x:?} not set")),
        },
        (Value::Map(m), Op::Lacks(x)) => {
            let set = m.contains_key(x);
            let seen = format!("{x:?} {}", if set { "set" } else { "not set" });
            (pass(!set), seen)
        }
        (v, _) => (
            Outcome::Unknown,
            format!(
                "a {} value the operator does not apply to",
                v.kind().as_str()
            ),
        ),
    }
}
