//! Owns the offline checks of one loaded rule file: PromQL parsing with located errors,
//! policy (labels, owners, annotations, runbooks), PromQL soundness, `for`/`keep_firing_for`,
//! templates and recording-rule names. Live checks add to the same findings in `live`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use gatehouse::Status;
use promql_parser::parser::Expr;

use crate::analysis::{self, LabelSet};
use crate::checks::CheckId;
use crate::config::Config;
use crate::finding::Finding;
use crate::promql::{self, Tok};
use crate::rules::{Group, Rule, RuleKind, Text};
use crate::templates;
use crate::yamltree::{Pos, value_pos};

/// What makes two rules of a group duplicates: kind, name and the sorted labels.
type RuleKey<'a> = (RuleKind, &'a str, Vec<(String, String)>);

/// A rule whose expression parsed, kept for the live checks.
pub(crate) struct Parsed {
    pub expr: Expr,
    pub toks: Vec<Tok>,
}

pub(crate) struct Context<'a> {
    pub text: &'a str,
    pub config: &'a Config,
    /// Where repo-relative runbook paths resolve.
    pub root: &'a Path,
}

/// Checks every rule of every group; returns findings and the parsed expressions (indexed
/// like `groups[g].rules[r]`).
pub(crate) fn lint_groups(
    cx: &Context<'_>,
    groups: &[Group],
    findings: &mut Vec<Finding>,
) -> Vec<Vec<Option<Parsed>>> {
    let mut parsed = Vec::with_capacity(groups.len());
    for g in groups {
        let interval = g.interval.unwrap_or(cx.config.evaluation_interval);
        let mut seen: HashMap<RuleKey<'_>, Pos> = HashMap::new();
        let mut group_parsed = Vec::with_capacity(g.rules.len());
        for rule in &g.rules {
            let mut labels = rule.label_pairs();
            labels.sort();
            let key = (rule.kind, rule.name.value.as_str(), labels);
            if let Some(first) = seen.get(&key) {
                findings.push(
                    Finding::new(
                        CheckId::SyntaxDuplicateRule,
                        Status::Warn,
                        rule.name.pos,
                        format!(
                            "{} is defined twice in group {:?} with identical labels (first at line {})",
                            rule.name.value, g.name.value, first.line
                        ),
                    )
                    .for_rule(&rule.name.value),
                );
            } else {
                seen.insert(key, rule.name.pos);
            }
            group_parsed.push(lint_rule(cx, rule, interval, findings));
        }
        parsed.push(group_parsed);
    }
    parsed
}

fn lint_rule(
    cx: &Context<'_>,
    rule: &Rule,
    interval: Duration,
    findings: &mut Vec<Finding>,
) -> Option<Parsed> {
    let name = rule.name.value.as_str();
    let mut push = |f: Finding| findings.push(f.for_rule(name));
    let parsed = rule
        .expr
        .as_ref()
        .and_then(|expr| match promql::parse_tokens(&expr.value) {
            Ok((e, toks)) => Some(Parsed { toks, expr: e }),
            Err(e) => {
                let mut f = Finding::new(
                    CheckId::SyntaxPromql,
                    Status::Fail,
                    value_pos(cx.text, expr.pos, &expr.value, e.offset),
                    format!("{name}: {}", e.message),
                );
                f.unjudged = e.kind == promql::ErrorKind::Limit;
                push(f);
                None
            }
        });
    if rule.kind == RuleKind::Alert {
        policy(cx, rule, &mut push);
        durations(rule, interval, &mut push);
        templates(cx, rule, parsed.as_ref().map(|p| &p.expr), &mut push);
    } else {
        recording_name(rule, &mut push);
    }
    if let (Some(p), Some(expr)) = (&parsed, &rule.expr) {
        soundness(cx, rule, expr, p, &mut push);
    }
    parsed
}

