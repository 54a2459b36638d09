//! `sbom-diff OLD NEW [--vulns-old FILE] [--vulns-new FILE] [--budget FILE]`: checks the
//! inputs, compares the two releases, judges the diff against the budget.

use gatehouse::Report;
use gatehouse::input::InputError;
use gatehouse::time::Timestamp;

use crate::AGENT;
use crate::cli::DiffArgs;
use crate::compare::{Inputs, Options, compare};

/// Runs one diff; never panics on input: every failure becomes a report with `result: error`.
/// `args` is `None` only when no command and no OLD/NEW were given, which clap refuses first.
pub(crate) fn run(args: Option<&DiffArgs>) -> Report {
    Report::judge(AGENT, "diff", |b| {
        let args = args.ok_or_else(|| InputError::invalid("sbom-diff", "give OLD and NEW"))?;
        let inputs = Inputs {
            old: &args.old,
            new: &args.new,
            vulns_old: args.vulns_old.as_deref(),
            vulns_new: args.vulns_new.as_deref(),
            budget: args.budget.as_deref(),
        };
        let opts = Options::new(inputs, args.max_size, args.max_rows)?;
        compare(&opts, b, Timestamp::now())
    })
}
