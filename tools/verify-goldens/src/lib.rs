//! verify-goldens: a service's golden paths probed over HTTP (assertions, captures, a
//! traceparent on every request, per-phase timings), its SLOs' multiwindow burn rates read
//! from Prometheus, and the canary's promote / hold / rollback decision. `run` only
//! dispatches to `commands/`.

mod canary;
mod checks;
pub mod cli;
mod commands;
mod daemon;
mod error;
mod golden;
mod http;
mod probe;
mod prom;
mod promql;
mod realtime;
mod slo;
mod stats;

use gatehouse::Report;

use crate::cli::{Cli, Command};

pub use crate::checks::rule_docs;

/// The name every report and error line carries.
pub(crate) const AGENT: &str = "verify-goldens";

/// Runs the command; never panics on input: every failure becomes a report with
/// `result: error`.
pub fn run(cli: &Cli) -> Report {
    match &cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Slo(args) => commands::slo::run(args),
        Command::Canary(args) => commands::canary::run(args),
        Command::Checks => commands::checks::run(),
    }
}
