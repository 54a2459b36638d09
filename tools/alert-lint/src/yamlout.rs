//! Owns YAML writing for `catalog`: a tiny deterministic emitter over an ordered tree.
//! Strings are plain when that is unambiguous, block literals (`|-`) when multi-line, and
//! JSON-style double-quoted otherwise (JSON strings are valid YAML), so the output reads
//! like hand-written rules and is byte-for-byte stable.

use std::fmt::Write as _;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Y {
    Str(String),
    Map(Vec<(String, Y)>),
    List(Vec<Y>),
}

impl Y {
    pub fn s(v: impl Into<String>) -> Y {
        Y::Str(v.into())
    }
    pub fn map(entries: Vec<(&str, Y)>) -> Y {
        Y::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
}

/// Renders one document (no `---`).
pub(crate) fn render(y: &Y) -> String {
    let mut out = String::new();
    node(&mut out, y, 0, Ctx::Top);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    /// After `key:` (a space or newline follows).
    Value,
    /// After `- ` (the first line is already indented).
    Item,
}

fn node(out: &mut String, y: &Y, indent: usize, ctx: Ctx) {
    match y {
        Y::Str(s) => scalar(out, s, indent),
        Y::Map(entries) if entries.is_empty() => out.push_str("{}\n"),
        Y::List(items) if items.is_empty() => out.push_str("[]\n"),
        Y::Map(entries) => {
            if ctx == Ctx::Value {
                out.push('\n');
            }
            for (i, (k, v)) in entries.iter().enumerate() {
                if !(ctx == Ctx::Item && i == 0) {
                    pad(out, indent);
                }
                out.push_str(&key(k));
                out.push(':');
                match v {
                    Y::Map(m) if !m.is_empty() => node(out, v, indent + 2, Ctx::Value),
                    Y::List(l) if !l.is_empty() => node(out, v, indent, Ctx::Value),
                    _ => {
                        out.push(' ');
                        node(out, v, indent + 2, Ctx::Value);
                    }
                }
            }
        }
        Y::List(items) => {
            if ctx == Ctx::Value {
                out.push('\n');
            }
            for item in items {
                pad(out, indent);
                out.push_str("- ");
                node(out, item, indent + 2, Ctx::Item);
            }
        }
    }
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn key(k: &str) -> String {
    if plain_ok(k) { k.to_owned() } else { quoted(k) }
}

fn scalar(out: &mut String, s: &str, indent: usize) {
    if s.contains('\n')
        && !s.contains('\r')
        && !s.starts_with([' ', '\t'])
        && !s.ends_with([' ', '\n'])
        && !s.contains(" \n")
    {
        out.push_str("|-\n");
        for line in s.lines() {
            if !line.is_empty() {
                pad(out, indent);
                out.push_str(line);
            }
            out.push('\n');
        }
        return;
    }
    if plain_ok(s) {
        out.push_str(s);
    } else {
        out.push_str(&quoted(s));
    }
    out.push('\n');
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Whether `s` reads back as the same string when written plain.
fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.trim() != s {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "null"
            | "~"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | ".nan"
    ) {
        return false;
    }
    if s.parse::<f64>().is_ok()
        || s.starts_with(|c: char| c.is_ascii_digit() || c == '.' || c == '+' || c == '-')
            && s.chars()
                .all(|c| c.is_ascii_digit() || "._:+-eExXoO".contains(c))
    {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        return false;
    }
    !(s.contains(": ")
        || s.contains(" #")
        || s.ends_with(':')
        || s.contains(['\n', '\t', '"', '\'', '{', '}', '[', ']', ',']))
}

/// `render` for several documents, separated by `---`.
pub(crate) fn render_all(docs: &[Y]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "---");
        }
        out.push_str(&render(d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_readable_stable_yaml_that_reads_back() {
        let y = Y::map(vec![
            ("apiVersion", Y::s("monitoring.coreos.com/v1")),
            (
                "metadata",
                Y::map(vec![("labels", Y::map(vec![("tier", Y::s("1"))]))]),
            ),
            (
                "groups",
                Y::List(vec![Y::map(vec![
                    ("name", Y::s("a")),
                    (
                        "rules",
                        Y::List(vec![Y::map(vec![
                            ("record", Y::s("slo:sli_error:ratio_rate5m")),
                            (
                                "expr",
                                Y::s("sum(rate(x{code=~\"5..\"}[5m]))\n/\nsum(rate(x[5m]))"),
                            ),
                            (
                                "labels",
                                Y::map(vec![("yes", Y::s("no")), ("summary", Y::s("a: b"))]),
                            ),
                        ])]),
                    ),
                ])]),
            ),
            ("empty", Y::List(vec![])),
        ]);
        let text = render(&y);
        insta::assert_snapshot!(text);
        let back: serde_json::Value = gatehouse::yaml::from_str("out", &text).expect("valid YAML");
        assert_eq!(back["metadata"]["labels"]["tier"], "1");
        assert_eq!(back["groups"][0]["rules"][0]["labels"]["yes"], "no");
        assert_eq!(back["groups"][0]["rules"][0]["labels"]["summary"], "a: b");
        assert_eq!(
            back["groups"][0]["rules"][0]["expr"],
            "sum(rate(x{code=~\"5..\"}[5m]))\n/\nsum(rate(x[5m]))"
        );
    }
}
