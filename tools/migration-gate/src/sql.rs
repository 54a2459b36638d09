//! Parses SQL with PostgreSQL's own parser (libpg_query through `pg_query`) into statements
//! with byte offsets, and turns a parse failure into the offset PostgreSQL would point at
//! (`pg_query` keeps the message but drops the cursor position, so we find it again).

use pg_query::NodeEnum;
use pg_query::protobuf::{ScanToken, Token};

/// One top-level statement.
#[derive(Debug, Clone)]
pub struct Statement {
    pub node: NodeEnum,
    /// Byte offset of the statement's first token (comments skipped).
    pub start: usize,
    /// Byte offset just past the statement (before its `;`).
    pub end: usize,
    /// Byte offset where the gap before this statement begins (after the previous `;`):
    /// the comments there carry per-statement directives.
    pub gap_start: usize,
}

impl Statement {
    pub fn text<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.start..self.end).unwrap_or("")
    }

    /// The comments and blank space between the previous statement and this one.
    pub fn leading<'a>(&self, sql: &'a str) -> &'a str {
        sql.get(self.gap_start..self.start).unwrap_or("")
    }
}

/// A statement PostgreSQL's grammar rejects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

/// A file PostgreSQL's parser accepted.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub statements: Vec<Statement>,
    /// Identifiers longer than PostgreSQL's 63 bytes, as written: (offset, text). The
    /// scanner truncates them before the parse tree is built, so only the tokens still show
    /// them.
    pub long_identifiers: Vec<(usize, String)>,
}

/// A file's parse: its statements, or where PostgreSQL's parser rejects it.
pub type ParseResult = Result<Parsed, SyntaxError>;

/// Parses a whole file.
pub fn parse(sql: &str) -> Result<Vec<Statement>, SyntaxError> {
    parse_file(sql).map(|p| p.statements)
}

/// Parses a whole file, and finds its long identifiers in the same scan.
pub fn parse_file(sql: &str) -> ParseResult {
    let result = pg_query::parse(sql, 0).map_err(|e| locate(sql, &e))?;
    let tokens = scan(sql).unwrap_or_default();
    // Starts of the non-comment tokens, in order: each statement finds its first token by
    // bisection (a scan from the top for every statement was quadratic in the file's size).
    let starts: Vec<usize> = tokens
        .iter()
        .filter(|t| !is_comment(t))
        .map(|t| usize::try_from(t.start).unwrap_or(0))
        .collect();
    let mut out = Vec::with_capacity(result.protobuf.stmts.len());
    let mut gap_start = 0usize;
    for raw in result.protobuf.stmts {
        let Some(node) = raw.stmt.and_then(|n| n.node) else {
            continue;
        };
        let location = usize::try_from(raw.stmt_location)
            .unwrap_or(0)
            .min(sql.len());
        let end = match usize::try_from(raw.stmt_len) {
            Ok(0) | Err(_) => sql.len(),
            Ok(len) => (location + len).min(sql.len()),
        };
        let start = first_token_at(&starts, location).unwrap_or(location);
        out.push(Statement {
            node,
            start,
            end,
            gap_start: gap_start.min(start),
        });
        // The next gap starts after this statement's `;`.
        gap_start = sql
            .get(end..)
            .unwrap_or("")
            .find(';')
            .map_or(end, |p| end + p + 1);
    }
    Ok(Parsed {
        statements: out,
        long_identifiers: long_identifiers(sql, &tokens),
    })
}

/// The scanner's tokens. (`pg_query::scan_tokens` builds a slice from a null pointer when
/// there are no tokens, which aborts in debug builds; the protobuf form is safe.)
fn scan(sql: &str) -> Result<Vec<ScanToken>, pg_query::Error> {
    pg_query::scan(sql).map(|r| r.tokens)
}

/// Identifiers longer than PostgreSQL's 63 bytes among `tokens` (see `Parsed`).
fn long_identifiers(sql: &str, tokens: &[ScanToken]) -> Vec<(usize, String)> {
    const MAX: usize = 63;
    tokens
        .iter()
        .filter(|t| t.token == Token::Ident as i32)
        .filter_map(|t| {
            let start = usize::try_from(t.start).ok()?;
            let end = usize::try_from(t.end).ok()?;
            let text = sql.get(start..end)?;
            let name = text
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(text);
            (name.len() > MAX).then(|| (start, name.to_owned()))
        })
        .collect()
}

fn is_comment(t: &ScanToken) -> bool {
    t.token == Token::SqlComment as i32 || t.token == Token::CComment as i32
}

/// The first of the sorted token `starts` at or after `from`.
fn first_token_at(starts: &[usize], from: usize) -> Option<usize> {
    starts.get(starts.partition_point(|&s| s < from)).copied()
}

