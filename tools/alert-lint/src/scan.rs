//! Byte-level scanning shared by the PromQL and Go-template lexers: where a quoted string
//! ends.

/// The index just past the quote that closes the string opened at `b[open]` (`"`, `'` or
/// `` ` ``). A backslash escapes the next byte except in backquoted (raw) strings, as in
/// both PromQL and Go. `None` when the string is not closed.
pub(crate) fn skip_quoted(b: &[u8], open: usize) -> Option<usize> {
    let quote = *b.get(open)?;
    let mut i = open + 1;
    while i < b.len() && b[i] != quote {
        if b[i] == b'\\' && quote != b'`' {
            i += 1;
        }
        i += 1;
    }
    (i < b.len()).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::skip_quoted;

    #[test]
    fn finds_the_closing_quote() {
        assert_eq!(skip_quoted(br#"x "a\"b" y"#, 2), Some(8));
        assert_eq!(skip_quoted(br"`a\`", 0), Some(4));
        assert_eq!(skip_quoted(br"'a\'", 0), None);
        assert_eq!(skip_quoted(br#""abc"#, 0), None);
        assert_eq!(skip_quoted(br#""\"#, 0), None);
    }
}
