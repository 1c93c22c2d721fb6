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
