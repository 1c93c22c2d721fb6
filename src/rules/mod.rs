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
pub use cond::{Written, line_col};
pub use eval::{Outcome, eval, holds};
pub use evidence::{Evidence, Observed};
pub use load::MAX_DATA;
pub use model::*;
pub use parse::{DataError, EMBEDDED, EMBEDDED_NAME};

use crate::facts::Asks;
use crate::sources::Needs;

impl Cond {
    /// Each test on a fact in it: the fact and the names the test asks about (a map's key, a
    /// set's members; none when it reads the whole value).
    pub fn each_test<'a>(
        &'a self,
        f: &mut impl FnMut(&'static crate::facts::FactDef, &'a [String]),
    ) {
        match self {
            Cond::All(v) | Cond::Any(v) => v.iter().for_each(|c| c.each_test(f)),
            Cond::Not(c) => c.each_test(f),
            Cond::Const(_) => {}
            Cond::Leaf { fact, key, op, .. } => {
                let values: &[String] = match (key, op) {
                    (Some(k), _) => std::slice::from_ref(k),
                    (None, Op::Has(v) | Op::Lacks(v)) => std::slice::from_ref(v),
                    (None, Op::HasAny(v)) => v,
                    _ => &[],
                };
                f(fact, values)
            }
        }
    }
}

impl Technology {
    /// Every condition of it: requirements (with their `when`) and detection.
    pub fn conditions(&self) -> impl Iterator<Item = &Cond> {
        self.requires
            .iter()
            .flat_map(|r| std::iter::once(&r.test).chain(&r.when))
            .chain(self.detect_host.iter().chain(&self.detect_guest))
    }
}

/// The facts a verdict reads, each with the names it asks about (`None`: the whole value).
pub type Reads =
    std::collections::BTreeMap<&'static str, Option<std::collections::BTreeSet<String>>>;

impl Table {
    /// The facts technology `id`'s verdict reads, its dependencies' included (empty for an id
    /// the table does not have).
    pub fn reads(&self, id: &str) -> Reads {
        let mut reads = Reads::new();
        let mut todo = vec![id];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(id) = todo.pop() {
            let Some(t) = self.get(id).filter(|_| seen.insert(id)) else {
                continue;
            };
            for c in t.conditions() {
                c.each_test(&mut |fact, names| {
                    let entry = reads
                        .entry(fact.name)
                        .or_insert_with(|| Some(Default::default()));
                    match (entry, names.is_empty()) {
                        (e, true) => *e = None,
                        (Some(set), false) => set.extend(names.iter().cloned()),
                        (None, false) => {}
                    }
                });
            }
            // A layer found with one of its words makes this Linux its guest or host.
            if !t.words.is_empty() {
                reads.insert("virt.hypervisor", None);
                reads.insert("virt.container", None);
            }
            todo.extend(t.depends.iter().map(String::as_str));
        }
        reads
    }

    /// What the probe must look at for these rules.
    pub fn needs(&self) -> Needs {
        let mut n = Needs::default();
        for c in self.technologies.iter().flat_map(Technology::conditions) {
            c.each_test(&mut |fact, values| {
                let target = match fact.asks {
                    Asks::ConfigKeys => &mut n.config_keys,
                    Asks::Params => &mut n.params,
                    Asks::Paths => &mut n.paths,
                    Asks::Tools => &mut n.tools,
                    Asks::Nothing => return,
                };
                target.extend(values.iter().cloned());
            });
        }
        // The probe reads these itself: module support and the cgroup v2 device controller.
        n.config_keys
            .extend(["MODULES".to_string(), "CGROUP_BPF".to_string()]);
        n
    }
}
