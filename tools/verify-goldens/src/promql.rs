//! Owns what verify-goldens does to PromQL through a real parser (promql-parser, as
//! alert-lint uses): filling `{{.window}}`, finding the metric names an SLI reads, and
//! injecting label matchers into every vector selector (the canary's and the baseline's).

use promql_parser::label::Matcher;
use promql_parser::parser::{self, Expr, VectorSelector};

/// `{{.window}}` (with or without spaces, as Sloth and the catalog write it) → `window`.
pub(crate) fn fill_window(template: &str, window: &str) -> String {
    let mut out = template.to_owned();
    for t in [
        "{{.window}}",
        "{{ .window }}",
        "{{.window }}",
        "{{ .window}}",
    ] {
        out = out.replace(t, window);
    }
    out.trim().to_owned()
}

/// Prometheus's spelling of a window: `5m`, `1h`, `3d`.
pub(crate) fn prom_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    for (unit, n) in [("w", 604_800), ("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= n && s.is_multiple_of(n) {
            return format!("{}{unit}", s / n);
        }
    }
    format!("{s}s")
}

fn visit(expr: &mut Expr, f: &mut dyn FnMut(&mut VectorSelector)) {
    match expr {
        Expr::Aggregate(a) => {
            visit(&mut a.expr, f);
            if let Some(p) = a.param.as_mut() {
                visit(p, f);
            }
        }
        Expr::Unary(u) => visit(&mut u.expr, f),
        Expr::Binary(b) => {
            visit(&mut b.lhs, f);
            visit(&mut b.rhs, f);
        }
        Expr::Paren(p) => visit(&mut p.expr, f),
        Expr::Subquery(s) => visit(&mut s.expr, f),
        Expr::VectorSelector(vs) => f(vs),
        Expr::MatrixSelector(ms) => f(&mut ms.vs),
        Expr::Call(c) => c.args.args.iter_mut().for_each(|a| visit(a, f)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// The metric names the expression's selectors read.
pub(crate) fn metric_names(promql: &str) -> Result<Vec<String>, String> {
    let mut expr = parser::parse(promql)?;
    let mut names = Vec::new();
    visit(&mut expr, &mut |vs| {
        let name = vs.name.clone().or_else(|| {
            vs.matchers
                .matchers
                .iter()
                .find(|m| m.name == "__name__")
                .map(|m| m.value.clone())
        });
        if let Some(n) = name
            && !names.contains(&n)
        {
            names.push(n);
        }
    });
    Ok(names)
}

/// The first histogram `_bucket` selector the expression reads, without its `le` matcher,
/// as PromQL (`http_request_duration_seconds_bucket{job="api"}`): what the canary's latency
/// test compares bucket by bucket.
pub(crate) fn bucket_selector(promql: &str) -> Option<String> {
    let mut expr = parser::parse(promql).ok()?;
    let mut found = None;
    visit(&mut expr, &mut |vs| {
        if found.is_none() && vs.name.as_deref().is_some_and(|n| n.ends_with("_bucket")) {
            let mut v = vs.clone();
            v.matchers.matchers.retain(|m| m.name != "le");
            v.offset = None;
            v.at = None;
            found = Some(Expr::VectorSelector(v).to_string());
        }
    });
    found
}

/// Every histogram `_bucket` selector with an exact `le` matcher, as PromQL: a bucket
/// that must exist whenever the histogram has observations (a bound the histogram does not
/// have makes the whole SLI empty — which must be an error, never zero errors).
pub(crate) fn exact_bucket_selectors(promql: &str) -> Vec<String> {
    let Ok(mut expr) = parser::parse(promql) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    visit(&mut expr, &mut |vs| {
        let exact_le = vs
            .matchers
            .matchers
            .iter()
            .any(|m| m.name == "le" && matches!(m.op, promql_parser::label::MatchOp::Equal));
        if exact_le && vs.name.as_deref().is_some_and(|n| n.ends_with("_bucket")) {
            let mut v = vs.clone();
            v.offset = None;
            v.at = None;
            let text = Expr::VectorSelector(v).to_string();
            if !out.contains(&text) {
                out.push(text);
            }
        }
    });
    out
}

/// Parses `version="v2", track!="x"` (with or without braces) into matchers.
pub(crate) fn parse_matchers(text: &str) -> Result<Vec<Matcher>, String> {
    let t = text.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t);
    match parser::parse(&format!("{{{inner}}}")) {
        Ok(Expr::VectorSelector(vs)) if vs.matchers.or_matchers.is_empty() => {
            Ok(vs.matchers.matchers)
        }
        Ok(_) => Err(format!(
            "{text:?}: give label matchers, e.g. version=\"v2\""
        )),
        Err(e) => Err(format!("{text:?}: {e}")),
    }
}

/// The expression with `extra` added to every vector selector (replacing a matcher on the
/// same label), printed back as PromQL.
pub(crate) fn inject(promql: &str, extra: &[Matcher]) -> Result<String, String> {
    let mut expr = parser::parse(promql)?;
    visit(&mut expr, &mut |vs| {
        for m in extra {
            vs.matchers.matchers.retain(|x| x.name != m.name);
            vs.matchers.matchers.push(m.clone());
            for or in &mut vs.matchers.or_matchers {
                or.retain(|x| x.name != m.name);
                or.push(m.clone());
            }
        }
    });
    Ok(expr.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_fill_and_print_as_prometheus_does() {
        assert_eq!(fill_window("rate(x[{{.window}}])", "5m"), "rate(x[5m])");
        assert_eq!(
            prom_duration(std::time::Duration::from_secs(3 * 86_400)),
            "3d"
        );
        assert_eq!(prom_duration(std::time::Duration::from_secs(7_200)), "2h");
        assert_eq!(prom_duration(std::time::Duration::from_secs(90)), "90s");
    }

    #[test]
    fn matchers_go_into_every_selector() {
        let m = parse_matchers("version=\"v2\"").expect("matchers");
        let q = inject(
            "sum(rate(http_requests_total{job=\"a\",code=~\"5..\",version=\"v1\"}[5m])) / sum(rate(http_requests_total{job=\"a\"}[5m]))",
            &m,
        )
        .expect("inject");
        assert_eq!(q.matches("version=\"v2\"").count(), 2, "{q}");
        assert!(!q.contains("v1"), "{q}");
        // What we print parses again.
        assert!(parser::parse(&q).is_ok());
        assert_eq!(metric_names(&q).expect("names"), ["http_requests_total"]);
        assert_eq!(
            bucket_selector(
                "sum(rate(h_bucket{job=\"a\", le=\"0.3\"}[5m])) / sum(rate(h_count[5m]))"
            )
            .as_deref(),
            Some("h_bucket{job=\"a\"}")
        );
        assert_eq!(
            exact_bucket_selectors(
                "sum(rate(h_count[5m])) - sum(rate(h_bucket{job=\"a\",le=\"0.3\"}[5m]))"
            ),
            ["h_bucket{job=\"a\",le=\"0.3\"}"]
        );
        assert!(parse_matchers("version=").is_err());
        assert!(parse_matchers("sum(x)").is_err());
    }
}
