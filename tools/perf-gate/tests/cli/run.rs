//! `perf-gate run` against a real server: accuracy, coordinated omission, verdicts, Ctrl-C.

use std::time::{Duration, Instant};

use crate::server::{Config, Server};
use crate::{metric, run, scenario};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn slow_a_20ms_server_gives_p50_of_20ms_and_100_per_s_for_10s_is_1000_requests() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(20),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - name: get\n    path: /orders/1\n    checks: {{status: 200}}\nscenarios:\n  steady: {{executor: constant-arrival-rate, rate: 100, timeUnit: 1s, duration: 10s, preAllocatedVUs: 20, maxVUs: 100}}\nthresholds:\n  http_req_duration: [\"p(50)<100\"]\n  checks: [\"rate>0.99\"]\n",
            srv.url()
        ),
    );
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let count = metric(&r, "http_reqs", "count");
    assert!((990.0..=1010.0).contains(&count), "count {count}");
    assert_eq!(
        srv.served.load(std::sync::atomic::Ordering::SeqCst) as f64,
        count
    );
    let p50 = metric(&r, "http_req_duration", "p50");
    crate::figure("20 ms server, 100/s x 10 s: requests", count);
    crate::figure(
        "20 ms server: http_req_duration p50/p99 ms",
        format!("{p50} / {}", metric(&r, "http_req_duration", "p99")),
    );
    // 20 ms within 3 significant digits (±0.1 %) plus loopback and scheduling overhead.
    assert!((19.98..=25.0).contains(&p50), "p50 {p50}");
    let service_p50 = r.json["data"]["service_time"]["p50"]
        .as_f64()
        .unwrap_or(0.0);
    assert!(
        (19.98..=25.0).contains(&service_p50),
        "service p50 {service_p50}"
    );
    // What the send timer adds (intended-time p50 minus actual-send p50): tokio's timer wakes
    // on the next millisecond tick, so up to ~1 ms of lateness counts as latency.
    crate::figure(
        "20 ms server: service_time p50 ms; intended minus actual p50 ms",
        format!("{service_p50} ; {:.3}", p50 - service_p50),
    );
    assert_eq!(r.json["data"]["target_rate"], 100);
    assert!(metric(&r, "http_req_duration{name:get}", "count") == count);
    assert_eq!(metric(&r, "dropped_iterations", "count"), 0.0);
}

#[test]
fn an_open_model_run_shows_a_1s_stall_in_its_p99() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(2),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  steady: {{executor: constant-arrival-rate, rate: 50, duration: 4s, preAllocatedVUs: 10, maxVUs: 100}}\n",
            srv.url()
        ),
    );
    srv.stall_later(Duration::from_millis(1500), Duration::from_secs(1));
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let p99 = metric(&r, "http_req_duration", "p99");
    let p50 = metric(&r, "http_req_duration", "p50");
    crate::figure(
        "open model, 1 s stall: http_req_duration p50 / p99, service_time p99 (ms)",
        format!("{p50} / {p99}, {}", r.json["data"]["service_time"]["p99"]),
    );
    assert!(
        p99 >= 500.0,
        "intended-time p99 {p99} ms should show the 1 s stall"
    );
    assert!(p50 < 100.0, "p50 {p50}");
    assert_eq!(metric(&r, "http_reqs", "count"), 200.0);
}

#[test]
fn a_closed_model_service_time_misses_a_stall_and_the_intended_time_shows_it() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(2),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  closed: {{executor: constant-vus, vus: 4, duration: 4s}}\n",
            srv.url()
        ),
    );
    srv.stall_later(Duration::from_millis(1500), Duration::from_secs(1));
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let service_p99 = r.json["data"]["service_time"]["p99"]
        .as_f64()
        .unwrap_or(f64::NAN);
    let intended_p99 = metric(&r, "http_req_duration", "p99");
    crate::figure(
        "closed model, 1 s stall: service_time p99 / http_req_duration p99 (ms), requests",
        format!(
            "{service_p99} / {intended_p99}, {}",
            metric(&r, "http_reqs", "count")
        ),
    );
    assert!(
        service_p99 < 200.0,
        "service-time p99 {service_p99} ms hides the stall (wrk's view)"
    );
    assert!(
        intended_p99 >= 500.0,
        "intended-time p99 {intended_p99} ms shows it"
    );
    assert!(r.json["data"]["target_rate"].is_null());
}

