//! perf-gate: HdrHistogram's percentile plot (corrected vs service time, thresholds,
//! baseline), requests and latency per scenario, headroom search steps.

use std::fmt::Write as _;

use serde_json::Value;

use super::{arr, f, ms, s};
use crate::render::html::svg::{self, Axis, Bar, BarRow, Reference, Series, number};
use crate::render::html::{escape, figure};
use crate::report::Report;

/// The percentile below which `p(N)` puts its value, on the plot's x (1 / (1 - q)).
fn percentile_x(p: f64) -> f64 {
    1.0 / (1.0 - (p / 100.0).min(0.999_999))
}

pub(super) fn perf_run(r: &Report) -> String {
    let d = &r.data;
    let mut out = String::new();
    let mut series = Vec::new();
    let curve = |key: &str| -> Vec<(f64, f64)> {
        s(d, &format!("/histograms/{key}"))
            .and_then(crate::render::html::hdr::percentile_curve)
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

pub(super) fn perf_headroom(d: &Value) -> String {
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
