//! Owns the live checks (`check --prometheus URL`): every selector has series now or within
//! `--lookback`, every expression evaluates, the series a rule touches stay within budget,
//! `rate()` arguments are counters by scrape metadata, and recording rules do not write a
//! name that targets expose. Findings join the offline ones of the same file.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use gatehouse::Status;
use promql_parser::parser::VectorSelector;

use crate::analysis;
use crate::checks::CheckId;
use crate::config::Config;
use crate::error::Error;
use crate::finding::{FileState, Finding, LiveInfo};
use crate::lint::Parsed;
use crate::prom::{Answer, Client};
use crate::promql;
use crate::rules::{Group, RuleKind, Text};
use crate::yamltree::{Pos, value_pos};

/// Names that are not scraped and need no series: Prometheus's own alert state.
const SYNTHETIC: &[&str] = &["ALERTS", "ALERTS_FOR_STATE"];

/// How to reach the server: checked by the command (defaults from the config applied).
pub(crate) struct Options {
    /// Prometheus base URL (`http://` or `https://`, optional `user:pass@`).
    pub url: String,
    /// Deadline of each request.
    pub timeout: Duration,
    /// How far back a selector's series may have been seen.
    pub lookback: Duration,
}

/// What the live checks need of one file, kept from linting it: its text (to locate
/// findings) and its rules' plans.
pub(crate) struct LiveFile {
    pub text: String,
    pub rules: Vec<LiveRule>,
}

