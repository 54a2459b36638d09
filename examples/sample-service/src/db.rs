//! PostgreSQL: a small connection pool (a semaphore over idle clients; a client whose
//! connection broke is replaced on the next checkout, so a failover heals by itself). Each
//! client keeps the statements it prepared, so a hot query is parsed once per connection
//! and costs one round trip afterwards.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::{Client, Config, NoTls, Statement};

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    idle: Mutex<Vec<Pooled>>,
    slots: Arc<Semaphore>,
}

/// A client and the statements prepared on it.
struct Pooled {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

/// A checked-out client; it goes back to the pool on drop unless its connection closed.
pub struct Conn {
    client: Option<Pooled>,
    inner: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    pub fn new(url: &str, size: usize) -> Result<Pool, String> {
        let mut config: Config = url.parse().map_err(|e| format!("{e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("sample-service");
        Ok(Pool {
            inner: Arc::new(Inner {
                config,
                idle: Mutex::new(Vec::new()),
                slots: Arc::new(Semaphore::new(size.max(1))),
            }),
        })
    }

    /// A client: an idle one, else a new connection. Waits while all are checked out.
    pub async fn get(&self) -> Result<Conn, tokio_postgres::Error> {
        let permit = Arc::clone(&self.inner.slots)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the pool's semaphore is never closed"));
        let reused = {
            let mut idle = self
                .inner
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let mut found = None;
            while let Some(c) = idle.pop() {
                if !c.client.is_closed() {
                    found = Some(c);
                    break;
                }
            }
            found
        };
        let client = match reused {
            Some(c) => c,
            None => Pooled {
                client: connect(&self.inner.config).await?,
                statements: HashMap::new(),
            },
        };
        Ok(Conn {
            client: Some(client),
            inner: Arc::clone(&self.inner),
            _permit: permit,
        })
    }

    /// A fresh connection outside the pool (migrations hold theirs for the whole run).
    pub async fn connect(&self) -> Result<Client, tokio_postgres::Error> {
        connect(&self.inner.config).await
    }
}

async fn connect(config: &Config) -> Result<Client, tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("PostgreSQL connection ended: {e}");
        }
    });
    Ok(client)
}

impl Conn {
    fn pooled(&mut self) -> &mut Pooled {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("a Conn holds its client until drop"))
    }

    /// `sql` prepared on this connection, once.
    pub async fn prepared(
        &mut self,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        let p = self.pooled();
        if let Some(s) = p.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = p.client.prepare(sql).await?;
        p.statements.insert(sql, s.clone());
        Ok(s)
    }
}

impl Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self
            .client
            .as_ref()
            .unwrap_or_else(|| unreachable!("a Conn holds its client until drop"))
            .client
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.pooled().client
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(c) = self.client.take()
            && !c.client.is_closed()
        {
            self.inner
                .idle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(c);
        }
    }
}
