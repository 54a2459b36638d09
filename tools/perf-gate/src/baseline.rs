//! `--baseline`: this run's p50/p95/p99 and error rate against an earlier report's, within
//! the scenario's `regression` budget.

use gatehouse::{Check, Status};

use crate::checks::CheckId;
use crate::metrics::Summary;
use crate::scenario::Regression;
use crate::threshold::round3;

fn quantile_ms(s: &Summary, q: f64) -> Option<f64> {
    s.trend("http_req_duration")
        .filter(|h| !h.is_empty())
        .map(|h| h.value_at_quantile(q) as f64 / 1000.0)
}

fn error_rate(s: &Summary) -> Option<f64> {
    s.rate("http_req_failed")
        .filter(|r| r.total > 0)
        .map(|r| r.trues as f64 / r.total as f64)
}

/// One check per compared figure; `label` names the baseline in messages.
pub fn compare(now: &Summary, base: &Summary, budget: &Regression, label: &str) -> Vec<Check> {
    let mut out = Vec::new();
    for (id, q, b, name) in [
        (CheckId::BaselineP50, 0.50, budget.p50, "p50"),
        (CheckId::BaselineP95, 0.95, budget.p95, "p95"),
        (CheckId::BaselineP99, 0.99, budget.p99, "p99"),
    ] {
        match (quantile_ms(now, q), quantile_ms(base, q)) {
            (Some(n), Some(o)) => {
                let limit = round3(o * (1.0 + b));
                let c = Check::at_most(id, round3(n), limit).with_message(format!(
                    "{name} {:.3} ms vs {:.3} ms in {label} (budget +{:.0}%)",
                    n,
                    o,
                    b * 100.0
                ));
                out.push(c);
            }
            _ => out.push(Check::skip(
                id,
                format!("no http_req_duration samples to compare {name} with {label}"),
            )),
        }
    }
    match (error_rate(now), error_rate(base)) {
        (Some(n), Some(o)) => {
            let limit = round3((o + budget.error_rate) * 1e3) / 1e3;
            out.push(
                Check::at_most(CheckId::BaselineErrorRate, n, limit).with_message(format!(
                    "error rate {:.4} vs {:.4} in {label} (budget +{})",
                    n, o, budget.error_rate
                )),
            );
        }
        _ => out.push(
            Check::new(CheckId::BaselineErrorRate, Status::Skip).with_message(format!(
                "no requests to compare the error rate with {label}"
            )),
        ),
    }
    out
}
