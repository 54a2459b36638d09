//! Owns the canary decision: for each SLO, the SLI's errors and total over `--window` for
//! the canary and the baseline (label matchers injected into every selector through the
//! PromQL parser), a test on the error counts, Mann-Whitney U on the latency histogram when
//! the SLI reads one, and promote / hold / rollback.
//!
//! The decision per SLI: too few requests on either side → hold. Otherwise the canary is
//! *materially* worse when its error ratio exceeds the baseline's by more than the SLO's
//! whole error budget (1 − objective) — for latency, when a canary request is slower than
//! a baseline one more often than 60 % of the time. Materially worse and significant
//! (p < alpha) → rollback; materially worse but not significant yet → hold; else promote.

use std::time::Duration;

use gatehouse::{Check, Location, ReportBuilder, Section, Status};
use promql_parser::label::Matcher;
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::error::Error;
use crate::prom::Client;
use crate::promql::{bucket_selector, exact_bucket_selectors, fill_window, inject, prom_duration};
use crate::slo::Slo;
use crate::stats;

/// The common-language effect size above which a slower canary matters.
const LATENCY_EFFECT: f64 = 0.6;

pub(crate) struct Options {
    pub client: Client,
    pub slos: Vec<Slo>,
    pub canary: (String, Vec<Matcher>),
    pub baseline: (String, Vec<Matcher>),
    pub window: Duration,
    pub min_requests: u64,
    pub alpha: f64,
    /// Unix seconds.
    pub at: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Decision {
    Promote,
    Hold,
    Rollback,
}

impl Decision {
    fn as_str(self) -> &'static str {
        match self {
            Decision::Promote => "promote",
            Decision::Hold => "hold",
            Decision::Rollback => "rollback",
        }
    }

    fn status(self) -> Status {
        match self {
            Decision::Promote => Status::Ok,
            Decision::Hold => Status::Warn,
            Decision::Rollback => Status::Fail,
        }
    }
}

fn location(s: &str) -> Location {
    match s
        .rsplit_once(':')
        .and_then(|(f, l)| l.parse().ok().map(|l| (f, l)))
    {
        Some((f, l)) => Location::line(f, l),
        None => Location::file(s),
    }
}

/// Sum of an instant query's samples; no series is an error naming the query.
fn sum(opts: &Options, slo: &Slo, q: &str, may_be_empty: bool) -> Result<f64, Error> {
    let samples = opts.client.query(q, opts.at)?;
    if samples.is_empty() && !may_be_empty {
        return Err(Error::NoSeries {
            location: slo.location.clone(),
            slo: format!("{}/{}", slo.service, slo.name),
            query: q.to_owned(),
        });
    }
    Ok(samples.iter().map(|s| s.1).sum())
}

fn injected(slo: &Slo, template: &str, window: &str, m: &[Matcher]) -> Result<String, Error> {
    inject(&fill_window(template, window), m).map_err(|e| {
        Error::Input(gatehouse::InputError::invalid(
            slo.location.clone(),
            format!("SLO {}: {e}", slo.name),
        ))
    })
}

/// Requests and errors of one side over the window (rates × seconds, rounded).
fn counts(opts: &Options, slo: &Slo, m: &[Matcher]) -> Result<(u64, u64), Error> {
    let w = prom_duration(opts.window);
    let secs = opts.window.as_secs_f64();
    let total = sum(opts, slo, &injected(slo, &slo.total, &w, m)?, false)?;
    // No error series on one side is normal (no errors); the total proves the metric —
    // unless the SLI asks for a histogram bound the histogram does not have.
    let errors_q = injected(slo, &slo.errors, &w, m)?;
    let errors = sum(opts, slo, &errors_q, true)?;
    if errors == 0.0 {
        for sel in exact_bucket_selectors(&errors_q) {
            let q = format!("count(last_over_time({sel}[{w}]))");
            match sum(opts, slo, &q, false) {
                Err(Error::NoSeries { location, slo, .. }) => {
                    return Err(Error::NoSeries {
                        location,
                        slo,
                        query: sel.clone(),
                    });
                }
                Err(e) => return Err(e),
                Ok(_) => {}
            }
        }
    }
    let round = |x: f64| {
        if x.is_finite() && x > 0.0 {
            (x * secs).round() as u64
        } else {
            0
        }
    };
    Ok((round(errors), round(total)))
}

