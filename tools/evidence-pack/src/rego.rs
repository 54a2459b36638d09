//! Rego promotion policies (`gate --policy *.rego`) and their unit tests (`policy test`),
//! evaluated by regorus, Microsoft's Rego interpreter: no Go runtime, no OPA server.
//!
//! Conventions are conftest's: `deny` (a set of messages, or of objects with `msg`) and
//! `violation` block; `warn` warns; an optional `decision` rule (`"promote"`, `"block"` or
//! `"rollback"`) says rollback. `input` is the normalised view of the report set
//! (schemas/evidence-pack.policy-input.schema.json): the newest report per (agent, action),
//! the release, the environment and the gate's time.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse::time::Timestamp;
use gatehouse::{Check, Location, Status};
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::gate::{Decision, Evaluation};
use crate::reports::LoadedReport;

/// The largest policy file we read.
const MAX_POLICY: u64 = 4 * 1024 * 1024;

/// The rules a gate policy may define; it must define at least one of them.
const RESULT_RULES: [&str; 4] = ["deny", "violation", "warn", "decision"];

/// What the gate knows besides the reports, for `input`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub(crate) release: Option<String>,
    pub(crate) environment: Option<String>,
}

/// A loaded Rego gate policy: parsed, its package known, data merged in.
pub(crate) struct RegoPolicy {
    pub(crate) label: String,
    pub(crate) sha256: String,
    pub(crate) package: String,
    /// The line of each result rule's first definition, for check locations.
    rule_lines: BTreeMap<&'static str, u64>,
    engine: regorus::Engine,
}

/// The normalised `input`: the newest report per (agent, action), sorted by agent and
/// action, as the tools wrote them; the release, the environment and the gate's time.
pub(crate) fn input(reports: &[LoadedReport], ctx: &Context, now: Timestamp) -> Value {
    let mut newest: BTreeMap<(&str, &str), &LoadedReport> = BTreeMap::new();
    for r in reports {
        let key = (r.report.agent.as_str(), r.report.action.as_str());
        let t = |r: &LoadedReport| r.started_at().map_or(i64::MIN, Timestamp::unix_millis);
        match newest.get(&key) {
            // On a tie the later one counts, as in the YAML gate.
            Some(old) if t(old) > t(r) => {}
            _ => {
                newest.insert(key, r);
            }
        }
    }
    json!({
        "reports": newest.values().map(|r| r.value.clone()).collect::<Vec<_>>(),
        "release": ctx.release,
        "environment": ctx.environment,
        "now": now.to_rfc3339(),
    })
}

/// The clock regorus's time limit reads. regorus is built without its `std` feature (which
/// would print scheduler notes to stderr, breaking our one-line errors), so it is handed a
/// monotonic clock here.
struct Monotonic;

impl regorus::utils::limits::TimeSource for Monotonic {
    fn now(&self) -> Option<Duration> {
        static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        Some(START.get_or_init(std::time::Instant::now).elapsed())
    }
}

static MONOTONIC: Monotonic = Monotonic;

/// An engine with the evaluation time limit set.
fn engine(timeout: Duration) -> regorus::Engine {
    // Already set (a second engine in this process) is fine: it is the same clock.
    let _ = regorus::utils::limits::set_time_source(&MONOTONIC);
    let mut engine = regorus::Engine::new();
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: timeout,
        check_interval: NonZeroU32::MIN,
    });
    // A built-in given the wrong types is an error (as `opa eval --strict-builtin-errors`),
    // not a silently undefined rule that lets a release through.
    engine.set_strict_builtin_errors(true);
    engine
}

