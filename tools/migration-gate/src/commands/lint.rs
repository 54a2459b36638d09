//! `migration-gate lint PATH...`: checks the flags, reads the history, runs the rules,
//! applies the phase policy, and turns the findings into the report (checks with
//! file:line:col, per-migration data, evidence).

use std::collections::HashSet;

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::checks::CheckId;
use crate::cli::LintArgs;
use crate::error::{Error, Result};
use crate::phase::{self, Policy};
use crate::rules::{Options, lint_history, report};
use crate::source::{self, Selection};

pub(crate) async fn run(args: &LintArgs) -> Report {
    let mut b = Report::start(AGENT, "lint");
    let outcome = lint(args, &mut b).await;
    b.conclude(outcome)
}

/// Parses `--disable/--enable/--warn` ids.
fn id_set(flag: &'static str, ids: &[String]) -> Result<HashSet<CheckId>> {
    ids.iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
        .map(|s| {
            CheckId::from_id(s.trim()).ok_or_else(|| Error::Usage {
                flag,
                message: format!("unknown check id {s:?} (see docs/migration-gate.md)"),
            })
        })
        .collect()
}

async fn lint(args: &LintArgs, b: &mut ReportBuilder) -> Result<()> {
    let opts = Options {
        pg_version: args.pg_version,
        assume_timeouts: args.assume_timeouts,
        disabled: id_set("--disable", &args.disable)?,
        enabled: id_set("--enable", &args.enable)?,
        warn: id_set("--warn", &args.warn)?,
        phase_policy: args.phase.phase_policy,
    };
    let selection = Selection::try_from(&args.migrations)?;
    let migrations = source::discover(&selection)?;
    let linted = lint_history(migrations, opts);
    let syntax = report::add_syntax_checks(&linted, b);
    let policy_checks = if args.phase.phase_policy {
        let policy = Policy::new(
            args.phase.expand_applied_at.as_deref(),
            args.phase.min_expand_age,
            args.phase.database_url.as_deref(),
            args.phase.timeouts.into(),
        )?;
        phase::judge(&policy, &linted).await?
    } else {
        Vec::new()
    };
    report::add_findings(&linted, selection.require_down, b);
    b.checks(policy_checks);
    report::add_evidence(&linted, b);
    b.data(report::data(&linted));
    b.summary(report::summary(&linted));
    syntax.map_or(Ok(()), Err)
}
