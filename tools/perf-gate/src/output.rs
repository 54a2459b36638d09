//! The report's `data` (`schemas/perf-gate.schema.json`) from a [`Summary`], and back: the
//! same form is what `merge` adds and what `--baseline` compares with.

use gatehouse::Location;
use gatehouse::report::number;
use serde_json::{Map, Value, json};

use crate::metrics::{self, RateCount, SERVICE_TIME, Summary};
use crate::scenario::Regression;
use crate::threshold::{self, Kind, Threshold, round3};

/// What the report says about the run besides its metrics.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub scenario: String,
    pub target: String,
    pub shard: Option<(u64, u64)>,
    pub partial: bool,
    pub thresholds: Vec<Threshold>,
    pub regression: Regression,
}

fn ms(us: u64) -> Value {
    number(round3(us as f64 / 1000.0))
}

fn per_s(n: u64, s: &Summary) -> Value {
    if s.duration_s > 0.0 {
        number(round3(n as f64 / s.duration_s))
    } else {
        json!(0)
    }
}

/// A trend's figures in ms.
pub fn trend(h: &hdrhistogram::Histogram<u64>, s: &Summary) -> Value {
    if h.is_empty() {
        return json!({"count": 0, "rate": 0});
    }
    json!({
        "count": h.len(),
        "rate": per_s(h.len(), s),
        "min": ms(h.min()),
        "max": ms(h.max()),
        "avg": number(round3(h.mean() / 1000.0)),
        "p50": ms(h.value_at_quantile(0.50)),
        "p90": ms(h.value_at_quantile(0.90)),
        "p95": ms(h.value_at_quantile(0.95)),
        "p99": ms(h.value_at_quantile(0.99)),
        "p999": ms(h.value_at_quantile(0.999)),
    })
}

fn base_metric(key: &str) -> &str {
    key.split('{').next().unwrap_or(key)
}

/// The report's `data`.
pub fn data(s: &Summary, info: &RunInfo) -> Value {
    let mut metrics = Map::new();
    let mut histograms = Map::new();
    for (k, h) in &s.trends {
        if k != SERVICE_TIME {
            metrics.insert(k.clone(), trend(h, s));
        }
        histograms.insert(k.clone(), json!(metrics::encode(h)));
    }
    for (k, c) in &s.counters {
        metrics.insert(k.clone(), json!({"count": c, "rate": per_s(*c, s)}));
    }
    for (k, r) in &s.rates {
        let rate = if r.total > 0 {
            number(round3(r.trues as f64 / r.total as f64 * 1000.0) / 1000.0)
        } else {
            json!(0)
        };
        metrics.insert(
            k.clone(),
            json!({"count": r.total, "passes": r.trues, "fails": r.total - r.trues, "rate": rate}),
        );
    }
    let service = s.trend(SERVICE_TIME).map_or(Value::Null, |h| trend(h, s));
    let (target_rate, achieved) = s.rates_per_s();
    json!({
        "scenario": info.scenario,
        "target": info.target,
        "shard": info.shard.map(|(i, n)| json!({"index": i, "count": n})),
        "partial": info.partial,
        "duration_s": number(round3(s.duration_s)),
        "target_rate": target_rate.map(|r| number(round3(r))),
        "achieved_rate": number(round3(achieved)),
        "scheduled_iterations": s.scheduled,
        "schedule_s": number(round3(s.schedule_s)),
        "metrics": metrics,
        "service_time": service,
        "histograms": histograms,
        "errors": s.errors,
        "thresholds": info.thresholds.iter().map(|t| json!({
            "metric": t.key(),
            "threshold": t.expr,
            "abort_on_fail": t.abort_on_fail,
            "location": t.location,
        })).collect::<Vec<_>>(),
        "regression": {
            "p50": info.regression.p50,
            "p95": info.regression.p95,
            "p99": info.regression.p99,
            "error_rate": info.regression.error_rate,
        },
    })
}

/// A report's data read back: its summary, thresholds and regression budget.
#[derive(Debug, Clone)]
pub struct Read {
    pub summary: Summary,
    pub thresholds: Vec<Threshold>,
    pub regression: Regression,
    pub shard: Option<(u64, u64)>,
    pub scenario: String,
    pub target: String,
    pub partial: bool,
}

