//! Known history for a real Prometheus: OpenMetrics counters with a chosen error pattern,
//! backfilled by promtool (testkit::PrometheusHistory).

/// The instant the history ends: a minute ago, on a whole minute.
pub fn end() -> i64 {
    let now = gatehouse::time::Timestamp::now().unix();
    now - now % 60 - 60
}

/// One series' error ratio over time: `(seconds before the end it starts, ratio)`, latest
/// last; the first entry covers everything before.
pub struct Pattern<'a> {
    pub labels: &'a str,
    pub rps: f64,
    pub ratios: &'a [(i64, f64)],
}

/// `http_requests_total{job="checkout-api",code=…,LABELS}` every 15 s for `days` days up to
/// `end`, errors (code 500) following each pattern's ratio.
pub fn openmetrics(end: i64, days: i64, patterns: &[Pattern<'_>]) -> String {
    let step = 15;
    let start = end - days * 86_400;
    let mut series: Vec<(String, Vec<(i64, f64)>)> = Vec::new();
    for p in patterns {
        let (mut ok, mut bad) = (0.0_f64, 0.0_f64);
        let (mut ok_pts, mut bad_pts) = (Vec::new(), Vec::new());
        let mut t = start;
        while t <= end {
            let ratio = p
                .ratios
                .iter()
                .rev()
                .find(|(before, _)| t > end - before)
                .map_or(p.ratios[0].1, |r| r.1);
            ok_pts.push((t, ok));
            bad_pts.push((t, bad));
            let n = p.rps * step as f64;
            bad += n * ratio;
            ok += n * (1.0 - ratio);
            t += step;
        }
        let sep = if p.labels.is_empty() { "" } else { "," };
        series.push((
            format!("job=\"checkout-api\",code=\"200\"{sep}{}", p.labels),
            ok_pts,
        ));
        series.push((
            format!("job=\"checkout-api\",code=\"500\"{sep}{}", p.labels),
            bad_pts,
        ));
    }
    let mut out = String::from("# HELP http_requests Requests.\n# TYPE http_requests counter\n");
    for (labels, pts) in &series {
        for (t, v) in pts {
            out.push_str(&format!("http_requests_total{{{labels}}} {v} {t}\n"));
        }
    }
    out.push_str("# EOF\n");
    out
}

pub fn prometheus(om: &str) -> testkit::PrometheusHistory {
    testkit::PrometheusHistory::start("global: {scrape_interval: 15s}\n", om)
}

/// `http_request_duration_seconds{job="checkout-api",LABELS}` as an OpenMetrics histogram
/// every 15 s for `days` days up to `end`: `rps` requests a second spread over the buckets
/// `le` by the fractions `share` (the rest above the last bound).
pub fn histogram(end: i64, days: i64, series: &[(&str, f64, &[f64])]) -> String {
    const LE: [&str; 5] = ["0.05", "0.1", "0.25", "0.5", "1"];
    let step = 15;
    let start = end - days * 86_400;
    let mut out = String::from(
        "# HELP http_request_duration_seconds Latency.\n# TYPE http_request_duration_seconds histogram\n",
    );
    for (labels, rps, share) in series {
        let mut t = start;
        let mut n = 0.0_f64;
        while t <= end {
            let mut cum = 0.0;
            for (i, le) in LE.iter().enumerate() {
                cum += share.get(i).copied().unwrap_or(0.0);
                out.push_str(&format!(
                    "http_request_duration_seconds_bucket{{job=\"checkout-api\",{labels},le=\"{le}\"}} {} {t}\n",
                    n * cum.min(1.0)
                ));
            }
            out.push_str(&format!(
                "http_request_duration_seconds_bucket{{job=\"checkout-api\",{labels},le=\"+Inf\"}} {n} {t}\n"
            ));
            out.push_str(&format!(
                "http_request_duration_seconds_count{{job=\"checkout-api\",{labels}}} {n} {t}\n"
            ));
            out.push_str(&format!(
                "http_request_duration_seconds_sum{{job=\"checkout-api\",{labels}}} {} {t}\n",
                n * 0.05
            ));
            n += rps * step as f64;
            t += step;
        }
    }
    out.push_str("# EOF\n");
    out
}
