//! `dr-drill checks` and `--help`.

use crate::run;

#[test]
fn checks_lists_every_id_with_its_fix() {
    let r = run(["checks"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ids: Vec<String> = r.report()["data"]["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    testkit::schema::assert_unique_valid_ids(ids.iter().map(String::as_str));
    for id in ["drill.rto", "drill.rpo", "backup.age", "restore.verify"] {
        assert!(ids.iter().any(|i| i == id), "{ids:?}");
    }
}

#[test]
fn every_command_has_an_example_in_its_help() {
    for cmd in ["freshness", "restore", "failover", "cutback"] {
        let out = std::process::Command::new(crate::bin())
            .args([cmd, "--help"])
            .output()
            .expect("runs");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains(&format!("Example:\n  dr-drill {cmd}")),
            "{cmd} --help has no example:\n{help}"
        );
    }
}

#[test]
fn the_example_drill_config_matches_its_schema_and_loads() {
    let path = testkit::cli::root().join("examples/release/drill.yaml");
    let text = std::fs::read_to_string(&path).expect("examples/release/drill.yaml");
    let v: serde_json::Value =
        gatehouse::yaml::from_str("drill.yaml", &text).expect("the example is YAML");
    testkit::schema::assert_valid("dr-drill.config.schema.json", &v);
    // The schema refuses what the tool refuses: no consent, no targets.
    let mut no_consent = v.clone();
    no_consent["allow_destructive"] = serde_json::Value::Bool(false);
    assert!(!testkit::schema::errors("dr-drill.config.schema.json", &no_consent).is_empty());
    let mut no_targets = v;
    no_targets.as_object_mut().expect("a map").remove("targets");
    assert!(!testkit::schema::errors("dr-drill.config.schema.json", &no_targets).is_empty());
}
