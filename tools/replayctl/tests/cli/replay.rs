//! `replayctl replay` and `verify`: a tenant's window into PostgreSQL exactly once, resumed
//! after SIGKILL from its checkpoint, a repeat changing nothing, poison entries refused and
//! listed, backpressure from a live consumer group.

use std::time::Duration;

use crate::{command, data, events, run, wait_until, xadd};

/// The sample service's sink table (examples/release/migrations), for tests without it.
pub const SINK_DDL: &str = "CREATE TABLE events_sink (event_id uuid PRIMARY KEY, tenant text NOT NULL,
    type text NOT NULL, occurred_at timestamptz NOT NULL, payload jsonb NOT NULL, stream_id text NOT NULL)";

/// 2026-01-01T00:00:00Z in ms.
pub const T0: u64 = 1_767_225_600_000;

fn window_args<'a>(
    redis: &'a str,
    sink: &'a str,
    stream: &'a str,
    tenant: &'a str,
    to: &'a str,
) -> Vec<&'a str> {
    vec![
        "--redis-url",
        redis,
        "--stream",
        stream,
        "--tenant",
        tenant,
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        to,
        "--sink",
        sink,
    ]
}

fn xmin_sum(pg: &testkit::Postgres) -> String {
    pg.psql(
        "postgres",
        "SELECT count(*) || ':' || sum(xmin::text::bigint) FROM events_sink",
    )
}

#[test]
fn replay_writes_a_tenants_window_once_and_a_repeat_changes_nothing() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    xadd(
        redis.port(),
        "events",
        &events(1, 3000, T0, &["acme", "globex", "initech"]),
    );
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut replay = vec!["replay"];
    replay.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T00:00:01.999Z",
    ));
    replay.extend(["--batch", "250"]);
    let r = run(&replay);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let d = data(&r);
    // 2000 entries in the window (one per ms), every third is acme's.
    assert_eq!(
        (
            d["read"].as_u64(),
            d["matched"].as_u64(),
            d["inserted"].as_u64()
        ),
        (Some(2000), Some(667), Some(667)),
        "{d}"
    );
    assert_eq!(
        d["method"], "copy",
        "the default writer (docs/replayctl.md, Figures)"
    );
    assert_eq!(r.check("replay.backpressure")["result"], "skip");
    let before = xmin_sum(&pg);

    let mut verify = vec!["verify"];
    verify.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T00:00:01.999Z",
    ));
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert_eq!(data(&v)["stream_rows"], 667);
    assert_eq!(data(&v)["stream_hash"], data(&v)["sink_hash"]);

    // The same command again resumes at the end: nothing to do.
    let again = run(&replay);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(data(&again)["inserted"], 0);
    // From scratch, both ways of writing: every row is already there; no row is rewritten.
    for method in ["insert", "copy"] {
        let mut fresh = replay.clone();
        fresh.extend(["--restart", "--method", method]);
        let r = run(&fresh);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert_eq!(
            (
                data(&r)["inserted"].as_u64(),
                data(&r)["duplicates"].as_u64()
            ),
            (Some(0), Some(667)),
            "{method}"
        );
    }
    assert_eq!(xmin_sum(&pg), before);

    // A lost row and a changed row: verify says which.
    pg.psql(
        "postgres",
        "DELETE FROM events_sink WHERE stream_id = '1767225600000-0'",
    );
    pg.psql(
        "postgres",
        "UPDATE events_sink SET payload = '{\"n\": -1}' WHERE stream_id = '1767225600003-0'",
    );
    pg.psql("postgres", "INSERT INTO events_sink VALUES (gen_random_uuid(), 'acme', 'x', now(), '{}', '1767225600500-0')");
    // A row whose stream id is not an id (written by someone else) is not in any window;
    // it must not make verify fail to judge.
    pg.psql(
        "postgres",
        "INSERT INTO events_sink VALUES (gen_random_uuid(), 'acme', 'x', now(), '{}', 'manual')",
    );
    let v = run(&verify);
    assert_eq!(v.code, 1, "{}", v.stdout);
    let d = data(&v);
    assert_eq!(d["missing_ids"][0], "1767225600000-0", "{d}");
    assert_eq!(d["differ_ids"][0], "1767225600003-0", "{d}");
    assert_eq!(d["extra"], 1, "{d}");
    assert_ne!(d["stream_hash"], d["sink_hash"]);
}

