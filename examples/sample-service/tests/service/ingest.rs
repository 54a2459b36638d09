//! The ingest path: stream → worker → events_sink, exactly once across a crash between the
//! sink write and the XACK; poison entries to the DLQ; the consumer knobs.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::TcpStream;

use crate::{Env, metric, place_order, start_service, wait_for};

/// A customer inserted straight into PostgreSQL, so no event is published for it.
fn quiet_customer(env: &Env) -> i64 {
    env.sql("INSERT INTO customers (email) VALUES ('quiet@example.com') RETURNING id")
        .parse()
        .expect("an id")
}

/// One stream entry as (id, fields), from redis-cli's raw XRANGE output.
fn xrange(env: &Env, stream: &str) -> Vec<(String, HashMap<String, String>)> {
    let out = env.redis.cli(&["XRANGE", stream, "-", "+"]);
    let lines: Vec<&str> = out.lines().collect();
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let id = lines[i].to_owned();
        i += 1;
        let mut fields = HashMap::new();
        while i + 1 < lines.len() && !looks_like_id(lines[i]) {
            fields.insert(lines[i].to_owned(), lines[i + 1].to_owned());
            i += 2;
        }
        entries.push((id, fields));
    }
    entries
}

fn looks_like_id(s: &str) -> bool {
    s.split_once('-').is_some_and(|(a, b)| {
        a.len() >= 13
            && a.bytes().all(|c| c.is_ascii_digit())
            && b.bytes().all(|c| c.is_ascii_digit())
    })
}

fn pending(env: &Env) -> u64 {
    let out = env.redis.cli(&["XPENDING", "events", "sample-service"]);
    out.lines().next().and_then(|l| l.parse().ok()).unwrap_or(0)
}

#[test]
fn an_orders_event_reaches_the_sink_exactly_once_even_when_the_worker_dies_before_its_xack() {
    // The consumer starts stopped, so the crash cannot cut the POST's own response short.
    let mut env = Env::start_with(|o| {
        o.env("SAMPLE_SERVICE_CRASH_AFTER_SINK", "1")
            .arg("--consumer-stopped")
    });
    let customer = quiet_customer(&env);
    let order = place_order(&env.client(), "acme", customer);
    let order_id = order["id"].as_i64().expect("an id");
    // Start the consumer; its crash may well beat the admin port's answer, so none is awaited.
    let body = r#"{"consumer_stopped": false}"#;
    let mut admin = TcpStream::connect(("127.0.0.1", env.svc.admin_port())).expect("connect");
    write!(
        admin,
        "PUT /admin/faults HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("send the PUT");

    // The worker writes the sink row, then the test-only fault point aborts it before XACK.
    let status = env.svc.wait_exit();
    assert!(!status.success(), "{status:?}");
    assert!(
        env.svc.log().contains("SAMPLE_SERVICE_CRASH_AFTER_SINK"),
        "{}",
        env.svc.log()
    );
    assert_eq!(env.sql("SELECT count(*) FROM events_sink"), "1");
    assert_eq!(
        pending(&env),
        1,
        "the entry was written but not acknowledged"
    );

    // A new process (a new consumer) reclaims the dead consumer's entry; the sink ignores it.
    let svc = start_service(&env.pg, &env.redis, |o| o);
    wait_for("the reclaimed entry to be acknowledged", || {
        (pending(&env) == 0).then_some(())
    });
    let m = svc.get("/metrics").1;
    wait_for("the redelivery to count as a duplicate", || {
        let m = svc.get("/metrics").1;
        (metric(&m, "events_processed_total", &["outcome=\"duplicate\""]) == 1.0).then_some(())
    });
    assert_eq!(
        metric(&m, "events_processed_total", &["outcome=\"written\""]),
        0.0,
        "{m}"
    );

    let entries = xrange(&env, "events");
    assert_eq!(entries.len(), 1);
    let (stream_id, fields) = &entries[0];
    let row = env.sql(
        "SELECT event_id, tenant, type, payload->>'order_id', stream_id, \
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM events_sink",
    );
    assert_eq!(
        row,
        format!(
            "{}|acme|order.created|{order_id}|{stream_id}|{}",
            fields["event_id"], fields["occurred_at"]
        )
    );
    drop(svc);
}

#[test]
fn a_poison_event_is_dead_lettered_with_its_fields_after_max_attempts() {
    let env = Env::start_with(|o| o.args_poison());
    let customer = quiet_customer(&env);
    place_order(&env.client(), "acme", customer);

    wait_for("one DLQ entry", || {
        (env.redis.cli(&["XLEN", "events:dlq"]) == "1").then_some(())
    });
    let (origin, original) = xrange(&env, "events").remove(0);
    let (_, dlq) = xrange(&env, "events:dlq").remove(0);
    for field in ["event_id", "tenant", "type", "occurred_at", "payload"] {
        assert_eq!(dlq.get(field), original.get(field), "{field}");
    }
    assert_eq!(dlq["attempts"], "3");
    assert_eq!(dlq["origin_id"], origin);
    assert!(
        dlq["error"].contains("invalid input syntax for type json"),
        "{}",
        dlq["error"]
    );
    assert_eq!(pending(&env), 0, "the dead-lettered entry is acknowledged");
    assert_eq!(env.sql("SELECT count(*) FROM events_sink"), "0");
    let m = env.svc.get("/metrics").1;
    assert_eq!(
        metric(&m, "events_processed_total", &["outcome=\"failed\""]),
        2.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "events_processed_total", &["outcome=\"dead_lettered\""]),
        1.0,
        "{m}"
    );
}