/// Turns a regorus error into one line naming `file:line:column`: regorus prints
/// `--> file:line:col`, the source line, a caret and `error: message`.
fn rego_error(label: &str, timeout: Duration, text: &str, limit: Option<String>) -> Error {
    if let Some(limit) = limit {
        return Error::Policy {
            path: label.to_owned(),
            line: 1,
            column: 1,
            message: format!(
                "evaluation stopped: {limit} (the policy runs longer than {}; a runaway comprehension or walk?)",
                gatehouse::duration::format_duration(timeout)
            ),
        };
    }
    let mut line = 1;
    let mut column = 1;
    let mut path = label.to_owned();
    if let Some(at) = text.find("--> ") {
        let loc = text[at + 4..].lines().next().unwrap_or("");
        let mut parts = loc.rsplitn(3, ':');
        if let (Some(c), Some(l), Some(p)) = (parts.next(), parts.next(), parts.next())
            && let (Ok(c), Ok(l)) = (c.trim().parse(), l.trim().parse())
        {
            (line, column, path) = (l, c, p.to_owned());
        }
    }
    let message = text
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("Rego error")
        .to_owned();
    Error::Policy {
        path,
        line,
        column,
        message,
    }
}

/// Maps a regorus result's error to ours.
macro_rules! rego {
    ($label:expr, $timeout:expr, $e:expr) => {
        $e.map_err(|e| {
            let limit = e
                .downcast_ref::<regorus::LimitError>()
                .map(ToString::to_string);
            rego_error($label, $timeout, &format!("{e:#}"), limit)
        })
    };
}

fn read_text(path: &Path) -> Result<(String, String, String)> {
    let input = gatehouse::input::read_limited(&gatehouse::Source::new(path), MAX_POLICY)?;
    let label = input.label();
    let sha256 = gatehouse::hash::sha256_hex(&input.bytes);
    let text = input.text()?.to_owned();
    check_nesting(&label, &text)?;
    Ok((label, sha256, text))
}

/// The line of the first rule head named `name` (a line starting with it), if any.
fn rule_line(text: &str, name: &str) -> Option<u64> {
    text.lines().enumerate().find_map(|(i, l)| {
        let rest = l.strip_prefix(name)?;
        rest.starts_with(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .then_some(i as u64 + 1)
    })
}

/// Reads and parses a policy, merges `--data` files, and checks it defines a result rule.
pub(crate) fn load(path: &Path, data: &[PathBuf], timeout: Duration) -> Result<RegoPolicy> {
    let (label, sha256, text) = read_text(path)?;
    let mut engine = engine(timeout);
    rego!(
        &label,
        timeout,
        engine.add_policy(label.clone(), text.clone())
    )?;
    for d in data {
        let input = gatehouse::input::read_limited(&gatehouse::Source::new(d), MAX_POLICY)?;
        let value: Value = serde_json::from_slice(&input.bytes)
            .map_err(|e| gatehouse::input::json_error(&input.label(), &e))?;
        if !value.is_object() {
            return Err(gatehouse::InputError::invalid(
                input.label(),
                "--data must be a JSON object (it is merged into `data`)",
            )
            .into());
        }
        rego!(
            &input.label(),
            timeout,
            engine.add_data(regorus::Value::from(value))
        )?;
    }
    let package = rego!(&label, timeout, engine.get_packages())?
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut rule_lines = BTreeMap::new();
    for name in RESULT_RULES {
        if rego!(
            &label,
            timeout,
            engine.has_declared_rule_rooted_at(&label, name)
        )? {
            rule_lines.insert(name, rule_line(&text, name).unwrap_or(1));
        }
    }
    if rule_lines.is_empty() {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("package"))
            .map_or(1, |i| i as u64 + 1);
        return Err(Error::Policy {
            path: label,
            line,
            column: 1,
            message: format!(
                "{package} defines no deny, violation, warn or decision rule: a gate policy that says nothing would always promote"
            ),
        });
    }
    Ok(RegoPolicy {
        label,
        sha256,
        package,
        rule_lines,
        engine,
    })
}

/// One message of `deny`, `violation` or `warn`: a string, or an object whose `msg` is one.
fn messages(label: &str, line: u64, rule: &str, v: &Value) -> Result<Vec<(String, Value)>> {
    let bad = |message: String| Error::Policy {
        path: label.to_owned(),
        line,
        column: 1,
        message,
    };
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => {
            return Err(bad(format!(
                "`{rule}` must be a set of messages, got {}",
                short(other)
            )));
        }
    };
    items
        .iter()
        .map(|item| match item {
            Value::String(s) => Ok((s.clone(), item.clone())),
            Value::Object(o) => match o.get("msg") {
                Some(Value::String(s)) => Ok((s.clone(), item.clone())),
                _ => Err(bad(format!(
                    "an element of `{rule}` is an object without a string `msg`: {}",
                    short(item)
                ))),
            },
            other => Err(bad(format!(
                "an element of `{rule}` is not a message (a string, or an object with `msg`): {}",
                short(other)
            ))),
        })
        .collect()
}

