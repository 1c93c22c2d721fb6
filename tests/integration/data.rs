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

/// The compact form the binary loads is the TOML, parsed and validated. After changing either,
/// `VIRTPROBE_BLESS=1 cargo test compact` writes it again.
#[test]
fn compact_form_is_current() {
    let mut parsed = Table::parse(virtprobe::rules::EMBEDDED, virtprobe::rules::EMBEDDED_NAME)
        .expect("the shipped TOML is valid");
    parsed.source = virtprobe::rules::EMBEDDED_NAME.into();
    let bytes = parsed.to_compact().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/technologies.bin");
    if std::env::var_os("VIRTPROBE_BLESS").is_some() && virtprobe::rules::COMPACT != bytes {
        std::fs::write(&path, &bytes).unwrap();
        panic!("data/technologies.bin written again: build and test once more");
    }
    assert!(
        virtprobe::rules::COMPACT == bytes,
        "data/technologies.bin is stale: run VIRTPROBE_BLESS=1 cargo test compact"
    );
    assert_eq!(Table::embedded().unwrap(), parsed);
}

#[test]
fn shipped_table_loads_and_covers_the_source_rows() {
    let t = Table::embedded().unwrap();
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
            !x.ready.is_empty()
                && x.table
                    .as_ref()
                    .is_none_or(|c| !c.license.is_empty() && !c.architectures.is_empty()),
            "{}",
            x.id
        );
    }
    // The file on disk, read as a data file, is the embedded one.
    let disk = Table::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/technologies.toml"
    )))
    .unwrap();
    assert!(disk.technologies == t.technologies);
}

/// Every column of every source row is the 2009 table's, when the seed table is beside the checkout.
#[test]
fn source_columns_match_the_seed_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/notes/seed-table.md");
    let Ok(md) = std::fs::read_to_string(&path) else {
        crate::util::note(&format!("skipped: {} not found", path.display()));
        return;
    };
    let t = Table::embedded().unwrap();
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
        let c = x.table.as_ref().unwrap();
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

/// Every source row carries the 2009 columns; category and status come from their lists (the
/// parser refuses others), and a data file without the columns on a source row is refused.
#[test]
fn source_rows_need_their_columns() {
    let t = Table::embedded().unwrap();
    for x in t.technologies.iter().filter(|x| x.source_row) {
        assert!(x.table.is_some(), "{}", x.id);
    }
    let text = virtprobe::rules::EMBEDDED.replacen(
        "[technology.table]\nfull_virt",
        "[technology.notable]\nfull_virt",
        1,
    );
    let e = Table::parse(&text, "t.toml").unwrap_err();
    assert!(
        e.message.contains("unknown field") || e.message.contains("2009"),
        "{e}"
    );
    let text =
        virtprobe::rules::EMBEDDED.replacen("status = \"maintained\"", "status = \"thriving\"", 1);
    let e = Table::parse(&text, "t.toml").unwrap_err();
    assert!(e.message.contains("unknown variant `thriving`"), "{e}");
    let text = virtprobe::rules::EMBEDDED.replacen(
        "category = \"hosted-hypervisor\"",
        "category = \"hypervisor\"",
        1,
    );
    assert!(Table::parse(&text, "t.toml").is_err());
    let text =
        virtprobe::rules::EMBEDDED.replace("{ set = \"qemu-system\" }", "{ set = \"qemu\" }");
    let e = Table::parse(&text, "t.toml").unwrap_err();
    assert!(e.message.contains("unknown set \"qemu\""), "{e}");
}

// The condition language on a minimal table.
mod mini {
    use virtprobe::facts::{Fact, Facts, Value};
    use virtprobe::rules::{Outcome, Table, eval};

    const MINI: &str = r#"schema_version = 1
    [[technology]]
    id = "t"
    name = "T"
    category = "emulator"
    status = "maintained"
    performance_rank = 3
    ready = "ok"
    [technology.table]
    full_virt = "yes"
    paravirt = ""
    containers = ""
    license = "GPL"
    architectures = "all"
    performance = "slow"
    smp_guests = ""
    hotplug = ""
    standalone_host = ""
    notes = ""
    [[technology.requires]]
    id = "arch"
    class = "unsupported"
    why = "x86 only"
    test = { fact = "arch", in = ["x86_64"] }
    "#;