fn policy(cx: &Context<'_>, rule: &Rule, push: &mut dyn FnMut(Finding)) {
    let c = cx.config;
    let name = &rule.name.value;
    let labels = rule.label_pairs();
    let paging = c.is_paging(&labels);
    let graded = |paging: bool| if paging { Status::Fail } else { Status::Warn };
    for (label, policy) in &c.labels {
        match rule.label(label) {
            None if policy.required => push(Finding::new(
                CheckId::PolicyRequiredLabel,
                Status::Fail,
                rule.name.pos,
                format!("{name}: no {label:?} label"),
            )),
            Some(v)
                if !policy.values.is_empty()
                    && !v.value.contains("{{")
                    && !policy.values.contains(&v.value) =>
            {
                push(Finding::new(
                    CheckId::PolicyLabelValue,
                    Status::Fail,
                    v.pos,
                    format!(
                        "{name}: {label}={:?} is not one of {}",
                        v.value,
                        policy.values.join(", ")
                    ),
                ));
            }
            _ => {}
        }
    }
    if !c.owner_labels.is_empty()
        && !c
            .owner_labels
            .iter()
            .any(|o| rule.label(o).is_some_and(|v| !v.value.trim().is_empty()))
    {
        push(Finding::new(
            CheckId::PolicyOwner,
            graded(paging),
            rule.name.pos,
            format!(
                "{name}: {}alert without an owner label ({})",
                if paging { "paging " } else { "" },
                c.owner_labels.join(" or ")
            ),
        ));
    }
    for a in &c.required_annotations {
        if rule.annotation(a).is_none_or(|v| v.value.trim().is_empty()) {
            push(Finding::new(
                CheckId::PolicyRequiredAnnotation,
                graded(paging),
                rule.name.pos,
                format!("{name}: no {a:?} annotation"),
            ));
        }
    }
    match rule.annotation(&c.runbook_annotation) {
        Some(url) if !url.value.trim().is_empty() => {
            if let Some(problem) = runbook_problem(url.value.trim(), cx.root) {
                push(Finding::new(
                    CheckId::PolicyRunbookUrl,
                    Status::Fail,
                    url.pos,
                    format!("{name}: {}: {problem}", c.runbook_annotation),
                ));
            }
        }
        _ => {
            let sev = rule
                .label(&c.paging.label)
                .map(|v| format!(" ({}={})", c.paging.label, v.value))
                .unwrap_or_default();
            push(Finding::new(
                CheckId::PolicyRunbook,
                graded(paging),
                rule.name.pos,
                format!(
                    "{name}: {} without {}{sev}",
                    if paging { "paging alert" } else { "alert" },
                    c.runbook_annotation
                ),
            ));
        }
    }
}

/// Why a runbook link is unusable, or `None` when it is a URL or an existing path.
fn runbook_problem(url: &str, root: &Path) -> Option<String> {
    if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    {
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        if host.is_empty() || url.contains(char::is_whitespace) {
            return Some(format!("{url:?} is not a valid URL"));
        }
        return None;
    }
    if url.contains("{{") {
        // A templated link (e.g. a wiki base URL from external labels) cannot be judged here.
        return None;
    }
    if url.contains("://") {
        return Some(format!("{url:?} is neither an http(s) URL nor a path"));
    }
    let path = url.split(['#', '?']).next().unwrap_or(url);
    let full = root.join(path);
    if full.exists() {
        None
    } else {
        Some(format!(
            "{path:?} does not exist (relative to {})",
            root.display()
        ))
    }
}

