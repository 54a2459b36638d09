//! migration-gate: judges PostgreSQL schema migrations statically (`lint`), on a throwaway
//! copy of a real database (`dry-run`), and by shadow-read parity (`parity`); search schema
//! migrations on Typesense (`search plan|reindex|flip|gc|keys`).
//!
//! `run` only dispatches to `commands/`, which always return a report; errors become
//! `result: "error"` with a one-line message.

mod catalog;
mod checks;
pub mod cli;
mod commands;
mod dryrun;
mod error;
mod parity;
mod parse_ahead;
mod pg;
mod phase;
mod rules;
mod search;
mod source;
mod sql;
mod template;
mod tls;

use gatehouse::Report;

pub use checks::rule_docs;

/// The tool's name in reports and on stderr.
const AGENT: &str = "migration-gate";

/// Runs the chosen command.
pub async fn run(cli: &cli::Cli) -> Report {
    match &cli.command {
        cli::Command::Lint(args) => commands::lint::run(args).await,
        cli::Command::DryRun(args) => commands::dry_run::run(args).await,
        cli::Command::Parity(args) => commands::parity::run(args).await,
        cli::Command::Search(args) => commands::search::run(args).await,
        cli::Command::Checks => commands::checks::run(),
    }
}
