//! verify-goldens: step timelines of golden paths, burn rate per window against the
//! page/ticket factors, canary vs baseline.

use std::fmt::Write as _;

use serde_json::Value;

use super::{arr, f, s};
use crate::render::html::svg::{self, Bar, BarRow, Lane, Reference, Span, number};
use crate::render::html::{escape, figure};

pub(super) fn goldens_run(d: &Value) -> String {
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
            crate::render::html::badge(s(path, "/result").unwrap_or(""))
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

pub(super) fn goldens_slo(d: &Value) -> String {
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

pub(super) fn goldens_canary(d: &Value) -> String {
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
        crate::render::html::badge(s(d, "/decision").unwrap_or("none"))
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
