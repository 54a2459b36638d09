//! `verify-goldens run` against the sample service on a real PostgreSQL and Redis.

use super::{cmd, fixture, root};

fn svc() -> (testkit::Postgres, testkit::Redis, testkit::SampleService) {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start(&pg, &redis);
    (pg, redis, svc)
}

fn put_faults(svc: &testkit::SampleService, json: &str) {
    let out = std::process::Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "content-type: application/json",
            "-d",
            json,
        ])
        .arg(format!("{}/admin/faults", svc.admin_url()))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "PUT /admin/faults: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_golden(svc: &testkit::SampleService, file: &str, extra: &[&str]) -> testkit::cli::Run {
    cmd()
        .env("SERVICE_URL", svc.url())
        .env(
            "TRACEPARENT",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .args(["run", file, "--format", "json"])
        .args(extra)
        .run()
}

#[test]
fn slow_healthy_golden_paths_pass_with_traceparents_and_phase_timings() {
    let (_pg, _redis, svc) = svc();
    let r = run_golden(&svc, &root("examples/release/golden_paths.yaml"), &[]);
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stdout);
    let data = &r.json["data"];
    assert_eq!(data["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    let steps = data["paths"][0]["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3);
    let mut spans = std::collections::BTreeSet::new();
    for s in steps {
        let tp = s["traceparent"].as_str().expect("traceparent");
        let parts: Vec<&str> = tp.split('-').collect();
        assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "{tp}");
        assert_ne!(
            parts[2], "00f067aa0ba902b7",
            "a request is a child span, not the parent"
        );
        assert!(
            spans.insert(parts[2].to_owned()),
            "span ids are unique: {tp}"
        );
        let t = &s["timings"];
        for k in ["dns_ms", "connect_ms", "first_byte_ms", "total_ms"] {
            assert!(t[k].as_f64().is_some_and(|v| v >= 0.0), "{k} in {t}");
        }
        assert!(t["first_byte_ms"].as_f64() <= t["total_ms"].as_f64());
    }
    // Realtime: every event arrived in order over both transports, and the resume after a
    // disconnect gave exactly the missed events.
    let rt = data["paths"][2]["steps"]
        .as_array()
        .expect("realtime steps");
    assert_eq!(rt.len(), 2);
    for s in rt {
        let d = &s["realtime"];
        assert_eq!(d["received"], 20, "{s}");
        assert!(d["lag_ms"]["p95"].as_f64().expect("p95") > 0.0, "{s}");
        assert_eq!(d["resume"]["duplicates"], 0, "{s}");
        assert_eq!(d["resume"]["lost"], 0, "{s}");
        assert_eq!(d["resume"]["received"], 5, "{s}");
    }
    assert_eq!(r.checks_with("realtime.resume", "ok").len(), 2);
    assert_eq!(r.checks_with("realtime.order", "ok").len(), 2);
    // The order read back equals the captured id: captures flowed through three steps.
    assert!(r.checks_with("step.json", "ok").len() >= 7, "{}", r.stdout);
}

