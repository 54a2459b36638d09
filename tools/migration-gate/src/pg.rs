//! Connecting to PostgreSQL: parses `--database-url` (URL or key/value form), connects with a
//! timeout and TLS as libpq's `sslmode` asks, and turns failures into one-line errors that
//! name the server but never the password (wrong password, unreachable, missing database,
//! certificate refused).

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};
use crate::tls::{self, TlsMode};

/// A parsed `--database-url`: the config plus how errors name it.
#[derive(Clone)]
pub struct Target {
    pub config: Config,
    /// `host:port/dbname`, never the password.
    pub server: String,
    /// libpq's sslmode, including the verify-* modes tokio-postgres does not parse.
    pub tls: TlsMode,
    /// `sslrootcert`: the CA to verify the server against (else the webpki roots).
    pub root_cert: Option<PathBuf>,
    /// The whole connect: TCP, TLS and the PostgreSQL handshake (a listener that accepts
    /// and never answers must not hold the run).
    pub connect_timeout: Duration,
    /// How long any query of ours may go unanswered.
    pub query_timeout: Duration,
}

/// `connect_timeout` when neither the URL nor `--connect-timeout` sets one.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// `--query-timeout`'s default.
const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(300);

/// Deadlines for talking to PostgreSQL: a server that accepts and never answers (or answers
/// a byte at a time) must not hold a run until CI's job timeout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// `--connect-timeout`: over the URL's `connect_timeout` when given.
    pub(crate) connect: Option<Duration>,
    /// `--query-timeout`: how long any query of ours may go unanswered.
    pub(crate) query: Duration,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.server)
    }
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let bad = |message: String| Error::Url {
            url: gatehouse::redact::redact(url).into_owned(),
            message,
        };
        let (cleaned, tls_params) = tls::split_params(&gatehouse::pg::userinfo_at_last_at(url));
        let mut config: Config = cleaned
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(e.to_string()))?;
        let mode = tls_params
            .sslmode
            .or_else(|| std::env::var("PGSSLMODE").ok())
            .map(|m| TlsMode::parse(&m).ok_or_else(|| bad(format!("sslmode {m:?}: expected disable, allow, prefer, require, verify-ca or verify-full"))))
            .transpose()?
            .unwrap_or(TlsMode::Prefer);
        let root_cert = tls_params
            .sslrootcert
            .or_else(|| std::env::var("PGSSLROOTCERT").ok())
            .filter(|p| !p.is_empty() && p != "system")
            .map(PathBuf::from);
        config.ssl_mode(match mode {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        gatehouse::pg::fill_defaults(&mut config, "migration-gate", DEFAULT_CONNECT_TIMEOUT);
        let server = gatehouse::pg::describe(&config);
        Ok(Target {
            connect_timeout: config
                .get_connect_timeout()
                .copied()
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            query_timeout: DEFAULT_QUERY_TIMEOUT,
            config,
            server,
            tls: mode,
            root_cert,
        })
    }

    /// `--connect-timeout` (over the URL's `connect_timeout`) and `--query-timeout`.
    #[must_use]
    pub(crate) fn with_timeouts(mut self, t: Timeouts) -> Target {
        if let Some(c) = t.connect {
            self.config.connect_timeout(c);
            self.connect_timeout = c;
        }
        self.query_timeout = t.query;
        self
    }

    pub fn dbname(&self) -> String {
        self.config
            .get_dbname()
            .map(str::to_owned)
            .or_else(|| self.config.get_user().map(str::to_owned))
            .unwrap_or_else(|| "postgres".to_owned())
    }

    /// The same server, another database.
    pub fn with_db(&self, db: &str) -> Target {
        let mut config = self.config.clone();
        config.dbname(db);
        let server = gatehouse::pg::describe(&config);
        Target {
            config,
            server,
            tls: self.tls,
            root_cert: self.root_cert.clone(),
            connect_timeout: self.connect_timeout,
            query_timeout: self.query_timeout,
        }
    }

    pub fn user(&self) -> String {
        self.config.get_user().unwrap_or("postgres").to_owned()
    }

    /// Connects, TLS and handshake included, within `connect_timeout`.
    pub async fn connect(&self) -> Result<Client> {
        match tokio::time::timeout(self.connect_timeout, self.connect_now()).await {
            Ok(r) => r,
            Err(_) => Err(Error::Unreachable {
                server: self.server.clone(),
                message: format!(
                    "no PostgreSQL handshake within {} (connect_timeout; --connect-timeout): something accepted the connection but did not answer like a server",
                    gatehouse::duration::format_duration(self.connect_timeout)
                ),
            }),
        }
    }

    async fn connect_now(&self) -> Result<Client> {
        let fail = |e: &tokio_postgres::Error| connect_error(&self.server, &self.user(), e);
        if self.tls == TlsMode::Disable {
            let (client, connection) = self.config.connect(NoTls).await.map_err(|e| fail(&e))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!("connection ended: {e}");
                }
            });
            return Ok(client);
        }
        let connector =
            tls::connector(self.tls, self.root_cert.as_deref()).map_err(|message| Error::Url {
                url: self.server.clone(),
                message,
            })?;
        let (client, connection) = self.config.connect(connector).await.map_err(|e| fail(&e))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
        Ok(client)
    }

    /// A query failure on this server: [`Error::Lost`] when the connection is gone,
    /// else [`Error::Database`].
    pub fn error(&self, what: impl Into<String>, e: &tokio_postgres::Error) -> Error {
        if is_lost(e) {
            return Error::Lost {
                server: self.server.clone(),
                what: what.into(),
                message: db_message(e),
            };
        }
        Error::Database {
            server: self.server.clone(),
            what: what.into(),
            message: db_message(e),
        }
    }

    /// Awaits a query (or any exchange with this server) for at most `query_timeout`.
    pub async fn within<T>(
        &self,
        what: impl Into<String>,
        query: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        let limit = self.query_timeout;
        self.within_for(
            limit,
            format!(
                "{} (--query-timeout)",
                gatehouse::duration::format_duration(limit)
            ),
            what,
            query,
        )
        .await
    }

    /// Awaits a query for at most `limit`, described as `limit_text` when it runs out.
    pub async fn within_for<T>(
        &self,
        limit: Duration,
        limit_text: String,
        what: impl Into<String>,
        query: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(limit, query).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(what, &e)),
            Err(_) => Err(Error::Timeout {
                server: self.server.clone(),
                what: what.into(),
                limit: limit_text,
            }),
        }
    }
}

