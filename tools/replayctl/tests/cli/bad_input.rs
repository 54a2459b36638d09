//! Bad input: one line on stderr, exit 2, a report with result error, nothing written.

use std::time::{Duration, Instant};

use crate::replay::{SINK_DDL, T0};
use crate::{events, run, xadd};

fn one_line_exit_2(r: &testkit::cli::Run) -> String {
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.result(), "error", "{}", r.stdout);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "want one line on stderr:\n{}", r.stderr);
    assert!(lines[0].starts_with("replayctl: "), "{}", lines[0]);
    lines[0].to_owned()
}

fn nothing_written(pg: &testkit::Postgres) {
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT coalesce(to_regclass('replayctl_checkpoints')::text, 'none')"
        ),
        "none",
        "the checkpoint table was created"
    );
    assert_eq!(pg.psql("postgres", "SELECT count(*) FROM events_sink"), "0");
}

#[test]
fn a_backwards_window_is_refused_before_connecting_anywhere() {
    let r = run([
        "replay",
        "--redis-url",
        "redis://127.0.0.1:1",
        "--stream",
        "events",
        "--tenant",
        "acme",
        "--from",
        "2026-12-07T11:00:00Z",
        "--to",
        "2026-12-07T10:00:00Z",
        "--sink",
        "postgres://u:pw@127.0.0.1:1/db",
    ]);
    let line = one_line_exit_2(&r);
    assert!(
        line.contains("--from 2026-12-07T11:00:00Z: is after --to"),
        "{line}"
    );
    let r = run([
        "verify",
        "--redis-url",
        "redis://127.0.0.1:1",
        "--tenant",
        "acme",
        "--from",
        "noon",
        "--to",
        "2026-12-07T10:00:00Z",
        "--sink",
        "postgres://u:pw@127.0.0.1:1/db",
    ]);
    assert!(one_line_exit_2(&r).contains("--from noon: expected an RFC 3339 time"));
}

#[test]
fn a_missing_stream_or_group_is_one_line() {
    let redis = testkit::Redis::start();
    let url = redis.url();
    let r = run([
        "lag",
        "--redis-url",
        &url,
        "--stream",
        "nope",
        "--group",
        "g",
    ]);
    assert!(one_line_exit_2(&r).contains("stream \"nope\" does not exist"));
    assert_eq!(r.json["error"]["kind"], "no_stream");
    redis.cli(&["XADD", "s", "*", "k", "v"]);
    let r = run(["lag", "--redis-url", &url, "--stream", "s", "--group", "g"]);
    assert!(one_line_exit_2(&r).contains("has no consumer group \"g\""));
    // A DLQ that does not exist yet is an empty one; a key of another type is an error.
    let r = run([
        "dlq",
        "triage",
        "--redis-url",
        &url,
        "--dlq",
        "nope:dlq",
        "--max-entries",
        "0",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["entries"], 0);
    let r = run([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        "nope:dlq",
        "--to",
        "s",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    redis.cli(&["SET", "plain", "x"]);
    let r = run(["dlq", "triage", "--redis-url", &url, "--dlq", "plain"]);
    assert!(
        one_line_exit_2(&r).contains("is a string, not a stream"),
        "{}",
        r.stderr
    );
    let r = run([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        "s",
        "--to",
        "t",
        "--filter",
        "tenant",
    ]);
    assert!(one_line_exit_2(&r).contains("--filter tenant: expected FIELD=VALUE"));
}

#[test]
fn a_sink_without_a_unique_key_is_refused_before_anything_is_written() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", &SINK_DDL.replace(" PRIMARY KEY", ""));
    let redis = testkit::Redis::start();
    xadd(redis.port(), "events", &events(1, 10, T0, &["acme"]));
    let r = run([
        "replay",
        "--redis-url",
        &redis.url(),
        "--tenant",
        "acme",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-02T00:00:00Z",
        "--sink",
        &pg.url("postgres"),
    ]);
    let line = one_line_exit_2(&r);
    assert!(line.contains("has no unique constraint"), "{line}");
    assert!(line.contains("nothing was written"), "{line}");
    nothing_written(&pg);
    // A deferrable unique key cannot serve ON CONFLICT: refused the same way.
    pg.psql(
        "postgres",
        "CREATE TABLE deferred_sink (event_id uuid UNIQUE DEFERRABLE, tenant text, type text,
           occurred_at timestamptz, payload jsonb, stream_id text)",
    );
    let r = run([
        "replay",
        "--redis-url",
        &redis.url(),
        "--tenant",
        "acme",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-02T00:00:00Z",
        "--sink",
        &pg.url("postgres"),
        "--sink-table",
        "deferred_sink",
    ]);
    assert!(
        one_line_exit_2(&r).contains("has no unique constraint"),
        "{}",
        r.stderr
    );
    nothing_written(&pg);
    // A missing table, a missing stream, a missing group to watch: the same.
    for (extra, want) in [
        (vec!["--sink-table", "nope"], "no such table"),
        (vec!["--stream", "nope"], "does not exist"),
        (vec!["--group", "nope"], "no consumer group"),
    ] {
        let mut args = vec![
            "replay".to_owned(),
            "--redis-url".into(),
            redis.url(),
            "--tenant".into(),
            "acme".into(),
            "--from".into(),
            "2026-01-01T00:00:00Z".into(),
            "--to".into(),
            "2026-01-02T00:00:00Z".into(),
            "--sink".into(),
            pg.url("postgres"),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let r = run(&args);
        assert!(one_line_exit_2(&r).contains(want), "{want}: {}", r.stderr);
        nothing_written(&pg);
    }
}

#[test]
fn wrong_passwords_are_one_line_without_the_password() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    // A user with a password (the default user stays open for testkit's own PING).
    redis.cli(&["ACL", "SETUSER", "app", "on", ">right-pass", "~*", "+@all"]);
    let good_redis = format!("redis://app:right-pass@127.0.0.1:{}", redis.port());
    let bad_redis = format!("redis://app:Wr0ngRedisPw@127.0.0.1:{}", redis.port());
    let r = run([
        "lag",
        "--redis-url",
        &bad_redis,
        "--stream",
        "s",
        "--group",
        "g",
    ]);
    let line = one_line_exit_2(&r);
    assert!(
        !line.contains("Wr0ngRedisPw") && !r.stdout.contains("Wr0ngRedisPw"),
        "{line}"
    );
    assert_eq!(r.json["error"]["kind"], "auth", "{line}");

    let bad_pg = format!(
        "postgres://postgres:Wr0ngPgPw@127.0.0.1:{}/postgres",
        pg.port()
    );
    // The stream is checked first; give it one so the sink is reached.
    redis.cli(&["XADD", "events", "*", "tenant", "acme"]);
    let r = run([
        "replay",
        "--redis-url",
        &good_redis,
        "--stream",
        "events",
        "--tenant",
        "acme",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-02T00:00:00Z",
        "--sink",
        &bad_pg,
    ]);
    let line = one_line_exit_2(&r);
    assert!(
        !line.contains("Wr0ngPgPw") && !r.stdout.contains("Wr0ngPgPw"),
        "{line}"
    );
    assert_eq!(r.json["error"]["kind"], "auth", "{line}");
    nothing_written(&pg);
}

#[test]
fn a_server_that_never_answers_is_an_error_within_the_deadline() {
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let t0 = Instant::now();
    let r = run([
        "lag",
        "--redis-url",
        &format!("redis://{}", silent.addr()),
        "--stream",
        "s",
        "--group",
        "g",
        "--connect-timeout",
        "1s",
        "--query-timeout",
        "1s",
    ]);
    one_line_exit_2(&r);
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
}
