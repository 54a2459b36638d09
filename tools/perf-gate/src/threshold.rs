//! k6's thresholds: `metric{tag:value}: ["p(95)<250", {threshold: "rate>150", abortOnFail:
//! true, delayAbortEval: 5s}]`. Parsing names what is wrong in a malformed expression; judging
//! evaluates one on a run's [`Summary`](crate::metrics::Summary), in k6's units (ms for trends,
//! a fraction for rates, per second for a counter's rate).

use std::fmt;
use std::time::Duration;

use gatehouse::{Check, Location, Status};

use crate::checks::CheckId;
use crate::metrics::Summary;

/// What kind of metric a k6 name is, which decides the aggregations it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Durations in ms: p(N), avg, min, max, med.
    Trend,
    /// A fraction of true samples: rate.
    Rate,
    /// A running count: count, rate (per second).
    Counter,
}

/// The built-in metrics perf-gate records, with their kind.
pub const METRICS: &[(&str, Kind)] = &[
    ("http_req_duration", Kind::Trend),
    ("http_req_waiting", Kind::Trend),
    ("http_req_connecting", Kind::Trend),
    ("iteration_duration", Kind::Trend),
    ("http_req_failed", Kind::Rate),
    ("checks", Kind::Rate),
    ("http_reqs", Kind::Counter),
    ("iterations", Kind::Counter),
    ("dropped_iterations", Kind::Counter),
    ("data_sent", Kind::Counter),
    ("data_received", Kind::Counter),
];

/// Tags perf-gate keeps per sample (k6 has more; these are the ones a scenario file sets).
pub const TAGS: &[&str] = &["name", "scenario"];

pub fn kind_of(metric: &str) -> Option<Kind> {
    METRICS.iter().find(|(m, _)| *m == metric).map(|(_, k)| *k)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    Percentile(f64),
    Avg,
    Min,
    Max,
    Med,
    Count,
    Rate,
}

impl fmt::Display for Agg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agg::Percentile(p) => write!(f, "p({p})"),
            Agg::Avg => f.write_str("avg"),
            Agg::Min => f.write_str("min"),
            Agg::Max => f.write_str("max"),
            Agg::Med => f.write_str("med"),
            Agg::Count => f.write_str("count"),
            Agg::Rate => f.write_str("rate"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
            Op::Eq => observed == limit,
            Op::Ne => observed != limit,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// One threshold of one metric (and tag filter).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub metric: String,
    pub tag: Option<(String, String)>,
    pub agg: Agg,
    pub op: Op,
    pub limit: f64,
    pub abort_on_fail: bool,
    pub delay_abort_eval: Duration,
    /// The expression as written (`p(95)<250`).
    pub expr: String,
    pub location: Option<Location>,
}

impl Threshold {
    /// The metric with its tag filter, as k6 writes the key: `http_req_duration{name:a}`.
    pub fn key(&self) -> String {
        match &self.tag {
            Some((k, v)) => format!("{}{{{k}:{v}}}", self.metric),
            None => self.metric.clone(),
        }
    }

    /// `http_req_duration{name:a}: p(95)<250`
    pub fn source(&self) -> String {
        format!("{}: {}", self.key(), self.expr)
    }

    /// The observed value of the aggregation on `s`, or None without samples.
    pub fn observe(&self, s: &Summary) -> Option<f64> {
        let key = self.key();
        match kind_of(&self.metric)? {
            Kind::Trend => {
                let h = s.trend(&key)?;
                if h.is_empty() {
                    return None;
                }
                let ms = |us: u64| us as f64 / 1000.0;
                Some(match self.agg {
                    Agg::Percentile(p) => ms(h.value_at_quantile(p / 100.0)),
                    Agg::Med => ms(h.value_at_quantile(0.5)),
                    Agg::Avg => h.mean() / 1000.0,
                    Agg::Min => ms(h.min()),
                    Agg::Max => ms(h.max()),
                    Agg::Count | Agg::Rate => return None,
                })
            }
            Kind::Rate => {
                let r = s.rate(&key)?;
                (r.total > 0).then(|| r.trues as f64 / r.total as f64)
            }
            Kind::Counter => {
                let c = s.counter(&key);
                match self.agg {
                    Agg::Count => Some(c as f64),
                    Agg::Rate => (s.duration_s > 0.0).then(|| c as f64 / s.duration_s),
                    _ => None,
                }
            }
        }
    }

