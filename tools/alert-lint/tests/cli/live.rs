//! Live checks against a real Prometheus scraping a real endpoint: a rule on a missing metric
//! fails (naming it), one on a present metric passes; metadata settles counter or gauge.

use crate::{findings, run};

const BODY: &str = "\
# TYPE shop_orders_total counter
shop_orders_total{status=\"ok\"} 10
# TYPE shop_queue_depth gauge
shop_queue_depth 3
";

fn rules(alert_metric: &str) -> String {
    format!(
        "groups:\n  - name: shop\n    rules:\n      - alert: ShopOrdersStalled\n        expr: sum by (job) (rate({alert_metric}[5m])) == 0\n        for: 10m\n        labels: {{severity: warning, team: shop}}\n        annotations:\n          summary: \"{{{{ $labels.job }}}} takes no orders\"\n          description: \"no orders for 10 minutes\"\n          runbook_url: https://runbooks.example.com/orders\n"
    )
}

fn start() -> (testkit::MetricsEndpoint, testkit::Prometheus) {
    let metrics = testkit::MetricsEndpoint::start(BODY);
    let prom = testkit::Prometheus::start(
        &format!(
            "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: shop\n    static_configs: [{{targets: ['{}']}}]\n",
            metrics.target()
        ),
        &[],
    );
    // Bounded poll: the first scrape has landed (metadata and series exist).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let body = prom.query("count(shop_queue_depth)");
        if body.contains("\"value\"")
            && prom
                .get("/api/v1/metadata?metric=shop_queue_depth")
                .1
                .contains("gauge")
        {
            return (metrics, prom);
        }
    }
    panic!("prometheus never scraped the test endpoint");
}

#[test]
fn a_rule_on_a_missing_metric_fails_and_one_on_a_present_metric_passes() {
    let (_metrics, prom) = start();
    let dir = tempfile::tempdir().expect("tmp");
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, rules("shop_orders_total")).expect("write");
    let out = run(&[
        "check",
        "--prometheus",
        &prom.url(),
        &good.display().to_string(),
    ]);
    let report = out.report();
    assert_eq!(out.code, 0, "{:#?}", findings(&report));
    for id in [
        "live.series_present",
        "live.query",
        "live.query_cost",
        "recording.collision",
    ] {
        assert!(
            report["checks"]
                .as_array()
                .expect("checks")
                .iter()
                .any(|c| c["id"] == id && c["result"] == "ok"),
            "{id} ran"
        );
    }
    assert_eq!(report["data"]["prometheus"]["scrape_interval"], "1s");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, rules("shop_orders_totl")).expect("write");
    let path = bad.display().to_string();
    let out = run(&[
        "check",
        "--prometheus",
        &prom.url(),
        "--lookback",
        "1h",
        &path,
    ]);
    let report = out.report();
    assert_eq!(out.code, 1);
    let f: Vec<_> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["id"] == "live.series_present" && c["result"] == "fail")
        .collect();
    assert_eq!(f.len(), 1, "{:#?}", findings(&report));
    assert_eq!(
        f[0]["message"],
        "ShopOrdersStalled: shop_orders_totl matches no series now or in the last 1h"
    );
    assert_eq!(
        (
            f[0]["location"]["line"].as_u64(),
            f[0]["location"]["column"].as_u64()
        ),
        (Some(5), Some(34))
    );
}

#[test]
fn metadata_turns_rate_on_a_gauge_into_a_failure_and_finds_recording_collisions() {
    let (_metrics, prom) = start();
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("r.yaml");
    std::fs::write(
        &file,
        "groups:\n  - name: shop\n    rules:\n      - record: shop_orders_total\n        expr: sum(shop_orders_total)\n      - record: job:shop_queue_depth:rate5m\n        expr: sum by (job) (rate(shop_queue_depth{job=\"shop\"}[5m]))\n      - record: job:shop_queue_depth:max\n        expr: max by (job) (shop_queue_depth{job=\"nope\"})\n",
    )
    .expect("write");
    let out = run(&[
        "check",
        "--prometheus",
        &prom.url(),
        &file.display().to_string(),
    ]);
    let report = out.report();
    assert_eq!(out.code, 1);
    let f = findings(&report);
    let p = file.display().to_string();
    assert!(
        f.contains(&format!("recording.collision fail {p}:4:17")),
        "{f:#?}"
    );
    assert!(
        f.contains(&format!("promql.rate_on_gauge fail {p}:7:29")),
        "{f:#?}"
    );
    let sel = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "live.series_present" && c["result"] == "fail")
        .expect("missing series");
    assert!(
        sel["message"].as_str().expect("msg").contains(
            "shop_queue_depth exists, but no series match shop_queue_depth{job=\"nope\"}"
        ),
        "{sel}"
    );
    // The by-name warning is replaced by the metadata's verdict, not repeated.
    assert_eq!(
        f.iter()
            .filter(|l| l.starts_with("promql.rate_on_gauge"))
            .count(),
        1,
        "{f:#?}"
    );
}
