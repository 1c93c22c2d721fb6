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
    /// The innermost `VMnn Control Program` level: its key and value.
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
    for (k, cp) in levels {
        s.layers.push(cp.clone());
        s.vm = Some((k, cp));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sysinfo_levels() {
        let (lpar, levels) = parse_sysinfo(
            "LPAR Number: 21\nLPAR Name: LP21\nVM00 Name: X\nVM00 Control Program: z/VM    7.3.0\n",
        );
        assert!(lpar);
        assert_eq!(
            levels,
            vec![(
                "VM00 Control Program".to_string(),
                "z/VM    7.3.0".to_string()
            )]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::proptest_cases()))]
        #[test]
        fn sysinfo_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_sysinfo(&String::from_utf8_lossy(&bytes));
        }
        #[test]
        fn sysinfo_finds_every_level(names in proptest::collection::vec("[A-Za-z/ .0-9]{1,20}", 0..6)) {
            let text: String = names.iter().enumerate().map(|(i, n)| format!("VM{i:02} Control Program: {n}\n")).collect();
            let (_, levels) = parse_sysinfo(&text);
            prop_assert_eq!(levels.len(), names.len());
        }
    }
}