fn message_of(e: &pg_query::Error) -> String {
    match e {
        pg_query::Error::Parse(m) | pg_query::Error::Scan(m) | pg_query::Error::Split(m) => {
            m.clone()
        }
        other => other.to_string(),
    }
}

/// Finds where PostgreSQL would report `e`: the token at which the grammar first fails.
///
/// A LALR parser fails at the first token that cannot extend a valid prefix. So the prefix
/// ending at token k fails with something other than "at end of input" exactly when the
/// error token is at or before k: a monotone predicate, found by bisection over tokens.
pub fn locate(sql: &str, e: &pg_query::Error) -> SyntaxError {
    let message = message_of(e);
    let Ok(tokens) = scan(sql) else {
        return SyntaxError {
            offset: lexer_error_offset(sql, &message),
            message,
        };
    };
    let tokens: Vec<&ScanToken> = tokens.iter().filter(|t| !is_comment(t)).collect();
    let fails_before_end = |k: usize| -> bool {
        let end = usize::try_from(tokens[k].end).unwrap_or(0);
        let Some(prefix) = sql.get(..end) else {
            return false;
        };
        match pg_query::parse(prefix, 0) {
            Ok(_) => false,
            Err(err) => !message_of(&err).contains("at end of input"),
        }
    };
    let (mut lo, mut hi) = (0usize, tokens.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fails_before_end(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let offset = match tokens.get(lo) {
        Some(t) => usize::try_from(t.start).unwrap_or(0),
        // Only the end of input is wrong (an unclosed parenthesis): point past the last token.
        None => tokens
            .last()
            .map_or(0, |t| usize::try_from(t.end).unwrap_or(0)),
    };
    SyntaxError {
        offset: offset.min(sql.len()),
        message,
    }
}

/// Lexer errors ("unterminated quoted string at or near "'abc...") quote the rest of the
/// input from the bad token on, so the token starts where that quote is a suffix.
fn lexer_error_offset(sql: &str, message: &str) -> usize {
    if let Some(near) = message
        .split_once("at or near \"")
        .map(|(_, rest)| rest.strip_suffix('"').unwrap_or(rest))
        && !near.is_empty()
    {
        if sql.ends_with(near) {
            return sql.len() - near.len();
        }
        if let Some(p) = sql.rfind(near) {
            return p;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(sql: &str) -> (u64, u64, String) {
        let e = parse(sql).expect_err("invalid");
        let (l, c) = gatehouse::input::line_col(sql.as_bytes(), e.offset);
        (l, c, e.message)
    }

    #[test]
    fn statements_carry_offsets_of_their_first_token() {
        let sql = "-- header\nCREATE TABLE t (id int);\n\n/* c */ ALTER TABLE t ADD COLUMN x int;";
        let s = parse(sql).expect("valid");
        assert_eq!(s.len(), 2);
        assert_eq!(&sql[s[0].start..s[0].start + 6], "CREATE");
        assert_eq!(s[1].text(sql), "ALTER TABLE t ADD COLUMN x int");
        assert!(s[1].leading(sql).contains("/* c */"));
    }

    #[test]
    fn every_statement_after_a_comment_starts_at_its_own_first_token() {
        // The bisection over token starts (issue 21 row 14) must find the same token the
        // scan from the top found: the first non-comment one at or after the statement.
        let mut sql = String::new();
        for i in 0..500 {
            sql.push_str(&format!("/* c{i}; */ -- x;\nSELECT {i};\n"));
        }
        let s = parse(&sql).expect("valid");
        assert_eq!(s.len(), 500);
        for (i, st) in s.iter().enumerate() {
            assert_eq!(st.text(&sql), format!("SELECT {i}"));
            assert!(st.leading(&sql).contains(&format!("c{i};")));
        }
    }

    #[test]
    fn syntax_errors_point_where_postgresql_does() {
        assert_eq!(
            at("SELECT 1;\nALTER TABLE t ADD COLUMN x int\nALTER TABLE t ADD y int;"),
            (3, 1, "syntax error at or near \"ALTER\"".to_owned())
        );
        let (l, c, m) = at("CREATE TABLE t (\n  id int,\n  x int,,\n);");
        assert_eq!((l, c), (3, 9), "{m}");
        let (l, _, m) = at("SELECT (1;");
        assert_eq!(l, 1);
        assert!(m.contains("syntax error"), "{m}");
        let (l, c, m) = at("SELECT 1;\nSELECT 'abc");
        assert_eq!((l, c), (2, 8), "{m}");
        assert!(m.contains("unterminated"), "{m}");
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "[ -~\\n]{0,80}") {
            match parse(&s) {
                Ok(stmts) => for st in stmts { prop_assert!(st.start <= st.end || st.end == s.len()); }
                Err(e) => prop_assert!(e.offset <= s.len()),
            }
        }
    }
}
