//! Validates JSON against the project's schemas in `schemas/`: the report envelope for
//! every tool's reports, and each tool's own data and input-file schemas.
//!
//! ```no_run
//! let report: serde_json::Value = serde_json::from_str("{}").expect("json");
//! testkit::schema::assert_valid_report(&report);
//! testkit::schema::assert_valid("sbom-diff.schema.json", &report["data"]);
//! testkit::schema::assert_unique_valid_ids(["budget.new_critical", "input.purls"]);
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

/// Panics, naming the id, unless every id is distinct and matches the check-id pattern of
/// `schemas/report.schema.json` (`gatehouse::report::is_valid_check_id`). Each tool's
/// `checks.rs` runs this over its whole table.
pub fn assert_unique_valid_ids<'a>(ids: impl IntoIterator<Item = &'a str>) {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        assert!(
            gatehouse::report::is_valid_check_id(id),
            "check id {id:?} does not match the pattern of schemas/report.schema.json"
        );
        assert!(seen.insert(id), "check id {id:?} appears twice");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_envelope_schema_rejects_a_non_report() {
        assert!(!super::errors("report.schema.json", &json!({"schema": "x"})).is_empty());
    }

    #[test]
    fn unique_valid_ids_pass() {
        super::assert_unique_valid_ids(["budget", "budget.new_critical", "promql/rate-on-gauge"]);
    }

    #[test]
    #[should_panic(expected = "appears twice")]
    fn a_repeated_id_panics() {
        super::assert_unique_valid_ids(["gate.age", "gate.figure", "gate.age"]);
    }

    #[test]
    #[should_panic(expected = "does not match the pattern")]
    fn an_id_off_the_pattern_panics() {
        super::assert_unique_valid_ids(["gate.age", "Gate.Figure"]);
    }
}
