//! `migration-gate dry-run` against a real PostgreSQL from testkit: locks, rewrites, load,
//! rollback, cleanup on every path (failure, Ctrl-C), an untouched source, and bad servers.

use std::process::Stdio;
use std::time::{Duration, Instant};

use testkit::Postgres;

use crate::{command, examples, path_str, run, tree};

/// A cluster with database `app`: `accounts` with `rows` rows.
fn seeded(rows: u32) -> Postgres {
    let pg = Postgres::start();
    pg.create_db("app");
    pg.psql(
        "app",
        &format!(
            "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, balance integer NOT NULL);\n\
             INSERT INTO accounts SELECT g, 'user' || g || '@example.com', g % 1000 FROM generate_series(1, {rows}) g;\n\
             ANALYZE accounts;"
        ),
    );
    pg
}

/// A digest of everything in `app`: every row of every table and the catalog's view of them.
fn checksum(pg: &Postgres) -> String {
    pg.psql(
        "app",
        "SELECT md5(string_agg(x, '|' ORDER BY x)) FROM ( \
           SELECT 'acct:' || md5(string_agg(a::text, ',' ORDER BY id)) AS x FROM accounts a \
           UNION ALL SELECT c.relname || ':' || c.relkind::text || ':' || c.relfilenode || ':' || c.relnatts \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
           UNION ALL SELECT attrelid::regclass || '.' || attname || ':' || atttypid::regtype \
             FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attnum > 0) s",
    )
}

/// `pg_dump` of the whole source (schema and rows), byte for byte.
fn dump(pg: &Postgres) -> Vec<u8> {
    let out = std::process::Command::new(pg.bin_dir().join("pg_dump"))
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
            &pg.port().to_string(),
            "-d",
            "app",
        ])
        .env("PGPASSWORD", pg.password())
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `\restrict` lines carry a random key per dump (newer pg_dump minor releases).
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

fn copies_left(pg: &Postgres) -> String {
    pg.psql(
        "postgres",
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'mg_dryrun_%'",
    )
}

fn statement<'a>(r: &'a crate::Run, needle: &str) -> &'a serde_json::Value {
    r.json["data"]["statements"]
        .as_array()
        .and_then(|s| {
            s.iter()
                .find(|s| s["sql"].as_str().unwrap_or("").contains(needle))
        })
        .unwrap_or_else(|| panic!("no statement with {needle:?}:\n{:#}", r.json))
}

fn has_lock(s: &serde_json::Value, relation: &str, mode: &str) -> bool {
    s["locks"].as_array().is_some_and(|l| {
        l.iter()
            .any(|l| l["relation"] == relation && l["mode"] == mode)
    })
}

