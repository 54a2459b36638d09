//! `perf-gate headroom SCENARIO --slo ... --expected-peak RATE`: find the highest sustainable
//! arrival rate and judge the headroom over the expected peak.

use gatehouse::report::number;
use gatehouse::{Check, Report, ReportBuilder};
use serde_json::json;

use crate::checks::CheckId;
use crate::cli::HeadroomArgs;
use crate::engine::{self, Stop};
use crate::error::{Error, invalid};
use crate::headroom::{self, Search};
use crate::scenario::parse_percent;
use crate::threshold::{self, round3};

pub(crate) fn run(args: &HeadroomArgs, quiet: bool) -> Report {
    Report::judge("perf-gate", "headroom", |b| judge(args, quiet, b))
}

fn judge(args: &HeadroomArgs, quiet: bool, b: &mut ReportBuilder) -> Result<(), Error> {
    let a = &args.load;
    let flags = crate::setup::LoadFlags {
        scenario: &a.scenario,
        target: a.target.as_deref(),
        workers: a.workers,
        connect_timeout: a.connect_timeout,
        ca_cert: a.ca_cert.as_deref(),
        quiet,
    };
    let load = crate::setup::options(&flags, b)?;
    let mut slo = Vec::new();
    for s in &args.slo {
        // `p(99)<250` is on http_req_duration; `metric: expr` names another metric.
        let (key, expr) = match s.split_once(':') {
            Some((k, e)) if !k.contains('(') => (k.trim(), e.trim()),
            _ => ("http_req_duration", s.as_str()),
        };
        slo.push(threshold::parse(key, expr).map_err(|e| invalid("--slo", e))?);
    }
    let required = parse_percent(&args.required).map_err(|e| invalid("--required", e))?;
    let error_budget =
        parse_percent(&args.error_budget).map_err(|e| invalid("--error-budget", e))?;
    let peak = args.expected_peak.per_second();
    if peak <= 0.0 {
        return Err(invalid("--expected-peak", "must be more than 0/s"));
    }
    if args.max_vus == 0 {
        return Err(invalid("--max-vus", "at least 1"));
    }
    let target = load.target.clone();
    engine::preflight(&load).map_err(|message| Error::Unreachable {
        target: target.to_string(),
        message,
    })?;
    let search = Search {
        load,
        slo,
        error_budget,
        expected_peak: peak,
        step: args.step_duration,
        max_vus: args.max_vus,
        max_rate: peak * 10.0,
        precision: 0.05,
    };
    let found = headroom::search(&search, |st| {
        tracing::info!(rate = st.rate, ok = st.ok, why = %st.why, "headroom step");
    })
    .map_err(Error::Engine)?;
    let headroom = found.sustainable / peak - 1.0;
    let steps: Vec<_> = found
        .steps
        .iter()
        .map(|s| {
            json!({
                "rate": number(s.rate),
                "achieved_rate": number(s.achieved),
                "ok": s.ok,
                "slo": s.observed.iter().map(|(k, v)| json!({"threshold": k, "observed": v})).collect::<Vec<_>>(),
                "error_rate": s.error_rate,
                "dropped_rate": s.dropped_rate,
                "retry": s.retry,
                "why": if s.why.is_empty() { None } else { Some(&s.why) },
            })
        })
        .collect();
    b.data(json!({
        "target": target.to_string(),
        "expected_peak": number(round3(peak)),
        "sustainable_rate": number(round3(found.sustainable)),
        "capped": found.capped,
        "headroom": number(round3(headroom)),
        "required": number(required),
        "slo": args.slo,
        "error_budget": number(error_budget),
        "steps": steps,
        "partial": found.stopped.is_some(),
    }));
    let msg = format!(
        "sustainable {:.1}/s{} vs expected peak {:.1}/s: headroom {:.0}% (required {:.0}%)",
        found.sustainable,
        if found.capped {
            " or more (search capped at 10× the peak)"
        } else {
            ""
        },
        peak,
        headroom * 100.0,
        required * 100.0
    );
    b.check(
        Check::at_least(CheckId::Headroom, round3(headroom), round3(required))
            .with_message(msg.clone()),
    );
    b.summary(msg);
    match found.stopped {
        None | Some(Stop::Threshold(_)) => Ok(()),
        Some(Stop::Interrupted) => Err(Error::Interrupted(
            "interrupted (Ctrl-C): the report has the steps that ran (data.partial)".to_owned(),
        )),
        Some(Stop::LostTarget(message)) => Err(Error::LostTarget {
            target: target.to_string(),
            message,
        }),
    }
}
