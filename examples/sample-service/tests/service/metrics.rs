//! /metrics as Prometheus sees it: a real Prometheus scrapes a v1 and a v2 instance of one
//! build, and the request rate by `version` comes back; promtool accepts the exposition.
//! (`slow_`: five servers at once, so nextest runs it in the one-at-a-time group.)

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{Env, start_service, wait_for};

#[test]
fn slow_prometheus_scrapes_a_baseline_and_a_canary_and_returns_the_request_rate_by_version() {
    let env = Env::start();
    let canary = start_service(&env.pg, &env.redis, |o| o.args(["--version-label", "v2"]));
    let config = format!(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
         scrape_configs:\n  - job_name: sample-service\n    \
         static_configs: [{{targets: ['{}', '{}']}}]\n",
        env.svc.target(),
        canary.target()
    );
    let prom = testkit::Prometheus::start(&config, &[]);
    let (v1, v2) = (env.client(), crate::Client::new(&canary.url()));
    let query = "sum by (version) (rate(http_requests_total{route=\"/healthz\"}[10s]))";
    let versions = wait_for("a request rate for v1 and v2", || {
        for _ in 0..5 {
            assert_eq!(v1.get("/healthz", "t").status, 200);
            assert_eq!(v2.get("/healthz", "t").status, 200);
        }
        let body: Value = serde_json::from_str(&prom.query(query)).expect("JSON");
        let mut versions: Vec<String> = body["data"]["result"]
            .as_array()?
            .iter()
            .filter(|r| r["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()) > Some(0.0))
            .filter_map(|r| r["metric"]["version"].as_str().map(str::to_owned))
            .collect();
        versions.sort();
        (versions.len() == 2).then_some(versions)
    });
    assert_eq!(versions, ["v1", "v2"]);
    // The header says which instance answered, too.
    assert_eq!(v2.get("/healthz", "t").version.as_deref(), Some("v2"));
    let build: Value = serde_json::from_str(&prom.query("build_info")).expect("JSON");
    assert_eq!(
        build["data"]["result"].as_array().map(Vec::len),
        Some(2),
        "{build}"
    );
}

#[test]
fn promtool_accepts_the_exposition_with_every_metric_present() {
    let env = Env::start();
    let c = env.client();
    // Touch every family so each has a sample.
    let cust = crate::new_customer(&c, "m@example.com");
    let order = crate::place_order(&c, "acme", cust);
    c.get(&format!("/orders/{}", order["id"]), "acme");
    wait_for("the worker to process both events", || {
        let m = c.get("/metrics", "t").body;
        (crate::metric(&m, "events_processed_total", &["outcome=\"written\""]) == 2.0).then_some(())
    });
    let m = c.get("/metrics", "t").body;
    for family in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "events_published_total",
        "events_processed_total",
        "events_consumer_lag",
        "build_info",
        "cache_requests_total",
    ] {
        assert!(
            m.lines()
                .any(|l| l.starts_with(family) && l.contains("version=\"v1\"")),
            "{family} missing or without the version label:\n{m}"
        );
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/setup.sh installs it)");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(m.as_bytes())
        .expect("write to promtool");
    let out = promtool.wait_with_output().expect("promtool finishes");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{m}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
