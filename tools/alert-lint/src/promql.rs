//! Owns PromQL parsing for the linter: `promql-parser` (Prometheus 3.x grammar) does the
//! parsing; this module adds what that crate lacks — limits on what it is handed, the byte
//! offset of a parse error (recovered by re-parsing token prefixes) and a small token scanner
//! that finds where an AST node was written, so findings point at a column.
//!
//! Why the limits: promql-parser 0.11 type-checks every node as it is reduced by walking the
//! subtree below it (`Expr::value_type` recurses), so a chain of n binary or unary operators
//! costs O(n²) time and O(n) stack; it has no depth limit, and its AST is freed, printed and
//! walked recursively. An expression is therefore scanned first: more than [`MAX_TOKENS`]
//! tokens or brackets/prefix operators nested deeper than [`MAX_DEPTH`] are refused with a
//! located [`ParseError`] of kind [`ErrorKind::Limit`] before the parser sees them, and the
//! work that holds an AST runs on threads with [`STACK_SIZE`] of stack ([`on_large_stack`],
//! `files`), which the deepest expression inside the limits stays far below (tested below).

use promql_parser::parser::{self, Expr};

/// The most tokens an expression may have (a 5,000-term sum); promtool has no such limit,
/// but promql-parser's time grows with the square of an operator chain's length.
pub(crate) const MAX_TOKENS: usize = 10_000;
/// The deepest nesting of brackets plus prefix operators (`-`/`+`) an expression may have.
pub(crate) const MAX_DEPTH: usize = 256;
/// The stack of every thread that parses or walks PromQL ASTs: recursion over an AST is as
/// deep as the AST, at most [`MAX_TOKENS`] nodes.
pub(crate) const STACK_SIZE: usize = 256 << 20;
/// Runs `work` on a thread with [`STACK_SIZE`] of stack and returns what it returns; when no
/// such thread can be started (a strict memory limit), runs it on this one.
pub(crate) fn on_large_stack<T: Send>(work: impl Fn() -> T + Sync) -> T {
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("alert-lint".into())
            .stack_size(STACK_SIZE)
            .spawn_scoped(scope, &work)
        {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(e) => {
                tracing::debug!("cannot start a thread with a large stack ({e}); running here");
                work()
            }
        }
    })
}

/// Up to this many tokens a syntax error is located by trying every token prefix (exact,
/// O(n²) parses); longer expressions bisect (O(log n) parses).
const LINEAR_LOCATE_MAX: usize = 64;

/// Why an expression was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// It is not valid PromQL.
    Syntax,
    /// It is larger or deeper than alert-lint judges ([`MAX_TOKENS`], [`MAX_DEPTH`]).
    Limit,
}

/// A PromQL parse error with the byte offset in the expression it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub message: String,
    pub offset: usize,
    pub kind: ErrorKind,
}

/// What the generic "cannot parse" message of promql-parser says.
const GENERIC: &str = "invalid promql query";

/// Parses `expr` within the limits; on error, works out where the error is.
pub(crate) fn parse(expr: &str) -> Result<Expr, ParseError> {
    parse_tokens(expr).map(|(e, _)| e)
}

/// [`parse`], also giving the expression's tokens.
pub(crate) fn parse_tokens(expr: &str) -> Result<(Expr, Vec<Tok>), ParseError> {
    let toks = tokenize(expr);
    check_limits(expr, &toks)?;
    match parser::parse(expr) {
        Ok(e) => Ok((e, toks)),
        Err(message) => {
            let offset = locate_error(expr, &message);
            let message = if message == GENERIC {
                describe_generic(expr, offset)
            } else {
                message
            };
            Err(ParseError {
                message,
                offset,
                kind: ErrorKind::Syntax,
            })
        }
    }
}

