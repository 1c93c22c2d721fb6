//! The technology table: its data format ([`model`]), reading and validating it ([`parse`]), and
//! evaluating its conditions on facts ([`eval`]).
//!
//! The table is data (`data/technologies.toml`, embedded; `--data FILE` replaces it). Each
//! technology carries the 2009 source table's columns and a list of requirements. A requirement is
//! a condition over facts (node-feature-discovery's match expressions, in TOML), a class that says
//! what a failure means (`unsupported`, `host-change`, `available`), the reason shown when it fails
//! and the remediation. Reads no host files.

mod compact;
mod cond;
pub mod eval;
pub mod evidence;
mod load;
pub mod model;
pub mod parse;
mod raw;

pub use compact::COMPACT;
pub use eval::{Outcome, eval, holds};
pub use evidence::{Evidence, Observed};
pub use load::MAX_DATA;
pub use model::*;
pub use parse::{DataError, EMBEDDED, EMBEDDED_NAME};

use crate::facts::Asks;
use crate::sources::Needs;

impl Table {
    /// What the probe must look at for these rules.
    pub fn needs(&self) -> Needs {
        fn walk(c: &Cond, n: &mut Needs) {
            match c {
                Cond::All(v) | Cond::Any(v) => v.iter().for_each(|c| walk(c, n)),
                Cond::Not(c) => walk(c, n),
                Cond::Const(_) => {}
                Cond::Leaf { fact, key, op, .. } => {
                    let values: &[String] = match (key, op) {
                        (Some(k), _) => std::slice::from_ref(k),
                        (None, Op::Has(v) | Op::Lacks(v)) => std::slice::from_ref(v),
                        (None, Op::HasAny(v)) => v,
                        _ => &[],
                    };
                    let target = match fact.asks {
                        Asks::ConfigKeys => &mut n.config_keys,
                        Asks::Params => &mut n.params,
                        Asks::Paths => &mut n.paths,
                        Asks::Tools => &mut n.tools,
                        Asks::Nothing => return,
                    };
                    target.extend(values.iter().cloned());
                }
            }
        }
        let mut n = Needs::default();
        for t in &self.technologies {
            for r in &t.requires {
                walk(&r.test, &mut n);
                if let Some(w) = &r.when {
                    walk(w, &mut n);
                }
            }
            for c in [&t.detect_host, &t.detect_guest].into_iter().flatten() {
                walk(c, &mut n);
            }
        }
        // The probe reads these itself: module support and the cgroup v2 device controller.
        n.config_keys
            .extend(["MODULES".to_string(), "CGROUP_BPF".to_string()]);
        n
    }
}
