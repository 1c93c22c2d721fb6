//! Facts: the sources' typed findings as the named values the rules read.
//!
//! A fact has a dotted name (`cpu.flags`, `kernel.config`, `kvm.create_vm`…), a value or the
//! reason it is unknown, and the source it came from (a file path, `cpuid`, an ioctl). Rules read
//! facts, not files, so a fact that could not be read makes the rules that need it `unknown`
//! instead of failing them. The fact table ([`registry::FACTS`]) is the one place that names them:
//! [`collect`] runs its rows. Reads no host files.

mod getters;
pub mod registry;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use crate::sources::{Probed, Reading};
use crate::version::KVersion;
pub use registry::{Asks, FACTS, FactDef, Kind, Source};

/// A fact's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Yes or no.
    Bool(bool),
    /// A number.
    Int(i64),
    /// A word or a line.
    Str(String),
    /// A kernel-style version.
    Version(KVersion),
    /// A set of names (CPU flags, modules, installed tools, existing paths).
    Set(BTreeSet<String>),
    /// Names with values (kernel config, module parameters).
    Map(BTreeMap<String, String>),
}

impl Value {
    /// The kind of value.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Bool(_) => Kind::Bool,
            Value::Int(_) => Kind::Int,
            Value::Str(_) => Kind::Str,
            Value::Version(_) => Kind::Version,
            Value::Set(_) => Kind::Set,
            Value::Map(_) => Kind::Map,
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The value, or the reason it could not be read.
    pub value: Result<Value, String>,
    /// Where it came from: a host path, `cpuid`, `ioctl /dev/kvm`, `uname`… (shared with the
    /// evidence that cites it).
    pub source: Arc<str>,
    /// Unknown because it could not be tried here (a captured tree, another user), not because
    /// something failed: the rules that need it are "not tried", and do not lower a verdict.
    pub not_tried: bool,
    /// Names a set or map fact could not tell about (a path whose stat failed with `EIO`, a
    /// folder that could not be searched), with why: a test of one of them is unknown, not "absent".
    pub unsure: BTreeMap<String, String>,
}

impl Fact {
    /// A value read from `source`.
    pub fn known(value: Value, source: impl Into<Arc<str>>) -> Fact {
        Fact {
            value: Ok(value),
            source: source.into(),
            not_tried: false,
            unsure: BTreeMap::new(),
        }
    }

    /// Unknown, and why.
    pub fn unknown(why: impl Into<String>, source: impl Into<Arc<str>>) -> Fact {
        Fact {
            value: Err(why.into()),
            source: source.into(),
            not_tried: false,
            unsure: BTreeMap::new(),
        }
    }

    /// Not tried here, and why.
    pub fn not_tried(why: impl Into<String>, source: impl Into<Arc<str>>) -> Fact {
        Fact {
            not_tried: true,
            ..Fact::unknown(why, source)
        }
    }

    /// A source's reading, its value made a [`Value`].
    pub fn of<T>(r: &Reading<T>, value: impl Fn(&T) -> Value) -> Fact {
        Fact {
            value: r.value.as_ref().map(value).map_err(Clone::clone),
            source: r.source.as_str().into(),
            not_tried: r.not_tried,
            unsure: BTreeMap::new(),
        }
    }

    /// The same fact, with the names it could not tell about.
    pub fn unsure(mut self, names: &BTreeMap<String, String>) -> Fact {
        self.unsure = names.clone();
        self
    }
}

/// All facts of one probe, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    map: BTreeMap<&'static str, Fact>,
}

impl Facts {
    /// Record a fact (a test's own facts; a probe's come from [`collect`]).
    pub fn insert(&mut self, name: &'static str, fact: Fact) {
        self.map.insert(name, fact);
    }

    /// A fact by name.
    pub fn get(&self, name: &str) -> Option<&Fact> {
        self.map.get(name)
    }

    /// All facts, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Fact)> {
        self.map.iter().map(|(k, v)| (*k, v))
    }
}

fn text(s: &str) -> Value {
    Value::Str(s.to_string())
}

/// Every fact of the table, from the sources' findings.
pub fn collect(p: &Probed) -> Facts {
    Facts {
        map: FACTS.iter().map(|d| (d.name, (d.get)(p))).collect(),
    }
}
