//! The same commands against a real 3-master Redis Cluster (testkit), including while the
//! stream's slot is being resharded (`redis-cli --cluster reshard`): MOVED/ASK redirects are
//! followed and nothing is lost or doubled.

use std::time::Duration;

use crate::dlq::{assert_each_once, fill_dlq_on, values};
use crate::replay::{SINK_DDL, T0};
use crate::{command, data, events, run, xadd};

/// CRC16/XMODEM of the key's hash tag, mod 16384: Redis Cluster's key slot.
fn slot(key: &str) -> u16 {
    let tag = match (key.find('{'), key.find('}')) {
        (Some(a), Some(b)) if b > a + 1 => &key[a + 1..b],
        _ => key,
    };
    let mut crc: u16 = 0;
    for &byte in tag.as_bytes() {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc % 16384
}

/// A URL the tests' own reader (dlq::values) opens with the cluster client.
fn cluster_url(c: &testkit::RedisCluster) -> String {
    let urls: Vec<String> = c
        .ports()
        .iter()
        .map(|p| format!("redis://127.0.0.1:{p}"))
        .collect();
    format!("cluster={}", urls.join(","))
}

#[test]
fn slots_are_computed_as_redis_does() {
    // From the Redis Cluster specification's examples.
    assert_eq!(slot("123456789"), 0x31C3);
    assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
}

#[test]
fn slow_lag_triage_redrive_replay_and_verify_work_on_a_cluster() {
    let cluster = testkit::RedisCluster::start();
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let url = cluster.url();
    let (stream, dlq) = ("{ev}:events", "{ev}:events:dlq");
    let (owner, _) = cluster.owner_of(cluster.slot_of(stream));
    // The first node may not own the slot: the cluster client must find it.
    xadd(owner, stream, &events(7, 2000, T0, &["acme", "globex"]));
    cluster.cli(&["XGROUP", "CREATE", stream, "g", "0"]);
    cluster.cli(&["XGROUP", "CREATE", "{other}:events", "g", "0", "MKSTREAM"]);

    let r = run([
        "lag",
        "--redis-url",
        &url,
        "--stream",
        stream,
        "--group",
        "g",
        "--max-lag",
        "1000d",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["cluster"], true);
    assert_eq!(data(&r)["groups"][0]["undelivered"], 2000);
    let r = run([
        "lag",
        "--redis-url",
        &url,
        "--stream",
        "{*}:events",
        "--group",
        "g",
        "--max-lag",
        "1000d",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        data(&r)["groups"].as_array().map(Vec::len),
        Some(2),
        "{}",
        r.stdout
    );

    // dlq claim: a consumer took 3 entries and failed them 3 times; they move to the DLQ in
    // one script each (stream and DLQ share the hash tag, so one slot).
    cluster.cli(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "c1",
        "COUNT",
        "3",
        "STREAMS",
        stream,
        ">",
    ]);
    for _ in 0..2 {
        cluster.cli(&["XREADGROUP", "GROUP", "g", "c1", "STREAMS", stream, "0"]);
    }
    std::thread::sleep(Duration::from_millis(150));
    let r = run([
        "dlq",
        "claim",
        "--redis-url",
        &url,
        "--stream",
        stream,
        "--group",
        "g",
        "--dlq",
        dlq,
        "--min-idle",
        "100ms",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["moved"].as_array().map(Vec::len), Some(3));
    assert_eq!(values(&cluster_url(&cluster), dlq, "origin_id").len(), 3);
    cluster.cli(&["DEL", dlq]);

    fill_dlq_on(owner, dlq, 40);
    let r = run(["dlq", "triage", "--redis-url", &url, "--dlq", dlq]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["entries"], 40);
    let r = run([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        dlq,
        "--to",
        "{ev}:redriven",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_each_once(&cluster_url(&cluster), dlq, "{ev}:redriven", 40);
    // A target in another slot cannot be one atomic step: refused before anything moves.
    fill_dlq_on(owner, dlq, 3);
    let r = run([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        dlq,
        "--to",
        "elsewhere",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert_eq!(r.json["error"]["kind"], "cross_slot");

    let sink = pg.url("postgres");
    let window = [
        "--redis-url",
        &url,
        "--stream",
        stream,
        "--tenant",
        "acme",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2026-01-01T01:00:00Z",
        "--sink",
        &sink,
    ];
    let r = run(std::iter::once("replay").chain(window));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(data(&r)["inserted"], 1000);
    let v = run(std::iter::once("verify").chain(window));
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
}

#[test]
fn slow_replay_redrive_lag_and_triage_follow_a_resharding_of_the_streams_slot() {
    let cluster = testkit::RedisCluster::start();
    let pg = testkit::Postgres::start();
    pg.psql("postgres", SINK_DDL);
    let url = cluster.url();
    // A hash tag near the start of its master's range, so resharding the lowest slots of
    // that master moves it after only a few empty ones.
    let tag = (0..10_000)
        .map(|i| format!("{{r{i}}}"))
        .find(|t| {
            let s = slot(t);
            [0u16, 5461, 10923]
                .iter()
                .any(|start| (*start..start + 20).contains(&s))
        })
        .expect("a tag in the first 20 slots of a master");
    let s = slot(&tag);
    let (owner, first) = cluster.owner_of(s);
    let target = cluster
        .ports()
        .into_iter()
        .find(|p| *p != owner)
        .expect("another master");
    let (archive, dlq, to) = (
        format!("{tag}:archive"),
        format!("{tag}:dlq"),
        format!("{tag}:events"),
    );
    const N: usize = 30_000;
    xadd(owner, &archive, &events(8, N, T0, &["acme"]));
    fill_dlq_on(owner, &dlq, 1000);
    // For lag and triage while the slot moves: a group that reads nothing (its backlog stays
    // N) and a DLQ of the same slot that nobody redrives.
    cluster.cli(&["XGROUP", "CREATE", &archive, "g", "0"]);
    let parked = format!("{tag}:parked");
    fill_dlq_on(owner, &parked, 50);

    let sink = pg.url("postgres");
    let window = vec![
        "--redis-url".to_owned(),
        url.clone(),
        "--stream".into(),
        archive.clone(),
        "--tenant".into(),
        "acme".into(),
        "--from".into(),
        "2026-01-01T00:00:00Z".into(),
        "--to".into(),
        "2026-01-01T01:00:00Z".into(),
        "--sink".into(),
        sink.clone(),
    ];
    let mut replay_args = vec!["replay".to_owned()];
    replay_args.extend(window.iter().cloned());
    replay_args.extend(["--rate".into(), "10000/s".into()]);
    let replay = command(&replay_args)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn replay");
    let redrive = command([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        &dlq,
        "--to",
        &to,
        "--rate",
        "500/s",
    ])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("spawn redrive");
    // lag and triage in a loop until the resharding is over (bounded): each answer whole.
    let resharded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let observer = {
        let (url, archive, parked, done) = (
            url.clone(),
            archive.clone(),
            parked.clone(),
            std::sync::Arc::clone(&resharded),
        );
        std::thread::spawn(move || {
            let mut rounds = Vec::new();
            for _ in 0..300 {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let lag = run([
                    "lag",
                    "--redis-url",
                    &url,
                    "--stream",
                    &archive,
                    "--group",
                    "g",
                    "--max-lag",
                    "1000d",
                ]);
                let triage = run(["dlq", "triage", "--redis-url", &url, "--dlq", &parked]);
                rounds.push((
                    lag.code,
                    data(&lag)["groups"][0]["undelivered"].as_u64(),
                    triage.code,
                    data(&triage)["entries"].as_u64(),
                    format!("{}{}", lag.stderr, triage.stderr),
                ));
                if finished {
                    break;
                }
            }
            rounds
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    cluster.reshard(owner, target, u32::from(s - first) + 1);
    resharded.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(cluster.owner_of(s).0, target, "the slot did not move");
    let rounds = observer.join().expect("lag/triage thread");
    assert!(rounds.len() >= 2, "{rounds:?}");
    for r in &rounds {
        assert_eq!(
            (r.0, r.1, r.2, r.3),
            (0, Some(N as u64), 0, Some(50)),
            "lag or triage during the resharding: {r:?}"
        );
    }

    let out = replay.wait_with_output().expect("replay ends");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("replay report");
    assert_eq!(out.status.code(), Some(0), "{report}");
    let out = redrive.wait_with_output().expect("redrive ends");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("redrive report");
    assert_eq!(out.status.code(), Some(0), "{report}");

    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) || '/' || count(DISTINCT event_id) FROM events_sink"
        ),
        format!("{N}/{N}")
    );
    let mut verify = vec!["verify".to_owned()];
    verify.extend(window);
    let v = run(&verify);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
    assert_each_once(&cluster_url(&cluster), &dlq, &to, 1000);
    assert_eq!(values(&cluster_url(&cluster), &to, "event_id").len(), 1000);
}
