//! alert-lint: judges Prometheus alerting and recording rules (owners, runbooks, PromQL
//! soundness, templates, live series, noise) and compiles an alert catalog into
//! PrometheusRule objects. `run` dispatches a parsed command line to its command and always
//! returns a report; errors become `result: "error"`.

mod analysis;
mod catalog;
mod checks;
mod cli;
mod commands;
mod config;
mod error;
mod files;
mod finding;
mod lint;
mod live;
mod noise;
mod prom;
mod promql;
mod rules;
mod scan;
mod selector;
mod suppress;
mod templates;
mod verdict;
mod walk;
mod yamlout;
mod yamltree;

use gatehouse::Report;

pub use checks::rule_docs;
pub use cli::Cli;

/// The `agent` of every report.
const AGENT: &str = "alert-lint";

/// Runs the command; never panics on bad input. It runs on a thread with a known stack
/// ([`promql::on_large_stack`]): PromQL ASTs are walked recursively, and the main thread's
/// stack is whatever the environment gave it. A report, and the bytes that go to stdout
/// instead of it (`catalog` without `-o`).
pub fn run(cli: &Cli) -> (Report, Option<Vec<u8>>) {
    promql::on_large_stack(|| dispatch(cli))
}

fn dispatch(cli: &Cli) -> (Report, Option<Vec<u8>>) {
    match &cli.command {
        cli::Command::Check(a) => (commands::check::run(a), None),
        cli::Command::Catalog(a) => commands::catalog::run(a),
        cli::Command::Noise(a) => (commands::noise::run(a), None),
        cli::Command::Checks => (commands::checks::run(), None),
    }
}
