//! migration-gate: judges PostgreSQL schema migrations statically (`lint`), on a throwaway
//! copy of a real database (`dry-run`), and by shadow-read parity (`parity`).
//!
//! `run` dispatches on the subcommand and always returns a report; errors become
//! `result: "error"` with a one-line message.

pub mod catalog;
pub mod checks;
pub mod cli;
mod commands;
pub mod dryrun;
pub mod error;
pub mod lint;
pub mod parity;
pub mod parse_ahead;
pub mod pg;
pub mod phase;
pub mod rules;
pub mod source;
pub mod sql;
pub mod template;
pub mod tls;

use gatehouse::Report;

pub use checks::{CheckId, rule_docs};

/// The tool's name in reports and on stderr.
pub const AGENT: &str = "migration-gate";

/// Runs the chosen command.
pub async fn run(cli: &cli::Cli) -> Report {
    match &cli.command {
        cli::Command::Lint(args) => lint::run(args).await,
        cli::Command::DryRun(args) => dryrun::run(args).await,
        cli::Command::Parity(args) => parity::run(args).await,
        cli::Command::Checks => commands::checks::run(),
    }
}
