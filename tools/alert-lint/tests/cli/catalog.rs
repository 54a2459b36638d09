//! `alert-lint catalog`: the example catalog compiles deterministically, passes
//! `alert-lint check` and `promtool check rules`, and loads into a real Prometheus.

use std::process::Command;

use crate::{assert_report_snapshot, findings, run, run_with_stdin};

const CATALOG: &str = "examples/alert-catalog.yaml";

#[test]
fn the_example_catalog_compiles_to_stable_prometheusrule_objects_that_pass_check() {
    let out = run(&["catalog", CATALOG]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let again = run(&["catalog", CATALOG]);
    assert_eq!(out.stdout, again.stdout, "output is deterministic");
    insta::assert_snapshot!("catalog_prometheusrule", out.stdout);
    assert_eq!(out.stdout.matches("kind: PrometheusRule").count(), 2);

    let checked = run_with_stdin(&["check", "-"], Some(out.stdout.as_bytes()));
    let report = checked.report();
    assert_eq!(checked.code, 0, "{:#?}", findings(&report));
    assert_eq!(report["data"]["totals"]["alerts"], 7);
}

#[test]
fn the_report_goes_to_stdout_when_the_rules_go_to_a_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("rules.yaml");
    let out = run(&[
        "catalog",
        CATALOG,
        "--windows",
        "workbook",
        "-o",
        &file.display().to_string(),
    ]);
    let mut report = out.report();
    assert_eq!(out.code, 0);
    let text = std::fs::read_to_string(&file).expect("rules written");
    assert!(
        !text.contains("ratio_rate1d"),
        "the workbook table has no 1d/2h row"
    );
    assert!(text.contains("ratio_rate3d"));
    report["data"]["output"] = "[output]".into();
    report["evidence"][1]["path"] = "[output]".into();
    assert_report_snapshot!("catalog_report_workbook", report);
}

#[test]
fn plain_rules_pass_promtool_and_load_into_prometheus() {
    let out = run(&[
        "catalog",
        CATALOG,
        "--emit",
        "rules",
        "--windows",
        "page:1h/5m:14.4,ticket:6h/30m:6",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("slo.rules.yaml");
    std::fs::write(&file, &out.stdout).expect("write rules");
    assert!(
        std::path::Path::new("/usr/bin/promtool").exists(),
        "promtool missing; run scripts/setup.sh"
    );
    let p = Command::new("/usr/bin/promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .expect("promtool runs");
    assert!(
        p.status.success(),
        "{}{}",
        String::from_utf8_lossy(&p.stdout),
        String::from_utf8_lossy(&p.stderr)
    );

    let prom = testkit::Prometheus::start(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\nrule_files: [slo.rules.yaml]\n",
        &[("slo.rules.yaml", &out.stdout)],
    );
    let (status, body) = prom.get("/api/v1/rules");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("rules JSON");
    let mut names: Vec<&str> = v["data"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| g["name"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        vec![
            "checkout-api-alerts",
            "checkout-api-availability-burn-rate",
            "checkout-api-availability-sli",
            "checkout-api-latency-burn-rate",
            "checkout-api-latency-sli",
            "ingest-worker-processing-burn-rate",
            "ingest-worker-processing-sli",
        ]
    );
}

#[test]
fn catalog_mistakes_are_located() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("c.yaml");
    std::fs::write(
        &p,
        "services:\n  - name: api\n    team: t\n    runbook: https://r\n    slos:\n      - name: a\n        objective: 99.9\n        sli:\n          errors: sum(rate(e_total[5m]))\n          total: sum(rate(t_total[{{.window}}]))\n",
    )
    .expect("write");
    let path = p.display().to_string();
    let out = run(&["catalog", &path]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.starts_with(&format!(
            "alert-lint: {path}:9:19: api/a: the SLI query must use {{{{.window}}}}"
        )),
        "{}",
        out.stderr
    );
}
