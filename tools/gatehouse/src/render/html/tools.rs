//! Each tool's charts and tables from its report's `data` (shapes in `schemas/<tool>.schema.json`):
//! perf-gate's percentile plot, per-scenario figures and headroom steps; verify-goldens' step
//! timelines, burn rates and canary; sbom-diff's counts; migration-gate's locks; dr-drill's
//! timeline against RTO/RPO; replayctl's lag and throughput. A field a report lacks leaves
//! its chart out; it never fails the page.

use std::fmt::Write as _;

use serde_json::Value;

use super::svg::{self, Axis, Bar, BarRow, Lane, Reference, Series, Span, number};
use super::{escape, figure, table};
use crate::report::Report;

fn f(v: &Value, pointer: &str) -> Option<f64> {
    v.pointer(pointer).and_then(Value::as_f64)
}

fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn arr<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn ms(v: Option<f64>) -> String {
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
        ("perf-gate", "run" | "merge") => perf_run(r),
        ("perf-gate", "headroom") => perf_headroom(d),
        ("verify-goldens", "run") => goldens_run(d),
        ("verify-goldens", "slo") => goldens_slo(d),
        ("verify-goldens", "canary") => goldens_canary(d),
        ("sbom-diff", "diff") => sbom(d),
        ("migration-gate", "dry-run") => migration_dry_run(d),
        ("dr-drill", _) => dr_drill(r),
        ("replayctl", "lag") => replay_lag(d),
        ("replayctl", "replay") => replay_throughput(d),
        _ => String::new(),
    }
}

/// The percentile below which `p(N)` puts its value, on the plot's x (1 / (1 - q)).
fn percentile_x(p: f64) -> f64 {
    1.0 / (1.0 - (p / 100.0).min(0.999_999))
}

