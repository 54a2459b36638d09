//! `--with-load N`: N sessions that read (`SELECT 1 FROM t LIMIT 1`) and write
//! (`DELETE FROM t WHERE false`, which takes the ROW EXCLUSIVE lock every write takes, and
//! changes nothing) the touched tables in a loop while the migration runs. Each query carries
//! a tag (`/* mg-load N */`) so the observer, which sees sessions waiting on a lock in
//! `pg_stat_activity`, can tell exactly which query was blocked; that query's latency is the
//! blocked time, attributed to the migration statement running when the wait was seen.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

use crate::error::Result;
use crate::pg::{Target, quote_ident};

/// What every session and the observer share.
#[derive(Debug, Default)]
pub struct Shared {
    /// (pid, query tag) seen waiting on a lock → the statement index it was first seen under.
    flagged: BTreeMap<(i32, u64), usize>,
    /// Statement index → (longest blocked ms, blocked queries).
    pub blocked: BTreeMap<usize, (f64, u64)>,
    pub queries: u64,
    pub errors: u64,
}

pub struct Load {
    stop: Arc<AtomicBool>,
    /// The statement the migration is running now (index into the dry run's list).
    pub current: Arc<AtomicUsize>,
    pub shared: Arc<Mutex<Shared>>,
    pub pids: Vec<i32>,
    handles: Vec<JoinHandle<()>>,
}

/// Sessions' summary.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    pub sessions: usize,
    pub queries: u64,
    pub errors: u64,
    pub blocked: BTreeMap<usize, (f64, u64)>,
}

fn quote_table(name: &str) -> String {
    match name.split_once('.') {
        Some((s, t)) => format!("{}.{}", quote_ident(s), quote_ident(t)),
        None => quote_ident(name),
    }
}

/// One load session: reads (odd) or no-op deletes (even) on the touched tables, round
/// robin, until stopped; each query's wait is recorded against the statement flagged.
struct Session {
    client: tokio_postgres::Client,
    /// Quoted, rotated so the sessions spread over the tables.
    tables: Vec<String>,
    writer: bool,
    /// This session's backend.
    pid: i32,
    /// How long one query may wait.
    limit: Duration,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
}

impl Session {
    async fn run(self) {
        let mut seq: u64 = 0;
        let mut gone: HashSet<String> = HashSet::new();
        while !self.stop.load(Ordering::Relaxed) {
            let live: Vec<&String> = self.tables.iter().filter(|t| !gone.contains(*t)).collect();
            if live.is_empty() {
                // Nothing left to load (all dropped or renamed): idle until stopped.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                continue;
            }
            for t in live {
                seq += 1;
                let sql = if self.writer {
                    format!("/* mg-load {seq} */ DELETE FROM {t} WHERE false")
                } else {
                    format!("/* mg-load {seq} */ SELECT 1 FROM {t} LIMIT 1")
                };
                let started = Instant::now();
                let r = tokio::time::timeout(self.limit, self.client.simple_query(&sql)).await;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let failed = match r {
                    Ok(Ok(_)) => None,
                    Ok(Err(e)) => Some(Some(e)),
                    Err(_) => Some(None),
                };
                if let Some(Some(e)) = &failed
                    && e.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE)
                {
                    gone.insert(t.clone());
                }
                let session_over = match &failed {
                    None => false,
                    // A closed connection fails every query at once, without ever
                    // yielding: looping on it would starve the runtime.
                    Some(Some(e)) => crate::pg::is_lost(e),
                    // No answer within the limit: the main connection sees it too.
                    Some(None) => true,
                };
                {
                    let mut s = self
                        .shared
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    s.queries += 1;
                    if failed.is_some() {
                        s.errors += 1;
                    }
                    if let Some(stmt) = s.flagged.remove(&(self.pid, seq)) {
                        let e = s.blocked.entry(stmt).or_insert((0.0, 0));
                        e.0 = e.0.max(ms);
                        e.1 += 1;
                    }
                }
                if session_over {
                    return;
                }
                // One runtime thread: let the migration and the observer run.
                tokio::task::yield_now().await;
                if self.stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        }
    }
}

impl Load {
    /// Starts `sessions` sessions; a load query waits at most `limit` (it may legitimately
    /// wait behind the migration's lock for as long as one statement may run).
    pub async fn start(
        target: &Target,
        tables: &[String],
        sessions: u32,
        limit: Duration,
    ) -> Result<Load> {
        // Built first, so a failure part-way drops it, and its Drop ends the sessions started.
        let mut load = Load {
            stop: Arc::new(AtomicBool::new(false)),
            current: Arc::new(AtomicUsize::new(usize::MAX)),
            shared: Arc::new(Mutex::new(Shared::default())),
            pids: Vec::new(),
            handles: Vec::new(),
        };
        for i in 0..sessions {
            let client = target.connect().await?;
            let pid: i32 = target
                .within(
                    "starting a load session",
                    client.query_one("SELECT pg_backend_pid()", &[]),
                )
                .await?
                .get(0);
            load.pids.push(pid);
            let mut tables: Vec<String> = tables.iter().map(|t| quote_table(t)).collect();
            // Spread the sessions over the tables.
            if !tables.is_empty() {
                let n = tables.len();
                tables.rotate_left(i as usize % n);
            }
            let session = Session {
                client,
                tables,
                writer: i % 2 == 0,
                pid,
                limit,
                stop: Arc::clone(&load.stop),
                shared: Arc::clone(&load.shared),
            };
            load.handles.push(tokio::spawn(session.run()));
        }
        Ok(load)
    }

    /// Marks the queries the observer saw waiting on a lock: `(pid, query text)`.
    pub fn flag(&self, waiting: &[(i32, String)]) {
        let stmt = self.current.load(Ordering::Relaxed);
        let mut s = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (pid, query) in waiting {
            if let Some(seq) = query
                .strip_prefix("/* mg-load ")
                .and_then(|r| r.split_once(' '))
                .and_then(|(n, _)| n.parse::<u64>().ok())
            {
                s.flagged.entry((*pid, seq)).or_insert(stmt);
            }
        }
    }

    pub async fn stop(mut self) -> LoadStats {
        self.stop.store(true, Ordering::Relaxed);
        let sessions = self.handles.len();
        for h in std::mem::take(&mut self.handles) {
            let _ = h.await;
        }
        let s = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        LoadStats {
            sessions,
            queries: s.queries,
            errors: s.errors,
            blocked: s.blocked.clone(),
        }
    }
}

impl Drop for Load {
    /// A run that ends early (Ctrl-C, an error) drops the load without `stop`: the sessions
    /// must end too, or they would keep querying (or spinning on a dropped copy) forever.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in &self.handles {
            h.abort();
        }
    }
}
