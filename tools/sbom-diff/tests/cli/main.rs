//! The sbom-diff binary run as a user runs it: exit codes, the stdout report (validated
//! against the envelope and data schemas), the one stderr line.

mod bad_input;
mod budget;
mod checks;
mod corpus;
mod diff;
mod hostile;

use std::path::PathBuf;
use std::process::Command;

pub use testkit::cli::{Run, root};

/// A file of the shared corpus.
pub fn corpus(rel: &str) -> PathBuf {
    testkit::cli::corpus().join(rel)
}

/// `sbom-diff` from the workspace root, as a plain `Command`.
pub fn cmd() -> Command {
    sbom_diff().into_command()
}

fn sbom_diff() -> testkit::cli::Cmd {
    testkit::cli::Cmd::new(env!("CARGO_BIN_EXE_sbom-diff"))
}

/// Runs `sbom-diff ARGS --format json`.
pub fn run(args: &[&str]) -> Run {
    sbom_diff().args(args).args(["--format", "json"]).run()
}

/// Runs with `stdin` piped in.
pub fn run_stdin(args: &[&str], stdin: &[u8]) -> Run {
    sbom_diff()
        .args(args)
        .args(["--format", "json"])
        .stdin(stdin)
        .run()
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

/// The standard redactions (this tool's snapshots say `[version]`), snapshots named
/// without their module.
pub fn settings() -> insta::Settings {
    let mut s = testkit::cli::snapshot_settings_with(&[(".tool_version", "[version]")]);
    s.set_prepend_module_to_snapshot(false);
    s
}

#[macro_export]
macro_rules! assert_report_snapshot {
    ($name:expr, $report:expr) => {
        $crate::settings().bind(|| insta::assert_json_snapshot!($name, $report))
    };
}

pub fn today() -> gatehouse::time::Timestamp {
    gatehouse::time::Timestamp::now()
}

pub fn date_in_days(days: i64) -> String {
    let now = today();
    gatehouse::time::Timestamp::from_unix(now.unix() + days * 86_400).to_date()
}
