//! What every tool that talks to PostgreSQL does the same way (feature `postgres`): reading
//! a connection URL (a raw `@` in the password ends the userinfo at the last `@`), filling
//! what libpq would take from the environment, naming the server in messages without the
//! password, and turning a client error into one line. Connecting (with or without TLS) and
//! the deadlines stay with the tool, which knows its flags.

use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::Host;

/// `url` with every `@` of the userinfo but the last percent-encoded: browsers and our
/// redaction end the userinfo at the last `@`, so `postgres://u:p@ss@host/db` is user `u`,
/// password `p@ss`, host `host` — never a DNS lookup of `ss@host`. (libpq itself stops at
/// the first `@`; with one `@`, as in every valid URL, the two agree.)
pub fn userinfo_at_last_at(url: &str) -> std::borrow::Cow<'_, str> {
    let Some(scheme_end) = url.find("://").map(|p| p + 3) else {
        return url.into(); // key/value form: values are whole words, `@` is no separator
    };
    let tail = &url[scheme_end..];
    let authority = &tail[..tail.find(['/', '?', '#']).unwrap_or(tail.len())];
    match authority.rfind('@') {
        Some(last) if authority[..last].contains('@') => format!(
            "{}{}{}",
            &url[..scheme_end],
            authority[..last].replace('@', "%40"),
            &tail[last..]
        )
        .into(),
        _ => url.into(),
    }
}

/// Fills what the URL left out as libpq would: `PGUSER` (else `USER`), `PGPASSWORD`, and
/// the tool's `application_name` and default `connect_timeout`.
pub fn fill_defaults(config: &mut Config, application: &str, connect_timeout: Duration) {
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(connect_timeout);
    }
    if config.get_application_name().is_none() {
        config.application_name(application);
    }
    if config.get_user().is_none()
        && let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER"))
    {
        config.user(&user);
    }
    if config.get_password().is_none()
        && let Ok(pw) = std::env::var("PGPASSWORD")
    {
        config.password(pw);
    }
}

/// `host:port/db`: how messages name a server (never with the password).
pub fn describe(c: &Config) -> String {
    let host = c.get_hosts().first().map_or_else(
        || "localhost".to_owned(),
        |h| match h {
            Host::Tcp(h) => h.clone(),
            Host::Unix(p) => p.display().to_string(),
        },
    );
    let port = c.get_ports().first().copied().unwrap_or(5432);
    let db = c
        .get_dbname()
        .or_else(|| c.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// The server's message with its SQLSTATE (and detail), or the client error's chain, on
/// one line, redacted.
pub fn error_line(e: &tokio_postgres::Error) -> String {
    let m = if let Some(db) = e.as_db_error() {
        let mut m = format!("{} ({})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            m.push_str(&format!("; {d}"));
        }
        m
    } else {
        let mut m = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            let t = s.to_string();
            if !m.contains(&t) {
                m.push_str(&format!(": {t}"));
            }
            src = s.source();
        }
        m
    };
    crate::redact::redact(&m.replace('\n', " ")).into_owned()
}

/// Whether the server refused the credentials (wrong password, unknown role).
pub fn is_auth_error(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    e.as_db_error().is_some_and(|db| {
        *db.code() == SqlState::INVALID_PASSWORD
            || *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

/// One identifier (a database, a role, a column): `"name"` with quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A possibly schema-qualified name: `schema.table` quoted part by part.
pub fn quote_qualified(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raw_at_in_the_password_ends_the_userinfo_at_the_last_at() {
        let url = userinfo_at_last_at("postgres://u:Leak@At4@127.0.0.1:5/app");
        let c: Config = url.parse().expect("parses");
        assert_eq!(c.get_user(), Some("u"));
        assert_eq!(c.get_password(), Some(&b"Leak@At4"[..]));
        assert_eq!(describe(&c), "127.0.0.1:5/app");
        assert_eq!(
            userinfo_at_last_at("host=x password=a@b"),
            "host=x password=a@b"
        );
    }

    #[test]
    fn identifiers_are_quoted_part_by_part() {
        assert_eq!(
            quote_qualified("public.events_sink"),
            "\"public\".\"events_sink\""
        );
        assert_eq!(quote_ident("we\"ird.db"), "\"we\"\"ird.db\"");
    }
}
