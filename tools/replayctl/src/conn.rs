//! Talking to Redis: one node or a Redis Cluster (recognised by `INFO cluster`, then the
//! `redis` crate's cluster client, which follows MOVED/ASK redirects), every connect and every
//! reply under a deadline, failures as one line naming the server, never the password.

use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Value};

use crate::error::{Error, Result};

/// A checked `--redis-url` with its deadlines.
#[derive(Clone)]
pub struct RedisTarget {
    url: String,
    /// `host:port`, never the password.
    pub server: String,
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.server)
    }
}

impl RedisTarget {
    pub fn parse(url: &str, connect_timeout: Duration, query_timeout: Duration) -> Result<Self> {
        let info: redis::ConnectionInfo = redis::IntoConnectionInfo::into_connection_info(url)
            .map_err(|e| Error::Url {
                url: format!("--redis-url {}", gatehouse::redact::redact(url)),
                message: e.to_string(),
            })?;
        let server = match info.addr() {
            redis::ConnectionAddr::Tcp(h, p)
            | redis::ConnectionAddr::TcpTls {
                host: h, port: p, ..
            } => {
                format!("redis {h}:{p}")
            }
            redis::ConnectionAddr::Unix(p) => format!("redis {}", p.display()),
            _ => "redis".to_owned(),
        };
        Ok(RedisTarget {
            url: url.to_owned(),
            server,
            connect_timeout,
            query_timeout,
        })
    }

    /// Connects, and switches to the cluster client when the node says it is in a cluster.
    pub async fn connect(&self) -> Result<Conn> {
        let client = redis::Client::open(self.url.as_str()).map_err(|e| Error::Url {
            url: format!("--redis-url {}", gatehouse::redact::redact(&self.url)),
            message: e.to_string(),
        })?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.query_timeout));
        let single = tokio::time::timeout(
            self.connect_timeout + self.query_timeout,
            client.get_multiplexed_async_connection_with_config(&config),
        )
        .await
        .map_err(|_| self.timeout("connect"))?
        .map_err(|e| self.connect_error(&e))?;
        let mut conn = Conn {
            target: self.clone(),
            kind: Kind::Single(single),
        };
        let info: String = conn
            .query("INFO cluster", redis::cmd("INFO").arg("cluster"))
            .await?;
        if !info.lines().any(|l| l.trim() == "cluster_enabled:1") {
            return Ok(conn);
        }
        let cluster = redis::cluster::ClusterClient::builder(vec![self.url.as_str()])
            .connection_timeout(self.connect_timeout)
            .response_timeout(self.query_timeout)
            .build()
            .map_err(|e| self.connect_error(&e))?;
        let c = tokio::time::timeout(
            self.connect_timeout + self.query_timeout,
            cluster.get_async_connection(),
        )
        .await
        .map_err(|_| self.timeout("connect to the cluster"))?
        .map_err(|e| self.connect_error(&e))?;
        Ok(Conn {
            target: self.clone(),
            kind: Kind::Cluster(Box::new(c)),
        })
    }

    fn timeout(&self, what: &str) -> Error {
        Error::Timeout {
            server: self.server.clone(),
            what: what.to_owned(),
            limit: format!(
                "{} (--connect-timeout, --query-timeout)",
                gatehouse::duration::format_duration(self.connect_timeout + self.query_timeout)
            ),
        }
    }

    fn connect_error(&self, e: &redis::RedisError) -> Error {
        let message = one_line(e);
        if is_auth(e) {
            return Error::Auth {
                server: self.server.clone(),
                message,
            };
        }
        Error::Unreachable {
            server: self.server.clone(),
            message,
        }
    }
}

fn is_auth(e: &redis::RedisError) -> bool {
    let code = e.code().unwrap_or_default();
    matches!(code, "WRONGPASS" | "NOAUTH" | "NOPERM")
        || e.kind() == redis::ErrorKind::AuthenticationFailed
}

/// The error on one line, password redacted.
pub fn one_line(e: &redis::RedisError) -> String {
    gatehouse::redact::redact(&e.to_string().replace(['\r', '\n'], " ")).into_owned()
}

enum Kind {
    Single(MultiplexedConnection),
    Cluster(Box<ClusterConnection>),
}

/// A connection to one node or to a cluster.
pub struct Conn {
    pub target: RedisTarget,
    kind: Kind,
}

impl Conn {
    pub fn is_cluster(&self) -> bool {
        matches!(self.kind, Kind::Cluster(_))
    }

    pub fn server(&self) -> &str {
        &self.target.server
    }

