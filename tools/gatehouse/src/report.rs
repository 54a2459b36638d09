//! The report envelope every tool prints (DESIGN.md, "The report envelope") and the builder
//! that fills it: `Report::start(agent, action)` → checks → `finish()`.
//!
//! `finish` is the only place that decides `result` and therefore the exit code.

use std::path::Path;
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hash;

use crate::time::Timestamp;
use crate::trace;

/// The envelope's schema identifier; bumped only for incompatible changes.
pub const SCHEMA: &str = "gatehouse.report/v1";

/// The version every Gatehouse tool reports (the workspace shares one version).
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The verdict of a whole run; it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every check passed or warned.
    Ok,
    /// At least one check failed: the gate says no.
    Fail,
    /// The tool could not judge (bad input, unreachable server).
    Error,
}

impl Outcome {
    /// 0 for ok, 1 for fail, 2 for error (DESIGN.md).
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Ok => 0,
            Outcome::Fail => 1,
            Outcome::Error => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "fail",
            Outcome::Error => "error",
        }
    }
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// Where in an input a check points: `file` as the user named it, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Hash)]
pub struct Location {
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
}

impl Location {
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(file: impl Into<String>, line: u64, column: u64) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }

    pub fn line(file: impl Into<String>, line: u64) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// One judged thing. Build with [`Check::ok`], [`Check::fail`], … and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub id: String,
    pub result: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl Check {
    pub fn new(id: impl Into<String>, result: Status) -> Self {
        Check {
            id: id.into(),
            result,
            observed: None,
            limit: None,
            message: None,
            location: None,
        }
    }

    pub fn ok(id: impl Into<String>) -> Self {
        Check::new(id, Status::Ok)
    }

    pub fn fail(id: impl Into<String>, message: impl Into<String>) -> Self {
        Check::new(id, Status::Fail).with_message(message)
    }

    pub fn warn(id: impl Into<String>, message: impl Into<String>) -> Self {
        Check::new(id, Status::Warn).with_message(message)
    }

    pub fn skip(id: impl Into<String>, message: impl Into<String>) -> Self {
        Check::new(id, Status::Skip).with_message(message)
    }

    /// A numeric comparison: `fail` when `observed > limit`, else `ok`. A value that is not
    /// a number (NaN, say an empty histogram's p99) fails: a gate never passes on no data.
    pub fn at_most(id: impl Into<String>, observed: f64, limit: f64) -> Self {
        Check::compare(id, observed, limit, observed <= limit)
    }

    /// A numeric comparison: `fail` when `observed < limit`, else `ok`; NaN fails.
    pub fn at_least(id: impl Into<String>, observed: f64, limit: f64) -> Self {
        Check::compare(id, observed, limit, observed >= limit)
    }

    fn compare(id: impl Into<String>, observed: f64, limit: f64, holds: bool) -> Self {
        let status = if holds { Status::Ok } else { Status::Fail };
        let c = Check::new(id, status).with_numbers(observed, limit);
        if observed.is_nan() || limit.is_nan() {
            c.with_status(Status::Fail)
                .with_message("no number to compare (NaN)")
        } else {
            c
        }
    }

    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    pub fn with_observed(mut self, observed: impl Into<Value>) -> Self {
        self.observed = Some(observed.into());
        self
    }

    pub fn with_limit(mut self, limit: impl Into<Value>) -> Self {
        self.limit = Some(limit.into());
        self
    }

    /// Sets `observed` and `limit`, writing whole numbers as integers.
    pub fn with_numbers(self, observed: f64, limit: f64) -> Self {
        self.with_observed(number(observed))
            .with_limit(number(limit))
    }

    pub fn with_location(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn with_status(mut self, result: Status) -> Self {
        self.result = result;
        self
    }
}

/// Whether `id` is a well-formed check id: the pattern `schemas/report.schema.json` gives
/// `checks[].id`, `^[a-z][a-z0-9_-]*([./][a-z0-9_-]+)*$`, by hand, so that gatehouse needs
/// no regex crate. A unit test pins the schema's pattern string to this function.
pub fn is_valid_check_id(id: &str) -> bool {
    // `.` and `/` are not in the segment class, so splitting on them is unambiguous.
    let in_class = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-';
    let mut segments = id.split(['.', '/']);
    let first = segments.next().unwrap_or_default();
    first.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && first.bytes().all(in_class)
        && segments.all(|s| !s.is_empty() && s.bytes().all(in_class))
}

/// A JSON number for `x`: an integer when `x` is whole, so `0` does not print as `0.0`.
pub fn number(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "whole and within i64 range"
        )]
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// A file the verdict rests on, with its digest, so the evidence pack can prove it later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

