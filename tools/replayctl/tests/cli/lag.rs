//! `replayctl lag` against the sample service's real worker: it fails while the consumer is
//! stopped long enough and passes once it has caught up.

use std::time::Duration;

use crate::{data, http, run, wait_until};

#[test]
fn slow_lag_fails_while_the_consumer_is_stopped_and_passes_after_it_catches_up() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start(&pg, &redis);
    let url = redis.url();
    let lag = |max_lag: &str| {
        run([
            "lag",
            "--redis-url",
            &url,
            "--stream",
            "events",
            "--group",
            "sample-service",
            "--max-lag",
            max_lag,
        ])
    };
    // The worker created its group; nothing waits yet.
    wait_until("the worker's group", Duration::from_secs(30), || {
        lag("60s").code == 0
    });
    let (code, body) = http(
        "PUT",
        svc.admin_port(),
        "/admin/faults",
        r#"{"consumer_stopped": true}"#,
    );
    assert_eq!(code, 200, "{body}");
    for i in 0..5 {
        let n = i.to_string();
        redis.cli(&[
            "XADD",
            "events",
            "*",
            "event_id",
            &format!("00000000-0000-4000-8000-00000000000{i}"),
            "tenant",
            "acme",
            "type",
            "order.created",
            "occurred_at",
            "2026-12-07T10:00:00.000Z",
            "payload",
            &format!("{{\"n\":{n}}}"),
        ]);
    }
    // Ages are whole milliseconds on the server's clock; wait past the 1 s budget.
    std::thread::sleep(Duration::from_millis(1500));
    let r = lag("1s");
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        r.check("lag.oldest_undelivered")["result"],
        "fail",
        "{}",
        r.stdout
    );
    let g = &data(&r)["groups"][0];
    // The worker may have been inside a blocking XREADGROUP when it was stopped and taken
    // the first entry; the rest wait.
    assert!(g["undelivered"].as_u64() >= Some(4), "{g}");
    assert!(
        g["oldest_undelivered_age_ms"].as_u64().unwrap_or(0) >= 1000,
        "{g}"
    );

    let (code, body) = http(
        "PUT",
        svc.admin_port(),
        "/admin/faults",
        r#"{"consumer_stopped": false}"#,
    );
    assert_eq!(code, 200, "{body}");
    wait_until("the worker to catch up", Duration::from_secs(30), || {
        lag("1s").code == 0
    });
    let r = lag("1s");
    assert_eq!(r.code, 0, "{}", r.failures());
    assert_eq!(data(&r)["groups"][0]["undelivered"], 0);
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM events_sink WHERE tenant = 'acme'"
        ),
        "5"
    );
}

#[test]
fn lag_names_a_dead_consumer_that_holds_pending_entries() {
    let redis = testkit::Redis::start();
    redis.cli(&["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"]);
    redis.cli(&["XADD", "s", "*", "k", "v"]);
    redis.cli(&["XADD", "s", "*", "k", "w"]);
    // Consumer c1 takes one entry and never acknowledges it.
    redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c1",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let r = run([
        "lag",
        "--redis-url",
        &redis.url(),
        "--stream",
        "s",
        "--group",
        "g",
        "--dead-after",
        "200ms",
        "--max-pending",
        "5",
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(r.failures().contains("c1"), "{}", r.failures());
    let g = &data(&r)["groups"][0];
    assert_eq!(
        (g["pending"].as_u64(), g["undelivered"].as_u64()),
        (Some(1), Some(1)),
        "{g}"
    );
    assert_eq!(g["consumers"][0]["state"], "dead", "{g}");
    assert_eq!(r.check("lag.pending")["result"], "ok");
}

#[test]
fn lag_takes_a_glob_of_streams() {
    let redis = testkit::Redis::start();
    for s in ["orders:{a}", "orders:{b}"] {
        redis.cli(&["XGROUP", "CREATE", s, "g", "0", "MKSTREAM"]);
        redis.cli(&["XADD", s, "*", "k", "v"]);
    }
    redis.cli(&["XADD", "other", "*", "k", "v"]);
    let r = run([
        "lag",
        "--redis-url",
        &redis.url(),
        "--stream",
        "orders:*",
        "--group",
        "g",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let groups = data(&r)["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(r.checks("lag.undelivered").len(), 2);
}

#[test]
fn lag_counts_undelivered_entries_from_ids_when_redis_gives_no_lag() {
    let redis = testkit::Redis::start();
    redis.cli(&["XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"]);
    for i in 1..=5 {
        redis.cli(&["XADD", "s", &format!("{i}-0"), "k", "v"]);
    }
    redis.cli(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ]);
    // A deleted entry after the group's position: Redis 7 reports its lag as null.
    redis.cli(&["XDEL", "s", "3-0"]);
    let r = run([
        "lag",
        "--redis-url",
        &redis.url(),
        "--stream",
        "s",
        "--group",
        "g",
        "--max-lag",
        "100000d",
        "--max-undelivered",
        "2",
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let g = &data(&r)["groups"][0];
    assert_eq!(
        (g["undelivered"].as_u64(), g["undelivered_source"].as_str()),
        (Some(3), Some("counted")),
        "{g}"
    );
    assert_eq!(r.check("lag.undelivered")["result"], "fail");
}
