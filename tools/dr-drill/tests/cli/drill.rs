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

#[test]
fn slow_ctrl_c_mid_drill_stops_the_heartbeat_and_leaves_no_temp_dir() {
    let pair = PgPair::start(PgPairOptions::default());
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = pair_config(dir.path(), &pair, "");
    let tmp = crate::drill_tmp();
    // A long settle: the drill sits after the promotion, heartbeat running, until interrupted.
    let child = std::process::Command::new(crate::bin())
        .args([
            "failover", "--format", "json", "--settle", "10m", "--config",
        ])
        .arg(&cfg)
        .env("PATH", crate::pg_path(pair.primary().bin_dir()))
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn dr-drill");
    pair.wait_replica("SELECT pg_is_in_recovery()", "f");
    pair.wait_replica(
        "SELECT count(*) > 0 FROM dr_drill_heartbeat WHERE written_at > now() - interval '1 second'",
        "t",
    );
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("wait");
    crate::assert_interrupted(&out, tmp.path());
    // The heartbeat stopped with the process: no row arrives afterwards.
    let before = pair
        .try_psql_replica("postgres", "SELECT count(*) FROM dr_drill_heartbeat")
        .expect("count");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let after = pair
        .try_psql_replica("postgres", "SELECT count(*) FROM dr_drill_heartbeat")
        .expect("count");
    assert_eq!(before, after);
}

#[test]
fn slow_commands_method_runs_the_operator_s_steps_and_measures_them() {
    let pair = PgPair::start(PgPairOptions::default().synchronous(true));
    let dir = tempfile::tempdir().expect("temp dir");
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    let as_owner = if root {
        "setpriv --reuid=nobody --regid=nogroup --clear-groups -- "
    } else {
        ""
    };
    let p = pair.primary();
    let text = format!(
        "name: cmd-db\nallow_destructive: true\ntargets: {{rto: 60s, rpo: 5m}}\npostgres:\n  method: commands\n  \
         primary: {{url: \"{}\"}}\n  replica: {{url: \"{}\"}}\n  commands:\n    \
         cut: \"{as_owner}pg_ctl -D {} stop -m immediate -w\"\n    \
         promote: \"psql -X -q -d '{}' -c 'SELECT pg_promote()'\"\n",
        p.url("postgres"),
        pair.replica_url("postgres"),
        p.data_dir().display(),
        pair.replica_url("postgres"),
    );
    let cfg = dir.path().join("drill.yaml");
    std::fs::write(&cfg, text).expect("write config");
    let cfg = cfg.to_str().expect("utf-8");
    let r = run_with(["failover", "--config", cfg], Some(p.bin_dir()));
    assert_eq!(r.code, 0, "{}\n{:#}", r.stderr, r.report());
    let data = &r.report()["data"];
    assert_eq!(data["method"], "commands");
    assert!(
        data["rto_seconds"].as_f64().expect("seconds") > 0.0,
        "{data:#}"
    );
    assert_eq!(data["rpo_transactions"], 0, "{data:#}");
    // No cutback command: refused, nothing touched.
    let r = run_with(["cutback", "--config", cfg], Some(p.bin_dir()));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("commands.cutback"), "{}", r.stderr);
}
