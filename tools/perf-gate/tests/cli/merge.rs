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
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn shard")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        // Each shard alone sends 150 requests: its own share crosses count>=600 and p(50)<1,
        // yet a shard does not judge thresholds (merge does, over all 4): exit 0, each skip.
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_str(&stdout).expect("shard report");
        let thresholds: Vec<&serde_json::Value> = v["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["id"] == "load.threshold")
            .collect();
        assert_eq!(thresholds.len(), 3, "{v:#}");
        for c in &thresholds {
            assert_eq!(c["result"], "skip", "{c:#}");
            let m = c["message"].as_str().unwrap_or("");
            assert!(
                m.contains("judged by `perf-gate merge` over all 4 shards"),
                "{m}"
            );
        }
        let count = thresholds
            .iter()
            .find(|c| c["message"].as_str().unwrap_or("").contains("count>=600"))
            .expect("the count threshold's check");
        assert_eq!(count["observed"], 150, "{count:#}");
        assert_eq!(count["limit"], 600, "{count:#}");
        assert_eq!(v["result"], "ok", "{v:#}");
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
    // The merge judges: 600 requests hold count>=600; 5 ms fails p(50)<1 and exits 1.
    assert_eq!(merged.code, 1, "{}\n{}", merged.stdout, merged.stderr);
    let result_of = |r: &crate::Run, expr: &str| -> String {
        r.checks("load.threshold")
            .iter()
            .find(|c| c["message"].as_str().unwrap_or("").contains(expr))
            .map(|c| c["result"].as_str().unwrap_or("").to_owned())
            .unwrap_or_default()
    };
    assert_eq!(result_of(&merged, "count>=600"), "ok");
    assert_eq!(result_of(&merged, "p(50)<1"), "fail");
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

/// A shard whose own share crosses `count` and `rate` thresholds exits 0 (they are skip, the
/// merge's to judge, and abortOnFail does not stop it); the merge of both shards fails the
/// rate one and exits 1; `--judge-shard` judges one shard's share alone (aborts, exits 1).
#[test]
fn slow_a_shard_leaves_count_and_rate_thresholds_to_the_merge() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config::default());
    let dir = tempfile::tempdir().expect("tempdir");
    // 120 requests in 3 s: 60 per shard. count>=120 holds only merged; rate>60 never holds
    // (and would abort a shard judged alone after 1 s).
    let s = scenario(
        dir.path(),
        "s.yaml",
        &format!(
            "target: {}\nrequests:\n  - path: /\nscenarios:\n  steady: {{executor: constant-arrival-rate, rate: 40, duration: 3s, maxVUs: 20}}\nthresholds:\n  http_reqs: [\"count>=120\", {{threshold: \"rate>60\", abortOnFail: true, delayAbortEval: 1s}}]\n",
            srv.url()
        ),
    );
    let sp = s.to_str().unwrap_or_default().to_owned();
    let mut shards = Vec::new();
    for i in 0..2 {
        let report = dir.path().join(format!("shard-{i}.json"));
        let r = crate::perf_gate()
            .args([
                "run",
                &sp,
                "--shard",
                &format!("{i}/2"),
                "--format",
                "json",
                "-q",
            ])
            .args(["--report".as_ref(), report.as_os_str()])
            .run();
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        assert_eq!(metric(&r, "http_reqs", "count"), 60.0);
        assert_eq!(
            r.json["data"]["partial"], false,
            "abortOnFail is the merge's too"
        );
        let checks = r.checks("load.threshold");
        assert_eq!(checks.len(), 2);
        for c in &checks {
            assert_eq!(c["result"], "skip", "{c:#}");
            assert!(
                c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("judged by `perf-gate merge` over all 2 shards"),
                "{c:#}"
            );
        }
        assert!(
            r.json["summary"]
                .as_str()
                .unwrap_or("")
                .contains("thresholds judged by `perf-gate merge`"),
            "{}",
            r.json["summary"]
        );
        shards.push(report.display().to_string());
    }
    let merged = run(&["merge", &shards[0], &shards[1]]);
    assert_eq!(merged.code, 1, "{}\n{}", merged.stdout, merged.stderr);
    assert_eq!(metric(&merged, "http_reqs", "count"), 120.0);
    assert_eq!(merged.check("merge.shards")["result"], "ok");
    let verdicts: Vec<(String, String)> = merged
        .checks("load.threshold")
        .iter()
        .map(|c| {
            (
                c["message"].as_str().unwrap_or("").to_owned(),
                c["result"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        verdicts
            .iter()
            .any(|(m, r)| m.starts_with("http_reqs: count>=120: holds") && r == "ok"),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|(m, r)| m.starts_with("http_reqs: rate>60: crossed") && r == "fail"),
        "{verdicts:?}"
    );

    // Opted in: the shard's share alone is judged; its ~20/s crosses rate>60 and aborts it.
    let alone = run(&["run", &sp, "--shard", "0/2", "--judge-shard"]);
    assert_eq!(alone.code, 1, "{}\n{}", alone.stdout, alone.stderr);
    assert!(
        alone
            .checks("load.threshold")
            .iter()
            .any(|c| c["result"] == "fail"
                && c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains("rate>60: crossed")),
        "{}",
        alone.stdout
    );
    assert_eq!(alone.json["data"]["partial"], true);
    assert!(
        alone.json["summary"]
            .as_str()
            .unwrap_or("")
            .contains("abortOnFail"),
        "{}",
        alone.json["summary"]
    );
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
