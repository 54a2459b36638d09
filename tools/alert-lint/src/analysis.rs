//! Owns what alert-lint knows about PromQL semantics, over promql-parser's AST: which labels
//! an expression's result can carry (for `$labels.x` templates), the function calls and
//! selectors it contains, and the range of values a sub-expression can take (for comparisons
//! that can never fire).

use std::collections::BTreeSet;
use std::time::Duration;

use promql_parser::label::MatchOp;
use promql_parser::parser::{
    AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, VectorMatchCardinality, VectorSelector,
};

/// The labels a result can carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LabelSet {
    /// At most these labels.
    Only(BTreeSet<String>),
    /// Any label except these.
    AllExcept(BTreeSet<String>),
}

impl LabelSet {
    fn any() -> Self {
        LabelSet::AllExcept(BTreeSet::new())
    }
    fn none() -> Self {
        LabelSet::Only(BTreeSet::new())
    }
    pub fn can_have(&self, label: &str) -> bool {
        match self {
            LabelSet::Only(s) => s.contains(label),
            LabelSet::AllExcept(s) => !s.contains(label),
        }
    }

    fn without<'a>(self, labels: impl IntoIterator<Item = &'a String>) -> Self {
        match self {
            LabelSet::Only(mut s) => {
                for l in labels {
                    s.remove(l);
                }
                LabelSet::Only(s)
            }
            LabelSet::AllExcept(mut s) => {
                s.extend(labels.into_iter().cloned());
                LabelSet::AllExcept(s)
            }
        }
    }

    fn keep<'a>(self, labels: impl IntoIterator<Item = &'a String>) -> Self {
        let keep: BTreeSet<String> = labels.into_iter().cloned().collect();
        match self {
            LabelSet::Only(s) => LabelSet::Only(s.intersection(&keep).cloned().collect()),
            LabelSet::AllExcept(s) => LabelSet::Only(keep.difference(&s).cloned().collect()),
        }
    }

    fn with<'a>(self, labels: impl IntoIterator<Item = &'a String>) -> Self {
        match self {
            LabelSet::Only(mut s) => {
                s.extend(labels.into_iter().cloned());
                LabelSet::Only(s)
            }
            LabelSet::AllExcept(mut s) => {
                for l in labels {
                    s.remove(l);
                }
                LabelSet::AllExcept(s)
            }
        }
    }

    fn union(self, other: LabelSet) -> Self {
        match (self, other) {
            (LabelSet::Only(a), LabelSet::Only(b)) => {
                LabelSet::Only(a.union(&b).cloned().collect())
            }
            (LabelSet::Only(a), LabelSet::AllExcept(b))
            | (LabelSet::AllExcept(b), LabelSet::Only(a)) => {
                LabelSet::AllExcept(b.difference(&a).cloned().collect())
            }
            (LabelSet::AllExcept(a), LabelSet::AllExcept(b)) => {
                LabelSet::AllExcept(a.intersection(&b).cloned().collect())
            }
        }
    }

    /// How the result's labels were limited, for messages: "by (a, b)".
    pub fn describe(&self) -> String {
        match self {
            LabelSet::Only(s) if s.is_empty() => "no labels".to_owned(),
            LabelSet::Only(s) => {
                format!("only {}", s.iter().cloned().collect::<Vec<_>>().join(", "))
            }
            LabelSet::AllExcept(s) => format!(
                "every label except {}",
                s.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

const NAME: &str = "__name__";

/// The labels the result of `e` can carry (Prometheus 3.x evaluation rules).
pub(crate) fn output_labels(e: &Expr) -> LabelSet {
    match e {
        Expr::VectorSelector(_) | Expr::MatrixSelector(_) => LabelSet::any(),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => LabelSet::none(),
        Expr::Paren(p) => output_labels(&p.expr),
        Expr::Unary(u) => output_labels(&u.expr),
        Expr::Subquery(s) => output_labels(&s.expr),
        Expr::Aggregate(a) => aggregate_labels(a),
        Expr::Call(c) => call_labels(c),
        Expr::Binary(b) => binary_labels(b),
        Expr::Extension(_) => LabelSet::any(),
    }
}

fn aggregate_labels(a: &AggregateExpr) -> LabelSet {
    let op = a.op.to_string().to_ascii_lowercase();
    let input = output_labels(&a.expr);
    match op.as_str() {
        // These select series and keep their labels.
        "topk" | "bottomk" | "limitk" | "limit_ratio" => input,
        _ => {
            let grouped = match &a.modifier {
                Some(LabelModifier::Include(ls)) => input.keep(&ls.labels),
                Some(LabelModifier::Exclude(ls)) => input
                    .without(&ls.labels)
                    .without(std::iter::once(&NAME.to_owned())),
                None => LabelSet::none(),
            };
            if op == "count_values"
                && let Some(Expr::StringLiteral(s)) = a.param.as_deref()
            {
                return grouped.with(std::iter::once(&s.val));
            }
            grouped
        }
    }
}

fn call_labels(c: &Call) -> LabelSet {
    let arg = |i: usize| c.args.args.get(i).map(|a| a.as_ref());
    let str_arg = |i: usize| match arg(i) {
        Some(Expr::StringLiteral(s)) => Some(s.val.clone()),
        _ => None,
    };
    match c.func.name {
        "vector" | "scalar" | "time" | "pi" => LabelSet::none(),
        "minute" | "hour" | "day_of_week" | "day_of_month" | "day_of_year" | "days_in_month"
        | "month" | "year"
            if c.args.args.is_empty() =>
        {
            LabelSet::none()
        }
        "absent" | "absent_over_time" => {
            let sel = match arg(0) {
                Some(Expr::VectorSelector(vs)) => Some(vs),
                Some(Expr::MatrixSelector(ms)) => Some(&ms.vs),
                _ => None,
            };
            match sel {
                Some(vs) => LabelSet::Only(equality_labels(vs)),
                None => LabelSet::none(),
            }
        }
        "label_replace" | "label_join" => {
            let base = arg(0).map_or_else(LabelSet::any, output_labels);
            match str_arg(1) {
                Some(dst) => base.with(std::iter::once(&dst)),
                None => base,
            }
        }
        "histogram_quantile" | "histogram_fraction" => {
            let idx = if c.func.name == "histogram_quantile" {
                1
            } else {
                2
            };
            arg(idx)
                .map_or_else(LabelSet::any, output_labels)
                .without(std::iter::once(&"le".to_owned()))
        }
        "info" => LabelSet::any(),
        _ => {
            // Most functions keep the labels of their (first) vector argument.
            c.args
                .args
                .iter()
                .find(|a| !matches!(a.as_ref(), Expr::NumberLiteral(_) | Expr::StringLiteral(_)))
                .map_or_else(LabelSet::none, |a| output_labels(a))
        }
    }
}

fn binary_labels(b: &BinaryExpr) -> LabelSet {
    let lhs_scalar = is_scalar(&b.lhs);
    let rhs_scalar = is_scalar(&b.rhs);
    let l = output_labels(&b.lhs);
    let r = output_labels(&b.rhs);
    if lhs_scalar && rhs_scalar {
        return LabelSet::none();
    }
    if lhs_scalar {
        return r;
    }
    if rhs_scalar {
        return l;
    }
    let op = b.op.to_string().to_ascii_lowercase();
    let modifier = b.modifier.as_ref();
    let matching = modifier.and_then(|m| m.matching.as_ref());
    match op.as_str() {
        "and" | "unless" => return l,
        "or" => return l.union(r),
        _ => {}
    }
    let card = modifier.map_or(&VectorMatchCardinality::OneToOne, |m| &m.card);
    match card {
        VectorMatchCardinality::ManyToOne(include) => l.with(&include.labels),
        VectorMatchCardinality::OneToMany(include) => r.with(&include.labels),
        VectorMatchCardinality::OneToOne | VectorMatchCardinality::ManyToMany => match matching {
            Some(LabelModifier::Include(on)) => l.keep(&on.labels),
            Some(LabelModifier::Exclude(ign)) => l.without(&ign.labels),
            None => l,
        },
    }
}

/// Labels an `absent(x{a="b"})` result carries: the equality matchers' names.
fn equality_labels(vs: &VectorSelector) -> BTreeSet<String> {
    vs.matchers
        .matchers
        .iter()
        .filter(|m| matches!(m.op, MatchOp::Equal) && m.name != NAME)
        .map(|m| m.name.clone())
        .collect()
}

pub(crate) fn is_scalar(e: &Expr) -> bool {
    match e {
        Expr::NumberLiteral(_) => true,
        Expr::Paren(p) => is_scalar(&p.expr),
        Expr::Unary(u) => is_scalar(&u.expr),
        Expr::Call(c) => {
            matches!(c.func.name, "scalar" | "time" | "pi")
                || (c.args.args.is_empty()
                    && matches!(
                        c.func.name,
                        "minute"
                            | "hour"
                            | "day_of_week"
                            | "day_of_month"
                            | "day_of_year"
                            | "days_in_month"
                            | "month"
                            | "year"
                    ))
        }
        Expr::Binary(b) => is_scalar(&b.lhs) && is_scalar(&b.rhs),
        _ => false,
    }
}

/// A function call met while walking an expression, with what it was applied to.
#[derive(Debug, Clone)]
pub(crate) struct CallSite<'a> {
    pub name: &'static str,
    /// Which call of this name it is, in source order (0-based), to locate it.
    pub nth: usize,
    pub call: &'a Call,
}

/// Every call in `e`, outermost first, in source order.
pub(crate) fn calls(e: &Expr) -> Vec<CallSite<'_>> {
    let mut out = Vec::new();
    walk(e, &mut |n| {
        if let Expr::Call(c) = n {
            out.push(c);
        }
    });
    // Count occurrences per name in the order the walk met them (pre-order = source order
    // for calls, since a call's name precedes its arguments).
    let mut seen: Vec<(&'static str, usize)> = Vec::new();
    out.into_iter()
        .map(|c| {
            let name = c.func.name;
            let nth = match seen.iter_mut().find(|(n, _)| *n == name) {
                Some((_, k)) => {
                    *k += 1;
                    *k - 1
                }
                None => {
                    seen.push((name, 1));
                    0
                }
            };
            CallSite { name, nth, call: c }
        })
        .collect()
}

/// Every vector selector in `e` (also those inside range selectors), in source order.
pub(crate) fn selectors(e: &Expr) -> Vec<&VectorSelector> {
    let mut out = Vec::new();
    walk(e, &mut |n| match n {
        Expr::VectorSelector(vs) => out.push(vs),
        Expr::MatrixSelector(ms) => out.push(&ms.vs),
        _ => {}
    });
    out
}

/// Every aggregation or binary comparison node, for checks that judge them.
pub(crate) fn nodes(e: &Expr) -> Vec<&Expr> {
    let mut out = Vec::new();
    walk(e, &mut |n| out.push(n));
    out
}

/// Pre-order walk. Binary operands are visited left before right.
pub(crate) fn walk<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr)) {
    f(e);
    match e {
        Expr::Aggregate(a) => {
            if let Some(p) = &a.param {
                walk(p, f);
            }
            walk(&a.expr, f);
        }
        Expr::Unary(u) => walk(&u.expr, f),
        Expr::Binary(b) => {
            walk(&b.lhs, f);
            walk(&b.rhs, f);
        }
        Expr::Paren(p) => walk(&p.expr, f),
        Expr::Subquery(s) => walk(&s.expr, f),
        Expr::Call(c) => {
            for a in &c.args.args {
                walk(a, f);
            }
        }
        Expr::NumberLiteral(_)
        | Expr::StringLiteral(_)
        | Expr::VectorSelector(_)
        | Expr::MatrixSelector(_)
        | Expr::Extension(_) => {}
    }
}

