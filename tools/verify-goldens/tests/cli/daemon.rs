//! `verify-goldens run --every`: the probe daemon, its metrics scraped by a real Prometheus
//! and its rounds appended as JSON lines.

use super::{cmd, root};

#[test]
fn slow_the_daemons_metrics_are_scraped_by_prometheus_and_each_round_is_a_json_line() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start(&pg, &redis);
    let port = testkit::free_port();
    let prom = testkit::Prometheus::start(
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: goldens\n    \
             static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
        &[],
    );
    let dir = tempfile::tempdir().expect("tmp");
    let jsonl = dir.path().join("rounds.jsonl");
    let child = cmd()
        .env("SERVICE_URL", svc.url())
        .args(["run", &root("examples/release/golden_paths.yaml")])
        .args(["--every", "1s", "--max-rounds", "6", "--format", "json"])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .args([std::ffi::OsStr::new("--jsonl"), jsonl.as_os_str()])
        .into_command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Poll Prometheus (bounded) until it has scraped a round's metrics.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        seen = prom.query("golden_path_up{path=\"checkout\"}");
        if seen.contains("\"1\"]") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(
        seen.contains("\"1\"]"),
        "golden_path_up never scraped as 1: {seen}"
    );
    let lag = prom.query("realtime_delivery_lag_seconds_count{transport=\"websocket\"}");
    assert!(lag.contains("\"transport\":\"websocket\""), "{lag}");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(&jsonl).expect("jsonl");
    let rounds: Vec<serde_json::Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).expect("a report per line"))
        .collect();
    assert_eq!(rounds.len(), 6);
    for r in &rounds {
        testkit::schema::assert_valid_report(r);
        assert_eq!(r["result"], "ok");
    }
}
