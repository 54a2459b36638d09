//! Consumer-group health of a stream: entries not yet delivered (Redis 7's `lag`, counted
//! from ids when Redis gives none), pending entries, the age of the oldest of each (stream
//! ids are the server's milliseconds), idle and dead consumers; judged against budgets.

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse::{Check, ReportBuilder, Section, Status};
use redis::Value;
use serde_json::json;

use crate::checks::CheckId;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::stream::{self, StreamId, text};

/// The budgets of `lag`.
#[derive(Debug, Clone)]
pub struct Budgets {
    pub max_lag: Duration,
    pub max_pending: Option<u64>,
    pub max_pending_age: Duration,
    pub max_undelivered: Option<u64>,
    pub idle_after: Duration,
    pub dead_after: Duration,
}

/// One consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    pub name: String,
    pub pending: u64,
    pub idle_ms: u64,
}

/// What a group's health looks like right now.
#[derive(Debug, Clone)]
pub struct GroupLag {
    pub stream: String,
    pub group: String,
    pub length: u64,
    pub last_delivered: StreamId,
    pub undelivered: u64,
    /// `redis` when `XINFO GROUPS` gave the lag, `counted` when counted from ids.
    pub undelivered_source: &'static str,
    pub pending: u64,
    pub oldest_undelivered_ms: Option<u64>,
    pub oldest_pending_ms: Option<u64>,
    pub consumers: Vec<Consumer>,
    pub now_ms: u64,
}

/// A reply that is a map (RESP3) or a flat key/value array (RESP2), as a map.
pub fn as_map(v: &Value) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    match v {
        Value::Map(pairs) => {
            for (k, v) in pairs {
                if let Some(k) = text(k) {
                    m.insert(k, v.clone());
                }
            }
        }
        Value::Array(items) => {
            for c in items.chunks(2) {
                if let [k, v] = c
                    && let Some(k) = text(k)
                {
                    m.insert(k, v.clone());
                }
            }
        }
        _ => {}
    }
    m
}

fn int(m: &BTreeMap<String, Value>, k: &str) -> Option<u64> {
    match m.get(k)? {
        Value::Int(i) => u64::try_from(*i).ok(),
        other => text(other)?.parse().ok(),
    }
}

/// The group's state; `Error::NoStream` / `Error::NoGroup` when either is missing.
pub async fn group_lag(conn: &mut Conn, stream: &str, group: &str) -> Result<GroupLag> {
    conn.require_stream(stream).await?;
    let groups = conn
        .raw(
            "XINFO GROUPS",
            redis::cmd("XINFO").arg("GROUPS").arg(stream),
        )
        .await?;
    let Value::Array(groups) = groups else {
        return Err(no_group(conn, stream, group));
    };
    let info = groups
        .iter()
        .map(as_map)
        .find(|m| m.get("name").and_then(text).as_deref() == Some(group))
        .ok_or_else(|| no_group(conn, stream, group))?;
    let now_ms = conn.now_ms().await?;
    let length: u64 = conn.query("XLEN", redis::cmd("XLEN").arg(stream)).await?;
    let last_delivered = info
        .get("last-delivered-id")
        .and_then(text)
        .and_then(|s| StreamId::parse(&s))
        .unwrap_or(StreamId::MIN);
    let pending = int(&info, "pending").unwrap_or(0);
    let (undelivered, undelivered_source) = match int(&info, "lag") {
        Some(n) => (n, "redis"),
        None => (count_after(conn, stream, last_delivered).await?, "counted"),
    };
    let first_undelivered =
        stream::range(conn, stream, last_delivered.next(), StreamId::MAX, 1).await?;
    let oldest_undelivered_ms = first_undelivered
        .first()
        .map(|e| now_ms.saturating_sub(e.id.ms));
    let summary = conn
        .raw("XPENDING", redis::cmd("XPENDING").arg(stream).arg(group))
        .await?;
    let oldest_pending_ms = match &summary {
        Value::Array(a) => a
            .get(1)
            .and_then(text)
            .and_then(|s| StreamId::parse(&s))
            .map(|id| now_ms.saturating_sub(id.ms)),
        _ => None,
    };
    let consumers = consumers(conn, stream, group).await?;
    Ok(GroupLag {
        stream: stream.to_owned(),
        group: group.to_owned(),
        length,
        last_delivered,
        undelivered,
        undelivered_source,
        pending,
        oldest_undelivered_ms,
        oldest_pending_ms,
        consumers,
        now_ms,
    })
}

