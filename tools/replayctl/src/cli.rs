//! Command-line flags: what the user typed for `lag`, `dlq triage|claim`, `redrive`, `replay`,
//! `verify` and `checks`. No logic: `commands/` turns these into checked options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gatehouse::duration::{Rate, duration_arg, rate_arg};

const EXAMPLES: &str = "\
Examples:
  replayctl lag --redis-url redis://127.0.0.1:6379 --stream events --group sample-service --max-lag 60s
  replayctl dlq triage --redis-url redis://127.0.0.1:6379 --dlq events:dlq --format markdown
  replayctl redrive --redis-url redis://127.0.0.1:6379 --dlq events:dlq --to events \\
      --filter tenant=acme --filter error~timeout --rate 200/s --dry-run
  replayctl replay --redis-url redis://127.0.0.1:6379 --stream events --tenant acme \\
      --from 2026-12-07T10:00:00Z --to 2026-12-07T11:00:00Z \\
      --sink postgres://app:secret@127.0.0.1:5432/shop --group sample-service --pause-above 1000
  replayctl verify --redis-url redis://127.0.0.1:6379 --stream events --tenant acme \\
      --from 2026-12-07T10:00:00Z --to 2026-12-07T11:00:00Z --sink postgres://app:secret@127.0.0.1:5432/shop

A Redis Cluster is recognised by itself (INFO cluster): give any node's URL. Stream names
with a hash tag ({events}, {events}:dlq) keep a stream and its DLQ in one slot.
";

#[derive(Debug, Parser)]
#[command(
    name = "replayctl",
    version,
    about = "Ingest lag gate, dead-letter triage and redrive, and tenant/time replay with exactly-once effect: Redis Streams into PostgreSQL",
    after_help = gatehouse::cli::after_help(EXAMPLES)
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub common: gatehouse::CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consumer-group health: undelivered and pending entries, their ages, idle and dead consumers
    #[command(
        after_help = "Example:\n  replayctl lag --redis-url redis://127.0.0.1:6379 --stream events --group sample-service --max-lag 60s --max-pending 100"
    )]
    Lag(LagArgs),
    /// Dead-letter queue: triage (group and count) or claim (move dead consumers' entries to it)
    #[command(subcommand)]
    Dlq(DlqCommand),
    /// Moves dead-lettered entries back to a stream, each exactly once (one atomic step each)
    #[command(
        after_help = "Example:\n  replayctl redrive --redis-url redis://127.0.0.1:6379 --dlq events:dlq --to events --filter tenant=acme --filter error~timeout --rate 200/s --dry-run"
    )]
    Redrive(RedriveArgs),
    /// Re-applies a tenant's time window from a stream to the PostgreSQL sink, exactly once
    #[command(
        after_help = "Example:\n  replayctl replay --redis-url redis://127.0.0.1:6379 --stream events --tenant acme \\\n      --from 2026-12-07T10:00:00Z --to 2026-12-07T11:00:00Z --sink postgres://app:secret@127.0.0.1:5432/shop \\\n      --group sample-service --pause-above 1000 --rate 5000/s"
    )]
    Replay(ReplayArgs),
    /// Compares a tenant's window in the stream with the sink: counts and an order-independent hash
    #[command(
        after_help = "Example:\n  replayctl verify --redis-url redis://127.0.0.1:6379 --stream events --tenant acme \\\n      --from 2026-12-07T10:00:00Z --to 2026-12-07T11:00:00Z --sink postgres://app:secret@127.0.0.1:5432/shop"
    )]
    Verify(VerifyArgs),
    /// Lists every check id with what it judges and how to fix a failure
    Checks,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Groups dead-lettered entries by error class, tenant and age, with counts and one example each
    #[command(
        after_help = "Example:\n  replayctl dlq triage --redis-url redis://127.0.0.1:6379 --dlq events:dlq --format markdown"
    )]
    Triage(TriageArgs),
    /// Moves entries pending on dead consumers after N deliveries to the DLQ (XPENDING + XCLAIM)
    #[command(
        after_help = "Example:\n  replayctl dlq claim --redis-url redis://127.0.0.1:6379 --stream events --group sample-service --dlq events:dlq --min-idle 5m --min-deliveries 3"
    )]
    Claim(ClaimArgs),
}

/// Where Redis is and how long it may take to answer.
#[derive(Debug, Clone, Args)]
pub struct RedisArgs {
    /// Redis URL (redis://[user:password@]host:port[/db]); any node of a Redis Cluster
    #[arg(long, value_name = "URL", env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: String,

