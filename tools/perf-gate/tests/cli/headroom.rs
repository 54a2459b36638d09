//! `perf-gate headroom` finds a known capacity: a server serving 10 requests at a time for
//! 50 ms each carries 200 requests/s.

use std::time::Duration;

use crate::server::{Config, Server};
use crate::{run, scenario};

#[test]
fn slow_headroom_finds_a_200_per_s_capacity_within_10_percent() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(50),
        slots: Some(10),
        ..Config::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 1, duration: 1s}}\n",
            srv.url()
        ),
    );
    let r = run(&[
        "headroom",
        s.to_str().unwrap_or_default(),
        "--slo",
        "p(99)<250",
        "--expected-peak",
        "150/s",
        "--step-duration",
        "3s",
        "--max-vus",
        "400",
    ]);
    let found = r.json["data"]["sustainable_rate"].as_f64().unwrap_or(0.0);
    crate::figure("headroom vs a 200/s capacity: sustainable rate", found);
    crate::figure("headroom steps", &r.json["data"]["steps"]);
    assert!(
        (180.0..=220.0).contains(&found),
        "sustainable {found}/s; steps {:#}",
        r.json["data"]["steps"]
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.check("capacity.headroom")["result"], "ok");
    let steps = r.json["data"]["steps"].as_array().map_or(0, Vec::len);
    assert!(steps >= 3, "{steps} steps");

    // The same capacity against an expected peak of 190/s is under the required 20 %.
    let r = run(&[
        "headroom",
        s.to_str().unwrap_or_default(),
        "--slo",
        "p(99)<250",
        "--expected-peak",
        "190/s",
        "--step-duration",
        "2s",
        "--max-vus",
        "400",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.check("capacity.headroom")["result"], "fail");
}
