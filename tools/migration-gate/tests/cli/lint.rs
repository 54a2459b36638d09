//! `migration-gate lint`: examples, exit codes, located findings, bad input, layouts,
//! templates, directives and the phase policy.

use crate::{fixtures, path_str, run, run_stdin, snapshot_settings, tree};

#[test]
fn the_release_example_passes() {
    let r = run(&["lint", "examples/release/migrations"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.result(), "ok");
    assert_eq!(r.json["data"]["counts"]["fail"], 0);
    assert_eq!(r.json["data"]["counts"]["migrations"], 7);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
fn the_bad_release_fails_on_the_blocking_index_and_the_type_change() {
    let r = run(&["lint", "examples/bad-release/migrations"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let index = r.check("index.create_blocking");
    assert_eq!(index["result"], "fail");
    assert_eq!(
        index["location"]["file"],
        "examples/bad-release/migrations/0005_index_orders_status_created.up.sql"
    );
    assert_eq!(index["location"]["line"], 2);
    let change = r.check("column.type_change");
    assert_eq!(change["location"]["line"], 2);
    assert!(
        change["message"]
            .as_str()
            .unwrap_or("")
            .contains("from integer")
    );
    snapshot_settings().bind(|| insta::assert_json_snapshot!("lint_bad_release", r.json));
}

#[test]
fn sql_postgresql_rejects_is_exit_2_with_file_line_column_and_the_parsers_message() {
    let dir = tree(&[
        (
            "0001_ok.up.sql",
            "CREATE TABLE t (id bigint PRIMARY KEY);\n",
        ),
        (
            "0002_broken.up.sql",
            "SET lock_timeout = '1s';\nALTER TABLE t ADD COLUMN a text\nALTER TABLE t ADD COLUMN b text;\n",
        ),
    ]);
    let r = run(&["lint", path_str(dir.path())]);
    assert_eq!(r.code, 2);
    let file = dir.path().join("0002_broken.up.sql");
    let expected = format!(
        "migration-gate: {}:3:1: syntax error at or near \"ALTER\"\n",
        file.display()
    );
    assert_eq!(r.stderr, expected);
    assert_eq!(r.result(), "error");
    assert_eq!(r.json["error"]["kind"], "syntax");
    assert_eq!(r.check("sql.parse")["location"]["line"], 3);
}

#[test]
fn binary_and_empty_files_are_handled() {
    let dir = tree(&[("0001_empty.up.sql", "")]);
    std::fs::write(dir.path().join("0002_blob.up.sql"), b"\x00\x01\xff\xfe").expect("write");
    let r = run(&["lint", path_str(dir.path())]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("migration-gate: "), "{}", r.stderr);
    assert!(r.stderr.contains("0002_blob.up.sql:1:"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1);

    let only_empty = tree(&[("0001_empty.up.sql", "-- nothing yet\n")]);
    let r = run(&["lint", path_str(only_empty.path())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn missing_paths_and_empty_directories_are_exit_2() {
    let r = run(&["lint", "/nonexistent/migrations"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("/nonexistent/migrations: cannot read"),
        "{}",
        r.stderr
    );
    let empty = tempfile::tempdir().expect("tmp");
    let r = run(&["lint", path_str(empty.path())]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("no .sql migrations found"),
        "{}",
        r.stderr
    );
}

#[test]
fn stdin_is_one_migration() {
    let r = run_stdin(
        &["lint", "-"],
        Some(b"SET lock_timeout = '1s';\nCREATE INDEX i ON accounts (email);\n"),
    );
    assert_eq!(r.code, 1);
    assert_eq!(
        r.check("index.create_blocking")["location"]["file"],
        "<stdin>"
    );
    assert_eq!(r.check("index.create_blocking")["location"]["line"], 2);
}

#[test]
fn a_missing_down_migration_is_exit_2_with_require_down() {
    let dir = tree(&[
        ("0001_a.up.sql", "CREATE TABLE a (id bigint PRIMARY KEY);\n"),
        ("0001_a.down.sql", "DROP TABLE a;\n"),
        ("0002_b.up.sql", "CREATE TABLE b (id bigint PRIMARY KEY);\n"),
    ]);
    let r = run(&["lint", "--require-down", path_str(dir.path())]);
    assert_eq!(r.code, 2);
    assert_eq!(r.json["error"]["kind"], "missing_down");
    assert!(
        r.stderr
            .ends_with("0002_b.up.sql: no down migration (--require-down)\n"),
        "{}",
        r.stderr
    );
    assert_eq!(run(&["lint", path_str(dir.path())]).code, 0);
}

#[test]
fn unknown_check_ids_and_missing_paths_are_usage_errors() {
    let r = run(&[
        "lint",
        "--disable",
        "index.nope",
        "examples/release/migrations",
    ]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("--disable: unknown check id \"index.nope\""),
        "{}",
        r.stderr
    );
    let r = run(&["lint"]);
    assert_eq!(r.code, 2, "clap usage error");
}

#[test]
fn disable_and_warn_change_the_verdict() {
    let r = run(&[
        "lint",
        "--warn",
        "index.create_blocking,column.type_change",
        "--assume-timeouts",
        "examples/bad-release/migrations",
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.check("index.create_blocking")["result"], "warn");
    let r = run(&[
        "lint",
        "--disable",
        "index.create_blocking",
        "examples/bad-release/migrations",
    ]);
    assert!(r.checks("index.create_blocking").is_empty());
}

#[test]
fn template_placeholders_are_linted_in_place_or_rendered() {
    let dir = tree(&[(
        "20240101000000_add_index.up.sql",
        "CREATE TABLE {{ index .Options \"Namespace\" }}.audit (id bigint PRIMARY KEY);\nCREATE INDEX audit_id ON {{ index .Options \"Namespace\" }}.users (id);\n",
    )]);
    let r = run(&["lint", path_str(dir.path())]);
    let t = r.check("input.template");
    assert_eq!(t["result"], "warn");
    assert_eq!(t["location"]["line"], 1);
    assert_eq!(t["location"]["column"], 14);
    // Columns are those of the file, not of the rendered text.
    let idx = r.check("index.create_blocking");
    assert_eq!(
        (
            idx["location"]["line"].as_u64(),
            idx["location"]["column"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let r = run(&[
        "lint",
        "--template-var",
        "Namespace=auth",
        path_str(dir.path()),
    ]);
    assert_eq!(r.check("input.template")["result"], "ok");
    assert!(
        r.check("index.create_blocking")["message"]
            .as_str()
            .unwrap_or("")
            .contains("auth.users")
    );
}

#[test]
fn diesel_directories_with_metadata_run_without_a_transaction() {
    let dir = tree(&[
        (
            "2024-01-01-000000_create/up.sql",
            "CREATE TABLE crates (id bigint PRIMARY KEY, name text);\n",
        ),
        ("2024-01-01-000000_create/down.sql", "DROP TABLE crates;\n"),
        (
            "2024-02-01-000000_index/up.sql",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS crates_name ON crates (name);\n",
        ),
        (
            "2024-02-01-000000_index/down.sql",
            "DROP INDEX IF EXISTS crates_name;\n",
        ),
        (
            "2024-02-01-000000_index/metadata.toml",
            "run_in_transaction = false\n",
        ),
        (
            "2024-03-01-000000_index2/up.sql",
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS crates_id ON crates (id);\n",
        ),
    ]);
    let r = run(&["lint", path_str(dir.path())]);
    // metadata.toml says 2024-02 runs outside a transaction; 2024-03 has no marker.
    let hits = r.checks("index.concurrently_in_transaction");
    assert_eq!(hits.len(), 1, "{:#}", r.json);
    assert_eq!(hits[0]["result"], "fail");
    assert!(
        hits[0]["location"]["file"]
            .as_str()
            .unwrap_or("")
            .contains("2024-03-01")
    );
    let m = &r.json["data"]["migrations"];
    assert_eq!(m[1]["in_transaction"], false);
    assert_eq!(m[1]["layout"], "directory");
    assert_eq!(m[1]["version"], "20240201000000");
}

#[test]
fn flyway_versions_order_numerically() {
    let dir = tree(&[
        ("V10__later.sql", "CREATE INDEX later ON t (x);\n"),
        (
            "V2__create.sql",
            "CREATE TABLE t (id bigint PRIMARY KEY, x text);\n",
        ),
        ("V1_1__first.sql", "SELECT 1;\n"),
    ]);
    let r = run(&["lint", path_str(dir.path())]);
    let names: Vec<&str> = r.json["data"]["migrations"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(names, ["1.1__first", "2__create", "10__later"]);
    // V10's index is on a table V2 created: an existing table.
    assert_eq!(r.check("index.create_blocking")["result"], "fail");
}

#[test]
fn since_makes_older_migrations_history_only() {
    let r = run(&["lint", "--since", "0004", "examples/bad-release/migrations"]);
    assert_eq!(r.json["data"]["counts"]["judged"], 3);
    let r = run(&["lint", "--since", "0007", "examples/bad-release/migrations"]);
    assert_eq!(r.code, 0, "nothing left to judge");
}

#[test]
fn contract_migrations_need_evidence_under_the_phase_policy() {
    let dir = tree(&[
        (
            "0001_create.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, legacy_name text, name text);\n",
        ),
        (
            "0002_drop_legacy.up.sql",
            "-- migration-gate: phase=contract\nSET lock_timeout = '1s';\nSET statement_timeout = '1min';\nALTER TABLE users DROP COLUMN legacy_name;\n",
        ),
    ]);
    let p = path_str(dir.path());
    // Without the policy a declared contract step is a warning.
    let r = run(&["lint", "--since", "2", p]);
    assert_eq!(r.code, 0);
    assert_eq!(r.check("column.drop")["result"], "warn");
    // The policy needs to know when the expand phase went live.
    let r = run(&["lint", "--since", "2", "--phase-policy", p]);
    assert_eq!(r.code, 1);
    assert!(
        r.check("phase.policy")["message"]
            .as_str()
            .unwrap_or("")
            .contains("no evidence")
    );
    let long_ago = gatehouse::time::Timestamp::now()
        .plus(std::time::Duration::ZERO)
        .unix()
        - 10 * 86_400;
    let at = gatehouse::time::Timestamp::from_unix(long_ago).to_rfc3339();
    let r = run(&[
        "lint",
        "--since",
        "2",
        "--phase-policy",
        "--expand-applied-at",
        &at,
        p,
    ]);
    assert_eq!(r.code, 0, "{:#}", r.json);
    assert_eq!(r.check("phase.policy")["result"], "ok");
    assert!(
        r.check("phase.policy")["message"]
            .as_str()
            .unwrap_or("")
            .contains("no read evidence")
    );
    let recent = gatehouse::time::Timestamp::from_unix(long_ago + 9 * 86_400).to_rfc3339();
    let r = run(&[
        "lint",
        "--since",
        "2",
        "--phase-policy",
        "--expand-applied-at",
        &recent,
        p,
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.check("phase.policy")["limit"], 7 * 86_400);
    // Undeclared, the drop is inferred as contract and fails until declared.
    let undeclared = tree(&[
        (
            "0001_create.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, legacy_name text);\n",
        ),
        (
            "0002_drop.up.sql",
            "SET lock_timeout = '1s';\nSET statement_timeout = '1min';\nALTER TABLE users DROP COLUMN legacy_name;\n",
        ),
    ]);
    let r = run(&["lint", path_str(undeclared.path())]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["data"]["migrations"][1]["phase"], "contract");
    assert_eq!(r.json["data"]["migrations"][1]["phase_source"], "inferred");
    assert_eq!(
        r.json["data"]["migrations"][1]["contract_objects"][0],
        "users.legacy_name"
    );
}

#[test]
fn ignore_directives_suppress_one_statement_and_report_stale_ones() {
    let r = run(&["lint", path_str(&fixtures().join("hazards/ignore.unused"))]);
    // The directory holds bad.sql and good.sql as two plain migrations.
    assert!(r.checks("ignore.unused").len() == 1, "{:#}", r.json);
}

#[test]
fn sarif_and_github_formats_carry_the_locations() {
    let out = crate::command(&[
        "lint",
        "--format",
        "sarif",
        "examples/bad-release/migrations",
    ])
    .output()
    .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif json");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "index.create_blocking")
    );
    let out = crate::command(&[
        "lint",
        "--format",
        "github",
        "examples/bad-release/migrations",
    ])
    .output()
    .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "::error file=examples/bad-release/migrations/0006_widen_orders_total.up.sql,line=2"
        ),
        "{text}"
    );
}

#[test]
fn help_shows_a_runnable_example_for_every_command() {
    for cmd in [
        &["--help"][..],
        &["lint", "--help"],
        &["dry-run", "--help"],
        &["parity", "--help"],
    ] {
        let out = crate::command(cmd).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success());
        assert!(text.contains("migration-gate "), "{text}");
        assert!(text.contains("Exit status: 0 ok"), "{text}");
    }
    let out = crate::command(&["--version"]).output().expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("migration-gate "));
}

#[test]
fn each_directory_named_is_its_own_history() {
    let a = tree(&[
        (
            "0001_init.up.sql",
            "CREATE TABLE users (id bigint PRIMARY KEY, email text);\n",
        ),
        (
            "0002_index.up.sql",
            "SET lock_timeout = '1s';\nSET statement_timeout = '1min';\nCREATE INDEX users_email ON users (email);\n",
        ),
    ]);
    // Same migration names, and a table of the same name created in the *same* migration.
    let b = tree(&[(
        "0001_init.up.sql",
        "CREATE TABLE users (id bigint PRIMARY KEY, email text);\nCREATE INDEX users_email ON users (email);\n",
    )]);
    let r = run(&["lint", path_str(a.path()), path_str(b.path())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let hits = r.checks("index.create_blocking");
    assert_eq!(hits.len(), 1, "{:#}", r.json);
    assert!(
        hits[0]["location"]["file"]
            .as_str()
            .unwrap_or("")
            .ends_with("0002_index.up.sql")
    );
    assert_eq!(r.json["data"]["counts"]["migrations"], 3);
}

#[test]
fn the_phase_policy_reads_the_migrations_table_and_pg_stat_statements() {
    let pg = testkit::Postgres::start_with(
        testkit::PgOptions::default().conf("shared_preload_libraries = 'pg_stat_statements'"),
    );
    pg.create_db("app");
    // diesel's table: the expand migration ran 10 days ago; the app still reads the column.
    pg.psql(
        "app",
        "CREATE EXTENSION pg_stat_statements;\n\
         CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY, run_on timestamp NOT NULL DEFAULT now());\n\
         INSERT INTO __diesel_schema_migrations VALUES ('20240101000000', now() - interval '10 days');\n\
         CREATE TABLE users (id bigint PRIMARY KEY, legacy_name text, name text);\n\
         SELECT pg_stat_statements_reset();\n\
         SELECT id, legacy_name FROM users WHERE id = 1;",
    );
    let dir = tree(&[
        (
            "2024-01-01-000000_add_name/up.sql",
            "ALTER TABLE users ADD COLUMN name text;\n",
        ),
        (
            "2024-02-01-000000_drop_legacy_name/up.sql",
            "-- migration-gate: phase=contract\nSET lock_timeout = '1s';\nSET statement_timeout = '1min';\nALTER TABLE users DROP COLUMN legacy_name;\n",
        ),
    ]);
    let url = pg.url("app");
    let r = run(&[
        "lint",
        "--since",
        "20240201000000",
        "--phase-policy",
        "--database-url",
        &url,
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 1, "{:#}", r.json);
    let p = r.check("phase.policy");
    let msg = p["message"].as_str().unwrap_or("");
    assert!(msg.contains("users.legacy_name is still read"), "{msg}");
    assert!(
        msg.contains("after the expand phase went live"),
        "the reset is newer than the expand phase: {msg}"
    );
    assert!(p["observed"].as_u64().unwrap_or(0) >= 9 * 86_400, "{p:#}");
    assert!(!r.stdout.contains(pg.password()));
    // Once nothing reads it any more, age alone decides (and the missing coverage is said).
    pg.psql("app", "SELECT pg_stat_statements_reset();");
    let r = run(&[
        "lint",
        "--since",
        "20240201000000",
        "--phase-policy",
        "--database-url",
        &url,
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 0, "{:#}", r.json);
}

#[test]
fn a_syntax_error_report_names_the_file_line_and_column() {
    let r = run(&["lint", "tools/migration-gate/tests/fixtures/invalid"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stderr,
        "migration-gate: tools/migration-gate/tests/fixtures/invalid/0002_add_author.up.sql:3:1: syntax error at or near \"ALTER\"\n"
    );
    snapshot_settings().bind(|| insta::assert_json_snapshot!("lint_syntax_error", r.json));
}

/// Issue 21 row 14: each statement's first token was found by scanning the file's tokens from
/// the top (and its long identifiers by scanning all of them): 10k statements took 0.7 s,
/// 40k 8.9 s, 100k 63 s (release). Now linear: 40k in about 2.6 s in a debug build. The
/// bound only proves it no longer grows with the square (the quadratic took ~4 min in debug).
#[test]
fn forty_thousand_statements_lint_in_linear_time() {
    let mut sql = String::from("CREATE TABLE t (id bigint);\n");
    for i in 0..40_000 {
        sql.push_str(&format!("-- row {i}\nINSERT INTO t VALUES ({i});\n"));
    }
    let dir = tree(&[("0001_big.up.sql", &sql)]);
    let started = std::time::Instant::now();
    let r = run(&["lint", path_str(dir.path())]);
    let took = started.elapsed();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["data"]["migrations"][0]["statements"], 40_001);
    assert!(
        took < std::time::Duration::from_secs(60),
        "40k statements took {took:?}"
    );
}

/// Issue 21 row 16: a FIFO named `*.sql` in a scanned folder was opened and read, waiting
/// for a writer forever. Now it is skipped (and said at -v); the run ends at once.
#[test]
fn a_fifo_named_sql_in_a_scanned_folder_is_skipped_not_read_forever() {
    let dir = tree(&[("0001_a.up.sql", "SELECT 1;\n")]);
    let fifo = dir.path().join("0002_b.up.sql");
    crate::mkfifo(&fifo);
    // Also a FIFO where diesel's metadata.toml is read.
    let diesel = tempfile::tempdir().expect("tmp");
    std::fs::create_dir(diesel.path().join("2024-01-01-000000_a")).expect("mkdir");
    std::fs::write(
        diesel.path().join("2024-01-01-000000_a/up.sql"),
        "SELECT 1;\n",
    )
    .expect("write");
    crate::mkfifo(&diesel.path().join("2024-01-01-000000_a/metadata.toml"));
    for d in [dir.path(), diesel.path()] {
        let mut child = crate::command(&["lint", "--format", "json", "-v", path_str(d)])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        let started = std::time::Instant::now();
        while child.try_wait().expect("waits").is_none() {
            if started.elapsed() > std::time::Duration::from_secs(30) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("lint {} still reading a FIFO after 30 s", d.display());
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let out = child.wait_with_output().expect("output");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("report");
        assert_eq!(json["data"]["counts"]["migrations"], 1, "{json:#}");
    }
}

/// Issue 21 row 20: migrations sharing a version passed silently, so a runner would apply one
/// and skip the others; so did a folder mixing runners' layouts.
#[test]
fn shared_versions_and_mixed_layouts_fail_at_the_file() {
    let dir = tree(&[
        ("0001_a.up.sql", "SELECT 1;\n"),
        ("1_b.up.sql", "SELECT 1;\n"),
        ("01_c.sql", "SELECT 1;\n"),
    ]);
    let r = run(&["lint", path_str(dir.path())]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let dup = r.check("migration.version_unique");
    assert_eq!(dup["result"], "fail");
    let msg = dup["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("0001_a.up.sql") && msg.contains("1_b.up.sql") && msg.contains("01_c.sql"),
        "{msg}"
    );
    assert_eq!(dup["location"]["line"], 1);
    assert_eq!(r.check("migration.layout_mixed")["result"], "fail");

    let dir = tree(&[
        ("V3__x.sql", "SELECT 1;\n"),
        ("0003_y.up.sql", "SELECT 1;\n"),
        ("0004_z.up.sql", "SELECT 1;\n"),
    ]);
    let r = run(&["lint", path_str(dir.path())]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert_eq!(r.check("migration.version_unique")["result"], "fail");
    let mixed = r.check("migration.layout_mixed");
    assert_eq!(mixed["result"], "fail");
    assert!(
        mixed["location"]["file"]
            .as_str()
            .unwrap_or("")
            .ends_with("V3__x.sql"),
        "{mixed:#}"
    );

    // One layout, distinct versions: both checks pass.
    let dir = tree(&[
        ("0001_a.up.sql", "SELECT 1;\n"),
        ("0001_a.down.sql", "SELECT 1;\n"),
        ("0002_b.up.sql", "SELECT 1;\n"),
    ]);
    let r = run(&["lint", path_str(dir.path())]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.check("migration.version_unique")["result"], "ok");
    assert_eq!(r.check("migration.layout_mixed")["result"], "ok");
    // Already-deployed history (--since) is not judged again.
    let dir = tree(&[
        ("0001_a.up.sql", "SELECT 1;\n"),
        ("1_b.up.sql", "SELECT 1;\n"),
        ("0002_c.up.sql", "SELECT 1;\n"),
    ]);
    let r = run(&["lint", "--since", "2", path_str(dir.path())]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

/// A report written over one of the migrations it read would destroy the input
/// (`gatehouse::input` records every file read; the `--report` writer refuses it).
#[test]
fn the_report_may_not_overwrite_a_migration_it_read() {
    let dir = tree(&[
        ("0001_a.up.sql", "SELECT 1;\n"),
        ("0007_x.up.sql", "SELECT 7;\n"),
    ]);
    let target = dir.path().join("0007_x.up.sql");
    let r = run(&["lint", path_str(dir.path()), "--report", path_str(&target)]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("refusing to write over"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(&target).expect("still there"),
        "SELECT 7;\n"
    );
}

/// Issue 21 row 1 for `lint --phase-policy`, which reads the migrations table: a server that
/// accepts and never answers ends the run at the connect deadline.
#[test]
fn the_phase_policy_gives_up_on_a_silent_server_at_the_connect_timeout() {
    let silent = testkit::SilentServer::start(testkit::Silence::Drip);
    let url = format!("postgres://app:pw@127.0.0.1:{}/app", silent.port());
    let dir = tree(&[(
        "0002_drop.up.sql",
        "-- migration-gate: phase=contract\nALTER TABLE t DROP COLUMN c;\n",
    )]);
    let started = std::time::Instant::now();
    let r = run(&[
        "lint",
        "--phase-policy",
        "--connect-timeout",
        "2s",
        "--database-url",
        &url,
        path_str(dir.path()),
    ]);
    assert_eq!(r.code, 2, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.json["error"]["kind"], "unreachable");
    assert!(
        r.stderr.contains("no PostgreSQL handshake within 2s"),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}
