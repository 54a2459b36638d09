//! Percent-encoding (RFC 3986) for URLs, query strings and package URLs: one encoder and
//! one decoder for every tool, instead of a copy per call site.

use std::fmt::Write as _;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// Encodes everything but RFC 3986's unreserved characters (a query-string value).
pub fn encode(s: &str) -> String {
    encode_keeping(s, b"")
}

/// Like [`encode`], also leaving the bytes in `keep` as they are (a purl keeps `:`).
pub fn encode_keeping(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s, keep);
    out
}

/// [`encode_keeping`] appending to `out`.
pub fn encode_into(out: &mut String, s: &str, keep: &[u8]) {
    let plain = |b: u8| unreserved(b) || keep.contains(&b);
    if s.bytes().all(plain) {
        out.push_str(s);
        return;
    }
    for b in s.bytes() {
        if plain(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// One `%XY` escape at `b[i]`, if there is a valid one.
fn escape_at(b: &[u8], i: usize) -> Option<u8> {
    (b.get(i) == Some(&b'%')).then_some(())?;
    Some(hex(*b.get(i + 1)?)? * 16 + hex(*b.get(i + 2)?)?)
}

/// Strict decoding: `None` for a malformed escape (`%`, `%4`, `%zz`) or bytes that are
/// not UTF-8. `+` stays `+` (this is not form encoding).
pub fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            out.push(escape_at(b, i)?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Forgiving decoding: a malformed escape is kept literally, invalid UTF-8 replaced.
pub fn decode_lossy(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(byte) = escape_at(b, i) {
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_and_decodes() {
        assert_eq!(encode(r#"up{a="b"} > 1"#), "up%7Ba%3D%22b%22%7D%20%3E%201");
        assert_eq!(encode_keeping("a:b/c", b":"), "a:b%2Fc");
        assert_eq!(decode("a%20b+c").as_deref(), Some("a b+c"));
        for bad in ["%", "%4", "%zz", "%+1", "%ff"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
        assert_eq!(decode_lossy("100%zz%41"), "100%zzA");
    }

    proptest! {
        #[test]
        fn decoding_undoes_encoding(s in "\\PC{0,40}") {
            prop_assert_eq!(decode(&encode(&s)), Some(s.clone()));
            prop_assert_eq!(decode_lossy(&encode(&s)), s);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = decode(&s);
            let _ = decode_lossy(&s);
        }
    }
}