    /// The threshold as a check: ok when it holds, fail when crossed, skip without samples.
    pub fn judge(&self, s: &Summary) -> Check {
        let base = Check::new(CheckId::Threshold, Status::Ok);
        let base = match &self.location {
            Some(l) => base.with_location(l.clone()),
            None => base,
        };
        match self.observe(s) {
            None => base.with_status(Status::Skip).with_message(format!(
                "{}: no samples of {} in this run",
                self.source(),
                self.key()
            )),
            Some(v) => {
                let v = round3(v);
                let holds = self.op.holds(v, self.limit);
                let unit = self.unit();
                let status = if holds { Status::Ok } else { Status::Fail };
                let verdict = if holds { "holds" } else { "crossed" };
                base.with_status(status)
                    .with_numbers(v, self.limit)
                    .with_message(format!(
                        "{}: {verdict} ({} = {v}{unit})",
                        self.source(),
                        self.agg
                    ))
            }
        }
    }
}

impl Threshold {
    /// The unit of the observed value in messages: ms for trends, per second for a counter's
    /// rate.
    fn unit(&self) -> &'static str {
        match (kind_of(&self.metric), self.agg) {
            (Some(Kind::Trend), _) => " ms",
            (Some(Kind::Counter), Agg::Rate) => "/s",
            _ => "",
        }
    }

    /// The threshold of a shard (`run --shard I/N`) as a check: skip, since `perf-gate merge`
    /// judges it over all the shards' merged histograms and counts (a shard sends 1/N of the
    /// requests, so its own count or rate says nothing of the run's). The shard's observed
    /// value is kept, for the curious.
    pub fn judged_by_merge(&self, s: &Summary, shards: u64) -> Check {
        let observed = self.observe(s).map(round3);
        let share = match observed {
            Some(v) => format!("this shard's share: {} = {v}{}", self.agg, self.unit()),
            None => format!("no samples of {} in this shard", self.key()),
        };
        let c = Check::skip(
            CheckId::Threshold,
            format!(
                "{}: judged by `perf-gate merge` over all {shards} shards, not per shard ({share}; --judge-shard judges it here)",
                self.source()
            ),
        );
        let c = match &self.location {
            Some(l) => c.with_location(l.clone()),
            None => c,
        };
        match observed {
            Some(v) => c.with_numbers(v, self.limit),
            None => c,
        }
    }
}

/// Three decimals: µs resolution for ms values, no float noise in reports.
pub fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Parses a threshold key (`metric` or `metric{tag:value}`) and one expression. The error is
/// what is wrong, without the position (the caller knows the file and line).
pub fn parse(key: &str, expr: &str) -> Result<Threshold, String> {
    let (metric, tag) = parse_key(key)?;
    let kind = kind_of(&metric).ok_or_else(|| {
        let known: Vec<&str> = METRICS.iter().map(|(m, _)| *m).collect();
        format!(
            "unknown metric {metric:?} (perf-gate records {}; custom metrics need a k6 script)",
            known.join(", ")
        )
    })?;
    let (agg, op, limit) = parse_expr(expr)?;
    let allowed: &[&str] = match kind {
        Kind::Trend => &["p(N)", "avg", "min", "max", "med"],
        Kind::Rate => &["rate"],
        Kind::Counter => &["count", "rate"],
    };
    let fits = match kind {
        Kind::Trend => matches!(
            agg,
            Agg::Percentile(_) | Agg::Avg | Agg::Min | Agg::Max | Agg::Med
        ),
        Kind::Rate => agg == Agg::Rate,
        Kind::Counter => matches!(agg, Agg::Count | Agg::Rate),
    };
    if !fits {
        return Err(format!(
            "{metric} is a {} metric: its thresholds use {}, not {agg}",
            match kind {
                Kind::Trend => "trend",
                Kind::Rate => "rate",
                Kind::Counter => "counter",
            },
            allowed.join(", ")
        ));
    }
    Ok(Threshold {
        metric,
        tag,
        agg,
        op,
        limit,
        abort_on_fail: false,
        delay_abort_eval: Duration::ZERO,
        expr: format!("{agg}{}{}", op.as_str(), gatehouse::report::number(limit)),
        location: None,
    })
}

