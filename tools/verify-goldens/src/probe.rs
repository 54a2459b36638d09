//! Owns a golden-path run: each path's steps in order, each request with a `traceparent`
//! that is a child of the run's trace, its assertions judged into checks located at the
//! step's line, captures carried to later steps, retries only where a step declares them.
//! A step after a failed one in the same path is skipped (its inputs may be missing).

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse::{Check, Location, ReportBuilder, Section, Status};
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::error::Error;
use crate::golden::{GoldenPath, JsonOp, Plan, Step, fill_json, value_text};
use crate::http::{self, Failure, Target};

/// One executed request, as the report's data shows it.
pub(crate) struct Attempt {
    pub url: String,
    pub traceparent: String,
    pub outcome: Result<http::Response, Failure>,
}

/// Runs every path of the plan into `b`; an unreachable service is an error.
pub(crate) fn run(plan: &Plan, b: &mut ReportBuilder) -> Result<(), Error> {
    let ctx = gatehouse::trace::current();
    let mut paths = Vec::new();
    let mut table = Section::new(
        "Golden paths",
        &[
            "path",
            "step",
            "status",
            "total ms",
            "first byte ms",
            "result",
        ],
    );
    let (mut passed, mut failed) = (0, 0);
    for p in &plan.paths {
        let (ok, data) = run_path(plan, p, b, &mut table)?;
        if ok {
            passed += 1;
        } else {
            failed += 1;
        }
        paths.push(data);
    }
    b.summary(format!(
        "{passed} of {} golden paths passed against {} ({}){}",
        plan.paths.len(),
        plan.base_url,
        plan.environment,
        if failed > 0 {
            format!("; {failed} failed")
        } else {
            String::new()
        }
    ))
    .section(table)
    .data(json!({
        "environment": plan.environment,
        "base_url": plan.base_url,
        "trace_id": ctx.trace_id_hex(),
        "paths": paths,
    }));
    Ok(())
}

fn run_path(
    plan: &Plan,
    p: &GoldenPath,
    b: &mut ReportBuilder,
    table: &mut Section,
) -> Result<(bool, Value), Error> {
    let mut vars: BTreeMap<String, Value> = BTreeMap::new();
    let run_id: [u8; 6] = gatehouse::trace::random_nonzero();
    vars.insert(
        "run_id".into(),
        Value::String(gatehouse::hash::hex(&run_id)),
    );
    let mut steps = Vec::new();
    let mut broken: Option<String> = None;
    let started = std::time::Instant::now();
    for s in &p.steps {
        let here = Location::line(&plan.file, s.line);
        if let Some(why) = &broken {
            b.check(
                Check::skip(
                    CheckId::StepResponse,
                    format!("{} / {}: skipped: {why}", p.name, s.name),
                )
                .with_location(here.clone()),
            );
            steps.push(json!({"step": s.name, "location": here.to_string(), "result": "skip"}));
            table.row(vec![
                p.name.clone(),
                s.name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                "skip".into(),
            ]);
            continue;
        }
        let mut step_span = gatehouse::trace::step(format!("{} / {}", p.name, s.name));
        if let Some(rt) = &s.realtime {
            let (checks, data) = crate::realtime::run(plan, p, s, rt, &vars)?;
            let ok = checks.iter().all(|c| c.result != Status::Fail);
            if !ok {
                step_span.failed();
                broken = Some(format!("step {:?} failed", s.name));
            }
            let lag = |k: &str| {
                data["lag_ms"][k]
                    .as_f64()
                    .map_or("-".to_owned(), |v| format!("{v:.1}"))
            };
            table.row(vec![
                p.name.clone(),
                s.name.clone(),
                format!("{}/{} events", data["received"], data["events"]),
                format!("p95 lag {}", lag("p95")),
                format!("max lag {}", lag("max")),
                if ok { "ok" } else { "fail" }.into(),
            ]);
            steps.push(json!({
                "step": s.name,
                "location": here.to_string(),
                "realtime": data,
                "result": if ok { "ok" } else { "fail" },
            }));
            b.checks(checks);
            continue;
        }
        let (checks, attempt, attempts, captured) = run_step(plan, p, s, &vars)?;
        let ok = checks.iter().all(|c| c.result != Status::Fail);
        if !ok {
            step_span.failed();
            broken = Some(format!("step {:?} failed", s.name));
        }
        vars.extend(captured);
        let (status, timings) = match &attempt.outcome {
            Ok(r) => (json!(r.status), json!(r.timings)),
            Err(Failure::NoAnswer { timings, .. }) => (Value::Null, json!(timings)),
            Err(Failure::Unreachable(_)) => (Value::Null, Value::Null),
        };
        let t = |k: &str| {
            timings
                .get(k)
                .and_then(Value::as_f64)
                .map_or("-".to_owned(), |v| format!("{v:.1}"))
        };
        table.row(vec![
            p.name.clone(),
            s.name.clone(),
            status.as_u64().map_or("-".to_owned(), |s| s.to_string()),
            t("total_ms"),
            t("first_byte_ms"),
            if ok { "ok" } else { "fail" }.into(),
        ]);
        steps.push(json!({
            "step": s.name,
            "location": here.to_string(),
            "method": s.method,
            "url": gatehouse::redact::redact(&attempt.url),
            "status": status,
            "attempts": attempts,
            "traceparent": attempt.traceparent,
            "timings": timings,
            "result": if ok { "ok" } else { "fail" },
        }));
        b.checks(checks);
    }
    let ok = broken.is_none();
    Ok((
        ok,
        json!({
            "name": p.name,
            "location": Location::line(&plan.file, p.line).to_string(),
            "result": if ok { "ok" } else { "fail" },
            "duration_ms": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "steps": steps,
        }),
    ))
}