/// Reads a perf-gate report (the whole envelope) back. Errors say what is missing.
pub fn read(report: &Value) -> Result<Read, String> {
    if report.get("agent").and_then(Value::as_str) != Some("perf-gate") {
        return Err("not a perf-gate report (agent is not perf-gate)".to_owned());
    }
    let d = report
        .get("data")
        .filter(|d| d.get("metrics").is_some())
        .ok_or("the report has no data.metrics (a run that could not start?)")?;
    let mut s = Summary {
        duration_s: d.get("duration_s").and_then(Value::as_f64).unwrap_or(0.0),
        scheduled: d.get("scheduled_iterations").and_then(Value::as_u64),
        schedule_s: d.get("schedule_s").and_then(Value::as_f64).unwrap_or(0.0),
        ..Summary::default()
    };
    let hists = d.get("histograms").and_then(Value::as_object);
    for (k, v) in hists.into_iter().flatten() {
        let text = v
            .as_str()
            .ok_or_else(|| format!("data.histograms.{k} is not a string"))?;
        let h = metrics::decode(text).map_err(|e| format!("data.histograms.{k}: {e}"))?;
        s.trends.insert(k.clone(), h);
    }
    for (k, v) in d
        .get("metrics")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let count = v.get("count").and_then(Value::as_u64).unwrap_or(0);
        match threshold::kind_of(base_metric(k)) {
            Some(Kind::Rate) => {
                let trues = v.get("passes").and_then(Value::as_u64).unwrap_or(0);
                s.rates.insert(
                    k.clone(),
                    RateCount {
                        trues,
                        total: count,
                    },
                );
            }
            Some(Kind::Counter) => {
                s.counters.insert(k.clone(), count);
            }
            Some(Kind::Trend) if !s.trends.contains_key(k) => {
                return Err(format!("data.histograms has no {k} (data.metrics has it)"));
            }
            Some(Kind::Trend) => {}
            None => {}
        }
    }
    for (k, v) in d
        .get("errors")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        s.errors.insert(k.clone(), v.as_u64().unwrap_or(0));
    }
    let mut thresholds = Vec::new();
    for t in d
        .get("thresholds")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = t.get("metric").and_then(Value::as_str).unwrap_or_default();
        let expr = t
            .get("threshold")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut th = threshold::parse(key, expr).map_err(|e| format!("data.thresholds: {e}"))?;
        th.abort_on_fail = t
            .get("abort_on_fail")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        th.location = t
            .get("location")
            .and_then(|l| serde_json::from_value::<Location>(l.clone()).ok());
        thresholds.push(th);
    }
    let r = d.get("regression");
    let f = |k: &str, dflt: f64| {
        r.and_then(|r| r.get(k))
            .and_then(Value::as_f64)
            .unwrap_or(dflt)
    };
    let dr = Regression::default();
    let regression = Regression {
        p50: f("p50", dr.p50),
        p95: f("p95", dr.p95),
        p99: f("p99", dr.p99),
        error_rate: f("error_rate", dr.error_rate),
    };
    let shard = d
        .get("shard")
        .and_then(|v| Some((v.get("index")?.as_u64()?, v.get("count")?.as_u64()?)));
    Ok(Read {
        summary: s,
        thresholds,
        regression,
        shard,
        scenario: d
            .get("scenario")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        target: d
            .get("target")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        partial: d.get("partial").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Reads a report for `--baseline` (one JSON object).
pub fn read_file(path: &std::path::Path) -> Result<(Read, String), crate::error::Error> {
    let src = gatehouse::Source::new(path);
    let input = gatehouse::input::read(&src)?;
    let label = src.label();
    let v: Value = serde_json::from_slice(&input.bytes)
        .map_err(|e| crate::error::Error::Input(gatehouse::input::json_error(&label, &e)))?;
    let read = read(&v).map_err(|e| crate::error::invalid(&label, e))?;
    Ok((read, label))
}

/// The one-line summary of a run: requests, rate, p95/p99, errors, verdicts.
pub fn summary_line(s: &Summary, failed: &[String]) -> String {
    let reqs = s.counter("http_reqs");
    let (_, achieved) = s.rates_per_s();
    let (p95, p99) = s
        .trend("http_req_duration")
        .filter(|h| !h.is_empty())
        .map_or((0.0, 0.0), |h| {
            (
                h.value_at_quantile(0.95) as f64 / 1000.0,
                h.value_at_quantile(0.99) as f64 / 1000.0,
            )
        });
    let failed_reqs = s.rate("http_req_failed").map_or(0, |r| r.trues);
    let mut line = format!(
        "{reqs} requests at {achieved:.1}/s, p95 {p95:.1} ms, p99 {p99:.1} ms, {failed_reqs} failed"
    );
    let dropped = s.counter("dropped_iterations");
    if dropped > 0 {
        line.push_str(&format!(", {dropped} dropped iterations"));
    }
    if !failed.is_empty() {
        line.push_str(&format!("; crossed: {}", failed.join(", ")));
    }
    line
}
