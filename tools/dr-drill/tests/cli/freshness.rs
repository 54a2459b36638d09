//! `freshness` against real servers: a pg_basebackup directory, pg_stat_archiver with a
//! working and a failing archive_command, a streaming replica (busy and idle), Redis INFO.

use testkit::{PgOptions, PgPair, PgPairOptions, Postgres, Redis, RedisOptions};

use crate::{basebackup, run, run_with};

#[test]
fn slow_a_fresh_valid_backup_passes_and_a_stale_one_fails() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let backup = dir.path().join("base");
    basebackup(&pg, &backup);
    let bin = pg.bin_dir().to_path_buf();
    let b = backup.to_str().expect("utf-8");
    let r = run_with(
        ["freshness", "--backup-dir", b, "--max-backup-age", "1h"],
        Some(&bin),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    assert_eq!(r.check("backup.valid")["result"], "ok");
    // The same backup is stale for a 1 s budget once a second has passed.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = run_with(
        ["freshness", "--backup-dir", b, "--max-backup-age", "1s"],
        Some(&bin),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.check("backup.age")["result"], "fail");
    // A file the manifest does not know: pg_verifybackup refuses the backup.
    std::fs::write(backup.join("base").join("stray"), "x").expect("write");
    std::fs::remove_file(backup.join("PG_VERSION")).expect("remove");
    let r = run_with(
        ["freshness", "--backup-dir", b, "--max-backup-age", "1h"],
        Some(&bin),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.check("backup.valid")["result"], "fail");
}

#[test]
fn pgbackrest_info_json_is_judged_by_its_stop_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let info = |stop: u64| {
        format!(
            r#"[{{"name":"main","status":{{"code":0,"message":"ok"}},
            "archive":[{{"id":"15-1","min":"000000010000000000000001","max":"000000010000000000000009"}}],
            "backup":[{{"label":"20261207-100000F","type":"full","error":false,
              "timestamp":{{"start":{},"stop":{stop}}}}}]}}]"#,
            stop - 60
        )
    };
    let fresh = dir.path().join("fresh.json");
    std::fs::write(&fresh, info(now - 3600)).expect("write");
    let r = run([
        "freshness",
        "--pgbackrest-info",
        fresh.to_str().expect("utf-8"),
        "--max-backup-age",
        "24h",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    let stale = dir.path().join("stale.json");
    std::fs::write(&stale, info(now - 3 * 86_400)).expect("write");
    let r = run([
        "freshness",
        "--pgbackrest-info",
        stale.to_str().expect("utf-8"),
        "--max-backup-age",
        "24h",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.check("backup.age")["result"], "fail");
}

#[test]
fn slow_archiver_failures_fail_and_a_working_archive_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let archive = dir.path().join("wal");
    let good = crate::archiving_postgres(&archive);
    good.psql(
        "postgres",
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1); SELECT pg_switch_wal();",
    );
    // Wait for the archiver to report the segment.
    for _ in 0..100 {
        if good.psql("postgres", "SELECT archived_count FROM pg_stat_archiver") != "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let r = run([
        "freshness",
        "--database-url",
        &good.url("postgres"),
        "--max-wal-lag",
        "5m",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    assert_eq!(r.check("archive.failures")["result"], "ok");

    let bad = Postgres::start_with(
        PgOptions::default()
            .conf("archive_mode = on")
            .conf("archive_command = 'false'"),
    );
    bad.psql(
        "postgres",
        "CREATE TABLE t (x int); SELECT pg_switch_wal();",
    );
    for _ in 0..100 {
        if bad.psql("postgres", "SELECT failed_count FROM pg_stat_archiver") != "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let r = run(["freshness", "--database-url", &bad.url("postgres")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.check("archive.failures")["result"], "fail");
}

#[test]
fn slow_an_idle_primary_s_replica_raises_no_false_alarm() {
    let pair = PgPair::start(PgPairOptions::default());
    pair.primary().psql(
        "postgres",
        "CREATE TABLE t (x int); INSERT INTO t VALUES (1)",
    );
    pair.wait_replica("SELECT count(*) FROM t", "1");
    // Idle for longer than the budget: the last replayed commit grows old, nothing lags.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let on_replica = pair.replica_url("postgres");
    let r = run([
        "freshness",
        "--database-url",
        &on_replica,
        "--max-wal-lag",
        "1s",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    let lag = &r.report()["data"]["postgres"]["replicas"][0];
    assert!(
        lag["last_replay_age_seconds"].as_f64().expect("age") > 1.0,
        "{lag:#}"
    );
    assert_eq!(lag["lag_seconds"], 0.0, "{lag:#}");
    let r = run([
        "freshness",
        "--database-url",
        &pair.primary().url("postgres"),
        "--max-wal-lag",
        "1s",
    ]);
    // archive_mode is off on the testkit primary: that fails, the replica does not.
    assert_eq!(
        r.check("replication.lag")["result"],
        "ok",
        "{}",
        r.failures()
    );
    assert_eq!(r.check("archive.age")["result"], "fail");
}

#[test]
fn slow_a_lagging_delayed_replica_fails_on_the_replica() {
    let pair = PgPair::start(PgPairOptions::default().apply_delay("5s"));
    pair.primary().psql("postgres", "CREATE TABLE t (x int)");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    pair.primary()
        .psql("postgres", "INSERT INTO t SELECT generate_series(1, 1000)");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let r = run([
        "freshness",
        "--database-url",
        &pair.replica_url("postgres"),
        "--max-wal-lag",
        "1s",
        "--max-lag-bytes",
        "1",
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stderr, r.failures());
    assert!(
        !r.checks_with("replication.lag", "fail").is_empty(),
        "{}",
        r.failures()
    );
}

#[test]
fn redis_persistence_is_judged_from_info() {
    let redis = Redis::start_with(RedisOptions::default().persistent(true));
    redis.cli(&["SET", "k", "v"]);
    redis.cli(&["SAVE"]);
    let r = run([
        "freshness",
        "--redis-url",
        &redis.url(),
        "--max-backup-age",
        "1h",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    assert_eq!(r.check("redis.persistence")["result"], "ok");
    assert_eq!(r.check("redis.rdb_age")["result"], "ok");
}
