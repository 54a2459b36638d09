//! Each fault knob changes what a real request sees, and the metrics show it as it is.
//! Lower bounds on elapsed time are safe here: an injected delay is a floor, never a race.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Env, metric, wait_for};

#[test]
fn added_latency_and_its_tail_delay_real_requests_and_show_in_the_histogram() {
    let env = Env::start();
    let (c, admin) = (env.client(), env.admin());
    admin.faults(json!({"latency_ms": 300}));
    let t = Instant::now();
    assert_eq!(c.get("/healthz", "t").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    admin.faults(json!({"latency_ms": 0, "tail_latency_ms": 400, "tail_rate": 1.0}));
    let t = Instant::now();
    assert_eq!(c.get("/healthz", "t").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );

    let m = c.get("/metrics", "t").body;
    let route = "route=\"/healthz\"";
    assert_eq!(
        metric(&m, "http_request_duration_seconds_count", &[route]),
        2.0,
        "{m}"
    );
    assert!(
        metric(&m, "http_request_duration_seconds_sum", &[route]) >= 0.7,
        "{m}"
    );
    // Neither request fits the 250 ms bucket; both fit the 500 ms one.
    assert_eq!(
        metric(
            &m,
            "http_request_duration_seconds_bucket",
            &[route, "le=\"0.25\""]
        ),
        0.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "http_request_duration_seconds_bucket",
            &[route, "le=\"0.5\""]
        ),
        2.0,
        "{m}"
    );
}

#[test]
fn an_error_rate_makes_that_fraction_of_a_routes_responses_500s_and_they_are_counted() {
    let env = Env::start();
    let (c, admin) = (env.client(), env.admin());
    admin.faults(json!({"error_rate": {"/healthz": 0.5}}));
    let n = 200;
    let mut errors = 0;
    for _ in 0..n {
        match c.get("/healthz", "t").status {
            200 => {}
            500 => errors += 1,
            other => panic!("unexpected status {other}"),
        }
        // Another route is untouched.
        assert_eq!(c.get("/readyz", "t").status, 200);
    }
    // Binomial(200, 0.5): outside 60..=140 has probability below 1e-8.
    assert!((60..=140).contains(&errors), "{errors} of {n}");
    let m = c.get("/metrics", "t").body;
    assert_eq!(
        metric(
            &m,
            "http_requests_total",
            &["route=\"/healthz\"", "code=\"500\""]
        ),
        f64::from(errors),
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "http_requests_total",
            &["route=\"/healthz\"", "code=\"200\""]
        ),
        f64::from(n - errors),
        "{m}"
    );
    admin.faults(json!({"error_rate": {}}));
    assert_eq!(c.get("/healthz", "t").status, 200);
}

#[test]
fn a_stall_holds_every_response_until_it_ends_while_metrics_stay_scrapeable() {
    let env = Env::start();
    let (c, admin) = (env.client(), env.admin());
    let t = Instant::now();
    let view = admin.faults(json!({"stall_seconds": 3}));
    let remaining = Duration::from_millis(view["stall_remaining_ms"].as_u64().expect("ms"));
    assert!(remaining > Duration::from_millis(2500), "{view}");
    let stalled = {
        let c = c.clone();
        std::thread::spawn(move || c.get("/healthz", "t").status)
    };
    // The observer is not stalled: /metrics answers while the stall is on.
    let m = c.get("/metrics", "t");
    assert_eq!(m.status, 200);
    assert!(
        admin.get("/admin/faults", "t").json()["stall_remaining_ms"].as_u64() > Some(0),
        "the scrape answered during the stall"
    );
    assert_eq!(stalled.join().expect("the request finished"), 200);
    assert!(
        t.elapsed() >= remaining,
        "answered after {:?}, stall was {remaining:?}",
        t.elapsed()
    );
}

#[test]
fn a_capacity_limit_queues_requests_beyond_it_instead_of_failing_them() {
    let env = Env::start();
    let (c, admin) = (env.client(), env.admin());
    admin.faults(json!({"max_in_flight": 1, "latency_ms": 500}));
    let t = Instant::now();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || c.get("/healthz", "t").status)
        })
        .collect();
    // All three are in flight at once (one served, two queued), plus this scrape itself.
    wait_for("three requests in flight", || {
        let m = c.get("/metrics", "t").body;
        (metric(&m, "http_requests_in_flight", &[]) >= 4.0).then_some(())
    });
    for w in workers {
        assert_eq!(w.join().expect("a request finished"), 200);
    }
    // One at a time: three 500 ms requests take at least 1.5 s together.
    assert!(
        t.elapsed() >= Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
}

#[test]
fn knobs_set_by_flags_show_in_get_faults_and_delete_clears_them() {
    let env = Env::start_with(|o| {
        o.args([
            "--latency",
            "20ms",
            "--error-rate",
            "/orders=0.25",
            "--max-in-flight",
            "8",
            "--poison-rate",
            "0.1",
            "--delivery-delay",
            "300ms",
        ])
    });
    let admin = env.admin();
    let view = admin.get("/admin/faults", "t").json();
    assert_eq!(view["latency_ms"], 20);
    assert_eq!(view["error_rate"], json!({"/orders": 0.25}));
    assert_eq!(view["max_in_flight"], 8);
    assert_eq!(view["poison_rate"], 0.1);
    assert_eq!(view["delivery_delay_ms"], 300);
    let bad = admin.send("PUT", "/admin/faults", "t", &json!({"tail_rate": 2}));
    assert_eq!(bad.status, 422, "{}", bad.body);
    let bad = admin.send("PUT", "/admin/faults", "t", &json!({"no_such_knob": 1}));
    assert_eq!(bad.status, 422, "{}", bad.body);
    let cleared = admin.send("DELETE", "/admin/faults", "t", &json!({}));
    assert_eq!(cleared.status, 200);
    let view = cleared.json();
    assert_eq!(view["latency_ms"], 0);
    assert_eq!(view["max_in_flight"], serde_json::Value::Null);
    assert_eq!(view["error_rate"], json!({}));
    assert_eq!(view["delivery_delay_ms"], 0);
}