    /// Deadline for connecting to Redis
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration_arg)]
    pub connect_timeout: Duration,

    /// Deadline for any one Redis or PostgreSQL reply
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    pub query_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct LagArgs {
    #[command(flatten)]
    pub redis: RedisArgs,

    /// The stream; with a glob (*, ?, [..]) every stream matching it, on every node of a cluster
    #[arg(long, value_name = "STREAM")]
    pub stream: String,

    /// The consumer group
    #[arg(long, value_name = "GROUP")]
    pub group: String,

    /// Budget for the age of the oldest entry not yet delivered to the group
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    pub max_lag: Duration,

    /// Budget for entries delivered but not acknowledged
    #[arg(long, value_name = "N")]
    pub max_pending: Option<u64>,

    /// Budget for the age of the oldest pending entry (default: --max-lag)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub max_pending_age: Option<Duration>,

    /// Budget for entries not yet delivered (Redis 7's lag)
    #[arg(long, value_name = "N")]
    pub max_undelivered: Option<u64>,

    /// A consumer idle this long is idle (reported)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    pub idle_after: Duration,

    /// A consumer idle this long that still holds pending entries is dead (fails)
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration_arg)]
    pub dead_after: Duration,
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    #[command(flatten)]
    pub redis: RedisArgs,

    /// The dead-letter stream
    #[arg(long, value_name = "STREAM")]
    pub dlq: String,

    /// Fail when the DLQ holds more than this many entries
    #[arg(long, value_name = "N")]
    pub max_entries: Option<u64>,

    /// Read at most this many entries (newest are left out beyond it, and the report says so)
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub limit: u64,
}

#[derive(Debug, Args)]
pub struct ClaimArgs {
    #[command(flatten)]
    pub redis: RedisArgs,

    /// The stream whose pending entries are claimed
    #[arg(long, value_name = "STREAM")]
    pub stream: String,

    /// Its consumer group
    #[arg(long, value_name = "GROUP")]
    pub group: String,

    /// The dead-letter stream (default: STREAM:dlq)
    #[arg(long, value_name = "STREAM")]
    pub dlq: Option<String>,

    /// Claim entries idle at least this long
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration_arg)]
    pub min_idle: Duration,

    /// Only entries delivered at least this many times
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub min_deliveries: u64,

    /// Say what would move, move nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub redis: RedisArgs,

    /// The dead-letter stream to take entries from
    #[arg(long, value_name = "STREAM")]
    pub dlq: String,

    /// The stream to put them back on (same hash slot as --dlq in a cluster)
    #[arg(long, value_name = "STREAM")]
    pub to: String,

    /// Only entries whose FIELD equals VALUE (FIELD=VALUE) or contains it (FIELD~VALUE); repeatable, all must hold
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,

    /// At most this many entries per second
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    pub rate: Option<Rate>,

    /// Move at most this many entries
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,

    /// List what would move, move nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// The tenant's window and the sink, shared by `replay` and `verify`.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    #[command(flatten)]
    pub redis: RedisArgs,

    /// The source stream
    #[arg(long, value_name = "STREAM", default_value = "events")]
    pub stream: String,

    /// The tenant whose entries are taken (the entry's tenant field)
    #[arg(long, value_name = "TENANT")]
    pub tenant: String,

    /// Window start (inclusive): RFC 3339 time, or a stream id (1700000000000-0)
    #[arg(long, value_name = "TIME")]
    pub from: String,

    /// Window end (inclusive): RFC 3339 time, or a stream id
    #[arg(long, value_name = "TIME")]
    pub to: String,

    /// PostgreSQL URL of the sink
    #[arg(long, value_name = "URL", env = "SINK_URL", hide_env_values = true)]
    pub sink: String,

    /// Sink table (default events_sink, the sample service's contract)
    #[arg(long, value_name = "TABLE")]
    pub sink_table: Option<String>,

    /// YAML mapping of another sink shape: table, key, tenant_field, columns {column: field | $id}
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,

    /// Entries read and written per batch (one transaction each)
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch: u32,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub window: WindowArgs,

    /// At most this many entries per second
    #[arg(long, value_name = "RATE", value_parser = rate_arg)]
    pub rate: Option<Rate>,

    /// The live consumer group to watch: replay pauses while its lag is above --pause-above
    #[arg(long, value_name = "GROUP")]
    pub group: Option<String>,

    /// Pause while the live group has more than this many undelivered entries
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub pause_above: u64,

    /// The stream the live group reads (default: --stream)
    #[arg(long, value_name = "STREAM")]
    pub live_stream: Option<String>,

    /// How to write a batch: copy (COPY straight into the sink; a batch that meets a key
    /// already there is undone to a savepoint and written as insert does; the faster) or
    /// insert (INSERT … SELECT FROM unnest … ON CONFLICT DO NOTHING)
    #[arg(long, value_name = "METHOD", value_enum, default_value_t = WriteMethod::Copy)]
    pub method: WriteMethod,

    /// Start over: ignore (and replace) this window's checkpoint
    #[arg(long)]
    pub restart: bool,
}

/// `--method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WriteMethod {
    Insert,
    Copy,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub window: WindowArgs,
}
