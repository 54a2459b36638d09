//! The policy files we ship validate against schemas/evidence-pack.policy.schema.json, and
//! the schema refuses what the tool refuses.

use serde_json::Value;

use crate::util;

fn yaml(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).expect("policy");
    serde_saphyr::from_str(&text).expect("YAML")
}

#[test]
fn shipped_policies_validate_against_the_schema() {
    for p in [
        util::root().join("examples/release/promote.yaml"),
        util::root().join("examples/bad-release/promote.yaml"),
        util::fixtures().join("full-policy.yaml"),
    ] {
        testkit::schema::assert_valid("evidence-pack.policy.schema.json", &yaml(&p));
        // And the tool reads each one.
        let dir = tempfile::tempdir().expect("tmp");
        util::good_reports(dir.path());
        let r = util::run(
            dir.path(),
            &[
                "gate",
                "--policy",
                p.to_str().expect("utf-8"),
                ".",
                "--now",
                "2026-11-24T12:00:00Z",
            ],
        );
        assert_ne!(r.code, 2, "{}: {}", p.display(), r.stderr);
    }
}

#[test]
fn the_schema_refuses_typos_and_bad_operators() {
    let bad: Value = serde_saphyr::from_str(
        "required:\n  - agent: sbom-diff\n    action: diff\n    acept: [ok]\n",
    )
    .expect("yaml");
    assert!(!testkit::schema::errors("evidence-pack.policy.schema.json", &bad).is_empty());
    let bad: Value =
        serde_saphyr::from_str("figures:\n  - perf-gate data.headroom => 0.2\n").expect("yaml");
    assert!(!testkit::schema::errors("evidence-pack.policy.schema.json", &bad).is_empty());
    let bad: Value =
        serde_saphyr::from_str("figures: []\nwaivers:\n  - agent: x\n    until: 2026-01-01\n")
            .expect("yaml");
    assert!(!testkit::schema::errors("evidence-pack.policy.schema.json", &bad).is_empty());
}
