//! The other JSON documents virtprobe prints beside the report: `explain --json`,
//! `list --json` and `diff --json` (`advise --json` is the advise module's `Advice`; the status file is
//! [`super::status::Status`]). Each carries `schema_version`, and `virtprobe schema NAME` prints
//! its JSON Schema.

use serde::Serialize;

use super::{SCHEMA_VERSION, TechReport};
use crate::rules::{Category, Status, Table};

/// `virtprobe explain ID --json`: one technology of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Explanation {
    /// Contract version (1).
    pub schema_version: u32,
    /// The technology, as the report has it.
    #[serde(flatten)]
    pub technology: TechReport,
}

impl Explanation {
    /// The explanation of one technology.
    pub fn new(technology: TechReport) -> Self {
        Explanation {
            schema_version: SCHEMA_VERSION,
            technology,
        }
    }
}

/// One row of `virtprobe list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Listed {
    /// Stable id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What kind of technology.
    pub category: Category,
    /// Where it stands today.
    pub status: Status,
    /// One of the 20 rows of the 2009 table.
    pub source_row: bool,
}

/// `virtprobe list --json`: the table's technologies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Listing {
    /// Contract version (1).
    pub schema_version: u32,
    /// In table order.
    pub technologies: Vec<Listed>,
}

impl Listing {
    /// The technologies of a table.
    pub fn new(table: &Table) -> Self {
        Listing {
            schema_version: SCHEMA_VERSION,
            technologies: table
                .technologies
                .iter()
                .map(|t| Listed {
                    id: t.id.clone(),
                    name: t.name.clone(),
                    category: t.category,
                    status: t.status,
                    source_row: t.source_row,
                })
                .collect(),
        }
    }
}

/// `virtprobe diff OLD NEW --json`: the technologies whose verdicts differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Diff {
    /// Contract version (1).
    pub schema_version: u32,
    /// One per technology whose verdict differs, with the facts behind it.
    pub changes: Vec<super::changes::Change>,
}

impl Diff {
    /// The document for these changes.
    pub fn new(changes: Vec<super::changes::Change>) -> Self {
        Diff {
            schema_version: SCHEMA_VERSION,
            changes,
        }
    }
}