    /// Sends `cmd` and converts the reply, within `--query-timeout`.
    pub async fn query<T: FromRedisValue>(&mut self, what: &str, cmd: &Cmd) -> Result<T> {
        let v = self.raw(what, cmd).await?;
        redis::from_redis_value(v).map_err(|e| Error::Redis {
            server: self.target.server.clone(),
            what: what.to_owned(),
            message: format!("unexpected reply: {e}"),
        })
    }

    /// Sends `cmd` and returns the reply as it is, within `--query-timeout`.
    pub async fn raw(&mut self, what: &str, cmd: &Cmd) -> Result<Value> {
        let limit = self.target.query_timeout;
        let fut = async {
            match &mut self.kind {
                Kind::Single(c) => cmd.query_async::<Value>(c).await,
                Kind::Cluster(c) => cmd.query_async::<Value>(c.as_mut()).await,
            }
        };
        let r = tokio::time::timeout(limit, fut).await;
        match r {
            Err(_) => Err(Error::Timeout {
                server: self.target.server.clone(),
                what: what.to_owned(),
                limit: format!(
                    "{} (--query-timeout)",
                    gatehouse::duration::format_duration(limit)
                ),
            }),
            Ok(Err(e)) if is_auth(&e) => Err(Error::Auth {
                server: self.target.server.clone(),
                message: one_line(&e),
            }),
            Ok(Err(e)) if e.is_timeout() => Err(Error::Timeout {
                server: self.target.server.clone(),
                what: what.to_owned(),
                limit: format!(
                    "{} (--query-timeout)",
                    gatehouse::duration::format_duration(limit)
                ),
            }),
            Ok(Err(e)) => Err(Error::Redis {
                server: self.target.server.clone(),
                what: what.to_owned(),
                message: one_line(&e),
            }),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// The keys of type stream matching a glob: SCAN on one node, KEYS on every master of a
    /// cluster (the client merges the answers).
    pub async fn streams_matching(&mut self, pattern: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        if self.is_cluster() {
            let keys: Vec<String> = self.query("KEYS", redis::cmd("KEYS").arg(pattern)).await?;
            for k in keys {
                let t: String = self.query("TYPE", redis::cmd("TYPE").arg(&k)).await?;
                if t == "stream" {
                    out.push(k);
                }
            }
        } else {
            let mut cursor = "0".to_owned();
            loop {
                let (next, keys): (String, Vec<String>) = self
                    .query(
                        "SCAN",
                        redis::cmd("SCAN")
                            .arg(&cursor)
                            .arg("MATCH")
                            .arg(pattern)
                            .arg("COUNT")
                            .arg(1000)
                            .arg("TYPE")
                            .arg("stream"),
                    )
                    .await?;
                out.extend(keys);
                if next == "0" {
                    break;
                }
                cursor = next;
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The server's clock in milliseconds (`TIME`): stream ids come from it, so ages are
    /// measured against it, not against this machine's clock.
    pub async fn now_ms(&mut self) -> Result<u64> {
        let (secs, micros): (u64, u64) = self.query("TIME", &redis::cmd("TIME")).await?;
        Ok(secs * 1000 + micros / 1000)
    }

    /// `Error::NoStream` unless `key` is a stream.
    pub async fn require_stream(&mut self, key: &str) -> Result<()> {
        if self.dlq_exists(key).await? {
            return Ok(());
        }
        Err(Error::NoStream {
            server: self.target.server.clone(),
            stream: key.to_owned(),
        })
    }

    /// Whether a dead-letter stream exists: a DLQ that does not exist is empty (the sample
    /// service's worker creates it with its first dead letter), but a key of another type
    /// is an error, not an empty queue.
    pub async fn dlq_exists(&mut self, key: &str) -> Result<bool> {
        let t: String = self.query("TYPE", redis::cmd("TYPE").arg(key)).await?;
        match t.as_str() {
            "stream" => Ok(true),
            "none" => Ok(false),
            other => Err(Error::Redis {
                server: self.target.server.clone(),
                what: format!("key {key:?}"),
                message: format!("is a {other}, not a stream"),
            }),
        }
    }

    /// `CLUSTER KEYSLOT key`, or 0 on a single node.
    pub async fn slot(&mut self, key: &str) -> Result<i64> {
        if !self.is_cluster() {
            return Ok(0);
        }
        self.query(
            "CLUSTER KEYSLOT",
            redis::cmd("CLUSTER").arg("KEYSLOT").arg(key),
        )
        .await
    }
}