type StepOutcome = (Vec<Check>, Attempt, u32, BTreeMap<String, Value>);

fn run_step(
    plan: &Plan,
    p: &GoldenPath,
    s: &Step,
    vars: &BTreeMap<String, Value>,
) -> Result<StepOutcome, Error> {
    let (attempts, mut backoff) = s.retry.unwrap_or((1, Duration::ZERO));
    let mut n = 0;
    loop {
        n += 1;
        let attempt = send(plan, s, vars);
        let last = n >= attempts;
        if let Err(Failure::Unreachable(message)) = &attempt.outcome {
            if last {
                return Err(Error::Unreachable {
                    location: Location::line(&plan.file, s.line).to_string(),
                    path: p.name.clone(),
                    step: s.name.clone(),
                    url: gatehouse::redact::redact(&attempt.url).into_owned(),
                    message: message.clone(),
                });
            }
        } else {
            let (checks, captured) = judge(plan, p, s, &attempt, vars);
            if last || checks.iter().all(|c| c.result != Status::Fail) {
                return Ok((checks, attempt, n, captured));
            }
        }
        tracing::info!(
            "{} / {}: attempt {n} of {attempts} failed; retrying in {backoff:?}",
            p.name,
            s.name
        );
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

pub(crate) fn send(plan: &Plan, s: &Step, vars: &BTreeMap<String, Value>) -> Attempt {
    let text: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect();
    let path = s.path.fill(&text);
    let url = format!("{}{path}", plan.base_url);
    let ctx = gatehouse::trace::current();
    let span: [u8; 8] = gatehouse::trace::random_nonzero();
    let traceparent = format!(
        "00-{}-{}-{:02x}",
        ctx.trace_id_hex(),
        gatehouse::hash::hex(&span),
        u8::from(ctx.sampled)
    );
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in plan.headers.iter().chain(&s.headers) {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.fill(&text)));
    }
    headers.retain(|(h, _)| !h.eq_ignore_ascii_case("traceparent"));
    headers.push(("traceparent".into(), traceparent.clone()));
    let body = s
        .json
        .as_ref()
        .map(|j| fill_json(j, vars).to_string().into_bytes());
    if body.is_some()
        && !headers
            .iter()
            .any(|(h, _)| h.eq_ignore_ascii_case("content-type"))
    {
        headers.push(("Content-Type".into(), "application/json".into()));
    }
    let target = Target {
        path: format!("{}{}", plan.base.path.trim_end_matches('/'), path),
        ..plan.base.clone()
    };
    let outcome = http::send(&http::Request {
        method: &s.method,
        target: &target,
        headers: &headers,
        body: body.as_deref(),
        timeout: s.timeout,
    });
    Attempt {
        url,
        traceparent,
        outcome,
    }
}

