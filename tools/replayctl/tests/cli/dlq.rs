//! `replayctl dlq triage|claim` and `redrive`: grouping dead letters, and moving them back
//! exactly once through crashes at each step and SIGKILLs at random moments.

use std::time::Duration;

use crate::{command, data, http, run, wait_until};

/// Every value of `field` over the entries of `stream`.
pub fn values(url: &str, stream: &str, field: &str) -> Vec<String> {
    let v: redis::Value = if url.contains("cluster=") {
        let nodes: Vec<String> = url
            .trim_start_matches("cluster=")
            .split(',')
            .map(str::to_owned)
            .collect();
        let client = redis::cluster::ClusterClient::new(nodes).expect("cluster urls");
        let mut c = client.get_connection().expect("connect to the cluster");
        redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query(&mut c)
            .expect("XRANGE")
    } else {
        let client = redis::Client::open(url).expect("url");
        let mut c = client.get_connection().expect("connect");
        redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query(&mut c)
            .expect("XRANGE")
    };
    let mut out = Vec::new();
    let redis::Value::Array(items) = v else {
        return out;
    };
    for it in items {
        let redis::Value::Array(pair) = it else {
            continue;
        };
        let Some(redis::Value::Array(kv)) = pair.get(1) else {
            continue;
        };
        for c in kv.chunks(2) {
            if let [redis::Value::BulkString(k), redis::Value::BulkString(v)] = c
                && k == field.as_bytes()
            {
                out.push(String::from_utf8_lossy(v).into_owned());
            }
        }
    }
    out
}

/// `n` dead letters: tenants and errors taking turns, as the sample service's worker writes them.
pub fn fill_dlq(redis: &testkit::Redis, dlq: &str, n: usize) {
    fill_dlq_on(redis.port(), dlq, n);
}

/// The same on the server at `port` (a cluster's node that owns the DLQ's slot).
pub fn fill_dlq_on(port: u16, dlq: &str, n: usize) {
    let mut input = Vec::new();
    let errors = [
        "sink: invalid input syntax for type json (22P02) at offset 31",
        "timeout after 3000ms writing to 10.0.0.7:5432",
        "timeout after 5012ms writing to 10.0.0.9:5432",
    ];
    for i in 0..n {
        let tenant = if i % 2 == 0 { "acme" } else { "globex" };
        let args = [
            "XADD",
            dlq,
            "*",
            "event_id",
            &format!("dead0000-0000-4000-8000-{i:012x}"),
            "tenant",
            tenant,
            "type",
            "order.created",
            "occurred_at",
            "2026-12-07T10:00:00.000Z",
            "payload",
            "{\"n\":",
            "error",
            errors[i % 3],
            "attempts",
            "3",
            "origin_id",
            &format!("1700000000000-{i}"),
        ];
        input.extend(crate::resp_of(&args));
    }
    crate::pipe(port, &input);
}

/// No entry lost or doubled: the event ids over the DLQ and the stream are exactly the n.
pub fn assert_each_once(url: &str, dlq: &str, to: &str, n: usize) {
    let mut ids = values(url, dlq, "event_id");
    ids.extend(values(url, to, "event_id"));
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (total, ids.len()),
        (n, n),
        "{total} entries, {} distinct; want {n}",
        ids.len()
    );
}

