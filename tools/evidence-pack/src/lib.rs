//! evidence-pack: the promotion decision over the other tools' reports (`gate`), a
//! deterministic DSSE-signed evidence zip (`build`), its verification (`verify`), key pairs
//! (`keygen`) and a hash-chained audit log (`audit append` / `audit verify`).
//!
//! `run` only dispatches to `commands/`; every error becomes `result: "error"` (exit 2).

pub mod cli;

mod audit;
mod checks;
mod commands;
mod dsse;
mod error;
mod gate;
mod gitlog;
mod keyfiles;
mod keys;
mod pack;
mod page;
mod policy;
mod provenance;
mod rego;
mod reports;
mod verify;
mod zip;

use gatehouse::{Report, RuleDoc};

use crate::cli::{AuditCommand, Cli, Command, PolicyCommand};

const AGENT: &str = "evidence-pack";

/// The SARIF rule help for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    checks::rule_docs()
}

/// Runs the command; never panics on bad input.
pub fn run(cli: &Cli) -> Report {
    match &cli.command {
        Command::Gate(a) => commands::gate::run(a),
        Command::Build(a) => commands::build::run(a),
        Command::Verify(a) => commands::verify::run(a),
        Command::Keygen(a) => commands::keygen::run(a),
        Command::Audit(AuditCommand::Append(a)) => commands::audit_append::run(a),
        Command::Audit(AuditCommand::Verify(a)) => commands::audit_verify::run(a),
        Command::Policy(PolicyCommand::Test(a)) => commands::policy_test::run(a),
        Command::Provenance(a) => commands::provenance::run(a),
        Command::Report(a) => commands::report::run(a),
        Command::Checks => commands::checks::run(),
    }
}
