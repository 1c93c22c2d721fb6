//! The fact registry is the truth: every fact the probe names is registered with its kind, every
//! registered fact is named on some host, and docs/technologies.md lists them all.

use std::collections::BTreeSet;

use virtprobe::facts::{FACTS, collect};
use virtprobe::host::{HostFs, Mode, live};

use crate::util::*;

#[test]
fn every_fact_is_registered_and_every_registered_fact_is_emitted() {
    let table = virtprobe::rules::Table::embedded().unwrap();
    let mut hosts: Vec<HostFs> = fixture_names()
        .iter()
        .map(|n| HostFs::with_root(&fixture(n), Mode::Tree).unwrap())
        .collect();
    hosts.push(HostFs::live().unwrap());
    let mut emitted = BTreeSet::new();
    for fs in &hosts {
        let probed = virtprobe::sources::probe(fs, live::sources_for(fs).as_ref(), &table.needs());
        for (name, fact) in collect(&probed).iter() {
            let def = FACTS
                .iter()
                .find(|d| d.name == name)
                .unwrap_or_else(|| panic!("{name} is emitted but not registered"));
            if let Ok(v) = &fact.value {
                assert_eq!(v.kind(), def.kind, "{name}");
            }
            emitted.insert(name);
        }
    }
    for d in FACTS {
        assert!(
            emitted.contains(d.name),
            "{} is registered but never emitted",
            d.name
        );
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
        std::iter::once("| fact | kind | what it is |\n|---|---|---|\n".to_string())
            .chain(
                FACTS
                    .iter()
                    .map(|d| format!("| `{}` | {} | {} |\n", d.name, d.kind.as_str(), d.doc)),
            )
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
