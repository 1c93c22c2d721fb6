//! The fix book: `data/fixes.toml` read and validated (every error with file, line and column).
//! It says, per distribution, how to install, load a module, join a group, set a sysctl or edit
//! the kernel command line; which package provides each tool; what each cloud offers; and which
//! of those steps each failed requirement needs. Reads no host files.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::rules::{Cond, DataError, Written, line_col};

/// The book shipped with virtprobe.
pub const EMBEDDED: &str = include_str!("../../data/fixes.toml");
/// The name it is reported under.
pub const EMBEDDED_NAME: &str = "data/fixes.toml (embedded)";
/// The longest `like` chain followed (more means a loop).
const MAX_LIKE: usize = 8;

/// A distribution's commands (or the shared defaults): shell templates, each a list of commands.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// Shown in the script's header.
    pub name: Option<String>,
    /// The entry whose fields this one inherits.
    pub like: Option<String>,
    install: Option<Vec<String>>,
    module: Option<Vec<String>>,
    options: Option<Vec<String>>,
    group: Option<Vec<String>>,
    subids: Option<Vec<String>>,
    sysctl: Option<Vec<String>>,
    service: Option<Vec<String>>,
    cmdline: Option<Vec<String>>,
}

/// Which template of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// Install packages.
    Install,
    /// Load a module now and at boot.
    Module,
    /// Set a module option.
    Options,
    /// Add the user to a group.
    Group,
    /// Give the user subordinate ids.
    Subids,
    /// Set a sysctl.
    Sysctl,
    /// Enable and start a service.
    Service,
    /// Add kernel arguments.
    Cmdline,
}