pub(crate) fn judge(
    plan: &Plan,
    p: &GoldenPath,
    s: &Step,
    attempt: &Attempt,
    vars: &BTreeMap<String, Value>,
) -> (Vec<Check>, BTreeMap<String, Value>) {
    let here = Location::line(&plan.file, s.line);
    let who = format!("{} / {}", p.name, s.name);
    let mut checks = Vec::new();
    let mut captured = BTreeMap::new();
    let r = match &attempt.outcome {
        Ok(r) => r,
        Err(Failure::NoAnswer { message, .. }) | Err(Failure::Unreachable(message)) => {
            checks.push(
                Check::fail(
                    CheckId::StepResponse,
                    format!("{who}: {} {}: {message}", s.method, attempt.url),
                )
                .with_location(here),
            );
            return (checks, captured);
        }
    };
    if !s.status.is_empty() {
        let ok = s.status.contains(&r.status);
        let expected = s
            .status
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ");
        let mut msg = format!("{who}: status {}, expected {expected}", r.status);
        if !ok {
            let head: String = String::from_utf8_lossy(&r.body).chars().take(200).collect();
            if !head.is_empty() {
                msg.push_str(&format!("; body: {head}"));
            }
        }
        checks.push(
            Check::new(
                CheckId::StepStatus,
                if ok { Status::Ok } else { Status::Fail },
            )
            .with_observed(r.status)
            .with_limit(expected)
            .with_message(msg)
            .with_location(here.clone()),
        );
    }
    for (name, re, text) in &s.expect_headers {
        let got = r.header(name);
        let ok = got.is_some_and(|v| re.is_match(v));
        checks.push(
            Check::new(
                CheckId::StepHeaders,
                if ok { Status::Ok } else { Status::Fail },
            )
            .with_message(format!(
                "{who}: header {name}: {}, expected /{text}/",
                got.map_or("missing".to_owned(), |v| format!("{v:?}"))
            ))
            .with_location(here.clone()),
        );
    }
    if let Some(budget) = s.latency {
        let limit = budget.as_secs_f64() * 1e3;
        checks.push(
            Check::at_most(CheckId::StepLatency, r.timings.total_ms, limit)
                .with_message(format!(
                    "{who}: {:.1} ms (first byte {:.1} ms), budget {}",
                    r.timings.total_ms,
                    r.timings.first_byte_ms,
                    gatehouse::duration::format_duration(budget)
                ))
                .with_location(here.clone()),
        );
    }
    let needs_body = !s.json_asserts.is_empty() || !s.captures.is_empty();
    let body: Option<Value> = if needs_body {
        serde_json::from_slice(&r.body).ok()
    } else {
        None
    };
    if needs_body && body.is_none() {
        let id = if s.json_asserts.is_empty() {
            CheckId::StepCapture
        } else {
            CheckId::StepJson
        };
        checks.push(
            Check::fail(id, format!("{who}: the response body is not JSON"))
                .with_location(here.clone()),
        );
        return (checks, captured);
    }
    let body = body.unwrap_or(Value::Null);
    for a in &s.json_asserts {
        let nodes: Vec<&Value> = a.path.query(&body).all();
        let first = nodes.first().copied();
        let shown =
            |v: Option<&Value>| v.map_or("nothing".to_owned(), |v| truncate(&v.to_string()));
        let (ok, msg) = match &a.op {
            JsonOp::Exists(want) => (
                nodes.is_empty() != *want,
                format!(
                    "{} {} (selects {} node{})",
                    a.path_text,
                    if *want { "exists" } else { "does not exist" },
                    nodes.len(),
                    if nodes.len() == 1 { "" } else { "s" }
                ),
            ),
            JsonOp::Equals(want) => {
                let want = fill_json(want, vars);
                (
                    first == Some(&want),
                    format!(
                        "{} is {}, expected {}",
                        a.path_text,
                        shown(first),
                        truncate(&want.to_string())
                    ),
                )
            }
            JsonOp::Matches(re) => (
                first.is_some_and(|v| re.is_match(&value_text(v))),
                format!(
                    "{} is {}, expected to match /{}/",
                    a.path_text,
                    shown(first),
                    re.as_str()
                ),
            ),
            JsonOp::Length(want) => {
                let len = match first {
                    Some(Value::Array(x)) => Some(x.len()),
                    Some(Value::Object(m)) => Some(m.len()),
                    Some(Value::String(s)) => Some(s.chars().count()),
                    _ => None,
                };
                (
                    len == Some(*want),
                    format!(
                        "{} has length {}, expected {want}",
                        a.path_text,
                        len.map_or("none".to_owned(), |l| l.to_string())
                    ),
                )
            }
        };
        checks.push(
            Check::new(
                CheckId::StepJson,
                if ok { Status::Ok } else { Status::Fail },
            )
            .with_message(format!("{who}: {msg}"))
            .with_location(here.clone()),
        );
    }
    for (name, text, path) in &s.captures {
        match path.query(&body).all().first() {
            Some(v) => {
                captured.insert(name.clone(), (*v).clone());
            }
            None => checks.push(
                Check::fail(
                    CheckId::StepCapture,
                    format!("{who}: capture {name}: {text} selects nothing in the body"),
                )
                .with_location(here.clone()),
            ),
        }
    }
    (checks, captured)
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s.to_owned()
    }
}
