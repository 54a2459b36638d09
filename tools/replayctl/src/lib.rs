//! replayctl: the operator's tool and the gate for an ingest path of Redis Streams into
//! PostgreSQL — consumer lag, dead-letter triage and redrive, and tenant/time-window replay
//! with exactly-once effect, on one Redis node or a Redis Cluster. `run` only dispatches to
//! `commands/`.

mod checks;
pub mod cli;
mod commands;
mod conn;
mod dlq;
mod error;
mod fault;
mod lag;
mod mapping;
mod pg;
mod redrive;
mod replay;
mod sink;
mod stream;
mod verify;

use gatehouse::Report;

use crate::cli::{Cli, Command, DlqCommand};

pub use crate::checks::rule_docs;

/// The name every report and error line carries.
pub(crate) const AGENT: &str = "replayctl";

/// Runs the command; never panics on input: every failure becomes a report with
/// `result: error`.
pub async fn run(cli: &Cli) -> Report {
    match &cli.command {
        Command::Lag(args) => commands::lag::run(args).await,
        Command::Dlq(DlqCommand::Triage(args)) => commands::triage::run(args).await,
        Command::Dlq(DlqCommand::Claim(args)) => commands::claim::run(args).await,
        Command::Redrive(args) => commands::redrive::run(args).await,
        Command::Replay(args) => commands::replay::run(args).await,
        Command::Verify(args) => commands::verify::run(args).await,
        Command::Checks => commands::checks::run(),
    }
}