impl Distribution {
    fn get(&self, t: Template) -> Option<&[String]> {
        match t {
            Template::Install => self.install.as_deref(),
            Template::Module => self.module.as_deref(),
            Template::Options => self.options.as_deref(),
            Template::Group => self.group.as_deref(),
            Template::Subids => self.subids.as_deref(),
            Template::Sysctl => self.sysctl.as_deref(),
            Template::Service => self.service.as_deref(),
            Template::Cmdline => self.cmdline.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModuleOption {
    module: String,
    option: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyValue {
    key: String,
    value: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    when: Option<Written>,
    note: Option<String>,
    install: Option<String>,
    module: Option<String>,
    options: Option<ModuleOption>,
    group: Option<String>,
    subids: Option<bool>,
    sysctl: Option<KeyValue>,
    service: Option<String>,
    cmdline: Option<Vec<String>>,
    run: Option<Vec<String>>,
    manual: Option<String>,
    cloud: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CloudText {
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBook {
    schema_version: u32,
    commands: Distribution,
    distributions: BTreeMap<String, Distribution>,
    packages: BTreeMap<String, BTreeMap<String, String>>,
    clouds: BTreeMap<String, BTreeMap<String, CloudText>>,
    fix: BTreeMap<String, BTreeMap<String, Vec<Spanned<RawAction>>>>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Does {
    /// Install the package that provides this tool.
    Install(String),
    /// Load a module now and at boot.
    Module(String),
    /// Set a module option and reload the module.
    Options {
        /// The module.
        module: String,
        /// `name=value`.
        option: String,
    },
    /// Add the user to a group.
    Group(String),
    /// Give the user subordinate id ranges.
    Subids,
    /// Set a sysctl now and at boot.
    Sysctl {
        /// Its name.
        key: String,
        /// Its value.
        value: String,
    },
    /// Enable and start a service.
    Service(String),
    /// Add kernel arguments.
    Cmdline(Vec<String>),
    /// Commands that are the same everywhere.
    Run(Vec<String>),
    /// What no script can do.
    Manual(String),
    /// The cloud provider's text under this key.
    Cloud(String),
}

/// One step the book gives for a requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    /// Only when this holds.
    pub when: Option<Cond>,
    /// Shown beside it.
    pub note: Option<String>,
    /// What it does.
    pub does: Does,
}

/// The validated book.
#[derive(Debug, Clone)]
pub struct Book {
    commands: Distribution,
    distributions: BTreeMap<String, Distribution>,
    packages: BTreeMap<String, BTreeMap<String, String>>,
    clouds: BTreeMap<String, BTreeMap<String, String>>,
    fixes: BTreeMap<String, BTreeMap<String, Vec<Action>>>,
}

/// A word a template gets unquoted in file names: letters, digits and `_.:=,+-`.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:=,+-".contains(c))
}

impl Book {
    /// The book shipped with virtprobe.
    pub fn embedded() -> Result<Book, DataError> {
        Book::parse(EMBEDDED, EMBEDDED_NAME)
    }

    /// Parse and validate book text.
    pub fn parse(text: &str, file: &str) -> Result<Book, DataError> {
        let err = |offset: usize, message: String| {
            let (line, column) = line_col(text, offset);
            DataError {
                file: file.to_string(),
                line,
                column,
                message,
            }
        };
        let raw: RawBook = toml::from_str(text).map_err(|e| {
            err(
                e.span().map_or(0, |s| s.start),
                e.message().trim().to_string(),
            )
        })?;
        if raw.schema_version != 1 {
            return Err(err(
                0,
                format!(
                    "schema_version {} is not supported (this virtprobe reads 1)",
                    raw.schema_version
                ),
            ));
        }
        let mut fixes: BTreeMap<String, BTreeMap<String, Vec<Action>>> = BTreeMap::new();
        for (tech, reqs) in &raw.fix {
            for (req, actions) in reqs {
                let mut out = Vec::new();
                for a in actions {
                    let (at, a) = (a.span().start, a.get_ref());
                    let does =
                        does(a, &raw).map_err(|m| err(at, format!("fix.{tech}.{req}: {m}")))?;
                    let when = a
                        .when
                        .as_ref()
                        .map(|w| w.validate(file, text))
                        .transpose()?;
                    out.push(Action {
                        when,
                        note: a.note.clone(),
                        does,
                    });
                }
                fixes
                    .entry(tech.clone())
                    .or_default()
                    .insert(req.clone(), out);
            }
        }
        let clouds = raw
            .clouds
            .into_iter()
            .map(|(p, texts)| (p, texts.into_iter().map(|(k, t)| (k, t.text)).collect()))
            .collect();
        let book = Book {
            commands: raw.commands,
            distributions: raw.distributions,
            packages: raw.packages,
            clouds,
            fixes,
        };
        // Every `like` chain ends: at an entry that names none (not a missing one, not a loop).
        for key in book.distributions.keys() {
            let chain = book.chain(key);
            if let Some(like) = chain.last().and_then(|(_, d)| d.like.as_deref()) {
                let why = if book.distributions.contains_key(like) {
                    "its `like` chain loops".to_string()
                } else {
                    format!("`like` names {like:?}, which is not a distribution")
                };
                return Err(err(0, format!("distribution {key:?}: {why}")));
            }
        }
        Ok(book)
    }

    /// The distribution entry this host's os-release matches: its ID, then each ID_LIKE word.
    pub fn family<'a>(
        &'a self,
        id: &str,
        id_like: &[String],
    ) -> Option<(&'a str, &'a Distribution)> {
        std::iter::once(id)
            .chain(id_like.iter().map(String::as_str))
            .find_map(|k| self.distributions.get_key_value(k))
            .map(|(k, d)| (k.as_str(), d))
    }

    /// The entry's key and those it inherits from, closest first.
    fn chain<'a>(&'a self, family: &str) -> Vec<(&'a str, &'a Distribution)> {
        let mut out = Vec::new();
        let mut next = self.distributions.get_key_value(family);
        while let Some((k, d)) = next.filter(|_| out.len() < MAX_LIKE) {
            out.push((k.as_str(), d));
            next = d
                .like
                .as_deref()
                .and_then(|l| self.distributions.get_key_value(l));
        }
        out
    }

    /// A template for this family (inherited, else the shared default); None where the family is
    /// unknown and no default exists.
    pub fn template(&self, family: Option<&str>, t: Template) -> Option<&[String]> {
        let own = family
            .map(|f| self.chain(f))
            .unwrap_or_default()
            .into_iter()
            .find_map(|(_, d)| d.get(t));
        match (own, family) {
            (Some(c), _) => Some(c),
            // The shared defaults assume a systemd distribution: only for a known one.
            (None, Some(_)) => self.commands.get(t),
            (None, None) => None,
        }
    }

    /// The packages that provide `tool` on this family (space-separated), or what to do instead
    /// (a value `manual: TEXT`, or the tool's `manual`).
    pub fn package(&self, family: Option<&str>, tool: &str) -> Result<&str, Option<&str>> {
        let entry = self.packages.get(tool).ok_or(None)?;
        let found = family
            .map(|f| self.chain(f))
            .unwrap_or_default()
            .into_iter()
            .find_map(|(k, _)| entry.get(k));
        match found.map(String::as_str) {
            Some(v) => match v.strip_prefix("manual:") {
                Some(how) => Err(Some(how.trim())),
                None => Ok(v),
            },
            None => Err(entry.get("manual").map(String::as_str)),
        }
    }

    /// Every package entry: tool → distribution key → packages (`manual` included).
    pub fn packages(&self) -> &BTreeMap<String, BTreeMap<String, String>> {
        &self.packages
    }

    /// The steps for a requirement of a technology.
    pub fn actions(&self, technology: &str, requirement: &str) -> &[Action] {
        self.fixes
            .get(technology)
            .and_then(|r| r.get(requirement))
            .map_or(&[], Vec::as_slice)
    }

    /// Every (technology, requirement) the book has steps for.
    pub fn requirements(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fixes
            .iter()
            .flat_map(|(t, r)| r.keys().map(move |q| (t.as_str(), q.as_str())))
    }

    /// A cloud's text under `key`.
    pub fn cloud(&self, provider: &str, key: &str) -> Option<&str> {
        self.clouds.get(provider)?.get(key).map(String::as_str)
    }

    /// The cloud providers the book has texts for.
    pub fn clouds(&self) -> impl Iterator<Item = &str> {
        self.clouds.keys().map(String::as_str)
    }
}

/// What one action as written does; an error message (the caller adds where).
fn does(a: &RawAction, raw: &RawBook) -> Result<Does, String> {
    let mut does = Vec::new();
    let word = |what: &str, s: &str| {
        if plain(s) {
            Ok(s.to_string())
        } else {
            Err(format!(
                "{what} {s:?} may hold only letters, digits and _.:=,+-"
            ))
        }
    };
    if let Some(t) = &a.install {
        if !raw.packages.contains_key(t) {
            return Err(format!(
                "install names {t:?}, which has no [packages.{t}] entry"
            ));
        }
        does.push(Does::Install(t.clone()));
    }
    if let Some(m) = &a.module {
        does.push(Does::Module(word("module", m)?));
    }
    if let Some(o) = &a.options {
        does.push(Does::Options {
            module: word("module", &o.module)?,
            option: word("option", &o.option)?,
        });
    }
    if let Some(g) = &a.group {
        does.push(Does::Group(word("group", g)?));
    }
    if a.subids == Some(true) {
        does.push(Does::Subids);
    }
    if let Some(s) = &a.sysctl {
        does.push(Does::Sysctl {
            key: word("sysctl", &s.key)?,
            value: word("value", &s.value)?,
        });
    }
    if let Some(s) = &a.service {
        does.push(Does::Service(word("service", s)?));
    }
    if let Some(args) = &a.cmdline {
        let args: Result<Vec<String>, String> =
            args.iter().map(|s| word("kernel argument", s)).collect();
        does.push(Does::Cmdline(args?));
    }
    if let Some(r) = &a.run {
        does.push(Does::Run(r.clone()));
    }
    if let Some(m) = &a.manual {
        does.push(Does::Manual(m.clone()));
    }
    if let Some(c) = &a.cloud {
        if !raw.clouds.values().any(|t| t.contains_key(c)) {
            return Err(format!(
                "cloud names {c:?}, which no [clouds.PROVIDER.{c}] gives"
            ));
        }
        does.push(Does::Cloud(c.clone()));
    }
    if does.len() != 1 {
        return Err("a step does exactly one of install, module, options, group, subids, sysctl, service, cmdline, run, manual or cloud".into());
    }
    Ok(does.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_book_is_valid() {
        let b = Book::embedded().expect("data/fixes.toml");
        assert!(
            b.template(Some("rhel"), Template::Install)
                .is_some_and(|c| c[0].starts_with("dnf"))
        );
        assert_eq!(
            b.package(Some("rhel"), "qemu-system-x86_64"),
            Ok("qemu-kvm")
        );
        assert_eq!(b.package(Some("ubuntu"), "lxc-start"), Ok("lxc"));
        assert!(b.template(None, Template::Module).is_none());
    }

    #[test]
    fn errors_say_where() {
        let bad = "schema_version = 1\n[commands]\n[distributions]\n[packages]\n[clouds]\n[[fix.kvm.device]]\nmodule = \"kvm intel\"\n";
        let e = Book::parse(bad, "f.toml").unwrap_err();
        assert_eq!((e.line, e.column), (6, 1), "{e}");
        assert!(e.message.contains("letters, digits"), "{e}");
        let two = bad.replace(
            "module = \"kvm intel\"",
            "module = \"kvm\"\ngroup = \"kvm\"",
        );
        assert!(
            Book::parse(&two, "f.toml")
                .unwrap_err()
                .message
                .contains("exactly one")
        );
        let lost = "schema_version = 1\n[commands]\n[distributions.a]\nlike = \"b\"\n[packages]\n[clouds]\n[fix]\n";
        let e = Book::parse(lost, "f.toml").unwrap_err();
        assert!(e.message.contains("not a distribution"), "{e}");
        let looped = lost.replace("[packages]", "[distributions.b]\nlike = \"a\"\n[packages]");
        let e = Book::parse(&looped, "f.toml").unwrap_err();
        assert!(e.message.contains("loops"), "{e}");
    }
}