fn perf_run(r: &Report) -> String {
    let d = &r.data;
    let mut out = String::new();
    let mut series = Vec::new();
    let curve = |key: &str| -> Vec<(f64, f64)> {
        s(d, &format!("/histograms/{key}"))
            .and_then(super::hdr::percentile_curve)
            .unwrap_or_else(|| {
                // No histogram: the report's own percentiles.
                let m = if key == "service_time" {
                    d.get("service_time")
                } else {
                    d.pointer("/metrics/http_req_duration")
                };
                [
                    (50.0, "p50"),
                    (90.0, "p90"),
                    (95.0, "p95"),
                    (99.0, "p99"),
                    (99.9, "p999"),
                ]
                .iter()
                .filter_map(|(p, k)| Some((percentile_x(*p), m?.get(*k)?.as_f64()?)))
                .collect()
            })
    };
    let corrected = curve("http_req_duration");
    let service = curve("service_time");
    if !corrected.is_empty() {
        series.push(Series {
            name: "corrected (from intended send)".into(),
            class: "s1",
            points: corrected,
            dots: false,
        });
    }
    if !service.is_empty() {
        series.push(Series {
            name: "service time".into(),
            class: "s2",
            points: service,
            dots: false,
        });
    }
    // A baseline run's percentiles: the baseline.pNN checks' limit is baseline × (1 + budget).
    let mut base = Vec::new();
    for (p, key) in [(50.0, "p50"), (95.0, "p95"), (99.0, "p99")] {
        let budget = f(d, &format!("/regression/{key}")).unwrap_or(0.0);
        if let Some(limit) = r
            .checks
            .iter()
            .find(|c| c.id == format!("baseline.{key}"))
            .and_then(|c| c.limit.as_ref()?.as_f64())
        {
            base.push((percentile_x(p), limit / (1.0 + budget)));
        }
    }
    if !base.is_empty() {
        series.push(Series {
            name: "baseline".into(),
            class: "base",
            points: base.clone(),
            dots: true,
        });
    }
    let mut refs = Vec::new();
    for t in arr(d, "/thresholds") {
        let metric = s(t, "/metric").unwrap_or("");
        let expr = s(t, "/threshold").unwrap_or("");
        if metric.starts_with("http_req_duration")
            && let Some((_, v)) = expr.split_once('<')
            && let Ok(v) = v.trim_start_matches('=').trim().parse::<f64>()
        {
            refs.push(Reference {
                value: v,
                label: format!("{metric}: {expr}"),
                class: "limit",
            });
        }
    }
    if !series.is_empty() {
        let ys = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(refs.iter().map(|r| r.value))
            .filter(|v| *v > 0.0);
        let (lo, hi) = ys.fold((f64::MAX, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let x_max = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(10.0f64, f64::max);
        let mut x = Axis::log("percentile", 1.0, x_max);
        x.ticks = x
            .ticks
            .iter()
            .map(|(v, _)| {
                let q = 100.0 * (1.0 - 1.0 / v);
                (*v, format!("{}%", number(q)))
            })
            .collect();
        let y = Axis::log(
            "latency (ms, log)",
            if lo == f64::MAX { 1.0 } else { lo },
            hi.max(1.0),
        );
        let svg = svg::lines(
            "Latency by percentile",
            "HdrHistogram percentile plot: latency counted from each request's intended send \
             time (coordinated omission corrected) against service time, thresholds as dashed lines",
            &x,
            &y,
            &series,
            &refs,
        );
        let p = |m: Option<&Value>, k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_f64);
        let corr = d.pointer("/metrics/http_req_duration");
        let svc = d.get("service_time");
        let rows: Vec<Vec<String>> = ["p50", "p90", "p95", "p99", "p999", "max"]
            .iter()
            .map(|k| vec![(*k).to_owned(), ms(p(corr, k)), ms(p(svc, k))])
            .collect();
        out.push_str(&figure(
            &svg,
            "Latency distribution: corrected for coordinated omission vs service time; dashed lines are the thresholds.",
            &["percentile", "corrected", "service time"],
            &rows,
        ));
    }
    // Per scenario: perf-gate keeps no per-interval series, so "over time" is per phase.
    let metrics = d.get("metrics").and_then(Value::as_object);
    let mut rate_rows = Vec::new();
    let mut lat_rows = Vec::new();
    let mut table_rows = Vec::new();
    if let Some(m) = metrics {
        for (name, v) in m {
            let Some(sc) = name
                .strip_prefix("http_req_duration{scenario:")
                .and_then(|x| x.strip_suffix('}'))
            else {
                continue;
            };
            let count = f(v, "/count").unwrap_or(0.0);
            rate_rows.push(BarRow {
                label: sc.to_owned(),
                bars: vec![Bar {
                    value: count,
                    class: "s1",
                    name: "requests".into(),
                }],
            });
            lat_rows.push(BarRow {
                label: sc.to_owned(),
                bars: vec![
                    Bar {
                        value: f(v, "/p95").unwrap_or(0.0),
                        class: "s1",
                        name: "p95 ms".into(),
                    },
                    Bar {
                        value: f(v, "/p99").unwrap_or(0.0),
                        class: "s2",
                        name: "p99 ms".into(),
                    },
                ],
            });
            table_rows.push(vec![
                sc.to_owned(),
                number(f(v, "/rate").unwrap_or(0.0)),
                ms(f(v, "/p95")),
                ms(f(v, "/p99")),
                number(f(v, "/count").unwrap_or(0.0)),
            ]);
        }
    }
    if !rate_rows.is_empty() {
        let rate = svg::bars(
            "Requests by scenario",
            "Requests each scenario (phase of the run) completed",
            "requests",
            &rate_rows,
            &[],
        );
        let lat_refs: Vec<Reference> = arr(d, "/thresholds")
            .iter()
            .filter(|t| s(t, "/metric") == Some("http_req_duration"))
            .filter_map(|t| {
                let expr = s(t, "/threshold")?;
                let v = expr
                    .split_once('<')?
                    .1
                    .trim_start_matches('=')
                    .trim()
                    .parse()
                    .ok()?;
                Some(Reference {
                    value: v,
                    label: expr.to_owned(),
                    class: "limit",
                })
            })
            .collect();
        let lat = svg::bars(
            "Latency by scenario",
            "p95 and p99 latency of each scenario against the thresholds",
            "ms",
            &lat_rows,
            &lat_refs,
        );
        let _ = write!(
            out,
            "<h3>Rate and latency over the run</h3><p class=\"muted\">Per scenario, in the order the \
             scenario file starts them; perf-gate's report keeps no per-second series.</p>"
        );
        out.push_str(&figure(
            &rate,
            "Requests completed per scenario (the rate column is over the whole run).",
            &[
                "scenario",
                "requests/s over the run",
                "p95",
                "p99",
                "requests",
            ],
            &table_rows,
        ));
        out.push_str(&figure(
            &lat,
            "p95 and p99 latency per scenario; dashed lines are the thresholds.",
            &[],
            &[],
        ));
    }
    let _ = write!(
        out,
        "<p>Scheduled {}/s, achieved {}/s over {} s; errors: {}.</p>",
        f(d, "/target_rate").map_or("–".into(), number),
        f(d, "/achieved_rate").map_or("–".into(), number),
        f(d, "/duration_s").map_or("–".into(), number),
        escape(
            &d.get("errors")
                .and_then(Value::as_object)
                .map(|e| {
                    e.iter()
                        .filter(|(_, n)| n.as_f64().unwrap_or(0.0) > 0.0)
                        .map(|(k, n)| format!("{k} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "none".to_owned())
        )
    );
    out
}

fn perf_headroom(d: &Value) -> String {
    let rows: Vec<BarRow> = arr(d, "/steps")
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let ok = st.get("ok").and_then(Value::as_bool).unwrap_or(false);
            BarRow {
                label: format!(
                    "step {} · {}/s",
                    i + 1,
                    number(f(st, "/rate").unwrap_or(0.0))
                ),
                bars: vec![Bar {
                    value: f(st, "/achieved_rate").unwrap_or(0.0),
                    class: if ok { "ok" } else { "fail" },
                    name: if ok {
                        "kept the SLO".into()
                    } else {
                        "broke the SLO".into()
                    },
                }],
            }
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let mut refs = Vec::new();
    if let Some(peak) = f(d, "/expected_peak") {
        refs.push(Reference {
            value: peak,
            label: format!("peak {}/s", number(peak)),
            class: "target",
        });
        if let Some(req) = f(d, "/required") {
            let need = peak * (1.0 + req);
            refs.push(Reference {
                value: need,
                label: format!("needed {}/s", number(need)),
                class: "limit",
            });
        }
    }
    let svg = svg::bars(
        "Headroom search steps",
        "Achieved rate at each step of the capacity search; green kept the SLO, red broke it; dashed lines are the expected peak and the rate the required headroom needs",
        "requests/s achieved",
        &rows,
        &refs,
    );
    let table_rows: Vec<Vec<String>> = arr(d, "/steps")
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let slo = arr(st, "/slo")
                .iter()
                .map(|x| {
                    format!(
                        "{} = {}",
                        s(x, "/threshold").unwrap_or(""),
                        f(x, "/observed").map_or("–".into(), number)
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            vec![
                format!("{}", i + 1),
                number(f(st, "/rate").unwrap_or(0.0)),
                number(f(st, "/achieved_rate").unwrap_or(0.0)),
                if st.get("ok").and_then(Value::as_bool).unwrap_or(false) {
                    "ok".into()
                } else {
                    "broke".into()
                },
                slo,
            ]
        })
        .collect();
    figure(
        &svg,
        "Capacity search: each step's achieved rate.",
        &["step", "rate/s", "achieved/s", "SLO", "observed"],
        &table_rows,
    )
}

fn goldens_run(d: &Value) -> String {
    let mut out = String::new();
    for path in arr(d, "/paths") {
        let name = s(path, "/name").unwrap_or("path");
        let mut lanes = Vec::new();
        let mut rows = Vec::new();
        let mut offset = 0.0;
        for st in arr(path, "/steps") {
            let t = st.get("timings").cloned().unwrap_or(Value::Null);
            let dns = f(&t, "/dns_ms").unwrap_or(0.0);
            let connect = f(&t, "/connect_ms").unwrap_or(0.0);
            let tls = f(&t, "/tls_ms").unwrap_or(0.0);
            let total = f(&t, "/total_ms").unwrap_or(0.0);
            let first = f(&t, "/first_byte_ms")
                .unwrap_or(total)
                .max(dns + connect + tls);
            let mut spans = Vec::new();
            let mut at = offset;
            for (len, class, what) in [
                (dns, "s3", "DNS"),
                (connect, "s4", "connect"),
                (tls, "s2", "TLS"),
            ] {
                if len > 0.0 {
                    spans.push(Span {
                        start: at,
                        end: at + len,
                        class,
                        name: what.into(),
                    });
                    at += len;
                }
            }
            spans.push(Span {
                start: at,
                end: offset + first,
                class: "s1",
                name: "waiting for first byte".into(),
            });
            if total > first {
                spans.push(Span {
                    start: offset + first,
                    end: offset + total,
                    class: "skip",
                    name: "body".into(),
                });
            }
            let step = s(st, "/step").unwrap_or("step");
            let result = s(st, "/result").unwrap_or("");
            lanes.push(Lane {
                label: format!("{step} ({result})"),
                spans,
            });
            rows.push(vec![
                step.to_owned(),
                result.to_owned(),
                number(dns),
                number(connect),
                number(tls),
                number(first),
                number(total),
            ]);
            offset += total;
        }
        if lanes.is_empty() {
            continue;
        }
        let title = format!("Golden path {name}: step timeline");
        let svg = svg::timeline(
            &title,
            "Each step's DNS, connect, TLS, wait for the first byte and body, one after the other",
            "ms since the path started",
            &lanes,
            &[],
        );
        let _ = write!(
            out,
            "<h3>{} {}</h3>",
            escape(&format!("Golden path {name}")),
            super::badge(s(path, "/result").unwrap_or(""))
        );
        out.push_str(&figure(
            &svg,
            &format!("{title} (DNS, connect, TLS, first byte, total)."),
            &[
                "step",
                "result",
                "DNS ms",
                "connect ms",
                "TLS ms",
                "first byte ms",
                "total ms",
            ],
            &rows,
        ));
    }
    out
}

fn goldens_slo(d: &Value) -> String {
    let mut out = String::new();
    for slo in arr(d, "/slos") {
        let name = format!(
            "{} / {}",
            s(slo, "/service").unwrap_or(""),
            s(slo, "/name").unwrap_or("")
        );
        let rows: Vec<BarRow> = arr(slo, "/windows")
            .iter()
            .map(|w| BarRow {
                label: s(w, "/window").unwrap_or("").to_owned(),
                bars: vec![Bar {
                    value: f(w, "/burn_rate").unwrap_or(0.0),
                    class: "s1",
                    name: "burn rate".into(),
                }],
            })
            .collect();
        let refs: Vec<Reference> = arr(slo, "/pairs")
            .iter()
            .filter_map(|p| {
                Some(Reference {
                    value: f(p, "/factor")?,
                    label: format!(
                        "{} ×{}",
                        s(p, "/severity").unwrap_or(""),
                        number(f(p, "/factor")?)
                    ),
                    class: if s(p, "/severity") == Some("page") {
                        "limit"
                    } else {
                        "target"
                    },
                })
            })
            .collect();
        let svg = svg::bars(
            &format!("SLO {name}: burn rate per window"),
            "Error-budget burn rate in each window against the page and ticket factors (dashed)",
            "burn rate (1 = budget spent exactly over the period)",
            &rows,
            &refs,
        );
        let table_rows: Vec<Vec<String>> = arr(slo, "/pairs")
            .iter()
            .map(|p| {
                vec![
                    s(p, "/severity").unwrap_or("").to_owned(),
                    format!(
                        "{} / {}",
                        s(p, "/long").unwrap_or(""),
                        s(p, "/short").unwrap_or("")
                    ),
                    number(f(p, "/factor").unwrap_or(0.0)),
                    if p.get("firing").and_then(Value::as_bool).unwrap_or(false) {
                        "FIRING".into()
                    } else {
                        "quiet".into()
                    },
                ]
            })
            .collect();
        let _ = write!(
            out,
            "<h3>{}</h3><p>Objective {}% · budget remaining {}%.</p>",
            escape(&format!("SLO {name}")),
            f(slo, "/objective").map_or("–".into(), number),
            f(slo, "/budget_remaining").map_or("–".into(), |b| number(b * 100.0))
        );
        out.push_str(&figure(
            &svg,
            "Burn rate per window; dashed lines are the alerting pairs' factors.",
            &["severity", "windows", "factor", "state"],
            &table_rows,
        ));
    }
    out
}

fn goldens_canary(d: &Value) -> String {
    let rows: Vec<BarRow> = arr(d, "/slos")
        .iter()
        .map(|slo| BarRow {
            label: s(slo, "/name").unwrap_or("").to_owned(),
            bars: vec![
                Bar {
                    value: 100.0 * f(slo, "/baseline/error_ratio").unwrap_or(0.0),
                    class: "s3",
                    name: "baseline error %".into(),
                },
                Bar {
                    value: 100.0 * f(slo, "/canary/error_ratio").unwrap_or(0.0),
                    class: "s2",
                    name: "canary error %".into(),
                },
            ],
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let svg = svg::bars(
        "Canary vs baseline: error ratio",
        "Error percentage of the canary against the baseline for each SLO",
        "errors %",
        &rows,
        &[],
    );
    let table_rows: Vec<Vec<String>> = arr(d, "/slos")
        .iter()
        .map(|slo| {
            vec![
                s(slo, "/name").unwrap_or("").to_owned(),
                format!(
                    "{} / {}",
                    f(slo, "/baseline/errors").unwrap_or(0.0),
                    f(slo, "/baseline/requests").unwrap_or(0.0)
                ),
                format!(
                    "{} / {}",
                    f(slo, "/canary/errors").unwrap_or(0.0),
                    f(slo, "/canary/requests").unwrap_or(0.0)
                ),
                f(slo, "/errors/p_value").map_or("–".into(), number),
                s(slo, "/decision").unwrap_or("").to_owned(),
            ]
        })
        .collect();
    let mut out = format!(
        "<p>Canary <code>{}</code> against baseline <code>{}</code> over {}: {}.</p>",
        escape(s(d, "/canary").unwrap_or("")),
        escape(s(d, "/baseline").unwrap_or("")),
        escape(s(d, "/window").unwrap_or("")),
        super::badge(s(d, "/decision").unwrap_or("none"))
    );
    out.push_str(&figure(
        &svg,
        "Error ratio per SLO, baseline and canary.",
        &[
            "SLO",
            "baseline errors/requests",
            "canary errors/requests",
            "p-value",
            "decision",
        ],
        &table_rows,
    ));
    out
}

fn sbom(d: &Value) -> String {
    let mut out = String::new();
    let keys = [
        "added",
        "removed",
        "upgraded",
        "downgraded",
        "changed",
        "license_changed",
    ];
    let rows: Vec<BarRow> = keys
        .iter()
        .map(|k| BarRow {
            label: k.replace('_', " "),
            bars: vec![Bar {
                value: f(d, &format!("/counts/{k}")).unwrap_or(0.0),
                class: "s1",
                name: "components".into(),
            }],
        })
        .collect();
    let svg = svg::bars(
        "Component changes",
        "How many components were added, removed, upgraded, downgraded, changed, or changed licence",
        "components",
        &rows,
        &[],
    );
    let trows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.replace('_', " "),
                number(f(d, &format!("/counts/{k}")).unwrap_or(0.0)),
            ]
        })
        .collect();
    out.push_str(&figure(
        &svg,
        "Component changes between the two SBOMs.",
        &["change", "components"],
        &trows,
    ));
    let sev = ["critical", "high", "medium", "low", "unknown"];
    let rows: Vec<BarRow> = sev
        .iter()
        .map(|k| BarRow {
            label: (*k).to_owned(),
            bars: vec![
                Bar {
                    value: f(d, &format!("/vulnerabilities/counts/new/{k}")).unwrap_or(0.0),
                    class: "fail",
                    name: "new".into(),
                },
                Bar {
                    value: f(d, &format!("/vulnerabilities/counts/fixed/{k}")).unwrap_or(0.0),
                    class: "ok",
                    name: "fixed".into(),
                },
            ],
        })
        .collect();
    let svg = svg::bars(
        "Vulnerabilities by severity",
        "New and fixed vulnerabilities by severity",
        "vulnerabilities",
        &rows,
        &[],
    );
    let vrows: Vec<Vec<String>> = arr(d, "/vulnerabilities/new")
        .iter()
        .take(50)
        .map(|v| {
            vec![
                s(v, "/id").unwrap_or("").to_owned(),
                s(v, "/severity").unwrap_or("").to_owned(),
                format!(
                    "{} {}",
                    s(v, "/package").unwrap_or(""),
                    s(v, "/version").unwrap_or("")
                ),
                arr(v, "/fixed_in")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    out.push_str(&figure(
        &svg,
        "New vulnerabilities (red) and fixed ones (green) by severity.",
        &[],
        &[],
    ));
    if !vrows.is_empty() {
        out.push_str("<h3>New vulnerabilities</h3>");
        out.push_str(&table(
            &["id", "severity", "package", "fixed in"],
            &vrows,
            &[],
        ));
    }
    let lrows: Vec<Vec<String>> = arr(d, "/license_changed")
        .iter()
        .take(50)
        .map(|c| {
            vec![
                s(c, "/name").unwrap_or("").to_owned(),
                format!(
                    "{} → {}",
                    s(c, "/old_version").unwrap_or(""),
                    s(c, "/new_version").unwrap_or("")
                ),
                s(c, "/old_license").unwrap_or("").to_owned(),
                s(c, "/new_license").unwrap_or("").to_owned(),
            ]
        })
        .collect();
    if !lrows.is_empty() {
        out.push_str("<h3>Licence changes</h3>");
        out.push_str(&table(
            &["component", "version", "old licence", "new licence"],
            &lrows,
            &[],
        ));
    }
    out
}

fn migration_dry_run(d: &Value) -> String {
    let stmts = arr(d, "/statements");
    let label = |st: &Value| {
        format!(
            "{}:{}",
            s(st, "/migration").unwrap_or(""),
            f(st, "/line").map_or(String::new(), number)
        )
    };
    let rows: Vec<BarRow> = stmts
        .iter()
        .filter(|st| !arr(st, "/locks").is_empty() || f(st, "/blocked_ms").unwrap_or(0.0) > 0.0)
        .take(40)
        .map(|st| BarRow {
            label: label(st),
            bars: vec![
                Bar {
                    value: f(st, "/lock_held_ms").unwrap_or(0.0),
                    class: "s3",
                    name: "lock held ms".into(),
                },
                Bar {
                    value: f(st, "/blocked_ms").unwrap_or(0.0),
                    class: "fail",
                    name: "others blocked ms".into(),
                },
            ],
        })
        .collect();
    let mut out = String::new();
    if !rows.is_empty() {
        let svg = svg::bars(
            "Locks per statement",
            "How long each statement that took a lock held it, and how long other sessions were blocked behind it",
            "ms",
            &rows,
            &[],
        );
        out.push_str(&figure(
            &svg,
            "Lock held and blocked time per statement that locked (migration:line).",
            &[],
            &[],
        ));
    }
    let trows: Vec<Vec<String>> = stmts
        .iter()
        .take(100)
        .map(|st| {
            let locks = arr(st, "/locks")
                .iter()
                .map(|l| {
                    format!(
                        "{} on {}",
                        s(l, "/mode").unwrap_or(""),
                        s(l, "/relation").unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let rewrites = arr(st, "/rewrites")
                .iter()
                .map(|w| w.as_str().map_or_else(|| w.to_string(), str::to_owned))
                .collect::<Vec<_>>()
                .join(", ");
            vec![
                label(st),
                s(st, "/sql").unwrap_or("").to_owned(),
                locks,
                rewrites,
                number(f(st, "/blocked_ms").unwrap_or(0.0)),
                number(f(st, "/duration_ms").unwrap_or(0.0)),
            ]
        })
        .collect();
    if !trows.is_empty() {
        out.push_str("<h3>Statements</h3>");
        out.push_str(&table(
            &["statement", "SQL", "locks", "rewrites", "blocked ms", "ms"],
            &trows,
            &[4, 5],
        ));
    }
    out
}

/// dr-drill's `data.timeline` (events or phases with offsets in seconds or milliseconds) and
/// `data.rto_seconds` / `data.rpo_seconds` against their targets (`*_target_seconds`, else
/// the limit of the check that judges them).
fn dr_drill(r: &Report) -> String {
    let d = &r.data;
    let mut out = String::new();
    let secs = |e: &Value, keys: &[&str]| -> Option<f64> {
        for k in keys {
            if let Some(v) = e.get(*k).and_then(Value::as_f64) {
                return Some(if k.ends_with("_ms") { v / 1000.0 } else { v });
            }
        }
        None
    };
    let events = arr(d, "/timeline");
    let mut lanes = Vec::new();
    let mut rows = Vec::new();
    for (i, e) in events.iter().take(60).enumerate() {
        let name = ["step", "phase", "event", "name", "what"]
            .iter()
            .find_map(|k| e.get(*k).and_then(Value::as_str))
            .unwrap_or("event")
            .to_owned();
        let start = secs(
            e,
            &[
                "start_s",
                "at_s",
                "offset_s",
                "t_s",
                "seconds",
                "start_ms",
                "at_ms",
                "offset_ms",
                "t_ms",
            ],
        )
        .unwrap_or(0.0);
        let end = secs(e, &["end_s", "end_ms"])
            .or_else(|| secs(e, &["duration_s", "duration_ms"]).map(|x| start + x))
            .or_else(|| {
                events.get(i + 1).and_then(|n| {
                    secs(
                        n,
                        &[
                            "start_s",
                            "at_s",
                            "offset_s",
                            "t_s",
                            "seconds",
                            "start_ms",
                            "at_ms",
                            "offset_ms",
                            "t_ms",
                        ],
                    )
                })
            })
            .unwrap_or(start);
        let result = e.get("result").and_then(Value::as_str).unwrap_or("");
        lanes.push(Lane {
            label: name.clone(),
            spans: vec![Span {
                start,
                end: end.max(start),
                class: if result == "fail" { "fail" } else { "s1" },
                name: name.clone(),
            }],
        });
        rows.push(vec![name, number(start), number(end), result.to_owned()]);
    }
    let target = |key: &str| -> Option<f64> {
        f(d, &format!("/{key}_target_seconds"))
            .or_else(|| f(d, &format!("/targets/{key}_seconds")))
            .or_else(|| {
                r.checks
                    .iter()
                    .find(|c| c.id.contains(key))
                    .and_then(|c| c.limit.as_ref()?.as_f64())
            })
    };
    let mut refs = Vec::new();
    if let Some(t) = target("rto") {
        refs.push(Reference {
            value: t,
            label: format!("RTO target {} s", number(t)),
            class: "limit",
        });
    }
    if !lanes.is_empty() {
        let svg = svg::timeline(
            "Drill timeline",
            "Each step of the drill on one time axis; the dashed line is the RTO target",
            "seconds since the drill started",
            &lanes,
            &refs,
        );
        out.push_str(&figure(
            &svg,
            "The drill's steps in time.",
            &["step", "start s", "end s", "result"],
            &rows,
        ));
    }
    let mut bars = Vec::new();
    let mut trows = Vec::new();
    for (key, label) in [("rto", "RTO"), ("rpo", "RPO")] {
        if let Some(v) = f(d, &format!("/{key}_seconds")) {
            let t = target(key);
            let over = t.is_some_and(|t| v > t);
            bars.push(BarRow {
                label: label.to_owned(),
                bars: vec![
                    Bar {
                        value: v,
                        class: if over { "fail" } else { "ok" },
                        name: "measured s".into(),
                    },
                    Bar {
                        value: t.unwrap_or(0.0),
                        class: "skip",
                        name: "target s".into(),
                    },
                ],
            });
            trows.push(vec![
                label.to_owned(),
                number(v),
                t.map_or("–".into(), number),
            ]);
        }
    }
    if !bars.is_empty() {
        let svg = svg::bars(
            "RTO and RPO against targets",
            "Measured recovery time and recovery point (seconds) against their targets",
            "seconds",
            &bars,
            &[],
        );
        out.push_str(&figure(
            &svg,
            "Measured RTO/RPO (green within target, red over) and the targets (grey).",
            &["measure", "measured s", "target s"],
            &trows,
        ));
    }
    out
}

fn replay_lag(d: &Value) -> String {
    let groups = arr(d, "/groups");
    let rows: Vec<BarRow> = groups
        .iter()
        .map(|g| BarRow {
            label: format!(
                "{} / {}",
                s(g, "/stream").unwrap_or(""),
                s(g, "/group").unwrap_or("")
            ),
            bars: vec![Bar {
                value: f(g, "/oldest_undelivered_age_ms")
                    .unwrap_or(0.0)
                    .max(f(g, "/oldest_pending_age_ms").unwrap_or(0.0))
                    / 1000.0,
                class: "s1",
                name: "oldest lag s".into(),
            }],
        })
        .collect();
    if rows.is_empty() {
        return String::new();
    }
    let refs: Vec<Reference> = f(d, "/budgets/max_lag_ms")
        .map(|m| Reference {
            value: m / 1000.0,
            label: format!("max lag {} s", number(m / 1000.0)),
            class: "limit",
        })
        .into_iter()
        .collect();
    let svg = svg::bars(
        "Consumer lag per group",
        "Age of the oldest undelivered or pending entry of each stream's consumer group against the lag budget",
        "seconds",
        &rows,
        &refs,
    );
    let trows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                format!(
                    "{} / {}",
                    s(g, "/stream").unwrap_or(""),
                    s(g, "/group").unwrap_or("")
                ),
                number(f(g, "/undelivered").unwrap_or(0.0)),
                number(f(g, "/pending").unwrap_or(0.0)),
                f(g, "/oldest_undelivered_age_ms").map_or("–".into(), |x| number(x / 1000.0)),
                number(f(g, "/length").unwrap_or(0.0)),
            ]
        })
        .collect();
    figure(
        &svg,
        "Lag per consumer group; the dashed line is the budget.",
        &[
            "stream / group",
            "undelivered",
            "pending",
            "oldest undelivered s",
            "length",
        ],
        &trows,
    )
}

fn replay_throughput(d: &Value) -> String {
    let mut out = format!(
        "<p>Replayed {} entries of the window into the sink in {} ms: <strong>{} rows/s</strong>; {} written, {} already there, {} refused.</p>",
        number(f(d, "/read").unwrap_or(0.0)),
        number(f(d, "/elapsed_ms").unwrap_or(0.0)),
        number(f(d, "/rows_per_second").unwrap_or(0.0)),
        number(f(d, "/inserted").unwrap_or(0.0)),
        number(f(d, "/duplicates").unwrap_or(0.0)),
        number(f(d, "/rejected_count").unwrap_or(0.0)),
    );
    let samples = arr(d, "/backpressure/samples");
    let t0 = samples.first().and_then(|x| f(x, "/at_ms")).unwrap_or(0.0);
    let points: Vec<(f64, f64)> = samples
        .iter()
        .filter_map(|x| Some(((f(x, "/at_ms")? - t0) / 1000.0, f(x, "/live_lag")?)))
        .collect();
    if !points.is_empty() {
        let xmax = points.iter().map(|p| p.0).fold(0.0f64, f64::max);
        let ymax = points.iter().map(|p| p.1).fold(0.0f64, f64::max);
        let pause = f(d, "/backpressure/pause_above");
        let x = Axis::linear("seconds into the replay", 0.0, xmax.max(0.001));
        let y = Axis::linear(
            "live consumer lag (entries)",
            0.0,
            ymax.max(pause.unwrap_or(1.0)),
        );
        let refs: Vec<Reference> = pause
            .map(|p| Reference {
                value: p,
                label: format!("pause above {}", number(p)),
                class: "target",
            })
            .into_iter()
            .collect();
        let svg = svg::lines(
            "Live lag during the replay",
            "The live consumer group's lag sampled while the replay ran; the replay pauses above the dashed line",
            &x,
            &y,
            &[Series {
                name: "live lag".into(),
                class: "s1",
                points: points.clone(),
                dots: true,
            }],
            &refs,
        );
        let rows: Vec<Vec<String>> = points
            .iter()
            .take(50)
            .map(|(a, b)| vec![number(*a), number(*b)])
            .collect();
        out.push_str(&figure(
            &svg,
            "Live lag over the replay (backpressure samples).",
            &["s", "lag"],
            &rows,
        ));
    }
    out
}
