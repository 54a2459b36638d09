//! `migration-gate parity --database-url URL --old Q --new Q --key COLS`: checks the flags
//! and compares the old and the new read path row by row.

use gatehouse::Report;

use crate::AGENT;
use crate::cli::ParityArgs;
use crate::parity::{self, Given, Options};

pub(crate) async fn run(args: &ParityArgs) -> Report {
    let mut b = Report::start(AGENT, "parity");
    let given = Given {
        database_url: &args.database_url,
        old: &args.old,
        new: &args.new,
        key: &args.key,
        min_parity: args.min_parity,
        chunk_size: args.chunk_size,
        sample: args.sample,
        timeouts: args.timeouts.into(),
    };
    let outcome = match Options::new(&given) {
        Ok(opts) => parity::compare(&opts, &mut b).await,
        Err(e) => Err(e),
    };
    b.conclude(outcome)
}
