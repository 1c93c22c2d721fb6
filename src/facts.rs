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
    Str(String),
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The value, or the reason it could not be read.
    pub value: Result<Value, String>,
    /// Where it came from: a host path, `cpuid`, `ioctl /dev/kvm`, `uname`… (Most are fixed
    /// texts, borrowed rather than copied: a probe records a hundred facts, the service one
    /// probe after another.)
    pub source: Cow<'static, str>,
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    map: BTreeMap<Cow<'static, str>, Fact>,
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
            name.into(),
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
            name.into(),
            Fact {
                value: Err(reason.into()),
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
        self.map.iter().map(|(k, v)| (&**k, v))
    }
}
