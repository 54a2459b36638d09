use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use testkit::{PgOptions, Postgres};

use crate::{assert_cleaned_up, panic_text, uid_of};

#[test]
fn answers_queries_and_is_gone_after_drop() {
    let pg = Postgres::start();
    assert_eq!(pg.psql("postgres", "SELECT 1"), "1");
    pg.psql(
        "postgres",
        "CREATE TABLE t (id int PRIMARY KEY, name text); INSERT INTO t VALUES (1, 'a'), (2, 'b');",
    );
    assert_eq!(
        pg.psql("postgres", "SELECT id, name FROM t ORDER BY id"),
        "1|a\n2|b"
    );
    pg.create_db("app");
    assert_eq!(pg.psql("app", "SELECT current_database()"), "app");
    assert_eq!(
        pg.url("app"),
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/app",
            pg.password(),
            pg.port()
        )
    );
    assert_eq!((pg.host(), pg.user()), ("127.0.0.1", "postgres"));
    assert!(pg.data_dir().join("PG_VERSION").is_file());
    assert!(pg.bin_dir().join("pg_dump").is_file());
    let (pid, dir) = (pg.pid(), temp_dir_of(&pg));
    drop(pg);
    assert_cleaned_up(pid, &dir);
}

#[test]
fn runs_as_nobody_when_tests_run_as_root() {
    let pg = Postgres::start();
    let uid = uid_of(pg.pid());
    if uid_of(std::process::id()) == 0 {
        assert_eq!(uid, 65534, "postgres must not run as root");
    } else {
        assert_eq!(uid, uid_of(std::process::id()));
    }
}

#[test]
fn two_instances_run_side_by_side() {
    let a = Postgres::start();
    let b = Postgres::start();
    assert_ne!(a.port(), b.port());
    assert_ne!(a.data_dir(), b.data_dir());
    a.psql("postgres", "CREATE TABLE only_in_a (x int)");
    assert_eq!(a.psql("postgres", "SELECT count(*) FROM only_in_a"), "0");
    let err = b
        .try_psql("postgres", "SELECT count(*) FROM only_in_a")
        .expect_err("b is a separate cluster");
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn start_with_appends_conf_lines() {
    let pg = Postgres::start_with(
        PgOptions::default()
            .conf("shared_preload_libraries = 'pg_stat_statements'")
            .conf("wal_level = logical"),
    );
    assert_eq!(pg.psql("postgres", "SHOW wal_level"), "logical");
    pg.psql("postgres", "CREATE EXTENSION pg_stat_statements");
    let calls = pg.psql("postgres", "SELECT count(*) > 0 FROM pg_stat_statements");
    assert_eq!(calls, "t");
}

#[test]
fn a_failed_start_quotes_the_server_log_and_cleans_up() {
    let caught = catch_unwind(AssertUnwindSafe(|| {
        Postgres::start_with(PgOptions::default().conf("no_such_setting = 1"))
    }));
    let message = panic_text(&*caught.expect_err("an unknown setting stops postgres"));
    assert!(message.starts_with("testkit: postgres exited"), "{message}");
    assert!(message.contains("no_such_setting"), "{message}");
    let log = message
        .split_once("last lines of ")
        .and_then(|(_, rest)| rest.split_once(":\n"))
        .map(|(path, _)| PathBuf::from(path))
        .expect("the message names the log");
    let dir = log.parent().expect("the log is in the temp dir");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
#[should_panic(expected = "testkit: psql failed in database postgres:")]
fn psql_panics_with_the_error() {
    Postgres::start().psql("postgres", "SELECT * FROM no_such_table");
}

fn temp_dir_of(pg: &Postgres) -> PathBuf {
    let dir = pg.data_dir().parent().expect("data dir is in the temp dir");
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    assert!(name.starts_with("gatehouse-testkit-"), "{}", dir.display());
    dir.to_path_buf()
}
