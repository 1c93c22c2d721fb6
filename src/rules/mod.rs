//! The technology table: its data format, its validation, and rule evaluation.
//!
//! The table is data (`data/technologies.toml`, embedded; `--data FILE` replaces it). Each
//! technology carries the 2009 source table's columns and a list of requirements. A requirement is
//! a condition over facts (node-feature-discovery's match expressions, in TOML), a class that says
//! what a failure means (`unsupported`, `host-change`, `available`), the reason shown when it fails
//! and the remediation. Evaluation is three-valued (pass, fail, unknown) and never stops at the
//! first miss, so a report lists every reason.

mod table;

pub use table::*;

use serde::Serialize;

use crate::facts::{Facts, Value};
use crate::probe::Needs;

/// The embedded table, written by `build.rs`.
mod embedded {
    use std::borrow::Cow;

    use super::*;
    use crate::version::KVersion;

    include!(concat!(env!("OUT_DIR"), "/embedded_table.rs"));
}

impl Table {
    /// The embedded table: validated when virtprobe was built and compiled in as statics, so
    /// this copies two references and allocates nothing.
    pub fn embedded() -> Table {
        embedded::TABLE.clone()
    }

    /// What the probe must look at for these rules.
    pub fn needs(&self) -> Needs {
        let mut n = Needs::default();
        fn walk(c: &Cond, n: &mut Needs) {
            match c {
                Cond::All(v) | Cond::Any(v) => v.iter().for_each(|c| walk(c, n)),
                Cond::Not(c) => c.iter().for_each(|c| walk(c, n)),
                Cond::Const(_) => {}
                Cond::Leaf { fact, key, op } => {
                    let values: &[Text] = match (key, op) {
                        (Some(k), _) => std::slice::from_ref(k),
                        (None, Op::Has(v) | Op::Lacks(v)) => std::slice::from_ref(v),
                        (None, Op::HasAny(v)) => v,
                        _ => &[],
                    };
                    let values = values.iter().cloned();
                    match &**fact {
                        "kernel.config" => n.config_keys.extend(values),
                        "module.param" => n.params.extend(values),
                        "path" => n.paths.extend(values),
                        "tool" => n.tools.extend(values),
                        _ => {}
                    }
                }
            }
        }
        for t in self.technologies.iter() {
            for r in t.requires.iter() {
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
            .extend([Text::from("MODULES"), Text::from("CGROUP_BPF")]);
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
    let list = |out: &mut String, v: &[Text]| {
        for (i, x) in v.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(x);
        }
    };
    match op {
        Op::In(v) | Op::NotIn(v) | Op::HasAny(v) => {
            out.push_str(match op {
                Op::In(_) => "in [",
                Op::NotIn(_) => "not in [",
                _ => "has any of [",
            });
            // A long has_any (QEMU's emulators) shows its first three.
            if matches!(op, Op::HasAny(_)) && v.len() > 4 {
                list(out, &v[..3]);
                let _ = write!(out, " and {} more]", v.len() - 3);
            } else {
                list(out, v);
                out.push(']');
            }
        }
        Op::Has(v) => {
            out.push_str("has ");
            quote(out, v);
        }
        Op::Lacks(v) => {
            out.push_str("lacks ");
            quote(out, v);
        }
        Op::Contains(v) => {
            out.push_str("contains ");
            quote(out, v);
        }
        Op::Ge(b) => {
            let _ = write!(out, ">= {b}");
        }
        Op::Lt(b) => {
            let _ = write!(out, "< {b}");
        }
        Op::Is(b) => out.push_str(if *b { "is true" } else { "is false" }),
    }
}

/// Evaluate a condition, collecting the evidence read.
pub fn eval(c: &Cond, facts: &Facts, evidence: &mut Vec<String>) -> Outcome {
    eval_into(c, facts, &mut Some(evidence))
}

/// Evaluate a condition without writing its evidence (a requirement's `when`, a role's
/// detection): the same outcome as [`eval`], without formatting a line nobody reads.
pub fn holds(c: &Cond, facts: &Facts) -> Outcome {
    eval_into(c, facts, &mut None)
}

fn eval_into(c: &Cond, facts: &Facts, evidence: &mut Option<&mut Vec<String>>) -> Outcome {
    match c {
        // Every member is evaluated (no short cut), so the evidence lists every reason. One
        // member decides `all` when it fails and `any` when it passes; else an unknown member
        // leaves it unknown.
        Cond::All(list) | Cond::Any(list) => {
            let (decides, otherwise) = match c {
                Cond::All(_) => (Outcome::Fail, Outcome::Pass),
                _ => (Outcome::Pass, Outcome::Fail),
            };
            let (mut decided, mut unknown) = (false, false);
            for c in list.iter() {
                match eval_into(c, facts, evidence) {
                    Outcome::Unknown => unknown = true,
                    o if o == decides => decided = true,
                    _ => {}
                }
            }
            if decided {
                decides
            } else if unknown {
                Outcome::Unknown
            } else {
                otherwise
            }
        }
        Cond::Const(b) => {
            if let Some(ev) = evidence {
                ev.push(format!(
                    "the technology table: {}",
                    if *b {
                        "always holds"
                    } else {
                        "never holds on a Linux host"
                    }
                ));
            }
            pass(*b)
        }
        Cond::Not(inner) => match inner
            .first()
            .map_or(Outcome::Unknown, |c| eval_into(c, facts, evidence))
        {
            Outcome::Pass => Outcome::Fail,
            Outcome::Fail => Outcome::Pass,
            Outcome::Unknown => Outcome::Unknown,
        },
        Cond::Leaf { fact, key, op } => {
            let label = || {
                let mut l = String::with_capacity(96 + fact.len());
                l.push_str(fact);
                if let Some(k) = key {
                    l.push('[');
                    l.push_str(k);
                    l.push(']');
                }
                l
            };
            let Some(f) = facts.get(fact) else {
                if let Some(ev) = evidence {
                    ev.push(format!("{}: unknown (not probed)", label()));
                }
                return Outcome::Unknown;
            };
            let value = match &f.value {
                Ok(v) => v,
                Err(why) => {
                    if let Some(ev) = evidence {
                        ev.push(format!("{}: unknown ({why})", label()));
                    }
                    return Outcome::Unknown;
                }
            };
            let Some(ev) = evidence else {
                return test(value, key.as_deref(), op, None);
            };
            // One string, written in place (with pushes, not the formatting machinery): a report
            // holds a few hundred of these.
            let mut line = label();
            line.push(' ');
            write_op(&mut line, op);
            line.push_str(": ");
            // The outcome comes before what was observed: keep a place for it.
            let at = line.len();
            line.push_str(" (observed ");
            let outcome = test(value, key.as_deref(), op, Some(&mut line));
            line.insert_str(
                at,
                match outcome {
                    Outcome::Pass => "yes",
                    Outcome::Fail => "no",
                    Outcome::Unknown => "unknown",
                },
            );
            line.push(')');
            if !f.source.is_empty() {
                line.push_str(" [");
                line.push_str(&f.source);
                line.push(']');
            }
            ev.push(line);
            outcome
        }
    }
}

/// Write `s` as `{:?}` writes it, quoted and escaped, without the character-by-character escaping
/// when it is printable ASCII with neither quote nor backslash (most of what evidence quotes).
fn quote(out: &mut String, s: &str) {
    if s.bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
    {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        use std::fmt::Write as _;
        let _ = write!(out, "{s:?}");
    }
}

/// Writes a value as `{}` shows it (for [`test`]'s observations).
fn shown<T: std::fmt::Display>(v: &T) -> impl Fn(&mut String) + '_ {
    move |o: &mut String| {
        use std::fmt::Write as _;
        let _ = write!(o, "{v}");
    }
}

fn pass(b: bool) -> Outcome {
    if b { Outcome::Pass } else { Outcome::Fail }
}

/// Test one fact value; what was observed is written to `seen` when it is given.
fn test(value: &Value, key: Option<&str>, op: &Op, mut seen: Option<&mut String>) -> Outcome {
    // What was observed, written only when wanted: the quiet path formats nothing.
    let mut note = |write: &dyn Fn(&mut String)| {
        if let Some(s) = seen.as_deref_mut() {
            write(s);
        }
    };
    let listed = |list: &[Text], s: &str| list.iter().any(|x| x == s);
    let present = |yes: bool| if yes { "present" } else { "absent" };
    // Map facts with a key: look the key up, absent means "not set".
    if let (Some(k), Value::Map(m)) = (key, value) {
        let v = m.get(k).map(String::as_str);
        match v {
            Some(s) => note(&|o| quote(o, s)),
            None => note(&|o| o.push_str("not set")),
        }
        return match op {
            Op::In(list) => pass(v.is_some_and(|s| listed(list, s))),
            Op::NotIn(list) => pass(!v.is_some_and(|s| listed(list, s))),
            Op::Contains(sub) => pass(v.is_some_and(|s| s.contains(&**sub))),
            _ => Outcome::Unknown,
        };
    }
    match (value, op) {
        (Value::Str(s), Op::In(list)) => {
            note(&|o| quote(o, s));
            pass(listed(list, s))
        }
        (Value::Str(s), Op::NotIn(list)) => {
            note(&|o| quote(o, s));
            pass(!listed(list, s))
        }
        (Value::Str(s), Op::Contains(sub)) => {
            note(&|o| quote(o, s));
            pass(s.contains(&**sub))
        }
        (Value::Int(i), Op::In(list) | Op::NotIn(list)) => {
            note(&shown(i));
            let found = list.iter().any(|x| x.parse::<i64>().ok() == Some(*i));
            pass(found == matches!(op, Op::In(_)))
        }
        // `ge` holds when the value is at least the bound, `lt` when it is not.
        (Value::Int(i), Op::Ge(Bound::Int(b)) | Op::Lt(Bound::Int(b))) => {
            note(&shown(i));
            pass((i >= b) == matches!(op, Op::Ge(_)))
        }
        (Value::Version(v), Op::Ge(Bound::Version(b)) | Op::Lt(Bound::Version(b))) => {
            note(&shown(v));
            pass((v >= b) == matches!(op, Op::Ge(_)))
        }
        (Value::Bool(b), Op::Is(want)) => {
            note(&|o| o.push_str(if *b { "true" } else { "false" }));
            pass(b == want)
        }
        (Value::Set(s), Op::Has(x) | Op::Lacks(x)) => {
            let yes = s.contains(&**x);
            note(&|o| {
                quote(o, x);
                o.push(' ');
                o.push_str(present(yes));
            });
            pass(yes == matches!(op, Op::Has(_)))
        }
        (Value::Set(s), Op::HasAny(list)) => match list.iter().find(|x| s.contains(&***x)) {
            Some(x) => {
                note(&|o| {
                    quote(o, x);
                    o.push_str(" present");
                });
                Outcome::Pass
            }
            None => {
                note(&|o| o.push_str("none present"));
                Outcome::Fail
            }
        },
        (Value::Map(m), Op::HasAny(list)) => {
            match list.iter().find_map(|x| m.get_key_value(&**x)) {
                Some((k, v)) => {
                    note(&|o| {
                        quote(o, k);
                        o.push_str(" = ");
                        quote(o, v);
                    });
                    Outcome::Pass
                }
                None => {
                    note(&|o| o.push_str("none set"));
                    Outcome::Fail
                }
            }
        }
        (Value::Map(m), Op::Has(x)) => match m.get(&**x) {
            Some(v) => {
                note(&|o| {
                    quote(o, x);
                    o.push_str(" = ");
                    quote(o, v);
                });
                Outcome::Pass
            }
            None => {
                note(&|o| {
                    quote(o, x);
                    o.push_str(" not set");
                });
                Outcome::Fail
            }
        },
        (Value::Map(m), Op::Lacks(x)) => {
            let set = m.contains_key(&**x);
            note(&|o| {
                quote(o, x);
                o.push_str(if set { " set" } else { " not set" });
            });
            pass(!set)
        }
        (v, _) => {
            note(&|o| {
                o.push_str("a ");
                o.push_str(v.kind());
                o.push_str(" value the operator does not apply to");
            });
            Outcome::Unknown
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases()))]
        /// quote writes exactly what `{:?}` writes.
        #[test]
        fn quoted_is_debug(s in "\\PC*|[ -~]*|[\"\\\\a\t\n]*") {
            let mut out = String::new();
            quote(&mut out, &s);
            proptest::prop_assert_eq!(out, format!("{s:?}"));
        }
    }

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
            Value::Map(std::sync::Arc::new(
                [(
                    "qemu-system-aarch64".into(),
                    "/usr/bin/qemu-system-aarch64".into(),
                )]
                .into(),
            )),
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