/// Only the number of undelivered entries (for replay's backpressure: one round trip).
pub async fn undelivered(conn: &mut Conn, stream: &str, group: &str) -> Result<u64> {
    let groups = conn
        .raw(
            "XINFO GROUPS",
            redis::cmd("XINFO").arg("GROUPS").arg(stream),
        )
        .await?;
    let Value::Array(groups) = groups else {
        return Err(no_group(conn, stream, group));
    };
    let info = groups
        .iter()
        .map(as_map)
        .find(|m| m.get("name").and_then(text).as_deref() == Some(group))
        .ok_or_else(|| no_group(conn, stream, group))?;
    if let Some(n) = int(&info, "lag") {
        return Ok(n);
    }
    let last = info
        .get("last-delivered-id")
        .and_then(text)
        .and_then(|s| StreamId::parse(&s))
        .unwrap_or(StreamId::MIN);
    count_after(conn, stream, last).await
}

fn no_group(conn: &Conn, stream: &str, group: &str) -> Error {
    Error::NoGroup {
        server: conn.server().to_owned(),
        stream: stream.to_owned(),
        group: group.to_owned(),
    }
}

/// Entries after `last`, counted by paging through ids (when Redis cannot give the lag,
/// e.g. after XDEL or XTRIM); stops counting at a million and says "at least".
async fn count_after(conn: &mut Conn, stream: &str, last: StreamId) -> Result<u64> {
    const CAP: u64 = 1_000_000;
    let mut n = 0u64;
    let mut from = last.next();
    loop {
        let page = stream::range(conn, stream, from, StreamId::MAX, 10_000).await?;
        let Some(tail) = page.last() else { break };
        n += page.len() as u64;
        from = tail.id.next();
        if n >= CAP {
            tracing::warn!("{stream}: counted {n}+ undelivered entries; stopped counting");
            break;
        }
    }
    Ok(n)
}

