//! IBM Z: the levels `/proc/sysinfo` shows (the LPAR, and each `VMnn Control Program`).
//!
//! Reads `/proc/sysinfo`.

use crate::host::HostFs;

/// What `/proc/sysinfo` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S390 {
    /// The file exists.
    pub present: bool,
    /// `LPAR`, then each control program, outermost first.
    pub layers: Vec<String>,
    /// The innermost `VMnn Control Program` level (`VM00`, the one this Linux runs under), its key
    /// and value.
    pub vm: Option<(String, String)>,
}

impl S390 {
    /// Whether the outermost level is an LPAR.
    pub fn in_lpar(&self) -> bool {
        self.layers.first().map(String::as_str) == Some("LPAR")
    }
}

/// Read `/proc/sysinfo`.
pub fn read(fs: &HostFs) -> S390 {
    let Ok(text) = fs.read_string("/proc/sysinfo") else {
        return S390::default();
    };
    let (lpar, levels) = parse_sysinfo(&text);
    let mut s = S390 {
        present: true,
        ..S390::default()
    };
    if lpar {
        s.layers.push("LPAR".to_string());
    }
    // VM00 is the level nearest this Linux; higher numbers are the hypervisors beneath it.
    s.layers
        .extend(levels.iter().rev().map(|(_, cp)| cp.clone()));
    s.vm = levels.into_iter().next();
    s
}

/// s390 `/proc/sysinfo`: whether it shows an LPAR level, and each `VMnn Control Program` level
/// (`("VM00 Control Program", "z/VM    7.3.0")`), outermost first.
pub fn parse_sysinfo(text: &str) -> (bool, Vec<(String, String)>) {
    let lpar = text
        .lines()
        .any(|l| l.starts_with("LPAR Number") || l.starts_with("LPAR Name"));
    let levels = text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.starts_with("VM") && k.trim_end().ends_with("Control Program"))
                .then(|| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    (lpar, levels)
}
