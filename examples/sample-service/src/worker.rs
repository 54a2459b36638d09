//! The ingest worker: a consumer of the `events` stream in a consumer group. Each entry is
//! written to `events_sink` (unique on `event_id`, so a redelivery is a no-op) and then
//! acknowledged (`XACK`) — in that order, so a crash in between means a redelivery, never a
//! loss. A failed entry stays pending; `XAUTOCLAIM` takes it (or a dead consumer's entries)
//! again once it has been idle `--claim-idle`, and when its own data is at fault (see
//! [`SinkError`]) after `--max-attempts` deliveries it goes to the dead-letter stream with its original fields plus `error`, `attempts` and
//! `origin_id`, acknowledged in the same MULTI.
//!
//! Test-only: `SAMPLE_SERVICE_CRASH_AFTER_SINK=1` aborts the process right after a sink
//! write committed and before its XACK — the crash the exactly-once test needs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamInfoGroupsReply, StreamPendingCountReply, StreamReadReply,
};
use tokio::sync::watch;

use crate::db::Pool;
use crate::events::Event;
use crate::faults::Faults;
use crate::metrics::Metrics;
use crate::migrate::pg_message;

/// How long one XREADGROUP blocks waiting for new entries.
const BLOCK: Duration = Duration::from_millis(500);
/// How often the lag gauges are refreshed.
const GAUGE_EVERY: Duration = Duration::from_secs(1);

pub struct Worker {
    pub pool: Pool,
    pub redis: ConnectionManager,
    pub metrics: Arc<Metrics>,
    pub faults: Faults,
    pub stream: String,
    pub dlq: String,
    pub group: String,
    pub consumer: String,
    pub max_attempts: u32,
    pub claim_idle: Duration,
    pub batch: u32,
    pub crash_after_sink: bool,
}

/// Why a sink write failed. Only the entry's own fault (its data: SQLSTATE classes 22 and
/// 23) counts towards dead-lettering; an unreachable database, a missing table or a
/// timeout is the sink's fault, and the entry waits for the sink to heal however often it
/// was delivered.
struct SinkError {
    message: String,
    permanent: bool,
}

impl From<tokio_postgres::Error> for SinkError {
    fn from(e: tokio_postgres::Error) -> Self {
        let permanent = e
            .code()
            .is_some_and(|c| c.code().starts_with("22") || c.code().starts_with("23"));
        SinkError {
            message: pg_message(&e),
            permanent,
        }
    }
}

/// What happened to one entry.
enum Outcome {
    Written,
    Duplicate,
    Failed,
    DeadLettered,
}

