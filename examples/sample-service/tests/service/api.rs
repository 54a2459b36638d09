//! The shop API on its real schema, the cache-aside read and the migrations table.

use serde_json::json;

use crate::{Env, metric, new_customer, place_order};

#[test]
fn an_order_round_trips_and_its_second_read_is_a_cache_hit_visible_in_metrics() {
    let env = Env::start();
    let c = env.client();
    let customer = new_customer(&c, "ada@example.com");
    let order = place_order(&c, "acme", customer);
    let id = order["id"].as_i64().expect("an order id");
    assert_eq!(order["total_cents"], 500);
    assert_eq!(order["status"], "new");

    let first = c.get(&format!("/orders/{id}"), "acme");
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.cache.as_deref(), Some("miss"));
    assert_eq!(first.version.as_deref(), Some("v1"));
    let second = c.get(&format!("/orders/{id}"), "acme");
    assert_eq!(second.cache.as_deref(), Some("hit"));
    assert_eq!(first.json(), second.json());
    let doc = second.json();
    assert_eq!(doc["id"], id);
    assert_eq!(
        doc["items"],
        json!([{"sku": "SKU-1", "quantity": 2, "price_cents": 250}])
    );
    assert_eq!(doc["created_at"], order["created_at"]);

    // Another tenant does not see it, in the database or through the cache.
    assert_eq!(c.get(&format!("/orders/{id}"), "other").status, 404);

    let m = c.get("/metrics", "acme").body;
    assert_eq!(
        metric(&m, "cache_requests_total", &["result=\"hit\""]),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(&m, "cache_requests_total", &["result=\"miss\""]),
        2.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "http_requests_total",
            &["route=\"/orders/{id}\"", "code=\"200\"", "version=\"v1\""]
        ),
        2.0,
        "{m}"
    );

    // The rows are where the schema says, written in one transaction.
    assert_eq!(
        env.sql(&format!(
            "SELECT count(*) FROM order_items WHERE order_id = {id}"
        )),
        "1"
    );
    assert_eq!(
        env.sql(&format!(
            "SELECT tenant FROM order_tenants WHERE order_id = {id}"
        )),
        "acme"
    );
}

#[test]
fn the_release_migrations_are_applied_and_recorded_as_golang_migrate_does() {
    let env = Env::start();
    // migration-gate's dry run reads this table: one row, the last version, not dirty.
    assert_eq!(
        env.sql("SELECT version, dirty FROM schema_migrations"),
        "7|f"
    );
    // The index migration ran outside a transaction (CONCURRENTLY) and exists.
    assert_eq!(
        env.sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_status_created_idx'"),
        "1"
    );
    assert_eq!(env.sql("SELECT to_regclass('shipments') IS NOT NULL"), "t");
    // A restart applies nothing twice.
    let again = crate::start_service(&env.pg, &env.redis, |o| o);
    assert_eq!(again.get("/readyz").0, 200);
    assert_eq!(
        env.sql("SELECT version, dirty FROM schema_migrations"),
        "7|f"
    );
    assert!(
        again.log().contains("0 migration(s) applied now"),
        "{}",
        again.log()
    );
}

#[test]
fn a_database_seeded_as_in_the_demo_gets_only_the_pending_migrations() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let root = testkit::cli::root().join("examples/release");
    for f in [
        "0001_create_customers",
        "0002_create_orders",
        "0003_create_order_items",
    ] {
        let sql = std::fs::read_to_string(root.join(format!("migrations/{f}.up.sql")))
            .expect("read a migration");
        pg.psql("postgres", &sql);
    }
    let seed =
        std::fs::read_to_string(root.join("migration-gate-seed.sql")).expect("read the seed");
    pg.psql("postgres", &seed);
    let svc = crate::start_service(&pg, &redis, |o| o);
    assert!(
        svc.log()
            .contains("applied migration 0004_add_orders_shipping.up.sql"),
        "{}",
        svc.log()
    );
    assert!(
        !svc.log().contains("applied migration 0003"),
        "{}",
        svc.log()
    );
    assert_eq!(
        pg.psql("postgres", "SELECT version, dirty FROM schema_migrations"),
        "7|f"
    );
    assert_eq!(pg.psql("postgres", "SELECT count(*) FROM orders"), "20000");
}

