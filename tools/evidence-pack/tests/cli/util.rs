//! Helpers shared by the CLI tests: run the real binary (through `testkit::cli`), make
//! reports, find the peers.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
pub use testkit::cli::{Run, root};

pub const BIN: &str = env!("CARGO_BIN_EXE_evidence-pack");

pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// The venv scripts/setup.sh makes, with securesystemslib and in-toto.
pub fn python() -> PathBuf {
    let p = root().join(".tools/venv/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh (it installs securesystemslib and in-toto)",
        p.display()
    );
    p
}

/// `evidence-pack` in `dir`, without a `SOURCE_DATE_EPOCH` from the developer's shell.
fn evidence_pack(dir: &Path) -> testkit::cli::Cmd {
    testkit::cli::Cmd::new(BIN)
        .current_dir(dir)
        .env_remove("SOURCE_DATE_EPOCH")
}

/// As a plain `Command`, for tests that spawn it themselves.
pub fn cmd(dir: &Path) -> Command {
    evidence_pack(dir).into_command()
}

/// Runs `evidence-pack ARGS --format json` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Run {
    run_env(dir, args, &[])
}

pub fn run_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = json_run(dir, args);
    for (key, value) in env {
        cmd = cmd.env(key, value);
    }
    cmd.run()
}

/// Runs with `stdin` piped in.
pub fn run_stdin(dir: &Path, args: &[&str], stdin: &[u8]) -> Run {
    json_run(dir, args).stdin(stdin).run()
}

/// `evidence-pack ARGS --format json` in `dir`; stdout, when there is any, is a valid report.
fn json_run(dir: &Path, args: &[&str]) -> testkit::cli::Cmd {
    evidence_pack(dir)
        .args(args)
        .args(["--format", "json"])
        .validate_stdout()
}

/// A Gatehouse report as another tool would print it.
pub fn report(agent: &str, action: &str, result: &str, started_at: &str, data: Value) -> Value {
    let checks = match result {
        "ok" => json!([{"id": "x.ok", "result": "ok"}]),
        "fail" => {
            json!([{"id": "budget.new_critical", "result": "fail", "message": "CVE-2026-1234"}])
        }
        _ => json!([]),
    };
    let mut r = json!({
        "schema": "gatehouse.report/v1",
        "agent": agent,
        "action": action,
        "phase": null,
        "result": result,
        "summary": format!("{agent} {action}: {result}"),
        "checks": checks,
        "data": data,
        "evidence": [],
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "started_at": started_at,
        "duration_ms": 12,
        "tool_version": "0.1.0"
    });
    if result == "error" {
        r["error"] = json!({"kind": "io", "message": "db.example:5432: connection refused"});
    }
    r
}

/// Writes `value` as pretty JSON to `dir/name`.
pub fn write_json(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(value).expect("json")).expect("writes");
    p
}

/// The four reports `demo_policy()` requires, for a good release, at 10:00.
pub fn good_reports(dir: &Path) {
    std::fs::create_dir_all(dir).expect("mkdir");
    write_json(
        dir,
        "alert-lint-check.json",
        &report(
            "alert-lint",
            "check",
            "ok",
            "2026-11-24T10:00:00Z",
            json!({"totals": {"alerts": 14}}),
        ),
    );
    write_json(
        dir,
        "sbom-diff-diff.json",
        &report("sbom-diff", "diff", "ok", "2026-11-24T10:01:00Z", json!({})),
    );
    write_json(
        dir,
        "migration-gate-lint.json",
        &report(
            "migration-gate",
            "lint",
            "ok",
            "2026-11-24T10:02:00Z",
            json!({}),
        ),
    );
    write_json(
        dir,
        "migration-gate-dry-run.json",
        &report(
            "migration-gate",
            "dry-run",
            "ok",
            "2026-11-24T10:03:00Z",
            json!({}),
        ),
    );
}

/// The four-requirement policy `good_reports` satisfies: the demo's policy as it was before
/// it grew to the seed's full rule (tests/fixtures/promote-four.yaml). Tests of the demo's
/// real policy, examples/release/promote.yaml, use the report set in
/// tests/fixtures/report-sets/good/.
pub fn demo_policy() -> PathBuf {
    fixtures().join("promote-four.yaml")
}

/// A fresh key pair in `dir/keys` (ed25519 unless told otherwise).
pub fn keygen(dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf) {
    let keys = dir.join("keys");
    let mut args = vec!["keygen", "--out-dir", keys.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    let r = run(dir, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    (keys.join("gatehouse.key"), keys.join("gatehouse.pub"))
}

/// Builds a pack from the good reports in `dir/reports` (+ an artifact) at a fixed epoch.
/// `build --release v3.0.0 --key KEY --reports reports` followed by `extra`: the command
/// line most build tests start from.
pub fn build_args<'a>(key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "build",
        "--release",
        "v3.0.0",
        "--key",
        key,
        "--reports",
        "reports",
    ];
    args.extend_from_slice(extra);
    args
}

pub fn build_pack(dir: &Path, key: &Path, out: &str) -> Run {
    good_reports(&dir.join("reports"));
    let art = dir.join("sbom.cdx.json");
    if !art.exists() {
        std::fs::write(
            &art,
            "{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\",\"components\":[]}\n",
        )
        .expect("writes");
    }
    let policy = demo_policy();
    run_env(
        dir,
        &build_args(
            key.to_str().expect("utf-8"),
            &[
                "--artifact",
                "sbom.cdx.json",
                "--policy",
                policy.to_str().expect("utf-8"),
                "-o",
                out,
            ],
        ),
        &[("SOURCE_DATE_EPOCH", "1795514400")],
    )
}

/// Runs a Python snippet in the venv with `args`; returns (exit code, stdout+stderr).
pub fn py(dir: &Path, code: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(python())
        .current_dir(dir)
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python runs");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}