/// Refuses an expression with more than [`MAX_TOKENS`] tokens or nested deeper than
/// [`MAX_DEPTH`], pointing at the token that crosses the limit.
fn check_limits(expr: &str, toks: &[Tok]) -> Result<(), ParseError> {
    let mut brackets = 0usize;
    let mut prefix_ops = 0usize;
    let mut prev: Option<TokKind> = None;
    for t in toks.iter().take(MAX_TOKENS + 1) {
        let unary = t.kind == TokKind::Op
            && matches!(&expr[t.start..t.end], "-" | "+")
            && matches!(
                prev,
                None | Some(
                    TokKind::Op
                        | TokKind::LParen
                        | TokKind::LBracket
                        | TokKind::LBrace
                        | TokKind::Comma
                )
            );
        match t.kind {
            TokKind::LParen | TokKind::LBrace | TokKind::LBracket => brackets += 1,
            TokKind::RParen | TokKind::RBrace | TokKind::RBracket => {
                brackets = brackets.saturating_sub(1);
            }
            _ => {}
        }
        if unary {
            prefix_ops += 1;
        } else if t.kind != TokKind::Op {
            prefix_ops = 0;
        }
        if brackets + prefix_ops > MAX_DEPTH {
            return Err(ParseError {
                message: format!(
                    "expression nested too deep to judge: more than {MAX_DEPTH} levels of \
                     brackets and signs"
                ),
                offset: t.start,
                kind: ErrorKind::Limit,
            });
        }
        prev = Some(t.kind);
    }
    if let Some(t) = toks.get(MAX_TOKENS) {
        return Err(ParseError {
            message: format!(
                "expression too long to judge: {} tokens, alert-lint judges at most {MAX_TOKENS} \
                 (split it into recording rules)",
                toks.len()
            ),
            offset: t.start,
            kind: ErrorKind::Limit,
        });
    }
    Ok(())
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
///
/// Short expressions try every prefix in turn. Longer ones bisect, which takes O(log n)
/// parses instead of O(n) (each of them O(n) or worse): whether a prefix can still be
/// completed only changes once, at the error, except where none of the [`COMPLETIONS`]
/// happens to fit a prefix that could be completed, so bisection lands on the same token
/// but for rare cases where it lands a little earlier.
pub(crate) fn locate_error(expr: &str, message: &str) -> usize {
    locate_error_with(expr, message, LINEAR_LOCATE_MAX)
}

/// [`locate_error`], trying every prefix up to `linear_max` tokens.
fn locate_error_with(expr: &str, message: &str, linear_max: usize) -> usize {
    if parser::lexer(expr).is_err() {
        return locate_lexer_error(expr, message);
    }
    let toks = tokenize(expr);
    if toks.len() <= linear_max {
        for (i, t) in toks.iter().enumerate() {
            match probe(&expr[..t.end], message) {
                Probe::Reproduces => return semantic_at(expr, &toks, i, message),
                Probe::Dead if message == GENERIC => return t.start,
                Probe::Viable | Probe::Dead => {}
            }
        }
    } else if message == GENERIC {
        return locate_long_syntax_error(expr, &toks);
    } else if toks.len() <= SEMANTIC_BISECT_MAX {
        // The whole expression reproduces the message; find the shortest prefix that does.
        let reproduces = |i: usize| {
            closers(&toks[..=i]).is_some_and(|c| {
                parser::parse(&format!("{}{c}", &expr[..toks[i].end]))
                    .err()
                    .as_deref()
                    == Some(message)
            })
        };
        let (mut lo, mut hi) = (-1isize, toks.len() - 1);
        while hi as isize - lo > 1 {
            let mid = ((lo + hi as isize) / 2) as usize;
            if reproduces(mid) {
                hi = mid;
            } else {
                lo = mid as isize;
            }
        }
        return semantic_at(expr, &toks, hi, message);
    }
    if message == GENERIC {
        return expr.trim_end().len();
    }
    // A semantic error no prefix reproduces: name a quoted identifier if the message has one.
    quoted_name(message)
        .and_then(|name| find_ident(&toks, expr, name))
        .map_or(0, |t| t.start)
}

/// Above this many tokens a semantic error (type, arity) is located by the name it quotes:
/// every probe is a full parse, and promql-parser's is O(n²) on operator chains.
const SEMANTIC_BISECT_MAX: usize = 1_000;

/// Locates a syntax error in a long expression: walks forward in steps of a few tokens
/// while the prefix can still be completed, then bisects the step where it no longer can.
/// Each probe parses a short stand-in for the prefix ([`compressed`]) instead of the prefix
/// itself, so the whole search is about linear in the length of the expression.
fn locate_long_syntax_error(expr: &str, toks: &[Tok]) -> usize {
    const STEP: isize = 16;
    let last = toks.len() - 1;
    // Whether the prefix ending with token `k` can be completed, given that the one ending
    // with `lo` can (-1: the empty prefix).
    let viable = |lo: isize, k: usize| {
        let prefix = match usize::try_from(lo) {
            Ok(lo) => {
                let (head, tail) = compressed(expr, toks, lo);
                format!("{head}{}", &expr[tail..toks[k].end])
            }
            Err(_) => expr[..toks[k].end].to_owned(),
        };
        probe(&prefix, GENERIC) == Probe::Viable
    };
    let mut lo: isize = -1;
    loop {
        let k = usize::try_from(lo + STEP).map_or(last, |k| k.min(last));
        if viable(lo, k) {
            if k == last {
                return expr.trim_end().len();
            }
            lo = k as isize;
            continue;
        }
        let mut hi = k;
        while hi as isize - lo > 1 {
            let mid = ((lo + hi as isize) / 2) as usize;
            if viable(lo, mid) {
                lo = mid as isize;
            } else {
                hi = mid;
            }
        }
        return toks[hi].start;
    }
}

/// Keywords after which an operator is not a binary one (or that are operators).
const NOT_OPERAND_END: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
    "and",
    "or",
    "unless",
    "atan2",
];

