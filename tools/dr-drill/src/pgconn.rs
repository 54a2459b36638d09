//! Connecting to PostgreSQL: URL reading, libpq's defaults, server names and error lines
//! are `gatehouse::pg`'s; this adds the deadlines and the few queries every command asks.

use std::time::Duration;

use tokio_postgres::config::{Host, SslMode, TargetSessionAttrs};
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// A parsed PostgreSQL URL.
#[derive(Clone)]
pub struct Pg {
    pub config: Config,
    /// `postgres host:port/db`, never the password.
    pub server: String,
    pub connect_timeout: Duration,
}

impl std::fmt::Debug for Pg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.server)
    }
}

impl Pg {
    /// `label` names where the URL came from (`--database-url`, `drill.yaml: postgres.primary.url`).
    pub fn parse(label: &str, url: &str, connect_timeout: Duration) -> Result<Self> {
        let bad = |message: String| {
            Error::Input(gatehouse::InputError::invalid(
                format!("{label} {}", gatehouse::redact::redact(url)),
                message,
            ))
        };
        let mut config: Config = gatehouse::pg::userinfo_at_last_at(url)
            .parse()
            .map_err(|e: tokio_postgres::Error| bad(gatehouse::pg::error_line(&e)))?;
        match config.get_ssl_mode() {
            SslMode::Disable | SslMode::Prefer => config.ssl_mode(SslMode::Disable),
            _ => {
                return Err(bad(
                    "sslmode require/verify-*: dr-drill speaks plain TCP for now (use sslmode=disable, or a local TLS proxy)"
                        .to_owned(),
                ));
            }
        };
        gatehouse::pg::fill_defaults(&mut config, "dr-drill", connect_timeout);
        let server = format!("postgres {}", gatehouse::pg::describe(&config));
        Ok(Pg {
            config,
            server,
            connect_timeout,
        })
    }

    /// The service's view: these hosts in order, connecting to whichever accepts writes
    /// (`target_session_attrs=read-write`), as a client that follows the primary does.
    pub fn service(first: &Pg, second: &Pg) -> Pg {
        let mut config = first.config.clone();
        if let (Some(h), Some(p)) = (second.config.get_hosts().first(), second.port()) {
            match h {
                Host::Tcp(h) => config.host(h),
                Host::Unix(p) => config.host_path(p),
            };
            if config.get_ports().is_empty() {
                config.port(first.port().unwrap_or(5432));
            }
            config.port(p);
        }
        config.target_session_attrs(TargetSessionAttrs::ReadWrite);
        config.connect_timeout(Duration::from_secs(1));
        Pg {
            server: format!("service ({} or {})", first.server, second.server),
            config,
            connect_timeout: Duration::from_secs(1),
        }
    }

    pub fn port(&self) -> Option<u16> {
        self.config.get_ports().first().copied().or(Some(5432))
    }

    /// A libpq conninfo string for `pg_rewind --source-server` (no password: it goes in
    /// `PGPASSWORD`, see [`Pg::password`]).
    pub fn conninfo(&self) -> String {
        let mut parts = Vec::new();
        if let Some(h) = self.config.get_hosts().first() {
            match h {
                Host::Tcp(h) => parts.push(format!("host={h}")),
                Host::Unix(p) => parts.push(format!("host={}", p.display())),
            }
        }
        if let Some(p) = self.port() {
            parts.push(format!("port={p}"));
        }
        if let Some(u) = self.config.get_user() {
            parts.push(format!("user={u}"));
        }
        parts.push(format!(
            "dbname={}",
            self.config.get_dbname().unwrap_or("postgres")
        ));
        parts.join(" ")
    }

    pub fn password(&self) -> Option<String> {
        self.config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    }

    /// Connects (handshake included) within the connect deadline.
    pub async fn connect(&self) -> Result<Client> {
        let fut = self.config.connect(NoTls);
        let (client, connection) = match tokio::time::timeout(self.connect_timeout * 3, fut).await {
            Err(_) => {
                return Err(Error::Unreachable {
                    server: self.server.clone(),
                    message: format!(
                        "no answer within {}",
                        gatehouse::duration::format_duration(self.connect_timeout)
                    ),
                });
            }
            Ok(Err(e)) => {
                return Err(Error::Unreachable {
                    server: self.server.clone(),
                    message: gatehouse::pg::error_line(&e),
                });
            }
            Ok(Ok(pair)) => pair,
        };
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("connection ended: {e}");
            }
        });
        Ok(client)
    }

    /// One query's first row's first column as text (`NULL` is `None`), within `limit`.
    pub async fn one(&self, c: &Client, what: &str, sql: &str) -> Result<Option<String>> {
        let rows = self.rows(c, what, sql).await?;
        Ok(rows
            .into_iter()
            .next()
            .and_then(|r| r.into_iter().next().flatten()))
    }

    /// Every row of a simple query, each column as text or `None`.
    pub async fn rows(
        &self,
        c: &Client,
        what: &str,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>> {
        let fut = c.simple_query(sql);
        let msgs = match tokio::time::timeout(Duration::from_secs(30), fut).await {
            Err(_) => {
                return Err(Error::Database {
                    server: self.server.clone(),
                    what: what.to_owned(),
                    message: "no answer within 30s".to_owned(),
                });
            }
            Ok(r) => r.map_err(|e| Error::Database {
                server: self.server.clone(),
                what: what.to_owned(),
                message: gatehouse::pg::error_line(&e),
            })?,
        };
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                }
                _ => None,
            })
            .collect())
    }
}