impl Evidence {
    /// Digests `bytes` already in memory, recorded under `path` as the user named it.
    pub fn of_bytes(path: impl Into<String>, bytes: &[u8]) -> Self {
        Evidence {
            path: path.into(),
            sha256: hash::sha256_hex(bytes),
            bytes: bytes.len() as u64,
        }
    }

    /// Reads and digests a file.
    pub fn of_file(path: &Path) -> std::io::Result<Self> {
        let (sha256, bytes) = hash::sha256_file(path)?;
        Ok(Evidence {
            path: path.display().to_string(),
            sha256,
            bytes,
        })
    }
}

/// Why a run could not judge: `kind` is a stable machine-readable category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub kind: String,
    pub message: String,
}

/// A tool's error that can end a run: its `Display` is the one line the user reads and
/// `kind()` becomes `error.kind` in the report.
pub trait Failure: std::fmt::Display {
    fn kind(&self) -> &'static str;
}

/// A table a tool adds to its text and markdown output (e.g. sbom-diff's upgraded
/// components). JSON carries the same facts in `data`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Section {
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Rows beyond this many are summarised as "… and N more" in text and markdown.
    pub max_rows: Option<usize>,
}

impl Section {
    pub fn new(title: impl Into<String>, headers: &[&str]) -> Self {
        Section {
            title: title.into(),
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
            max_rows: None,
        }
    }

    pub fn row(&mut self, cells: Vec<String>) -> &mut Self {
        self.rows.push(cells);
        self
    }

    pub fn with_max_rows(mut self, n: usize) -> Self {
        self.max_rows = Some(n);
        self
    }

    pub(crate) fn shown(&self) -> (&[Vec<String>], usize) {
        let n = self.max_rows.unwrap_or(usize::MAX).min(self.rows.len());
        (&self.rows[..n], self.rows.len() - n)
    }
}

/// The report envelope. Field order is the serialization order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub agent: String,
    pub action: String,
    #[serde(default)]
    pub phase: Option<String>,
    pub result: Outcome,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub checks: Vec<Check>,
    #[serde(default)]
    pub data: Value,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    #[serde(default)]
    pub trace_id: String,
    #[serde(default)]
    pub span_id: String,
    #[serde(default)]
    pub started_at: String,
    #[serde(default)]
    pub duration_ms: u64,
    #[serde(default)]
    pub tool_version: String,
    /// Extra tables for the text and markdown renderers; never serialized.
    #[serde(skip)]
    pub sections: Vec<Section>,
}

impl Report {
    /// Starts a report for `agent` (the tool's name) doing `action` (the subcommand).
    pub fn start(agent: &str, action: &str) -> ReportBuilder {
        ReportBuilder {
            agent: agent.to_owned(),
            action: action.to_owned(),
            phase: None,
            summary: None,
            checks: Vec::new(),
            data: Value::Object(serde_json::Map::new()),
            evidence: Vec::new(),
            error: None,
            sections: Vec::new(),
            started_at: SystemTime::now(),
            started: Instant::now(),
        }
    }

    /// The frame of every command: start a report, let `work` judge into it, turn the error
    /// it may return into `result: "error"`, finish. (An async command uses
    /// [`Report::start`] and [`ReportBuilder::conclude`].)
    pub fn judge<E: Failure>(
        agent: &str,
        action: &str,
        work: impl FnOnce(&mut ReportBuilder) -> Result<(), E>,
    ) -> Report {
        let mut b = Report::start(agent, action);
        let outcome = work(&mut b);
        b.conclude(outcome)
    }

    /// Counts checks by status: (ok, warn, fail, skip).
    pub fn tally(&self) -> Tally {
        Tally::of(&self.checks)
    }

    /// The checks with the given status, in report order.
    pub fn checks_with(&self, status: Status) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.result == status)
    }

    /// `agent action`, the name renderers show.
    pub fn title(&self) -> String {
        format!("{} {}", self.agent, self.action)
    }
}

/// How many checks ended in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
    pub skip: usize,
}

impl Tally {
    pub fn of(checks: &[Check]) -> Self {
        let mut t = Tally::default();
        for c in checks {
            match c.result {
                Status::Ok => t.ok += 1,
                Status::Warn => t.warn += 1,
                Status::Fail => t.fail += 1,
                Status::Skip => t.skip += 1,
            }
        }
        t
    }
}

