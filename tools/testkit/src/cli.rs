//! Runs a tool's built binary as a real process for its CLI tests, and reads what it left:
//! exit code, stdout (parsed as the report), stderr; plus the workspace paths and the insta
//! settings every tool's snapshots share. What a tool's tests know about its own domain
//! (fixtures, report builders, dates) stays in `tools/<tool>/tests/cli/`.
//!
//! ```no_run
//! use testkit::cli::{Cmd, snapshot_settings};
//!
//! // In a tool's tests: `Cmd::new(env!("CARGO_BIN_EXE_sbom-diff"))`.
//! let r = Cmd::new("target/debug/sbom-diff")
//!     .args(["a.cdx.json", "b.cdx.json", "--format", "json"])
//!     .stdin(&b"{}"[..])
//!     .run();
//! assert_eq!(r.code, 1, "{}", r.stderr);
//! assert_eq!(r.checks_with("budget.new_critical", "fail").len(), 1, "{}", r.failures());
//! snapshot_settings().bind(|| insta::assert_json_snapshot!("bad", r.report()));
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// The workspace root. Tests run the binaries from there by default, so the paths in
/// reports are the repo-relative paths a user types.
pub fn root() -> PathBuf {
    // This crate is `<root>/tools/testkit`.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test corpus of real public data, `<root>/tests/corpus` (origins and licences in its
/// `SOURCES.md`): in the repository, so a clone alone runs every test.
pub fn corpus() -> PathBuf {
    root().join("tests/corpus")
}

/// The environment a developer's shell or CI may set that changes what every Gatehouse
/// tool reports; each run starts without it.
const GATEHOUSE_ENV: [&str; 3] = [
    "GATEHOUSE_PHASE",
    "TRACEPARENT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// One run of a tool's binary, being set up: from [`root`], without `GATEHOUSE_PHASE`,
/// `TRACEPARENT` and `OTEL_EXPORTER_OTLP_ENDPOINT`, with `NO_COLOR=1`, and stdin closed
/// unless [`Cmd::stdin`] gives it bytes.
#[must_use = "a Cmd does nothing until .run() or .into_command()"]
pub struct Cmd {
    command: Command,
    stdin: Option<Vec<u8>>,
    validate_stdout: bool,
}

impl Cmd {
    /// `bin` is the tool's `env!("CARGO_BIN_EXE_<tool>")`.
    pub fn new(bin: &str) -> Self {
        let mut command = Command::new(bin);
        command.current_dir(root()).env("NO_COLOR", "1");
        for var in GATEHOUSE_ENV {
            command.env_remove(var);
        }
        Cmd {
            command,
            stdin: None,
            validate_stdout: false,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Also starts without `key` (a tool's own variables: a database URL, an epoch).
    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs in `dir` instead of the workspace root.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// Pipes `bytes` into stdin; `None` leaves stdin closed.
    pub fn stdin<'a>(mut self, bytes: impl Into<Option<&'a [u8]>>) -> Self {
        self.stdin = bytes.into().map(<[u8]>::to_vec);
        self
    }

    /// When stdout is not empty, it must be one report valid against the schemas: checked as
    /// soon as the run ends, so every test asserts it without asking. For tools whose runs
    /// always ask for `--format json`.
    pub fn validate_stdout(mut self) -> Self {
        self.validate_stdout = true;
        self
    }

    /// The `std::process::Command` as set up so far, for tests that spawn or time the process
    /// themselves (stdin is left as `Command` leaves it).
    pub fn into_command(self) -> Command {
        self.command
    }

    /// Runs to completion and collects the outcome.
    pub fn run(self) -> Run {
        let Cmd {
            mut command,
            stdin,
            validate_stdout,
        } = self;
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("testkit: cannot run {program}: {e}"));
        // Written from another thread: a tool that prints before it has read all its input
        // would otherwise fill the stdout pipe while we are still blocked writing stdin.
        let writer = stdin
            .zip(child.stdin.take())
            .map(|(bytes, mut pipe)| std::thread::spawn(move || pipe.write_all(&bytes)));
        let out = child
            .wait_with_output()
            .unwrap_or_else(|e| panic!("testkit: waiting for {program}: {e}"));
        if let Some(writer) = writer {
            match writer.join().expect("writing stdin does not panic") {
                // The tool may refuse before reading everything.
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    panic!("testkit: cannot write {program}'s stdin: {e}")
                }
                _ => {}
            }
        }
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            json: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        if validate_stdout && !run.stdout.trim().is_empty() {
            // Panics, naming what is wrong, unless stdout is a valid report.
            run.report();
        }
        run
    }
}

/// The outcome of one run.
pub struct Run {
    /// The exit code; -1 when a signal ended the process.
    pub code: i32,
    /// stdout parsed as JSON; `Null` when it is empty or not JSON (see [`Run::report`]).
    pub json: Value,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as a report: panics unless it is one JSON value that validates against the
    /// envelope and the tool's data schema.
    pub fn report(&self) -> Value {
        let report: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON object ({e}):\n{}\nstderr: {}",
                self.stdout, self.stderr
            )
        });
        crate::schema::assert_valid_report(&report);
        report
    }

    /// The report's `result`; empty when there is none.
    pub fn result(&self) -> &str {
        self.json["result"].as_str().unwrap_or("")
    }

    /// The checks with this id.
    pub fn checks(&self, id: &str) -> Vec<&Value> {
        self.all_checks().filter(|c| c["id"] == id).collect()
    }

    /// The checks with this id and result.
    pub fn checks_with(&self, id: &str, result: &str) -> Vec<&Value> {
        self.all_checks()
            .filter(|c| c["id"] == id && c["result"] == result)
            .collect()
    }

    /// The first check with this id; panics, showing the report, when there is none.
    pub fn check(&self, id: &str) -> &Value {
        self.all_checks()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id} check in\n{:#}", self.json))
    }

    /// Every failing check's message, one a line: for assertion messages and `contains`.
    pub fn failures(&self) -> String {
        self.all_checks()
            .filter(|c| c["result"] == "fail")
            .map(|c| c["message"].as_str().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn all_checks(&self) -> impl Iterator<Item = &Value> {
        self.json["checks"].as_array().into_iter().flatten()
    }
}

/// The report fields that change between runs, and what a snapshot shows instead.
const REDACTIONS: [(&str, &str); 5] = [
    (".trace_id", "[trace_id]"),
    (".span_id", "[span_id]"),
    (".started_at", "[started_at]"),
    (".duration_ms", "[duration_ms]"),
    (".tool_version", "[tool_version]"),
];

/// The current insta settings plus the standard report redactions: `trace_id`, `span_id`,
/// `started_at`, `duration_ms` and `tool_version` read `[trace_id]`, … `[tool_version]`.
pub fn snapshot_settings() -> insta::Settings {
    snapshot_settings_with(&[])
}

/// [`snapshot_settings`] plus a tool's own redactions (temp paths, key ids, …); one with a
/// standard selector replaces the standard one.
pub fn snapshot_settings_with(extra: &[(&str, &str)]) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    let standard = REDACTIONS
        .iter()
        .filter(|(selector, _)| !extra.iter().any(|(s, _)| s == selector));
    for (selector, replacement) in standard.chain(extra) {
        settings.add_redaction(selector, *replacement);
    }
    settings
}