/// What the live checks need of one rule whose expression parsed, taken from its AST while
/// the file is linted (the AST itself is not kept).
pub(crate) struct LiveRule {
    pub kind: RuleKind,
    pub name: Text,
    pub expr: Text,
    /// Vector selectors in source order.
    pub selectors: Vec<LiveSelector>,
    /// `rate()`-family calls on a named metric: function, metric, offset of the call.
    pub rate_calls: Vec<(&'static str, String, Option<usize>)>,
}

pub(crate) struct LiveSelector {
    pub metric: Option<String>,
    /// The selector without offset/@ modifiers, as PromQL text.
    pub plain: String,
    /// Whether it has matchers besides the metric name.
    pub has_labels: bool,
    /// Where the metric name is written in the expression.
    pub offset: Option<usize>,
}

/// Extracts the live plan of every parsed rule (`parsed` indexed like `groups`).
pub(crate) fn plan(groups: &[Group], parsed: Vec<Vec<Option<Parsed>>>) -> Vec<LiveRule> {
    let mut out = Vec::new();
    for (g, group_parsed) in groups.iter().zip(parsed) {
        for (rule, p) in g.rules.iter().zip(group_parsed) {
            let (Some(p), Some(expr)) = (p, &rule.expr) else {
                continue;
            };
            let mut seen_names: HashMap<String, usize> = HashMap::new();
            let selectors = analysis::selectors(&p.expr)
                .into_iter()
                .map(|vs| {
                    let metric = analysis::metric_name(vs).map(str::to_owned);
                    let offset = metric.as_deref().and_then(|m| {
                        let c = seen_names.entry(m.to_owned()).or_insert(0);
                        *c += 1;
                        promql::find_ident_at(&expr.value, &p.toks, m, *c - 1)
                    });
                    LiveSelector {
                        has_labels: vs.matchers.matchers.iter().any(|x| x.name != "__name__"),
                        plain: plain_selector(vs),
                        metric,
                        offset,
                    }
                })
                .collect();
            let rate_calls = analysis::calls(&p.expr)
                .into_iter()
                .filter(|site| matches!(site.name, "rate" | "irate" | "increase" | "resets"))
                .filter_map(|site| {
                    let m = analysis::range_arg(site.call)
                        .and_then(|(vs, _)| analysis::metric_name(vs))?;
                    let at = promql::find_call(&expr.value, &p.toks, site.name, site.nth);
                    Some((site.name, m.to_owned(), at))
                })
                .collect();
            out.push(LiveRule {
                kind: rule.kind,
                name: rule.name.clone(),
                expr: expr.clone(),
                selectors,
                rate_calls,
            });
        }
    }
    out
}

/// Runs the live checks of every file that has a plan (`plans` indexed like `files`); their
/// findings join the file's offline ones, each plan is dropped once its file is done.
pub(crate) fn run(
    opts: &Options,
    config: &Config,
    files: &mut [FileState],
    plans: Vec<Option<LiveFile>>,
) -> Result<LiveInfo, Error> {
    let mut client = Client::new(&opts.url, opts.timeout)?;
    let (scrape, _) = client.intervals()?;
    let metadata = client.metadata()?;
    let mut session = Session {
        client,
        // Names written by the rules under check: their series may not exist before deploy.
        recorded: plans
            .iter()
            .flatten()
            .flat_map(|l| &l.rules)
            .filter(|r| r.kind == RuleKind::Record)
            .map(|r| r.name.value.clone())
            .collect(),
        cache: HashMap::new(),
        lookback: gatehouse::duration::format_duration(opts.lookback),
        max_series: config.live.max_series,
    };
    for (f, live) in files.iter_mut().zip(plans) {
        let Some(live) = live else { continue };
        let mut found = Vec::new();
        for rule in &live.rules {
            session.judge_rule(&live.text, rule, &metadata, &mut found)?;
        }
        settle_rate_on_gauge(&mut f.findings, &live, &metadata, &mut found);
        f.findings.extend(found);
    }
    Ok(LiveInfo {
        url: opts.url.clone(),
        scrape_interval: scrape.map(gatehouse::duration::format_duration),
        queries: session.client.requests,
    })
}

/// One run's connection to the server and what it learnt so far.
struct Session {
    client: Client,
    /// Metrics the rules under check record.
    recorded: HashSet<String>,
    /// Series count per selector, shared across rules: (now, within lookback).
    cache: HashMap<String, (f64, f64)>,
    /// `--lookback` as PromQL writes a range.
    lookback: String,
    max_series: u64,
}

impl Session {
    /// The live findings of one rule: its recorded name already scraped, the query refused,
    /// selectors without series, more series touched than the budget.
    fn judge_rule(
        &mut self,
        text: &str,
        rule: &LiveRule,
        metadata: &HashMap<String, String>,
        found: &mut Vec<Finding>,
    ) -> Result<(), Error> {
        let expr = &rule.expr;
        let name = &rule.name.value;
        let at = |off: Option<usize>| value_pos(text, expr.pos, &expr.value, off.unwrap_or(0));

        if rule.kind == RuleKind::Record
            && let Some(t) = metadata.get(name)
        {
            found.push(
                    Finding::new(
                        CheckId::RecordingCollision,
                        Status::Fail,
                        rule.name.pos,
                        format!("{name}: scrape targets already expose {name} ({t}); the rule would write the same series"),
                    )
                    .for_rule(name),
                );
        }

        if let Answer::Rejected(msg) = self.client.query(&expr.value)? {
            found.push(
                Finding::new(
                    CheckId::LiveQuery,
                    Status::Fail,
                    at(Some(0)),
                    format!("{name}: Prometheus refused the query: {msg}"),
                )
                .for_rule(name),
            );
        }

        let mut touched = 0.0;
        for s in &rule.selectors {
            if s.metric
                .as_deref()
                .is_some_and(|m| SYNTHETIC.contains(&m) || self.recorded.contains(m))
            {
                continue;
            }
            touched += self.judge_selector(name, s, at(s.offset), found)?;
        }
        if touched > self.max_series as f64 {
            found.push(
                Finding::new(
                    CheckId::LiveQueryCost,
                    Status::Warn,
                    at(Some(0)),
                    format!(
                        "{name}: touches {touched} series (budget {})",
                        self.max_series
                    ),
                )
                .for_rule(name),
            );
        }
        Ok(())
    }

