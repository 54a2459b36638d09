//! Re-applies a tenant's time window from a stream to the PostgreSQL sink with exactly-once
//! effect: entries are read in id order in batches; each batch's rows (`ON CONFLICT DO
//! NOTHING` on the idempotency key) and the checkpoint (the last id read) commit in one
//! transaction, so an interrupted replay resumes where the sink is and a repeated one writes
//! nothing. With a live group to watch it pauses while that group's lag is too high.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use gatehouse::{Check, ReportBuilder, Status};
use serde_json::json;

use crate::checks::CheckId;
use crate::conn::{Conn, RedisTarget};
use crate::error::{Error, Result};
use crate::mapping::Mapping;
use crate::pg::PgTarget;
use crate::sink::{Method, Sink};
use crate::stream::{self, Entry, StreamId, Window};

/// The live group replay yields to.
#[derive(Debug, Clone)]
pub struct Watch {
    pub stream: String,
    pub group: String,
    pub pause_above: u64,
}

/// A checked `replay` (and, without the write-side fields, `verify`).
#[derive(Debug, Clone)]
pub struct Options {
    pub redis: RedisTarget,
    pub pg: PgTarget,
    pub stream: String,
    pub tenant: String,
    pub window: Window,
    pub mapping: Mapping,
    pub batch: u32,
    /// Entries per second, at most.
    pub rate: Option<f64>,
    pub watch: Option<Watch>,
    pub method: Method,
    pub restart: bool,
}

/// The window flags as typed, for [`Options::check`].
#[derive(Debug, Clone)]
pub struct WindowInput<'a> {
    pub redis_url: &'a str,
    pub connect_timeout: Duration,
    pub query_timeout: Duration,
    pub stream: &'a str,
    pub tenant: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub sink: &'a str,
    pub sink_table: Option<&'a str>,
    pub mapping: Option<&'a std::path::Path>,
    pub batch: u32,
}

impl Options {
    /// Checks a window's flags (for `replay` and `verify`): everything that can be wrong
    /// with them is found here, before any connection. Write-side fields start off.
    pub fn check(w: &WindowInput<'_>) -> Result<Options> {
        let window = Window::parse(w.from, w.to)?;
        if w.batch == 0 {
            return Err(Error::Usage {
                flag: "batch",
                value: "0".to_owned(),
                message: "must be at least 1".to_owned(),
            });
        }
        let redis = RedisTarget::parse(w.redis_url, w.connect_timeout, w.query_timeout)?;
        let pg = PgTarget::parse(w.sink, w.connect_timeout, w.query_timeout)?;
        let mapping = Mapping::load(w.mapping, w.sink_table)?;
        Ok(Options {
            redis,
            pg,
            stream: w.stream.to_owned(),
            tenant: w.tenant.to_owned(),
            window,
            mapping,
            batch: w.batch,
            rate: None,
            watch: None,
            // As --method's default: the faster writer in release builds (docs, Figures).
            method: Method::Copy,
            restart: false,
        })
    }

    /// The checkpoint's name: the window, the stream, the tenant and the table.
    pub fn checkpoint_name(&self) -> String {
        format!(
            "{}|{}|{}..{}|{}",
            self.stream, self.tenant, self.window.from, self.window.to, self.mapping.table
        )
    }
}

/// Backpressure bookkeeping.
#[derive(Debug, Default)]
struct Pauses {
    count: u64,
    paused: Duration,
    max_live_lag: u64,
    samples: Vec<(u64, u64)>,
}