#[test]
fn a_stopped_consumer_lets_lag_build_up_and_a_restarted_one_catches_up() {
    let env = Env::start_with(|o| o.arg("--consumer-stopped"));
    let c = env.client();
    let customer = quiet_customer(&env);
    for _ in 0..3 {
        place_order(&c, "acme", customer);
    }
    wait_for("the lag gauge to show 3", || {
        let m = env.svc.get("/metrics").1;
        (metric(&m, "events_consumer_lag", &[]) == 3.0).then_some(())
    });
    assert_eq!(env.sql("SELECT count(*) FROM events_sink"), "0");
    env.admin()
        .faults(serde_json::json!({"consumer_stopped": false, "consumer_delay_ms": 50}));
    wait_for("the sink to hold all 3", || {
        (env.sql("SELECT count(*) FROM events_sink") == "3").then_some(())
    });
    wait_for("the lag gauge to drop to 0", || {
        let m = env.svc.get("/metrics").1;
        (metric(&m, "events_consumer_lag", &[]) == 0.0).then_some(())
    });
}

trait PoisonArgs {
    fn args_poison(self) -> Self;
}

impl PoisonArgs for testkit::ServiceOptions {
    fn args_poison(self) -> Self {
        self.arg("--poison-rate")
            .arg("1")
            .arg("--max-attempts")
            .arg("3")
    }
}

#[test]
fn a_sink_outage_is_retried_without_dead_lettering_and_heals() {
    let env = Env::start_with(|o| o.args(["--max-attempts", "2"]));
    let customer = quiet_customer(&env);
    // The sink is gone (an operator's mistake, a restore in progress): not the entry's fault.
    env.sql("ALTER TABLE events_sink RENAME TO events_sink_away");
    place_order(&env.client(), "acme", customer);
    wait_for("several failed attempts", || {
        let m = env.svc.get("/metrics").1;
        (metric(&m, "events_processed_total", &["outcome=\"failed\""]) >= 4.0).then_some(())
    });
    assert_eq!(
        env.redis.cli(&["XLEN", "events:dlq"]),
        "0",
        "more attempts than --max-attempts, still not dead-lettered"
    );
    env.sql("ALTER TABLE events_sink_away RENAME TO events_sink");
    wait_for("the entry to reach the healed sink", || {
        (env.sql("SELECT count(*) FROM events_sink") == "1").then_some(())
    });
    wait_for("the entry to be acknowledged", || {
        (pending(&env) == 0).then_some(())
    });
    assert_eq!(env.redis.cli(&["XLEN", "events:dlq"]), "0");
}
