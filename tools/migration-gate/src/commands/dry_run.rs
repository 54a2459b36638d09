//! `migration-gate dry-run --database-url URL PATH...`: reads the history, checks the flags,
//! and applies the pending migrations to a throwaway copy of the source database.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::DryRunArgs;
use crate::dryrun::{self, Options};
use crate::error::Result;
use crate::pg::Target;
use crate::source::{self, Selection};

pub(crate) async fn run(args: &DryRunArgs) -> Report {
    let mut b = Report::start(AGENT, "dry-run");
    let outcome = dry_run(args, &mut b).await;
    b.conclude(outcome)
}

async fn dry_run(args: &DryRunArgs, b: &mut ReportBuilder) -> Result<()> {
    let migrations = source::discover(&Selection::try_from(&args.migrations)?)?;
    dryrun::refuse_templates(&migrations)?;
    let opts = Options {
        target: Target::parse(&args.database_url)?.with_timeouts(args.timeouts.into()),
        copy: args.copy.into(),
        with_load: args.with_load,
        max_blocked: args.max_blocked,
        max_lock_hold: args.max_lock_hold,
        statement_timeout: args.statement_timeout,
        rollback: !args.no_rollback,
        keep_copy: args.keep_copy,
    };
    dryrun::run(&opts, migrations, b).await
}
