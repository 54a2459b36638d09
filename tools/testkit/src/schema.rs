//! Validates JSON against the project's schemas in `schemas/`: the report envelope for
//! every tool's reports, and each tool's own data and input-file schemas.
//!
//! ```no_run
//! let report: serde_json::Value = serde_json::from_str("{}").expect("json");
//! testkit::schema::assert_valid_report(&report);
//! testkit::schema::assert_valid("sbom-diff.schema.json", &report["data"]);
//! ```

use std::path::PathBuf;

use serde_json::Value;

/// The workspace's `schemas/` directory.
pub fn dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas"))
}

/// Loads `schemas/<name>`; panics with one line when it is missing or not JSON.
pub fn load(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("testkit: cannot read schema {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("testkit: schema {} is not JSON: {e}", path.display()))
}

/// Every violation of `schemas/<name>` by `instance`, as `message at /json/pointer`.
pub fn errors(name: &str, instance: &Value) -> Vec<String> {
    let schema = load(name);
    let validator = jsonschema::validator_for(&schema)
        .unwrap_or_else(|e| panic!("testkit: schema {name} does not compile: {e}"));
    validator
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

/// Panics, listing every violation, unless `instance` validates against `schemas/<name>`.
pub fn assert_valid(name: &str, instance: &Value) {
    let errs = errors(name, instance);
    assert!(
        errs.is_empty(),
        "does not validate against schemas/{name}:\n  {}\n{instance:#}",
        errs.join("\n  ")
    );
}

/// Asserts a report validates against the envelope (`schemas/report.schema.json`) and, when
/// `schemas/<agent>.schema.json` exists, its `data` against the tool's data schema.
pub fn assert_valid_report(report: &Value) {
    assert_valid("report.schema.json", report);
    if let Some(agent) = report.get("agent").and_then(Value::as_str) {
        let data_schema = format!("{agent}.schema.json");
        if dir().join(&data_schema).exists()
            && report.get("result").and_then(Value::as_str) != Some("error")
        {
            assert_valid(&data_schema, &report["data"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_envelope_schema_rejects_a_non_report() {
        assert!(!super::errors("report.schema.json", &json!({"schema": "x"})).is_empty());
    }
}
