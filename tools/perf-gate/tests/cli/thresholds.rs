//! Thresholds in k6's syntax: every malformed one is refused with file:line and what is
//! wrong, before any load.

use crate::{assert_refused, run, scenario};

#[test]
fn each_malformed_threshold_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("http_req_duration: [\"p(95)<\"]", "no number after"),
        ("http_reqs: [\"rate>>1\"]", "is not a comparison"),
        (
            "quickpizza_ingredients: [{threshold: \"avg<8\", abortOnFail: false}]",
            "unknown metric",
        ),
        ("http_req_duration: [\"rate<1\"]", "trend metric"),
        (
            "\"http_req_duration{status:200}\": [\"p(95)<1\"]",
            "not \"status\"",
        ),
        (
            "\"http_req_duration{name:nope}\": [\"p(95)<1\"]",
            "no request is named",
        ),
        (
            "http_reqs: [{threshold: \"rate>1\", abortOnFail: true, delayAbortEval: soon}]",
            "delayAbortEval",
        ),
    ];
    for (i, (line, what)) in cases.iter().enumerate() {
        let name = format!("t{i}.yaml");
        let yaml = format!(
            "target: http://127.0.0.1:1\nrequests:\n  - name: a\n    path: /\nscenarios:\n  s: {{executor: constant-vus, vus: 1, duration: 1s}}\nthresholds:\n  {line}\n"
        );
        let s = scenario(dir.path(), &name, &yaml);
        let r = run(&["run", s.to_str().unwrap_or_default()]);
        assert_refused(&r, what);
        assert!(
            r.stderr.contains(&format!("{name}:8:")),
            "{line}: {}",
            r.stderr
        );
    }
}

#[test]
fn the_corpus_scripts_threshold_forms_parse() {
    // The thresholds of tests/corpus/k6/quickpizza/foundations/06.checks-with-thresholds.js,
    // in YAML (the custom metric left out: perf-gate has no custom metrics).
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = "target: http://127.0.0.1:1\nrequests:\n  - path: /\nscenarios:\n  s: {executor: constant-vus, vus: 1, duration: 1s}\nthresholds:\n  http_req_failed: ['rate<0.01']\n  http_req_duration: ['p(95)<500', 'p(99)<1000']\n  checks: [\"rate > 0.95\"]\n";
    let s = scenario(dir.path(), "s.yaml", yaml);
    // Parsed fine: what stops the run is the closed port, after the scenario was read.
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_refused(&r, "127.0.0.1:1");
}

#[test]
fn the_fixture_scenarios_follow_the_scenario_schema() {
    let dir = crate::fixture("");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("fixtures").flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let text = std::fs::read_to_string(&p).expect("read");
            let v: serde_json::Value = serde_saphyr::from_str(&text).expect("yaml");
            testkit::schema::assert_valid("perf-gate.scenario.schema.json", &v);
            n += 1;
        }
    }
    assert!(n >= 1);
    // And the schema refuses what the loader refuses: a field of another executor.
    let bad: serde_json::Value = serde_json::json!({
        "requests": [{"path": "/"}],
        "scenarios": {"a": {"executor": "constant-vus", "vus": 1, "duration": "1s", "rate": 5}}
    });
    assert!(!testkit::schema::errors("perf-gate.scenario.schema.json", &bad).is_empty());
}
