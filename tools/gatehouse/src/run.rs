//! The frame of every tool's `main`: `init` before the work, `emit` after it. `emit` is the
//! one door to stdout: it prints the report (or a generated artifact), writes `--report`,
//! prints the one error line on stderr, exports the run span, and picks the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
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
    // write_atomic refuses a path that is an input of this run.
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
///
/// Refuses (an `AlreadyExists` error) to replace a file this run read as input: `-o key.pem`
/// after `--key key.pem` must not destroy the key ([`crate::input::note_input`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Err(e) = crate::input::refuse_input_overwrite(path) {
        let why = match e {
            crate::input::InputError::Invalid { message, .. } => message,
            other => other.to_string(),
        };
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, why));
    }
    let (tmp, mut f) = create_temp_sibling(path, 0o666)?;
    let result = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A new, empty temporary file beside `path` (`.NAME.tmpPID.N`), created with `O_EXCL` and
/// `mode` (before the umask): never a symlink planted at that name, never another run's
/// file, and a private key is never readable by others, not even for a moment. The caller
/// writes it, syncs it and renames it over `path`, or removes it on failure.
pub fn create_temp_sibling(path: &Path, mode: u32) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut attempt = 0u32;
    loop {
        let tmp = dir.join(format!(".{name}.tmp{}.{attempt}", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Appends `line` (ending in a newline) to the end of `file` whole, or not at all: a write
/// that fails part-way (a full disk, a file size limit) is cut back to where the file
/// ended, so an append-only log never keeps a torn line that blocks every later append.
pub fn append_whole_line(file: &mut std::fs::File, line: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek as _, SeekFrom};
    let end = file.seek(SeekFrom::End(0))?;
    if let Err(e) = file.write_all(line).and_then(|()| file.sync_data()) {
        let message = match file.set_len(end).and_then(|()| file.sync_data()) {
            Ok(()) => format!("cannot append ({e}); the log is as it was"),
            Err(r) => format!(
                "cannot append ({e}) and cannot cut the partial line back ({r}): the last line may be torn"
            ),
        };
        return Err(std::io::Error::new(e.kind(), message));
    }
    Ok(())
}

/// The one line a user reads when a run cannot judge: `agent: file:line: what`.
/// With `--log-format json` it is a JSON object like every other log line.
pub fn error_line(agent: &str, message: &str) {
    let one_line = message.replace(['\r', '\n'], " ");
    let line = crate::log::error_text(agent, &redact(&one_line));
    #[expect(
        clippy::print_stderr,
        reason = "the error line is the documented output for exit 2"
    )]
    {
        eprintln!("{line}");
    }
}

/// Parses the command line like `C::parse()`, except that a usage error is the documented
/// one line on stderr (what is wrong, clap's tip, where help is), plus an error report on
/// stdout when `--format json` was asked for; exit 2. `--help` and `--version` print as
/// clap prints them (exit 0).
pub fn parse_args<C: clap::Parser>(agent: &'static str) -> C {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    match C::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => exit_on_usage_error::<C>(agent, &argv, &e),
    }
}

fn exit_on_usage_error<C: clap::CommandFactory>(
    agent: &'static str,
    argv: &[std::ffi::OsString],
    e: &clap::Error,
) -> ! {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        #[expect(clippy::exit, reason = "help and version end the run, as with clap")]
        std::process::exit(0);
    }
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let flag = |name: &str| {
        args.iter().enumerate().find_map(|(i, a)| {
            a.strip_prefix(&format!("--{name}="))
                .map(str::to_owned)
                .or_else(|| (a == &format!("--{name}")).then(|| args.get(i + 1).cloned())?)
        })
    };
    crate::log::set_json_lines(flag("log-format").as_deref() == Some("json"));
    let message = usage_line(agent, &e.render().to_string());
    error_line(agent, &message);
    if flag("format").as_deref() == Some("json") {
        let command = C::command();
        let action = args
            .iter()
            .find(|a| command.find_subcommand(a.as_str()).is_some())
            .cloned()
            .unwrap_or_else(|| agent.to_owned());
        let mut b = Report::start(agent, &action);
        b.error("usage", &message).summary(message.clone());
        let mut text = serde_json::to_string(&b.finish()).unwrap_or_default();
        text.push('\n');
        stdout(text.as_bytes());
    }
    #[expect(
        clippy::exit,
        reason = "a usage error ends the run with exit 2, as with clap"
    )]
    std::process::exit(2);
}

/// clap's multi-line usage error as one line: the error, its tip, and where help is.
fn usage_line(agent: &str, rendered: &str) -> String {
    let mut what: Option<String> = None;
    let mut listing = false;
    let mut listed = 0;
    let mut tip = None;
    for line in rendered.lines().map(str::trim) {
        match &mut what {
            None if !line.is_empty() => {
                let first = line.strip_prefix("error: ").unwrap_or(line);
                // "the following required arguments were not provided:" lists them below.
                listing = first.ends_with(':');
                what = Some(first.trim_end_matches(':').to_owned());
            }
            Some(w) if listing && !line.is_empty() => {
                w.push_str(if listed == 0 { ": " } else { ", " });
                w.push_str(line);
                listed += 1;
            }
            _ => {
                listing = false;
                if let Some(t) = line.strip_prefix("tip: ") {
                    tip.get_or_insert(t);
                }
            }
        }
    }
    let mut out = what.unwrap_or_else(|| "invalid arguments".to_owned());
    if let Some(t) = tip {
        out.push_str(&format!(" (tip: {t})"));
    }
    out.push_str(&format!("; see '{agent} --help'"));
    out
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
    fn a_usage_error_is_one_line_with_the_tip() {
        let rendered = "error: unexpected argument '--frobnicate' found\n\n  tip: to pass '--frobnicate' as a value, use '-- --frobnicate'\n\nUsage: alert-lint check [OPTIONS] <PATHS>...\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_line("alert-lint", rendered),
            "unexpected argument '--frobnicate' found (tip: to pass '--frobnicate' as a value, use '-- --frobnicate'); see 'alert-lint --help'"
        );
    }

    #[test]
    fn missing_arguments_are_named_on_the_one_line() {
        let rendered = "error: the following required arguments were not provided:\n  <OLD>\n  <NEW>\n\nUsage: sbom-diff <OLD> <NEW>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            usage_line("sbom-diff", rendered),
            "the following required arguments were not provided: <OLD>, <NEW>; see 'sbom-diff --help'"
        );
    }

    #[test]
    fn a_report_may_not_replace_an_input_of_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let input = dir.path().join("rules.yaml");
        std::fs::write(&input, "groups: []\n").expect("write");
        crate::input::read(&crate::input::Source::new(&input)).expect("read");
        let common = CommonArgs {
            report: Some(dir.path().join("./rules.yaml")),
            ..CommonArgs::default()
        };
        let r = write_report_file(&common, Report::start("t", "a").finish());
        assert_eq!(r.result, Outcome::Error);
        assert_eq!(
            std::fs::read_to_string(&input).expect("read"),
            "groups: []\n"
        );
        let link = dir.path().join("link.yaml");
        std::os::unix::fs::symlink(&input, &link).expect("symlink");
        assert!(write_atomic(&link, b"x").is_err());
        assert!(write_atomic(&dir.path().join("other.json"), b"x").is_ok());
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