#[test]
fn the_copy_method_writes_the_same_rows_as_insert() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    xadd(redis.port(), "events", &events(2, 500, T0, &["acme"]));
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut replay = vec!["replay"];
    replay.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    replay.extend(["--method", "copy", "--batch", "128"]);
    let r = run(&replay);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["inserted"], 500);
    let mut verify = vec!["verify"];
    verify.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}", v.stdout);

    // COPY has no ON CONFLICT: batches that meet rows already there (a resumed run's
    // overlap) are undone and written by INSERT … ON CONFLICT DO NOTHING, the rest by COPY.
    pg.psql(
        "postgres",
        "DELETE FROM events_sink WHERE stream_id IN (SELECT stream_id FROM events_sink ORDER BY stream_id LIMIT 5 OFFSET 200)",
    );
    replay.push("--restart");
    let r = run(&replay);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        (
            data(&r)["inserted"].as_u64(),
            data(&r)["duplicates"].as_u64()
        ),
        (Some(5), Some(495)),
        "{}",
        r.stdout
    );
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}", v.stdout);
}

#[test]
fn entries_the_sink_refuses_are_listed_and_the_rest_is_written() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    let mut evs = events(3, 10, T0, &["acme"]);
    evs[4].payload = "{\"cut in ha".to_owned(); // the sample service's poison: truncated JSON
    xadd(redis.port(), "events", &evs);
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut replay = vec!["replay"];
    replay.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    let r = run(&replay);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let d = data(&r);
    assert_eq!(
        (d["inserted"].as_u64(), d["rejected_count"].as_u64()),
        (Some(9), Some(1)),
        "{d}"
    );
    assert_eq!(d["rejected"][0]["id"], "1767225600004-0");
    assert!(r.failures().contains("refused 1 entry"), "{}", r.failures());
    let mut verify = vec!["verify"];
    verify.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    let v = run(&verify);
    assert_eq!(v.code, 1);
    assert_eq!(data(&v)["unconvertible"], 1);
}

