//! The promotion decision: applies a [`Policy`] to reports at a point in time and says
//! promote, block or rollback, with a check and a reason for every rule.
//!
//! Rules: a required report must be present (missing is a fail, never a pass, and no
//! waiver covers it), have an accepted result, and be no older than `max_age`; each figure
//! must hold on the newest matching report. Active waivers turn a failure into a warning;
//! expired ones waive nothing and warn. A failure of a rule marked `on_fail: rollback`
//! (post-deploy evidence: SLO burn, a failed failover) makes the decision `rollback`,
//! unless the report is merely missing or stale, which only blocks: rolling back needs
//! evidence of harm, not the absence of evidence.

use gatehouse::report::number;
use gatehouse::time::Timestamp;
use gatehouse::{Check, Location, Outcome, Status};
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::policy::{Figure, OnFail, Policy, Pos, Requirement, Waiver};
use crate::reports::{LoadedReport, lookup};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Promote,
    Block,
    Rollback,
}

impl Decision {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Decision::Promote => "promote",
            Decision::Block => "block",
            Decision::Rollback => "rollback",
        }
    }
}

/// The gate's verdict, ready to go into a report.
#[derive(Debug, Clone)]
pub(crate) struct Evaluation {
    pub(crate) decision: Decision,
    pub(crate) checks: Vec<Check>,
    pub(crate) data: Value,
    pub(crate) summary: String,
    pub(crate) section: gatehouse::Section,
}

/// One failed (or waived) rule, on its way to becoming a reason.
struct Finding {
    kind: &'static str,
    agent: String,
    /// None for a figure whose report is missing and names no action.
    action: Option<String>,
    message: String,
    on_fail: OnFail,
    /// Missing and stale reports never roll back, and missing ones are never waived.
    can_rollback: bool,
    waived_by: Option<String>,
}

fn newest<'a>(
    reports: &'a [LoadedReport],
    agent: &str,
    action: Option<&str>,
) -> Option<&'a LoadedReport> {
    reports
        .iter()
        .filter(|r| r.report.agent == agent && action.is_none_or(|a| r.report.action == a))
        .max_by_key(|r| r.started_at().map_or(i64::MIN, Timestamp::unix_millis))
}

fn loc(policy: &Policy, p: Pos) -> Location {
    Location::at(policy.label.clone(), p.line, p.column)
}

/// The active waiver covering (agent, action) as a whole (no `check`), if any.
fn whole_waiver<'a>(
    waivers: &'a [Waiver],
    agent: &str,
    action: &str,
    now: Timestamp,
) -> Option<&'a Waiver> {
    waivers
        .iter()
        .find(|w| w.check.is_none() && w.covers(agent, action) && w.active_at(now))
}

/// The active waiver naming `check` for (agent, action), if any.
fn check_waiver<'a>(
    waivers: &'a [Waiver],
    agent: &str,
    action: &str,
    check: &str,
    now: Timestamp,
) -> Option<&'a Waiver> {
    waivers
        .iter()
        .find(|w| w.check.as_deref() == Some(check) && w.covers(agent, action) && w.active_at(now))
}

fn waiver_text(w: &Waiver) -> String {
    let reason = w
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!("waived by {} until {}{reason}", w.owner, w.until_text)
}

pub(crate) fn evaluate(policy: &Policy, reports: &[LoadedReport], now: Timestamp) -> Evaluation {
    let _s = gatehouse::trace::step("gate");
    let mut j = Judging {
        policy,
        reports,
        now,
        checks: Vec::new(),
        findings: Vec::new(),
        used_waivers: Vec::new(),
        section: gatehouse::Section::new("Promotion rules", &["rule", "status", "detail"]),
    };
    let requirements: Vec<Value> = policy.required.iter().map(|r| j.requirement(r)).collect();
    let figures: Vec<Value> = policy.figures.iter().map(|f| j.figure(f)).collect();
    let waivers = j.waiver_states();
    let (decision, summary) = decide(policy, &j.findings);
    let decision_check = if decision == Decision::Promote {
        Check::ok(CheckId::Decision.as_str()).with_message(summary.clone())
    } else {
        Check::fail(CheckId::Decision.as_str(), summary.clone())
    };
    j.checks.push(decision_check);
    let reasons: Vec<Value> = j
        .findings
        .iter()
        .map(|f| {
            json!({
                "kind": f.kind, "agent": f.agent, "action": f.action, "message": f.message,
                "on_fail": f.on_fail.as_str(), "waived_by": f.waived_by,
            })
        })
        .collect();
    let data = json!({
        "decision": decision.as_str(),
        "policy": {"path": policy.label, "sha256": policy.sha256, "name": policy.name},
        "evaluated_at": now.to_rfc3339(),
        "reports": reports.len(),
        "reasons": reasons,
        "requirements": requirements,
        "figures": figures,
        "waivers": waivers,
        "ignored": ignored(policy, reports),
    });
    Evaluation {
        decision,
        checks: j.checks,
        data,
        summary,
        section: j.section,
    }
}

