//! alert-lint's CLI tests: the real binary as a process, one module per command.

mod catalog;
mod check;
mod corpus;
mod errors;
mod live;
mod locations;
mod noise;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The workspace root: tests run the binary from there so report paths are stable.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/prometheus-rules")
}

/// A fixture path relative to the workspace root.
pub fn fixture(name: &str) -> String {
    format!("tools/alert-lint/tests/fixtures/{name}")
}

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// The report, checked against the envelope and alert-lint's data schema.
    pub fn report(&self) -> Value {
        let v = self.json();
        testkit::schema::assert_valid_report(&v);
        v
    }
}

pub fn run(args: &[&str]) -> Out {
    run_with_stdin(args, None)
}

pub fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_alert-lint"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("GATEHOUSE_PHASE")
        .env_remove("TRACEPARENT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the alert-lint binary runs");
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(bytes).expect("write stdin");
    }
    let out = child.wait_with_output().expect("alert-lint finishes");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The non-ok checks as `id result file:line:col`.
pub fn findings(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["result"] != "ok" && !(c["result"] == "skip" && c["location"].is_null()))
        .map(|c| {
            let l = &c["location"];
            format!(
                "{} {} {}:{}:{}",
                c["id"].as_str().unwrap_or(""),
                c["result"].as_str().unwrap_or(""),
                l["file"].as_str().unwrap_or(""),
                l["line"],
                l["column"]
            )
        })
        .collect()
}

/// Insta settings that hide what changes between runs.
#[macro_export]
macro_rules! assert_report_snapshot {
    ($name:expr, $value:expr) => {
        insta::assert_json_snapshot!($name, $value, {
            ".trace_id" => "[trace_id]",
            ".span_id" => "[span_id]",
            ".started_at" => "[started_at]",
            ".duration_ms" => "[duration_ms]",
            ".tool_version" => "[tool_version]",
        })
    };
}