type Tag = Option<(String, String)>;

fn parse_key(key: &str) -> Result<(String, Tag), String> {
    let key = key.trim();
    let (metric, tag) = match key.split_once('{') {
        None => (key, None),
        Some((m, rest)) => {
            let inner = rest
                .strip_suffix('}')
                .ok_or_else(|| format!("{key:?}: a tag filter ends with '}}'"))?;
            if inner.contains(',') {
                return Err(format!(
                    "{key:?}: perf-gate filters on one tag at a time ({})",
                    TAGS.join(" or ")
                ));
            }
            let (k, v) = inner
                .split_once(':')
                .ok_or_else(|| format!("{key:?}: a tag filter is {{tag:value}}"))?;
            let (k, v) = (k.trim(), v.trim());
            if !TAGS.contains(&k) {
                return Err(format!(
                    "{key:?}: perf-gate records the tags {} per sample, not {k:?}",
                    TAGS.join(" and ")
                ));
            }
            if v.is_empty() {
                return Err(format!("{key:?}: the tag {k} has no value"));
            }
            (m, Some((k.to_owned(), v.to_owned())))
        }
    };
    let metric = metric.trim();
    if metric.is_empty()
        || !metric
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!("{metric:?} is not a metric name"));
    }
    Ok((metric.to_owned(), tag))
}

fn parse_expr(expr: &str) -> Result<(Agg, Op, f64), String> {
    let s = expr.trim();
    if s.is_empty() {
        return Err("empty threshold; write e.g. \"p(95)<250\"".to_owned());
    }
    let op_at = s
        .find(['<', '>', '=', '!'])
        .ok_or_else(|| format!("{expr:?} has no comparison (<, <=, >, >=, ==, !=)"))?;
    let (lhs, rest) = s.split_at(op_at);
    let (op, rhs) = if let Some(r) = rest.strip_prefix("===") {
        (Op::Eq, r)
    } else if let Some(r) = rest.strip_prefix("<=") {
        (Op::Le, r)
    } else if let Some(r) = rest.strip_prefix(">=") {
        (Op::Ge, r)
    } else if let Some(r) = rest.strip_prefix("==") {
        (Op::Eq, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (Op::Ne, r)
    } else if let Some(r) = rest.strip_prefix('<') {
        (Op::Lt, r)
    } else if let Some(r) = rest.strip_prefix('>') {
        (Op::Gt, r)
    } else {
        return Err(format!("{expr:?}: {rest:?} is not a comparison"));
    };
    let rhs = rhs.trim();
    if rhs.is_empty() {
        return Err(format!("{expr:?}: no number after {:?}", op.as_str()));
    }
    if rhs.starts_with(['<', '>', '=', '!']) {
        return Err(format!(
            "{expr:?}: {:?} is not a comparison (<, <=, >, >=, ==, !=)",
            &rest[..rest.len() - rhs.len() + 1]
        ));
    }
    let limit: f64 = rhs
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("{expr:?}: {rhs:?} is not a number"))?;
    let agg = parse_agg(lhs.trim(), expr)?;
    Ok((agg, op, limit))
}