fn durations(rule: &Rule, interval: Duration, push: &mut dyn FnMut(Finding)) {
    let name = &rule.name.value;
    let fmt = gatehouse::duration::format_duration;
    if let Some((d, pos)) = rule.for_
        && !d.is_zero()
        && d < interval
    {
        push(Finding::new(
            CheckId::RuleFor,
            Status::Warn,
            pos,
            format!(
                "{name}: for: {} is shorter than the evaluation interval {}; it acts as {}",
                fmt(d),
                fmt(interval),
                fmt(interval)
            ),
        ));
    }
    if let Some((d, pos)) = rule.keep_firing_for {
        if !d.is_zero() && d < interval {
            push(Finding::new(
                CheckId::RuleKeepFiringFor,
                Status::Warn,
                pos,
                format!(
                    "{name}: keep_firing_for: {} is shorter than the evaluation interval {} and has no effect",
                    fmt(d),
                    fmt(interval)
                ),
            ));
        } else if d > Duration::from_secs(86_400) {
            push(Finding::new(
                CheckId::RuleKeepFiringFor,
                Status::Warn,
                pos,
                format!(
                    "{name}: keep_firing_for: {} keeps a resolved alert firing for over a day",
                    fmt(d)
                ),
            ));
        }
    }
}

fn templates(cx: &Context<'_>, rule: &Rule, expr: Option<&Expr>, push: &mut dyn FnMut(Finding)) {
    let name = &rule.name.value;
    let out = expr.map(analysis::output_labels);
    let fields = rule
        .annotations
        .iter()
        .map(|kv| ("annotation", kv))
        .chain(rule.labels.iter().map(|kv| ("label", kv)));
    for (what, (k, v)) in fields {
        if !v.value.contains("{{") {
            continue;
        }
        let at = |offset: usize| value_pos(cx.text, v.pos, &v.value, offset);
        let a = templates::analyse(&v.value);
        if let Some(e) = &a.error {
            push(Finding::new(
                CheckId::TemplateSyntax,
                Status::Fail,
                at(e.offset),
                format!("{name}: {what} {:?}: template: {}", k.value, e.message),
            ));
            continue;
        }
        if what == "label"
            && let Some(&off) = a.value_refs.first()
        {
            push(Finding::new(
                CheckId::TemplateValueInLabel,
                Status::Fail,
                at(off),
                format!(
                    "{name}: label {:?} uses $value: every new value makes a new alert",
                    k.value
                ),
            ));
        }
        if let Some(out) = &out {
            let mut refs = a.label_refs.clone();
            refs.extend(templates::index_labels(&v.value));
            for r in refs {
                if !out.can_have(&r.label) {
                    push(Finding::new(
                        CheckId::TemplateDroppedLabel,
                        Status::Fail,
                        at(r.offset),
                        format!(
                            "{name}: {what} {:?} uses $labels.{} but the query result carries {}",
                            k.value,
                            r.label,
                            describe_labels(out)
                        ),
                    ));
                }
            }
        }
    }
}

fn describe_labels(l: &LabelSet) -> String {
    l.describe()
}

fn recording_name(rule: &Rule, push: &mut dyn FnMut(Finding)) {
    let n = &rule.name.value;
    let parts: Vec<&str> = n.split(':').collect();
    if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
        push(Finding::new(
            CheckId::RecordingName,
            Status::Warn,
            rule.name.pos,
            format!(
                "{n}: recording rule names should follow level:metric:operations (e.g. job:{}:rate5m)",
                parts.iter().find(|p| !p.is_empty()).unwrap_or(&"metric")
            ),
        ));
    }
}

const RATE_FUNCS: &[&str] = &["rate", "irate", "increase", "resets"];
const GAUGE_FUNCS: &[&str] = &[
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "holt_winters",
    "double_exponential_smoothing",
];
const NEEDS_TWO_SAMPLES: &[&str] = &[
    "rate",
    "irate",
    "increase",
    "resets",
    "delta",
    "idelta",
    "deriv",
    "predict_linear",
    "changes",
    "holt_winters",
    "double_exponential_smoothing",
];
const COUNTER_SUFFIXES: &[&str] = &["_total", "_count", "_sum", "_bucket"];

