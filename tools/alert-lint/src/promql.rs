//! Owns PromQL parsing for the linter: `promql-parser` (Prometheus 3.x grammar) does the
//! parsing; this module adds what that crate lacks — the byte offset of a parse error
//! (recovered by re-parsing token prefixes) and a small token scanner that finds where an
//! AST node was written, so findings point at a column.

use promql_parser::parser::{self, Expr};

/// A PromQL parse error with the byte offset in the expression it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub message: String,
    pub offset: usize,
}

/// What the generic "cannot parse" message of promql-parser says.
const GENERIC: &str = "invalid promql query";

/// Parses `expr`; on error, works out where the error is.
pub(crate) fn parse(expr: &str) -> Result<Expr, ParseError> {
    match parser::parse(expr) {
        Ok(e) => Ok(e),
        Err(message) => {
            let offset = locate_error(expr, &message);
            let message = if message == GENERIC {
                describe_generic(expr, offset)
            } else {
                message
            };
            Err(ParseError { message, offset })
        }
    }
}

/// promql-parser's syntax errors all read "invalid promql query"; say what was found.
fn describe_generic(expr: &str, offset: usize) -> String {
    let toks = tokenize(expr);
    match toks.iter().find(|t| t.start >= offset) {
        Some(t) => format!(
            "unexpected {} {:?}",
            t.kind.describe(),
            &expr[t.start..t.end]
        ),
        None => "unexpected end of input".to_owned(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    Ident,
    Number,
    Str,
    Op,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Other,
}

impl TokKind {
    fn describe(self) -> &'static str {
        match self {
            TokKind::Ident => "identifier",
            TokKind::Number => "number",
            TokKind::Str => "string",
            TokKind::Op => "operator",
            TokKind::LParen | TokKind::RParen => "parenthesis",
            TokKind::LBrace | TokKind::RBrace => "brace",
            TokKind::LBracket | TokKind::RBracket => "bracket",
            TokKind::Comma => "comma",
            TokKind::Other => "character",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tok {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
}

/// A forgiving PromQL scanner: byte ranges of identifiers, numbers/durations, strings,
/// operators and brackets. It never fails; an unterminated string runs to the end.
pub(crate) fn tokenize(expr: &str) -> Vec<Tok> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' | b'`' => {
                i = crate::scan::skip_quoted(b, i).unwrap_or(b.len());
                TokKind::Str
            }
            b'(' => {
                i += 1;
                TokKind::LParen
            }
            b')' => {
                i += 1;
                TokKind::RParen
            }
            b'{' => {
                i += 1;
                TokKind::LBrace
            }
            b'}' => {
                i += 1;
                TokKind::RBrace
            }
            b'[' => {
                i += 1;
                TokKind::LBracket
            }
            b']' => {
                i += 1;
                TokKind::RBracket
            }
            b',' => {
                i += 1;
                TokKind::Comma
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    // exponent sign: 1e-3
                    if (b[i] == b'e' || b[i] == b'E')
                        && matches!(b.get(i + 1), Some(b'+' | b'-'))
                        && !b[start..i].iter().any(|x| x.is_ascii_alphabetic())
                    {
                        i += 1;
                    }
                    i += 1;
                }
                TokKind::Number
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                TokKind::Ident
            }
            b'=' | b'!' | b'<' | b'>' => {
                i += 1;
                if matches!(b.get(i), Some(b'=' | b'~')) {
                    i += 1;
                }
                TokKind::Op
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'@' | b'~' => {
                i += 1;
                TokKind::Op
            }
            _ => {
                i += expr[i..].chars().next().map_or(1, char::len_utf8);
                TokKind::Other
            }
        };
        out.push(Tok {
            kind,
            start,
            end: i,
        });
    }
    out
}

/// Suffixes tried after a token prefix to see whether the prefix can still become a valid
/// expression; the open brackets are closed after each.
const COMPLETIONS: &[&str] = &[
    "",
    " 1",
    " x",
    "x",
    "=\"a\"",
    "\"a\"",
    " 5m",
    "5m",
    "5m:",
    " x)",
    "(x)",
    " (a) (x)",
    "(a) (x)",
    " (a) x",
    "(a) x",
    "a) (x)",
    "a) x",
    " on(a) x",
    " by(a) (x)",
    " offset 5m",
    "1",
    " 1, x",
    "1, x",
    ", x",
    " x, \"a\", \"a\", \"a\", \"a\"",
];

/// The byte offset a parse error points at. Lexer errors are found on the smallest
/// character prefix giving the same error; grammar errors on the first token whose prefix
/// can no longer be completed into a valid expression; semantic errors (wrong argument
/// type, unknown function) on the first token prefix that yields the same message.
pub(crate) fn locate_error(expr: &str, message: &str) -> usize {
    if parser::lexer(expr).is_err() {
        return locate_lexer_error(expr, message);
    }
    let toks = tokenize(expr);
    for t in &toks {
        let prefix = &expr[..t.end];
        let mut viable = false;
        for c in COMPLETIONS {
            let Some(closers) = closers(&tokenize(&format!("{prefix}{c}"))) else {
                continue;
            };
            let candidate = format!("{prefix}{c}{closers}");
            match parser::parse(&candidate) {
                Ok(_) => {
                    viable = true;
                    break;
                }
                // A type or arity complaint means the grammar accepted the text.
                Err(m) if !c.is_empty() && m != GENERIC && parser::lexer(&candidate).is_ok() => {
                    viable = true;
                    break;
                }
                // Only the bare prefix may reproduce a semantic error: a completion that adds
                // an argument could cause the same complaint itself.
                Err(m) if c.is_empty() && m != GENERIC && m == message => {
                    if message.starts_with("unknown function")
                        && let Some(p) =
                            quoted_name(message).and_then(|n| find_ident(&toks, expr, n))
                    {
                        return p.start;
                    }
                    return t.start;
                }
                Err(_) => {}
            }
        }
        if !viable && message == GENERIC {
            return t.start;
        }
    }
    if message == GENERIC {
        return expr.trim_end().len();
    }
    // A semantic error no prefix reproduces: name a quoted identifier if the message has one.
    quoted_name(message)
        .and_then(|name| find_ident(&toks, expr, name))
        .map_or(0, |t| t.start)
}

fn quoted_name(message: &str) -> Option<&str> {
    let start = message.find('\'')? + 1;
    let len = message[start..].find('\'')?;
    Some(&message[start..start + len])
}

fn find_ident<'a>(toks: &'a [Tok], expr: &str, name: &str) -> Option<&'a Tok> {
    toks.iter()
        .find(|t| t.kind == TokKind::Ident && &expr[t.start..t.end] == name)
}

/// The closing brackets for the brackets a token prefix leaves open; `None` when it closes
/// one that was never opened.
fn closers(toks: &[Tok]) -> Option<String> {
    let mut stack = Vec::new();
    for t in toks {
        match t.kind {
            TokKind::LParen => stack.push(')'),
            TokKind::LBrace => stack.push('}'),
            TokKind::LBracket => stack.push(']'),
            TokKind::RParen | TokKind::RBrace | TokKind::RBracket => {
                stack.pop()?;
            }
            _ => {}
        }
    }
    Some(stack.iter().rev().collect())
}

fn locate_lexer_error(expr: &str, message: &str) -> usize {
    if message.contains("unclosed left parenthesis") || message.contains("too many left") {
        // The innermost '(' that never closes.
        let mut stack = Vec::new();
        for t in tokenize(expr) {
            match t.kind {
                TokKind::LParen => stack.push(t.start),
                TokKind::RParen => {
                    stack.pop();
                }
                _ => {}
            }
        }
        if let Some(&p) = stack.first() {
            return p;
        }
    }
    let mut ends: Vec<usize> = expr.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    ends.dedup();
    for end in ends {
        if let Err(m) = parser::lexer(&expr[..end])
            && m == message
        {
            let last = expr[..end].char_indices().last().map_or(0, |(i, _)| i);
            return last;
        }
    }
    expr.trim_end().len()
}

/// Where `name(` is written for the `nth` time (0-based), or its first occurrence.
pub(crate) fn find_call(expr: &str, toks: &[Tok], name: &str, nth: usize) -> Option<usize> {
    let calls: Vec<usize> = toks
        .windows(2)
        .filter(|w| {
            w[0].kind == TokKind::Ident
                && &expr[w[0].start..w[0].end] == name
                && w[1].kind == TokKind::LParen
        })
        .map(|w| w[0].start)
        .collect();
    calls.get(nth).or_else(|| calls.first()).copied()
}

/// Where identifier `name` (a metric name) is written for the `nth` time (0-based).
pub(crate) fn find_ident_at(expr: &str, toks: &[Tok], name: &str, nth: usize) -> Option<usize> {
    let hits: Vec<usize> = toks
        .iter()
        .filter(|t| t.kind == TokKind::Ident && &expr[t.start..t.end] == name)
        .map(|t| t.start)
        .collect();
    hits.get(nth).or_else(|| hits.first()).copied()
}

/// Where operator `op` is written for the `nth` time (0-based).
pub(crate) fn find_op(expr: &str, toks: &[Tok], op: &str, nth: usize) -> Option<usize> {
    let hits: Vec<usize> = toks
        .iter()
        .filter(|t| {
            (t.kind == TokKind::Op || t.kind == TokKind::Ident)
                && expr[t.start..t.end].eq_ignore_ascii_case(op)
        })
        .map(|t| t.start)
        .collect();
    hits.get(nth).or_else(|| hits.first()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn col(expr: &str) -> (usize, String) {
        let e = parse(expr).expect_err("invalid");
        (e.offset + 1, e.message)
    }

    #[test]
    fn syntax_errors_point_at_the_offending_token() {
        assert_eq!(col("foo bar").0, 5);
        assert_eq!(col("1 +* 2").0, 4);
        assert_eq!(col("sum(x) by (job) )").0, 17);
        let (c, m) = col("test +");
        assert_eq!((c, m.as_str()), (7, "unexpected end of input"));
        assert_eq!(col("foo bar").1, "unexpected identifier \"bar\"");
    }

    #[test]
    fn semantic_errors_point_at_the_argument_or_name() {
        // Prometheus: 1:6: expected type range vector in call to function "rate"
        assert_eq!(col("rate(hi)").0, 6);
        assert_eq!(col("sum(unknownfn(x))").0, 5);
        assert_eq!(col("foo{\"utf8.name\"}").0, 5);
    }

    #[test]
    fn lexer_errors_point_at_the_character() {
        assert_eq!(col("sum(rate(x[5m])) by (job").0, 21);
        assert_eq!(col("up{job=\"a\"").0, 3);
        assert_eq!(col("up $ 1").0, 4);
        assert_eq!(col("up{job=\"a\"} and é").0, 17);
    }

    #[test]
    fn valid_expressions_parse() {
        for e in [
            "up == 0",
            "sum by (job) (rate(http_requests_total[5m])) > 1",
            "histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m])))",
            "x[5m:1m] offset 1h",
        ] {
            assert!(parse(e).is_ok(), "{e}");
        }
    }

    #[test]
    fn tokens_locate_calls_and_names() {
        let e = "rate(a[5m]) + rate(b[5m])";
        let t = tokenize(e);
        assert_eq!(find_call(e, &t, "rate", 1), Some(14));
        assert_eq!(find_ident_at(e, &t, "b", 0), Some(19));
        assert_eq!(find_op(e, &t, "+", 0), Some(12));
    }

    proptest! {
        #[test]
        fn arbitrary_expressions_never_panic(s in "\\PC{0,60}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.offset <= s.len());
                prop_assert!(s.is_char_boundary(e.offset));
            }
        }

        #[test]
        fn promql_fragments_never_panic(s in "(sum|rate|by|\\(|\\)|\\{|\\}|\\[|\\]|x|5m|=|\"a\"|,| |>|1|on|without|:){0,20}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.offset <= s.len());
            }
        }
    }
}
