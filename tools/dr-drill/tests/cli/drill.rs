//! `failover` and `cutback` on a real primary and streaming replica (testkit::PgPair).

use testkit::{PgPair, PgPairOptions};

use crate::{pair_config, run_with};

#[test]
fn slow_sync_failover_loses_nothing_and_cutback_restores_the_topology() {
    let pair = PgPair::start(PgPairOptions::default().synchronous(true));
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = pair_config(dir.path(), &pair, "");
    let bin = pair.primary().bin_dir().to_path_buf();

    let r = run_with(
        ["failover", "--config", cfg.to_str().expect("utf-8 path")],
        Some(&bin),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    let data = &r.report()["data"];
    assert!(
        data["rto_seconds"].as_f64().expect("present") > 0.0,
        "{data:#}"
    );
    assert_eq!(data["rpo_transactions"], 0, "{data:#}");
    assert_eq!(data["rpo_seconds"], 0, "{data:#}");
    assert!(
        data["heartbeats"]["acknowledged_by_old_primary"]
            .as_u64()
            .expect("present")
            > 0,
        "{data:#}"
    );
    let steps: Vec<&str> = data["timeline"]
        .as_array()
        .expect("present")
        .iter()
        .map(|s| s["step"].as_str().expect("present"))
        .collect();
    for want in ["precheck", "t0_cut", "promote", "first_write_new_primary"] {
        assert!(steps.contains(&want), "{steps:?}");
    }
    // The old primary is down, the replica takes writes.
    assert!(pair.try_psql_primary("postgres", "SELECT 1").is_err());
    assert_eq!(
        pair.try_psql_replica("postgres", "SELECT pg_is_in_recovery()")
            .expect("present"),
        "f"
    );

    let r = run_with(
        ["cutback", "--config", cfg.to_str().expect("utf-8 path")],
        Some(&bin),
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    assert_eq!(
        r.check("drill.topology")["result"],
        "ok",
        "{}",
        r.failures()
    );
    assert_eq!(r.report()["data"]["rpo_transactions"], 0);
    // The original topology serves writes again.
    pair.primary().psql(
        "postgres",
        "CREATE TABLE after_cutback (x int); INSERT INTO after_cutback VALUES (1)",
    );
    pair.wait_replica("SELECT count(*) FROM after_cutback", "1");
    assert_eq!(
        pair.try_psql_replica("postgres", "SELECT pg_is_in_recovery()")
            .expect("present"),
        "t"
    );
}

#[test]
fn slow_async_failover_under_load_loses_acknowledged_heartbeats() {
    // Asynchronous replication, a delayed replica, and commits acknowledged before their WAL
    // is flushed (synchronous_commit = off, testkit's default, with a long wal_writer_delay):
    // what the primary acknowledged in its last moments never reached the replica.
    let pair = PgPair::start(
        PgPairOptions::default()
            .apply_delay("2s")
            .primary_conf("wal_writer_delay = '10s'")
            .primary_conf("wal_writer_flush_after = 0"),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = pair_config(dir.path(), &pair, "");
    let bin = pair.primary().bin_dir().to_path_buf();
    let r = run_with(
        [
            "failover",
            "--config",
            cfg.to_str().expect("utf-8 path"),
            "--rpo",
            "0s",
        ],
        Some(&bin),
    );
    // The RPO target of 0 s fails; the RTO target (60 s) holds.
    assert_eq!(r.code, 1, "{}\n{}", r.stderr, r.failures());
    assert_eq!(r.check("drill.rpo")["result"], "fail");
    assert_eq!(r.check("drill.rto")["result"], "ok");
    let data = &r.report()["data"];
    assert!(
        data["rpo_transactions"].as_u64().expect("a count") > 0,
        "{data:#}"
    );
    assert!(
        data["rpo_seconds"].as_f64().expect("seconds") > 0.0,
        "{data:#}"
    );
    assert!(
        data["rto_seconds"].as_f64().expect("seconds") > 0.0,
        "{data:#}"
    );
}