fn is_operand_end(expr: &str, t: &Tok) -> bool {
    match t.kind {
        TokKind::Number | TokKind::Str | TokKind::RParen | TokKind::RBrace | TokKind::RBracket => {
            true
        }
        TokKind::Ident => !NOT_OPERAND_END
            .iter()
            .any(|k| expr[t.start..t.end].eq_ignore_ascii_case(k)),
        _ => false,
    }
}

fn is_binary_op(expr: &str, t: &Tok) -> bool {
    let text = &expr[t.start..t.end];
    match t.kind {
        TokKind::Op => matches!(
            text,
            "+" | "-" | "*" | "/" | "%" | "^" | "==" | "!=" | "<" | ">" | "<=" | ">="
        ),
        TokKind::Ident => ["and", "or", "unless", "atan2"]
            .iter()
            .any(|k| text.eq_ignore_ascii_case(k)),
        _ => false,
    }
}

/// A short text the grammar continues exactly like `expr[..toks[j].end]`, a prefix that
/// can be completed: `(head, tail)` such that `head + expr[tail..end]` stands for
/// `expr[..end]` for any `end` after token `j`. Inside parentheses and at the top, the
/// complete operand before a binary operator or a comma is replaced by `x` (`a + b * c +`
/// becomes `x +`): which tokens may follow depends only on the operator and the brackets
/// still open. Types may differ, which [`probe`] does not count against a prefix.
fn compressed(expr: &str, toks: &[Tok], j: usize) -> (String, usize) {
    struct Level {
        /// Whether operands may be replaced here (not inside `{…}` or `[…]`).
        parens: bool,
        /// Whether the kept text starts with the stand-in operand `x`.
        cut: bool,
        /// Where the kept text of this level starts in `expr`.
        start: usize,
        /// Just past the bracket that opened the level.
        open_end: usize,
    }
    let mut stack = vec![Level {
        parens: true,
        cut: false,
        start: 0,
        open_end: 0,
    }];
    for (i, t) in toks[..=j].iter().enumerate() {
        let level = |parens| Level {
            parens,
            cut: false,
            start: t.end,
            open_end: t.end,
        };
        match t.kind {
            TokKind::LParen => stack.push(level(true)),
            TokKind::LBrace | TokKind::LBracket => stack.push(level(false)),
            TokKind::RParen | TokKind::RBrace | TokKind::RBracket => {
                if stack.len() > 1 {
                    stack.pop();
                }
            }
            _ => {
                let cut_here = t.kind == TokKind::Comma
                    || (is_binary_op(expr, t) && i > 0 && is_operand_end(expr, &toks[i - 1]));
                if let Some(top) = stack.last_mut()
                    && top.parens
                    && cut_here
                {
                    top.cut = true;
                    top.start = t.start;
                }
            }
        }
    }
    let mut head = String::new();
    for (i, l) in stack.iter().enumerate() {
        if l.cut {
            head.push_str("x ");
        }
        if let Some(next) = stack.get(i + 1) {
            head.push_str(&expr[l.start..next.open_end]);
        }
    }
    let tail = stack.last().map_or(0, |l| l.start);
    (head, tail)
}

