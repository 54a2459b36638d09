//! `verify-goldens canary` against a real Prometheus holding backfilled v1/v2 history.

use super::history::{Pattern, end, openmetrics, prometheus};
use super::{cmd, fixture};

fn canary(v1: (f64, f64), v2: (f64, f64)) -> testkit::cli::Run {
    let t = end();
    let om = openmetrics(
        t,
        1,
        &[
            Pattern {
                labels: "version=\"v1\"",
                rps: v1.0,
                ratios: &[(0, v1.1)],
            },
            Pattern {
                labels: "version=\"v2\"",
                rps: v2.0,
                ratios: &[(0, v2.1)],
            },
        ],
    );
    let prom = prometheus(&om);
    cmd()
        .args(["canary", "--prometheus", &prom.url(), "--slo"])
        .args([fixture("slo-catalog.yaml")])
        .args(["--canary", "version=\"v2\"", "--baseline", "version=\"v1\""])
        .args([
            "--window",
            "10m",
            "--at",
            &t.to_string(),
            "--format",
            "json",
        ])
        .run()
}

#[test]
fn slow_a_ten_percent_canary_against_a_healthy_baseline_is_rolled_back() {
    let r = canary((10.0, 0.001), (10.0, 0.10));
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["decision"], "rollback");
    let s = &r.json["data"]["slos"][0];
    // 10 requests/s for 10 minutes on each side.
    assert!(
        (s["canary"]["requests"].as_f64().expect("n") - 6000.0).abs() < 300.0,
        "{s}"
    );
    assert!(
        (s["canary"]["error_ratio"].as_f64().expect("r") - 0.10).abs() < 0.005,
        "{s}"
    );
    assert_eq!(s["errors"]["test"], "two_proportion_z");
    assert!(s["errors"]["p_value"].as_f64().expect("p") < 1e-6);
    assert_eq!(r.check("canary.decision")["result"], "fail");
}

#[test]
fn slow_a_canary_as_healthy_as_its_baseline_is_promoted() {
    let r = canary((10.0, 0.001), (10.0, 0.001));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["decision"], "promote");
    assert_eq!(r.check("canary.decision")["result"], "ok");
}

