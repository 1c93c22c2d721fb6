//! The fact table is the truth: each row's getter gives a value of the row's kind, every fact is
//! known on some host, and docs/technologies.md lists them all.

use std::collections::BTreeSet;

use virtprobe::facts::{FACTS, collect};
use virtprobe::host::{HostFs, Mode, live};

use crate::util::*;

#[test]
fn every_fact_has_its_kind_and_is_known_somewhere() {
    let table = virtprobe::rules::Table::embedded().unwrap();
    let mut hosts: Vec<HostFs> = fixture_names()
        .iter()
        .map(|n| HostFs::with_root(&fixture(n), Mode::Tree).unwrap())
        .collect();
    hosts.push(HostFs::live().unwrap());
    let mut known = BTreeSet::new();
    for fs in &hosts {
        let probed = virtprobe::sources::probe(fs, live::sources_for(fs).as_ref(), &table.needs());
        let facts = collect(&probed);
        for d in FACTS {
            let fact = facts.get(d.name).expect("collect runs every row");
            if let Ok(v) = &fact.value {
                assert_eq!(v.kind(), d.kind, "{}", d.name);
                known.insert(d.name);
            }
        }
    }
    for d in FACTS {
        assert!(known.contains(d.name), "{} is known on no host", d.name);
    }
}

/// The fact list of docs/technologies.md, between its markers, is generated from the registry;
/// `VIRTPROBE_BLESS=1 cargo test facts` writes it again.
#[test]
fn the_docs_list_every_fact() {
    const BEGIN: &str = "<!-- facts: generated from src/facts/registry.rs -->\n";
    const END: &str = "<!-- facts: end -->";
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/technologies.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let generated: String =
        std::iter::once("| fact | kind | source | what it is |\n|---|---|---|---|\n".to_string())
            .chain(FACTS.iter().map(|d| {
                let (name, kind, source) = (d.name, d.kind.as_str(), d.source.as_str());
                format!("| `{name}` | {kind} | `sources::{source}` | {} |\n", d.doc)
            }))
            .collect();
    let (Some(b), Some(e)) = (docs.find(BEGIN), docs.find(END)) else {
        panic!("docs/technologies.md lacks the fact list markers");
    };
    let current = &docs[b + BEGIN.len()..e];
    if current != generated && std::env::var_os("VIRTPROBE_BLESS").is_some() {
        let fresh = format!("{}{BEGIN}{generated}{}", &docs[..b], &docs[e..]);
        std::fs::write(path, fresh).unwrap();
        return;
    }
    assert_eq!(current, generated, "run VIRTPROBE_BLESS=1 cargo test facts");
}