    #[test]
    fn parses_and_evaluates() {
        let t = Table::parse(MINI, "mini.toml").unwrap();
        let mut f = Facts::default();
        f.insert("arch", Fact::known(Value::Str("x86_64".into()), "uname"));
        let mut ev = Vec::new();
        assert_eq!(
            eval(&t.technologies[0].requires[0].test, &f, &mut ev),
            Outcome::Pass
        );
        assert!(ev[0].to_string().contains("x86_64"), "{ev:?}");
        let mut f2 = Facts::default();
        f2.insert("arch", Fact::unknown("no cpuinfo", "/proc/cpuinfo"));
        assert_eq!(
            eval(&t.technologies[0].requires[0].test, &f2, &mut Vec::new()),
            Outcome::Unknown
        );
    }

    #[test]
    fn has_any_on_sets_and_its_errors() {
        let src = MINI.replace(
            r#"test = { fact = "arch", in = ["x86_64"] }"#,
            r#"test = { fact = "tool", has_any = ["qemu-system-x86_64", "qemu-system-aarch64"] }"#,
        );
        let t = Table::parse(&src, "x.toml").unwrap();
        let needs = t.needs();
        assert!(needs.tools.contains("qemu-system-aarch64") && needs.tools.len() == 2);
        let test = &t.technologies[0].requires[0].test;
        let mut f = Facts::default();
        f.insert(
            "tool",
            Fact::known(
                Value::Map(
                    [(
                        "qemu-system-aarch64".to_string(),
                        "/usr/bin/qemu-system-aarch64".to_string(),
                    )]
                    .into(),
                ),
                "PATH",
            ),
        );
        let mut ev = Vec::new();
        assert_eq!(eval(test, &f, &mut ev), Outcome::Pass);
        assert!(
            ev[0]
                .to_string()
                .contains("\"qemu-system-aarch64\" = \"/usr/bin/qemu-system-aarch64\""),
            "{ev:?}"
        );
        f.insert("tool", Fact::known(Value::Map(Default::default()), "PATH"));
        assert_eq!(eval(test, &f, &mut Vec::new()), Outcome::Fail);
        for (bad, why) in [
            (r#"{ fact = "tool", has_any = [] }"#, "at least one"),
            (r#"{ fact = "arch", has_any = ["x"] }"#, "does not apply"),
        ] {
            let src = MINI.replace(r#"{ fact = "arch", in = ["x86_64"] }"#, bad);
            let e = Table::parse(&src, "x.toml").unwrap_err();
            assert!(e.message.contains(why), "{e}");
            assert_eq!(e.line, 24);
        }
    }

    #[test]
    fn errors_carry_position() {
        let bad = MINI.replace("fact = \"arch\"", "fact = \"arch.nope\"");
        let e = Table::parse(&bad, "x.toml").unwrap_err();
        assert_eq!((e.line, e.file.as_str()), (24, "x.toml"));
        assert!(e.message.contains("unknown fact"), "{e}");
        let typo = MINI.replace("why = \"x86 only\"", "why = \"x86 only\"\nwhy_not = 1");
        let e = Table::parse(&typo, "x.toml").unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
        assert_eq!(e.line, 24);
        let wrong_type = MINI.replace("performance_rank = 3", "performance_rank = \"fast\"");
        assert!(
            Table::parse(&wrong_type, "x.toml")
                .unwrap_err()
                .to_string()
                .starts_with("x.toml:7:")
        );
        let dup = format!(
            "{MINI}{}",
            &MINI[MINI.find("[[technology]]").unwrap()
                ..MINI.find("[[technology.requires]]").unwrap()]
        );
        assert!(
            Table::parse(&dup, "x.toml")
                .unwrap_err()
                .message
                .contains("duplicate technology id")
        );
        let op = MINI.replace("in = [\"x86_64\"]", "ge = \"3\"");
        assert!(
            Table::parse(&op, "x.toml")
                .unwrap_err()
                .message
                .contains("does not apply")
        );
    }
}

/// The table's shared parts: named conditions (`use`), `match` and `has_all`, requirement groups
/// with `{name}` and `proof`; and their mistakes, each with its position.
mod shared {
    use virtprobe::facts::{Fact, Facts, Value};
    use virtprobe::rules::{Outcome, Table, eval};

    const TABLE: &str = r#"
schema_version = 1

[conditions]
modern = { fact = "kernel.version", ge = "5.0" }

[[groups.g.requires]]
id = "flags"
class = "unsupported"
why = "{name} needs vmx and lm"
test = { fact = "cpu.flags", has_all = ["vmx", "lm"] }

[[technology]]
id = "t"
name = "Tee"
category = "capability"
status = "maintained"
performance_rank = 1
ready = "ready"

[[technology.requires]]
group = "g"
proof = { fact = "kvm.device", is = true }

[[technology.requires]]
id = "config"
class = "host-change"
why = "config"
test = { any = [
  { fact = "kernel.config", match = { KVM = ["y", "m"], VHOST = ["y"] } },
  { use = "modern" },
] }
"#;

    #[test]
    fn groups_conditions_and_shorthands_expand() {
        let t = Table::parse(TABLE, "t.toml").unwrap();
        let tech = &t.technologies[0];
        assert_eq!(tech.requires[0].why, "Tee needs vmx and lm");
        let mut f = Facts::default();
        let flags = Value::Set(["vmx".to_string()].into());
        f.insert("cpu.flags", Fact::known(flags, "/proc/cpuinfo"));
        f.insert("kvm.device", Fact::known(Value::Bool(false), "/dev/kvm"));
        let mut ev = Vec::new();
        assert_eq!(eval(&tech.requires[0].test, &f, &mut ev), Outcome::Fail);
        let lines: Vec<String> = ev.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[2].starts_with("cpu.flags has \"lm\": no"),
            "{lines:?}"
        );
        f.insert("kvm.device", Fact::known(Value::Bool(true), "/dev/kvm"));
        assert_eq!(
            eval(&tech.requires[0].test, &f, &mut Vec::new()),
            Outcome::Pass
        );
        let config = Value::Map([("KVM".to_string(), "m".to_string())].into());
        f.insert("kernel.config", Fact::known(config, "/boot/config"));
        let mut ev = Vec::new();
        assert_eq!(eval(&tech.requires[1].test, &f, &mut ev), Outcome::Unknown);
        let lines: Vec<String> = ev.iter().map(ToString::to_string).collect();
        assert!(
            lines[0].starts_with("kernel.config[KVM] in [y, m]: yes"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("kernel.config[VHOST] in [y]: no"),
            "{lines:?}"
        );
        assert!(lines[2].starts_with("kernel.version: unknown"), "{lines:?}");
    }

    #[test]
    fn mistakes_are_placed() {
        for (from, to, message, line) in [
            (
                r#"{ use = "modern" }"#,
                r#"{ use = "ancient" }"#,
                "unknown named condition",
                31,
            ),
            (
                r#"group = "g""#,
                r#"group = "h""#,
                "unknown group \"h\"",
                21,
            ),
            (
                "[[technology.requires]]\ngroup",
                "[[technology.requires]]\nid = \"x\"\ngroup",
                "`group` stands alone",
                21,
            ),
            (
                r#"has_all = ["vmx", "lm"]"#,
                r#"has_all = ["vmx"], has = "lm""#,
                "stand alone beside `fact`",
                11,
            ),
            (
                r#"modern = { fact"#,
                r#"modern = { use = "modern" }
old = { fact"#,
                "a named condition cannot use another",
                5,
            ),
        ] {
            let bad = TABLE.replacen(from, to, 1);
            assert_ne!(bad, TABLE, "{from}");
            let e = Table::parse(&bad, "t.toml").unwrap_err();
            assert!(e.message.contains(message), "{e}");
            assert_eq!(e.line, line, "{e}");
        }
    }
}