#[test]
fn a_crossed_threshold_exits_1_and_names_it() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(30),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - name: slow\n    path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 20, duration: 1s, maxVUs: 20}}\nthresholds:\n  \"http_req_duration{{name:slow}}\": [\"p(95)<10\"]\n  http_req_failed: [\"rate<0.01\"]\n",
            srv.url()
        ),
    );
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let failing = r.checks_with("load.threshold", "fail");
    assert_eq!(failing.len(), 1, "{:#}", r.json["checks"]);
    let c = failing[0];
    assert!(
        c["message"]
            .as_str()
            .unwrap_or("")
            .contains("http_req_duration{name:slow}: p(95)<10"),
        "{c}"
    );
    assert!(c["observed"].as_f64().unwrap_or(0.0) >= 30.0, "{c}");
    assert_eq!(c["limit"], 10);
    assert_eq!(c["location"]["line"], 8);
    assert!(
        r.json["summary"]
            .as_str()
            .unwrap_or("")
            .contains("p(95)<10"),
        "{}",
        r.json["summary"]
    );
    assert_eq!(r.checks_with("load.threshold", "ok").len(), 1);
}

#[test]
fn ctrl_c_writes_the_partial_report_with_result_error() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config::default());
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  long: {{executor: constant-arrival-rate, rate: 50, duration: 60s, maxVUs: 20}}\n",
            srv.url()
        ),
    );
    let started = Instant::now();
    let child = crate::perf_gate()
        .args(["run", s.to_str().unwrap_or_default(), "--format", "json"])
        .into_command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn perf-gate");
    std::thread::sleep(Duration::from_millis(1500));
    #[expect(
        unsafe_code,
        reason = "kill(2) on our own child, as a terminal's Ctrl-C does"
    )]
    let rc = unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(rc, 0);
    let out = child.wait_with_output().expect("wait");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "Ctrl-C stops the run"
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let rep: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    testkit::schema::assert_valid_report(&rep);
    assert_eq!(rep["result"], "error");
    assert_eq!(rep["error"]["kind"], "interrupted");
    assert_eq!(rep["data"]["partial"], true);
    let n = rep["data"]["metrics"]["http_reqs"]["count"]
        .as_u64()
        .unwrap_or(0);
    assert!((20..=200).contains(&n), "{n} requests ran before Ctrl-C");
    testkit::schema::assert_valid("perf-gate.schema.json", &rep["data"]);
}

#[test]
fn an_abort_on_fail_threshold_stops_the_run_early_and_fails_it() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(30),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 20, duration: 30s, maxVUs: 20}}\nthresholds:\n  http_req_duration: [{{threshold: \"p(95)<5\", abortOnFail: true, delayAbortEval: 1s}}]\n",
            srv.url()
        ),
    );
    let started = Instant::now();
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert!(started.elapsed() < Duration::from_secs(15), "aborted early");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["partial"], true);
    assert!(
        r.json["summary"]
            .as_str()
            .unwrap_or("")
            .contains("abortOnFail"),
        "{}",
        r.json["summary"]
    );
    assert_eq!(r.checks_with("load.threshold", "fail").len(), 1);
}