    /// Whether the selector of rule `name` has series now or within the lookback (a
    /// finding when not); returns how many it has now.
    fn judge_selector(
        &mut self,
        name: &str,
        s: &LiveSelector,
        pos: Pos,
        found: &mut Vec<Finding>,
    ) -> Result<f64, Error> {
        let lookback = self.lookback.clone();
        let sel = &s.plain;
        let (now, past) = self.series(sel)?;
        if now == 0.0 && past == 0.0 {
            let hint = match &s.metric {
                Some(m) if s.has_labels => {
                    let by_name = count(
                        &mut self.client,
                        &format!("count(last_over_time({m}[{lookback}]))"),
                    )?;
                    if by_name > 0.0 {
                        format!("; {m} exists, but no series match {sel}")
                    } else {
                        format!("; no metric named {m} at all")
                    }
                }
                _ => String::new(),
            };
            found.push(
                Finding::new(
                    CheckId::LiveSeriesPresent,
                    Status::Fail,
                    pos,
                    format!("{name}: {sel} matches no series now or in the last {lookback}{hint}"),
                )
                .for_rule(name),
            );
        } else if now == 0.0 {
            found.push(
                Finding::new(
                    CheckId::LiveSeriesPresent,
                    Status::Warn,
                    pos,
                    format!("{name}: {sel} has no series now (it had some in the last {lookback})"),
                )
                .for_rule(name),
            );
        }
        Ok(now)
    }

    /// (series now, series within the lookback) of a selector, asked once per run.
    fn series(&mut self, sel: &str) -> Result<(f64, f64), Error> {
        if let Some(v) = self.cache.get(sel) {
            return Ok(*v);
        }
        let now = count(&mut self.client, &format!("count({sel})"))?;
        let past = if now > 0.0 {
            now
        } else {
            count(
                &mut self.client,
                &format!("count(last_over_time({sel}[{}]))", self.lookback),
            )?
        };
        self.cache.insert(sel.to_owned(), (now, past));
        Ok((now, past))
    }
}

/// Metadata settles what names only suggest: the offline `promql.rate_on_gauge` guesses on
/// metrics the server knows the type of are dropped, and `rate()`-family calls on what the
/// targets declare a gauge fail.
fn settle_rate_on_gauge(
    findings: &mut Vec<Finding>,
    live: &LiveFile,
    metadata: &HashMap<String, String>,
    found: &mut Vec<Finding>,
) {
    findings.retain(|x| {
        if x.id != CheckId::PromqlRateOnGauge {
            return true;
        }
        let metric = x
            .message
            .split(" on ")
            .nth(1)
            .and_then(|s| s.split(',').next());
        !metric.is_some_and(|m| {
            matches!(
                metadata.get(m).map(String::as_str),
                Some("counter" | "histogram" | "summary" | "gauge")
            )
        })
    });
    for rule in &live.rules {
        for (func, m, offset) in &rule.rate_calls {
            if metadata.get(m).map(String::as_str) == Some("gauge") {
                let pos = value_pos(
                    &live.text,
                    rule.expr.pos,
                    &rule.expr.value,
                    offset.unwrap_or(0),
                );
                found.push(
                    Finding::new(
                        CheckId::PromqlRateOnGauge,
                        Status::Fail,
                        pos,
                        format!(
                            "{}: {func}() on {m}, which its targets declare a gauge",
                            rule.name.value
                        ),
                    )
                    .for_rule(&rule.name.value),
                );
            }
        }
    }
}

fn count(client: &mut Client, q: &str) -> Result<f64, Error> {
    Ok(match client.query(q)? {
        Answer::Vector(v) => v.first().map_or(0.0, |s| s.1),
        Answer::Scalar(x) => x,
        Answer::Rejected(_) => 0.0,
    })
}

/// The selector without offset/@ modifiers, as PromQL text.
fn plain_selector(vs: &VectorSelector) -> String {
    let mut v = vs.clone();
    v.offset = None;
    v.at = None;
    v.to_string()
}