#[test]
fn slow_replay_pauses_while_the_live_group_lags_and_goes_on_when_it_catches_up() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    xadd(redis.port(), "archive", &events(4, 200, T0, &["acme"]));
    redis.cli(&["XGROUP", "CREATE", "events", "live", "0", "MKSTREAM"]);
    for i in 0..50 {
        redis.cli(&["XADD", "events", "*", "n", &i.to_string()]);
    }
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut args = vec!["replay"];
    args.extend(window_args(
        &url,
        &sink,
        "archive",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    args.extend([
        "--group",
        "live",
        "--live-stream",
        "events",
        "--pause-above",
        "10",
        "--batch",
        "50",
    ]);
    let child = command(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // While the live group is 50 behind, nothing is written.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(pg.psql("postgres", "SELECT count(*) FROM events_sink"), "0");
    // The live consumer catches up: the replay goes on by itself.
    redis.cli(&["XGROUP", "SETID", "events", "live", "$"]);
    let out = child.wait_with_output().expect("replay ends");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(out.status.code(), Some(0), "{report}");
    let bp = &report["data"]["backpressure"];
    assert!(bp["pauses"].as_u64() >= Some(1), "{bp}");
    assert!(bp["paused_ms"].as_u64() >= Some(1000), "{bp}");
    assert_eq!(bp["max_live_lag"], 50, "{bp}");
    assert_eq!(report["data"]["inserted"], 200);
}

/// The acceptance test: 100k events of a tenant; SIGKILL in the middle of the replay; the
/// second run resumes from the checkpoint and the sink holds each event exactly once;
/// verify passes; a third run changes nothing. The sample service's worker runs on the live
/// stream meanwhile, writing to the same table.
#[test]
fn slow_a_replay_killed_mid_way_resumes_and_holds_each_event_exactly_once() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start(&pg, &redis);
    const N: usize = 100_000;
    xadd(redis.port(), "archive", &events(5, N, T0, &["acme"]));
    xadd(redis.port(), "events", &events(6, 500, T0, &["globex"]));
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let to = "2026-01-01T01:00:00Z";
    let mut args = vec!["replay"];
    args.extend(window_args(&url, &sink, "archive", "acme", to));
    args.extend([
        "--rate",
        "10000/s",
        "--group",
        "sample-service",
        "--live-stream",
        "events",
    ]);
    let count = || -> u64 {
        pg.psql(
            "postgres",
            "SELECT count(*) FROM events_sink WHERE tenant = 'acme'",
        )
        .parse()
        .unwrap_or(0)
    };
    let mut child = command(&args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    wait_until("a fifth of the replay", Duration::from_secs(120), || {
        count() >= 20_000
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let at_kill = count();
    assert!(
        at_kill < N as u64,
        "the replay ended before it was killed ({at_kill})"
    );

    let mut rest = vec!["replay"];
    rest.extend(window_args(&url, &sink, "archive", "acme", to));
    let r = run(&rest);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let d = data(&r);
    assert!(d["checkpoint"]["resumed_from"].is_string(), "{d}");
    assert_eq!(d["inserted"].as_u64(), Some(N as u64 - at_kill), "{d}");
    assert_eq!(count(), N as u64);
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(DISTINCT event_id) FROM events_sink WHERE tenant = 'acme'"
        ),
        N.to_string()
    );
    let mut verify = vec!["verify"];
    verify.extend(window_args(&url, &sink, "archive", "acme", to));
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);

    let before = pg.psql(
        "postgres",
        "SELECT count(*) || ':' || sum(xmin::text::bigint) FROM events_sink WHERE tenant = 'acme'",
    );
    let mut third = rest.clone();
    third.push("--restart");
    let r = run(&third);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        (
            data(&r)["inserted"].as_u64(),
            data(&r)["duplicates"].as_u64()
        ),
        (Some(0), Some(N as u64))
    );
    let after = pg.psql(
        "postgres",
        "SELECT count(*) || ':' || sum(xmin::text::bigint) FROM events_sink WHERE tenant = 'acme'",
    );
    assert_eq!(before, after);
    // The live path went on meanwhile.
    wait_until(
        "the worker's 500 live events",
        Duration::from_secs(60),
        || {
            pg.psql(
                "postgres",
                "SELECT count(*) FROM events_sink WHERE tenant = 'globex'",
            ) == "500"
        },
    );
    drop(svc);
}

#[test]
fn a_replay_crashed_before_or_after_a_commit_resumes_without_loss_or_duplicate() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    xadd(redis.port(), "events", &events(9, 2000, T0, &["acme"]));
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut args = vec!["replay"];
    args.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    args.extend(["--batch", "300"]);
    // The third batch: killed before it commits (600 rows stay) or right after (900).
    for (point, rows_at_crash) in [
        ("replay-before-batch:3", "600"),
        ("replay-after-batch:3", "900"),
    ] {
        pg.psql("postgres", "TRUNCATE events_sink");
        pg.psql("postgres", "DROP TABLE IF EXISTS replayctl_checkpoints");
        let crashed = testkit::cli::Cmd::new(crate::bin())
            .args(&args)
            .args(["--format", "json"])
            .env("REPLAYCTL_FAULT", point)
            .run();
        assert_ne!(crashed.code, 0, "{point}: {}", crashed.stdout);
        assert_eq!(
            pg.psql("postgres", "SELECT count(*) FROM events_sink"),
            rows_at_crash,
            "{point}"
        );
        let r = run(&args);
        assert_eq!(r.code, 0, "{point}: {}", r.stderr);
        assert_eq!(
            data(&r)["duplicates"],
            0,
            "{point}: the resume re-read committed rows"
        );
        assert_eq!(
            pg.psql(
                "postgres",
                "SELECT count(*) || '/' || count(DISTINCT event_id) FROM events_sink"
            ),
            "2000/2000",
            "{point}"
        );
    }
}

