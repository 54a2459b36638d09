//! Removes secrets from connection strings, URLs and messages before anything is printed or
//! logged: URL userinfo (`postgres://user:secret@host`, `https://TOKEN@host`), libpq
//! key/value strings (`host=db password=secret`), query parameters (`?password=…`),
//! `KEY: value` / `"key": "value"` pairs, and `Authorization: Bearer …` headers.

use std::borrow::Cow;

/// What a removed secret is replaced with.
pub const MASK: &str = "***";

/// Keys whose values are secrets (compared case-insensitively, as whole words).
const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pgpassword",
    "sslpassword",
    "secret",
    "client_secret",
    "token",
    "access_token",
    "refresh_token",
    "api_key",
    "apikey",
    "auth",
    "authorization",
];

/// `s` with every password-like value replaced by `***`.
pub fn redact(s: &str) -> Cow<'_, str> {
    let (out, changed) = mask_userinfo(s);
    match mask_key_values(&out) {
        Some(m) => Cow::Owned(m),
        None if changed => Cow::Owned(out),
        None => Cow::Borrowed(s),
    }
}

/// `scheme://user:PASS@host` → `user:***@`; `http(s)://TOKEN@host` → `***@` (a lone
/// userinfo on HTTP is a token; on a database URL it is a user name and stays).
fn mask_userinfo(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let scheme: String = head[..pos]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let authority_end = tail
            .find(['/', '?', '#', ' ', '\n', '"', '\'', '<', '>', '`'])
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                out.push_str(&userinfo[..=colon]);
                out.push_str(MASK);
                changed = true;
            } else if matches!(
                scheme.to_ascii_lowercase().as_str(),
                "http" | "https" | "git+https" | "ws" | "wss"
            ) && !userinfo.is_empty()
            {
                out.push_str(MASK);
                changed = true;
            } else {
                out.push_str(userinfo);
            }
            out.push_str(&authority[at..]);
        } else {
            out.push_str(authority);
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    (out, changed)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Masks `key=value`, `key: value`, `"key": "value"` and `Authorization: Bearer value`
/// where the key names a secret.
fn mask_key_values(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let at_boundary = i == 0 || !is_word(bytes[i - 1]);
        let key = if at_boundary {
            SECRET_KEYS.iter().find(|k| {
                lower[i..].starts_with(**k) && !bytes.get(i + k.len()).copied().is_some_and(is_word)
            })
        } else {
            None
        };
        if let Some((value_start, value_end)) =
            key.and_then(|k| value_after_key(bytes, i + k.len()))
        {
            out.push_str(&s[i..value_start]);
            out.push_str(MASK);
            changed = true;
            i = value_end;
            continue;
        }
        let ch = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + ch]);
        i += ch;
    }
    changed.then_some(out)
}

/// After a key at `k`: an optional closing quote, spaces, `=` or `:`, spaces, then the
/// value (quoted, or up to a separator). Returns the value's byte range; None when no
/// value follows (the key was just a word in a sentence).
fn value_after_key(bytes: &[u8], mut k: usize) -> Option<(usize, usize)> {
    if matches!(bytes.get(k), Some(b'"' | b'\'')) {
        k += 1;
    }
    while bytes.get(k) == Some(&b' ') {
        k += 1;
    }
    let sep = *bytes.get(k)?;
    if sep != b'=' && sep != b':' {
        return None;
    }
    k += 1;
    while matches!(bytes.get(k), Some(b' ' | b'\t')) {
        k += 1;
    }
    // `Authorization: Bearer abc` / `Basic abc`: keep the scheme word, mask the credential.
    for scheme in [&b"bearer "[..], &b"basic "[..], &b"token "[..]] {
        if bytes.len() >= k + scheme.len()
            && bytes[k..k + scheme.len()].eq_ignore_ascii_case(scheme)
        {
            k += scheme.len();
            break;
        }
    }
    let start = k;
    let end = match bytes.get(k) {
        Some(&q @ (b'\'' | b'"')) => {
            let mut j = k + 1;
            while j < bytes.len() && bytes[j] != q {
                if bytes[j] == b'\\' {
                    j += 1;
                }
                j += 1;
            }
            (j + 1).min(bytes.len())
        }
        Some(_) => {
            let mut j = k;
            while j < bytes.len()
                && !matches!(
                    bytes[j],
                    b' ' | b'&'
                        | b';'
                        | b'\t'
                        | b','
                        | b'\n'
                        | b'\r'
                        | b'"'
                        | b'\''
                        | b')'
                        | b'}'
                        | b']'
                )
            {
                j += 1;
            }
            j
        }
        None => k,
    };
    (end > start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_raw_at_in_a_password_is_masked_up_to_the_last_at() {
        let out = redact("connecting to postgres://u:Leak@At4@host/db failed");
        assert_eq!(out, "connecting to postgres://u:***@host/db failed");
    }

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            redact("postgres://app:s3cr3t@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            redact("redis://:hunter2@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
        assert_eq!(
            redact("cannot connect to postgres://u:p@h/db: refused"),
            "cannot connect to postgres://u:***@h/db: refused"
        );
        assert_eq!(
            redact("https://ghp_abcdef123@github.com/x.git"),
            "https://***@github.com/x.git"
        );
        assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(redact("http://example.com/path"), "http://example.com/path");
        assert!(matches!(redact("no secrets here"), Cow::Borrowed(_)));
    }

    #[test]
    fn masks_key_value_secrets() {
        assert_eq!(
            redact("host=db user=app password=s3cr3t dbname=x"),
            "host=db user=app password=*** dbname=x"
        );
        assert_eq!(
            redact("host=db password='a b c' port=5"),
            "host=db password=*** port=5"
        );
        assert_eq!(
            redact("postgres://h/db?sslmode=require&password=x&user=u"),
            "postgres://h/db?sslmode=require&password=***&user=u"
        );
        assert_eq!(redact("https://h/?token=abc"), "https://h/?token=***");
        assert_eq!(
            redact(r#"dsn="password=hunter2 host=x""#),
            r#"dsn="password=*** host=x""#
        );
        assert_eq!(redact("(password=hunter2)"), "(password=***)");
        assert_eq!(redact("line1\npassword=hunter2"), "line1\npassword=***");
        assert_eq!(redact("PGPASSWORD=hunter2 psql"), "PGPASSWORD=*** psql");
        assert_eq!(
            redact(r#"{"password": "hunter2", "user": "u"}"#),
            r#"{"password": ***, "user": "u"}"#
        );
        assert_eq!(redact("password: hunter2"), "password: ***");
        assert_eq!(
            redact("Authorization: Bearer abc.def"),
            "Authorization: Bearer ***"
        );
        assert_eq!(redact("client_secret=xyz"), "client_secret=***");
        assert_eq!(redact("mypassword=1"), "mypassword=1");
        assert_eq!(redact("the password is wrong"), "the password is wrong");
        assert_eq!(
            redact("password authentication failed for user \"app\""),
            "password authentication failed for user \"app\""
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_never_leaks(user in "[a-z]{1,8}", pass in "[A-Za-z0-9]{6,16}", noise in "\\PC{0,30}") {
            let url = format!("{noise} postgres://{user}:{pass}@host/db {noise}");
            let out = redact(&url);
            let needle = format!(":{pass}@");
            prop_assert!(!out.contains(&needle));
            let kv = format!("{noise} password={pass}");
            prop_assert!(!redact(&kv).ends_with(&pass));
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,60}") {
            let _ = redact(&s);
        }
    }
}