#[test]
fn closed_model_executors_run_their_iterations() {
    let srv = Server::start(Config::default());
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  per: {{executor: per-vu-iterations, vus: 3, iterations: 5}}\n  shared: {{executor: shared-iterations, vus: 4, iterations: 7}}\n  ramp: {{executor: ramping-vus, startVUs: 0, stages: [{{target: 2, duration: 1s}}, {{target: 0, duration: 1s}}]}}\n  later: {{executor: constant-vus, vus: 1, duration: 500ms, startTime: 1s}}\n",
            srv.url()
        ),
    );
    let r = run(&["run", s.to_str().unwrap_or_default(), "--workers", "2"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(metric(&r, "http_reqs{scenario:per}", "count"), 15.0);
    assert_eq!(metric(&r, "http_reqs{scenario:shared}", "count"), 7.0);
    assert!(metric(&r, "http_reqs{scenario:ramp}", "count") > 10.0);
    assert!(metric(&r, "http_reqs{scenario:later}", "count") > 5.0);
}

#[test]
fn requests_carry_templates_headers_and_bodies_and_checks_read_the_response() {
    let srv = Server::start(Config {
        echo: true,
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}/api\nrequests:\n  - name: create\n    method: post\n    path: /orders/{{{{seq}}}}\n    headers: {{X-Tenant: \"{{{{env.PG_TEST_TENANT}}}}\"}}\n    body: {{customer_id: 1, items: [{{sku: A-1, qty: 1}}]}}\n    checks: {{status: 200, body_contains: '\\\"customer_id\\\":1', json: {{method: POST, tenant: acme, content_type: application/json}}}}\n  - name: get\n    path: /orders/{{{{uuid}}}}\n    checks: {{json: {{method: PUT, tenant: nobody}}}}\nscenarios:\n  a: {{executor: shared-iterations, vus: 2, iterations: 10}}\nthresholds:\n  \"checks{{name:create}}\": [\"rate==1\"]\n  \"checks{{name:get}}\": [\"rate==0\"]\n",
            srv.url()
        ),
    );
    let r = crate::perf_gate()
        .args([
            "run",
            s.to_str().unwrap_or_default(),
            "--format",
            "json",
            "-q",
        ])
        .env("PG_TEST_TENANT", "acme")
        .run();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(metric(&r, "checks{name:create}", "count"), 25.0);
    assert_eq!(metric(&r, "checks{name:get}", "passes"), 0.0);
    assert!(metric(&r, "data_sent", "count") > 0.0);
    assert!(metric(&r, "data_received", "count") > 0.0);
    // A missing {{env.X}} is refused at its line before any load.
    let r = crate::perf_gate()
        .args([
            "run",
            s.to_str().unwrap_or_default(),
            "--format",
            "json",
            "-q",
        ])
        .env_remove("PG_TEST_TENANT")
        .run();
    crate::assert_refused(&r, "s.yaml:6:");
    assert!(
        r.stderr.contains("PG_TEST_TENANT is not set"),
        "{}",
        r.stderr
    );
}

#[test]
fn error_statuses_count_by_class_and_the_histogram_file_is_hdrhistogram_v2() {
    let srv = Server::start(Config {
        status: Some(503),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 12, duration: 1s, maxVUs: 12}}\nthresholds:\n  http_req_failed: [\"rate<0.5\"]\n",
            srv.url()
        ),
    );
    let hist = dir.path().join("d.hgrm");
    let r = run(&[
        "run",
        s.to_str().unwrap_or_default(),
        "--out-histogram",
        hist.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["errors"]["5xx"], 12);
    assert_eq!(metric(&r, "http_req_failed", "rate"), 1.0);
    let bytes = std::fs::read(&hist).expect("histogram file");
    let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .expect("a V2 compressed HdrHistogram");
    assert_eq!(h.len(), 12);
    // The report's base64 form is the same histogram.
    use base64ct::Encoding;
    let b64 = r.json["data"]["histograms"]["http_req_duration"]
        .as_str()
        .unwrap_or_default();
    let raw = base64ct::Base64::decode_vec(b64).expect("base64");
    let h2: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut raw.as_slice())
        .expect("V2");
    assert_eq!(h, h2);
}

#[test]
fn http2_runs_over_h2c_and_an_http1_port_is_one_line() {
    let h2 = Server::start(Config {
        http2: true,
        echo: true,
        ..Config::default()
    });
    let dir = tmp();
    let yaml = |url: &str| {
        format!(
            "target: {url}\nhttp2: true\nrequests:\n  - path: /h2\n    checks: {{status: 200, json: {{path: \"{url}/h2\"}}}}\nscenarios:\n  a: {{executor: per-vu-iterations, vus: 2, iterations: 5}}\nthresholds:\n  checks: [\"rate==1\"]\n"
        )
    };
    let s = scenario(dir.path(), "h2.yaml", &yaml(&h2.url()));
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(metric(&r, "http_reqs", "count"), 10.0);
    // Two VUs, one connection each.
    assert_eq!(metric(&r, "http_req_connecting", "count"), 2.0);

    let h1 = Server::start(Config::default());
    let s = scenario(dir.path(), "h1.yaml", &yaml(&h1.url()));
    let r = run(&["run", s.to_str().unwrap_or_default()]);
    crate::assert_refused(&r, "does not answer HTTP/2");
}

#[test]
fn iterations_beyond_max_vus_are_dropped_as_k6_counts_them() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(400),
        ..Config::default()
    });
    let dir = tmp();
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 20, duration: 1s, preAllocatedVUs: 2, maxVUs: 2}}\n",
            srv.url()
        ),
    );
    let r = run(&["run", s.to_str().unwrap_or_default(), "--workers", "1"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let sent = metric(&r, "http_reqs", "count");
    let dropped = metric(&r, "dropped_iterations", "count");
    assert_eq!(
        sent + dropped,
        20.0,
        "every scheduled iteration is sent or dropped"
    );
    assert!(
        (2.0..=6.0).contains(&sent),
        "two VUs busy 400 ms each in 1 s: {sent}"
    );
    assert_eq!(r.check("load.dropped_iterations")["result"], "warn");
    assert_eq!(r.json["data"]["target_rate"], 20);
}
