//! Evidence: what one test read, as a value. Its [`Display`](std::fmt::Display) is the line a
//! report shows (and its JSON, a string); nothing parses that line back.

use std::fmt;
use std::sync::Arc;

use super::eval::Outcome;

/// What a test saw of a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observed {
    /// The value, as shown (`"x86_64"`, `"vmx" present`, `not set`).
    Value(String),
    /// The fact is unknown, and why.
    Unknown(String),
    /// The fact could not be tried here, and why.
    NotTried(String),
    /// No source gives the fact (a table naming a fact this probe did not read).
    NotProbed,
}

/// One line of evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A test on a fact: which fact (and key), the operator, what was observed, where it came from
    /// and the outcome.
    Fact {
        /// Fact name.
        fact: &'static str,
        /// Key within a map fact.
        key: Option<String>,
        /// The operator as shown (`in [x86_64, aarch64]`, `has "kvm"`, `>= 2.6.32`).
        op: Arc<str>,
        /// What was seen.
        observed: Observed,
        /// Where the value came from (a host path, `cpuid`, an ioctl), when a value was read.
        source: Option<Arc<str>>,
        /// The test's outcome.
        outcome: Outcome,
    },
    /// A condition of the table itself (`always = true/false`).
    Table(bool),
    /// A technology this one depends on: its id, verdict word and summary.
    Depends {
        /// Its id.
        id: String,
        /// Its verdict's word.
        verdict: &'static str,
        /// Its one-line summary.
        summary: String,
    },
}

impl Evidence {
    /// The fact and why it could not be tried here, when it could not (`kvm.open (captured
    /// tree: …)`).
    pub fn not_tried(&self) -> Option<String> {
        match self {
            Evidence::Fact {
                observed: Observed::NotTried(why),
                ..
            } => Some(format!("{} ({why})", self.label())),
            _ => None,
        }
    }

    /// The fact (and key) it is about, as shown: `kernel.config[KVM]`.
    fn label(&self) -> String {
        match self {
            Evidence::Fact {
                fact, key: Some(k), ..
            } => format!("{fact}[{k}]"),
            Evidence::Fact { fact, .. } => fact.to_string(),
            Evidence::Depends { id, .. } => id.clone(),
            Evidence::Table(_) => "the technology table".into(),
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Table(b) => write!(
                f,
                "the technology table: {}",
                if *b {
                    "always holds"
                } else {
                    "never holds on a Linux host"
                }
            ),
            Evidence::Depends {
                id,
                verdict,
                summary,
            } => write!(f, "{id}: {verdict} ({summary})"),
            Evidence::Fact {
                op,
                observed,
                source,
                outcome,
                ..
            } => {
                let label = self.label();
                match observed {
                    Observed::NotProbed => write!(f, "{label}: unknown (not probed)"),
                    Observed::Unknown(why) => write!(f, "{label}: unknown ({why})"),
                    Observed::NotTried(why) => write!(f, "{label}: not tried here ({why})"),
                    Observed::Value(seen) => {
                        let word = match outcome {
                            Outcome::Pass => "yes",
                            Outcome::Fail => "no",
                            Outcome::Unknown | Outcome::NotTried => "unknown",
                        };
                        write!(f, "{label} {op}: {word} (observed {seen})")?;
                        if let Some(source) = source.as_deref().filter(|s| !s.is_empty()) {
                            write!(f, " [{source}]")?;
                        }
                        Ok(())
                    }
                }
            }
        }
    }
}

impl serde::Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for Evidence {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Evidence".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "One fact read by a test: `FACT OP: yes|no (observed VALUE) [SOURCE]`, \
                            `FACT: unknown (WHY)`, `FACT: not tried here (WHY)`, or a dependency's \
                            `ID: VERDICT (SUMMARY)`."
        })
    }
}
