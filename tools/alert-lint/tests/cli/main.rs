//! alert-lint's CLI tests: the real binary as a process, one module per command.

mod catalog;
mod check;
mod corpus;
mod errors;
mod hostile;
mod live;
mod locations;
mod noise;

use std::path::PathBuf;

use serde_json::Value;
pub use testkit::cli::{Run, root};

/// The Prometheus rule files of the shared corpus.
pub fn corpus() -> PathBuf {
    testkit::cli::corpus().join("prometheus-rules")
}

/// A fixture path relative to the workspace root.
pub fn fixture(name: &str) -> String {
    format!("tools/alert-lint/tests/fixtures/{name}")
}

/// Runs `alert-lint ARGS` from the workspace root.
pub fn run(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

pub fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    testkit::cli::Cmd::new(env!("CARGO_BIN_EXE_alert-lint"))
        .args(args)
        .stdin(stdin)
        .run()
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

/// A report snapshot with the run-dependent fields redacted.
#[macro_export]
macro_rules! assert_report_snapshot {
    ($name:expr, $value:expr) => {
        testkit::cli::snapshot_settings().bind(|| insta::assert_json_snapshot!($name, $value))
    };
}
