//! Shards and merge: four shards against one server add up exactly, and the merged verdict
//! is a single run's; `--baseline` judges regressions.

use std::path::Path;
use std::time::Duration;

use crate::server::{Config, Server};
use crate::{metric, run, scenario};

fn shard_scenario(dir: &Path, url: &str) -> std::path::PathBuf {
    scenario(
        dir,
        "s.yaml",
        &format!(
            "target: {url}\nrequests:\n  - name: a\n    path: /a\n    weight: 3\n  - name: b\n    path: /b\nscenarios:\n  steady: {{executor: constant-arrival-rate, rate: 200, duration: 3s, maxVUs: 100}}\nthresholds:\n  http_req_duration: [\"p(95)<1000\", \"p(50)<1\"]\n  http_reqs: [\"count>=600\"]\n"
        ),
    )
}

#[test]
fn slow_four_shards_merge_into_the_counts_and_verdict_of_one_run() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(5),
        ..Config::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let s = shard_scenario(dir.path(), &srv.url());
    let sp = s.to_str().unwrap_or_default().to_owned();
    let children: Vec<_> = (0..4)
        .map(|i| {
            let report = dir.path().join(format!("shard-{i}.json"));
            crate::perf_gate()
                .args([
                    "run",
                    &sp,
                    "--shard",
                    &format!("{i}/4"),
                    "--format",
                    "json",
                    "-q",
                    "--workers",
                    "1",
                ])
                .args(["--report".as_ref(), report.as_os_str()])
                .into_command()
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn shard")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        // Each shard alone sends 150 requests: its own count>=600 is crossed.
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let shards: Vec<String> = (0..4)
        .map(|i| {
            dir.path()
                .join(format!("shard-{i}.json"))
                .display()
                .to_string()
        })
        .collect();
    let mut sum = 0.0;
    let mut rep_shard_counts = Vec::new();
    for p in &shards {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json");
        let n = v["data"]["metrics"]["http_reqs"]["count"]
            .as_f64()
            .unwrap_or(0.0);
        rep_shard_counts.push(n);
        sum += n;
    }
    assert_eq!(rep_shard_counts, vec![150.0; 4]);
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    let merged = run(&args);
    assert_eq!(merged.code, 1, "{}\n{}", merged.stdout, merged.stderr);
    assert_eq!(metric(&merged, "http_reqs", "count"), sum);
    assert_eq!(metric(&merged, "http_reqs{name:a}", "count"), 450.0);
    assert_eq!(metric(&merged, "http_req_duration", "count"), 600.0);
    assert_eq!(merged.json["data"]["target_rate"], 200);
    assert_eq!(merged.check("merge.shards")["result"], "ok");

    let single = run(&["run", &sp]);
    let verdicts = |r: &crate::Run| -> Vec<(String, String)> {
        r.checks("load.threshold")
            .iter()
            .map(|c| {
                let m = c["message"].as_str().unwrap_or("");
                (
                    m.split(": ").take(2).collect::<Vec<_>>().join(": "),
                    c["result"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(verdicts(&merged), verdicts(&single));
    assert_eq!(single.code, merged.code);

    // A missing shard fails merge.shards; the same shard twice is refused.
    let three = run(&["merge", &shards[0], &shards[1], &shards[2]]);
    assert_eq!(three.check("merge.shards")["result"], "fail");
    // A shard that stopped early (Ctrl-C) fails merge.shards.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&shards[0]).expect("read")).expect("json");
    v["data"]["partial"] = serde_json::json!(true);
    let cut = dir.path().join("shard-0-partial.json");
    std::fs::write(&cut, v.to_string()).expect("write");
    let cut = cut.display().to_string();
    let partial = run(&["merge", &cut, &shards[1], &shards[2], &shards[3]]);
    assert_eq!(partial.check("merge.shards")["result"], "fail");
    assert_eq!(partial.json["data"]["partial"], true);
    let twice = run(&["merge", &shards[0], &shards[0]]);
    crate::assert_refused(&twice, "again");
}

#[test]
fn slow_a_slower_release_fails_its_baseline() {
    let _timed = crate::exclusive();
    let fast = Server::start(Config {
        delay: Duration::from_millis(5),
        ..Config::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let yaml = |url: &str| {
        format!(
            "target: {url}\nrequests:\n  - path: /\nscenarios:\n  a: {{executor: constant-arrival-rate, rate: 50, duration: 2s, maxVUs: 50}}\nregression: {{p95: 10%, p99: 20%, error_rate: 0.005}}\n"
        )
    };
    let s = scenario(dir.path(), "s.yaml", &yaml(&fast.url()));
    let base = dir.path().join("base.json");
    let r = crate::perf_gate()
        .args([
            "run",
            s.to_str().unwrap_or_default(),
            "--format",
            "json",
            "-q",
        ])
        .args(["--report".as_ref(), base.as_os_str()])
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let same = run(&[
        "run",
        s.to_str().unwrap_or_default(),
        "--baseline",
        base.to_str().unwrap_or_default(),
    ]);
    assert_eq!(same.check("baseline.error_rate")["result"], "ok");

    let slow = Server::start(Config {
        delay: Duration::from_millis(300),
        ..Config::default()
    });
    let hist = dir.path().join("latency.hgrm");
    let r = run(&[
        "run",
        s.to_str().unwrap_or_default(),
        "--target",
        &slow.url(),
        "--baseline",
        base.to_str().unwrap_or_default(),
        "--out-histogram",
        hist.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(r.check("baseline.p95")["result"], "fail");
    assert_eq!(r.check("baseline.p99")["result"], "fail");
    assert!(std::fs::metadata(&hist).map(|m| m.len()).unwrap_or(0) > 20);
    // The output may not replace an input.
    let r = run(&[
        "run",
        s.to_str().unwrap_or_default(),
        "--out-histogram",
        s.to_str().unwrap_or_default(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