/// Collects a run's checks, data and evidence; `finish` seals them into a [`Report`].
#[derive(Debug)]
pub struct ReportBuilder {
    agent: String,
    action: String,
    phase: Option<String>,
    summary: Option<String>,
    checks: Vec<Check>,
    data: Value,
    evidence: Vec<Evidence>,
    error: Option<ErrorInfo>,
    sections: Vec<Section>,
    started_at: SystemTime,
    started: Instant,
}

impl ReportBuilder {
    pub fn check(&mut self, check: Check) -> &mut Self {
        self.checks.push(check);
        self
    }

    pub fn checks(&mut self, checks: impl IntoIterator<Item = Check>) -> &mut Self {
        self.checks.extend(checks);
        self
    }

    /// The checks added so far.
    pub fn checks_so_far(&self) -> &[Check] {
        &self.checks
    }

    /// The tool's own payload, documented in `schemas/<tool>.schema.json`.
    pub fn data(&mut self, data: Value) -> &mut Self {
        self.data = data;
        self
    }

    pub fn summary(&mut self, summary: impl Into<String>) -> &mut Self {
        self.summary = Some(summary.into());
        self
    }

    pub fn phase(&mut self, phase: Option<String>) -> &mut Self {
        self.phase = phase;
        self
    }

    pub fn evidence(&mut self, evidence: Evidence) -> &mut Self {
        self.evidence.push(evidence);
        self
    }

    /// Adds a table for the text and markdown renderers.
    pub fn section(&mut self, section: Section) -> &mut Self {
        self.sections.push(section);
        self
    }

    /// Marks the run as unable to judge; `finish` then yields `result: "error"`.
    pub fn error(&mut self, kind: impl Into<String>, message: impl Into<String>) -> &mut Self {
        self.error = Some(ErrorInfo {
            kind: kind.into(),
            message: message.into(),
        });
        self
    }

    /// [`ReportBuilder::error`] from a tool's typed error.
    pub fn failure(&mut self, failure: &dyn Failure) -> &mut Self {
        self.error(failure.kind(), failure.to_string())
    }

    /// Seals the report after the command's work returned: its error, if any, makes the
    /// result `error`.
    pub fn conclude<E: Failure>(mut self, outcome: Result<(), E>) -> Report {
        if let Err(e) = outcome {
            self.failure(&e);
        }
        self.finish()
    }

    /// Seals the report: the result from the error or the checks, timing, trace ids, version.
    pub fn finish(self) -> Report {
        let tally = Tally::of(&self.checks);
        let result = if self.error.is_some() {
            Outcome::Error
        } else if tally.fail > 0 {
            Outcome::Fail
        } else {
            Outcome::Ok
        };
        let summary = match (&self.summary, &self.error) {
            (Some(s), _) => s.clone(),
            (None, Some(e)) => e.message.clone(),
            (None, None) => default_summary(tally),
        };
        let ctx = trace::current();
        Report {
            schema: SCHEMA.to_owned(),
            agent: self.agent,
            action: self.action,
            phase: self.phase,
            result,
            summary,
            checks: self.checks,
            data: self.data,
            evidence: self.evidence,
            error: self.error,
            trace_id: ctx.trace_id_hex(),
            span_id: ctx.span_id_hex(),
            started_at: Timestamp::from_system(self.started_at).to_rfc3339(),
            duration_ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            tool_version: TOOL_VERSION.to_owned(),
            sections: self.sections,
        }
    }
}

