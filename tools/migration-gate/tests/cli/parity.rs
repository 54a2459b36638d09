//! `migration-gate parity` on a real PostgreSQL: one changed row among a million, missing and
//! extra rows under composite keys, and bad queries.

use testkit::Postgres;

use crate::run;

#[test]
fn finds_the_single_changed_row_among_a_million_and_reports_its_key() {
    let pg = Postgres::start();
    pg.create_db("app");
    pg.psql(
        "app",
        "CREATE TABLE users_old AS SELECT g AS id, 'user' || g || '@example.com' AS email, g % 7 AS plan FROM generate_series(1, 1000000) g;\n\
         CREATE TABLE users_new AS SELECT * FROM users_old;\n\
         UPDATE users_new SET email = 'USER765432@example.com' WHERE id = 765432;",
    );
    let r = run(&[
        "parity",
        "--database-url",
        &pg.url("app"),
        "--old",
        "SELECT id, email, plan FROM users_old",
        "--new",
        "SELECT id, lower(email) AS email, plan FROM users_new",
        "--key",
        "id",
    ]);
    // lower() repairs the changed row on the new path: everything matches.
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["rows"], 1_000_000);
    let r = run(&[
        "parity",
        "--database-url",
        &pg.url("app"),
        "--old",
        "SELECT id, email, plan FROM users_old",
        "--new",
        "SELECT id, email, plan FROM users_new",
        "--key",
        "id",
        "--chunk-size",
        "50000",
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let d = &r.json["data"];
    assert_eq!(d["mismatched"], 1);
    assert_eq!(d["changed"], 1);
    assert_eq!(d["sample"], serde_json::json!(["changed 765432"]));
    assert_eq!(d["chunks"], 20);
    assert_eq!(d["mismatched_chunks"][0]["first_key"], "750001");
    assert_eq!(d["mismatched_chunks"][0]["last_key"], "800000");
    let c = r.check("parity.rows");
    assert_eq!(c["observed"], 0.999_999);
    assert_eq!(c["limit"], 1);
    assert!(c["message"].as_str().unwrap_or("").contains("765432"));
}

#[test]
fn missing_and_extra_rows_under_a_composite_key_count_against_the_budget() {
    let pg = Postgres::start();
    pg.create_db("app");
    pg.psql(
        "app",
        "CREATE TABLE a AS SELECT t AS tenant, g AS id, md5(g::text) AS v FROM generate_series(1, 3) t, generate_series(1, 100) g;\n\
         CREATE TABLE b AS SELECT * FROM a;\n\
         DELETE FROM b WHERE tenant = 2 AND id = 50;\n\
         INSERT INTO b VALUES (3, 101, 'x');",
    );
    let args = |min: &'static str| {
        vec![
            "parity".to_owned(),
            "--database-url".to_owned(),
            pg.url("app"),
            "--old".to_owned(),
            "SELECT tenant, id, v FROM a".to_owned(),
            "--new".to_owned(),
            "SELECT tenant, id, v FROM b;".to_owned(),
            "--key".to_owned(),
            "tenant,id".to_owned(),
            "--min-parity".to_owned(),
            min.to_owned(),
        ]
    };
    let a = args("0.99");
    let r = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}", r.stdout);
    let d = &r.json["data"];
    assert_eq!(d["rows"], 301);
    assert_eq!(d["missing_in_new"], 1);
    assert_eq!(d["only_in_new"], 1);
    assert_eq!(
        d["sample"],
        serde_json::json!(["missing (2,50)", "extra (3,101)"])
    );
    let a = args("1");
    assert_eq!(
        run(&a.iter().map(String::as_str).collect::<Vec<_>>()).code,
        1
    );
}

