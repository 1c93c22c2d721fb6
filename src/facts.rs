//! The typed set of host facts the probe gathers and the rules read.
//!
//! A fact has a dotted name (`cpu.flags`, `kernel.config`, `kvm.create_vm`…), a value or the reason
//! it is unknown, and the source it came from (a file path, `cpuid`, an ioctl). Rules never see files,
//! only facts, so a fact that could not be read makes the rules that need it `unknown` instead of
//! failing them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::version::KVersion;

/// A fact's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Yes or no.
    Bool(bool),
    /// A number.
    Int(i64),
    /// A word or a line.
    Str(Arc<str>),
    /// A kernel-style version.
    Version(KVersion),
    /// A set of names (CPU flags, modules, installed tools, existing paths). Shared, not copied,
    /// when facts are copied: the service keeps some from probe to probe.
    Set(Arc<BTreeSet<String>>),
    /// Names with values (kernel config, module parameters), shared likewise.
    Map(Arc<BTreeMap<String, String>>),
}

impl Value {
    /// The kind of value, for messages and data-file validation.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Str(_) => "string",
            Value::Version(_) => "version",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Version(v) => write!(f, "{v}"),
            Value::Set(s) => write!(f, "{} entries", s.len()),
            Value::Map(m) => write!(f, "{} entries", m.len()),
        }
    }
}

/// One fact: a value or why it is unknown, and where it came from.
#[derive(Debug, Clone, Eq)]
pub struct Fact {
    /// The value, or the reason it could not be read.
    pub value: Result<Value, Arc<str>>,
    /// Where it came from: a host path, `cpuid`, `ioctl /dev/kvm`, `uname`… (Most are fixed
    /// texts, borrowed rather than copied: a probe records a hundred facts, the service one
    /// probe after another.)
    pub source: Cow<'static, str>,
}

/// Equal texts. Two texts at the same place are equal without reading them: most fact names and
/// sources are the program's own static texts, so the service, which compares each probe's facts
/// with the last one's, mostly compares addresses.
pub fn same_str(a: &str, b: &str) -> bool {
    a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
}

impl PartialEq for Fact {
    fn eq(&self, other: &Self) -> bool {
        same_str(&self.source, &other.source)
            && match (&self.value, &other.value) {
                (Ok(Value::Str(a)), Ok(Value::Str(b))) => same_str(a, b),
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => same_str(a, b),
                _ => false,
            }
    }
}

impl PartialEq for Facts {
    fn eq(&self, other: &Self) -> bool {
        self.map.len() == other.map.len()
            && self
                .map
                .iter()
                .zip(&other.map)
                .all(|((ka, a), (kb, b))| same_str(&ka.0, &kb.0) && a == b)
            && self.errors == other.errors
            && self.needs_privilege == other.needs_privilege
    }
}

/// A fact's name as the map of facts keeps it: ordered as text is, by a comparison made here
/// eight bytes at a time. (Text's own comparison calls the C library's `memcmp`, which in musl
/// is a loop over single bytes behind a call; the service files some twenty facts a probe, each
/// compared with about eight names on its way in.) Looked up by `&str`, in the same order.
#[derive(Debug, Clone, Eq)]
struct Name(Cow<'static, str>);

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        same_str(&self.0, &other.0)
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let mut ca = a.chunks_exact(8);
        let mut cb = b.chunks_exact(8);
        for (x, y) in (&mut ca).zip(&mut cb) {
            let x = u64::from_be_bytes(x.try_into().unwrap_or_default());
            let y = u64::from_be_bytes(y.try_into().unwrap_or_default());
            if x != y {
                return x.cmp(&y);
            }
        }
        // What is left of the shorter one (under 8 bytes) against the rest of the other.
        let done = a.len().min(b.len()) / 8 * 8;
        for (x, y) in a[done..].iter().zip(&b[done..]) {
            if x != y {
                return x.cmp(y);
            }
        }
        a.len().cmp(&b.len())
    }
}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// Something the probe could not read, listed in the report's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ProbeError {
    /// The fact that stays unknown because of it.
    pub fact: String,
    /// What went wrong, with the path.
    pub message: String,
}

/// All facts of one probe.
#[derive(Debug, Clone, Default, Eq)]
pub struct Facts {
    map: BTreeMap<Name, Fact>,
    /// What could not be read.
    pub errors: Vec<ProbeError>,
    /// Checks skipped or weakened because the invoking user lacks a privilege.
    pub needs_privilege: Vec<String>,
}

mod known;
pub use known::KNOWN_FACTS;

