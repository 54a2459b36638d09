//! Each tool's charts and tables from its report's `data` (shapes in `schemas/<tool>.schema.json`):
//! perf-gate's percentile plot, per-scenario figures and headroom steps; verify-goldens' step
//! timelines, burn rates and canary; sbom-diff's counts; migration-gate's locks; dr-drill's
//! timeline against RTO/RPO; replayctl's lag and throughput. A field a report lacks leaves
//! its chart out; it never fails the page.

mod goldens;
mod perf;
mod state;

use serde_json::Value;

use super::svg::number;
use crate::report::Report;

pub(super) fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

pub(super) fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

pub(super) fn arr<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

pub(super) fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |x| format!("{} ms", number(x)))
}

/// The headline figure of a report, when its tool has one.
pub(super) fn key_figure(r: &Report) -> Option<String> {
    let d = &r.data;
    match (r.agent.as_str(), r.action.as_str()) {
        ("perf-gate", "run" | "merge") => Some(format!(
            "p95 {} · p99 {} · {}/s achieved · {} failed",
            ms(f(d, "/metrics/http_req_duration/p95")),
            ms(f(d, "/metrics/http_req_duration/p99")),
            number(f(d, "/achieved_rate")?),
            number(f(d, "/metrics/http_req_failed/passes").unwrap_or(0.0))
        )),
        ("perf-gate", "headroom") => Some(format!(
            "sustainable {}/s vs peak {}/s: headroom {}% (required {}%)",
            number(f(d, "/sustainable_rate")?),
            number(f(d, "/expected_peak")?),
            number(f(d, "/headroom")? * 100.0),
            number(f(d, "/required").unwrap_or(0.0) * 100.0)
        )),
        ("sbom-diff", "diff") => {
            let n = |sev: &str| f(d, &format!("/vulnerabilities/counts/new/{sev}")).unwrap_or(0.0);
            Some(format!(
                "new vulnerabilities: {} critical, {} high · {} added, {} removed, {} license changes",
                n("critical"),
                n("high"),
                f(d, "/counts/added")?,
                f(d, "/counts/removed").unwrap_or(0.0),
                f(d, "/counts/license_changed").unwrap_or(0.0)
            ))
        }
        ("migration-gate", "dry-run") => {
            let blocked = f(d, "/load/longest_blocked_ms")?;
            let rewrites = arr(d, "/statements")
                .iter()
                .filter(|st| !arr(st, "/rewrites").is_empty())
                .count();
            Some(format!(
                "longest blocked session {} · {rewrites} table rewrites",
                ms(Some(blocked))
            ))
        }
        ("dr-drill", _) => {
            let rto = f(d, "/rto_seconds");
            let rpo = f(d, "/rpo_seconds");
            (rto.is_some() || rpo.is_some()).then(|| {
                format!(
                    "RTO {} s · RPO {} s",
                    rto.map_or("–".into(), number),
                    rpo.map_or("–".into(), number)
                )
            })
        }
        ("replayctl", "replay") => Some(format!(
            "{} rows/s · {} written",
            number(f(d, "/rows_per_second")?),
            number(f(d, "/inserted").unwrap_or(0.0))
        )),
        _ => None,
    }
}

/// The charts and tables of one report's tool.
pub(super) fn figures(r: &Report) -> String {
    let d = &r.data;
    match (r.agent.as_str(), r.action.as_str()) {
        ("perf-gate", "run" | "merge") => perf::perf_run(r),
        ("perf-gate", "headroom") => perf::perf_headroom(d),
        ("verify-goldens", "run") => goldens::goldens_run(d),
        ("verify-goldens", "slo") => goldens::goldens_slo(d),
        ("verify-goldens", "canary") => goldens::goldens_canary(d),
        ("sbom-diff", "diff") => state::sbom(d),
        ("migration-gate", "dry-run") => state::migration_dry_run(d),
        ("dr-drill", _) => state::dr_drill(r),
        ("replayctl", "lag") => state::replay_lag(d),
        ("replayctl", "replay") => state::replay_throughput(d),
        _ => String::new(),
    }
}