/// Everything is checked (stream, group, sink shape) before the first write.
pub async fn replay(opts: &Options, b: &mut ReportBuilder) -> Result<()> {
    let started = Instant::now();
    let mut redis = opts.redis.connect().await?;
    redis.require_stream(&opts.stream).await?;
    if let Some(w) = &opts.watch {
        crate::lag::undelivered(&mut redis, &w.stream, &w.group).await?;
    }
    let mut client = opts.pg.connect().await?;
    let sink = Sink::open(&client, opts.pg.clone(), opts.mapping.clone()).await?;
    let name = opts.checkpoint_name();
    let mut checkpoint = sink.checkpoint(&client, &name).await?;
    if opts.restart && checkpoint.is_some() {
        sink.reset_checkpoint(&client, &name).await?;
        checkpoint = None;
    }
    let resumed_from = checkpoint;
    if opts.watch.is_none() {
        tracing::info!(
            "no --group: there is no live consumer group to watch, so replay never pauses"
        );
    }
    let mut from = match checkpoint {
        Some(c) if c >= opts.window.from => c.next(),
        _ => opts.window.from,
    };
    let tenant_field = opts.mapping.tenant_field.clone();
    let (mut read, mut matched, mut inserted, mut duplicates, mut batches) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut rejected: Vec<(StreamId, String)> = Vec::new();
    let mut pauses = Pauses::default();
    let mut last_applied = checkpoint;
    let progress = std::io::stderr().is_terminal();
    let stop = stop_signal();
    let pace_start = Instant::now();
    let mut ahead: Option<Vec<Entry>> = None;
    loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Interrupted {
                signal: "SIGINT/SIGTERM",
                done: format!(
                    "{inserted} rows written up to the checkpoint; run the same command again to resume"
                ),
            });
        }
        if let Some(w) = &opts.watch {
            wait_for_live(&mut redis, w, &mut pauses, &stop).await?;
        }
        let page = match ahead.take() {
            Some(p) => p,
            None => {
                stream::range(&mut redis, &opts.stream, from, opts.window.to, opts.batch).await?
            }
        };
        let Some(last) = page.last().map(|e| e.id) else {
            break;
        };
        read += page.len() as u64;
        let mine: Vec<Entry> = page
            .into_iter()
            .filter(|e| e.get(&tenant_field).as_deref() == Some(opts.tenant.as_str()))
            .collect();
        matched += mine.len() as u64;
        from = last.next();
        let more = last < opts.window.to;
        crate::fault::point("replay-before-batch");
        // The next page is read from Redis while this batch commits in PostgreSQL; with a
        // live group to watch, it is read after the wait instead, so it is never stale.
        let prefetch = async {
            if more && opts.watch.is_none() {
                stream::range(&mut redis, &opts.stream, from, opts.window.to, opts.batch)
                    .await
                    .map(Some)
            } else {
                Ok(None)
            }
        };
        let (applied, next) = tokio::join!(
            sink.apply(&mut client, opts.method, &mine, &name, last),
            prefetch
        );
        let applied = applied?;
        ahead = next?;
        crate::fault::point("replay-after-batch");
        inserted += applied.inserted;
        duplicates += applied.duplicates;
        rejected.extend(applied.rejected);
        batches += 1;
        last_applied = Some(last);
        if progress {
            progress_line(read, inserted, &last);
        }
        if let Some(rate) = opts.rate {
            let due = Duration::from_secs_f64(matched as f64 / rate);
            if let Some(wait) = due.checked_sub(pace_start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        if !more {
            break;
        }
    }
    if progress {
        progress_done();
    }
    let elapsed = started.elapsed();
    let rate = inserted as f64 / elapsed.as_secs_f64().max(1e-9);
    b.check(
        Check::at_most(CheckId::ReplayRejected, rejected.len() as f64, 0.0).with_message(
            if rejected.is_empty() {
                "the sink took every entry of the window".to_owned()
            } else {
                format!(
                    "the sink refused {} entr{} (first: {} {})",
                    rejected.len(),
                    if rejected.len() == 1 { "y" } else { "ies" },
                    rejected[0].0,
                    rejected[0].1
                )
            },
        ),
    );
    b.check(match &opts.watch {
        None => Check::skip(
            CheckId::Backpressure,
            "no --group: there was no live consumer group to watch",
        ),
        Some(w) => Check::new(CheckId::Backpressure, Status::Ok)
            .with_observed(pauses.max_live_lag)
            .with_limit(w.pause_above)
            .with_message(format!(
                "paused {} time(s) for {} while {} / {} had more than {} undelivered (max seen {})",
                pauses.count,
                gatehouse::duration::format_duration(pauses.paused),
                w.stream,
                w.group,
                w.pause_above,
                pauses.max_live_lag
            )),
    });
    b.summary(format!(
        "{} / {}: {matched} entries of the window, {inserted} written, {duplicates} already there, {} refused; {:.0} rows/s",
        opts.stream,
        opts.tenant,
        rejected.len(),
        rate
    ));
    b.data(json!({
        "stream": opts.stream,
        "tenant": opts.tenant,
        "window": window_json(&opts.window),
        "sink": {"server": opts.pg.server, "table": opts.mapping.table, "key": opts.mapping.key},
        "method": match opts.method { Method::Insert => "insert", Method::Copy => "copy" },
        "checkpoint": {
            "name": name,
            "resumed_from": resumed_from.map(|c| c.to_string()),
            "last_id": last_applied.map(|c| c.to_string()),
        },
        "read": read,
        "matched": matched,
        "inserted": inserted,
        "duplicates": duplicates,
        "rejected": rejected.iter().take(100).map(|(id, why)| json!({"id": id.to_string(), "error": why})).collect::<Vec<_>>(),
        "rejected_count": rejected.len(),
        "batches": batches,
        "elapsed_ms": elapsed.as_millis() as u64,
        "rows_per_second": (rate * 10.0).round() / 10.0,
        "backpressure": opts.watch.as_ref().map(|w| json!({
            "stream": w.stream,
            "group": w.group,
            "pause_above": w.pause_above,
            "pauses": pauses.count,
            "paused_ms": pauses.paused.as_millis() as u64,
            "max_live_lag": pauses.max_live_lag,
            "samples": pauses.samples.iter().map(|(t, l)| json!({"at_ms": t, "live_lag": l})).collect::<Vec<_>>(),
        })),
    }));
    Ok(())
}

