use std::time::Duration;

use testkit::{MetricsEndpoint, Prometheus};

use crate::wait_until;

/// The value of a one-sample instant query, or None while it has no sample.
fn sample(prom: &Prometheus, promql: &str) -> Option<String> {
    let body: serde_json::Value = serde_json::from_str(&prom.query(promql)).expect("JSON");
    body["data"]["result"][0]["value"][1]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn a_real_prometheus_sees_the_endpoint_flap() {
    let endpoint = MetricsEndpoint::start("# TYPE jobs_total counter\njobs_total 7\n");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: x\n    static_configs:\n      - targets: ['{}']\n",
        endpoint.target()
    );
    let prom = Prometheus::start(&config, &[]);
    let timeout = Duration::from_secs(30);

    wait_until("up{job=\"x\"} == 1", timeout, || {
        sample(&prom, r#"up{job="x"}"#).as_deref() == Some("1")
    });
    assert_eq!(
        sample(&prom, r#"jobs_total{job="x"}"#).as_deref(),
        Some("7")
    );

    endpoint.set_body("jobs_total 9\n");
    wait_until("jobs_total == 9", timeout, || {
        sample(&prom, r#"jobs_total{job="x"}"#).as_deref() == Some("9")
    });

    endpoint.set_up(false);
    wait_until("up{job=\"x\"} == 0", timeout, || {
        sample(&prom, r#"up{job="x"}"#).as_deref() == Some("0")
    });
    endpoint.set_up(true);
    wait_until("up{job=\"x\"} == 1 again", timeout, || {
        sample(&prom, r#"up{job="x"}"#).as_deref() == Some("1")
    });
    assert!(endpoint.scrapes() >= 4, "{} scrapes", endpoint.scrapes());
}