/// The metric name a selector asks for (`foo` or `{__name__="foo"}`).
pub(crate) fn metric_name(vs: &VectorSelector) -> Option<&str> {
    vs.name.as_deref().or_else(|| {
        vs.matchers
            .matchers
            .iter()
            .find(|m| m.name == NAME && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.as_str())
    })
}

/// The selector a range function is applied to, with its range: `rate(x[5m])`.
pub(crate) fn range_arg(c: &Call) -> Option<(&VectorSelector, Duration)> {
    c.args.args.iter().find_map(|a| match a.as_ref() {
        Expr::MatrixSelector(ms) => Some((&ms.vs, ms.range)),
        _ => None,
    })
}

/// The closed interval of values an expression can take, when known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    pub lo: f64,
    pub hi: f64,
    /// Why, for messages: "absent() only returns 1".
    pub why: &'static str,
}

pub(crate) fn value_range(e: &Expr) -> Option<Range> {
    let r = |lo, hi, why| Some(Range { lo, hi, why });
    match e {
        Expr::Paren(p) => value_range(&p.expr),
        Expr::NumberLiteral(n) => r(n.val, n.val, "a constant"),
        Expr::Call(c) => match c.func.name {
            "absent" | "absent_over_time" => r(1.0, 1.0, "absent() only returns 1"),
            "rate" | "irate" | "increase" => r(
                0.0,
                f64::INFINITY,
                "rate()/increase() of a counter is never negative",
            ),
            "resets" | "changes" | "count_over_time" => {
                r(0.0, f64::INFINITY, "a count is never negative")
            }
            "abs" | "sqrt" | "time" | "timestamp" => r(
                0.0,
                f64::INFINITY,
                "this function never returns a negative value",
            ),
            "present_over_time" => r(1.0, 1.0, "present_over_time() only returns 1"),
            _ => None,
        },
        Expr::Aggregate(a) => {
            let op = a.op.to_string().to_ascii_lowercase();
            match op.as_str() {
                "count" => r(
                    1.0,
                    f64::INFINITY,
                    "count() is at least 1 for every group it returns",
                ),
                "group" => r(1.0, 1.0, "group() only returns 1"),
                "count_values" => r(1.0, f64::INFINITY, "count_values() is at least 1"),
                _ => None,
            }
        }
        Expr::Binary(b) if b.modifier.as_ref().is_some_and(|m| m.return_bool) => {
            r(0.0, 1.0, "a bool comparison returns 0 or 1")
        }
        Expr::VectorSelector(vs) if metric_name(vs) == Some("up") => r(0.0, 1.0, "up is 0 or 1"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(e: &str) -> LabelSet {
        output_labels(&promql_parser::parser::parse(e).expect("valid"))
    }

    #[test]
    fn aggregations_and_matching_limit_the_labels() {
        assert!(!labels("sum(rate(x[5m])) by (job)").can_have("instance"));
        assert!(labels("sum(rate(x[5m])) by (job)").can_have("job"));
        assert!(!labels("sum without (instance) (x)").can_have("instance"));
        assert!(labels("sum without (instance) (x)").can_have("pod"));
        assert!(!labels("sum(x)").can_have("job"));
        assert!(labels("topk(3, x)").can_have("pod"));
        assert!(!labels("a / on(job) b").can_have("instance"));
        assert!(labels("a / on(job) group_left(team) b").can_have("instance"));
        assert!(labels("sum by (job) (a) * on(job) group_left(team) b").can_have("team"));
        assert!(!labels("sum by (job) (a) * on(job) group_left(team) b").can_have("pod"));
        assert!(labels("absent(up{job=\"x\"})").can_have("job"));
        assert!(!labels("absent(up{job=~\"x\"})").can_have("job"));
        assert!(
            !labels("histogram_quantile(0.9, sum by (le, job) (rate(x_bucket[5m])))")
                .can_have("le")
        );
        assert!(labels("label_replace(sum(x), \"dst\", \"$1\", \"a\", \"(.*)\")").can_have("dst"));
        assert!(labels("sum(x) by (a) or sum(y) by (b)").can_have("b"));
        assert!(labels("count_values(\"version\", build_info)").can_have("version"));
        assert!(labels("1 + sum by (job) (x) > 0").can_have("job"));
    }

    #[test]
    fn value_ranges_of_known_functions() {
        let e = promql_parser::parser::parse("absent(x)").expect("valid");
        assert_eq!(value_range(&e).map(|r| (r.lo, r.hi)), Some((1.0, 1.0)));
        let e = promql_parser::parser::parse("count(x)").expect("valid");
        assert_eq!(value_range(&e).map(|r| r.lo), Some(1.0));
    }

    #[test]
    fn calls_are_numbered_per_name_in_source_order() {
        let e = promql_parser::parser::parse("rate(a[5m]) / (rate(b[1m]) + irate(c[5m]))")
            .expect("valid");
        let cs = calls(&e);
        let v: Vec<_> = cs.iter().map(|c| (c.name, c.nth)).collect();
        assert_eq!(v, vec![("rate", 0), ("rate", 1), ("irate", 0)]);
    }
}
