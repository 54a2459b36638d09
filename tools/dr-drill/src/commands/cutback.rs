//! `dr-drill cutback`: reads and checks the config (nothing is touched before), then
//! rebuilds the old primary as a replica and switches back, timed, Ctrl-C included.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::DrillArgs;
use crate::config::{self, Target};
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
    match &d.target {
        Target::Postgres(pg) if pg.commands.is_some() => {
            drill::interruptible(
                crate::shell::drill(&d, pg, pace, true, b),
                "the drill stopped where the timeline ends; check both servers",
            )
            .await
        }
        Target::Postgres(pg) if pg.patroni_url.is_some() => {
            drill::interruptible(
                crate::patroni::drill(&d, pg, pace, true, b),
                "the drill stopped where the timeline ends; check GET /cluster",
            )
            .await
        }
        Target::Postgres(pg) => {
            drill::interruptible(
                drill::cutback(&d, pg, pace, b),
                "the drill stopped where the timeline ends; check both servers",
            )
            .await
        }
        Target::Redis(r) => {
            drill::interruptible(
                crate::redis_drill::cutback(&d, r, pace, b),
                "the drill stopped where the timeline ends; check both servers (CLIENT UNPAUSE)",
            )
            .await
        }
    }
}
