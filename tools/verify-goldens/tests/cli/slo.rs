//! `verify-goldens slo` against a real Prometheus holding backfilled history.

use super::history::{Pattern, end, openmetrics, prometheus};
use super::{cmd, fixture};

fn slo(prom: &str, file: &str, at: i64) -> testkit::cli::Run {
    cmd()
        .args(["slo", "--prometheus", prom, "--slo"])
        .args([fixture(file)])
        .args(["--at", &at.to_string(), "--format", "json"])
        .run()
}

fn burn(r: &testkit::cli::Run, window: &str) -> f64 {
    r.json["data"]["slos"][0]["windows"]
        .as_array()
        .expect("windows")
        .iter()
        .find(|w| w["window"] == window)
        .and_then(|w| w["burn_rate"].as_f64())
        .unwrap_or_else(|| panic!("no window {window}: {}", r.stdout))
}

#[test]
fn slow_a_fresh_5_percent_burn_fires_the_page_pair_and_the_rates_match_the_arithmetic() {
    let t = end();
    // 0.1 % for four days, then 5 % for the last 30 minutes.
    let om = openmetrics(
        t,
        4,
        &[Pattern {
            labels: "",
            rps: 100.0,
            ratios: &[(0, 0.001), (1800, 0.05)],
        }],
    );
    let prom = prometheus(&om);
    let r = slo(&prom.url(), "slo-catalog.yaml", t);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    // The arithmetic: burn = error ratio / 0.001.
    let mixed = |bad_h: f64, all_h: f64| (bad_h * 0.05 + (all_h - bad_h) * 0.001) / all_h / 0.001;
    for (w, want) in [
        ("5m", 50.0),
        ("30m", 50.0),
        ("1h", mixed(0.5, 1.0)),
        ("2h", mixed(0.5, 2.0)),
        ("6h", mixed(0.5, 6.0)),
        ("1d", mixed(0.5, 24.0)),
        ("3d", mixed(0.5, 72.0)),
    ] {
        let got = burn(&r, w);
        assert!(
            (got - want).abs() / want < 0.05,
            "{w}: burn {got}, arithmetic {want}"
        );
    }
    let pairs = r.json["data"]["slos"][0]["pairs"]
        .as_array()
        .expect("pairs");
    let firing: Vec<(String, String)> = pairs
        .iter()
        .filter(|p| p["firing"] == true)
        .map(|p| {
            (
                p["severity"].as_str().unwrap_or("").to_owned(),
                p["long"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        firing,
        [
            ("page".to_owned(), "1h".to_owned()),
            ("ticket".to_owned(), "3d".to_owned())
        ]
    );
    let page = r.checks_with("slo.page", "fail");
    assert_eq!(page.len(), 1, "{}", r.stdout);
    assert!(
        page[0]["location"]["file"]
            .as_str()
            .expect("file")
            .ends_with("slo-catalog.yaml")
    );
    assert_eq!(r.checks_with("slo.ticket", "warn").len(), 1);
}

#[test]
fn slow_a_healthy_history_passes() {
    let t = end();
    let om = openmetrics(
        t,
        4,
        &[Pattern {
            labels: "",
            rps: 100.0,
            ratios: &[(0, 0.0005)],
        }],
    );
    let prom = prometheus(&om);
    let r = slo(&prom.url(), "slo-catalog.yaml", t);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.checks_with("slo.page", "fail").is_empty());
    assert!(r.checks_with("slo.ticket", "warn").is_empty());
    let left = r.json["data"]["slos"][0]["budget_remaining"]
        .as_f64()
        .expect("budget");
    assert!((left - 0.5).abs() < 0.05, "half the budget is left: {left}");
}

#[test]
fn slow_an_sli_with_no_series_is_an_error_naming_the_query() {
    let t = end();
    let om = openmetrics(
        t,
        1,
        &[Pattern {
            labels: "",
            rps: 10.0,
            ratios: &[(0, 0.001)],
        }],
    );
    let prom = prometheus(&om);
    let r = slo(&prom.url(), "slo-missing.yaml", t);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("slo-missing.yaml:6: SLO checkout-api/availability: no series for sum(rate(http_requests_totl"), "{}", r.stderr);
    assert_eq!(r.json["error"]["kind"], "no_series");
}

#[test]
fn a_silent_prometheus_is_an_error_within_the_timeout() {
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let started = std::time::Instant::now();
    let r = cmd()
        .args([
            "slo",
            "--prometheus",
            &format!("http://{}", silent.addr()),
            "--slo",
        ])
        .args([fixture("slo-catalog.yaml")])
        .args(["--timeout", "1s", "--format", "json"])
        .run();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("prometheus http://"), "{}", r.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "does not hang"
    );
}

