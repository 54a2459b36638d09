//! Hostile input (issue 21): huge and deep PromQL, huge rule files, many files, FIFOs,
//! symlink loops, empty directories, silent servers. Every run ends, in bounded time, with a
//! report and the right exit code; the time bounds are generous ("does not hang"), never
//! measurements.

use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::Run;

/// Runs `alert-lint ARGS`, killing it (and failing the test) if it is still running after
/// `limit`: the defects tested here hung or ran for minutes.
fn run_within(args: &[&str], limit: Duration) -> (Run, Duration) {
    let mut cmd = testkit::cli::Cmd::new(env!("CARGO_BIN_EXE_alert-lint"))
        .args(args)
        .into_command();
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run alert-lint");
    let pipe = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = pipe(Box::new(child.stdout.take().expect("stdout")));
    let err = pipe(Box::new(child.stderr.take().expect("stderr")));
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("alert-lint {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    let run = Run {
        code: status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null),
        stdout,
        stderr,
    };
    (run, elapsed)
}

const LIMIT: Duration = Duration::from_secs(60);

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p.display().to_string()
}

fn sum(terms: usize) -> String {
    (0..terms)
        .map(|i| format!("http_requests_total_{i}"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A rule file whose first rule has `expr` (line 5) and whose second rule lacks a runbook.
fn rules_with(expr: &str) -> String {
    format!(
        "groups:\n  - name: g\n    rules:\n      - record: job:x:sum\n        expr: \"{expr}\"\n      - alert: NoRunbook\n        expr: up == 0\n        labels:\n          severity: critical\n          team: a\n        annotations:\n          summary: down\n"
    )
}

fn check<'a>(report: &'a serde_json::Value, id: &str, result: &str) -> Vec<&'a serde_json::Value> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["id"] == id && c["result"] == result)
        .collect()
}

#[test]
fn long_syntax_errors_are_located_without_reparsing_every_prefix() {
    // 1,000 terms and a trailing `+` (23 KB) took 46 s; a mistake in the middle of 4,000
    // terms took minutes.
    let dir = tempfile::tempdir().expect("tmp");
    let trailing = write(
        dir.path(),
        "trailing.yaml",
        &rules_with(&format!("{} +", sum(1_000))),
    );
    let mut terms: Vec<String> = (0..4_000).map(|i| format!("m_{i}")).collect();
    terms[2_000].push_str(" junk");
    let middle_expr = terms.join(" + ");
    let middle = write(dir.path(), "middle.yaml", &rules_with(&middle_expr));
    for (path, column, message) in [
        // The expression starts on column 16: `        expr: "`.
        (
            &trailing,
            16 + sum(1_000).len() + 2,
            "unexpected end of input",
        ),
        (
            &middle,
            16 + middle_expr.find("junk").expect("junk"),
            "unexpected identifier \"junk\"",
        ),
    ] {
        let (out, _) = run_within(&["check", path], LIMIT);
        assert_eq!(out.code, 1, "{}", out.stderr);
        let report = out.report();
        let f = check(&report, "syntax.promql", "fail");
        assert_eq!(f.len(), 1, "{report:#}");
        assert_eq!(f[0]["location"]["line"], 5);
        assert_eq!(f[0]["location"]["column"], column as u64);
        assert!(
            f[0]["message"]
                .as_str()
                .expect("message")
                .ends_with(message)
        );
    }
}

#[test]
fn expressions_over_the_limits_are_located_errors_and_the_rest_is_judged() {
    // Each aborted the process with a stack overflow (no report) or ran for minutes.
    let dir = tempfile::tempdir().expect("tmp");
    for (name, expr, what) in [
        ("sum40k.yaml", sum(40_000), "expression too long to judge"),
        (
            "parens.yaml",
            format!("{}1{}", "(".repeat(500_000), ")".repeat(500_000)),
            "expression nested too deep to judge",
        ),
        (
            "minus.yaml",
            format!("{}1 +", "-".repeat(10_000)),
            "expression nested too deep to judge",
        ),
    ] {
        let p = write(dir.path(), name, &rules_with(&expr));
        let (out, _) = run_within(&["check", &p], LIMIT);
        assert_eq!(out.code, 2, "{name}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {}", out.stderr);
        assert!(
            lines[0].starts_with(&format!("alert-lint: {p}:5:")) && lines[0].contains(what),
            "{}",
            lines[0]
        );
        let report = out.report();
        assert_eq!(report["result"], "error");
        assert_eq!(report["error"]["kind"], "limit");
        let f = check(&report, "syntax.promql", "fail");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0]["location"]["line"], 5);
        // The other rule of the file is still judged.
        assert_eq!(
            check(&report, "policy.runbook", "fail").len(),
            1,
            "{report:#}"
        );
        assert!(check(&report, "promql.comparison", "ok").is_empty());
    }
}

#[test]
fn a_rule_file_over_250000_yaml_nodes_is_read_like_promtool_does() {
    // 12,000 alerts, ~25 nodes each: serde-saphyr's default budget said "budget breached".
    let dir = tempfile::tempdir().expect("tmp");
    let mut text = String::from("groups:\n  - name: big\n    rules:\n");
    for i in 0..12_000 {
        text.push_str(&format!(
            "      - alert: A{i}\n        expr: up{{job=\"j{i}\"}} == 0\n        for: 5m\n        labels:\n          severity: critical\n          team: t\n        annotations:\n          summary: s\n          description: d\n          runbook_url: https://runbooks.example.com/a{i}\n"
        ));
    }
    let p = write(dir.path(), "big.yaml", &text);
    let (out, _) = run_within(&["check", &p], Duration::from_secs(300));
    assert!(matches!(out.code, 0 | 1), "{}", out.stderr);
    assert_eq!(out.report()["data"]["totals"]["rules"], 12_000);
}

