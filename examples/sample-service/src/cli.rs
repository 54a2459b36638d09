//! The command line: every flag, with an environment variable for each one a container or a
//! test harness sets. Fault knobs given here are the state the service starts in; the admin
//! port changes them at run time (see `faults.rs`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use gatehouse::duration::duration_arg;

/// The service under test for Gatehouse's live tools: a shop API (customers, orders) on
/// PostgreSQL with a Redis cache, an ingest path on a Redis Stream, Server-Sent Events and
/// WebSocket delivery, Prometheus /metrics and fault knobs on an admin port.
///
/// Example:
///   sample-service --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:8081 \
///     --database-url postgres://app:secret@127.0.0.1:5432/shop --redis-url redis://127.0.0.1:6379
#[derive(Debug, Clone, Parser)]
#[command(name = "sample-service", version, verbatim_doc_comment)]
pub struct Cli {
    /// Address of the API, realtime and /metrics endpoints (e.g. 127.0.0.1:8080).
    #[arg(long, env = "SAMPLE_SERVICE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Address of the admin endpoints (GET/PUT/DELETE /admin/faults) (e.g. 127.0.0.1:8081).
    #[arg(
        long,
        env = "SAMPLE_SERVICE_ADMIN_LISTEN",
        default_value = "127.0.0.1:8081"
    )]
    pub admin_listen: SocketAddr,

    /// PostgreSQL connection URL (e.g. postgres://app:secret@127.0.0.1:5432/shop).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,

    /// Redis URL (e.g. redis://127.0.0.1:6379).
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: String,

    /// The `version` label on every metric and the X-Service-Version header (e.g. v1, v2):
    /// two instances of one build become a baseline and a canary.
    #[arg(long, env = "SAMPLE_SERVICE_VERSION_LABEL", default_value = "v1")]
    pub version_label: String,

    /// Directory of `*.up.sql` migrations to apply at start instead of the bundled ones
    /// (examples/release/migrations, built in) (e.g. ./migrations).
    #[arg(long, env = "SAMPLE_SERVICE_MIGRATIONS")]
    pub migrations: Option<PathBuf>,

    /// How long GET /orders/{id} keeps an order in Redis (e.g. 60s).
    #[arg(long, env = "SAMPLE_SERVICE_CACHE_TTL", default_value = "60s", value_parser = duration_arg)]
    pub cache_ttl: Duration,

    /// PostgreSQL connections in the API's pool (e.g. 16).
    #[arg(long, env = "SAMPLE_SERVICE_POOL_SIZE", default_value_t = 16)]
    pub pool_size: usize,

    /// The Redis Stream every write publishes to (e.g. events).
    #[arg(long, env = "SAMPLE_SERVICE_STREAM", default_value = "events")]
    pub stream: String,

    /// The dead-letter stream (e.g. events:dlq).
    #[arg(long, env = "SAMPLE_SERVICE_DLQ", default_value = "events:dlq")]
    pub dlq: String,

    /// The worker's consumer group (e.g. sample-service).
    #[arg(long, env = "SAMPLE_SERVICE_GROUP", default_value = "sample-service")]
    pub group: String,

    /// This worker's consumer name; default `<host>-<pid>`, new for every process (e.g. worker-1).
    #[arg(long, env = "SAMPLE_SERVICE_CONSUMER")]
    pub consumer: Option<String>,

    /// Failed attempts after which an entry goes to the dead-letter stream (e.g. 3).
    #[arg(long, env = "SAMPLE_SERVICE_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: u32,

    /// How long an entry stays pending (failed, or its consumer died) before XAUTOCLAIM takes
    /// it again (e.g. 5s).
    #[arg(long, env = "SAMPLE_SERVICE_CLAIM_IDLE", default_value = "5s", value_parser = duration_arg)]
    pub claim_idle: Duration,

    /// Entries the worker reads per batch (e.g. 32).
    #[arg(long, env = "SAMPLE_SERVICE_BATCH", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,

    /// Fault: latency added to every request (e.g. 50ms).
    #[arg(long, env = "SAMPLE_SERVICE_LATENCY", value_parser = duration_arg)]
    pub latency: Option<Duration>,

    /// Fault: uniform random latency on top of --latency, 0..this (e.g. 20ms).
    #[arg(long, env = "SAMPLE_SERVICE_LATENCY_JITTER", value_parser = duration_arg)]
    pub latency_jitter: Option<Duration>,

    /// Fault: the tail: this much more latency for a --tail-rate fraction of requests (e.g. 1s).
    #[arg(long, env = "SAMPLE_SERVICE_TAIL_LATENCY", value_parser = duration_arg)]
    pub tail_latency: Option<Duration>,

    /// Fault: fraction of requests that get --tail-latency (e.g. 0.01).
    #[arg(long, env = "SAMPLE_SERVICE_TAIL_RATE", value_parser = fraction)]
    pub tail_rate: Option<f64>,

    /// Fault: fraction of responses that are 500, for every route (`0.1`) or one route
    /// (`/orders=0.5`, the route as in the metrics' `route` label); repeatable.
    #[arg(long, env = "SAMPLE_SERVICE_ERROR_RATE", value_delimiter = ',')]
    pub error_rate: Vec<String>,

    /// Fault: answer nothing for this long, starting at start-up (e.g. 10s).
    #[arg(long, env = "SAMPLE_SERVICE_STALL", value_parser = duration_arg)]
    pub stall: Option<Duration>,

    /// Fault: at most this many requests in flight; the rest queue (e.g. 4).
    #[arg(long, env = "SAMPLE_SERVICE_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: Option<u32>,

    /// Fault: fraction of published events whose payload is truncated JSON, which the
    /// worker's sink rejects on every attempt (e.g. 0.05).
    #[arg(long, env = "SAMPLE_SERVICE_POISON_RATE", value_parser = fraction)]
    pub poison_rate: Option<f64>,

    /// Fault: the worker sleeps this long per entry (e.g. 200ms).
    #[arg(long, env = "SAMPLE_SERVICE_CONSUMER_DELAY", value_parser = duration_arg)]
    pub consumer_delay: Option<Duration>,

    /// Fault: the worker reads nothing until the admin port restarts it.
    #[arg(long, env = "SAMPLE_SERVICE_CONSUMER_STOPPED")]
    pub consumer_stopped: bool,

    /// Fault: the realtime fan-out (SSE and WebSocket) holds each event this long before a
    /// subscriber gets it, one after another: a slow consumer, so delivery lag grows (e.g. 300ms).
    #[arg(long, env = "SAMPLE_SERVICE_DELIVERY_DELAY", value_parser = duration_arg)]
    pub delivery_delay: Option<Duration>,

    /// Log format on stderr: `text`, or `json` (one object per line; each API request's line
    /// carries `trace_id`/`span_id` from its W3C `traceparent` header).
    #[arg(long, env = "SAMPLE_SERVICE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// More log detail on stderr (-v debug, -vv trace).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only warnings and errors on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A clap value parser for a fraction in [0, 1].
pub fn fraction(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "{s:?} is not a fraction between 0 and 1 (e.g. 0.1)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn help_never_shows_the_urls_from_the_environment() {
        // With the values shown, clap renders `[env: DATABASE_URL=<value>]` (`=` even when unset).
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("[env: DATABASE_URL]"), "{help}");
        assert!(help.contains("[env: REDIS_URL]"), "{help}");
    }
}
