//! Bad input: one line on stderr naming file:line:col, `result: "error"`, exit 2; never a
//! panic. Arbitrary bytes fed to the loader never panic either.

use proptest::prelude::*;

use crate::{run, run_with_stdin};

fn assert_error(out: &crate::Run, stderr_prefix: &str) -> serde_json::Value {
    assert_eq!(
        out.code, 2,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line: {:?}", out.stderr);
    assert!(
        lines[0].starts_with(stderr_prefix),
        "{:?} does not start with {stderr_prefix:?}",
        lines[0]
    );
    let report = out.report();
    assert_eq!(report["result"], "error");
    testkit::schema::assert_valid_report(&report);
    report
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p.display().to_string()
}

#[test]
fn truncated_yaml_names_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(
        &dir,
        "t.yml",
        b"groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: \"up == 0\n",
    );
    let out = run(&["check", &p]);
    let report = assert_error(&out, &format!("alert-lint: {p}:5:15: "));
    assert!(
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["id"] == "syntax.yaml"
                && c["result"] == "fail"
                && c["location"]["line"] == 5)
    );
}

#[test]
fn tab_indentation_is_named() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(&dir, "tab.yml", b"groups:\n\t- name: a\n");
    let out = run(&["check", &p]);
    assert_error(&out, &format!("alert-lint: {p}:2:2: "));
    assert!(out.stderr.contains("tab"), "{}", out.stderr);
}

#[test]
fn binary_garbage_is_refused_as_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(&dir, "bin.yaml", b"groups:\n\x00\xff\xfe\x80garbage");
    let out = run(&["check", &p]);
    assert_error(&out, &format!("alert-lint: {p}:2:2: not valid UTF-8 text"));
}

#[test]
fn an_empty_file_is_an_error_but_null_is_an_empty_rule_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = write(&dir, "empty.yaml", b"");
    assert_error(
        &run(&["check", &p]),
        &format!("alert-lint: {p}:1:1: empty file"),
    );
    let p = write(&dir, "null.yaml", b"null\n");
    assert_eq!(run(&["check", &p]).code, 0);
}

#[test]
fn one_broken_file_does_not_hide_the_others() {
    let dir = tempfile::tempdir().expect("tmp");
    let broken = write(&dir, "a.yaml", b"groups: [\n");
    let out = run(&["check", &broken, "examples/bad-release/rules/"]);
    let report = assert_error(&out, &format!("alert-lint: {broken}:"));
    assert!(
        report["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["id"] == "policy.runbook" && c["result"] == "fail")
    );
}

#[test]
fn missing_paths_and_bad_configs_are_errors() {
    assert_error(
        &run(&["check", "no/such/rules.yaml"]),
        "alert-lint: no/such/rules.yaml: cannot read",
    );
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = write(&dir, "c.yaml", b"scrape_interval: 15s\nsevirity: [x]\n");
    assert_error(
        &run(&["check", "--config", &cfg, "examples/release/rules"]),
        &format!("alert-lint: {cfg}:2:1: "),
    );
    let cfg = write(&dir, "d.yaml", b"checks:\n  promql.nope: off\n");
    assert_error(
        &run(&["check", "--config", &cfg, "examples/release/rules"]),
        &format!("alert-lint: {cfg}: checks: \"promql.nope\""),
    );
}

#[test]
fn an_unreachable_prometheus_is_an_error_naming_the_server() {
    let port = testkit::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&["check", "--prometheus", &url, "examples/release/rules/"]);
    let report = assert_error(&out, &format!("alert-lint: {url}: cannot reach Prometheus"));
    assert_eq!(report["error"]["kind"], "prometheus");
    let out = run(&["noise", "--prometheus", &url]);
    assert_error(&out, &format!("alert-lint: {url}: cannot reach Prometheus"));
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["check"]);
    assert_eq!(out.code, 2);
    let out = run(&[
        "catalog",
        "examples/alert-catalog.yaml",
        "--windows",
        "page:5m/1h:3",
    ]);
    assert_error(&out, "alert-lint: --windows: window \"page:5m/1h:3\"");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn arbitrary_bytes_never_crash_the_loader(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let out = run_with_stdin(&["check", "-"], Some(&bytes));
        prop_assert!(matches!(out.code, 0..=2), "exit {}: {}", out.code, out.stderr);
        prop_assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    }

    #[test]
    fn arbitrary_rule_like_yaml_never_crashes(s in "(groups:|\n|  |- |name: a|rules:|alert: X|record: a:b:c|expr: |up|sum\\(|\\)|\\{\\{|\\$labels\\.x|\\}\\}|for: 5m|labels:|annotations:|summary: |\"|'|\\||>|#|\\[|\\]){0,40}") {
        let out = run_with_stdin(&["check", "-"], Some(s.as_bytes()));
        prop_assert!(matches!(out.code, 0..=2), "exit {}: {}", out.code, out.stderr);
        prop_assert!(!out.stderr.contains("internal error"), "{}", out.stderr);
    }
}
