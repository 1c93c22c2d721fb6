//! Enums that are words: [`words!`] defines an enum and, from the same list, its word for each
//! variant, so a word is written once. The word is what JSON, metrics, labels, the technology
//! table and messages show (`as_str`, `Display`, serde in human-readable formats); the compact
//! table stores the variant's index. Reads no files.

/// Define an enum whose variants are words: `words! { /// doc  pub enum Name { /// doc
/// Variant = "word", … } }`. Gives `ALL`, `WORDS`, `as_str`, `from_word`, `Display`, serde (the
/// word, or the index in a compact format) and a JSON Schema listing the words.
macro_rules! words {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[doc = $doc:literal])* $variant:ident = $word:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[doc = $doc])* $variant,)*
        }

        impl $name {
            /// Every variant, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
            /// Every word, in order.
            pub const WORDS: &'static [&'static str] = &[$($word,)*];

            /// Its word.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)*
                }
            }

            /// The variant a word names.
            pub fn from_word(word: &str) -> Option<$name> {
                match word {
                    $($word => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(self.as_str())
                } else {
                    s.serialize_u8(*self as u8)
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                if d.is_human_readable() {
                    let word = String::deserialize(d)?;
                    $name::from_word(&word)
                        .ok_or_else(|| D::Error::unknown_variant(&word, $name::WORDS))
                } else {
                    let i = u8::deserialize(d)?;
                    $name::ALL
                        .get(usize::from(i))
                        .copied()
                        .ok_or_else(|| D::Error::custom(format!("no {} number {i}", stringify!($name))))
                }
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let docs: &[&str] = &[$(concat!($($doc, "\n",)* ""),)*];
                let one_of: Vec<serde_json::Value> = $name::WORDS
                    .iter()
                    .zip(docs)
                    .map(|(w, d)| {
                        let d: Vec<&str> = d.lines().map(str::trim).collect();
                        serde_json::json!({ "const": w, "description": d.join(" ").trim() })
                    })
                    .collect();
                schemars::json_schema!({ "type": "string", "oneOf": one_of })
            }
        }
    };
}