impl Facts {
    /// Record a known value.
    pub fn set(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: Value,
        source: impl Into<Cow<'static, str>>,
    ) {
        self.map.insert(
            Name(name.into()),
            Fact {
                value: Ok(value),
                source: source.into(),
            },
        );
    }

    /// Record that a fact is unknown and why; the reason is also listed in `errors`.
    pub fn unknown(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        reason: impl Into<String>,
        source: impl Into<Cow<'static, str>>,
    ) {
        let (name, reason) = (name.into(), reason.into());
        self.errors.push(ProbeError {
            fact: name.to_string(),
            message: reason.clone(),
        });
        self.unknown_quiet(name, reason, source);
    }

    /// Record that a fact is unknown without listing an error (expected gaps, such as the live-only
    /// sources of a captured tree that has none).
    pub fn unknown_quiet(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        reason: impl Into<String>,
        source: impl Into<Cow<'static, str>>,
    ) {
        self.map.insert(
            Name(name.into()),
            Fact {
                value: Err(Arc::from(reason.into())),
                source: source.into(),
            },
        );
    }

    /// Take in another set of facts, with its errors and privilege notes (after this set's).
    pub fn absorb(&mut self, other: Facts) {
        self.map.extend(other.map);
        self.errors.extend(other.errors);
        self.needs_privilege.extend(other.needs_privilege);
    }

    /// Copy in `other`'s facts, not its errors (into an empty map: one copy of the whole map).
    pub fn insert_all(&mut self, other: &Facts) {
        if self.map.is_empty() {
            self.map = other.map.clone();
        } else {
            self.map
                .extend(other.map.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }

    /// Copy in `other`'s errors and privilege notes, not its facts.
    pub fn absorb_errors(&mut self, other: &Facts) {
        self.errors.extend_from_slice(&other.errors);
        self.needs_privilege
            .extend_from_slice(&other.needs_privilege);
    }

    /// A fact by name.
    pub fn get(&self, name: &str) -> Option<&Fact> {
        self.map.get(name)
    }

    /// A string fact's value, when known.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.get(name).map(|f| &f.value) {
            Some(Ok(Value::Str(s))) => Some(s),
            _ => None,
        }
    }

    /// A bool fact's value, when known.
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name).map(|f| &f.value) {
            Some(Ok(Value::Bool(b))) => Some(*b),
            _ => None,
        }
    }

    /// A set fact, when known.
    pub fn set_of(&self, name: &str) -> Option<&BTreeSet<String>> {
        match self.get(name).map(|f| &f.value) {
            Some(Ok(Value::Set(s))) => Some(s),
            _ => None,
        }
    }

    /// A map fact, when known.
    pub fn map_of(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        match self.get(name).map(|f| &f.value) {
            Some(Ok(Value::Map(m))) => Some(m),
            _ => None,
        }
    }

    /// All facts, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Fact)> {
        self.map.iter().map(|(k, v)| (&*k.0, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        /// Names order as their texts do (the map is looked up by `&str`), and are equal when
        /// their texts are.
        #[test]
        fn names_order_as_text(a in "[a-z._]{0,20}", b in "[a-z._]{0,20}", c in ".{0,20}") {
            for (x, y) in [(&a, &b), (&a, &c), (&c, &b), (&a, &a)] {
                let (nx, ny) = (Name(x.clone().into()), Name(y.clone().into()));
                prop_assert_eq!(nx.cmp(&ny), x.as_str().cmp(y.as_str()));
                prop_assert_eq!(nx == ny, x == y);
                prop_assert_eq!(same_str(x, y), x == y);
            }
        }
    }

    /// Facts are equal when their names, values and sources are, wherever the texts are kept.
    #[test]
    fn facts_compare_by_content() {
        let build = |owned: bool| {
            let mut f = Facts::default();
            let text = |s: &'static str| -> Cow<'static, str> {
                if owned {
                    s.to_string().into()
                } else {
                    s.into()
                }
            };
            f.set(
                text("cpu.vendor"),
                Value::Str("AuthenticAMD".into()),
                text("/proc/cpuinfo"),
            );
            f.unknown(text("kvm.open"), "no /dev/kvm", text("/dev/kvm"));
            f
        };
        assert_eq!(build(false), build(true));
        let mut other = build(true);
        other.set(
            "cpu.vendor",
            Value::Str("GenuineIntel".into()),
            "/proc/cpuinfo",
        );
        assert_ne!(build(false), other);
        let mut other = build(true);
        other.set("cpu.vendor", Value::Str("AuthenticAMD".into()), "cpuid");
        assert_ne!(build(false), other);
        assert_eq!(
            build(false).get("cpu.vendor").map(|f| f.source.as_ref()),
            Some("/proc/cpuinfo")
        );
    }
}
