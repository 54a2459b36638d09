//! Applies statements on the copy one at a time while a second connection watches: the
//! relation locks the migration's backend holds (`pg_locks`: mode and relation), load
//! sessions waiting on a lock (`pg_stat_activity`), and afterwards whether any relation got a
//! new `relfilenode` (a rewrite), the rows the statement reported, and its duration.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_postgres::{Client, SimpleQueryMessage};

use super::load::Load;
use crate::error::{Error, Result};
use crate::pg::Target;

/// Lock modes that conflict with the ROW EXCLUSIVE lock every INSERT/UPDATE/DELETE takes.
pub const BLOCKS_WRITES: &[&str] = &[
    "ShareLock",
    "ShareRowExclusiveLock",
    "ExclusiveLock",
    "AccessExclusiveLock",
];

/// A relation as the catalog shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rel {
    pub name: String,
    pub relfilenode: i64,
    pub kind: String,
}

/// One lock the statement took.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Lock {
    pub relation: String,
    pub mode: String,
}

/// What one applied statement did.
#[derive(Debug, Clone, Serialize)]
pub struct Applied {
    pub migration: String,
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub sql: String,
    pub duration_ms: f64,
    pub rows: u64,
    pub locks: Vec<Lock>,
    /// Tables (and materialized views) whose storage was rewritten.
    pub rewrites: Vec<String>,
    /// Indexes rebuilt (with a rewrite, or REINDEX).
    pub rebuilt_indexes: Vec<String>,
    /// How long its write-blocking locks were held: until COMMIT when in a transaction.
    pub lock_held_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip)]
    pub heavy: bool,
    #[serde(skip)]
    pub started: Option<Instant>,
    pub in_transaction: bool,
}

const RELATIONS: &str = "SELECT c.oid::int8, n.nspname || '.' || c.relname, c.relfilenode::int8, c.relkind::text \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE c.relkind IN ('r', 'm', 'p', 'i') \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'";

/// oid → relation, as `client` sees it (inside its own transaction, uncommitted changes too).
pub async fn relations(target: &Target, client: &Client) -> Result<BTreeMap<i64, Rel>> {
    let rows = target
        .within("reading pg_class", client.query(RELATIONS, &[]))
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let name: String = r.get(1);
            (
                r.get::<_, i64>(0),
                Rel {
                    name: name
                        .strip_prefix("public.")
                        .map_or(name.clone(), str::to_owned),
                    relfilenode: r.get(2),
                    kind: r.get(3),
                },
            )
        })
        .collect())
}

const LOCKS: &str = "SELECT n.nspname || '.' || c.relname, l.mode \
     FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE l.pid = $1 AND l.locktype = 'relation' AND l.granted \
       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'";

const WAITING: &str = "SELECT pid, query FROM pg_stat_activity \
     WHERE pid = ANY($1) AND wait_event_type = 'Lock'";

/// The observer's view of the migration backend.
pub struct Observer<'a> {
    pub target: &'a Target,
    pub client: &'a Client,
    pub pid: i32,
    pub load: Option<&'a Load>,
}

impl Observer<'_> {
    /// One look at the migration backend's locks and the load sessions' waits. An error
    /// only when the observer's own connection is gone or unanswered: the server is.
    async fn sample(&self, seen: &mut BTreeSet<Lock>) -> Result<()> {
        let rows = self
            .target
            .within("watching pg_locks", self.client.query(LOCKS, &[&self.pid]))
            .await;
        match rows {
            Ok(rows) => {
                for r in rows {
                    let relation: String = r.get(0);
                    seen.insert(Lock {
                        relation: relation
                            .strip_prefix("public.")
                            .map_or(relation.clone(), str::to_owned),
                        mode: r.get(1),
                    });
                }
            }
            Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => return Err(e),
            Err(_) => {}
        }
        if let Some(load) = self.load {
            let rows = self
                .target
                .within(
                    "watching pg_stat_activity",
                    self.client.query(WAITING, &[&load.pids]),
                )
                .await;
            match rows {
                Ok(rows) => {
                    let waiting: Vec<(i32, String)> =
                        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
                    if !waiting.is_empty() {
                        load.flag(&waiting);
                    }
                }
                Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => return Err(e),
                Err(_) => {}
            }
        }
        Ok(())
    }
}