#[test]
fn slow_twenty_requests_hold_the_canary() {
    // 20 canary requests in ten minutes, even at 10 % errors: not enough to judge.
    let r = canary((10.0, 0.001), (20.0 / 600.0, 0.10));
    assert_eq!(r.code, 0, "hold is a warning: {}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["decision"], "hold");
    let traffic = r.check("canary.traffic");
    assert_eq!(traffic["result"], "warn");
    assert_eq!(traffic["observed"], 20);
    assert_eq!(r.check("canary.decision")["result"], "warn");
}

#[test]
fn bad_matchers_are_one_line() {
    let r = cmd()
        .args(["canary", "--prometheus", "http://127.0.0.1:9", "--slo"])
        .args([fixture("slo-catalog.yaml")])
        .args([
            "--canary",
            "version=",
            "--baseline",
            "version=\"v1\"",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--canary"), "{}", r.stderr);
}

/// Sends `n` GETs to `url` one after the other (a bounded load: count and time).
fn load(url: &str, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let addr = url.trim_start_matches("http://").to_owned();
    for _ in 0..n {
        if std::time::Instant::now() > deadline {
            break;
        }
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        // Spread over several scrapes, so rate() sees the counters rise.
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn slow_live_a_v2_with_its_error_knob_on_is_rolled_back() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let start = |version: &str, extra: &[&str]| {
        testkit::SampleService::start_with(
            &pg.url("postgres"),
            &redis.url(),
            testkit::ServiceOptions::default()
                .args(["--version-label", version])
                .args(extra.iter().copied()),
        )
    };
    let v1 = start("v1", &[]);
    let v2 = start("v2", &["--error-rate", "0.3"]);
    let prom = testkit::Prometheus::start(
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: checkout-api\n    \
             static_configs: [{{targets: ['{}', '{}']}}]\n",
            v1.target(),
            v2.target()
        ),
        &[],
    );
    // Series exist (at a low count) and are scraped before the load, so rate() has a
    // starting point on both.
    load(&v1.url(), 5);
    load(&v2.url(), 5);
    std::thread::sleep(std::time::Duration::from_secs(3));
    let (u1, u2) = (v1.url(), v2.url());
    let t = std::thread::spawn(move || load(&u1, 400));
    load(&u2, 400);
    t.join().expect("load thread");
    std::thread::sleep(std::time::Duration::from_secs(3));
    let r = cmd()
        .args(["canary", "--prometheus", &prom.url(), "--slo"])
        .args([fixture("slo-catalog.yaml")])
        .args(["--canary", "version=\"v2\"", "--baseline", "version=\"v1\""])
        .args([
            "--window",
            "2m",
            "--min-requests",
            "100",
            "--format",
            "json",
        ])
        .run();
    assert_eq!(
        r.code,
        1,
        "{}\n{}\nseries: {}",
        r.stdout,
        r.stderr,
        prom.query("http_requests_total")
    );
    assert_eq!(r.json["data"]["decision"], "rollback", "{}", r.stdout);
    let s = &r.json["data"]["slos"][0];
    let ratio = s["canary"]["error_ratio"].as_f64().expect("ratio");
    assert!(
        ratio > 0.15 && ratio < 0.45,
        "about 30 % of v2's requests failed: {s}"
    );
    assert!(
        s["baseline"]["error_ratio"].as_f64().expect("ratio") < 0.01,
        "{s}"
    );
}

#[test]
fn slow_a_canary_slower_within_the_slo_threshold_is_rolled_back_on_its_latency() {
    let t = end();
    // Both answer within 250 ms (no SLI errors), but v2 is mostly in the slower bucket.
    let om = super::history::histogram(
        t,
        1,
        &[
            ("version=\"v1\"", 10.0, &[0.9, 0.1]),
            ("version=\"v2\"", 10.0, &[0.2, 0.8]),
        ],
    );
    let prom = prometheus(&om);
    let r = cmd()
        .args(["canary", "--prometheus", &prom.url(), "--slo"])
        .args([fixture("slo-latency.yaml")])
        .args(["--canary", "version=\"v2\"", "--baseline", "version=\"v1\""])
        .args([
            "--window",
            "10m",
            "--at",
            &t.to_string(),
            "--format",
            "json",
        ])
        .run();
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s = &r.json["data"]["slos"][0];
    assert_eq!(s["errors"]["decision"], "promote", "{s}");
    assert_eq!(s["latency"]["test"], "mann_whitney_u", "{s}");
    assert_eq!(s["latency"]["decision"], "rollback", "{s}");
    // P(canary slower) = 0.8·0.9 + ½(0.2·0.9 + 0.8·0.1) = 0.85.
    let effect = s["latency"]["effect"].as_f64().expect("effect");
    assert!((effect - 0.85).abs() < 0.02, "{effect}");
    assert_eq!(r.json["data"]["decision"], "rollback");
}

#[test]
fn slow_a_canary_on_a_bucket_the_histogram_lacks_is_an_error_not_a_promotion() {
    let t = end();
    let om = super::history::histogram(
        t,
        1,
        &[
            ("version=\"v1\"", 10.0, &[0.9, 0.1]),
            ("version=\"v2\"", 10.0, &[0.9, 0.1]),
        ],
    );
    let prom = prometheus(&om);
    let r = cmd()
        .args(["canary", "--prometheus", &prom.url(), "--slo"])
        .args([fixture("slo-missing-bucket.yaml")])
        .args(["--canary", "version=\"v2\"", "--baseline", "version=\"v1\""])
        .args(["--at", &t.to_string(), "--format", "json"])
        .run();
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.json["error"]["kind"], "no_series");
    assert!(r.stderr.contains("le=\"0.3\""), "{}", r.stderr);
}
