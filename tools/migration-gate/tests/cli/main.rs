//! CLI tests: the real `migration-gate` binary as a process, asserting exit code, stdout JSON
//! (validated against the report and data schemas) and the one stderr line. One module per
//! command, plus the corpus tests (a real PostgreSQL proves which files are valid; squawk).

mod corpus;
mod dry_run;
mod lint;
mod parity;
mod tls;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// One finished run.
pub struct Run {
    pub code: i32,
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The checks with this id.
    pub fn checks(&self, id: &str) -> Vec<&Value> {
        self.json["checks"]
            .as_array()
            .map(|a| a.iter().filter(|c| c["id"] == id).collect())
            .unwrap_or_default()
    }

    pub fn check(&self, id: &str) -> &Value {
        self.checks(id)
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no {id} check in\n{:#}", self.json))
    }

    pub fn result(&self) -> &str {
        self.json["result"].as_str().unwrap_or("")
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn examples() -> PathBuf {
    workspace().join("examples")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn corpus() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .to_path_buf()
}

pub fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_migration-gate"));
    // From the workspace root, so `examples/...` paths in reports read as in the docs.
    cmd.args(args)
        .current_dir(workspace())
        .env_remove("GATEHOUSE_PHASE")
        .env_remove("TRACEPARENT")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("MIGRATION_GATE_DATABASE_URL")
        .env_remove("PGPASSWORD")
        .env_remove("PGSSLMODE")
        .env_remove("PGSSLROOTCERT")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs with `--format json`; validates the report when stdout holds one.
pub fn run(args: &[&str]) -> Run {
    run_stdin(args, None)
}

pub fn run_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--format", "json"]);
    let mut cmd = command(&all);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary runs");
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(bytes).expect("stdin");
    }
    let out = child.wait_with_output().expect("waits");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json: Value = if stdout.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}"))
    };
    if !json.is_null() {
        testkit::schema::assert_valid_report(&json);
    }
    Run {
        code: out.status.code().unwrap_or(-1),
        json,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// insta settings that hide what changes between runs.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots"));
    s.add_redaction(".trace_id", "[trace_id]");
    s.add_redaction(".span_id", "[span_id]");
    s.add_redaction(".started_at", "[started_at]");
    s.add_redaction(".duration_ms", "[duration_ms]");
    s.add_redaction(".tool_version", "[tool_version]");
    s
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
