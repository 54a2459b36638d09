//! Command-line flags: what the user typed for `freshness`, `restore`, `failover`,
//! `cutback` and `checks`. No logic: `commands/` turns these into checked options.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gatehouse::duration::duration_arg;

const EXAMPLES: &str = "\
Examples:
  dr-drill freshness --database-url postgres://drill@127.0.0.1:5432/app --backup-dir /srv/backups/base \\
      --redis-url redis://127.0.0.1:6379 --max-backup-age 24h --max-wal-lag 5m
  dr-drill restore --backup-dir /srv/backups/base --wal-archive /srv/wal --verify verify.yaml \\
      --target-time 2026-12-07T10:00:00Z
  dr-drill failover --config examples/release/drill.yaml
  dr-drill cutback --config examples/release/drill.yaml

Passwords come from the URL's environment (PGPASSWORD, a passfile), never from the config.
";

#[derive(Debug, Parser)]
#[command(
    name = "dr-drill",
    version,
    about = "Backup and WAL freshness, verified restores, and timed failover/cutback drills with measured RTO and RPO",
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
    /// Backup age, WAL archiving, replica lag and Redis persistence against budgets
    #[command(
        after_help = "Example:\n  dr-drill freshness --database-url postgres://drill@127.0.0.1:5432/app --pgbackrest-info info.json \\\n      --redis-url redis://127.0.0.1:6379 --max-backup-age 24h --max-wal-lag 5m"
    )]
    Freshness(FreshnessArgs),
    /// Restores a base backup (plus archived WAL) into a private server, verifies it, removes it
    #[command(
        after_help = "Example:\n  dr-drill restore --backup-dir /srv/backups/base --wal-archive /srv/wal --verify verify.yaml --target-time 2026-12-07T10:00:00Z"
    )]
    Restore(RestoreArgs),
    /// The timed drill: heartbeat, cut the primary, promote the replica, measure RTO and RPO
    #[command(after_help = "Example:\n  dr-drill failover --config examples/release/drill.yaml")]
    Failover(DrillArgs),
    /// Rebuilds the old primary as a replica of the new one and switches back, timed
    #[command(after_help = "Example:\n  dr-drill cutback --config examples/release/drill.yaml")]
    Cutback(DrillArgs),
    /// Lists every check id with what it judges and how to fix a failure
    Checks,
}

#[derive(Debug, Args)]
pub struct FreshnessArgs {
    /// PostgreSQL to ask about archiving and replication (primary or replica)
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// pgBackRest `info --output=json` (a file, or - for stdin)
    #[arg(long, value_name = "FILE")]
    pub pgbackrest_info: Option<PathBuf>,

    /// A pg_basebackup directory (with backup_manifest), or a directory of them
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,

    /// Redis whose persistence to judge
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,

    /// Budget for the newest backup's age (and Redis' last save when it has changes)
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration_arg)]
    pub max_backup_age: Duration,

    /// Budget for WAL archiving age and replica lag
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration_arg)]
    pub max_wal_lag: Duration,

    /// Budget for a replica's lag in bytes of WAL not yet replayed
    #[arg(long, value_name = "BYTES")]
    pub max_lag_bytes: Option<u64>,

    /// Where pg_verifybackup is, if not on PATH
    #[arg(long, value_name = "DIR")]
    pub pg_bin_dir: Option<PathBuf>,

    /// Deadline for connecting to a server
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration_arg)]
    pub connect_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The pg_basebackup directory (plain format, with backup_manifest) to restore
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "pgbackrest_stanza"
    )]
    pub backup_dir: Option<PathBuf>,

    /// Restore the newest backup of this pgBackRest stanza instead
    #[arg(long, value_name = "STANZA", conflicts_with = "backup_dir")]
    pub pgbackrest_stanza: Option<String>,

    /// pgBackRest's config file (default: its own)
    #[arg(long, value_name = "FILE")]
    pub pgbackrest_config: Option<PathBuf>,

    /// The directory archive_command copied WAL into (restore_command reads it)
    #[arg(long, value_name = "DIR")]
    pub wal_archive: Option<PathBuf>,

    /// Verification queries (YAML: database, user, queries[name, sql, equals|min|max_age_at_target])
    #[arg(long, value_name = "FILE")]
    pub verify: PathBuf,

    /// Recover up to this time (RFC 3339); default: the end of the archive
    #[arg(long, value_name = "TIME")]
    pub target_time: Option<String>,

    /// RPO target: the recovery point may be at most this much before the target time
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration_arg)]
    pub rpo: Duration,

    /// Budget for the whole restore (copy, replay, start)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub max_restore_time: Option<Duration>,

    /// Where the PostgreSQL server binaries are, if not on PATH
    #[arg(long, value_name = "DIR")]
    pub pg_bin_dir: Option<PathBuf>,

    /// Deadline for the restored server to finish recovery
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = duration_arg)]
    pub timeout: Duration,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The drill config (YAML; schema in schemas/dr-drill.config.schema.json)
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// RTO target (overrides targets.rto)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub rto: Option<Duration>,

    /// RPO target (overrides targets.rpo)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub rpo: Option<Duration>,

    /// Deadline for each step (promotion, catch-up, first write on the new primary)
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = duration_arg)]
    pub step_timeout: Duration,

    /// Heartbeats to keep writing after the first one on the new primary
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration_arg)]
    pub settle: Duration,
}
