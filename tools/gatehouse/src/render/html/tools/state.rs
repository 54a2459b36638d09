//! sbom-diff's counts, migration-gate's locks per statement, dr-drill's timeline against
//! RTO/RPO, replayctl's lag and replay throughput.

use serde_json::Value;

use super::{arr, f, s};
use crate::render::html::svg::{self, Axis, Bar, BarRow, Lane, Reference, Series, Span, number};
use crate::render::html::{figure, table};
use crate::report::Report;

pub(super) fn sbom(d: &Value) -> String {
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

pub(super) fn migration_dry_run(d: &Value) -> String {
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

/// Where a dr-drill timeline entry says it happened (seconds, or milliseconds for `_ms`).
const START_KEYS: &[&str] = &[
    "t_seconds",
    "start_s",
    "at_s",
    "offset_s",
    "t_s",
    "seconds",
    "start_ms",
    "at_ms",
    "offset_ms",
    "t_ms",
];

/// dr-drill's `data.timeline` (events or phases with offsets in seconds or milliseconds) and
/// `data.rto_seconds` / `data.rpo_seconds` against their targets (`*_target_seconds`, else
/// the limit of the check that judges them).
pub(super) fn dr_drill(r: &Report) -> String {
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
        let start = secs(e, START_KEYS).unwrap_or(0.0);
        let end = secs(e, &["end_s", "end_ms"])
            .or_else(|| secs(e, &["duration_s", "duration_ms"]).map(|x| start + x))
            .or_else(|| events.get(i + 1).and_then(|n| secs(n, START_KEYS)))
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
        let detail = e.get("detail").and_then(Value::as_str).unwrap_or(result);
        rows.push(vec![name, number(start), number(end), detail.to_owned()]);
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
    let last = lanes
        .iter()
        .flat_map(|l| l.spans.iter().map(|s| s.end))
        .fold(0.0f64, f64::max);
    // A target far beyond the drill (30 min against a 1 s failover) would squash every
    // step into the first pixels: then the RTO/RPO chart below carries it alone.
    if let Some(t) = target("rto").filter(|t| *t <= 5.0 * last.max(1.0)) {
        refs.push(Reference {
            value: t,
            label: format!("RTO target {} s", number(t)),
            class: "limit",
        });
    }
    if !lanes.is_empty() {
        let svg = svg::timeline(
            "Drill timeline",
            "Each step of the drill on one time axis from the cut (T0); a dashed line marks the RTO target when it is in range",
            "seconds from T0 (the cut)",
            &lanes,
            &refs,
        );
        out.push_str(&figure(
            &svg,
            "The drill's steps in time.",
            &["step", "at s", "until s", "detail"],
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

pub(super) fn replay_lag(d: &Value) -> String {
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

pub(super) fn replay_throughput(d: &Value) -> String {
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