fn parse_agg(lhs: &str, expr: &str) -> Result<Agg, String> {
    Ok(match lhs {
        "avg" => Agg::Avg,
        "min" => Agg::Min,
        "max" => Agg::Max,
        "med" => Agg::Med,
        "count" => Agg::Count,
        "rate" => Agg::Rate,
        "" => {
            return Err(format!(
                "{expr:?}: no aggregation before the comparison (p(95), avg, rate, …)"
            ));
        }
        _ => {
            let inner = lhs
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    format!(
                        "{expr:?}: unknown aggregation {lhs:?} (p(N), avg, min, max, med, count, rate)"
                    )
                })?;
            let p: f64 = inner
                .trim()
                .parse()
                .map_err(|_| format!("{expr:?}: p({inner}) needs a number"))?;
            if !(0.0..=100.0).contains(&p) || !p.is_finite() {
                return Err(format!("{expr:?}: p({inner}) is outside 0..100"));
            }
            Agg::Percentile(p)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Case = (
        &'static str,
        &'static str,
        Agg,
        Op,
        f64,
        Option<(&'static str, &'static str)>,
    );

    #[test]
    fn every_k6_form_parses() {
        let cases: &[Case] = &[
            (
                "http_req_duration",
                "p(95)<250",
                Agg::Percentile(95.0),
                Op::Lt,
                250.0,
                None,
            ),
            (
                "http_req_duration",
                "p(99.9) < 1000",
                Agg::Percentile(99.9),
                Op::Lt,
                1000.0,
                None,
            ),
            (
                "http_req_duration",
                "avg<100",
                Agg::Avg,
                Op::Lt,
                100.0,
                None,
            ),
            ("http_req_duration", "min>=1", Agg::Min, Op::Ge, 1.0, None),
            (
                "http_req_duration",
                "max<=2000",
                Agg::Max,
                Op::Le,
                2000.0,
                None,
            ),
            (
                "http_req_duration",
                "med<50.5",
                Agg::Med,
                Op::Lt,
                50.5,
                None,
            ),
            (
                "http_req_waiting",
                "p(90)<200",
                Agg::Percentile(90.0),
                Op::Lt,
                200.0,
                None,
            ),
            ("http_reqs", "count>100", Agg::Count, Op::Gt, 100.0, None),
            ("http_reqs", "rate>150", Agg::Rate, Op::Gt, 150.0, None),
            (
                "http_req_failed",
                "rate<0.01",
                Agg::Rate,
                Op::Lt,
                0.01,
                None,
            ),
            ("checks", "rate > 0.95", Agg::Rate, Op::Gt, 0.95, None),
            (
                "dropped_iterations",
                "count==0",
                Agg::Count,
                Op::Eq,
                0.0,
                None,
            ),
            ("iterations", "count===10", Agg::Count, Op::Eq, 10.0, None),
            ("data_received", "count!=0", Agg::Count, Op::Ne, 0.0, None),
            (
                "http_req_duration{name:get-order}",
                "p(99)<50",
                Agg::Percentile(99.0),
                Op::Lt,
                50.0,
                Some(("name", "get-order")),
            ),
            (
                "http_req_failed{scenario:spike}",
                "rate<0.1",
                Agg::Rate,
                Op::Lt,
                0.1,
                Some(("scenario", "spike")),
            ),
        ];
        for (key, expr, agg, op, limit, tag) in cases {
            let t = parse(key, expr).unwrap_or_else(|e| panic!("{key} {expr}: {e}"));
            assert_eq!((t.agg, t.op, t.limit), (*agg, *op, *limit), "{key}: {expr}");
            assert_eq!(
                t.tag,
                tag.map(|(k, v)| (k.to_owned(), v.to_owned())),
                "{key}"
            );
        }
    }

    #[test]
    fn malformed_ones_say_what_is_wrong() {
        let cases: &[(&str, &str, &str)] = &[
            ("http_req_duration", "p(95)<", "no number after"),
            ("http_reqs", "rate>>1", "is not a comparison"),
            ("quickpizza_ingredients", "avg<8", "unknown metric"),
            ("http_req_duration", "p(95)", "has no comparison"),
            ("http_req_duration", "p95<1", "unknown aggregation"),
            ("http_req_duration", "p(x)<1", "needs a number"),
            ("http_req_duration", "p(101)<1", "outside 0..100"),
            ("http_req_duration", "rate<1", "trend metric"),
            ("http_req_failed", "p(95)<1", "rate metric"),
            ("http_reqs", "avg<1", "counter metric"),
            ("http_req_duration", "<1", "no aggregation"),
            ("http_req_duration", "avg<abc", "is not a number"),
            ("http_req_duration", "", "empty threshold"),
            ("http_req_duration{status:200}", "p(95)<1", "not \"status\""),
            (
                "http_req_duration{name:a,method:GET}",
                "p(95)<1",
                "one tag at a time",
            ),
            ("http_req_duration{name:a", "p(95)<1", "ends with '}'"),
        ];
        for (key, expr, needle) in cases {
            let e = parse(key, expr).expect_err(&format!("{key}: {expr} should fail"));
            assert!(e.contains(needle), "{key}: {expr}: {e:?} lacks {needle:?}");
        }
    }
}
