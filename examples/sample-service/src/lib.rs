//! `sample-service`: the service under test for Gatehouse's live tools (perf-gate,
//! verify-goldens, replayctl, dr-drill). An example, not a Gatehouse tool: it serves, it
//! does not judge, so it prints no report.
//!
//! Modules, one concern each: `cli` (flags), `db` (pool), `migrate` (schema at start),
//! `api` (shop API, cache-aside), `events` (the stream contract, publishing), `worker`
//! (ingest consumer), `realtime` (SSE, WebSocket), `metrics`, `faults` (knobs), `http`
//! (routers, middleware), `shutdown` (SIGTERM drain).

pub mod api;
pub mod cli;
pub mod db;
pub mod events;
pub mod faults;
pub mod http;
pub mod metrics;
pub mod migrate;
pub mod realtime;
pub mod shutdown;
pub mod state;
pub mod worker;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderValue;
use gatehouse::redact::redact;

use crate::cli::Cli;
use crate::state::{AppState, Settings};

/// How long in-flight requests get to finish after SIGTERM before the process exits anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// How long start-up waits for PostgreSQL or Redis to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the service could not start (exit 2): one line, secrets redacted.
#[derive(Debug)]
pub struct StartError(pub String);

/// Runs the service until SIGTERM/SIGINT; 0 after a clean drain, 2 when it cannot start.
pub fn run(cli: Cli) -> ExitCode {
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&StartError(format!("cannot start the runtime: {e}"))),
    };
    match runtime.block_on(serve(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

#[expect(clippy::print_stderr, reason = "the one error line of a failed start")]
fn fail(e: &StartError) -> ExitCode {
    eprintln!("sample-service: {}", redact(&e.0));
    ExitCode::from(2)
}

fn init_logging(cli: &Cli) {
    let level = if cli.quiet {
        tracing::Level::WARN
    } else {
        match cli.verbose {
            0 => tracing::Level::INFO,
            1 => tracing::Level::DEBUG,
            _ => tracing::Level::TRACE,
        }
    };
    let fmt = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let _ = match cli.log_format {
        cli::LogFormat::Text => fmt.try_init(),
        // Flattened: a request line's `trace_id` is a top-level key a log pipeline indexes.
        cli::LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

async fn serve(cli: Cli) -> Result<(), StartError> {
    let faults = faults::Faults::from_cli(&cli).map_err(StartError)?;
    let version_header = HeaderValue::from_str(&cli.version_label).map_err(|_| {
        StartError(format!(
            "--version-label {:?}: not usable as a header value",
            cli.version_label
        ))
    })?;
    let migrations = migrate::load(cli.migrations.as_deref()).map_err(StartError)?;
    let db_where = redact(&cli.database_url).into_owned();
    let redis_where = redact(&cli.redis_url).into_owned();

    // PostgreSQL: reachable, and the schema up to date.
    let pool = db::Pool::new(&cli.database_url, cli.pool_size)
        .map_err(|e| StartError(format!("--database-url {db_where}: {e}")))?;
    let mut client = tokio::time::timeout(START_TIMEOUT, pool.connect())
        .await
        .map_err(|_| {
            StartError(format!(
                "PostgreSQL at {db_where} did not answer within {}s",
                START_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| {
            StartError(format!(
                "cannot connect to PostgreSQL at {db_where}: {}",
                migrate::pg_message(&e)
            ))
        })?;
    let applied = migrate::apply(&mut client, &migrations)
        .await
        .map_err(|e| StartError(format!("migrating PostgreSQL at {db_where}: {e}")))?;
    drop(client);
    tracing::info!(
        "schema up to date ({} migration(s) applied now)",
        applied.len()
    );

    // Redis: reachable, the consumer group in place.
    let redis_client = redis::Client::open(cli.redis_url.as_str())
        .map_err(|e| StartError(format!("--redis-url {redis_where}: {e}")))?;
    let manager = |response: Duration| {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(response))
            .set_number_of_retries(2);
        redis::aio::ConnectionManager::new_with_config(redis_client.clone(), config)
    };
    let redis_err =
        |e: redis::RedisError| StartError(format!("cannot connect to Redis at {redis_where}: {e}"));
    let redis_timeout = |_| {
        StartError(format!(
            "Redis at {redis_where} did not answer within {}s",
            START_TIMEOUT.as_secs()
        ))
    };
    let mut redis = tokio::time::timeout(START_TIMEOUT, manager(Duration::from_secs(5)))
        .await
        .map_err(redis_timeout)?
        .map_err(redis_err)?;
    worker::ensure_group(&mut redis, &cli.stream, &cli.group)
        .await
        .map_err(|e| {
            StartError(format!(
                "creating consumer group {} on {} at {redis_where}: {e}",
                cli.group, cli.stream
            ))
        })?;
    // Their own connections: a BLOCKing read must not hold up the API's commands.
    let worker_redis = tokio::time::timeout(START_TIMEOUT, manager(Duration::from_secs(10)))
        .await
        .map_err(redis_timeout)?
        .map_err(redis_err)?;
    let mut tail_redis = tokio::time::timeout(START_TIMEOUT, manager(Duration::from_secs(10)))
        .await
        .map_err(redis_timeout)?
        .map_err(redis_err)?;
    let tail_from = realtime::Hub::start_id(&mut tail_redis, &cli.stream)
        .await
        .map_err(|e| {
            StartError(format!(
                "reading stream {} at {redis_where}: {e}",
                cli.stream
            ))
        })?;

    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .map_err(|e| StartError(format!("cannot listen on {}: {e}", cli.listen)))?;
    let admin_listener = tokio::net::TcpListener::bind(cli.admin_listen)
        .await
        .map_err(|e| {
            StartError(format!(
                "cannot listen on {} (admin): {e}",
                cli.admin_listen
            ))
        })?;
    let (_signal_tx, shutdown) = shutdown::install()
        .map_err(|e| StartError(format!("cannot install signal handlers: {e}")))?;

    let metrics = Arc::new(metrics::Metrics::new(&cli.version_label));
    let hub = realtime::Hub::default();
    let st = AppState {
        pool: pool.clone(),
        redis,
        metrics: Arc::clone(&metrics),
        faults: faults.clone(),
        hub: hub.clone(),
        settings: Arc::new(Settings {
            stream: cli.stream.clone(),
            cache_ttl: cli.cache_ttl,
            version_header,
        }),
        shutdown: shutdown.clone(),
    };

    let tail = {
        let (stream, shutdown) = (cli.stream.clone(), shutdown.clone());
        tokio::spawn(async move { hub.tail(tail_redis, stream, tail_from, shutdown).await })
    };
    let consumer = cli.consumer.clone().unwrap_or_else(default_consumer);
    tracing::info!(
        "worker: consumer {consumer} in group {} on {}",
        cli.group,
        cli.stream
    );
    let worker = worker::Worker {
        pool,
        redis: worker_redis,
        metrics,
        faults,
        stream: cli.stream.clone(),
        dlq: cli.dlq.clone(),
        group: cli.group.clone(),
        consumer,
        max_attempts: cli.max_attempts,
        claim_idle: cli.claim_idle,
        batch: cli.batch,
        crash_after_sink: std::env::var_os("SAMPLE_SERVICE_CRASH_AFTER_SINK")
            .is_some_and(|v| v == "1"),
    };
    let worker = tokio::spawn(worker.run(shutdown.clone()));

    let api = axum::serve(listener, http::api_router(st.clone()))
        .with_graceful_shutdown(shutdown::requested(shutdown.clone()));
    let admin = axum::serve(admin_listener, http::admin_router(st))
        .with_graceful_shutdown(shutdown::requested(shutdown.clone()));
    tracing::info!(
        "sample-service {} ({}) listening on {} (admin {})",
        env!("CARGO_PKG_VERSION"),
        cli.version_label,
        cli.listen,
        cli.admin_listen
    );
    let servers = async {
        let (a, b) = tokio::join!(api.into_future(), admin.into_future());
        if let Err(e) = a.and(b) {
            tracing::error!("server: {e}");
        }
    };
    let mut draining = std::pin::pin!(servers);
    tokio::select! {
        () = &mut draining => {}
        () = shutdown::requested(shutdown.clone()) => {
            if tokio::time::timeout(DRAIN_LIMIT, &mut draining).await.is_err() {
                tracing::warn!("requests still in flight after {}s; exiting anyway", DRAIN_LIMIT.as_secs());
            }
        }
    }
    let _ = tokio::time::timeout(DRAIN_LIMIT, async {
        let _ = worker.await;
        let _ = tail.await;
    })
    .await;
    tracing::info!("stopped");
    Ok(())
}

fn default_consumer() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "host".to_owned());
    format!("{host}-{}", std::process::id())
}