/// How one statement ended.
pub enum Outcome {
    /// It ran to completion.
    Done,
    /// PostgreSQL refused it (its message and SQLSTATE): the migration's fault.
    Refused(tokio_postgres::Error),
    /// No verdict on the statement: the connection was lost, or the server stopped answering
    /// (the statement itself, or the observer) within its deadline.
    Gone(Error),
}

/// What one executed statement did.
pub struct Executed {
    pub rows: u64,
    pub elapsed: Duration,
    /// Locks seen during and right after it.
    pub locks: BTreeSet<Lock>,
    pub outcome: Outcome,
}

/// Runs one statement on `mc`, sampling locks from the observer until it returns. The client
/// waits at most `limit` (the server's statement_timeout should end it first; this is for a
/// server that stopped answering), and stops as soon as the observer gets no answer.
pub async fn execute(
    target: &Target,
    mc: &Client,
    obs: &Observer<'_>,
    sql: &str,
    limit: Duration,
    limit_text: &str,
) -> Executed {
    let mut seen = BTreeSet::new();
    let started = Instant::now();
    let exec = mc.simple_query(sql);
    tokio::pin!(exec);
    let deadline = tokio::time::sleep(limit);
    tokio::pin!(deadline);
    let what = || {
        format!(
            "the statement {:?}",
            sql.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(60)
                .collect::<String>()
        )
    };
    let result = loop {
        tokio::select! {
            r = &mut exec => break Ok(r),
            () = &mut deadline => break Err(Error::Timeout {
                server: target.server.clone(),
                what: what(),
                limit: limit_text.to_owned(),
            }),
            r = async {
                let r = obs.sample(&mut seen).await;
                tokio::time::sleep(Duration::from_millis(1)).await;
                r
            } => if let Err(e) = r { break Err(e) },
        }
    };
    let elapsed = started.elapsed();
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            return Executed {
                rows: 0,
                elapsed,
                locks: seen,
                outcome: Outcome::Gone(e),
            };
        }
    };
    // Locks taken inside a transaction are still held: one more look catches short statements.
    let last_look = obs.sample(&mut seen).await;
    let outcome = match (result, last_look) {
        (Err(e), _) if crate::pg::is_lost(&e) => Outcome::Gone(target.error(what(), &e)),
        (Err(e), _) => Outcome::Refused(e),
        (Ok(_), Err(e)) => Outcome::Gone(e),
        (Ok(messages), Ok(())) => {
            let rows = messages
                .iter()
                .map(|m| match m {
                    SimpleQueryMessage::CommandComplete(n) => *n,
                    _ => 0,
                })
                .sum();
            return Executed {
                rows,
                elapsed,
                locks: seen,
                outcome: Outcome::Done,
            };
        }
    };
    Executed {
        rows: 0,
        elapsed,
        locks: seen,
        outcome,
    }
}

/// Relations whose storage changed between two catalog snapshots (present in both).
pub fn rewritten(
    before: &BTreeMap<i64, Rel>,
    after: &BTreeMap<i64, Rel>,
) -> (Vec<String>, Vec<String>) {
    let mut tables = Vec::new();
    let mut indexes = Vec::new();
    for (oid, b) in before {
        if let Some(a) = after.get(oid)
            && a.relfilenode != b.relfilenode
            && b.relfilenode != 0
        {
            if b.kind == "i" {
                indexes.push(a.name.clone());
            } else {
                tables.push(a.name.clone());
            }
        }
    }
    (tables, indexes)
}