#[test]
fn triage_groups_by_error_class_and_tenant_with_a_markdown_incident_comment() {
    let redis = testkit::Redis::start();
    fill_dlq(&redis, "events:dlq", 30);
    let r = run([
        "dlq",
        "triage",
        "--redis-url",
        &redis.url(),
        "--dlq",
        "events:dlq",
        "--max-entries",
        "10",
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let groups = data(&r)["groups"].as_array().cloned().unwrap_or_default();
    // Two error classes (the two timeouts are one) × two tenants.
    assert_eq!(groups.len(), 4, "{groups:#?}");
    let counts: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
    assert_eq!(counts, 30);
    assert!(
        groups.iter().any(|g| g["error_class"]
            .as_str()
            .is_some_and(|c| c.starts_with("timeout after #"))),
        "{groups:#?}"
    );
    let md = testkit::cli::Cmd::new(crate::bin())
        .args([
            "dlq",
            "triage",
            "--redis-url",
            &redis.url(),
            "--dlq",
            "events:dlq",
            "--format",
            "markdown",
        ])
        .run();
    assert_eq!(md.code, 0, "{}", md.stderr);
    assert!(
        md.stdout.contains("| count | error class |"),
        "{}",
        md.stdout
    );
}

#[test]
fn redrive_moves_the_selected_entries_once_with_their_origin_recorded() {
    let redis = testkit::Redis::start();
    let url = redis.url();
    fill_dlq(&redis, "events:dlq", 12);
    let args = |extra: &[&str]| {
        let mut a = vec![
            "redrive",
            "--redis-url",
            &url,
            "--dlq",
            "events:dlq",
            "--to",
            "events",
            "--filter",
            "tenant=acme",
            "--filter",
            "error~TIMEOUT",
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let dry = run(args(&["--dry-run"]));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(data(&dry)["moved"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        values(&url, "events", "event_id").len(),
        0,
        "a dry run moved something"
    );
    let r = run(args(&["--rate", "100/s"]));
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let moved = data(&r)["moved"].as_array().cloned().unwrap_or_default();
    assert_eq!(moved.len(), 4);
    assert!(
        moved
            .iter()
            .all(|m| m["tenant"] == "acme" && m["new_id"].is_string()),
        "{moved:#?}"
    );
    assert_eq!(values(&url, "events", "redriven_from").len(), 4);
    assert_eq!(values(&url, "events", "origin_id").len(), 4);
    assert_eq!(
        values(&url, "events", "error").len(),
        0,
        "the error went along"
    );
    assert_each_once(&url, "events:dlq", "events", 12);
    // Again: nothing left to move.
    let again = run(args(&[]));
    assert_eq!(data(&again)["moved"].as_array().map(Vec::len), Some(0));
}

#[test]
fn redrive_crashed_at_each_step_neither_loses_nor_doubles_an_entry() {
    for point in ["redrive-before-move", "redrive-after-move"] {
        for nth in ["1", "3"] {
            let redis = testkit::Redis::start();
            let url = redis.url();
            fill_dlq(&redis, "events:dlq", 6);
            let crashed = testkit::cli::Cmd::new(crate::bin())
                .args([
                    "redrive",
                    "--redis-url",
                    &url,
                    "--dlq",
                    "events:dlq",
                    "--to",
                    "events",
                ])
                .env("REPLAYCTL_FAULT", format!("{point}:{nth}"))
                .run();
            assert_ne!(
                crashed.code, 0,
                "{point}:{nth} did not crash: {}",
                crashed.stdout
            );
            assert!(crashed.stdout.is_empty(), "a crashed run printed a report");
            assert_each_once(&url, "events:dlq", "events", 6);
            let r = run([
                "redrive",
                "--redis-url",
                &url,
                "--dlq",
                "events:dlq",
                "--to",
                "events",
            ]);
            assert_eq!(r.code, 0, "{}", r.stderr);
            assert_each_once(&url, "events:dlq", "events", 6);
            assert_eq!(values(&url, "events", "event_id").len(), 6, "{point}:{nth}");
        }
    }
}

#[test]
fn slow_redrive_sigkilled_at_random_moments_neither_loses_nor_doubles_an_entry() {
    let redis = testkit::Redis::start();
    let url = redis.url();
    const N: usize = 1500;
    fill_dlq(&redis, "events:dlq", N);
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.subsec_nanos() as u64 | 1);
    for round in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let after = Duration::from_millis(50 + seed % 400);
        let mut child = command([
            "redrive",
            "--redis-url",
            &url,
            "--dlq",
            "events:dlq",
            "--to",
            "events",
            "--rate",
            "1000/s",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
        std::thread::sleep(after);
        let _ = child.kill();
        let _ = child.wait();
        assert_each_once(&url, "events:dlq", "events", N);
        let _ = round; // nextest shows the seed below on failure
        assert!(after < Duration::from_secs(1), "seed {seed}");
    }
    let r = run([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        "events:dlq",
        "--to",
        "events",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_each_once(&url, "events:dlq", "events", N);
    assert_eq!(values(&url, "events", "event_id").len(), N);
}

/// The sample service's own dead-letter path: while a constraint makes the sink refuse a
/// tenant's events, the worker fails them three times and moves them to events:dlq; triage
/// groups them; once the constraint is "fixed", redrive moves them back and the worker
/// writes each exactly once.
#[test]
fn slow_triage_and_redrive_the_sample_services_dead_letters_after_a_fix() {
    let pg = testkit::Postgres::start();
    let redis = testkit::Redis::start();
    let svc = testkit::SampleService::start_with(
        &pg.url("postgres"),
        &redis.url(),
        testkit::ServiceOptions::default().args(["--claim-idle", "200ms"]),
    );
    pg.psql(
        "postgres",
        "ALTER TABLE events_sink ADD CONSTRAINT no_acme_yet CHECK (tenant <> 'acme')",
    );
    for (i, tenant) in ["acme", "acme", "acme", "globex"].iter().enumerate() {
        let (code, body) = http(
            "POST",
            svc.port(),
            &format!("/customers?tenant={tenant}"),
            &format!(r#"{{"email":"p{i}@example.com","name":"P {i}"}}"#),
        );
        assert!((200..300).contains(&code), "{code} {body}");
    }
    let url = redis.url();
    wait_until("3 dead letters", Duration::from_secs(60), || {
        values(&url, "events:dlq", "event_id").len() == 3
    });
    let r = run(["dlq", "triage", "--redis-url", &url, "--dlq", "events:dlq"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let groups = data(&r)["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 1, "{groups:#?}");
    assert_eq!(
        (groups[0]["count"].as_u64(), groups[0]["tenant"].as_str()),
        (Some(3), Some("acme"))
    );
    assert!(
        groups[0]["error_class"]
            .as_str()
            .is_some_and(|c| c.contains("no_acme_yet")),
        "{groups:#?}"
    );

    pg.psql(
        "postgres",
        "ALTER TABLE events_sink DROP CONSTRAINT no_acme_yet",
    );
    let r = run([
        "redrive",
        "--redis-url",
        &url,
        "--dlq",
        "events:dlq",
        "--to",
        "events",
        "--filter",
        "tenant=acme",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(data(&r)["moved"].as_array().map(Vec::len), Some(3));
    wait_until(
        "the worker to write the redriven events",
        Duration::from_secs(60),
        || {
            pg.psql("postgres", "SELECT count(*) || '/' || count(DISTINCT event_id) FROM events_sink WHERE tenant = 'acme'")
            == "3/3"
        },
    );
    assert_eq!(values(&url, "events:dlq", "event_id").len(), 0);
    let lag = run([
        "lag",
        "--redis-url",
        &url,
        "--stream",
        "events",
        "--group",
        "sample-service",
    ]);
    assert_eq!(lag.code, 0, "{}", lag.failures());
}
