//! Bad input: one line, exit 2, nothing touched — a config without allow_destructive or
//! targets, an unreachable replica, a missing pg_ctl on PATH.

use std::path::Path;

use testkit::Postgres;

use crate::run;

fn config(dir: &Path, text: &str) -> String {
    let p = dir.join("drill.yaml");
    std::fs::write(&p, text).expect("write");
    p.to_str().expect("utf-8").to_owned()
}

fn pg_section(primary: &str, data: &Path, replica: &str) -> String {
    format!(
        "postgres:\n  method: local\n  primary: {{url: \"{primary}\", data_dir: \"{}\"}}\n  replica: {{url: \"{replica}\", data_dir: \"{}\"}}\n",
        data.display(),
        data.display()
    )
}

fn still_primary(pg: &Postgres) {
    assert_eq!(pg.psql("postgres", "SELECT pg_is_in_recovery()"), "f");
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT to_regclass('dr_drill_heartbeat') IS NULL"
        ),
        "t",
        "the heartbeat table was created: something was touched"
    );
}

#[test]
fn a_config_without_allow_destructive_or_targets_touches_nothing() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let section = pg_section(&pg.url("postgres"), pg.data_dir(), &pg.url("postgres"));
    for (text, needle) in [
        (
            format!("name: x\ntargets: {{rto: 1m, rpo: 1m}}\n{section}"),
            "allow_destructive",
        ),
        (
            format!("name: x\nallow_destructive: false\ntargets: {{rto: 1m, rpo: 1m}}\n{section}"),
            "allow_destructive",
        ),
        (
            format!("name: x\nallow_destructive: true\n{section}"),
            "targets",
        ),
        (
            format!("name: x\nallow_destructive: true\ntargets: {{rto: soon, rpo: 1m}}\n{section}"),
            "targets.rto",
        ),
        (
            format!(
                "name: x\nallow_destructive: true\ntargets: {{rto: 1m, rpo: 1m}}\nbogus: 1\n{section}"
            ),
            "bogus",
        ),
    ] {
        let cfg = config(dir.path(), &text);
        for cmd in ["failover", "cutback"] {
            let r = run([cmd, "--config", &cfg]);
            assert_eq!(r.code, 2, "{text}\n{}", r.stderr);
            assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
            assert!(r.stderr.contains(needle), "{needle}: {}", r.stderr);
            assert!(r.stderr.contains("drill.yaml"), "{}", r.stderr);
        }
    }
    still_primary(&pg);
}

#[test]
fn an_unreachable_replica_touches_nothing() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = testkit::free_port();
    let replica = format!("postgres://postgres:secret@127.0.0.1:{port}/postgres");
    let cfg = config(
        dir.path(),
        &format!(
            "name: x\nallow_destructive: true\ntargets: {{rto: 1m, rpo: 1m}}\n{}",
            pg_section(&pg.url("postgres"), pg.data_dir(), &replica)
        ),
    );
    let path = format!(
        "{}:{}",
        pg.bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = testkit::cli::Cmd::new(crate::bin())
        .args(["failover", "--config", &cfg, "--format", "json"])
        .env("PATH", path)
        .validate_stdout()
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("127.0.0.1:{port}")),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret"), "{}", r.stderr);
    assert_eq!(r.report()["error"]["kind"], "unreachable");
    still_primary(&pg);
}

#[test]
fn a_missing_pg_ctl_names_the_binary_and_setup() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = tempfile::tempdir().expect("empty PATH dir");
    let cfg = config(
        dir.path(),
        &format!(
            "name: x\nallow_destructive: true\ntargets: {{rto: 1m, rpo: 1m}}\n{}",
            pg_section(&pg.url("postgres"), pg.data_dir(), &pg.url("postgres"))
        ),
    );
    let r = testkit::cli::Cmd::new(crate::bin())
        .args(["failover", "--config", &cfg, "--format", "json"])
        .env("PATH", empty.path())
        .validate_stdout()
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("pg_ctl not found"), "{}", r.stderr);
    assert!(r.stderr.contains("scripts/setup.sh"), "{}", r.stderr);
    assert_eq!(r.report()["error"]["kind"], "missing_binary");
    // pg_basebackup for restore and pg_verifybackup for freshness the same way.
    let verify = dir.path().join("verify.yaml");
    std::fs::write(&verify, "queries: [{name: n, sql: SELECT 1, equals: 1}]\n").expect("write");
    let backup = dir.path().join("base");
    std::fs::create_dir(&backup).expect("mkdir");
    std::fs::write(backup.join("backup_manifest"), "{}").expect("write");
    let r = testkit::cli::Cmd::new(crate::bin())
        .args(["restore", "--backup-dir", backup.to_str().expect("utf-8")])
        .args(["--verify", verify.to_str().expect("utf-8")])
        .env("PATH", empty.path())
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("postgres not found") && r.stderr.contains("scripts/setup.sh"),
        "{}",
        r.stderr
    );
    let r = testkit::cli::Cmd::new(crate::bin())
        .args(["restore", "--pgbackrest-stanza", "main"])
        .args(["--verify", verify.to_str().expect("utf-8")])
        .env("PATH", empty.path())
        .run();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("pgbackrest not found"), "{}", r.stderr);
    still_primary(&pg);
}

#[test]
fn servers_that_accept_and_never_answer_are_an_error_within_the_deadline() {
    let silent = testkit::SilentServer::start(testkit::Silence::Mute);
    for url in [
        format!("postgres://postgres@{}/postgres", silent.addr()),
        format!("redis://{}", silent.addr()),
    ] {
        let flag = if url.starts_with("redis") {
            "--redis-url"
        } else {
            "--database-url"
        };
        let t0 = std::time::Instant::now();
        let r = testkit::cli::Cmd::new(crate::bin())
            .args(["freshness", flag, &url, "--connect-timeout", "1s"])
            .args(["--format", "json"])
            .validate_stdout()
            .run();
        assert_eq!(r.code, 2, "{url}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{url}: {}", r.stderr);
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(30),
            "{url}: took {:?}",
            t0.elapsed()
        );
    }
}