/// The gate while it judges: the checks, findings, used waivers and table rows so far.
struct Judging<'a> {
    policy: &'a Policy,
    reports: &'a [LoadedReport],
    now: Timestamp,
    checks: Vec<Check>,
    findings: Vec<Finding>,
    /// Indexes into `policy.waivers` of the waivers that waived something.
    used_waivers: Vec<usize>,
    section: gatehouse::Section,
}

impl<'a> Judging<'a> {
    fn mark_used(&mut self, w: &Waiver) {
        if let Some(i) = self.policy.waivers.iter().position(|x| std::ptr::eq(x, w))
            && !self.used_waivers.contains(&i)
        {
            self.used_waivers.push(i);
        }
    }

    /// One required report: present, with an accepted result, fresh enough. Returns its
    /// entry in `data.requirements`.
    fn requirement(&mut self, req: &Requirement) -> Value {
        let name = format!("{} {}", req.agent, req.action);
        let Some(r) = newest(self.reports, &req.agent, Some(&req.action)) else {
            let message = format!("{name}: no report (a missing report is a fail, never a pass)");
            self.checks.push(
                Check::fail(CheckId::Required.as_str(), &message)
                    .with_location(loc(self.policy, req.pos)),
            );
            self.findings
                .push(finding("missing", req, message, None, false));
            self.section
                .row(vec![name, "missing".into(), "no report".into()]);
            return json!({"agent": req.agent, "action": req.action, "status": "missing", "on_fail": req.on_fail.as_str(), "description": req.description});
        };
        let mut status = self.result_rule(req, r, &name);
        let mut age_seconds = Value::Null;
        if let Some(max_age) = req.max_age {
            let (age, age_status) = self.age_rule(req, r, &name, max_age);
            age_seconds = age;
            if status == "ok"
                && let Some(s) = age_status
            {
                status = s;
            }
        }
        self.section
            .row(vec![name, status.to_owned(), r.report.summary.clone()]);
        json!({
            "agent": req.agent,
            "action": req.action,
            "status": status,
            "result": r.report.result.as_str(),
            "started_at": r.report.started_at,
            "age_seconds": age_seconds,
            "source": r.source,
            "on_fail": req.on_fail.as_str(),
            "description": req.description,
        })
    }