pub fn window_json(w: &Window) -> serde_json::Value {
    json!({
        "from": w.from.to_string(),
        "to": if w.to.seq == u64::MAX { format!("{}-*", w.to.ms) } else { w.to.to_string() },
        "from_time": stream::ms_rfc3339(w.from.ms),
        "to_time": stream::ms_rfc3339(w.to.ms),
    })
}

/// Waits while the live group's backlog is above the threshold.
async fn wait_for_live(
    redis: &mut Conn,
    w: &Watch,
    p: &mut Pauses,
    stop: &std::sync::atomic::AtomicBool,
) -> Result<()> {
    let t0 = Instant::now();
    let mut paused = false;
    loop {
        let lag = crate::lag::undelivered(redis, &w.stream, &w.group).await?;
        p.max_live_lag = p.max_live_lag.max(lag);
        if p.samples.len() < 1000 {
            let now = redis.now_ms().await?;
            p.samples.push((now, lag));
        }
        if lag <= w.pause_above {
            break;
        }
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Error::Interrupted {
                signal: "SIGINT/SIGTERM",
                done: format!(
                    "stopped while paused for {} / {}; run the same command again to resume from the checkpoint",
                    w.stream, w.group
                ),
            });
        }
        if !paused {
            paused = true;
            p.count += 1;
            tracing::info!(
                "{} / {} has {lag} undelivered (> {}); replay pauses",
                w.stream,
                w.group,
                w.pause_above
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if paused {
        p.paused += t0.elapsed();
    }
    Ok(())
}

/// A flag raised by SIGINT or SIGTERM: the replay stops between batches (each batch is a
/// transaction, so stopping anywhere is safe; this only makes the stop tidy).
fn stop_signal() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = flag.clone();
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = term => {}
        }
        f.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    flag
}

#[expect(
    clippy::print_stderr,
    reason = "the progress line goes to stderr, on a terminal only"
)]
fn progress_line(read: u64, inserted: u64, last: &StreamId) {
    eprint!("\rreplayctl: {read} entries read, {inserted} written, at {last}   ");
}

#[expect(clippy::print_stderr, reason = "ends the progress line on a terminal")]
fn progress_done() {
    eprintln!();
}
