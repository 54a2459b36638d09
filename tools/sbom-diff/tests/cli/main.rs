//! The sbom-diff binary run as a user runs it: exit codes, the stdout report (validated
//! against the envelope and data schemas), the one stderr line.

mod bad_input;
mod budget;
mod corpus;
mod diff;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The workspace root: tests run the binary from there, so paths in reports are the
/// repo-relative paths a user types.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `/work/shared/corpus` as the tests reach it.
pub fn corpus(rel: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .join(rel)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout report, validated against the schemas.
    pub fn report(&self) -> Value {
        let v: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON object ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        });
        testkit::schema::assert_valid_report(&v);
        v
    }
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn cmd() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_sbom-diff"));
    c.current_dir(root())
        .env_remove("GATEHOUSE_PHASE")
        .env_remove("TRACEPARENT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env("NO_COLOR", "1");
    c
}

/// Runs `sbom-diff ARGS --format json`.
pub fn run(args: &[&str]) -> Run {
    finish(
        cmd()
            .args(args)
            .args(["--format", "json"])
            .output()
            .expect("runs sbom-diff"),
    )
}

/// Runs with `stdin` piped in.
pub fn run_stdin(args: &[&str], stdin: &[u8]) -> Run {
    use std::io::Write;
    let mut child = cmd()
        .args(args)
        .args(["--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns sbom-diff");
    {
        let mut input = child.stdin.take().expect("stdin");
        // The tool may refuse before reading everything: a broken pipe is fine.
        let _ = input.write_all(stdin);
    }
    finish(child.wait_with_output().expect("waits"))
}

/// Asserts exit 2 with one stderr line that starts with `sbom-diff: {prefix}` and
/// contains `needle`, and a report with result error.
pub fn assert_refused(r: &Run, prefix: &str, needle: &str) {
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line, got {:?}", r.stderr);
    assert!(
        lines[0].starts_with(&format!("sbom-diff: {prefix}")),
        "{:?} does not start with sbom-diff: {prefix}",
        lines[0]
    );
    assert!(lines[0].contains(needle), "{:?} lacks {needle:?}", lines[0]);
    let rep = r.report();
    assert_eq!(rep["result"], "error");
}

/// Report fields that change between runs.
pub fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("snapshots");
    s.set_prepend_module_to_snapshot(false);
    s
}

#[macro_export]
macro_rules! assert_report_snapshot {
    ($name:expr, $report:expr) => {
        $crate::settings().bind(|| {
            insta::assert_json_snapshot!($name, $report, {
                ".trace_id" => "[trace_id]",
                ".span_id" => "[span_id]",
                ".started_at" => "[started_at]",
                ".duration_ms" => "[duration_ms]",
                ".tool_version" => "[version]",
            });
        })
    };
}

pub fn today() -> gatehouse::time::Timestamp {
    gatehouse::time::Timestamp::now()
}

pub fn date_in_days(days: i64) -> String {
    let now = today();
    gatehouse::time::Timestamp::from_unix(now.unix() + days * 86_400).to_date()
}