/// Creates the consumer group (from the stream's start, creating the stream) unless it exists.
pub async fn ensure_group(
    redis: &mut ConnectionManager,
    stream: &str,
    group: &str,
) -> redis::RedisResult<()> {
    let r: redis::RedisResult<()> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(redis)
        .await;
    match r {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

impl Worker {
    /// Runs until shutdown; a batch in progress is finished first.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut claim_cursor = "0-0".to_owned();
        let mut gauges_at = Instant::now() - GAUGE_EVERY;
        loop {
            if *shutdown.borrow() {
                tracing::info!("worker: stopped after its last batch");
                return;
            }
            if gauges_at.elapsed() >= GAUGE_EVERY {
                self.refresh_gauges().await;
                gauges_at = Instant::now();
            }
            let (stopped, _) = self.faults.consumer();
            if stopped {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            // 1. Entries idle too long: ours that failed, or a dead consumer's.
            match self.autoclaim(&claim_cursor).await {
                Ok((next, entries)) => {
                    claim_cursor = next;
                    if !entries.is_empty() {
                        let ids: Vec<String> = entries.iter().map(|e| e.id.clone()).collect();
                        let counts = self.delivery_counts(&ids).await;
                        for (e, attempts) in entries.into_iter().zip(counts) {
                            self.handle(e, attempts).await;
                        }
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!("worker: XAUTOCLAIM: {e}");
                    self.pause(&mut shutdown).await;
                    continue;
                }
            }
            // 2. New entries.
            let mut cmd = redis::cmd("XREADGROUP");
            cmd.arg("GROUP").arg(&self.group).arg(&self.consumer);
            cmd.arg("COUNT").arg(self.batch);
            cmd.arg("BLOCK")
                .arg(u64::try_from(BLOCK.as_millis()).unwrap_or(500));
            cmd.arg("STREAMS").arg(&self.stream).arg(">");
            let read: redis::RedisResult<Option<StreamReadReply>> = tokio::select! {
                r = cmd.query_async(&mut self.redis) => r,
                _ = shutdown.changed() => continue,
            };
            match read {
                Ok(Some(reply)) => {
                    for key in reply.keys {
                        for e in key.ids {
                            self.handle(e, 1).await;
                        }
                    }
                }
                Ok(None) => {}
                Err(e) if e.code() == Some("NOGROUP") => {
                    // The stream or group was deleted (a test, an operator): recreate it.
                    if let Err(e) = ensure_group(&mut self.redis, &self.stream, &self.group).await {
                        tracing::warn!("worker: recreating the group: {e}");
                        self.pause(&mut shutdown).await;
                    }
                }
                Err(e) => {
                    tracing::warn!("worker: XREADGROUP: {e}");
                    self.pause(&mut shutdown).await;
                }
            }
        }
    }

    async fn pause(&self, shutdown: &mut watch::Receiver<bool>) {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.changed() => {}
        }
    }

    async fn autoclaim(&mut self, cursor: &str) -> redis::RedisResult<(String, Vec<StreamId>)> {
        let r: StreamAutoClaimReply = redis::cmd("XAUTOCLAIM")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&self.consumer)
            .arg(u64::try_from(self.claim_idle.as_millis()).unwrap_or(u64::MAX))
            .arg(cursor)
            .arg("COUNT")
            .arg(self.batch)
            .query_async(&mut self.redis)
            .await?;
        Ok((r.next_stream_id, r.claimed))
    }

    /// Each entry's delivery count (XAUTOCLAIM just counted this delivery); 1 if unknown.
    async fn delivery_counts(&mut self, ids: &[String]) -> Vec<u32> {
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.cmd("XPENDING")
                .arg(&self.stream)
                .arg(&self.group)
                .arg(id)
                .arg(id)
                .arg(1);
        }
        match pipe
            .query_async::<Vec<StreamPendingCountReply>>(&mut self.redis)
            .await
        {
            Ok(replies) => replies
                .into_iter()
                .map(|r| {
                    r.ids
                        .first()
                        .map_or(1, |p| u32::try_from(p.times_delivered).unwrap_or(u32::MAX))
                })
                .collect(),
            Err(e) => {
                tracing::warn!("worker: XPENDING: {e}");
                vec![1; ids.len()]
            }
        }
    }

    async fn handle(&mut self, entry: StreamId, attempts: u32) {
        let (_, delay) = self.faults.consumer();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let ev = Event::from_fields(entry.id.clone(), &entry.map);
        let outcome = match self.sink(&ev).await {
            Ok(inserted) => {
                if self.crash_after_sink {
                    tracing::error!(
                        "SAMPLE_SERVICE_CRASH_AFTER_SINK: aborting after the sink write of {} and before its XACK",
                        ev.id
                    );
                    std::process::abort();
                }
                match self.ack(&ev.id).await {
                    Ok(()) if inserted => Outcome::Written,
                    Ok(()) => Outcome::Duplicate,
                    // Not acknowledged: it is redelivered and then found in the sink.
                    Err(e) => {
                        tracing::warn!("worker: XACK {}: {e}", ev.id);
                        if inserted {
                            Outcome::Written
                        } else {
                            Outcome::Duplicate
                        }
                    }
                }
            }
            Err(error) if error.permanent && attempts >= self.max_attempts => {
                let error = error.message;
                match self.dead_letter(&entry, &error, attempts).await {
                    Ok(()) => {
                        tracing::warn!(
                            "worker: {} dead-lettered after {attempts} attempts: {error}",
                            ev.id
                        );
                        Outcome::DeadLettered
                    }
                    Err(e) => {
                        tracing::warn!("worker: dead-lettering {}: {e}", ev.id);
                        Outcome::Failed
                    }
                }
            }
            Err(error) => {
                tracing::debug!(
                    "worker: {} attempt {attempts} failed: {}",
                    ev.id,
                    error.message
                );
                Outcome::Failed
            }
        };
        self.metrics.processed(match outcome {
            Outcome::Written => "written",
            Outcome::Duplicate => "duplicate",
            Outcome::Failed => "failed",
            Outcome::DeadLettered => "dead_lettered",
        });
    }

    /// Writes the event to the sink; false when its event_id was already there.
    async fn sink(&self, ev: &Event) -> Result<bool, SinkError> {
        let mut db = self.pool.get().await.map_err(SinkError::from)?;
        let insert = db
            .prepared(
                "INSERT INTO events_sink (event_id, tenant, type, occurred_at, payload, stream_id) \
                 VALUES ($1::text::uuid, $2, $3, $4::text::timestamptz, $5::text::jsonb, $6) \
                 ON CONFLICT (event_id) DO NOTHING",
            )
            .await
            .map_err(SinkError::from)?;
        let n = db
            .execute(
                &insert,
                &[
                    &ev.event_id,
                    &ev.tenant,
                    &ev.kind,
                    &ev.occurred_at,
                    &ev.payload,
                    &ev.id,
                ],
            )
            .await
            .map_err(SinkError::from)?;
        Ok(n == 1)
    }

    async fn ack(&mut self, id: &str) -> redis::RedisResult<()> {
        redis::cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(id)
            .query_async::<i64>(&mut self.redis)
            .await
            .map(|_| ())
    }

    /// XADD to the DLQ (original fields + error, attempts, origin_id) and XACK, atomically.
    async fn dead_letter(
        &mut self,
        entry: &StreamId,
        error: &str,
        attempts: u32,
    ) -> redis::RedisResult<()> {
        let mut fields: Vec<(String, Vec<u8>)> = Vec::new();
        let mut names: Vec<&String> = entry.map.keys().collect();
        names.sort();
        for k in names {
            if matches!(k.as_str(), "error" | "attempts" | "origin_id") {
                continue;
            }
            if let Some(v) = entry.map.get(k)
                && let Ok(bytes) = redis::from_redis_value_ref::<Vec<u8>>(v)
            {
                fields.push((k.clone(), bytes));
            }
        }
        fields.push(("error".into(), error.as_bytes().to_vec()));
        fields.push(("attempts".into(), attempts.to_string().into_bytes()));
        fields.push(("origin_id".into(), entry.id.as_bytes().to_vec()));
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(&self.dlq)
            .arg("*")
            .arg(&fields)
            .ignore()
            .cmd("XACK")
            .arg(&self.stream)
            .arg(&self.group)
            .arg(&entry.id)
            .ignore();
        pipe.query_async::<()>(&mut self.redis).await
    }

    async fn refresh_gauges(&mut self) {
        let r: redis::RedisResult<StreamInfoGroupsReply> = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(&self.stream)
            .query_async(&mut self.redis)
            .await;
        if let Ok(r) = r
            && let Some(g) = r.groups.iter().find(|g| g.name == self.group)
        {
            self.metrics
                .consumer_lag
                .set(g.lag.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX)));
            self.metrics
                .consumer_pending
                .set(i64::try_from(g.pending).unwrap_or(i64::MAX));
        }
    }
}