#[test]
fn bad_queries_and_keys_are_exit_2_with_the_reason() {
    let pg = Postgres::start();
    pg.create_db("app");
    pg.psql(
        "app",
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);",
    );
    let url = pg.url("app");
    let r = run(&[
        "parity",
        "--database-url",
        &url,
        "--old",
        "SELEC id FROM t",
        "--new",
        "SELECT id FROM t",
        "--key",
        "id",
    ]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "migration-gate: --old:1:1: syntax error at or near \"SELEC\"\n"
    );
    let r = run(&[
        "parity",
        "--database-url",
        &url,
        "--old",
        "SELECT id FROM t",
        "--new",
        "SELECT id FROM t",
        "--key",
        "uid",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("comparing --old and --new") && r.stderr.contains("uid"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains(pg.password()));
    let r = run(&[
        "parity",
        "--database-url",
        &url,
        "--old",
        "SELECT id FROM t",
        "--new",
        "SELECT id FROM t",
        "--key",
        "id",
        "--min-parity",
        "1.5",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("--min-parity: 1.5 is not a fraction"),
        "{}",
        r.stderr
    );
}

/// Issue 21 row 19: a raw `@` in the password (`postgres://u:Leak@At4@host/db`) made
/// `At4@host` the host: a DNS lookup of part of the password, printed as the server's name.
/// The userinfo now ends at the last `@` (as URL parsers read it): the login works, and
/// neither half of the password is printed, on success or when the server is unreachable.
#[test]
fn a_raw_at_in_the_password_logs_in_and_never_prints_either_half() {
    let pg = Postgres::start();
    pg.create_db("app");
    pg.psql("app", "CREATE ROLE u LOGIN PASSWORD 'Leak@At4'");
    let url = format!("postgres://u:Leak@At4@127.0.0.1:{}/app", pg.port());
    let args = |url: &str| {
        vec![
            "parity".to_owned(),
            "-vv".to_owned(),
            "--database-url".to_owned(),
            url.to_owned(),
            "--old".to_owned(),
            "SELECT 1 AS id, 'x' AS v".to_owned(),
            "--new".to_owned(),
            "SELECT 1 AS id, 'x' AS v".to_owned(),
            "--key".to_owned(),
            "id".to_owned(),
        ]
    };
    let a = args(&url);
    let r = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains("Leak") && !out.contains("At4"), "{out}");
    }
    // Nothing listens there: the error names 127.0.0.1, the host after the last `@`.
    let port = testkit::free_port();
    let a = args(&format!(
        "postgres://u:Leak@At4@127.0.0.1:{port}/app?connect_timeout=3"
    ));
    let r = run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["error"]["kind"], "unreachable");
    assert!(
        r.stderr.starts_with(&format!(
            "migration-gate: 127.0.0.1:{port}/app: cannot connect"
        )),
        "{}",
        r.stderr
    );
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains("Leak") && !out.contains("At4"), "{out}");
    }
}

/// Issue 21 row 1 for `parity`: the handshake has the connect deadline, and every query a
/// client-side one (`--query-timeout`): a server-side statement_timeout cannot help when the
/// server is silent.
#[test]
fn a_silent_server_and_an_unanswered_query_are_exit_2_within_their_deadlines() {
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    let url = format!("postgres://app:pw@127.0.0.1:{}/app", silent.port());
    let started = std::time::Instant::now();
    let r = run(&[
        "parity",
        "--connect-timeout",
        "2s",
        "--database-url",
        &url,
        "--old",
        "SELECT 1 AS id",
        "--new",
        "SELECT 1 AS id",
        "--key",
        "id",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json["error"]["kind"], "unreachable");
    assert!(r.stderr.contains("no PostgreSQL handshake"), "{}", r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));

    let pg = Postgres::start();
    pg.create_db("app");
    let started = std::time::Instant::now();
    let r = run(&[
        "parity",
        "--query-timeout",
        "2s",
        "--database-url",
        &pg.url("app"),
        "--old",
        "SELECT 1 AS id, pg_sleep(60)::text AS v",
        "--new",
        "SELECT 1 AS id, '' AS v",
        "--key",
        "id",
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["error"]["kind"], "timeout");
    assert!(
        r.stderr.contains("no answer within 2s (--query-timeout)"),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
