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