#[test]
fn slow_a_prometheus_answering_an_error_is_one_line() {
    let prom = testkit::Prometheus::start("global: {scrape_interval: 15s}\n", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "services:\n  - name: a\n    slos:\n      - name: b\n        objective: 99\n        sli:\n          errors: sum(rate(x[{{.window}}]))\n          total: sum(rate(x[{{.window}}])) by (\n",
    )
    .expect("write");
    let r = cmd()
        .args(["slo", "--prometheus", &prom.url(), "--slo"])
        .args([&file])
        .args(["--format", "json"])
        .run();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert_eq!(r.json["error"]["kind"], "prometheus", "{}", r.stdout);
    assert!(
        r.stderr.contains("(query sum(rate(x[5m])) by ("),
        "{}",
        r.stderr
    );
}

#[test]
fn slow_a_latency_sli_on_a_bucket_the_histogram_lacks_is_an_error_not_zero_errors() {
    // The histogram has le 0.05, 0.1, 0.25, 0.5, 1; the SLI asks for le="0.3", which
    // empties the whole errors expression. Zero errors would be a silent pass.
    let t = end();
    let om = super::history::histogram(t, 1, &[("version=\"v1\"", 10.0, &[0.5, 0.5])]);
    let prom = prometheus(&om);
    let r = slo(&prom.url(), "slo-missing-bucket.yaml", t);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("no series for http_request_duration_seconds_bucket{")
            && r.stderr.contains("le=\"0.3\""),
        "{}",
        r.stderr
    );
    // The same SLI on a bound the histogram has: judged, no error.
    let ok = slo(&prom.url(), "slo-latency.yaml", t);
    assert_eq!(ok.code, 0, "{}\n{}", ok.stdout, ok.stderr);
}

/// `curl` one request to the sample service (bounded by its own 10 s timeout).
fn curl(args: &[&str]) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-m", "10", "-o", "/dev/null"])
        .args(args)
        .output()
        .expect("curl (scripts/setup.sh installs it)");
    assert!(out.status.success(), "curl {args:?}");
}

#[test]
fn slow_the_example_catalog_reads_the_live_sample_services_metrics_with_no_missing_series() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start(&pg, &redis);
    let prom = testkit::Prometheus::start(
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: checkout-api\n    \
             static_configs: [{{targets: ['{}']}}]\n",
            svc.target()
        ),
        &[],
    );
    let catalog = super::root("examples/alert-catalog.yaml");
    // Requests (availability, latency) and ingested events (processing), over a few scrapes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut n = 0;
    let r = loop {
        for _ in 0..5 {
            n += 1;
            curl(&[&format!("{}/healthz", svc.url())]);
            curl(&[
                "-X",
                "POST",
                "-H",
                "x-tenant: catalog",
                "-H",
                "content-type: application/json",
                "-d",
                &format!(r#"{{"email": "c{n}@example.com", "name": "C"}}"#),
                &format!("{}/customers", svc.url()),
            ]);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        let r = cmd()
            .args(["slo", "--prometheus", &prom.url(), "--slo", &catalog])
            .args(["--format", "json"])
            .run();
        if r.code != 2 || std::time::Instant::now() > deadline {
            break r;
        }
    };
    // A healthy service: every SLO of the catalog answered from real series, none burning.
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let slos = r.json["data"]["slos"].as_array().expect("slos");
    let names: Vec<String> = slos
        .iter()
        .map(|s| {
            format!(
                "{}/{}",
                s["service"].as_str().unwrap_or("?"),
                s["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "checkout-api/availability",
            "checkout-api/latency",
            "ingest-worker/processing"
        ],
        "{}",
        r.stdout
    );
    for s in slos {
        let w5 = s["windows"]
            .as_array()
            .expect("windows")
            .iter()
            .find(|w| w["window"] == "5m")
            .unwrap_or_else(|| panic!("no 5m window: {s}"));
        let ratio = w5["error_ratio"].as_f64();
        assert!(ratio.is_some(), "a number from real series: {s}");
        // No 5xx and no dead letter; a request over 250 ms on a loaded machine may count
        // against the latency SLO, so that one is only required to read.
        if s["name"] != "latency" {
            assert_eq!(ratio, Some(0.0), "{s}");
        }
    }
}