    /// `gate.required` on a present report: its result is accepted, waived (as a whole or
    /// every failing check by id), or a failure. Returns "ok", "waived" or "fail".
    fn result_rule(&mut self, req: &Requirement, r: &LoadedReport, name: &str) -> &'static str {
        let result = r.report.result;
        if req.accepts(result) {
            self.checks.push(
                Check::ok(CheckId::Required.as_str())
                    .with_message(format!(
                        "{name}: {} ({})",
                        result.as_str(),
                        r.report.summary
                    ))
                    .with_location(loc(self.policy, req.pos)),
            );
            return "ok";
        }
        let failing: Vec<&str> = r
            .report
            .checks_with(Status::Fail)
            .map(|c| c.id.as_str())
            .collect();
        let why = match (result, failing.is_empty()) {
            (Outcome::Error, _) => format!(
                "could not judge: {}",
                r.report
                    .error
                    .as_ref()
                    .map_or(r.report.summary.as_str(), |e| e.message.as_str())
            ),
            (_, true) => r.report.summary.clone(),
            (_, false) => format!(
                "{}; failing checks: {}",
                r.report.summary,
                dedup(&failing).join(", ")
            ),
        };
        let message = format!(
            "{name}: result {} (accepted: {}): {why}",
            result.as_str(),
            req.accepted()
        );
        let waiver = self.result_waiver(req, &failing);
        let check = match &waiver {
            Some(w) => Check::warn(CheckId::Required.as_str(), format!("{message} — {w}")),
            None => Check::fail(CheckId::Required.as_str(), &message),
        };
        self.checks
            .push(check.with_location(loc(self.policy, req.pos)));
        let status = if waiver.is_some() { "waived" } else { "fail" };
        self.findings
            // A report that could not judge (result error) is no evidence of harm: it blocks.
            .push(finding(
                "result",
                req,
                message,
                waiver,
                result == Outcome::Fail,
            ));
        status
    }

    /// The text of what waives a failed result — a waiver of the whole (agent, action), or
    /// one per failing check — marking the waivers it uses.
    fn result_waiver(&mut self, req: &Requirement, failing: &[&str]) -> Option<String> {
        let (policy, now) = (self.policy, self.now);
        let waiver = whole_waiver(&policy.waivers, &req.agent, &req.action, now)
            .map(waiver_text)
            .or_else(|| {
                let per_check: Option<Vec<&Waiver>> = (!failing.is_empty())
                    .then(|| {
                        failing
                            .iter()
                            .map(|c| check_waiver(&policy.waivers, &req.agent, &req.action, c, now))
                            .collect()
                    })
                    .flatten();
                per_check.map(|ws| {
                    ws.iter()
                        .map(|w| {
                            format!("{}: {}", w.check.as_deref().unwrap_or(""), waiver_text(w))
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            });
        if waiver.is_some() {
            for w in policy
                .waivers
                .iter()
                .filter(|w| w.covers(&req.agent, &req.action) && w.active_at(now))
            {
                if w.check.is_none() || failing.contains(&w.check.as_deref().unwrap_or("")) {
                    self.mark_used(w);
                }
            }
        }
        waiver
    }

    /// `gate.age`: the report is no older than `max_age` (a report from the future counts
    /// as fresh). Returns `data`'s `age_seconds` and, when it is not fresh, the status it
    /// gives the requirement ("waived" or "stale").
    fn age_rule(
        &mut self,
        req: &Requirement,
        r: &LoadedReport,
        name: &str,
        max_age: std::time::Duration,
    ) -> (Value, Option<&'static str>) {
        let limit = max_age.as_secs_f64();
        let Some(t) = r.started_at() else {
            let message = format!(
                "{name}: started_at {:?} is not a time; its age cannot be judged",
                r.report.started_at
            );
            self.checks.push(
                Check::fail(CheckId::Age.as_str(), &message)
                    .with_location(loc(self.policy, req.pos)),
            );
            self.findings
                .push(finding("stale", req, message, None, false));
            return (Value::Null, Some("stale"));
        };
        // A report from the future (clock skew, SOURCE_DATE_EPOCH before the run) counts
        // as fresh.
        let age = t.seconds_until(self.now).max(0.0).round();
        let message = format!(
            "{name}: report is {} old (max_age {})",
            gatehouse::duration::format_duration(std::time::Duration::from_secs_f64(age)),
            gatehouse::duration::format_duration(max_age)
        );
        if age <= limit {
            self.checks.push(
                Check::ok(CheckId::Age.as_str())
                    .with_message(message)
                    .with_numbers(age, limit)
                    .with_location(loc(self.policy, req.pos)),
            );
            return (number(age), None);
        }
        let waiver = whole_waiver(&self.policy.waivers, &req.agent, &req.action, self.now);
        if let Some(w) = waiver {
            self.mark_used(w);
        }
        let check = match waiver {
            Some(w) => Check::warn(
                CheckId::Age.as_str(),
                format!("{message} — {}", waiver_text(w)),
            ),
            None => Check::fail(CheckId::Age.as_str(), &message),
        };
        self.checks.push(
            check
                .with_numbers(age, limit)
                .with_location(loc(self.policy, req.pos)),
        );
        self.findings.push(finding(
            "stale",
            req,
            message,
            waiver.map(waiver_text),
            false,
        ));
        (
            number(age),
            Some(if waiver.is_some() { "waived" } else { "stale" }),
        )
    }

    /// `gate.figure`: a figure of the newest matching report holds, is waived, or fails.
    /// Returns its entry in `data.figures`.
    fn figure(&mut self, f: &Figure) -> Value {
        let text = f.text();
        let (status, observed, message) = match newest(self.reports, &f.agent, f.action.as_deref())
        {
            None => (
                "missing",
                Value::Null,
                format!("{text}: no {} report", f.agent),
            ),
            Some(r) => match lookup(&r.value, &f.path) {
                None => (
                    "missing",
                    Value::Null,
                    format!(
                        "{text}: {} is not in the {} {} report",
                        f.path, r.report.agent, r.report.action
                    ),
                ),
                Some(v) if f.op.holds(v, &f.value) => {
                    ("ok", v.clone(), format!("{text}: observed {v}"))
                }
                Some(v) => ("fail", v.clone(), format!("{text}: observed {v}")),
            },
        };
        let mut check = Check::new(CheckId::Figure.as_str(), Status::Ok)
            .with_message(&message)
            .with_observed(observed.clone())
            .with_limit(f.value.clone())
            .with_location(loc(self.policy, f.pos));
        let mut final_status = status;
        if status != "ok" {
            let waiver;
            (check, waiver) = self.figure_failed(f, status, &message, check);
            if waiver {
                final_status = "waived";
            }
        }
        self.checks.push(check);
        self.section.row(vec![
            text.clone(),
            final_status.to_owned(),
            format!("observed {observed}"),
        ]);
        json!({
            "agent": f.agent,
            "action": f.action,
            "path": f.path,
            "op": f.op.as_str(),
            "value": f.value,
            "observed": observed,
            "status": final_status,
            "on_fail": f.on_fail.as_str(),
            "description": f.description,
        })
    }

    /// A figure that is missing or fails: a failure may be waived (a warning), anything else
    /// fails; either way a finding. Returns the check and whether a waiver applied.
    fn figure_failed(
        &mut self,
        f: &Figure,
        status: &str,
        message: &str,
        check: Check,
    ) -> (Check, bool) {
        let (policy, now) = (self.policy, self.now);
        let action = f.action.clone().unwrap_or_else(|| {
            newest(self.reports, &f.agent, None)
                .map(|r| r.report.action.clone())
                .unwrap_or_default()
        });
        let waiver = (status == "fail")
            .then(|| {
                whole_waiver(&policy.waivers, &f.agent, &action, now)
                    .or_else(|| check_waiver(&policy.waivers, &f.agent, &action, &f.path, now))
            })
            .flatten();
        if let Some(w) = waiver {
            self.mark_used(w);
        }
        let check = match waiver {
            Some(w) => check
                .with_status(Status::Warn)
                .with_message(format!("{message} — {}", waiver_text(w))),
            None => check.with_status(Status::Fail),
        };
        self.findings.push(figure_finding(
            f,
            &action,
            status,
            message.to_owned(),
            waiver.map(waiver_text),
        ));
        (check, waiver.is_some())
    }

    /// `gate.waiver`: each waiver applied (ok), expired (warn) or unused (no check).
    /// Returns `data.waivers`.
    fn waiver_states(&mut self) -> Vec<Value> {
        let mut waivers = Vec::new();
        for (i, w) in self.policy.waivers.iter().enumerate() {
            let state = if !w.active_at(self.now) {
                "expired"
            } else if self.used_waivers.contains(&i) {
                "applied"
            } else {
                "unused"
            };
            let what = format!(
                "{}{}{}",
                w.agent,
                w.action
                    .as_deref()
                    .map(|a| format!(" {a}"))
                    .unwrap_or_default(),
                w.check
                    .as_deref()
                    .map(|c| format!(" {c}"))
                    .unwrap_or_default()
            );
            match state {
                "expired" => self.checks.push(
                    Check::warn(
                        CheckId::Waiver.as_str(),
                        format!(
                            "waiver for {what} (owner {}) expired on {}; it no longer waives anything",
                            w.owner, w.until_text
                        ),
                    )
                    .with_location(loc(self.policy, w.pos)),
                ),
                "applied" => self.checks.push(
                    Check::ok(CheckId::Waiver.as_str())
                        .with_message(format!(
                            "waiver for {what} (owner {}) in force until {}",
                            w.owner, w.until_text
                        ))
                        .with_location(loc(self.policy, w.pos)),
                ),
                _ => {}
            }
            waivers.push(json!({
                "agent": w.agent, "action": w.action, "check": w.check, "owner": w.owner,
                "until": w.until_text, "reason": w.reason, "status": state,
            }));
        }
        waivers
    }
}

/// The decision from the findings no waiver covers, and the summary line that says why.
fn decide(policy: &Policy, findings: &[Finding]) -> (Decision, String) {
    let blocking: Vec<&Finding> = findings.iter().filter(|f| f.waived_by.is_none()).collect();
    let decision = if blocking
        .iter()
        .any(|f| f.on_fail == OnFail::Rollback && f.can_rollback)
    {
        Decision::Rollback
    } else if blocking.is_empty() {
        Decision::Promote
    } else {
        Decision::Block
    };
    let summary = match decision {
        Decision::Promote if findings.is_empty() => format!(
            "promote: {} required {} and {} {} hold",
            policy.required.len(),
            gatehouse::plural(policy.required.len(), "report", "reports"),
            policy.figures.len(),
            gatehouse::plural(policy.figures.len(), "figure", "figures")
        ),
        Decision::Promote => format!("promote, with {} waived", findings.len()),
        _ => format!(
            "{}: {}",
            decision.as_str(),
            blocking
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    };
    (decision, summary)
}

/// The reports no rule of the policy reads (`data.ignored`).
fn ignored(policy: &Policy, reports: &[LoadedReport]) -> Vec<Value> {
    let used: Vec<&str> = reports
        .iter()
        .filter(|r| {
            policy
                .required
                .iter()
                .any(|q| q.agent == r.report.agent && q.action == r.report.action)
                || policy.figures.iter().any(|f| {
                    f.agent == r.report.agent
                        && f.action.as_deref().is_none_or(|a| a == r.report.action)
                })
        })
        .map(|r| r.source.as_str())
        .collect();
    reports
        .iter()
        .filter(|r| !used.contains(&r.source.as_str()))
        .map(|r| json!({"agent": r.report.agent, "action": r.report.action, "source": r.source}))
        .collect()
}

fn dedup<'a>(ids: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for id in ids {
        if !out.contains(id) {
            out.push(id);
        }
    }
    out
}

fn finding(
    kind: &'static str,
    req: &Requirement,
    message: String,
    waived_by: Option<String>,
    can_rollback: bool,
) -> Finding {
    Finding {
        kind,
        agent: req.agent.clone(),
        action: Some(req.action.clone()),
        message,
        on_fail: req.on_fail,
        can_rollback,
        waived_by,
    }
}

fn figure_finding(
    f: &Figure,
    action: &str,
    status: &str,
    message: String,
    waived_by: Option<String>,
) -> Finding {
    Finding {
        kind: "figure",
        agent: f.agent.clone(),
        action: (!action.is_empty()).then(|| action.to_owned()),
        message,
        on_fail: f.on_fail,
        can_rollback: status == "fail",
        waived_by,
    }
}

/// The decision log entry `gate --audit` appends: what was decided, under which policy
/// (path, language, SHA-256), over which input (the SHA-256 of the normalised input view),
/// and why — so "who promoted what under which policy" is answerable later.
pub(crate) struct DecisionRecord<'a> {
    pub(crate) language: &'a str,
    pub(crate) policy_path: &'a str,
    pub(crate) policy_sha256: &'a str,
    pub(crate) input: &'a Value,
    pub(crate) release: Option<&'a str>,
    pub(crate) environment: Option<&'a str>,
    pub(crate) now: Timestamp,
}

impl DecisionRecord<'_> {
    pub(crate) fn event(&self, eval: &Evaluation) -> Value {
        let input_bytes = serde_json::to_vec(self.input).unwrap_or_default();
        let reasons: Vec<&str> = eval
            .checks
            .iter()
            .filter(|c| c.result == Status::Fail && c.id != CheckId::Decision.as_str())
            .filter_map(|c| c.message.as_deref())
            .collect();
        let reports: Vec<Value> = self.input["reports"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| {
                        json!({"agent": r["agent"], "action": r["action"], "result": r["result"],
                               "started_at": r["started_at"]})
                    })
                    .collect()
            })
            .unwrap_or_default();
        json!({
            "type": "gate-decision",
            "decision": eval.decision.as_str(),
            "release": self.release,
            "environment": self.environment,
            "policy": {"path": self.policy_path, "language": self.language, "sha256": self.policy_sha256},
            "input": {"sha256": gatehouse::hash::sha256_hex(&input_bytes), "reports": reports},
            "reasons": reasons,
            "evaluated_at": self.now.to_rfc3339(),
        })
    }
}
