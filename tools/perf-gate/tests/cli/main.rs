//! The perf-gate binary run as a user runs it, against real HTTP servers on 127.0.0.1: exit
//! codes, the stdout report (validated against the envelope and the data schema), the one
//! stderr line.

mod bad_input;
mod headroom;
mod k6;
mod merge;
mod run;
mod server;
mod thresholds;

use std::path::{Path, PathBuf};

pub use testkit::cli::Run;

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn perf_gate() -> testkit::cli::Cmd {
    perf_gate_raw().validate_stdout()
}

/// For commands whose stdout is an artifact (convert), not a report.
pub fn perf_gate_raw() -> testkit::cli::Cmd {
    testkit::cli::Cmd::new(env!("CARGO_BIN_EXE_perf-gate"))
}

/// Runs `perf-gate ARGS --format json`.
pub fn run(args: &[&str]) -> Run {
    perf_gate()
        .args(args)
        .args(["--format", "json", "-q"])
        .run()
}

/// Writes a scenario into `dir` and returns its path.
pub fn scenario(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, yaml).expect("write scenario");
    p
}

/// Asserts exit 2 with one stderr line starting `perf-gate: ` that contains `needle`, and a
/// report with result error.
pub fn assert_refused(r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line, got {:?}", r.stderr);
    assert!(lines[0].starts_with("perf-gate: "), "{:?}", lines[0]);
    assert!(lines[0].contains(needle), "{:?} lacks {needle:?}", lines[0]);
    assert_eq!(r.report()["result"], "error");
}

/// A figure of `data.metrics.<metric>`.
pub fn metric(r: &Run, metric: &str, field: &str) -> f64 {
    r.json["data"]["metrics"][metric][field]
        .as_f64()
        .unwrap_or_else(|| {
            panic!(
                "no data.metrics.{metric}.{field} in {:#}",
                r.json["data"]["metrics"]
            )
        })
}

/// Prints a measured figure (`cargo nextest run -p perf-gate --no-capture` shows them; the
/// numbers in docs/perf-gate.md come from here).
pub fn figure(what: &str, value: impl std::fmt::Display) {
    #[expect(
        clippy::print_stderr,
        reason = "measured figures for the docs, shown with --no-capture"
    )]
    {
        eprintln!("figure: {what}: {value}");
    }
}

/// Held by the tests that measure time (latency, counts, capacity): they run one at a time
/// across nextest's test processes, so they do not load the machine for each other.
pub struct Exclusive(#[expect(dead_code, reason = "held for its lock")] std::fs::File);

pub fn exclusive() -> Exclusive {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("perf-gate-timed-tests.lock");
    let f = std::fs::File::create(&p).expect("create the lock file");
    f.lock().expect("lock");
    Exclusive(f)
}
