//! Connecting to the PostgreSQL sink: parses `--sink` (URL reading, libpq's defaults,
//! server names and error lines are `gatehouse::pg`'s, shared with migration-gate), connects
//! within the deadline, runs every statement under `--query-timeout`, and turns failures
//! into one line naming `host:port/db`, never the password.

use std::time::Duration;

use tokio_postgres::config::SslMode;
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
        let mut config: Config = gatehouse::pg::userinfo_at_last_at(url)
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
        gatehouse::pg::fill_defaults(&mut config, "replayctl", connect_timeout);
        let server = format!("postgres {}", gatehouse::pg::describe(&config));
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
        let message = one_line(e);
        if gatehouse::pg::is_auth_error(e) {
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

/// The server's message with its SQLSTATE, or the error chain, on one line, redacted.
pub fn one_line(e: &tokio_postgres::Error) -> String {
    gatehouse::pg::error_line(e)
}

/// Whether a failed statement failed on the data (class 22, data exception; 23502/23514
/// not-null and check violations): the row is bad, not the connection or the table.
pub fn is_data_error(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        let c = db.code().code();
        c.starts_with("22") || c == "23502" || c == "23514"
    })
}
