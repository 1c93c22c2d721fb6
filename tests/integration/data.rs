//! The shipped technology table.

use std::path::Path;

use virtprobe::rules::Table;

const SOURCE_IDS: [&str; 20] = [
    "xen",
    "kvm",
    "lguest",
    "rhype",
    "mol",
    "uml",
    "l4linux",
    "qemu",
    "openvz",
    "linux-vserver",
    "lxc",
    "virtualbox",
    "vmware-server",
    "vmware-workstation",
    "vmware-esx",
    "lpar",
    "zvm",
    "phyp",
    "lv1",
    "beat",
];

#[test]
fn shipped_table_loads_and_covers_the_source_rows() {
    let t = Table::embedded();
    let source: Vec<&str> = t
        .technologies
        .iter()
        .filter(|x| x.source_row)
        .map(|x| &*x.id)
        .collect();
    assert_eq!(source, SOURCE_IDS);
    let modern = t.technologies.iter().filter(|x| !x.source_row).count();
    assert!(modern >= 15, "{modern} new rows");
    for x in t.technologies.iter() {
        assert!(
            !x.requires.is_empty() || !x.depends.is_empty(),
            "{} has no requirements",
            x.id
        );
        assert!(
            !x.ready.is_empty() && !x.table.license.is_empty() && !x.table.architectures.is_empty(),
            "{}",
            x.id
        );
    }
    // The file on disk is the embedded one.
    let disk = Table::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/technologies.toml"
    )))
    .unwrap();
    assert!(
        disk.technologies == t.technologies,
        "the embedded table differs from data/technologies.toml (build.rs compiles it at every change)"
    );
}

/// Every column of every source row is the 2009 table's, when the seed table is beside the checkout.
#[test]
fn source_columns_match_the_seed_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/notes/seed-table.md");
    let Ok(md) = std::fs::read_to_string(&path) else {
        eprintln!("skipped: {} not found", path.display());
        return;
    };
    let t = Table::embedded();
    let rows: Vec<Vec<String>> = md
        .lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---") && !l.starts_with("| technology"))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), 20);
    for (row, id) in rows.iter().zip(SOURCE_IDS) {
        let x = t.get(id).unwrap();
        let c = &x.table;
        let ours = [
            &c.full_virt,
            &c.paravirt,
            &c.containers,
            &c.license,
            &c.architectures,
            &c.performance,
            &c.smp_guests,
            &c.hotplug,
            &c.standalone_host,
            &c.notes,
        ];
        let yes = |s: &str| {
            if s == "(./)" {
                "yes".to_string()
            } else {
                s.to_string()
            }
        };
        for (i, (theirs, ours)) in row[1..].iter().zip(ours).enumerate() {
            assert_eq!(&yes(theirs), ours, "{id} column {}", i + 1);
        }
    }
}

/// The table build.rs compiled into the binary is the one the run-time parser reads from the same
/// TOML: the generated statics lose or change nothing (every field, condition and string).
#[test]
fn embedded_table_is_the_parsed_toml() {
    let parsed = Table::parse(virtprobe::rules::EMBEDDED, virtprobe::rules::EMBEDDED_NAME).unwrap();
    let embedded = Table::embedded();
    assert_eq!(embedded.technologies.len(), parsed.technologies.len());
    for (e, p) in embedded.technologies.iter().zip(parsed.technologies.iter()) {
        assert_eq!(e, p, "technology {}", p.id);
    }
    assert!(embedded == parsed);
    // Borrowed from the binary, not built at run time.
    assert!(matches!(
        embedded.technologies,
        std::borrow::Cow::Borrowed(_)
    ));
}

/// `holds` (for `when` and role detection, which keep no evidence) decides every condition of the
/// table as `eval` does, on every fixture host.
#[test]
fn quiet_evaluation_agrees_with_evaluation() {
    use virtprobe::rules::{eval, holds};
    let table = Table::embedded();
    let mut checked = 0;
    for name in crate::util::fixture_names() {
        let fs = virtprobe::open_host(Some(&crate::util::fixture(&name))).unwrap();
        let live = virtprobe::live_sources(&fs);
        let probed = virtprobe::probe::probe(&fs, live.as_ref(), &table.needs());
        for t in table.technologies.iter() {
            let conds = t
                .requires
                .iter()
                .flat_map(|r| std::iter::once(&r.test).chain(r.when.as_ref()))
                .chain(t.detect_host.as_ref())
                .chain(t.detect_guest.as_ref());
            for c in conds {
                let mut evidence = Vec::new();
                assert_eq!(
                    holds(c, &probed.facts),
                    eval(c, &probed.facts, &mut evidence),
                    "{name}: {}",
                    t.id
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}
