//! Reports made by the builder validate against `schemas/report.schema.json`, and reports
//! that break the envelope do not.

use gatehouse::{Check, Evidence, Location, Report};
use serde_json::{Value, json};

fn schema() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/report.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("schema JSON")
}

fn errors(instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(&schema()).expect("schema compiles");
    validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

fn sample() -> Report {
    let mut b = Report::start("alert-lint", "check");
    b.check(Check::ok("syntax.yaml"))
        .check(
            Check::fail("policy.runbook_missing", "no runbook").with_location(Location::at(
                "rules/a.yml",
                3,
                5,
            )),
        )
        .check(Check::warn("promql.range_too_short", "short"))
        .check(Check::skip("live.series_present", "no --prometheus"))
        .check(Check::at_most("budget.new_critical", 1.0, 0.0))
        .evidence(Evidence::of_bytes("rules/a.yml", b"groups: []\n"))
        .data(json!({"files": 1}))
        .phase(Some("P1".into()));
    b.finish()
}

#[test]
fn builder_reports_validate() {
    let ok = serde_json::to_value(sample()).expect("serializes");
    assert_eq!(errors(&ok), Vec::<String>::new());

    let mut b = Report::start("sbom-diff", "diff");
    b.error("input", "new.json:1:1: expected value");
    let err = serde_json::to_value(b.finish()).expect("serializes");
    assert_eq!(errors(&err), Vec::<String>::new());

    let empty =
        serde_json::to_value(Report::start("evidence-pack", "gate").finish()).expect("serializes");
    assert_eq!(errors(&empty), Vec::<String>::new());
}

#[test]
fn broken_envelopes_do_not_validate() {
    let good = serde_json::to_value(sample()).expect("serializes");
    let mut cases = Vec::new();
    let mut v = good.clone();
    v["result"] = json!("passed");
    cases.push(("unknown result", v));
    let mut v = good.clone();
    v["result"] = json!("error");
    cases.push(("error without error object", v));
    let mut v = good.clone();
    v["trace_id"] = json!("xyz");
    cases.push(("bad trace id", v));
    let mut v = good.clone();
    v["checks"][0]["result"] = json!("maybe");
    cases.push(("bad check result", v));
    let mut v = good.clone();
    v["checks"][1]["location"]["line"] = json!(0);
    cases.push(("line 0", v));
    let mut v = good;
    v.as_object_mut().expect("object").remove("phase");
    cases.push(("phase missing", v));
    for (what, v) in cases {
        assert!(!errors(&v).is_empty(), "{what} should not validate");
    }
}