/// What a token prefix tells about the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// Some completion makes it parse: the error lies further on.
    Viable,
    /// No completion helps.
    Dead,
    /// The bare prefix gives the very (semantic) error being located.
    Reproduces,
}

/// Tries `prefix` (a token prefix of the expression) with each completion.
fn probe(prefix: &str, message: &str) -> Probe {
    for c in COMPLETIONS {
        let Some(closers) = closers(&tokenize(&format!("{prefix}{c}"))) else {
            continue;
        };
        let candidate = format!("{prefix}{c}{closers}");
        match parser::parse(&candidate) {
            Ok(_) => return Probe::Viable,
            // A type or arity complaint means the grammar accepted the text.
            Err(m) if !c.is_empty() && m != GENERIC && parser::lexer(&candidate).is_ok() => {
                return Probe::Viable;
            }
            // Only the bare prefix may reproduce a semantic error: a completion that adds
            // an argument could cause the same complaint itself.
            Err(m) if c.is_empty() && m != GENERIC && m == message => return Probe::Reproduces,
            Err(_) => {}
        }
    }
    Probe::Dead
}

/// Where a semantic error reproduced by the prefix ending with token `i` points: the
/// unknown function's name, else that token.
fn semantic_at(expr: &str, toks: &[Tok], i: usize, message: &str) -> usize {
    if message.starts_with("unknown function")
        && let Some(p) = quoted_name(message).and_then(|n| find_ident(toks, expr, n))
    {
        return p.start;
    }
    toks[i].start
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
    let ends: Vec<usize> = expr.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    let same = |end: usize| parser::lexer(&expr[..end]).err().as_deref() == Some(message);
    let last_char = |end: usize| expr[..end].char_indices().last().map_or(0, |(i, _)| i);
    if ends.len() <= LINEAR_LOCATE_MAX * 4 {
        return ends
            .iter()
            .find(|&&end| same(end))
            .map_or(expr.trim_end().len(), |&end| last_char(end));
    }
    // Long input: bisect for the shortest prefix giving the same error (the lexer stops at
    // its first error, so every longer prefix gives it too).
    let (mut lo, mut hi) = (-1isize, ends.len() - 1);
    if !same(ends[hi]) {
        return expr.trim_end().len();
    }
    while hi as isize - lo > 1 {
        let mid = ((lo + hi as isize) / 2) as usize;
        if same(ends[mid]) {
            hi = mid;
        } else {
            lo = mid as isize;
        }
    }
    last_char(ends[hi])
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

    /// Random valid PromQL of a few dozen tokens: selectors, calls, aggregations, binary
    /// operators with modifiers, parentheses, signs.
    fn promql_expr() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(vec![
            "up",
            "m{a=\"b\",c=~\"d.*\"}",
            "rate(x_total[5m])",
            "1",
            "0.5",
            "m offset 5m",
            "time()",
            "x[5m:1m]",
        ])
        .prop_map(|s| {
            if s == "x[5m:1m]" {
                "max_over_time(x[5m:1m])".to_owned()
            } else {
                s.to_owned()
            }
        });
        leaf.prop_recursive(4, 40, 3, |inner| {
            prop_oneof![
                (
                    inner.clone(),
                    prop::sample::select(vec![
                        "+",
                        "-",
                        "*",
                        "/",
                        "and",
                        "or",
                        "unless",
                        "+ on(a)",
                        "* ignoring(b) group_left(c)",
                        "> bool",
                        "^"
                    ]),
                    inner.clone()
                )
                    .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
                inner.clone().prop_map(|a| format!("sum by (job) ({a})")),
                inner.clone().prop_map(|a| format!("({a})")),
                inner.clone().prop_map(|a| format!("-{a}")),
                inner.clone().prop_map(|a| format!("abs({a})")),
                (inner.clone(), inner)
                    .prop_map(|(a, b)| format!("clamp_min({a}, 1) + topk(3, {b})")),
            ]
        })
    }

    /// Runs `f` on a thread with `stack` bytes of stack, as `files` does, failing the test
    /// if it takes longer than `budget` (it is left running then; the test process ends).
    fn on_lint_stack<T: Send + 'static>(
        stack: usize,
        budget: std::time::Duration,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let _ = tx.send(f());
            })
            .expect("spawn");
        rx.recv_timeout(budget)
            .unwrap_or_else(|e| panic!("no answer within {budget:?}: {e}"))
    }

    fn sum(terms: usize) -> String {
        (0..terms)
            .map(|i| format!("m_{i}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    #[test]
    fn expressions_over_the_limits_are_refused_before_parsing() {
        // Each of these aborted the process (stack overflow) or ran for minutes.
        for (expr, what) in [
            (sum(40_000), "too long"),
            (
                format!("{}1{}", "(".repeat(500_000), ")".repeat(500_000)),
                "too deep",
            ),
            (format!("{}1 +", "-".repeat(10_000)), "too deep"),
            (format!("{}x", "- ".repeat(300)), "too deep"),
            (format!("sum({}) +", sum(6_000)), "too long"),
        ] {
            let started = std::time::Instant::now();
            let e = parse(&expr).expect_err("refused");
            assert_eq!(e.kind, ErrorKind::Limit, "{}", e.message);
            assert!(e.message.contains(what), "{}", e.message);
            assert!(e.offset < expr.len() && expr.is_char_boundary(e.offset));
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
        }
        // Just inside the limits is parsed.
        assert!(
            parse(&format!(
                "{}x{}",
                "(".repeat(MAX_DEPTH),
                ")".repeat(MAX_DEPTH)
            ))
            .is_ok()
        );
        assert!(parse(&format!("{}x", "-".repeat(MAX_DEPTH))).is_ok());
    }

    #[test]
    fn the_largest_expressions_inside_the_limits_parse_and_walk_on_an_eighth_of_the_stack() {
        // The deepest ASTs the limits let through: a left-deep chain of MAX_TOKENS tokens,
        // MAX_DEPTH signs, MAX_DEPTH parentheses. Parsing, walking, printing and dropping
        // them fits in STACK_SIZE / 8, so the real budget has a margin of eight.
        let chain = sum(MAX_TOKENS / 2);
        assert!(tokenize(&chain).len() <= MAX_TOKENS);
        for expr in [
            chain,
            format!("{}up", "-".repeat(MAX_DEPTH)),
            format!(
                "{}rate(x[5m]){}",
                "(".repeat(MAX_DEPTH - 2),
                ")".repeat(MAX_DEPTH - 2)
            ),
            format!("{} > 1", sum(MAX_TOKENS / 2 - 2)),
        ] {
            let n = on_lint_stack(
                STACK_SIZE / 8,
                std::time::Duration::from_secs(60),
                move || {
                    let e = parse(&expr).expect("within the limits");
                    let n = crate::analysis::nodes(&e).len();
                    let _ = crate::analysis::output_labels(&e);
                    let _ = crate::analysis::calls(&e);
                    let _ = e.to_string();
                    drop(e);
                    n
                },
            );
            assert!(n > 0);
        }
    }

    #[test]
    fn errors_in_long_expressions_are_located_like_in_short_ones() {
        // The same mistakes behind a long valid head: the long search must land on the same
        // token, shifted by the head's length.
        let head = format!("{} + ", sum(200));
        for short in [
            "foo bar",
            "1 +* 2",
            "sum(x) by (job) )",
            "test +",
            "rate(x[5m]) + on(a) group_left(b) c d",
            "sum by (a) (rate(x[5m])) / ignoring(b) sum(y) ) + 1",
            "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m]))) > bool 1 1",
            "a and b or c unless d e",
            "x{a=\"b\",c=~\"d\"} offset 5m @ 100 + * 1",
        ] {
            let long = format!("{head}{short}");
            assert!(tokenize(&long).len() > LINEAR_LOCATE_MAX);
            let (a, b) = (col(short).0, col(&long).0);
            assert_eq!(b - head.len(), a, "{short:?}");
        }
        // Lexer errors in long input bisect over characters.
        for short in ["up $ 1", "up{job=\"a\"} and é", "sum(rate(x[5m])) by (job"] {
            let long = format!("{head}{short}");
            assert_eq!(col(&long).0 - head.len(), col(short).0, "{short:?}");
        }
        // A mistake in the middle of 5,000 terms, found without re-parsing every prefix.
        let mut terms: Vec<String> = (0..5_000).map(|i| format!("m_{i}")).collect();
        terms[2_500].push_str(" junk");
        let expr = terms.join(" + ");
        let want = expr.find("junk").expect("junk");
        let e = on_lint_stack(STACK_SIZE, std::time::Duration::from_secs(30), move || {
            parse(&expr).expect_err("invalid")
        });
        assert_eq!(
            (e.offset, e.message.as_str()),
            (want, "unexpected identifier \"junk\"")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
        #[test]
        fn arbitrary_expressions_never_panic(s in "\\PC{0,60}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.offset <= s.len());
                prop_assert!(s.is_char_boundary(e.offset));
            }
        }

        /// Random nesting depth and length (parentheses, signs, long sums, calls), with and
        /// without a syntax error: every call returns, Ok or a located error, within 2 s.
        #[test]
        fn random_depth_and_length_return_in_bounded_time(
            depth in 0usize..400,
            signs in 0usize..400,
            terms in 1usize..1_500,
            call in any::<bool>(),
            error in prop::option::of((0usize..4, any::<prop::sample::Index>())),
        ) {
            let mut body = sum(terms);
            if call {
                body = format!("sum by (job) (rate(x[5m])) + {body}");
            }
            if let Some((kind, at)) = error {
                let toks = tokenize(&body);
                let t = toks[at.index(toks.len())];
                let junk = ["junk ", ") ", "+ * ", "{ "][kind];
                body.insert_str(t.start, junk);
            }
            let expr = format!("{}{}{body}{}", "-".repeat(signs), "(".repeat(depth), ")".repeat(depth));
            let len = expr.len();
            let r = on_lint_stack(STACK_SIZE, std::time::Duration::from_secs(2), move || {
                parse(&expr).map(|_| ())
            });
            if let Err(e) = r {
                prop_assert!(e.offset <= len);
                prop_assert!(error.is_some() || e.kind == ErrorKind::Limit, "{e:?}");
            }
        }

        /// The long-expression search lands where the exact one does, on random valid
        /// expressions with one token of junk inserted.
        #[test]
        fn the_long_search_agrees_with_the_exact_one(
            expr in promql_expr(),
            junk in prop::sample::select(vec!["junk", ")", "(", "* *", ",", "by", "on(a)", "5m", "offset", "]", "bool"]),
            at in any::<prop::sample::Index>(),
        ) {
            let toks = tokenize(&expr);
            let t = toks[at.index(toks.len())];
            let mut bad = expr.clone();
            bad.insert_str(t.start, &format!("{junk} "));
            let Err(message) = parser::parse(&bad) else { return Ok(()) };
            prop_assume!(message == GENERIC && parser::lexer(&bad).is_ok());
            let exact = locate_error_with(&bad, &message, usize::MAX);
            let long = locate_error_with(&bad, &message, 0);
            prop_assert_eq!(long, exact, "{}", bad);
        }

        #[test]
        fn promql_fragments_never_panic(s in "(sum|rate|by|\\(|\\)|\\{|\\}|\\[|\\]|x|5m|=|\"a\"|,| |>|1|on|without|:){0,20}") {
            if let Err(e) = parse(&s) {
                prop_assert!(e.offset <= s.len());
            }
        }
    }
}
