//! Connecting to the PostgreSQL sink: parses `--sink`, connects within the deadline, runs
//! every statement under `--query-timeout`, and turns failures into one line naming
//! `host:port/db`, never the password. (migration-gate's `pg.rs` does the same with TLS; the
//! two belong in one shared place once gatehouse may depend on tokio.)

use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// A parsed `--sink` URL and its deadlines.
#[derive(Clone)]
pub struct PgTarget {
    pub config: Config,
    /// `postgres host:port/db`.
    pub server: String,
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.server)
    }
}

impl PgTarget {
    pub fn parse(url: &str, connect_timeout: Duration, query_timeout: Duration) -> Result<Self> {
        let bad = |message: String| Error::Url {
            url: format!("--sink {}", gatehouse::redact::redact(url)),
            message,
        };
        let mut config: Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(one_line(&e)))?;
        match config.get_ssl_mode() {
            SslMode::Disable | SslMode::Prefer => config.ssl_mode(SslMode::Disable),
            _ => {
                return Err(bad(
                    "sslmode require/verify-*: replayctl speaks plain TCP to the sink for now (use sslmode=disable, or a local TLS proxy)"
                        .to_owned(),
                ));
            }
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("replayctl");
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
        let server = describe(&config);
        Ok(PgTarget {
            config,
            server,
            connect_timeout,
            query_timeout,
        })
    }

    /// Connects (handshake included) within the connect deadline.
    pub async fn connect(&self) -> Result<Client> {
        let fut = self.config.connect(NoTls);
        let (client, connection) = match tokio::time::timeout(self.connect_timeout, fut).await {
            Err(_) => {
                return Err(Error::Timeout {
                    server: self.server.clone(),
                    what: "connect".to_owned(),
                    limit: format!(
                        "{} (--connect-timeout)",
                        gatehouse::duration::format_duration(self.connect_timeout)
                    ),
                });
            }
            Ok(Err(e)) => return Err(self.connect_error(&e)),
            Ok(Ok(pair)) => pair,
        };
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("sink connection ended: {e}");
            }
        });
        Ok(client)
    }

    fn connect_error(&self, e: &tokio_postgres::Error) -> Error {
        use tokio_postgres::error::SqlState;
        let message = one_line(e);
        if let Some(db) = e.as_db_error()
            && (*db.code() == SqlState::INVALID_PASSWORD
                || *db.code() == SqlState::INVALID_AUTHORIZATION_SPECIFICATION)
        {
            return Error::Auth {
                server: self.server.clone(),
                message,
            };
        }
        if message.contains("password") || message.contains("authentication") {
            return Error::Auth {
                server: self.server.clone(),
                message,
            };
        }
        if e.as_db_error().is_some() {
            return Error::Database {
                server: self.server.clone(),
                what: "connect".to_owned(),
                message,
            };
        }
        Error::Unreachable {
            server: self.server.clone(),
            message,
        }
    }

    /// Awaits one exchange with the server for at most `--query-timeout`.
    pub async fn within<T>(
        &self,
        what: &str,
        fut: impl Future<Output = std::result::Result<T, tokio_postgres::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.query_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.error(what, &e)),
            Err(_) => Err(Error::Timeout {
                server: self.server.clone(),
                what: what.to_owned(),
                limit: format!(
                    "{} (--query-timeout)",
                    gatehouse::duration::format_duration(self.query_timeout)
                ),
            }),
        }
    }

    pub fn error(&self, what: &str, e: &tokio_postgres::Error) -> Error {
        Error::Database {
            server: self.server.clone(),
            what: what.to_owned(),
            message: one_line(e),
        }
    }
}

/// The server's message with its SQLSTATE, or the error chain, on one line.
pub fn one_line(e: &tokio_postgres::Error) -> String {
    let m = if let Some(db) = e.as_db_error() {
        format!("{} ({})", db.message(), db.code().code())
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
    gatehouse::redact::redact(&m.replace('\n', " ")).into_owned()
}

/// Whether a failed statement failed on the data (class 22, data exception; 23502/23514
/// not-null and check violations): the row is bad, not the connection or the table.
pub fn is_data_error(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        let c = db.code().code();
        c.starts_with("22") || c == "23502" || c == "23514"
    })
}

fn describe(c: &Config) -> String {
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
    format!("postgres {host}:{port}/{db}")
}

/// `"name"` with quotes doubled; `schema.table` quoted part by part.
pub fn quote_ident(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}