async fn consumers(conn: &mut Conn, stream: &str, group: &str) -> Result<Vec<Consumer>> {
    let v = conn
        .raw(
            "XINFO CONSUMERS",
            redis::cmd("XINFO").arg("CONSUMERS").arg(stream).arg(group),
        )
        .await?;
    let Value::Array(items) = v else {
        return Ok(Vec::new());
    };
    Ok(items
        .iter()
        .map(as_map)
        .map(|m| Consumer {
            name: m.get("name").and_then(text).unwrap_or_default(),
            pending: int(&m, "pending").unwrap_or(0),
            // Redis 7.2 splits `idle` (since the last attempt) from `inactive` (since the
            // last success); the longer one is what "dead" means here.
            idle_ms: int(&m, "inactive")
                .into_iter()
                .chain(int(&m, "idle"))
                .max()
                .unwrap_or(0),
        })
        .collect())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn secs(ms: u64) -> String {
    gatehouse::duration::format_duration(Duration::from_millis(ms))
}

/// Adds the checks of one group's health to `b` and returns its `data` entry.
pub fn judge(g: &GroupLag, budgets: &Budgets, b: &mut ReportBuilder) -> serde_json::Value {
    let at = format!("{} / {}", g.stream, g.group);
    let undelivered_age = g.oldest_undelivered_ms.unwrap_or(0);
    b.check(
        Check::at_most(
            CheckId::OldestUndelivered,
            undelivered_age as f64 / 1000.0,
            ms(budgets.max_lag) / 1000.0,
        )
        .with_message(match g.oldest_undelivered_ms {
            Some(a) => format!(
                "{at}: oldest undelivered entry is {} old ({} undelivered; budget {})",
                secs(a),
                g.undelivered,
                secs(budgets.max_lag.as_millis() as u64)
            ),
            None => format!("{at}: every entry has been delivered"),
        }),
    );
    b.check(match budgets.max_undelivered {
        Some(max) => Check::at_most(CheckId::Undelivered, g.undelivered as f64, max as f64)
            .with_message(format!(
                "{at}: {} undelivered ({})",
                g.undelivered, g.undelivered_source
            )),
        None => Check::new(CheckId::Undelivered, Status::Ok)
            .with_observed(g.undelivered)
            .with_message(format!(
                "{at}: {} undelivered ({}); no --max-undelivered budget",
                g.undelivered, g.undelivered_source
            )),
    });
    b.check(match budgets.max_pending {
        Some(max) => Check::at_most(CheckId::Pending, g.pending as f64, max as f64)
            .with_message(format!("{at}: {} pending", g.pending)),
        None => Check::new(CheckId::Pending, Status::Ok)
            .with_observed(g.pending)
            .with_message(format!(
                "{at}: {} pending; no --max-pending budget",
                g.pending
            )),
    });
    let pending_age = g.oldest_pending_ms.unwrap_or(0);
    b.check(
        Check::at_most(
            CheckId::OldestPending,
            pending_age as f64 / 1000.0,
            ms(budgets.max_pending_age) / 1000.0,
        )
        .with_message(match g.oldest_pending_ms {
            Some(a) => format!("{at}: oldest pending entry is {} old", secs(a)),
            None => format!("{at}: nothing pending"),
        }),
    );
    let dead_after = budgets.dead_after.as_millis() as u64;
    let idle_after = budgets.idle_after.as_millis() as u64;
    let state = |c: &Consumer| {
        if c.idle_ms >= dead_after && c.pending > 0 {
            "dead"
        } else if c.idle_ms >= idle_after {
            "idle"
        } else {
            "active"
        }
    };
    let dead: Vec<&Consumer> = g.consumers.iter().filter(|c| state(c) == "dead").collect();
    let dead_pending: u64 = dead.iter().map(|c| c.pending).sum();
    b.check(
        Check::at_most(CheckId::DeadConsumers, dead.len() as f64, 0.0).with_message(
            if dead.is_empty() {
                format!(
                    "{at}: no consumer idle over {} holds pending entries",
                    secs(dead_after)
                )
            } else {
                format!(
                    "{at}: {} dead consumer(s) ({}) hold {dead_pending} pending entries",
                    dead.len(),
                    dead.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        ),
    );
    let mut s = Section::new(
        format!("Consumers of {at}"),
        &["consumer", "state", "pending", "idle"],
    );
    for c in &g.consumers {
        s.row(vec![
            c.name.clone(),
            state(c).to_owned(),
            c.pending.to_string(),
            secs(c.idle_ms),
        ]);
    }
    b.section(s);
    json!({
        "stream": g.stream,
        "group": g.group,
        "length": g.length,
        "last_delivered_id": g.last_delivered.to_string(),
        "undelivered": g.undelivered,
        "undelivered_source": g.undelivered_source,
        "pending": g.pending,
        "oldest_undelivered_age_ms": g.oldest_undelivered_ms,
        "oldest_pending_age_ms": g.oldest_pending_ms,
        "server_time_ms": g.now_ms,
        "consumers": g.consumers.iter().map(|c| json!({
            "name": c.name,
            "pending": c.pending,
            "idle_ms": c.idle_ms,
            "state": state(c),
        })).collect::<Vec<_>>(),
    })
}
