//! The frame of every tool's `main`: `init` before the work, `emit` after it. `emit` is the
//! one door to stdout: it prints the report (or a generated artifact), writes `--report`,
//! prints the one error line on stderr, exports the run span, and picks the exit code.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use crate::cli::CommonArgs;
use crate::redact::redact;
use crate::render::{self, RenderOptions, RuleDoc};
use crate::report::{Outcome, Report};

/// Sets up logging and a panic hook that prints one line instead of a backtrace.
pub fn init(agent: &'static str, common: &CommonArgs) {
    crate::log::init(agent, common);
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        #[expect(
            clippy::print_stderr,
            reason = "the panic hook is the last resort for the one error line"
        )]
        {
            eprintln!(
                "{agent}: internal error: {}{at} (this is a bug; please report it)",
                redact(&msg)
            );
        }
        // Exit 2 ("could not judge"), never 101: a crash must not look like a verdict.
        #[expect(
            clippy::exit,
            reason = "a panic must still end with the documented exit code"
        )]
        std::process::exit(2);
    }));
}

/// Prints the report in the chosen format and returns the exit code for its result.
pub fn emit(common: &CommonArgs, report: Report, rules: &[RuleDoc]) -> ExitCode {
    let report = write_report_file(common, finalize(common, report));
    let code = report.result.exit_code();
    let format = common.format.resolve(std::io::stdout().is_terminal());
    let opts = RenderOptions {
        color: crate::log::color_enabled(std::io::stdout().is_terminal()),
        verbose: common.verbose > 0,
    };
    stdout(render::render(&report, format, rules, opts).as_bytes());
    export(&report);
    ExitCode::from(code)
}

/// For commands that generate an artifact: the artifact goes to stdout (when the tool was
/// not given `-o`), the report only to `--report FILE`.
pub fn emit_artifact(common: &CommonArgs, report: Report, artifact: Option<&[u8]>) -> ExitCode {
    let report = write_report_file(common, finalize(common, report));
    let code = report.result.exit_code();
    if let (Some(bytes), Outcome::Ok | Outcome::Fail) = (artifact, report.result) {
        stdout(bytes);
    }
    export(&report);
    ExitCode::from(code)
}

/// Fills the phase and removes secrets from everything the report carries, so no renderer
/// and no `--report` file can show one; prints the error line of a run that cannot judge.
fn finalize(common: &CommonArgs, mut report: Report) -> Report {
    if report.phase.is_none() {
        report.phase.clone_from(&common.phase);
    }
    scrub(&mut report.summary);
    for c in &mut report.checks {
        if let Some(m) = &mut c.message {
            scrub(m);
        }
        if let Some(l) = &mut c.location {
            scrub(&mut l.file);
        }
    }
    for s in &mut report.sections {
        s.rows.iter_mut().flatten().for_each(scrub);
    }
    redact_json(&mut report.data);
    if let Some(err) = &mut report.error {
        scrub(&mut err.message);
        error_line(&report.agent, &err.message);
    }
    report
}

fn scrub(s: &mut String) {
    if let std::borrow::Cow::Owned(clean) = redact(s) {
        *s = clean;
    }
}

fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => scrub(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_json),
        _ => {}
    }
}

/// Writes `--report FILE`. When that fails the run could not deliver its verdict, so the
/// report itself becomes an error (and says why) before anything is rendered.
fn write_report_file(common: &CommonArgs, mut report: Report) -> Report {
    let Some(path) = &common.report else {
        return report;
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    if let Err(e) = write_atomic(path, text.as_bytes()) {
        let message = format!("{}: cannot write the report: {e}", path.display());
        error_line(&report.agent, &message);
        report.result = Outcome::Error;
        report.error = Some(crate::report::ErrorInfo {
            kind: "io".to_owned(),
            message,
        });
    }
    report
}

/// Writes a file via a temporary sibling and a rename, so readers never see half a file
/// and an existing file is replaced only by a complete one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        // create_new: never follow a symlink planted at the temporary name.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The one line a user reads when a run cannot judge: `agent: file:line: what`.
pub fn error_line(agent: &str, message: &str) {
    let one_line = message.replace('\n', " ");
    #[expect(
        clippy::print_stderr,
        reason = "the error line is the documented output for exit 2"
    )]
    {
        eprintln!("{agent}: {}", redact(&one_line));
    }
}

/// Writes to stdout; a closed pipe ends the output quietly (the exit code still tells).
fn stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes).and_then(|()| out.flush());
}

fn export(report: &Report) {
    match crate::otlp::export_run(report, &crate::trace::recorded_steps()) {
        Ok(_) => {}
        Err(e) => tracing::warn!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Section;
    use crate::report::Check;

    #[test]
    fn nothing_in_a_report_keeps_a_password() {
        let mut b = Report::start("t", "a");
        b.check(Check::fail("db.reach", "cannot connect to postgres://app:hunter2@db/app"))
            .data(serde_json::json!({"url": "postgres://app:hunter2@db/app", "list": ["password=hunter2"]}))
            .summary("dsn host=db password=hunter2");
        let mut s = Section::new("x", &["url"]);
        s.row(vec!["redis://:hunter2@r:6379".into()]);
        b.section(s);
        let r = finalize(&CommonArgs::default(), b.finish());
        let all = format!(
            "{} {:?}",
            serde_json::to_string(&r).expect("json"),
            r.sections
        );
        assert!(!all.contains("hunter2"), "{all}");
    }

    #[test]
    fn an_unwritable_report_file_turns_the_run_into_an_error() {
        let common = CommonArgs {
            report: Some("/nonexistent-dir/r.json".into()),
            ..CommonArgs::default()
        };
        let r = write_report_file(&common, Report::start("t", "a").finish());
        assert_eq!(r.result, Outcome::Error);
        assert_eq!(r.error.as_ref().map(|e| e.kind.as_str()), Some("io"));
    }
}
