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

/// Every line of `text` is a whole report (the schema's envelope), and the text ends with a
/// newline unless empty; returns how many.
fn whole_reports(text: &str) -> usize {
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "torn tail: {text:.200}"
    );
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a whole report ({e}): {l:.200}"));
            testkit::schema::assert_valid_report(&v);
        })
        .count()
}

#[test]
fn slow_sigkill_of_the_daemon_leaves_only_whole_lines_and_a_torn_tail_is_cut_by_the_next_run() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start(&pg, &redis);
    let dir = tempfile::tempdir().expect("tmp");
    let jsonl = dir.path().join("rounds.jsonl");
    let daemon = |max_rounds: Option<&str>| {
        let mut c = cmd()
            .env("SERVICE_URL", svc.url())
            .args(["run", &root("examples/release/golden_paths.yaml")])
            .args(["--path", "health", "--path", "checkout", "--every", "50ms"])
            .args(["-q", "--format", "json"])
            .args([std::ffi::OsStr::new("--jsonl"), jsonl.as_os_str()]);
        if let Some(n) = max_rounds {
            c = c.args(["--max-rounds", n]);
        }
        c
    };
    let lines = || std::fs::read_to_string(&jsonl).unwrap_or_default();
    // Killed at different moments of its rounds (after 1, 2, … lines appeared, plus a
    // growing offset into the next round): the log is whole lines every time.
    let mut before = 0;
    for kill in 1..=6u64 {
        let mut child = daemon(None)
            .into_command()
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while lines().lines().count() < before + 1 {
            assert!(std::time::Instant::now() < deadline, "no round within 60s");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(std::time::Duration::from_millis(7 * kill));
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        let n = whole_reports(&lines());
        assert!(n > before, "kill {kill}: {n} lines after {before}");
        before = n;
    }
    // A torn line as a kill in the middle of a write would leave it (the kernel makes that
    // rare, not impossible): the next run cuts it and appends on a line of its own.
    let whole = lines();
    std::fs::write(
        &jsonl,
        format!("{whole}{{\"schema\": \"gatehouse.report/v1\", \"agent\""),
    )
    .expect("tear");
    let r = daemon(Some("1")).run();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(whole_reports(&lines()), before + 1);
    assert!(lines().starts_with(&whole));
}