/// The acceptance's burst: a replay runs with `--group` while the live stream gets a burst
/// three times the size of the pause threshold's headroom; the replay pauses, the sample
/// service's worker drains the burst, the live lag stays within its budget, and the replay
/// still completes. The report's data carries the live-lag samples.
#[test]
fn slow_a_burst_on_the_live_stream_pauses_the_replay_and_the_live_lag_stays_in_budget() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let _svc = testkit::SampleService::start(&pg, &redis);
    xadd(redis.port(), "archive", &events(10, 20_000, T0, &["acme"]));
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut args = vec!["replay"];
    args.extend(window_args(
        &url,
        &sink,
        "archive",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    args.extend([
        "--group",
        "sample-service",
        "--live-stream",
        "events",
        "--pause-above",
        "100",
        "--batch",
        "500",
        "--rate",
        "4000/s",
    ]);
    let child = command(&args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(1000));
    // The burst: 3 × 1000 live events at once (the worker takes 32 per read).
    for round in 0..3u32 {
        xadd(
            redis.port(),
            "events",
            &events(
                20 + round,
                1000,
                T0 + 1_000_000 * u64::from(round + 1),
                &["globex"],
            ),
        );
    }
    let out = child.wait_with_output().expect("replay ends");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(out.status.code(), Some(0), "{report}");
    let bp = &report["data"]["backpressure"];
    assert!(
        bp["pauses"].as_u64() >= Some(1),
        "the replay never paused: {bp}"
    );
    assert!(bp["max_live_lag"].as_u64() > Some(100), "{bp}");
    assert_eq!(report["data"]["inserted"], 20_000);
    wait_until(
        "the worker to drain the burst",
        Duration::from_secs(60),
        || {
            pg.psql(
                "postgres",
                "SELECT count(*) FROM events_sink WHERE tenant = 'globex'",
            ) == "3000"
        },
    );
    let lag = run([
        "lag",
        "--redis-url",
        &url,
        "--stream",
        "events",
        "--group",
        "sample-service",
        "--max-lag",
        "60s",
    ]);
    assert_eq!(lag.code, 0, "{}", lag.failures());
}

#[test]
fn sigterm_while_paused_for_the_live_group_stops_in_one_line_and_the_rerun_resumes() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    xadd(redis.port(), "archive", &events(11, 100, T0, &["acme"]));
    redis.cli(&["XGROUP", "CREATE", "events", "live", "0", "MKSTREAM"]);
    for i in 0..20 {
        redis.cli(&["XADD", "events", "*", "n", &i.to_string()]);
    }
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut args = vec!["replay"];
    args.extend(window_args(
        &url,
        &sink,
        "archive",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    args.extend([
        "--group",
        "live",
        "--live-stream",
        "events",
        "--pause-above",
        "5",
    ]);
    let child = command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_millis(800));
    let t0 = std::time::Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let out = child.wait_with_output().expect("ends");
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "took {:?} to stop",
        t0.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("interrupted"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("run the same command again"), "{stderr}");
    assert_eq!(pg.psql("postgres", "SELECT count(*) FROM events_sink"), "0");
    redis.cli(&["XGROUP", "SETID", "events", "live", "$"]);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(data(&r)["inserted"], 100);
}

#[test]
fn a_mapping_file_replays_into_another_shape_of_sink() {
    let pg = testkit::Postgres::start();
    pg.psql(
        "postgres",
        "CREATE SCHEMA audit; CREATE TABLE audit.orders (order_id uuid NOT NULL UNIQUE, account text NOT NULL,
           body jsonb, source_id text NOT NULL, note text DEFAULT 'replayed')",
    );
    let redis = testkit::Redis::start();
    let mut input = Vec::new();
    for i in 0..50u64 {
        let id = format!("{}-0", T0 + i);
        let order = format!("{i:08x}-0000-4000-8000-000000000000");
        let account = if i % 2 == 0 { "acme" } else { "globex" };
        let body = format!("{{\"i\": {i}}}");
        input.extend(crate::resp_of(&[
            "XADD", "orders", &id, "id", &order, "account", account, "body", &body,
        ]));
    }
    crate::pipe(redis.port(), &input);
    let dir = tempfile::tempdir().expect("tempdir");
    let mapping = dir.path().join("orders.yaml");
    std::fs::write(
        &mapping,
        "table: audit.orders\nkey: order_id\ntenant_field: account\ncolumns:\n  order_id: id\n  account: account\n  body: body\n  source_id: $id\n",
    )
    .expect("write the mapping");
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mapping = mapping.to_string_lossy().into_owned();
    let mut replay = vec!["replay"];
    replay.extend(window_args(
        &url,
        &sink,
        "orders",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    replay.extend(["--mapping", &mapping]);
    let r = run(&replay);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["inserted"], 25);
    assert_eq!(data(&r)["sink"]["table"], "audit.orders");
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM audit.orders WHERE account = 'acme' AND note = 'replayed'"
        ),
        "25"
    );
    let mut verify = vec!["verify"];
    verify.extend(window_args(
        &url,
        &sink,
        "orders",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    verify.extend(["--mapping", &mapping]);
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert_eq!(data(&v)["extra"], 0);
}

#[test]
fn verify_counts_a_redriven_copy_of_an_event_once() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let redis = testkit::Redis::start();
    let evs = events(12, 10, T0, &["acme"]);
    xadd(redis.port(), "events", &evs);
    // Event 2 failed, went to the DLQ and was redriven: the same event again, a new id.
    let copy = crate::Ev {
        id: format!("{}-0", T0 + 100),
        ..evs[2].clone()
    };
    xadd(redis.port(), "events", std::slice::from_ref(&copy));
    let (url, sink) = (redis.url(), pg.url("postgres"));
    let mut replay = vec!["replay"];
    replay.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    let r = run(&replay);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        (
            data(&r)["inserted"].as_u64(),
            data(&r)["duplicates"].as_u64()
        ),
        (Some(10), Some(1))
    );
    // As the worker would have written it: from the redriven copy.
    pg.psql(
        "postgres",
        &format!(
            "UPDATE events_sink SET stream_id = '{}' WHERE stream_id = '{}'",
            copy.id, evs[2].id
        ),
    );
    let mut verify = vec!["verify"];
    verify.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    let d = data(&v);
    assert_eq!(
        (
            d["stream_rows"].as_u64(),
            d["sink_rows"].as_u64(),
            d["repeats"].as_u64()
        ),
        (Some(10), Some(10), Some(1)),
        "{d}"
    );
}

#[test]
fn a_raw_at_in_the_sink_password_ends_the_userinfo_at_the_last_at() {
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    pg.psql(
        "postgres",
        "CREATE ROLE app LOGIN SUPERUSER PASSWORD 'Leak@At4'",
    );
    let redis = testkit::Redis::start();
    xadd(redis.port(), "events", &events(13, 5, T0, &["acme"]));
    let url = redis.url();
    let sink = format!("postgres://app:Leak@At4@127.0.0.1:{}/postgres", pg.port());
    let mut replay = vec!["replay"];
    replay.extend(window_args(
        &url,
        &sink,
        "events",
        "acme",
        "2026-01-01T01:00:00Z",
    ));
    let r = run(&replay);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["inserted"], 5);
    assert_eq!(
        data(&r)["sink"]["server"],
        format!("postgres 127.0.0.1:{}/postgres", pg.port())
    );
    assert!(
        !r.stdout.contains("At4") && !r.stderr.contains("At4"),
        "{}",
        r.stdout
    );
}
