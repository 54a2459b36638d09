//! `dr-drill cutback`: reads and checks the config (nothing is touched before), then
//! rebuilds the old primary as a replica and switches back, timed, Ctrl-C included.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::DrillArgs;
use crate::config;
use crate::drill::{self, Pace};
use crate::error::Result;

pub(crate) async fn run(args: &DrillArgs) -> Report {
    let mut b = Report::start(AGENT, "cutback");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &DrillArgs, b: &mut ReportBuilder) -> Result<()> {
    let d = config::load(&args.config, args.rto, args.rpo)?;
    let pace = Pace {
        step_timeout: args.step_timeout,
        settle: args.settle,
    };
    drill::run(&d, pace, true, b).await
}
