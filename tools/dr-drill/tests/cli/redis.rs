//! The Redis failover drill on a real primary/replica pair.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use testkit::{Redis, RedisOptions};

use crate::run;

/// A primary and a replica linked to it (`master_link_status:up`).
fn linked_pair() -> (Redis, Redis) {
    let primary = Redis::start();
    let replica = Redis::start_with(
        RedisOptions::default()
            .arg("--replicaof")
            .arg("127.0.0.1")
            .arg(primary.port().to_string()),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !replica
        .cli(&["INFO", "replication"])
        .contains("master_link_status:up")
    {
        assert!(Instant::now() < deadline, "the replica never linked");
        std::thread::sleep(Duration::from_millis(100));
    }
    (primary, replica)
}

/// A drill config naming `primary` and `replica` by their roles in it.
fn config(dir: &Path, primary: &Redis, replica: &Redis, heartbeat: &str) -> PathBuf {
    let cfg = dir.join("drill.yaml");
    std::fs::write(
        &cfg,
        format!(
            "name: sessions\nallow_destructive: true\ntargets: {{rto: 30s, rpo: 10s}}\nredis:\n  primary: {{url: \"{}\"}}\n  replica: {{url: \"{}\"}}\n  heartbeat: {heartbeat}\n",
            primary.url(),
            replica.url()
        ),
    )
    .expect("write config");
    cfg
}

#[test]
fn slow_redis_failover_promotes_the_replica_and_measures_rto_and_rpo() {
    let (primary, replica) = linked_pair();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(
        dir.path(),
        &primary,
        &replica,
        "{key: \"dr-drill:hb\", interval: 50ms}",
    );
    let r = run(["failover", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.failures());
    let data = &r.report()["data"];
    assert!(
        data["rto_seconds"].as_f64().expect("seconds") > 0.0,
        "{data:#}"
    );
    assert!(data["rpo_transactions"].as_u64().is_some(), "{data:#}");
    assert!(
        replica
            .cli(&["INFO", "replication"])
            .contains("role:master")
    );
    assert!(replica.cli(&["SET", "after", "1"]).contains("OK"));
}

#[test]
fn slow_redis_cutback_switches_back_without_losing_a_write() {
    // The state after a failover once the old primary is back: it replicates from the
    // promoted one. The config still names them by their original roles.
    let (promoted, original) = linked_pair();
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), &original, &promoted, "{interval: 50ms}");
    let r = run(["cutback", "--config", cfg.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}\n{:#}", r.stderr, r.report());
    assert_eq!(r.report()["data"]["rpo_transactions"], 0);
    assert_eq!(r.check("drill.topology")["result"], "ok");
    assert!(
        original
            .cli(&["INFO", "replication"])
            .contains("role:master")
    );
    assert!(
        promoted
            .cli(&["INFO", "replication"])
            .contains("role:slave")
    );
}