/// A value for an error line: at most 120 characters of its JSON.
fn short(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(120) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// The deepest bracket nesting regorus parses in reasonable time: its parser backtracks on
/// `[`/`{` (collection or comprehension), so time doubles with each level (20 levels: 12 s).
const MAX_NESTING: usize = 12;

/// Refuses a policy nested deeper than [`MAX_NESTING`] brackets (outside strings and
/// comments), naming where, before regorus parses it.
fn check_nesting(label: &str, text: &str) -> Result<()> {
    let mut depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        let mut chars = line.char_indices();
        let mut in_string: Option<char> = None;
        while let Some((col, c)) = chars.next() {
            match (in_string, c) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => in_string = None,
                (Some(_), _) => {}
                (None, '#') => break,
                (None, '"' | '`') => in_string = Some(c),
                (None, '[' | '{' | '(') => {
                    depth += 1;
                    if depth > MAX_NESTING {
                        return Err(Error::Policy {
                            path: label.to_owned(),
                            line: i as u64 + 1,
                            column: line[..col].chars().count() as u64 + 1,
                            message: format!(
                                "brackets nested more than {MAX_NESTING} deep; split the expression into helper rules"
                            ),
                        });
                    }
                }
                (None, ']' | '}' | ')') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

impl RegoPolicy {
    /// Evaluates one rule of the policy's package; undefined is `null`.
    fn rule(&mut self, name: &str, timeout: Duration) -> Result<Value> {
        if !self.rule_lines.contains_key(name) {
            return Ok(Value::Null);
        }
        let path = format!("{}.{name}", self.package);
        let line = self.rule_lines.get(name).copied().unwrap_or(1);
        let v = rego!(&self.label, timeout, self.engine.eval_rule(path)).map_err(|e| match e {
            // A time limit names no place; the rule being evaluated is the best one.
            Error::Policy {
                path,
                line: 1,
                column: 1,
                message,
            } if message.starts_with("evaluation stopped") => Error::Policy {
                path,
                line,
                column: 1,
                message: format!("`{name}`: {message}"),
            },
            e => e,
        })?;
        if v == regorus::Value::Undefined {
            return Ok(Value::Null);
        }
        serde_json::to_value(&v).map_err(|e| Error::Usage(format!("{}: {e}", self.label)))
    }

    fn loc(&self, rule: &str) -> Location {
        Location::line(
            self.label.clone(),
            self.rule_lines.get(rule).copied().unwrap_or(1),
        )
    }

    /// Applies the policy to `input` (see [`input`]).
    pub(crate) fn evaluate(
        &mut self,
        input: &Value,
        now: Timestamp,
        timeout: Duration,
    ) -> Result<Evaluation> {
        let _s = gatehouse::trace::step("rego");
        self.engine.set_input(regorus::Value::from(input.clone()));
        let deny = self.rule("deny", timeout)?;
        let violation = self.rule("violation", timeout)?;
        let warn = self.rule("warn", timeout)?;
        let decision_rule = self.rule("decision", timeout)?;
        let line = |rule: &str| self.rule_lines.get(rule).copied().unwrap_or(1);
        let mut blocking = messages(&self.label, line("deny"), "deny", &deny)?;
        blocking.extend(messages(
            &self.label,
            line("violation"),
            "violation",
            &violation,
        )?);
        let warnings = messages(&self.label, line("warn"), "warn", &warn)?;
        let said = match &decision_rule {
            Value::Null => None,
            Value::String(s) => Some(match s.as_str() {
                "promote" => Decision::Promote,
                "block" => Decision::Block,
                "rollback" => Decision::Rollback,
                _ => {
                    return Err(self.decision_error(&decision_rule));
                }
            }),
            other => return Err(self.decision_error(other)),
        };
        // Deny always blocks: a `decision` of promote cannot overrule a deny.
        let decision = match said {
            Some(Decision::Promote) | None if !blocking.is_empty() => Decision::Block,
            Some(d) => d,
            None => Decision::Promote,
        };
        let mut checks = Vec::new();
        let mut section = gatehouse::Section::new("Policy results", &["rule", "message"]);
        for (msg, item) in &blocking {
            let rule = if deny.as_array().is_some_and(|d| d.contains(item)) {
                "deny"
            } else {
                "violation"
            };
            checks.push(Check::fail(CheckId::Deny.as_str(), msg).with_location(self.loc(rule)));
            section.row(vec![rule.to_owned(), msg.clone()]);
        }
        for (msg, _) in &warnings {
            checks.push(Check::warn(CheckId::Warn.as_str(), msg).with_location(self.loc("warn")));
            section.row(vec!["warn".to_owned(), msg.clone()]);
        }
        let summary = match decision {
            Decision::Promote if warnings.is_empty() => {
                format!("promote: {} allows the release", self.package)
            }
            Decision::Promote => format!(
                "promote, with {} {}",
                warnings.len(),
                gatehouse::plural(warnings.len(), "warning", "warnings")
            ),
            _ if blocking.is_empty() => {
                format!("{}: the policy's decision rule says so", decision.as_str())
            }
            _ => format!(
                "{}: {}",
                decision.as_str(),
                blocking
                    .iter()
                    .map(|(m, _)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        let check = if decision == Decision::Promote {
            Check::ok(CheckId::Decision.as_str()).with_message(summary.clone())
        } else {
            Check::fail(CheckId::Decision.as_str(), summary.clone())
        };
        checks.push(check.with_location(self.loc("decision")));
        let reports = input["reports"].as_array().map_or(0, Vec::len);
        let data = json!({
            "decision": decision.as_str(),
            "policy": {
                "path": self.label, "sha256": self.sha256, "language": "rego",
                "package": self.package,
            },
            "evaluated_at": now.to_rfc3339(),
            "reports": reports,
            "deny": blocking.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            "warn": warnings.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
            "decision_rule": decision_rule,
        });
        Ok(Evaluation {
            decision,
            checks,
            data,
            summary,
            section,
        })
    }

    fn decision_error(&self, got: &Value) -> Error {
        Error::Policy {
            path: self.label.clone(),
            line: self.rule_lines.get("decision").copied().unwrap_or(1),
            column: 1,
            message: format!(
                "`decision` must be \"promote\", \"block\" or \"rollback\", got {got}"
            ),
        }
    }
}

/// The outcome of one `test_` rule, as `opa test` reports it.
#[derive(Debug, Clone)]
pub(crate) struct TestOutcome {
    /// `data.<package>.<rule>`
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) line: u64,
    /// PASS (true), FAIL (false or undefined), ERROR (the evaluation failed), SKIPPED
    /// (`todo_test_`).
    pub(crate) status: &'static str,
    pub(crate) message: Option<String>,
}

/// The `.rego` files under `dir` (recursively, sorted; hidden entries left out), or `dir`
/// itself when it is a file.
fn rego_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if dir.is_file() {
        out.push(dir.to_owned());
        return Ok(());
    }
    for (p, name) in gatehouse::input::list_dir(dir)? {
        if p.is_dir() {
            rego_files(&p, out)?;
        } else if name.ends_with(".rego") && p.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

/// Test rule names defined in a module: lines starting `test_…` or `todo_test_…`.
fn test_rules(text: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for (i, l) in text.lines().enumerate() {
        if !(l.starts_with("test_") || l.starts_with("todo_test_")) {
            continue;
        }
        let name: String = l
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, i as u64 + 1));
        }
    }
    out
}

/// Runs every `test_` rule of the `.rego` files under the paths, as `opa test` does: all
/// files are loaded together (tests import the policy they test); a test passes when it
/// evaluates to true, fails when false or undefined.
pub(crate) fn run_tests(
    paths: &[PathBuf],
    data: &[PathBuf],
    timeout: Duration,
) -> Result<Vec<TestOutcome>> {
    let mut files = Vec::new();
    for p in paths {
        rego_files(p, &mut files)?;
    }
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(gatehouse::InputError::invalid(
            shown.join(", "),
            "no .rego files here: nothing to test",
        )
        .into());
    }
    let mut engine = engine(timeout);
    let mut modules = Vec::new();
    for f in &files {
        let (label, _, text) = read_text(f)?;
        let package = rego!(
            &label,
            timeout,
            engine.add_policy(label.clone(), text.clone())
        )?;
        modules.push((label, package, text));
    }
    for d in data {
        let input = gatehouse::input::read_limited(&gatehouse::Source::new(d), MAX_POLICY)?;
        let value: Value = serde_json::from_slice(&input.bytes)
            .map_err(|e| gatehouse::input::json_error(&input.label(), &e))?;
        rego!(
            &input.label(),
            timeout,
            engine.add_data(regorus::Value::from(value))
        )?;
    }
    let mut out = Vec::new();
    for (label, package, text) in &modules {
        for (rule, line) in test_rules(text) {
            let name = format!("{package}.{rule}");
            let outcome = |status, message| TestOutcome {
                name: name.clone(),
                file: label.clone(),
                line,
                status,
                message,
            };
            if rule.starts_with("todo_") {
                out.push(outcome("SKIPPED", None));
                continue;
            }
            let mut e = engine.clone();
            e.set_input(regorus::Value::Undefined);
            out.push(match e.eval_rule(name.clone()) {
                Ok(regorus::Value::Bool(true)) => outcome("PASS", None),
                Ok(regorus::Value::Undefined) => outcome("FAIL", Some("undefined".to_owned())),
                Ok(v) => outcome("FAIL", Some(format!("{v}"))),
                Err(err) => {
                    let limit = err
                        .downcast_ref::<regorus::LimitError>()
                        .map(ToString::to_string);
                    let e = rego_error(label, timeout, &format!("{err:#}"), limit);
                    outcome("ERROR", Some(e.to_string()))
                }
            });
        }
    }
    Ok(out)
}

/// The checks and data of a `policy test` run.
pub(crate) fn test_report(outcomes: &[TestOutcome]) -> (Vec<Check>, Value, String) {
    let mut checks = Vec::new();
    let count = |s: &str| outcomes.iter().filter(|o| o.status == s).count();
    for o in outcomes {
        let loc = Location::line(o.file.clone(), o.line);
        let check = match o.status {
            "PASS" => Check::ok(CheckId::PolicyTest.as_str()).with_message(&o.name),
            "SKIPPED" => Check::skip(CheckId::PolicyTest.as_str(), format!("{}: todo", o.name)),
            _ => Check::new(CheckId::PolicyTest.as_str(), Status::Fail).with_message(format!(
                "{}: {} ({})",
                o.name,
                o.status,
                o.message.as_deref().unwrap_or("")
            )),
        };
        checks.push(check.with_location(loc));
    }
    let (pass, fail, error, skip) = (
        count("PASS"),
        count("FAIL"),
        count("ERROR"),
        count("SKIPPED"),
    );
    let summary = format!(
        "PASS: {pass}/{}{}{}{}",
        outcomes.len(),
        if fail > 0 {
            format!(", FAIL: {fail}")
        } else {
            String::new()
        },
        if error > 0 {
            format!(", ERROR: {error}")
        } else {
            String::new()
        },
        if skip > 0 {
            format!(", SKIPPED: {skip}")
        } else {
            String::new()
        },
    );
    let tests: Vec<Value> = outcomes
        .iter()
        .map(|o| json!({"name": o.name, "file": o.file, "line": o.line, "status": o.status, "message": o.message}))
        .collect();
    let data = json!({
        "tests": tests, "passed": pass, "failed": fail, "errored": error, "skipped": skip,
    });
    (checks, data, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rule_heads_and_tests() {
        let text = "package p\ndeny contains msg if { false }\ndenylist := 1\ntest_a if { true }\ntest_a if { false }\ntodo_test_b if { true }\n";
        assert_eq!(rule_line(text, "deny"), Some(2));
        assert_eq!(rule_line(text, "warn"), None);
        assert_eq!(
            test_rules(text),
            vec![("test_a".to_owned(), 4), ("todo_test_b".to_owned(), 6)]
        );
    }
}
