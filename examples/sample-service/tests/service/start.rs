//! Start-up failures (one line naming what is unreachable, password redacted, exit 2, no
//! hang) and the graceful drain on SIGTERM.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{BIN, Env, metric, wait_for};

/// Runs the binary to its end with the given URLs; (exit code, stderr).
fn run(database_url: &str, redis_url: &str) -> (Option<i32>, String) {
    let api = testkit::free_port();
    let admin = testkit::free_port();
    let out = Command::new(BIN)
        .args(["--listen", &format!("127.0.0.1:{api}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--database-url", database_url, "--redis-url", redis_url])
        .output()
        .expect("the binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_unreachable_postgres_is_named_in_one_line_with_the_password_redacted_and_exit_2() {
    let closed = testkit::free_port();
    let (code, stderr) = run(
        &format!("postgres://app:s3cret@127.0.0.1:{closed}/shop"),
        "redis://127.0.0.1:1",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "sample-service: cannot connect to PostgreSQL at postgres://app:***@127.0.0.1:"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn a_silent_postgres_does_not_hang_the_start() {
    // A real listener that accepts and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    let t = Instant::now();
    let (code, stderr) = run(
        &format!("postgres://app:s3cret@127.0.0.1:{port}/shop"),
        "redis://127.0.0.1:1",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("PostgreSQL at postgres://app:***@"),
        "{stderr}"
    );
    assert!(stderr.contains("did not answer"), "{stderr}");
    assert!(
        t.elapsed() < Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
    drop(silent);
}

#[test]
fn an_unreachable_redis_is_named_with_its_password_redacted_and_exit_2() {
    let pg = testkit::Postgres::start();
    let closed = testkit::free_port();
    let (code, stderr) = run(
        &pg.url("postgres"),
        &format!("redis://:s3cret@127.0.0.1:{closed}"),
    );
    assert_eq!(code, Some(2), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("sample-service: cannot connect to Redis at redis://"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(!stderr.contains(pg.password()), "{stderr}");
}

/// `XINFO GROUPS events` of our group as (entries-read, pending).
fn group_counts(redis: &testkit::Redis) -> (u64, u64) {
    let out = redis.cli(&["XINFO", "GROUPS", "events"]);
    let lines: Vec<&str> = out.lines().collect();
    let field = |name: &str| {
        lines
            .iter()
            .position(|l| *l == name)
            .and_then(|i| lines.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("entries-read"), field("pending"))
}

#[test]
fn sigterm_drains_in_flight_requests_ends_streams_and_acks_only_what_was_written() {
    let env = Env::start_with(|o| o.args(["--batch", "8"]));
    let (c, admin) = (env.client(), env.admin());
    let cust: i64 = env
        .sql("INSERT INTO customers (email) VALUES ('s@example.com') RETURNING id")
        .parse()
        .expect("id");
    // A slow consumer with a backlog, so SIGTERM lands in the middle of a batch.
    admin.faults(json!({"consumer_stopped": true}));
    for _ in 0..12 {
        crate::place_order(&c, "acme", cust);
    }
    admin.faults(json!({"consumer_stopped": false, "consumer_delay_ms": 150, "latency_ms": 1500}));
    wait_for("the worker to be busy", || {
        (env.sql("SELECT count(*) FROM events_sink") != "0").then_some(())
    });

    // An SSE subscriber and a slow request are in flight when SIGTERM comes.
    let mut sse = TcpStream::connect(("127.0.0.1", env.svc.port())).expect("connect");
    sse.set_read_timeout(Some(Duration::from_secs(40)))
        .expect("timeout");
    write!(sse, "GET /events/stream HTTP/1.0\r\nX-Tenant: acme\r\n\r\n").expect("write");
    let mut sse = BufReader::new(sse);
    let mut status = String::new();
    sse.read_line(&mut status).expect("status");
    assert!(status.contains(" 200 "), "{status}");
    let slow = {
        let c = c.clone();
        std::thread::spawn(move || c.get("/healthz", "acme").status)
    };
    wait_for("the slow request to be in flight", || {
        let m = c.get("/metrics", "t").body;
        (metric(&m, "http_requests_in_flight", &[]) >= 2.0).then_some(())
    });

    let Env { svc, redis, pg } = env;
    let exit = svc.terminate();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(
        slow.join().expect("the slow request finished"),
        200,
        "drained, not dropped"
    );
    // The stream was ended, not cut: the process could only exit once it closed.
    let mut rest = String::new();
    let _ = sse.read_to_string(&mut rest);

    // Every entry read and no longer pending was acknowledged after its sink write.
    let (read, pending) = group_counts(&redis);
    let sink: u64 = pg
        .psql("postgres", "SELECT count(*) FROM events_sink")
        .parse()
        .expect("count");
    assert_eq!(
        read - pending,
        sink,
        "acknowledged = written (read {read}, pending {pending})"
    );
}

#[test]
fn migrations_from_a_directory_are_applied_in_version_order() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    let release = testkit::cli::root().join("examples/release/migrations");
    for entry in std::fs::read_dir(&release).expect("list the release migrations") {
        let path = entry.expect("an entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("a name"))).expect("copy");
    }
    std::fs::write(
        dir.path().join("0008_add_customers_phone.up.sql"),
        "ALTER TABLE customers ADD COLUMN phone text;\n",
    )
    .expect("write a migration");
    let dir_arg = dir.path().display().to_string();
    let svc = crate::start_service(&pg, &redis, |o| o.args(["--migrations", dir_arg.as_str()]));
    assert!(
        svc.log()
            .contains("applied migration 0008_add_customers_phone.up.sql"),
        "{}",
        svc.log()
    );
    assert_eq!(
        pg.psql("postgres", "SELECT version, dirty FROM schema_migrations"),
        "8|f"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'phone'"
        ),
        "1"
    );
}

#[test]
fn a_failing_migration_stops_the_start_with_one_line_and_records_nothing() {
    let pg = testkit::Postgres::start();
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(
        dir.path().join("0001_broken.up.sql"),
        "CREATE TABLE t (id int);\nCREATE TABLE t (id int);\n",
    )
    .expect("write a migration");
    let out = Command::new(BIN)
        .args(["--listen", &format!("127.0.0.1:{}", testkit::free_port())])
        .args([
            "--admin-listen",
            &format!("127.0.0.1:{}", testkit::free_port()),
        ])
        .args([
            "--database-url",
            &pg.url("postgres"),
            "--redis-url",
            "redis://127.0.0.1:1",
        ])
        .arg("--migrations")
        .arg(dir.path())
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("0001_broken.up.sql: relation \"t\" already exists (42P07)"),
        "{stderr}"
    );
    assert!(!stderr.contains(pg.password()), "{stderr}");
    // The transaction rolled back: no table, no version recorded.
    assert_eq!(pg.psql("postgres", "SELECT to_regclass('t') IS NULL"), "t");
    assert_eq!(
        pg.psql("postgres", "SELECT count(*) FROM schema_migrations"),
        "0"
    );
}
