//! Kernel versions, parsed and compared numerically.
//!
//! `2.6.18-398.el5xen`, `6.8.0-48-generic`, `6.18.44-fc-v782`, `3.10.0-1160.el7.x86_64`, `6`,
//! `5.15.0-rc1+`: the leading `major[.minor[.patch]]` numbers decide, the rest is the distribution's
//! suffix. (semver would order `6.8.0-48-generic` before `6.8.0`, which is wrong for kernels.)

use std::fmt;
use std::str::FromStr;

/// `major.minor.patch` of a kernel release; missing parts are 0.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct KVersion(pub u32, pub u32, pub u32);

/// Why a release string has no version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// It does not start with a number.
    #[error("{0:?} does not start with a version number")]
    NoNumber(String),
    /// A part does not fit in 32 bits.
    #[error("{0:?} has a version part too large")]
    Overflow(String),
}

impl KVersion {
    /// The three parts as an array, for JSON.
    pub fn parts(self) -> [u32; 3] {
        [self.0, self.1, self.2]
    }
}

impl FromStr for KVersion {
    type Err = VersionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let mut parts = [0u32; 3];
        let mut rest = t;
        for (i, part) in parts.iter_mut().enumerate() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                if i == 0 {
                    return Err(VersionError::NoNumber(s.to_string()));
                }
                break;
            }
            *part = rest[..digits]
                .parse()
                .map_err(|_| VersionError::Overflow(s.to_string()))?;
            rest = &rest[digits..];
            match rest.strip_prefix('.') {
                Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
                _ => break,
            }
        }
        Ok(KVersion(parts[0], parts[1], parts[2]))
    }
}

impl fmt::Display for KVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}