/// Per-bucket counts (fastest first) of the SLI's histogram for one side.
fn buckets(opts: &Options, sel: &str, m: &[Matcher]) -> Result<Vec<(f64, f64)>, String> {
    let w = prom_duration(opts.window);
    let q = inject(&format!("sum by (le) (rate({sel}[{w}]))"), m)?;
    let samples = opts.client.query(&q, opts.at).map_err(|e| e.to_string())?;
    let mut cum: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|(labels, v)| {
            let le = labels.get("le")?.as_str();
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, v * opts.window.as_secs_f64()))
        })
        .collect();
    cum.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut prev = 0.0;
    Ok(cum
        .into_iter()
        .map(|(le, c)| {
            let n = (c - prev).max(0.0);
            prev = c.max(prev);
            (le, n)
        })
        .collect())
}

pub(crate) fn judge(opts: &Options, b: &mut ReportBuilder) -> Result<(), Error> {
    let mut overall = Decision::Promote;
    let mut out = Vec::new();
    let mut table = Section::new(
        "Canary",
        &[
            "service",
            "SLO",
            "canary errors",
            "baseline errors",
            "test",
            "p",
            "decision",
        ],
    );
    for slo in &opts.slos {
        let who = format!("{}/{}", slo.service, slo.name);
        let here = location(&slo.location);
        let (ce, ct) = counts(opts, slo, &opts.canary.1)?;
        let (be, bt) = counts(opts, slo, &opts.baseline.1)?;
        let ratio = |e: u64, t: u64| if t > 0 { e as f64 / t as f64 } else { 0.0 };
        let (cr, br) = (ratio(ce, ct), ratio(be, bt));
        let enough = ct >= opts.min_requests && bt >= opts.min_requests;
        b.check(
            Check::new(
                CheckId::CanaryTraffic,
                if enough { Status::Ok } else { Status::Warn },
            )
            .with_observed(ct.min(bt))
            .with_limit(opts.min_requests)
            .with_message(format!(
                "{who}: {ct} canary and {bt} baseline requests in {}, at least {} each needed",
                prom_duration(opts.window),
                opts.min_requests
            ))
            .with_location(here.clone()),
        );
        let budget = 1.0 - slo.objective / 100.0;
        let finding = stats::errors_worse((ce, ct), (be, bt));
        let material = cr - br > budget;
        let errors_decision = if !enough {
            Decision::Hold
        } else if material && finding.p_value < opts.alpha {
            Decision::Rollback
        } else if material {
            Decision::Hold
        } else {
            Decision::Promote
        };
        b.check(
            Check::new(CheckId::CanaryErrors, errors_decision.status())
                .with_observed(gatehouse::report::number(cr))
                .with_limit(gatehouse::report::number(br + budget))
                .with_message(format!(
                    "{who}: canary {ce}/{ct} errors ({:.3}%), baseline {be}/{bt} ({:.3}%); {} p = {:.3e}: {}",
                    cr * 100.0,
                    br * 100.0,
                    finding.test,
                    finding.p_value,
                    errors_decision.as_str()
                ))
                .with_location(here.clone()),
        );
        let mut decision = errors_decision;
        // The templates parse only once `{{.window}}` is filled.
        let w = prom_duration(opts.window);
        let latency = match bucket_selector(&fill_window(&slo.total, &w))
            .or_else(|| bucket_selector(&fill_window(&slo.errors, &w)))
        {
            None => {
                b.check(
                    Check::skip(
                        CheckId::CanaryLatency,
                        format!("{who}: the SLI reads no histogram"),
                    )
                    .with_location(here.clone()),
                );
                Value::Null
            }
            Some(sel) => {
                let cb = buckets(opts, &sel, &opts.canary.1);
                let bb = buckets(opts, &sel, &opts.baseline.1);
                match (cb, bb) {
                    (Ok(c), Ok(bs))
                        if c.len() == bs.len() && c.iter().zip(&bs).all(|(x, y)| x.0 == y.0) =>
                    {
                        let cn: Vec<f64> = c.iter().map(|x| x.1).collect();
                        let bn: Vec<f64> = bs.iter().map(|x| x.1).collect();
                        match stats::mann_whitney_binned(&cn, &bn) {
                            Some((u, effect, p)) => {
                                let d = if !enough {
                                    Decision::Hold
                                } else if effect > LATENCY_EFFECT && p < opts.alpha {
                                    Decision::Rollback
                                } else if effect > LATENCY_EFFECT {
                                    Decision::Hold
                                } else {
                                    Decision::Promote
                                };
                                decision = decision.max(d);
                                b.check(
                                    Check::new(CheckId::CanaryLatency, d.status())
                                        .with_observed(gatehouse::report::number(effect))
                                        .with_limit(LATENCY_EFFECT)
                                        .with_message(format!(
                                            "{who}: a canary request is slower than a baseline one {:.1}% of the time (Mann-Whitney U {u:.0}, p = {p:.3e}): {}",
                                            effect * 100.0,
                                            d.as_str()
                                        ))
                                        .with_location(here.clone()),
                                );
                                json!({"test": "mann_whitney_u", "u": u, "effect": effect, "p_value": p, "decision": d.as_str()})
                            }
                            None => {
                                b.check(
                                    Check::skip(
                                        CheckId::CanaryLatency,
                                        format!("{who}: no observations in {sel} on one side"),
                                    )
                                    .with_location(here.clone()),
                                );
                                Value::Null
                            }
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        b.check(
                            Check::skip(CheckId::CanaryLatency, format!("{who}: {e}"))
                                .with_location(here.clone()),
                        );
                        Value::Null
                    }
                    _ => {
                        b.check(
                            Check::skip(
                                CheckId::CanaryLatency,
                                format!(
                                    "{who}: canary and baseline histograms have different buckets"
                                ),
                            )
                            .with_location(here.clone()),
                        );
                        Value::Null
                    }
                }
            }
        };
        overall = overall.max(decision);
        table.row(vec![
            slo.service.clone(),
            slo.name.clone(),
            format!("{ce}/{ct}"),
            format!("{be}/{bt}"),
            finding.test.into(),
            format!("{:.3e}", finding.p_value),
            decision.as_str().into(),
        ]);
        out.push(json!({
            "service": slo.service, "name": slo.name, "objective": slo.objective,
            "canary": {"requests": ct, "errors": ce, "error_ratio": cr},
            "baseline": {"requests": bt, "errors": be, "error_ratio": br},
            "errors": {"test": finding.test, "p_value": finding.p_value, "decision": errors_decision.as_str()},
            "latency": latency,
            "decision": decision.as_str(),
        }));
    }
    b.check(
        Check::new(CheckId::CanaryDecision, overall.status())
            .with_observed(overall.as_str())
            .with_message(format!(
                "{} ({} against {})",
                overall.as_str(),
                opts.canary.0,
                opts.baseline.0
            )),
    );
    b.summary(format!(
        "{}: canary {} against baseline {} over {}",
        overall.as_str(),
        opts.canary.0,
        opts.baseline.0,
        prom_duration(opts.window)
    ))
    .section(table)
    .data(json!({
        "decision": overall.as_str(),
        "canary": opts.canary.0,
        "baseline": opts.baseline.0,
        "window": prom_duration(opts.window),
        "min_requests": opts.min_requests,
        "alpha": opts.alpha,
        "slos": out,
    }));
    Ok(())
}