/// Max RSS of the children this test process has waited for, in bytes.
#[expect(
    unsafe_code,
    reason = "libc::getrusage: std does not expose a child's max RSS"
)]
fn children_max_rss() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_CHILDREN with a valid pointer.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut ru) };
    assert_eq!(rc, 0);
    u64::try_from(ru.ru_maxrss).expect("non-negative") * 1024
}

#[test]
fn memory_follows_the_largest_file_not_the_sum_of_all() {
    // 40 files of 1 MB (~1,000 rules each). Judging them all at once held every text, YAML
    // tree and AST until the end (6.3 GB for 200 MB).
    let dir = tempfile::tempdir().expect("tmp");
    let mut one = String::from("groups:\n  - name: g\n    rules:\n");
    let description = "The error ratio of this job is over budget. ".repeat(14);
    let mut i = 0;
    while one.len() < 1_000_000 {
        one.push_str(&format!(
            "      - alert: A{i}\n        expr: sum by (job) (rate(http_requests_total{{job=\"j{i}\",code=~\"5..\"}}[5m])) > 1\n        for: 10m\n        labels:\n          severity: critical\n          team: t\n        annotations:\n          summary: errors\n          description: {description}\n          runbook_url: https://runbooks.example.com/a{i}\n"
        ));
        i += 1;
    }
    for f in 0..40 {
        write(dir.path(), &format!("r{f:02}.yaml"), &one);
    }
    let d = dir.path().display().to_string();
    let (out, _) = run_within(&["check", "--format", "json", &d], Duration::from_secs(600));
    assert!(matches!(out.code, 0 | 1), "{}", out.stderr);
    assert_eq!(out.report()["data"]["totals"]["files"], 40);
    let rss = children_max_rss();
    assert!(rss < 1 << 30, "max RSS {} MB", rss >> 20);
}

#[expect(unsafe_code, reason = "libc::mkfifo: std has no way to make a FIFO")]
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.display().to_string()).expect("path");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn a_fifo_in_a_scanned_directory_is_skipped_but_one_named_is_read() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "ok.yaml", "groups: []\n");
    let fifo = dir.path().join("pipe.yaml");
    mkfifo(&fifo);
    let d = dir.path().display().to_string();
    let (out, _) = run_within(&["check", &d], LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.report()["data"]["totals"]["files"], 1);

    // Named on the command line, it is read like stdin: the user's choice.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, "groups: []\n"))
    };
    let f = fifo.display().to_string();
    let (out, _) = run_within(&["check", &f], LIMIT);
    writer.join().expect("writer").expect("write the fifo");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.report()["data"]["files"][0]["file"], f.as_str());
}

#[test]
fn a_symlink_loop_is_walked_once_and_each_file_linted_once() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "a.yaml", "groups: []\n");
    std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
    std::os::unix::fs::symlink("..", dir.path().join("sub/up")).expect("symlink");
    std::os::unix::fs::symlink("../a.yaml", dir.path().join("sub/b.yaml")).expect("symlink");
    let d = dir.path().display().to_string();
    let a = format!("{d}/a.yaml");
    let (out, _) = run_within(&["check", &d, &a], LIMIT);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.report()["data"]["totals"]["files"], 1, "{}", out.stdout);
}

#[test]
fn a_directory_without_rule_files_is_an_error_not_a_pass() {
    let dir = tempfile::tempdir().expect("tmp");
    write(dir.path(), "README.md", "no rules here\n");
    let d = dir.path().display().to_string();
    let (out, _) = run_within(&["check", &d], LIMIT);
    assert_eq!(out.code, 2, "{}", out.stdout);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.stderr);
    assert!(
        lines[0].starts_with(&format!("alert-lint: {d}: no rule files")),
        "{}",
        lines[0]
    );
    assert_eq!(out.report()["result"], "error");
}

#[test]
fn checks_are_skipped_not_passed_on_a_file_that_could_not_be_parsed() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(dir.path(), "broken.yaml", "groups: [\n");
    let (out, _) = run_within(&["check", &p], LIMIT);
    assert_eq!(out.code, 2);
    let report = out.report();
    let ok: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["result"] == "ok")
        .collect();
    assert!(ok.is_empty(), "{ok:#?}");
    let structure = &check(&report, "syntax.structure", "skip")[0];
    assert!(
        structure["message"]
            .as_str()
            .expect("message")
            .contains("not judged on 1 file that could not be read or parsed"),
        "{structure}"
    );
}

/// A real server that accepts connections and never answers.
fn silent_server() -> (String, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let t = std::thread::spawn(move || {
        let mut held = Vec::new();
        // Holds a few connections open for the length of the test, then lets go.
        let _ = listener.set_nonblocking(true);
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until && held.len() < 8 {
            match listener.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    (url, t)
}

#[test]
fn a_silent_prometheus_ends_the_run_at_the_deadline() {
    for cmd in [
        vec!["check", "--timeout", "1s", "examples/release/rules/"],
        vec!["noise", "--timeout", "1s"],
    ] {
        let (url, server) = silent_server();
        let mut args = cmd.clone();
        args.extend(["--prometheus", url.as_str()]);
        let (out, took) = run_within(&args, Duration::from_secs(20));
        assert_eq!(out.code, 2, "{cmd:?}: {}", out.stderr);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", out.stderr);
        assert!(
            lines[0].starts_with(&format!("alert-lint: {url}")),
            "{}",
            lines[0]
        );
        assert_eq!(out.report()["error"]["kind"], "prometheus");
        assert!(took < Duration::from_secs(15), "{cmd:?} took {took:?}");
        drop(server);
    }
}
