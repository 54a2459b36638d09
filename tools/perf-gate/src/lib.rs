//! perf-gate: an open-model HTTP load generator. Latencies go into HdrHistograms from each
//! request's intended send time (no coordinated omission); thresholds are k6's; a run can
//! be compared with a baseline, search for capacity headroom, or be one shard of many whose
//! reports `merge` adds exactly. `run` only dispatches to `commands/`.

pub mod checks;
pub mod cli;
mod commands;
pub mod error;

pub mod baseline;
pub mod engine;
pub mod headroom;
pub mod http;
pub mod k6script;
pub mod metrics;
pub mod output;
pub mod scenario;
pub mod schedule;
pub mod setup;
pub mod threshold;
pub mod verdict;

use gatehouse::{Report, RuleDoc};

use crate::cli::{Cli, Command};

/// SARIF rule documentation for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    checks::rule_docs()
}

/// Runs the subcommand; never panics on input: every failure is a report with `result: error`.
/// `convert` also returns its artifact (the scenario) for stdout.
pub fn run(cli: &Cli) -> (Report, Option<Vec<u8>>) {
    match &cli.command {
        Command::Run(a) => (commands::run::run(a, cli.common.quiet), None),
        Command::Merge(a) => (commands::merge::run(a), None),
        Command::Headroom(a) => (commands::headroom::run(a, cli.common.quiet), None),
        Command::Convert(a) => commands::convert::run(a),
    }
}
