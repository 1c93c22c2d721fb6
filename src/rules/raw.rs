//! The technology table's TOML as written: the shapes serde reads, before validation.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::model::*;

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(super) enum RawList {
    Values(Vec<String>),
    Set { set: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCond {
    pub(super) fact: Option<String>,
    pub(super) key: Option<String>,
    #[serde(rename = "in")]
    pub(super) in_: Option<RawList>,
    pub(super) not_in: Option<RawList>,
    pub(super) has: Option<String>,
    pub(super) has_any: Option<RawList>,
    pub(super) lacks: Option<String>,
    pub(super) contains: Option<String>,
    pub(super) ge: Option<String>,
    pub(super) lt: Option<String>,
    pub(super) is: Option<bool>,
    pub(super) any: Option<Vec<Spanned<RawCond>>>,
    pub(super) all: Option<Vec<Spanned<RawCond>>>,
    pub(super) not: Option<Box<Spanned<RawCond>>>,
    pub(super) always: Option<bool>,
    /// A named condition of the table's `[conditions]`.
    #[serde(rename = "use")]
    pub(super) use_: Option<String>,
    /// Several keys of a map fact, each in its values (all must hold), as NFD's matchExpressions.
    #[serde(rename = "match")]
    pub(super) match_: Option<KeyValues>,
    /// A set holds every one of them.
    pub(super) has_all: Option<RawList>,
}

/// `match`'s keys with their values, in the order written (the evidence keeps it).
#[derive(Debug, Clone, Default)]
pub(super) struct KeyValues(pub(super) Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for KeyValues {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = KeyValues;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of keys, each with a list of values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<KeyValues, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = m.next_entry::<String, Vec<String>>()? {
                    pairs.push(pair);
                }
                Ok(KeyValues(pairs))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl RawCond {
    /// The names of the fields given, as the TOML spells them.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let fields = [
            ("fact", self.fact.is_some()),
            ("key", self.key.is_some()),
            ("in", self.in_.is_some()),
            ("not_in", self.not_in.is_some()),
            ("has", self.has.is_some()),
            ("has_any", self.has_any.is_some()),
            ("lacks", self.lacks.is_some()),
            ("contains", self.contains.is_some()),
            ("ge", self.ge.is_some()),
            ("lt", self.lt.is_some()),
            ("is", self.is.is_some()),
            ("any", self.any.is_some()),
            ("all", self.all.is_some()),
            ("not", self.not.is_some()),
            ("always", self.always.is_some()),
            ("use", self.use_.is_some()),
            ("match", self.match_.is_some()),
            ("has_all", self.has_all.is_some()),
        ];
        fields.iter().filter(|(_, g)| *g).map(|(n, _)| *n).collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRequirement {
    pub(super) id: Option<String>,
    pub(super) class: Option<Class>,
    pub(super) why: Option<String>,
    #[serde(default)]
    pub(super) fix: Option<String>,
    #[serde(default)]
    pub(super) when: Option<Spanned<RawCond>>,
    pub(super) test: Option<Spanned<RawCond>>,
    /// The requirements of a named group of the table's `[groups]`, in its place.
    pub(super) group: Option<String>,
    /// With `group`: a condition that passes each of the group's tests too (what this
    /// technology's own evidence proves).
    pub(super) proof: Option<Spanned<RawCond>>,
}

/// A named group of requirements technologies share (`{name}` in `why` and `fix` is the
/// technology's name).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGroup {
    pub(super) requires: Vec<Spanned<RawRequirement>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDetect {
    #[serde(default)]
    pub(super) words: Vec<Spanned<String>>,
    pub(super) host: Option<Spanned<RawCond>>,
    pub(super) guest: Option<Spanned<RawCond>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTechnology {
    pub(super) id: Spanned<String>,
    pub(super) name: String,
    pub(super) category: Category,
    #[serde(default)]
    pub(super) source_row: bool,
    pub(super) status: Status,
    #[serde(default)]
    pub(super) status_note: String,
    #[serde(default)]
    pub(super) performance_rank: u8,
    #[serde(default)]
    pub(super) isolation: Vec<Isolation>,
    #[serde(default)]
    pub(super) guest_os: Vec<GuestOs>,
    #[serde(default)]
    pub(super) features: Vec<Feature>,
    #[serde(default)]
    pub(super) open_source: bool,
    pub(super) ready: String,
    #[serde(default)]
    pub(super) depends: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) table: Option<TableColumns>,
    #[serde(default)]
    pub(super) detect: Option<RawDetect>,
    #[serde(default)]
    pub(super) requires: Vec<Spanned<RawRequirement>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTable {
    pub(super) schema_version: u32,
    #[serde(default)]
    pub(super) sets: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub(super) conditions: BTreeMap<String, Spanned<RawCond>>,
    #[serde(default)]
    pub(super) groups: BTreeMap<String, RawGroup>,
    pub(super) technology: Vec<RawTechnology>,
}