/// Whether `e` means the connection is gone (closed, I/O error, the backend terminated or
/// the server shutting down), as opposed to the server refusing one statement.
pub fn is_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.as_db_error() {
        // Not a server message: lost when the connection itself failed (I/O), not when a
        // row did not convert.
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
        Some(db) => {
            let code = db.code().code();
            // 57P01 admin_shutdown (pg_terminate_backend), 57P02 crash_shutdown,
            // 57P03 cannot_connect_now, 57P04 database_dropped; class 08: connection exceptions.
            matches!(code, "57P01" | "57P02" | "57P03" | "57P04") || code.starts_with("08")
        }
    }
}

/// The server's message (with its SQLSTATE), or the error chain, on one line.
pub fn db_message(e: &tokio_postgres::Error) -> String {
    gatehouse::pg::error_line(e)
}

fn connect_error(server: &str, user: &str, e: &tokio_postgres::Error) -> Error {
    use tokio_postgres::error::SqlState;
    let message = db_message(e);
    if let Some(db) = e.as_db_error() {
        let code = db.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return Error::Auth {
                server: server.to_owned(),
                user: user.to_owned(),
                message,
            };
        }
        return Error::Database {
            server: server.to_owned(),
            what: "cannot connect".to_owned(),
            message,
        };
    }
    if message.contains("password") || message.contains("authentication") {
        return Error::Auth {
            server: server.to_owned(),
            user: user.to_owned(),
            message,
        };
    }
    Error::Unreachable {
        server: server.to_owned(),
        message,
    }
}

/// `"name"` with quotes doubled.
pub fn quote_ident(name: &str) -> String {
    gatehouse::pg::quote_ident(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse::pg::userinfo_at_last_at;

    #[test]
    fn urls_are_described_without_passwords() {
        let t = Target::parse("postgres://app:s3cret@db.internal:6543/orders").expect("parses");
        assert_eq!(t.server, "db.internal:6543/orders");
        assert_eq!(format!("{t:?}"), "db.internal:6543/orders");
        let e = Target::parse("postgres://app:s3cret@db:notaport/x").expect_err("bad port");
        let line = e.to_string();
        assert!(!line.contains("s3cret"), "{line}");
        assert!(
            line.starts_with("--database-url postgres://app:***@"),
            "{line}"
        );
    }

    #[test]
    fn a_raw_at_in_the_password_ends_the_userinfo_at_the_last_at() {
        let t = Target::parse("postgres://u:Leak@At4@db.internal:6543/orders").expect("parses");
        assert_eq!(t.server, "db.internal:6543/orders");
        assert_eq!(t.user(), "u");
        assert_eq!(t.config.get_password(), Some(&b"Leak@At4"[..]));
        let t = Target::parse("postgresql://a@b:c@d@host/db?sslmode=disable").expect("parses");
        assert_eq!(t.server, "host:5432/db");
        assert_eq!(t.user(), "a@b");
        assert_eq!(t.config.get_password(), Some(&b"c@d"[..]));
        // One `@`, none, or an `@` after the host part: unchanged.
        assert_eq!(
            userinfo_at_last_at("postgres://u:p@h/db"),
            "postgres://u:p@h/db"
        );
        assert_eq!(
            userinfo_at_last_at("postgres://h/db?x=a@b"),
            "postgres://h/db?x=a@b"
        );
        assert_eq!(
            userinfo_at_last_at("host=h password=a@b"),
            "host=h password=a@b"
        );
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
