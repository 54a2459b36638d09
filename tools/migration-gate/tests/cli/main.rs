//! CLI tests: the real `migration-gate` binary as a process, asserting exit code, stdout JSON
//! (validated against the report and data schemas) and the one stderr line. One module per
//! command, plus the corpus tests (a real PostgreSQL proves which files are valid; squawk).

mod checks;
mod corpus;
mod dry_run;
mod lint;
mod parity;
mod search;
mod tls;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use testkit::cli::{Run, corpus, root, snapshot_settings};

pub fn examples() -> PathBuf {
    root().join("examples")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `migration-gate ARGS` from the workspace root (so `examples/...` paths in reports read as
/// in the docs), without the database settings a developer's shell may carry.
fn migration_gate(args: &[&str]) -> testkit::cli::Cmd {
    testkit::cli::Cmd::new(env!("CARGO_BIN_EXE_migration-gate"))
        .args(args)
        .env_remove("MIGRATION_GATE_DATABASE_URL")
        .env_remove("PGPASSWORD")
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
}

/// As a plain `Command`, for tests that read other formats or spawn it themselves.
pub fn command(args: &[&str]) -> Command {
    migration_gate(args).into_command()
}

/// Runs with `--format json`; validates the report when stdout holds one.
pub fn run(args: &[&str]) -> Run {
    run_stdin(args, None)
}

pub fn run_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    migration_gate(args)
        .args(["--format", "json"])
        .stdin(stdin)
        .validate_stdout()
        .run()
}

/// Writes `files` (relative path, contents) into a fresh temp dir.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, text) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }
    dir
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Makes a FIFO at `path` (std has no way to).
#[expect(unsafe_code, reason = "libc::mkfifo: std has no way to make a FIFO")]
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path_str(path)).expect("no NUL in the path");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// Sends `signal` (libc::SIGINT, SIGTERM) to the process `pid`.
#[expect(unsafe_code, reason = "libc::kill: std can only send SIGKILL")]
pub fn signal(pid: u32, signal: i32) {
    let pid = i32::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "kill");
}

/// Sends `signal` to `pid` unless it has exited meanwhile (a short-lived backend listed a
/// moment ago may be gone): true when it was delivered.
#[expect(unsafe_code, reason = "libc::kill: std can only send SIGKILL")]
pub fn signal_if_alive(pid: u32, signal: i32) -> bool {
    let pid = i32::try_from(pid).expect("pid fits");
    // SAFETY: kill(2) with a pid read from /proc and a valid signal number.
    unsafe { libc::kill(pid, signal) == 0 }
}
