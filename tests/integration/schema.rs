//! The JSON Schemas in data/ are generated from the report types, kept current, and real output
//! validates against them. After changing the types, `VIRTPROBE_BLESS=1 cargo test schema`.

use std::path::Path;

use crate::util::*;

fn check_current(name: &str, schema: serde_json::Value) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name);
    let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
    if std::env::var_os("VIRTPROBE_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        shipped == text,
        "data/{name} is stale: run VIRTPROBE_BLESS=1 cargo test schema"
    );
    schema
}

fn validate(schema: &serde_json::Value, instance: &serde_json::Value) {
    let v = jsonschema::validator_for(schema).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn report_schema_is_current_and_matches_output() {
    let schema = check_current(
        "report.schema.json",
        serde_json::to_value(schemars::schema_for!(virtprobe::report::Report)).unwrap(),
    );
    for host in fixture_names() {
        let out = bin()
            .arg("--root")
            .arg(fixture(&host))
            .arg("--json")
            .output()
            .unwrap();
        validate(&schema, &serde_json::from_slice(&out.stdout).unwrap());
    }
    let out = bin().arg("--json").output().unwrap();
    validate(&schema, &serde_json::from_slice(&out.stdout).unwrap());
    // The CLI prints the same schema.
    let printed: serde_json::Value =
        serde_json::from_slice(&bin().arg("schema").output().unwrap().stdout).unwrap();
    assert_eq!(printed, schema);
}

#[test]
fn status_schema_is_current_and_matches_output() {
    let schema = check_current(
        "status.schema.json",
        serde_json::to_value(schemars::schema_for!(virtprobe::report::status::Status)).unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let status = dir.path().join("status.json");
    let out = bin()
        .arg("--root")
        .arg(fixture("intel-vtx"))
        .args(["serve", "--cycles", "1", "--status"])
        .arg(&status)
        .output()
        .unwrap();
    assert!(out.status.success());
    validate(
        &schema,
        &serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap(),
    );
}

/// `virtprobe schema NAME` prints the schema of each JSON document, and what `explain`,
/// `advise` and `list` print validates against it and carries `schema_version`.
#[test]
fn every_json_document_has_its_schema() {
    let cases: [(&str, &str, Vec<&str>); 3] = [
        (
            "explain",
            "explain.schema.json",
            vec!["explain", "kvm", "--json"],
        ),
        (
            "advise",
            "advise.schema.json",
            vec!["advise", "--guest-os", "windows", "--json"],
        ),
        ("list", "list.schema.json", vec!["list", "--json"]),
    ];
    for (name, file, args) in cases {
        let printed: serde_json::Value =
            serde_json::from_slice(&bin().args(["schema", name]).output().unwrap().stdout).unwrap();
        let schema = check_current(file, printed);
        for host in ["intel-vtx", "x86-no-vt", "s390-zvm"] {
            let out = bin()
                .arg("--root")
                .arg(fixture(host))
                .args(&args)
                .output()
                .unwrap();
            succeeded(&out);
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["schema_version"], 1, "{name}");
            validate(&schema, &v);
        }
    }
    for name in ["report", "status"] {
        let printed: serde_json::Value =
            serde_json::from_slice(&bin().args(["schema", name]).output().unwrap().stdout).unwrap();
        let shipped: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("data/{name}.schema.json")),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(printed, shipped, "{name}");
    }
}

/// `virtprobe diff --json` validates against its schema, which is current and printed by
/// `virtprobe schema diff`.
#[test]
fn diff_schema_is_current_and_matches_output() {
    let printed: serde_json::Value =
        serde_json::from_slice(&bin().args(["schema", "diff"]).output().unwrap().stdout).unwrap();
    let schema = check_current("diff.schema.json", printed);
    let out = bin()
        .arg("diff")
        .arg(fixture("intel-vtx"))
        .arg(fixture("x86-no-vt"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert!(!v["changes"].as_array().unwrap().is_empty());
    validate(&schema, &v);
}

/// `virtprobe fix --json` validates against its schema, which is current and printed by
/// `virtprobe schema fix`.
#[test]
fn fix_schema_is_current_and_matches_output() {
    let printed: serde_json::Value =
        serde_json::from_slice(&bin().args(["schema", "fix"]).output().unwrap().stdout).unwrap();
    let schema = check_current("fix.schema.json", printed);
    for host in ["fix-debian", "fix-alpine", "cloud-aws", "intel-vtx"] {
        let out = bin()
            .arg("--root")
            .arg(fixture(host))
            .args(["fix", "--json", "kvm", "qemu", "vfio", "lxc", "podman"])
            .output()
            .unwrap();
        succeeded(&out);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["schema_version"], 1);
        validate(&schema, &v);
    }
}
