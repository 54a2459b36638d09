//! dr-drill: disaster-recovery evidence that is measured — backup and WAL freshness,
//! verified restores into a private server, and timed failover/cutback drills (heartbeat
//! writes every 100 ms, RTO and RPO observed) for PostgreSQL and Redis. `run` only
//! dispatches to `commands/`.

mod bins;
mod checks;
pub mod cli;
mod commands;
mod config;
mod drill;
mod error;
mod freshness;
mod patroni;
mod pgconn;
mod redis_drill;
mod restore;
mod shell;
mod timeline;

use gatehouse::Report;

use crate::cli::{Cli, Command};

pub use crate::checks::rule_docs;

/// The name every report and error line carries.
pub(crate) const AGENT: &str = "dr-drill";

/// Runs the command; never panics on input: every failure becomes a report with
/// `result: error`.
pub async fn run(cli: &Cli) -> Report {
    match &cli.command {
        Command::Freshness(args) => commands::freshness::run(args).await,
        Command::Restore(args) => commands::restore::run(args).await,
        Command::Failover(args) => commands::failover::run(args).await,
        Command::Cutback(args) => commands::cutback::run(args).await,
        Command::Checks => commands::checks::run(),
    }
}