#[test]
fn bad_requests_get_a_one_line_json_error() {
    let env = Env::start();
    let c = env.client();
    let r = c.post(
        "/orders",
        "acme",
        &json!({"customer_id": 999, "items": [{"sku": "A", "quantity": 1, "price_cents": 1}]}),
    );
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.json()["error"]
            .as_str()
            .is_some_and(|e| e.contains("foreign key")),
        "{}",
        r.body
    );
    let r = c.post("/orders", "acme", &json!({"customer_id": 1, "items": []}));
    assert_eq!(r.status, 422, "{}", r.body);
    let r = c.post("/orders", "acme", &json!({"nonsense": true}));
    assert_eq!(r.status, 422, "{}", r.body);
    let r = c.post("/orders", "bad tenant!", &json!({}));
    assert_eq!(r.status, 400, "{}", r.body);
    new_customer(&c, "dup@example.com");
    let r = c.post("/customers", "acme", &json!({"email": "DUP@example.com"}));
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(c.get("/orders/12345", "acme").status, 404);
    let r = c.get("/orders/abc", "acme");
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.json()["error"].is_string(), "{}", r.body);
    // Nothing half-written: no order, no items, no tenant row.
    assert_eq!(
        env.sql("SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM order_tenants)"),
        "0"
    );
}

#[test]
fn a_baseline_and_a_canary_starting_together_migrate_once() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    // Both start at the same moment against an empty database.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| crate::start_service(&pg, &redis, |o| o));
        let b =
            s.spawn(|| crate::start_service(&pg, &redis, |o| o.args(["--version-label", "v2"])));
        (a.join().expect("v1 started"), b.join().expect("v2 started"))
    });
    let applied = |log: String| log.matches("applied migration").count();
    assert_eq!(
        applied(a.log()) + applied(b.log()),
        7,
        "{}\n{}",
        a.log(),
        b.log()
    );
    assert_eq!(
        pg.psql("postgres", "SELECT version, dirty FROM schema_migrations"),
        "7|f"
    );
}

#[test]
fn the_pool_heals_after_postgres_drops_every_connection() {
    let env = Env::start();
    let c = env.client();
    let customer = new_customer(&c, "heal@example.com");
    // What a failover or a restart does to the service's sessions.
    let killed = env.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sample-service'",
    );
    assert_ne!(killed, "0");
    crate::wait_for("the API to answer from PostgreSQL again", || {
        (c.get(&format!("/customers/{customer}"), "acme").status == 200).then_some(())
    });
    // The worker's sink writes heal too: a new order's event reaches the sink.
    place_order(&c, "acme", customer);
    crate::wait_for("the order's event in the sink", || {
        (env.sql("SELECT count(*) FROM events_sink WHERE type = 'order.created'") == "1")
            .then_some(())
    });
}

#[test]
fn redis_connections_heal_after_redis_drops_every_client() {
    let env = Env::start();
    let c = env.client();
    let customer = new_customer(&c, "heal-redis@example.com");
    env.redis
        .cli(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
    // The cache, the publisher and the worker's blocking reads all come back.
    let order = crate::wait_for("an order to be placed again", || {
        let r = c.post(
            "/orders",
            "acme",
            &json!({"customer_id": customer, "items": [{"sku": "A", "quantity": 1, "price_cents": 1}]}),
        );
        (r.status == 201).then(|| r.json())
    });
    let id = order["id"].as_i64().expect("an id");
    crate::wait_for("the order's event in the sink", || {
        (env.sql(&format!(
            "SELECT count(*) FROM events_sink WHERE payload->>'order_id' = '{id}'"
        )) == "1")
            .then_some(())
    });
    assert_eq!(c.get(&format!("/orders/{id}"), "acme").status, 200);
    assert_eq!(
        c.get(&format!("/orders/{id}"), "acme").cache.as_deref(),
        Some("hit")
    );
}

#[test]
fn a_traced_request_is_one_json_log_line_with_its_trace_id_and_an_untraced_one_is_not_logged() {
    let env = Env::start_with(|o| o.args(["--log-format", "json"]));
    let agent = ureq::Agent::new_with_defaults();
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let r = agent
        .get(format!("{}/orders/424242", env.svc.url()))
        .header("x-tenant", "acme")
        .header("traceparent", format!("00-{trace}-b7ad6b7169203331-01"))
        .call();
    assert!(
        matches!(r, Err(ureq::Error::StatusCode(404))),
        "{r:?}: an unknown order"
    );
    assert_eq!(env.client().get("/healthz", "acme").status, 200);
    // The service writes each line in one call; poll until the request's line is there.
    let deadline = std::time::Instant::now() + crate::PATIENCE;
    let line = loop {
        let log = env.svc.log();
        if let Some(l) = log.lines().find(|l| l.contains(trace)) {
            break l.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no log line names trace {trace}:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not one JSON object ({e}): {line}"));
    assert_eq!(v["trace_id"], trace, "{v}");
    assert_eq!(v["span_id"], "b7ad6b7169203331", "{v}");
    assert_eq!(v["route"], "/orders/{id}", "{v}");
    assert_eq!(v["status"], 404, "{v}");
    assert_eq!(v["level"], "INFO", "{v}");
    // Every stderr line is JSON; the untraced /healthz is not at INFO.
    for l in env.svc.log().lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert_ne!(v["route"], "/healthz", "{l}");
    }
}
