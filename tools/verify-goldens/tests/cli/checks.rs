//! `verify-goldens checks`: the table of check ids.

use super::run;

#[test]
fn checks_lists_every_id_with_its_fix() {
    let r = run(&["checks"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<&str> = r.json["data"]["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    for id in ["step.status", "step.latency", "slo.page", "canary.decision"] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
}

#[test]
fn the_example_golden_paths_validate_against_their_schema() {
    for file in [
        "examples/release/golden_paths.yaml",
        "examples/bad-release/golden_paths.yaml",
    ] {
        let text = std::fs::read_to_string(super::root(file)).expect("read");
        let doc: serde_json::Value = gatehouse::yaml::from_str(file, &text).expect("yaml");
        testkit::schema::assert_valid("verify-goldens.golden-paths.schema.json", &doc);
    }
}
