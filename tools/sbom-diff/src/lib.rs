//! sbom-diff: what changed between two releases' SBOMs — components added, removed,
//! upgraded or downgraded, licenses changed, vulnerabilities new or fixed — judged against a
//! diff budget. `run` only dispatches to `commands/`.

mod budget;
mod checks;
pub mod cli;
mod commands;
mod compare;
mod cvss;
mod diff;
mod error;
mod formats;
mod license;
mod load;
mod model;
mod output;
mod purl;
mod version;
mod vulns;

use gatehouse::Report;

use crate::cli::{Cli, Command};

pub use crate::checks::rule_docs;

/// The name every report and error line carries.
pub(crate) const AGENT: &str = "sbom-diff";

/// Runs the command (the diff when none is named); never panics on input: every failure
/// becomes a report with `result: error`.
pub fn run(cli: &Cli) -> Report {
    match &cli.command {
        Some(Command::Checks) => commands::checks::run(),
        None => commands::diff::run(cli.diff.as_ref()),
    }
}
