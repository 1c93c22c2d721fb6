//! The embedded table in its compact form: `data/technologies.bin` is the validated table that
//! `data/technologies.toml` parses to, written with postcard, so a run loads it without parsing
//! TOML (a tenth of the time; docs/performance.md has the figures). A test parses the TOML and
//! compares: after changing the TOML or the table's types, `VIRTPROBE_BLESS=1 cargo test compact`
//! writes the file again. `--data FILE` is parsed and validated as TOML, as always.

use super::model::Table;
use super::parse::{DataError, EMBEDDED_NAME};

/// The compact form of the embedded table.
pub const COMPACT: &[u8] = include_bytes!("../../data/technologies.bin");

/// The name the compact form is reported under when it cannot be read.
const COMPACT_NAME: &str = "data/technologies.bin (embedded)";

impl Table {
    /// The embedded table, from its compact form.
    pub fn embedded() -> Result<Table, DataError> {
        let mut table: Table = postcard::from_bytes(COMPACT).map_err(|e| DataError {
            file: COMPACT_NAME.into(),
            line: 1,
            column: 1,
            message: format!("not a table this virtprobe reads ({e}); rebuild virtprobe"),
        })?;
        table.source = EMBEDDED_NAME.into();
        Ok(table)
    }

    /// The table in the compact form.
    pub fn to_compact(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }
}

/// A condition's fact in the compact form: its name, looked up in the fact table when read.
pub(super) mod fact_row {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::facts::{FactDef, registry};

    pub fn serialize<S: Serializer>(f: &&'static FactDef, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.name)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static FactDef, D::Error> {
        let name = <&str>::deserialize(d)?;
        registry::lookup(name).ok_or_else(|| D::Error::custom(format!("unknown fact {name:?}")))
    }
}
