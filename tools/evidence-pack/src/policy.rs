//! The promotion policy file (YAML, schemas/evidence-pack.policy.schema.json): required
//! reports, figure rules in their structured and one-line forms, waivers. Parsing and
//! validation only; `gate.rs` applies it.

use std::path::Path;
use std::time::Duration;

use gatehouse::time::Timestamp;
use gatehouse::yaml::Spanned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// What a failure of a rule does to the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OnFail {
    /// Stop the promotion (pre-deploy evidence).
    #[default]
    Block,
    /// Roll the release back (post-deploy evidence, e.g. SLO burn after a canary).
    Rollback,
}

impl OnFail {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OnFail::Block => "block",
            OnFail::Rollback => "rollback",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Accept {
    Ok,
    Fail,
    Error,
}

impl Accept {
    fn as_str(self) -> &'static str {
        match self {
            Accept::Ok => "ok",
            Accept::Fail => "fail",
            Accept::Error => "error",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    max_age: Option<Spanned<String>>,
    #[serde(default)]
    required: Vec<Spanned<RawRequirement>>,
    #[serde(default)]
    figures: Vec<Spanned<RawFigure>>,
    #[serde(default)]
    waivers: Vec<Spanned<RawWaiver>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequirement {
    agent: String,
    action: String,
    #[serde(default)]
    accept: Option<Vec<Accept>>,
    #[serde(default)]
    max_age: Option<String>,
    #[serde(default)]
    on_fail: OnFail,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawFigure {
    Line(String),
    Rule(RawFigureRule),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFigureRule {
    agent: String,
    #[serde(default)]
    action: Option<String>,
    path: String,
    op: String,
    value: Value,
    #[serde(default)]
    on_fail: OnFail,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    agent: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    check: Option<String>,
    owner: String,
    until: String,
    #[serde(default)]
    reason: Option<String>,
}

/// A line in the policy, for check locations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub(crate) line: u64,
    pub(crate) column: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct Requirement {
    pub(crate) agent: String,
    pub(crate) action: String,
    pub(crate) accept: Vec<Accept>,
    pub(crate) max_age: Option<Duration>,
    pub(crate) on_fail: OnFail,
    pub(crate) description: Option<String>,
    pub(crate) pos: Pos,
}

impl Requirement {
    pub(crate) fn accepts(&self, result: gatehouse::Outcome) -> bool {
        self.accept.iter().any(|a| a.as_str() == result.as_str())
    }

    pub(crate) fn accepted(&self) -> String {
        self.accept
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Ne,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            ">=" => Op::Ge,
            ">" => Op::Gt,
            "<=" => Op::Le,
            "<" => Op::Lt,
            "==" | "=" => Op::Eq,
            "!=" => Op::Ne,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Whether `observed OP limit` holds. Numbers compare as numbers; `==`/`!=` also
    /// compare strings and booleans; anything else does not hold.
    pub(crate) fn holds(self, observed: &Value, limit: &Value) -> bool {
        if let (Some(o), Some(l)) = (observed.as_f64(), limit.as_f64()) {
            return match self {
                Op::Ge => o >= l,
                Op::Gt => o > l,
                Op::Le => o <= l,
                Op::Lt => o < l,
                Op::Eq => o == l,
                Op::Ne => o != l,
            };
        }
        match self {
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Figure {
    pub(crate) agent: String,
    pub(crate) action: Option<String>,
    pub(crate) path: String,
    pub(crate) op: Op,
    pub(crate) value: Value,
    pub(crate) on_fail: OnFail,
    pub(crate) description: Option<String>,
    pub(crate) pos: Pos,
}

impl Figure {
    /// `perf-gate data.headroom >= 0.2`, the form users write and read.
    pub(crate) fn text(&self) -> String {
        let action = self
            .action
            .as_deref()
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        format!(
            "{}{action} {} {} {}",
            self.agent,
            self.path,
            self.op.as_str(),
            self.value
        )
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Waiver {
    pub(crate) agent: String,
    pub(crate) action: Option<String>,
    pub(crate) check: Option<String>,
    pub(crate) owner: String,
    /// The waiver's last moment: a bare date waives through the end of that day (UTC).
    pub(crate) until: Timestamp,
    pub(crate) until_text: String,
    pub(crate) reason: Option<String>,
    pub(crate) pos: Pos,
}

impl Waiver {
    pub(crate) fn covers(&self, agent: &str, action: &str) -> bool {
        self.agent == agent && self.action.as_deref().is_none_or(|a| a == action)
    }

    pub(crate) fn active_at(&self, now: Timestamp) -> bool {
        now <= self.until
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) label: String,
    pub(crate) sha256: String,
    pub(crate) name: Option<String>,
    pub(crate) required: Vec<Requirement>,
    pub(crate) figures: Vec<Figure>,
    pub(crate) waivers: Vec<Waiver>,
}

fn pos<T>(s: &Spanned<T>) -> Pos {
    Pos {
        line: s.referenced.line().max(1),
        column: s.referenced.column().max(1),
    }
}

fn is_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A path into a report: `data.headroom`, `data.shards[0].p99`, `duration_ms`.
pub(crate) fn valid_path(path: &str) -> bool {
    !path.is_empty()
        && path.split('.').all(|seg| {
            let name = seg.split('[').next().unwrap_or("");
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// Parses the one-line form `AGENT [ACTION] PATH OP VALUE`.
fn parse_line(line: &str) -> std::result::Result<RawFigureRule, String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let (agent, action, rest) = match tokens.len() {
        4 => (tokens[0], None, &tokens[1..]),
        5 => (tokens[0], Some(tokens[1]), &tokens[2..]),
        _ => {
            return Err(format!(
                "figure {line:?}: expected `AGENT [ACTION] PATH OP VALUE`, e.g. `perf-gate data.headroom >= 0.2`"
            ));
        }
    };
    let value = serde_json::from_str::<Value>(rest[2])
        .unwrap_or_else(|_| Value::String(rest[2].to_owned()));
    Ok(RawFigureRule {
        agent: agent.to_owned(),
        action: action.map(str::to_owned),
        path: rest[0].to_owned(),
        op: rest[1].to_owned(),
        value,
        on_fail: OnFail::Block,
        description: None,
    })
}

fn policy_error(label: &str, p: Pos, message: impl Into<String>) -> Error {
    Error::Policy {
        path: label.to_owned(),
        line: p.line,
        column: p.column,
        message: message.into(),
    }
}

fn parse_age(label: &str, p: Pos, s: &str) -> Result<Duration> {
    gatehouse::duration::parse_duration(s)
        .map_err(|e| policy_error(label, p, format!("max_age: {e}")))
}

/// Reads and validates a policy file.
pub(crate) fn load(path: &Path) -> Result<Policy> {
    let input = gatehouse::input::read_limited(&gatehouse::Source::new(path), 4 * 1024 * 1024)?;
    let label = input.label();
    let sha256 = gatehouse::hash::sha256_hex(&input.bytes);
    parse(&label, input.text()?, sha256)
}

pub(crate) fn parse(label: &str, text: &str, sha256: String) -> Result<Policy> {
    let raw: RawPolicy = gatehouse::yaml::from_str(label, text)?;
    let default_age = match &raw.max_age {
        Some(s) => Some(parse_age(label, pos(s), &s.value)?),
        None => None,
    };
    let mut required = Vec::new();
    for r in raw.required {
        let r = requirement(label, r, default_age, &required)?;
        required.push(r);
    }
    let figures = raw
        .figures
        .into_iter()
        .map(|f| figure(label, f))
        .collect::<Result<Vec<_>>>()?;
    let waivers = raw
        .waivers
        .into_iter()
        .map(|w| waiver(label, w))
        .collect::<Result<Vec<_>>>()?;
    if required.is_empty() && figures.is_empty() {
        return Err(Error::Input(gatehouse::InputError::invalid(
            label,
            "the policy requires nothing (no `required` and no `figures`); a gate that checks nothing would always promote",
        )));
    }
    Ok(Policy {
        label: label.to_owned(),
        sha256,
        name: raw.name,
        required,
        figures,
        waivers,
    })
}

/// One `required` entry: names, not listed twice, something accepted, its `max_age` (else
/// the policy's).
fn requirement(
    label: &str,
    r: Spanned<RawRequirement>,
    default_age: Option<Duration>,
    before: &[Requirement],
) -> Result<Requirement> {
    let p = pos(&r);
    let r = r.value;
    if !is_name(&r.agent) || !is_name(&r.action) {
        return Err(policy_error(
            label,
            p,
            format!(
                "required: {:?} {:?} is not an agent/action name (lowercase, digits, '-')",
                r.agent, r.action
            ),
        ));
    }
    if before
        .iter()
        .any(|q| q.agent == r.agent && q.action == r.action)
    {
        return Err(policy_error(
            label,
            p,
            format!("required: {} {} is listed twice", r.agent, r.action),
        ));
    }
    let accept = r.accept.unwrap_or_else(|| vec![Accept::Ok]);
    if accept.is_empty() {
        return Err(policy_error(
            label,
            p,
            "accept: must list at least one result",
        ));
    }
    let max_age = match &r.max_age {
        Some(s) => Some(parse_age(label, p, s)?),
        None => default_age,
    };
    Ok(Requirement {
        agent: r.agent,
        action: r.action,
        accept,
        max_age,
        on_fail: r.on_fail,
        description: r.description,
        pos: p,
    })
}

/// One `figures` entry, a line (`perf-gate data.headroom >= 0.2`) or a mapping: a known
/// operator, names, a path into a report, a number where the operator compares.
fn figure(label: &str, f: Spanned<RawFigure>) -> Result<Figure> {
    let p = pos(&f);
    let rule = match f.value {
        RawFigure::Line(line) => parse_line(&line).map_err(|m| policy_error(label, p, m))?,
        RawFigure::Rule(rule) => rule,
    };
    let Some(op) = Op::parse(&rule.op) else {
        return Err(policy_error(
            label,
            p,
            format!(
                "figure: unknown operator {:?} (use >=, >, <=, <, == or !=)",
                rule.op
            ),
        ));
    };
    if !is_name(&rule.agent) || rule.action.as_deref().is_some_and(|a| !is_name(a)) {
        return Err(policy_error(
            label,
            p,
            format!("figure: {:?} is not an agent name", rule.agent),
        ));
    }
    if !valid_path(&rule.path) {
        return Err(policy_error(
            label,
            p,
            format!(
                "figure: {:?} is not a path into a report (e.g. data.headroom)",
                rule.path
            ),
        ));
    }
    if matches!(op, Op::Ge | Op::Gt | Op::Le | Op::Lt) && !rule.value.is_number() {
        return Err(policy_error(
            label,
            p,
            format!("figure: {} needs a number, got {}", op.as_str(), rule.value),
        ));
    }
    Ok(Figure {
        agent: rule.agent,
        action: rule.action,
        path: rule.path,
        op,
        value: rule.value,
        on_fail: rule.on_fail,
        description: rule.description,
        pos: p,
    })
}

/// One `waivers` entry: an owner and an end (a bare date waives through that day, UTC).
fn waiver(label: &str, w: Spanned<RawWaiver>) -> Result<Waiver> {
    let p = pos(&w);
    let w = w.value;
    if w.owner.trim().is_empty() {
        return Err(policy_error(
            label,
            p,
            "waiver: owner must name a person or team",
        ));
    }
    let until = Timestamp::parse(&w.until)
        .map_err(|e| policy_error(label, p, format!("waiver until: {e}")))?;
    // A bare date waives through the end of that day (UTC).
    let until = if w.until.trim().len() == 10 {
        until.plus(Duration::from_secs(86_400 - 1))
    } else {
        until
    };
    Ok(Waiver {
        agent: w.agent,
        action: w.action,
        check: w.check,
        owner: w.owner,
        until,
        until_text: w.until,
        reason: w.reason,
        pos: p,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: &str = "\
max_age: 24h
required:
  - agent: alert-lint
    action: check
  - agent: verify-goldens
    action: slo
    on_fail: rollback
    max_age: 1h
figures:
  - perf-gate data.headroom >= 0.2
  - agent: dr-drill
    path: data.rpo_seconds
    op: '<='
    value: 300
waivers:
  - agent: alert-lint
    check: rule.runbook
    owner: sre@example.com
    until: 2026-12-01
";

    #[test]
    fn parses_both_figure_forms_with_locations() {
        let p = parse("p.yaml", P, String::new()).expect("parses");
        assert_eq!(p.required.len(), 2);
        assert_eq!(p.required[0].max_age, Some(Duration::from_secs(86_400)));
        assert_eq!(p.required[1].on_fail, OnFail::Rollback);
        assert_eq!(p.figures[0].text(), "perf-gate data.headroom >= 0.2");
        assert_eq!(p.figures[1].op, Op::Le);
        assert_eq!(p.figures[0].pos.line, 10);
        assert_eq!(p.waivers[0].until.to_rfc3339(), "2026-12-01T23:59:59Z");
    }

    #[test]
    fn bad_policies_name_the_line() {
        let e = parse(
            "p.yaml",
            "required:\n  - agent: a\n    action: b\n    acept: [ok]\n",
            String::new(),
        )
        .expect_err("typo");
        assert!(e.to_string().starts_with("p.yaml:"), "{e}");
        let e = parse(
            "p.yaml",
            "figures:\n  - perf-gate data.headroom => 0.2\n",
            String::new(),
        )
        .expect_err("op");
        assert_eq!(
            e.to_string(),
            "p.yaml:2:5: figure: unknown operator \"=>\" (use >=, >, <=, <, == or !=)"
        );
        let e = parse("p.yaml", "name: x\n", String::new()).expect_err("empty");
        assert!(e.to_string().contains("requires nothing"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_policy_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse("p.yaml", &s, String::new());
        }

        #[test]
        fn arbitrary_figure_lines_never_panic(s in "[a-z0-9 .<>=!-]{0,60}") {
            let _ = parse_line(&s);
        }
    }
}