pub(crate) fn looks_like_counter(name: &str) -> bool {
    COUNTER_SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn soundness(
    cx: &Context<'_>,
    rule: &Rule,
    expr: &Text,
    p: &Parsed,
    push: &mut dyn FnMut(Finding),
) {
    let name = &rule.name.value;
    let src = &expr.value;
    let at = |offset: Option<usize>| value_pos(cx.text, expr.pos, src, offset.unwrap_or(0));
    for site in analysis::calls(&p.expr) {
        let call_at = || at(promql::find_call(src, &p.toks, site.name, site.nth));
        judge_call(name, &site, cx.config.scrape_interval, &call_at, push);
    }
    comparisons(&p.expr, &mut |b, nth, verdict| {
        let op = b.op.to_string();
        let pos = at(promql::find_op(src, &p.toks, &op, nth));
        let (status, msg) = match verdict {
            Verdict::Never(why) => (
                Status::Fail,
                format!(
                    "{name}: `{b}` can never be true: {why}{}",
                    if rule.kind == RuleKind::Alert {
                        "; the alert can never fire"
                    } else {
                        ""
                    }
                ),
            ),
            Verdict::Always(why) => (
                Status::Warn,
                format!("{name}: `{b}` is always true ({why}); the comparison filters nothing"),
            ),
        };
        push(Finding::new(CheckId::PromqlComparison, status, pos, msg));
    });
}

/// The findings about one function call of rule `name`: `rate()` on what is not named like a
/// counter, gauge functions on counters, ranges shorter than two scrapes, `absent()` over a
/// computed expression. `call_at` locates the call (only asked when there is a finding).
fn judge_call(
    name: &str,
    site: &analysis::CallSite<'_>,
    scrape: Duration,
    call_at: &dyn Fn() -> Pos,
    push: &mut dyn FnMut(Finding),
) {
    let fmt = gatehouse::duration::format_duration;
    let arg = analysis::range_arg(site.call);
    let metric = arg.and_then(|(vs, _)| analysis::metric_name(vs));
    if RATE_FUNCS.contains(&site.name)
        && let Some(m) = metric
        && !m.contains(':')
        && !looks_like_counter(m)
    {
        push(Finding::new(
            CheckId::PromqlRateOnGauge,
            Status::Warn,
            call_at(),
            format!(
                "{name}: {}() on {m}, which is not named like a counter (_total, _count, _sum, _bucket)",
                site.name
            ),
        ));
    }
    if GAUGE_FUNCS.contains(&site.name)
        && let Some(m) = metric
        && looks_like_counter(m)
    {
        push(Finding::new(
            CheckId::PromqlGaugeFunctionOnCounter,
            Status::Warn,
            call_at(),
            format!(
                "{name}: {}() on the counter {m} ignores counter resets; use rate() or increase()",
                site.name
            ),
        ));
    }
    if NEEDS_TWO_SAMPLES.contains(&site.name)
        && let Some((_, range)) = arg
        && range < scrape * 2
    {
        let status = if range < scrape {
            Status::Fail
        } else {
            Status::Warn
        };
        push(Finding::new(
            CheckId::PromqlRangeTooShort,
            status,
            call_at(),
            format!(
                "{name}: {}() over [{}] sees fewer than 2 samples at a {} scrape interval",
                site.name,
                fmt(range),
                fmt(scrape)
            ),
        ));
    }
    if matches!(site.name, "absent" | "absent_over_time")
        && let Some(a) = site.call.args.args.first()
        && !matches!(
            a.as_ref(),
            Expr::VectorSelector(_) | Expr::MatrixSelector(_)
        )
    {
        let what = if analysis::nodes(a)
            .iter()
            .any(|n| matches!(n, Expr::Aggregate(_)))
        {
            "an aggregation"
        } else {
            "a computed expression"
        };
        push(Finding::new(
            CheckId::PromqlAbsentAggregation,
            Status::Warn,
            call_at(),
            format!(
                "{name}: {}() over {what} returns no labels, so the alert cannot say what is missing",
                site.name
            ),
        ));
    }
}

enum Verdict {
    Never(&'static str),
    Always(&'static str),
}

/// Visits comparison nodes in source order (in-order), numbering each operator spelling.
fn comparisons(e: &Expr, f: &mut dyn FnMut(&promql_parser::parser::BinaryExpr, usize, Verdict)) {
    let mut counts: HashMap<String, usize> = HashMap::new();
    in_order(e, &mut |n| {
        let Expr::Binary(b) = n else { return };
        let op = b.op.to_string();
        let nth = {
            let c = counts.entry(op.clone()).or_insert(0);
            *c += 1;
            *c - 1
        };
        if !b.op.is_comparison_operator() || b.modifier.as_ref().is_some_and(|m| m.return_bool) {
            return;
        }
        let (range, c, flipped) = match (constant(&b.rhs), constant(&b.lhs)) {
            (Some(c), _) => (analysis::value_range(&b.lhs), c, false),
            (None, Some(c)) => (analysis::value_range(&b.rhs), c, true),
            _ => return,
        };
        let Some(r) = range else { return };
        if let Some(v) = judge(&op, r.lo, r.hi, c, flipped) {
            let v = match v {
                true => Verdict::Always(r.why),
                false => Verdict::Never(r.why),
            };
            f(b, nth, v);
        }
    });
}

fn in_order<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    match e {
        Expr::Binary(b) => {
            in_order(&b.lhs, f);
            f(e);
            in_order(&b.rhs, f);
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                in_order(p, f);
            }
            in_order(&a.expr, f);
        }
        Expr::Unary(u) => in_order(&u.expr, f),
        Expr::Paren(p) => in_order(&p.expr, f),
        Expr::Subquery(s) => in_order(&s.expr, f),
        Expr::Call(c) => {
            for a in &c.args.args {
                in_order(a, f);
            }
        }
        _ => {}
    }
}

fn constant(e: &Expr) -> Option<f64> {
    match e {
        Expr::NumberLiteral(n) => Some(n.val),
        Expr::Paren(p) => constant(&p.expr),
        Expr::Unary(u) => constant(&u.expr).map(|v| -v),
        _ => None,
    }
}

/// `Some(false)` when `v op c` holds for no v in [lo, hi], `Some(true)` when it holds for
/// all; `flipped` means the constant is on the left (`c op v`).
fn judge(op: &str, lo: f64, hi: f64, c: f64, flipped: bool) -> Option<bool> {
    let op = if flipped {
        match op {
            ">" => "<",
            "<" => ">",
            ">=" => "<=",
            "<=" => ">=",
            other => other,
        }
    } else {
        op
    };
    let (never, always) = match op {
        ">" => (hi <= c, lo > c),
        ">=" => (hi < c, lo >= c),
        "<" => (lo >= c, hi < c),
        "<=" => (lo > c, hi <= c),
        "==" => (c < lo || c > hi, lo == c && hi == c),
        "!=" => (lo == c && hi == c, c < lo || c > hi),
        _ => (false, false),
    };
    if never {
        Some(false)
    } else if always {
        Some(true)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_are_judged_against_value_ranges() {
        assert_eq!(judge(">", 1.0, 1.0, 0.0, false), Some(true));
        assert_eq!(judge("==", 1.0, 1.0, 0.0, false), Some(false));
        assert_eq!(judge("<", 1.0, f64::INFINITY, 0.0, false), Some(false));
        assert_eq!(judge("<", 1.0, f64::INFINITY, 5.0, false), None);
        assert_eq!(judge(">", 0.0, 1.0, 1.0, false), Some(false));
        assert_eq!(judge("<", 0.0, 1.0, 1.0, true), Some(false));
    }

    #[test]
    fn runbook_links_are_urls_or_existing_paths() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(
            runbook_problem("https://runbooks.example.com/x", root),
            None
        );
        assert_eq!(runbook_problem("Cargo.toml#deps", root), None);
        assert!(runbook_problem("docs/missing.md", root).is_some());
        assert!(runbook_problem("https://", root).is_some());
        assert!(runbook_problem("ftp://x/y", root).is_some());
    }
}