#[test]
fn int_to_bigint_on_100k_rows_reports_access_exclusive_lock_and_a_rewrite_under_load() {
    let pg = seeded(100_000);
    let before = checksum(&pg);
    let dump_before = dump(&pg);
    let dir = tree(&[
        (
            "0001_widen.up.sql",
            "ALTER TABLE accounts ALTER COLUMN balance TYPE bigint;\n",
        ),
        (
            "0001_widen.down.sql",
            "ALTER TABLE accounts ALTER COLUMN balance TYPE integer;\n",
        ),
    ]);
    let url = pg.url("app");
    let r = run(&[
        "dry-run",
        "--database-url",
        &url,
        "--with-load",
        "4",
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let s = statement(&r, "TYPE bigint");
    assert!(has_lock(s, "accounts", "AccessExclusiveLock"), "{s:#}");
    assert_eq!(s["rewrites"], serde_json::json!(["accounts"]));
    assert_eq!(r.check("dryrun.rewrite")["result"], "fail");
    assert_eq!(r.check("dryrun.blocking_lock")["result"], "fail");
    assert_eq!(r.check("dryrun.blocking_lock")["location"]["line"], 1);
    // The load sessions were blocked behind it, and the time is measured.
    let load = &r.json["data"]["load"];
    assert!(
        load["blocked_queries"].as_u64().unwrap_or(0) > 0,
        "{load:#}"
    );
    assert!(
        load["longest_blocked_ms"].as_f64().unwrap_or(0.0) > 0.0,
        "{load:#}"
    );
    assert!(s["blocked_ms"].as_f64().unwrap_or(0.0) > 0.0, "{s:#}");
    assert_eq!(r.check("dryrun.rollback")["result"], "ok");
    assert_eq!(r.check("dryrun.cleanup")["result"], "ok");
    assert_eq!(copies_left(&pg), "");
    assert_eq!(checksum(&pg), before, "the source database changed");
    assert!(
        dump(&pg) == dump_before,
        "pg_dump of the source differs after the dry run"
    );
}

#[test]
fn create_index_concurrently_takes_no_blocking_lock_and_blocks_no_session() {
    let pg = seeded(100_000);
    let dir = tree(&[
        (
            "0001_index.up.sql",
            "-- migration-gate: no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_email_idx ON accounts (email);\n",
        ),
        (
            "0001_index.down.sql",
            "-- migration-gate: no-transaction\nDROP INDEX CONCURRENTLY IF EXISTS accounts_email_idx;\n",
        ),
    ]);
    let url = pg.url("app");
    let r = run(&[
        "dry-run",
        "--database-url",
        &url,
        "--with-load",
        "4",
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let s = statement(&r, "CONCURRENTLY");
    assert!(has_lock(s, "accounts", "ShareUpdateExclusiveLock"), "{s:#}");
    assert!(
        !s["locks"].as_array().expect("locks").iter().any(|l| {
            [
                "ShareLock",
                "ShareRowExclusiveLock",
                "ExclusiveLock",
                "AccessExclusiveLock",
            ]
            .contains(&l["mode"].as_str().unwrap_or(""))
                && l["relation"] == "accounts"
        }),
        "{s:#}"
    );
    assert_eq!(s["rewrites"], serde_json::json!([]));
    let load = &r.json["data"]["load"];
    assert!(load["queries"].as_u64().unwrap_or(0) > 0, "{load:#}");
    assert_eq!(load["blocked_queries"], 0, "{load:#}");
    assert_eq!(r.check("dryrun.blocked")["observed"], 0);
    assert_eq!(r.check("dryrun.blocked")["result"], "ok");
    assert_eq!(r.check("dryrun.rollback")["result"], "ok");
}

#[test]
fn a_failing_migration_leaves_no_database_behind_and_the_source_untouched() {
    let pg = seeded(1000);
    let before = checksum(&pg);
    let dir = tree(&[
        (
            "0001_note.up.sql",
            "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN note text;\n",
        ),
        (
            "0002_again.up.sql",
            "SET lock_timeout = '1s';\n\nALTER TABLE accounts ADD COLUMN note text;\n",
        ),
    ]);
    let url = pg.url("app");
    let r = run(&["dry-run", "--database-url", &url, path_str(dir.path())]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let apply = r.check("dryrun.apply");
    assert_eq!(apply["result"], "fail");
    assert!(
        apply["location"]["file"]
            .as_str()
            .unwrap_or("")
            .ends_with("0002_again.up.sql")
    );
    assert_eq!(apply["location"]["line"], 3);
    assert!(
        apply["message"]
            .as_str()
            .unwrap_or("")
            .contains("already exists (42701)"),
        "{apply:#}"
    );
    assert_eq!(r.check("dryrun.cleanup")["result"], "ok");
    assert_eq!(copies_left(&pg), "");
    assert_eq!(checksum(&pg), before);
}

#[test]
fn a_down_migration_that_does_not_restore_the_schema_fails_the_rollback() {
    let pg = seeded(10);
    let dir = tree(&[
        (
            "0001_note.up.sql",
            "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN note text;\nCREATE TABLE notes (id bigint PRIMARY KEY);\n",
        ),
        ("0001_note.down.sql", "DROP TABLE notes;\n"),
    ]);
    let r = run(&[
        "dry-run",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let rb = r.check("dryrun.rollback");
    assert_eq!(rb["result"], "fail");
    assert!(
        rb["message"]
            .as_str()
            .unwrap_or("")
            .contains("CREATE TABLE public.accounts"),
        "{rb:#}"
    );
}

#[test]
fn wrong_password_is_exit_2_in_one_line_that_never_shows_it() {
    let pg = seeded(1);
    let url = format!(
        "postgres://postgres:hunter2-not-it@127.0.0.1:{}/app",
        pg.port()
    );
    let dir = tree(&[("0001_a.up.sql", "SELECT 1;\n")]);
    let r = run(&["dry-run", "--database-url", &url, path_str(dir.path())]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json["error"]["kind"], "auth");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("authentication failed for user \"postgres\""),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("hunter2") && !r.stdout.contains("hunter2"));
}

#[test]
fn an_unreachable_server_is_exit_2_naming_it() {
    let port = testkit::free_port();
    let url = format!("postgres://app:s3cret-pw@127.0.0.1:{port}/app?connect_timeout=3");
    let dir = tree(&[("0001_a.up.sql", "SELECT 1;\n")]);
    let r = run(&["dry-run", "--database-url", &url, path_str(dir.path())]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json["error"]["kind"], "unreachable");
    assert!(
        r.stderr.starts_with(&format!(
            "migration-gate: 127.0.0.1:{port}/postgres: cannot connect"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret") && !r.stdout.contains("s3cret"));
    let r = run(&[
        "dry-run",
        "--database-url",
        "postgres://u:s3cret-pw@h:notaport/db",
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("postgres://u:***@h:notaport/db"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret"));
}

#[test]
fn the_password_appears_in_no_output_on_success_or_failure() {
    let pg = seeded(10);
    let url = pg.url("app");
    for sql in [
        "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN x text;\n",
        "ALTER TABLE nope ADD COLUMN x text;\n",
    ] {
        let dir = tree(&[("0001_a.up.sql", sql)]);
        for format in ["json", "text", "markdown"] {
            let out = command(&[
                "dry-run",
                "-vv",
                "--format",
                format,
                "--database-url",
                &url,
                path_str(dir.path()),
            ])
            .output()
            .expect("runs");
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !all.contains(pg.password()),
                "password printed in {format}:\n{all}"
            );
        }
    }
}

#[test]
fn a_busy_source_falls_back_to_a_schema_only_copy_or_says_why_not() {
    let pg = seeded(100);
    // Another session on the source: CREATE DATABASE ... TEMPLATE refuses.
    let mut other = std::process::Command::new(pg.bin_dir().join("psql"))
        .args([
            "-X",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
            &pg.port().to_string(),
            "-d",
            "app",
            "-c",
            "SELECT pg_sleep(60)",
        ])
        .env("PGPASSWORD", pg.password())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql");
    let started = Instant::now();
    while pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND query LIKE '%pg_sleep%'",
    ) != "1"
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the other session never started"
        );
        std::thread::yield_now();
    }
    let dir = tree(&[(
        "0001_a.up.sql",
        "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN x text;\n",
    )]);
    let url = pg.url("app");
    let r = run(&[
        "dry-run",
        "--copy",
        "template",
        "--database-url",
        &url,
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("has other sessions"), "{}", r.stderr);
    let r = run(&["dry-run", "--database-url", &url, path_str(dir.path())]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.check("dryrun.copy")["result"], "warn");
    assert_eq!(r.json["data"]["copy"]["method"], "schema");
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(copies_left(&pg), "");
}

#[test]
fn ctrl_c_drops_the_copy() {
    let pg = seeded(10);
    let dir = tree(&[("0001_slow.up.sql", "SELECT pg_sleep(120);\n")]);
    let url = pg.url("app");
    let child = command(&[
        "dry-run",
        "--format",
        "json",
        "--database-url",
        &url,
        path_str(dir.path()),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("runs");
    let started = Instant::now();
    while pg.psql("postgres", "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'mg_dryrun_%' AND query LIKE '%pg_sleep(120)%'") != "1" {
        assert!(started.elapsed() < Duration::from_secs(60), "the dry run never reached the slow statement");
        std::thread::yield_now();
    }
    assert_ne!(copies_left(&pg), "");
    let pid = i32::try_from(child.id()).expect("pid");
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = child.wait_with_output().expect("waits");
    assert_eq!(out.status.code(), Some(2));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(json["error"]["kind"], "interrupted");
    assert_eq!(copies_left(&pg), "");
}

#[test]
fn the_examples_pass_and_fail_on_a_seeded_database_with_a_migrations_table() {
    let pg = Postgres::start();
    pg.create_db("shop");
    for f in [
        "release/migrations/0001_create_customers.up.sql",
        "release/migrations/0002_create_orders.up.sql",
        "release/migrations/0003_create_order_items.up.sql",
        "release/migration-gate-seed.sql",
    ] {
        let sql = std::fs::read_to_string(examples().join(f)).expect("example");
        pg.psql("shop", &sql);
    }
    let url = pg.url("shop");
    let good = run(&[
        "dry-run",
        "--database-url",
        &url,
        "--with-load",
        "2",
        "examples/release/migrations",
    ]);
    assert_eq!(good.code, 0, "{}\n{}", good.stdout, good.stderr);
    assert_eq!(good.json["data"]["runner_table"], "golang-migrate");
    assert_eq!(
        good.json["data"]["pending"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(good.check("dryrun.rollback")["result"], "ok");
    let bad = run(&[
        "dry-run",
        "--database-url",
        &url,
        "examples/bad-release/migrations",
    ]);
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert!(has_lock(
        statement(&bad, "CREATE INDEX orders_status"),
        "orders",
        "ShareLock"
    ));
    let widen = statement(&bad, "TYPE bigint");
    assert!(has_lock(widen, "orders", "AccessExclusiveLock"));
    assert_eq!(widen["rewrites"], serde_json::json!(["orders"]));
    let locks: Vec<&serde_json::Value> = bad.checks("dryrun.blocking_lock");
    assert_eq!(locks.len(), 2, "{:#}", bad.json);
    assert!(locks.iter().all(|c| c["result"] == "fail"));
}

#[test]
fn templated_files_must_be_rendered_before_a_dry_run() {
    let pg = seeded(1);
    let dir = tree(&[(
        "0001_a.up.sql",
        "CREATE TABLE {{ index .Options \"Namespace\" }}.x (id bigint);\n",
    )]);
    let r = run(&[
        "dry-run",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("0001_a.up.sql:1:14: Go template placeholder"),
        "{}",
        r.stderr
    );
    pg.psql("app", "CREATE SCHEMA auth");
    let r = run(&[
        "dry-run",
        "--template-var",
        "Namespace=auth",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn a_runaway_statement_is_cancelled_by_statement_timeout() {
    let pg = seeded(1);
    let dir = tree(&[("0001_slow.up.sql", "SELECT pg_sleep(60);\n")]);
    let r = run(&[
        "dry-run",
        "--statement-timeout",
        "300ms",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let apply = r.check("dryrun.apply");
    assert!(
        apply["message"]
            .as_str()
            .unwrap_or("")
            .contains("statement timeout (57014)"),
        "{apply:#}"
    );
    assert_eq!(copies_left(&pg), "");
}

/// Runs `migration-gate ARGS --format json` as a child and waits at most `bound` for it: the
/// bugs these tests pin down hung forever, so a run past the bound is killed and fails.
fn run_bounded(args: &[&str], bound: Duration) -> (Option<i32>, serde_json::Value, String) {
    let child = command(args)
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    wait_bounded(child, bound)
}

fn wait_bounded(
    mut child: std::process::Child,
    bound: Duration,
) -> (Option<i32>, serde_json::Value, String) {
    let started = Instant::now();
    while child.try_wait().expect("waits").is_none() {
        if started.elapsed() > bound {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "still running after {bound:?} (killed); stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code(),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 21 row 1: `connect_timeout` covered only the TCP connect, so a listener that accepts
/// and says nothing (or drips a byte a second) held the run until CI's job timeout. Now the
/// whole connect, handshake included, has the deadline: the URL's, `--connect-timeout`, or
/// the documented 10 s default.
#[test]
fn a_server_that_accepts_and_never_answers_is_exit_2_within_the_connect_timeout() {
    let dir = tree(&[("0001_a.up.sql", "SELECT 1;\n")]);
    for mode in [testkit::Silence::Mute, testkit::Silence::Drip] {
        let silent = testkit::SilentServer::start(mode);
        let url = format!("postgres://app:pw@127.0.0.1:{}/app", silent.port());
        let flagged = url.clone();
        let in_url = format!("{url}?connect_timeout=2");
        for args in [
            vec![
                "dry-run",
                "--connect-timeout",
                "2s",
                "--database-url",
                &flagged,
                path_str(dir.path()),
            ],
            vec!["dry-run", "--database-url", &in_url, path_str(dir.path())],
        ] {
            let started = Instant::now();
            let (code, json, stderr) = run_bounded(&args, Duration::from_secs(30));
            assert_eq!(code, Some(2), "{mode:?}: {stderr}");
            assert_eq!(json["error"]["kind"], "unreachable", "{json:#}");
            assert!(
                stderr.contains("no PostgreSQL handshake within 2s"),
                "{mode:?}: {stderr}"
            );
            assert!(!stderr.contains("pw@"), "{stderr}");
            assert!(started.elapsed() < Duration::from_secs(30));
        }
        assert!(silent.accepted() >= 2, "the tool never connected");
    }
    // The default (10 s) covers the handshake too.
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let url = format!("postgres://app:pw@127.0.0.1:{}/app", silent.port());
    let (code, json, stderr) = run_bounded(
        &["dry-run", "--database-url", &url, path_str(dir.path())],
        Duration::from_secs(40),
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(json["error"]["kind"], "unreachable");
    assert!(stderr.contains("within 10s"), "{stderr}");
}

/// The migrations of the release example applied to database `shop` (golang-migrate's
/// `schema_migrations` says 0003).
fn shop() -> Postgres {
    let pg = Postgres::start();
    pg.create_db("shop");
    for f in [
        "release/migrations/0001_create_customers.up.sql",
        "release/migrations/0002_create_orders.up.sql",
        "release/migrations/0003_create_order_items.up.sql",
        "release/migration-gate-seed.sql",
    ] {
        let sql = std::fs::read_to_string(examples().join(f)).expect("example");
        pg.psql("shop", &sql);
    }
    pg
}

/// An idle session on `db`, held open until dropped (a live application's pool).
struct Session(std::process::Child);

impl Session {
    fn open(pg: &Postgres, db: &str) -> Session {
        let child = std::process::Command::new(pg.bin_dir().join("psql"))
            .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres"])
            .args(["-p", &pg.port().to_string(), "-d", db])
            .env("PGPASSWORD", pg.password())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql");
        let started = Instant::now();
        while pg.psql(
            "postgres",
            &format!(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = 'psql'"
            ),
        ) != "1"
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the session never connected"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Session(child)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Issue 21 row 3: a live source always has other sessions, so `--copy auto` falls back to a
/// schema-only copy; that copy had no rows in the migrations table, every migration was
/// pending again, and the first failed with `relation "customers" already exists` (42P07):
/// every good release failed. The schema copy now carries the migrations table's rows.
#[test]
fn a_busy_source_with_applied_migrations_dry_runs_a_good_release_ok() {
    let pg = shop();
    let _app = Session::open(&pg, "shop");
    let url = pg.url("shop");
    for copy in ["auto", "schema"] {
        let r = run(&[
            "dry-run",
            "--copy",
            copy,
            "--database-url",
            &url,
            "examples/release/migrations",
        ]);
        assert_eq!(r.code, 0, "--copy {copy}: {}\n{}", r.stdout, r.stderr);
        assert_eq!(r.json["data"]["copy"]["method"], "schema");
        assert_eq!(r.json["data"]["runner_table"], "golang-migrate");
        assert_eq!(
            r.json["data"]["pending"].as_array().map(Vec::len),
            Some(4),
            "{:#}",
            r.json["data"]
        );
        let copy_check = r.check("dryrun.copy");
        assert_eq!(copy_check["result"], "warn");
        assert!(
            copy_check["message"]
                .as_str()
                .unwrap_or("")
                .contains("public.schema_migrations"),
            "{copy_check:#}"
        );
        assert_eq!(r.check("dryrun.apply")["result"], "ok");
        assert_eq!(copies_left(&pg), "");
    }
}

/// Issue 21 row 2: SIGINT (or SIGTERM) during `--with-load` left the load sessions running;
/// once the copy was dropped under them each query failed at once, without yielding, and
/// the single-threaded runtime spun at 100 % CPU forever with no report.
#[test]
fn sigint_and_sigterm_during_with_load_end_with_a_report_and_no_copy() {
    let pg = seeded(1000);
    let dir = tree(&[(
        "0001_slow.up.sql",
        "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN note text;\nSELECT pg_sleep(20);\n",
    )]);
    let url = pg.url("app");
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let child = command(&[
            "dry-run",
            "--format",
            "json",
            "--with-load",
            "4",
            "--database-url",
            &url,
            path_str(dir.path()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
        // The slow statement runs and the four load sessions are connected to the copy.
        let started = Instant::now();
        while pg.psql(
            "postgres",
            "SELECT count(*) FILTER (WHERE query LIKE '%pg_sleep(20)%') = 1 AND count(*) FILTER (WHERE query LIKE '/* mg-load%') = 4 \
             FROM pg_stat_activity WHERE datname LIKE 'mg_dryrun_%'",
        ) != "t"
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the load never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        crate::signal(child.id(), sig);
        let (code, json, stderr) = wait_bounded(child, Duration::from_secs(30));
        assert_eq!(code, Some(2), "{stderr}");
        assert_eq!(json["error"]["kind"], "interrupted", "{json:#}");
        assert_eq!(json["result"], "error");
        let message = json["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains("dropped"), "{message}");
        assert_eq!(copies_left(&pg), "");
    }
}

/// Issue 21 row 4: a migration backend terminated mid-statement was judged `fail` (exit 1),
/// with `dryrun.rewrite` and `dryrun.blocking_lock` "ok" for statements never measured. Now:
/// error (exit 2, `connection_lost`), the unmeasured checks skip, and the copy is dropped.
#[test]
fn a_backend_terminated_mid_run_is_an_error_with_unmeasured_checks_skipped() {
    let pg = seeded(1000);
    let dir = tree(&[(
        "0001_slow.up.sql",
        "SET lock_timeout = '1s';\nALTER TABLE accounts ADD COLUMN note text;\nSELECT pg_sleep(60);\nALTER TABLE accounts ALTER COLUMN balance TYPE bigint;\n",
    )]);
    let child = command(&[
        "dry-run",
        "--format",
        "json",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("runs");
    let started = Instant::now();
    while pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'mg_dryrun_%' AND query LIKE '%pg_sleep(60)%'",
    ) != "1"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the dry run never reached the slow statement"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pg.psql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname LIKE 'mg_dryrun_%' AND query LIKE '%pg_sleep(60)%'",
    );
    let (code, json, stderr) = wait_bounded(child, Duration::from_secs(30));
    assert_eq!(code, Some(2), "{stderr}\n{json:#}");
    assert_eq!(json["result"], "error");
    assert_eq!(json["error"]["kind"], "connection_lost", "{json:#}");
    assert!(stderr.contains("connection lost during"), "{stderr}");
    let check = |id: &str| {
        json["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no {id}: {json:#}"))
    };
    for id in [
        "dryrun.rewrite",
        "dryrun.blocking_lock",
        "dryrun.apply",
        "dryrun.rollback",
    ] {
        assert_eq!(check(id)["result"], "skip", "{id}: {json:#}");
    }
    assert_eq!(check("dryrun.cleanup")["result"], "ok");
    assert_eq!(copies_left(&pg), "");
}

/// Issue 21 row 4, the server itself going away: error (exit 2), the copy named for removal;
/// a copy left so is dropped by the next run (found by its name prefix), and a copy kept with
/// `--keep-copy` is not.
#[test]
fn a_server_that_dies_mid_run_is_an_error_and_the_next_run_drops_the_copy_left() {
    let pg = seeded(10);
    let dir = tree(&[("0001_slow.up.sql", "SELECT pg_sleep(60);\n")]);
    let child = command(&[
        "dry-run",
        "--format",
        "json",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("runs");
    let started = Instant::now();
    while pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'mg_dryrun_%' AND query LIKE '%pg_sleep(60)%'",
    ) != "1"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the dry run never reached the slow statement"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Immediate shutdown: every backend is gone at once, as in a crash.
    crate::signal(pg.pid(), libc::SIGQUIT);
    let (code, json, stderr) = wait_bounded(child, Duration::from_secs(60));
    assert_eq!(code, Some(2), "{stderr}\n{json:#}");
    assert_eq!(json["result"], "error");
    assert_eq!(json["error"]["kind"], "connection_lost", "{json:#}");
    let cleanup = json["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "dryrun.cleanup"))
        .cloned()
        .unwrap_or_default();
    let message = cleanup["message"].as_str().unwrap_or("");
    assert!(
        message.contains("mg_dryrun_") && message.contains("the next dry run"),
        "{cleanup:#}"
    );

    // The next run against a server with such leftovers drops them, and only them.
    let pg = seeded(10);
    pg.create_db("mg_dryrun_1_deadbeef");
    pg.create_db("mg_kept_1_cafe");
    let dir = tree(&[("0001_a.up.sql", "SELECT 1;\n")]);
    let r = run(&[
        "dry-run",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let cleanup = r.check("dryrun.cleanup");
    assert!(
        cleanup["message"]
            .as_str()
            .unwrap_or("")
            .contains("mg_dryrun_1_deadbeef"),
        "{cleanup:#}"
    );
    assert_eq!(copies_left(&pg), "");
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'mg_kept_1_cafe'"
        ),
        "1"
    );
}

/// `pid` and every process whose parent it is (a PostgreSQL cluster: postmaster and backends).
fn process_tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // `pid (comm) state ppid ...`: comm may hold spaces, so read after its `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Issue 21 row 1, mid-run: a server that stops answering after the handshake (every
/// process of the cluster stopped with SIGSTOP: nothing can time out on the server side).
/// The client-side deadline (`--query-timeout`) ends the run with exit 2, `timeout`.
#[test]
fn a_server_that_stops_answering_mid_run_is_exit_2_within_the_query_timeout() {
    let pg = seeded(10);
    let dir = tree(&[("0001_slow.up.sql", "SELECT pg_sleep(60);\n")]);
    let child = command(&[
        "dry-run",
        "--format",
        "json",
        "--query-timeout",
        "2s",
        "--database-url",
        &pg.url("app"),
        path_str(dir.path()),
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("runs");
    let started = Instant::now();
    while pg.psql(
        "postgres",
        "SELECT count(*) FROM pg_stat_activity WHERE datname LIKE 'mg_dryrun_%' AND query LIKE '%pg_sleep(60)%'",
    ) != "1"
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the dry run never reached the slow statement"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let cluster = process_tree(pg.pid());
    for &p in &cluster {
        crate::signal_if_alive(p, libc::SIGSTOP);
    }
    let outcome = std::panic::catch_unwind(|| wait_bounded(child, Duration::from_secs(60)));
    for &p in &cluster {
        crate::signal_if_alive(p, libc::SIGCONT);
    }
    let (code, json, stderr) = outcome.expect("the run ended in time");
    assert_eq!(code, Some(2), "{stderr}\n{json:#}");
    assert_eq!(json["error"]["kind"], "timeout", "{json:#}");
    assert!(stderr.contains("no answer within 2s"), "{stderr}");
    let result = |id: &str| {
        json["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == id))
            .map(|c| c["result"].clone())
            .unwrap_or_default()
    };
    assert_eq!(result("dryrun.rewrite"), "skip");
    assert_eq!(result("dryrun.blocking_lock"), "skip");
    // The copy could not be dropped on a stopped server. (Resumed, the server may still run
    // the DROP ... WITH (FORCE) that reached it, or the next run drops the copy: see
    // a_server_that_dies_mid_run_is_an_error_and_the_next_run_drops_the_copy_left.)
    assert_eq!(result("dryrun.cleanup"), "fail");
    let r = run(&[
        "dry-run",
        "--database-url",
        &pg.url("app"),
        path_str(tree(&[("0001_a.up.sql", "SELECT 1;\n")]).path()),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let started = Instant::now();
    while !copies_left(&pg).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "copies left: {}",
            copies_left(&pg)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