#[test]
fn slow_the_error_knob_fails_the_right_step_at_its_line() {
    let (_pg, _redis, svc) = svc();
    put_faults(&svc, r#"{"error_rate": {"/orders": 1.0}}"#);
    let file = root("examples/release/golden_paths.yaml");
    let r = run_golden(&svc, &file, &["--path", "checkout"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let failed = r.checks_with("step.status", "fail");
    assert_eq!(failed.len(), 1, "{}", r.stdout);
    let c = failed[0];
    assert_eq!(c["location"]["file"], file);
    assert_eq!(c["location"]["line"], 28, "the `place order` step's line");
    assert!(
        c["message"]
            .as_str()
            .expect("msg")
            .contains("checkout / place order: status 500"),
        "{c}"
    );
    // The step before passed; the one after was skipped, not run against missing input.
    assert!(r.checks_with("step.status", "ok").len() == 1);
    assert_eq!(r.checks_with("step.response", "skip").len(), 1);
}

#[test]
fn slow_the_latency_knob_fails_the_latency_budget() {
    let (_pg, _redis, svc) = svc();
    put_faults(&svc, r#"{"latency_ms": 1200}"#);
    let r = run_golden(&svc, &fixture("latency.yaml").display().to_string(), &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let c = r.check("step.latency");
    assert_eq!(c["result"], "fail", "{c}");
    assert!(c["observed"].as_f64().expect("observed") >= 1200.0, "{c}");
    assert_eq!(c["limit"], 500);
    assert_eq!(c["location"]["line"], 7);
}

#[test]
fn slow_a_declared_retry_rides_out_a_flaky_step_and_an_undeclared_one_does_not_retry() {
    let (_pg, _redis, svc) = svc();
    put_faults(&svc, r#"{"error_rate": {"/healthz": 0.5}}"#);
    let r = run_golden(&svc, &fixture("retry.yaml").display().to_string(), &[]);
    let steps = &r.json["data"]["paths"];
    let attempts = |i: usize| steps[i]["steps"][0]["attempts"].as_u64().expect("attempts");
    // 0.5^12 that the retried step fails every time.
    assert_eq!(steps[0]["result"], "ok", "{}", r.stdout);
    assert!(attempts(0) >= 1);
    assert_eq!(attempts(1), 1, "no retry where none is declared");
}

#[test]
fn slow_a_slow_service_fails_the_realtime_lag_budget_over_both_transports() {
    let (_pg, _redis, svc) = svc();
    // The knob delays every faulted request, the triggers included (the streams are never
    // faulted): each event reaches the subscriber at least 400 ms after its trigger began.
    put_faults(&svc, r#"{"latency_ms": 400}"#);
    let r = run_golden(
        &svc,
        &fixture("realtime-lag.yaml").display().to_string(),
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let lag = r.checks_with("realtime.lag", "fail");
    assert_eq!(lag.len(), 2, "{}", r.stdout);
    for c in lag {
        assert!(c["observed"].as_f64().expect("observed") >= 400.0, "{c}");
        assert_eq!(c["limit"], 250);
    }
    // Nothing was lost: the lag failed, not the delivery.
    assert_eq!(r.checks_with("realtime.delivery", "ok").len(), 2);
}

#[test]
fn slow_the_realtime_slow_consumer_knob_fails_the_lag_budget_while_the_triggers_stay_fast() {
    let (_pg, _redis, svc) = svc();
    // The service's fan-out holds each event 400 ms before the subscriber gets it; the
    // triggering POSTs are not slowed (unlike the latency knob above).
    put_faults(&svc, r#"{"delivery_delay_ms": 400}"#);
    let r = run_golden(
        &svc,
        &fixture("realtime-lag.yaml").display().to_string(),
        &[],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    let lag = r.checks_with("realtime.lag", "fail");
    assert_eq!(lag.len(), 2, "{}", r.stdout);
    for c in lag {
        assert!(c["observed"].as_f64().expect("observed") >= 400.0, "{c}");
    }
    assert_eq!(r.checks_with("realtime.delivery", "ok").len(), 2);
    // The same file passes its budget once the knob is off: it is the knob that failed it.
    put_faults(&svc, r#"{"delivery_delay_ms": 0}"#);
    let r = run_golden(
        &svc,
        &fixture("realtime-lag.yaml").display().to_string(),
        &[],
    );
    assert_eq!(r.checks_with("realtime.lag", "ok").len(), 2, "{}", r.stdout);
}

#[test]
fn slow_the_services_log_names_the_probes_trace_and_each_steps_span() {
    let (_pg, _redis, svc) = svc();
    let file = root("examples/release/golden_paths.yaml");
    let r = run_golden(&svc, &file, &["--path", "checkout"]);
    assert_eq!(r.code, 0, "{}\n{}", r.failures(), r.stdout);
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    assert_eq!(r.json["data"]["trace_id"], trace);
    let steps = r.json["data"]["paths"][0]["steps"]
        .as_array()
        .expect("steps");
    assert_eq!(steps.len(), 3);
    // The service writes a traced request's line before its response goes out, and the
    // report comes after the last response: every line is there by now.
    let log = svc.log();
    for s in steps {
        let tp = s["traceparent"].as_str().expect("traceparent");
        let span = tp.split('-').nth(2).expect("span id");
        let line = log
            .lines()
            .find(|l| l.contains(span))
            .unwrap_or_else(|| panic!("no log line names span {span} ({tp}):\n{log}"));
        assert!(line.contains(trace), "{line}");
    }
}

#[test]
fn slow_the_bad_release_fails_its_order_step_at_the_assertions_step_line() {
    let (_pg, _redis, svc) = svc();
    let file = root("examples/bad-release/golden_paths.yaml");
    let r = run_golden(&svc, &file, &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let failed = r.checks_with("step.json", "fail");
    assert_eq!(failed.len(), 1, "{}", r.stdout);
    assert_eq!(failed[0]["location"]["line"], 20, "the `place order` step");
    assert!(
        failed[0]["message"]
            .as_str()
            .expect("msg")
            .contains("$.currency is nothing, expected \"EUR\""),
        "{}",
        failed[0]
    );
    assert_eq!(
        r.checks_with("step.json", "ok").len(),
        1,
        "the total is right"
    );
}
