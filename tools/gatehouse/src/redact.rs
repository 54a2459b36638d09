//! Removes secrets from connection strings and URLs before anything is printed or logged.
//!
//! Covers URL userinfo (`postgres://user:secret@host`), libpq key/value strings
//! (`host=db password=secret`) and query parameters (`?password=…&sslpassword=…`).

use std::borrow::Cow;

/// What a removed secret is replaced with.
pub const MASK: &str = "***";

const SECRET_KEYS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "sslpassword",
    "secret",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "auth",
];

/// `s` with every password-like value replaced by `***`.
pub fn redact(s: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut rest = s;
    // URL userinfo: scheme://user:PASS@host — mask PASS (and a lone token before @ when the
    // scheme is a database, where it is a password).
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let authority_end = tail
            .find(['/', '?', '#', ' ', '\n', '"', '\''])
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                out.push_str(&userinfo[..=colon]);
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
    let masked = mask_key_values(&out);
    match masked {
        Some(m) => Cow::Owned(m),
        None if changed => Cow::Owned(out),
        None => Cow::Borrowed(s),
    }
}

/// Masks `key=value` pairs (space, `&`, `;` or `?` separated) whose key names a secret.
fn mask_key_values(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut changed = false;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        let at_boundary =
            i == 0 || matches!(bytes[i - 1], b' ' | b'&' | b'?' | b';' | b'\t' | b',');
        let key = at_boundary
            .then(|| {
                SECRET_KEYS.iter().find(|k| {
                    lower[i..].starts_with(**k)
                        && lower[i + k.len()..].trim_start().starts_with('=')
                })
            })
            .flatten();
        if let Some(key) = key {
            let eq = i + key.len() + lower[i + key.len()..].find('=').unwrap_or(0);
            out.push_str(&s[i..=eq]);
            let mut j = eq + 1;
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            // libpq allows quoted values: password='a b'
            let end = if j < bytes.len() && bytes[j] == b'\'' {
                let mut k = j + 1;
                while k < bytes.len() && bytes[k] != b'\'' {
                    if bytes[k] == b'\\' {
                        k += 1;
                    }
                    k += 1;
                }
                (k + 1).min(bytes.len())
            } else {
                s[j..]
                    .find([' ', '&', ';', '\t', ',', '\n', '"'])
                    .map_or(bytes.len(), |p| j + p)
            };
            if end > j {
                out.push_str(MASK);
                changed = true;
            }
            i = end;
            continue;
        }
        let ch = s[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&s[i..i + ch]);
        i += ch;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert_eq!(redact("mypassword=1"), "mypassword=1");
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
