//! The verify-goldens binary run as a user runs it, against real servers from testkit: exit
//! codes, the stdout report (validated against the envelope and data schemas), the one
//! stderr line.

mod bad_input;
mod canary;
mod checks;
mod daemon;
mod history;
mod run;
mod slo;
mod tls;

use std::path::PathBuf;

pub use testkit::cli::Run;

/// `verify-goldens` from the workspace root, its report validated against the schemas.
pub fn cmd() -> testkit::cli::Cmd {
    testkit::cli::Cmd::new(env!("CARGO_BIN_EXE_verify-goldens")).validate_stdout()
}

/// Runs `verify-goldens ARGS --format json`.
pub fn run(args: &[&str]) -> Run {
    cmd().args(args).args(["--format", "json"]).run()
}

/// A file under tests/cli/fixtures/.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cli/fixtures")
        .join(name)
}

/// A file under the workspace root.
pub fn root(rel: &str) -> String {
    testkit::cli::root().join(rel).display().to_string()
}
