//! `alert-lint noise` against a real Prometheus: an alert whose target flaps (the endpoint is
//! toggled down and up) ranks first, above a steady alert, and fails the budget.

use crate::run;

fn firing(prom: &testkit::Prometheus, alert: &str) -> bool {
    prom.query(&format!(
        "ALERTS{{alertname=\"{alert}\",alertstate=\"firing\"}}"
    ))
    .contains("\"value\"")
}

/// Polls (bounded) until the alert's firing state is `want`.
fn wait_firing(prom: &testkit::Prometheus, alert: &str, want: bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if firing(prom, alert) == want {
            return;
        }
        std::thread::yield_now();
    }
    panic!(
        "{alert} never became {}",
        if want { "firing" } else { "resolved" }
    );
}

#[test]
fn a_flapping_alert_ranks_first_and_fails_the_budget() {
    let metrics = testkit::MetricsEndpoint::start("app_up 1\n");
    let rules = "groups:\n  - name: demo\n    interval: 1s\n    rules:\n      - alert: TargetFlapping\n        expr: up{job=\"flappy\"} == 0\n        labels: {severity: warning}\n      - alert: AlwaysFiring\n        expr: vector(1)\n        labels: {severity: info}\n";
    let prom = testkit::Prometheus::start(
        &format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [rules.yaml]\nscrape_configs:\n  - job_name: flappy\n    static_configs: [{{targets: ['{}']}}]\n",
            metrics.target()
        ),
        &[("rules.yaml", rules)],
    );
    wait_firing(&prom, "AlwaysFiring", true);
    for _ in 0..3 {
        metrics.set_up(false);
        wait_firing(&prom, "TargetFlapping", true);
        metrics.set_up(true);
        wait_firing(&prom, "TargetFlapping", false);
    }
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("noise.yaml");
    std::fs::write(&cfg, "noise:\n  max_flaps: 1\n  flap_gap: 1m\n").expect("write");
    let out = run(&[
        "noise",
        "--prometheus",
        &prom.url(),
        "--window",
        "5m",
        "--step",
        "1s",
        "--config",
        &cfg.display().to_string(),
    ]);
    let report = out.report();
    assert_eq!(out.code, 1, "{}", out.stdout);
    let alerts = report["data"]["alerts"].as_array().expect("ranking");
    assert_eq!(alerts[0]["alert"], "TargetFlapping", "{alerts:#?}");
    assert_eq!(alerts[0]["episodes"], 3);
    assert_eq!(alerts[0]["flaps"], 2);
    assert_eq!(alerts[1]["alert"], "AlwaysFiring");
    assert_eq!(alerts[1]["episodes"], 1);
    let fails: Vec<_> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["result"] == "fail")
        .collect();
    assert_eq!(fails.len(), 1);
    assert!(
        fails[0]["message"]
            .as_str()
            .expect("msg")
            .starts_with("TargetFlapping: 2 flaps (budget 1)"),
        "{}",
        fails[0]
    );
    let text = run(&[
        "--format",
        "text",
        "noise",
        "--prometheus",
        &prom.url(),
        "--window",
        "5m",
        "--step",
        "1s",
    ]);
    assert!(text.stdout.contains("Noisiest alerts"), "{}", text.stdout);
}