fn default_summary(t: Tally) -> String {
    let total = t.ok + t.warn + t.fail + t.skip;
    let mut parts = vec![format!("{} passed", t.ok)];
    if t.fail > 0 {
        parts.push(format!("{} failed", t.fail));
    }
    if t.warn > 0 {
        parts.push(format!("{} warned", t.warn));
    }
    if t.skip > 0 {
        parts.push(format!("{} skipped", t.skip));
    }
    format!(
        "{total} {}: {}",
        crate::plural(total, "check", "checks"),
        parts.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot reach db")]
    struct Down;
    impl Failure for Down {
        fn kind(&self) -> &'static str {
            "unreachable"
        }
    }

    #[test]
    fn judge_turns_the_commands_error_into_an_error_report() {
        let r = Report::judge("t", "a", |b| {
            b.check(Check::ok("x.y"));
            Err(Down)
        });
        assert_eq!(r.result, Outcome::Error);
        assert_eq!(
            r.error.as_ref().map(|e| e.kind.as_str()),
            Some("unreachable")
        );
        let r = Report::judge("t", "a", |b| -> Result<(), Down> {
            b.check(Check::fail("x.y", "no"));
            Ok(())
        });
        assert_eq!(r.result, Outcome::Fail);
    }

    /// The pattern [`is_valid_check_id`] implements. `check_id_pattern_is_the_schemas` fails
    /// when the schema's changes, so the two cannot drift apart.
    const CHECK_ID_PATTERN: &str = "^[a-z][a-z0-9_-]*([./][a-z0-9_-]+)*$";

    fn schema_check_id_pattern() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/report.schema.json"
        );
        let text = std::fs::read_to_string(path).expect("schemas/report.schema.json");
        let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
        schema
            .pointer("/$defs/check/properties/id/pattern")
            .and_then(Value::as_str)
            .expect("the schema's check id has a pattern")
            .to_owned()
    }

    #[test]
    fn check_id_pattern_is_the_schemas() {
        assert_eq!(schema_check_id_pattern(), CHECK_ID_PATTERN);
    }

    #[test]
    fn check_ids_valid_and_invalid() {
        for id in [
            "budget",
            "budget.new_critical",
            "syntax.yaml",
            "promql/rate-on-gauge",
            "a.b/c.d",
            "x1.2",
            "a-",
            "a_b.-",
            "index.concurrently_in_transaction",
        ] {
            assert!(is_valid_check_id(id), "{id:?} should be valid");
        }
        for id in [
            "",
            "1budget",
            "_budget",
            "-a",
            "Budget",
            "budget.New",
            "budget.",
            "budget..x",
            ".budget",
            "/budget",
            "budget/",
            "a b",
            "a\n",
            "a:b",
            "é",
            "budget.néw",
        ] {
            assert!(!is_valid_check_id(id), "{id:?} should be invalid");
        }
    }

    proptest! {
        /// The schema validator's own regex engine is the reference implementation.
        #[test]
        fn check_ids_are_judged_like_the_schema_judges_them(
            id in prop_oneof![
                "[a-c09_./Z \n-]{0,8}",
                "[a-c][a-c09_-]{0,3}([./][a-c09_-]{0,3}){0,3}",
            ]
        ) {
            let schema = serde_json::json!({"type": "string", "pattern": schema_check_id_pattern()});
            let validator = jsonschema::validator_for(&schema).expect("pattern compiles");
            prop_assert_eq!(is_valid_check_id(&id), validator.is_valid(&Value::from(id.as_str())));
        }
    }

    #[test]
    fn result_follows_the_worst_check() {
        let mut b = Report::start("t", "a");
        b.check(Check::ok("x")).check(Check::warn("y", "meh"));
        assert_eq!(b.finish().result, Outcome::Ok);

        let mut b = Report::start("t", "a");
        b.check(Check::ok("x")).check(Check::fail("y", "no"));
        let r = b.finish();
        assert_eq!(r.result, Outcome::Fail);
        assert_eq!(r.result.exit_code(), 1);
        assert_eq!(r.summary, "2 checks: 1 passed, 1 failed");
    }

    #[test]
    fn an_error_wins_over_checks() {
        let mut b = Report::start("t", "a");
        b.check(Check::fail("y", "no"))
            .error("input", "x.yml:3:1: bad");
        let r = b.finish();
        assert_eq!(r.result, Outcome::Error);
        assert_eq!(r.result.exit_code(), 2);
        assert_eq!(r.summary, "x.yml:3:1: bad");
    }

    #[test]
    fn numbers_print_whole_values_as_integers() {
        assert_eq!(number(0.0).to_string(), "0");
        assert_eq!(number(0.25).to_string(), "0.25");
        assert_eq!(number(f64::NAN), Value::Null);
        let c = Check::at_most("budget.x", 1.0, 0.0);
        assert_eq!(c.result, Status::Fail);
        assert_eq!(
            serde_json::to_string(&c).expect("serializes"),
            r#"{"id":"budget.x","result":"fail","observed":1,"limit":0}"#
        );
    }

    #[test]
    fn nan_never_passes_a_comparison() {
        assert_eq!(Check::at_most("x", f64::NAN, 1.0).result, Status::Fail);
        assert_eq!(Check::at_least("x", f64::NAN, 1.0).result, Status::Fail);
        assert_eq!(Check::at_least("x", 2.0, f64::NAN).result, Status::Fail);
        assert_eq!(Check::at_least("x", 2.0, 1.0).result, Status::Ok);
    }

    #[test]
    fn reports_round_trip_through_json() {
        let mut b = Report::start("t", "a");
        b.check(Check::fail("y", "no").with_location(Location::at("f.yml", 3, 7)));
        let r = b.finish();
        let text = serde_json::to_string(&r).expect("serializes");
        let back: Report = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, r);
    }
}
