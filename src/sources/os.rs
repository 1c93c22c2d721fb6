//! The distribution: which Linux this is, for `fix` to speak its package manager and boot loader.
//!
//! Reads `/etc/os-release`, else `/usr/lib/os-release` (os-release(5): shell-style `KEY=value`
//! lines, values optionally quoted). Only `ID`, `ID_LIKE`, `VERSION_ID` and `PRETTY_NAME` are kept.

use serde::Serialize;

use super::Reading;
use crate::host::{HostFs, ReadError};

/// The two places os-release(5) names, in the order it says to try them.
const PATHS: &[&str] = &["/etc/os-release", "/usr/lib/os-release"];

/// What os-release says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OsRelease {
    /// `ID`: the distribution's lower-case word (`debian`, `fedora`, `opensuse-leap`…); `linux`
    /// when the file does not say, as os-release(5) prescribes.
    pub id: String,
    /// `ID_LIKE`: the distributions this one derives from, closest first.
    pub id_like: Vec<String>,
    /// `VERSION_ID`, when given.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, when given.
    pub pretty_name: Option<String>,
}

/// Read the distribution from the first os-release file found.
pub fn read(fs: &HostFs) -> Reading<OsRelease> {
    let mut why = Vec::new();
    for path in PATHS {
        match fs.read_string(path) {
            Ok(text) => return Reading::known(parse(&text), *path),
            Err(ReadError::NotFound(_)) => why.push(format!("{path}: not found")),
            Err(e) => why.push(e.to_string()),
        }
    }
    Reading::unknown(why.join("; "), PATHS[0])
}

/// Parse os-release text; lines that are not `KEY=value` are skipped.
pub fn parse(text: &str) -> OsRelease {
    let mut os = OsRelease {
        id: "linux".into(),
        ..OsRelease::default()
    };
    for line in text.lines() {
        let Some((key, raw)) = line.trim().split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" if !value.is_empty() => os.id = value,
            "ID_LIKE" => os.id_like = value.split_whitespace().map(str::to_string).collect(),
            "VERSION_ID" => os.version_id = Some(value),
            "PRETTY_NAME" => os.pretty_name = Some(value),
            _ => {}
        }
    }
    os
}

/// A value as the shell would read it: inside double quotes `\` escapes `"`, `\`, `$` and `` ` ``;
/// inside single quotes nothing is special.
fn unquote(raw: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => out.extend(chars.next()),
            (None, '#') => break,
            (None, c) if c.is_whitespace() => break,
            (_, c) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fields_fix_needs() {
        let os = parse(
            "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n\
             PRETTY_NAME='Rocky Linux 9.4 (Blue Onyx)'\n# a comment\nnonsense\n",
        );
        assert_eq!(os.id, "rocky");
        assert_eq!(os.id_like, ["rhel", "centos", "fedora"]);
        assert_eq!(os.version_id.as_deref(), Some("9.4"));
        assert_eq!(
            os.pretty_name.as_deref(),
            Some("Rocky Linux 9.4 (Blue Onyx)")
        );
    }

    #[test]
    fn an_absent_id_is_linux() {
        assert_eq!(parse("NAME=Foo\n").id, "linux");
        assert_eq!(parse("ID=\"\"\n").id, "linux");
    }

    #[test]
    fn quotes_and_escapes_read_as_the_shell_reads_them() {
        assert_eq!(unquote(r#""a \"b\" \$c""#), r#"a "b" $c"#);
        assert_eq!(unquote(r"'a \b'"), r"a \b");
        assert_eq!(unquote("plain # comment"), "plain");
    }
}
