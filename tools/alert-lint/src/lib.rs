//! alert-lint: judges Prometheus alerting and recording rules (owners, runbooks, PromQL
//! soundness, templates, live series, noise) and compiles an alert catalog into
//! PrometheusRule objects. `run` dispatches a parsed command line to its command and always
//! returns a report; errors become `result: "error"`.

mod analysis;
mod catalog;
mod check;
pub mod checks;
pub mod cli;
mod config;
mod error;
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
mod yamlout;
mod yamltree;

use gatehouse::{Report, RuleDoc};

pub use checks::CheckId;
pub use cli::Cli;

/// Runs the command; never panics on bad input. It runs on a thread with a known stack
/// ([`promql::STACK_SIZE`]): PromQL ASTs are walked recursively, and the main thread's
/// stack is whatever the environment gave it.
pub fn run(cli: &Cli) -> (Report, Option<Vec<u8>>) {
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("alert-lint".into())
            .stack_size(promql::STACK_SIZE)
            .spawn_scoped(scope, || dispatch(cli))
        {
            Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            Err(e) => {
                tracing::debug!("cannot start a thread with a large stack ({e}); running here");
                dispatch(cli)
            }
        }
    })
}

fn dispatch(cli: &Cli) -> (Report, Option<Vec<u8>>) {
    match &cli.command {
        cli::Command::Check(a) => (check::run(a), None),
        cli::Command::Catalog(a) => catalog::run(a),
        cli::Command::Noise(a) => (noise::run(a), None),
        cli::Command::Checks => (list_checks(), None),
    }
}

/// SARIF rule help for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    checks::rule_docs()
}

fn list_checks() -> Report {
    CheckId::list_report("alert-lint")
}
