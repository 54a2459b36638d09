//! `evidence-pack gate`: the promotion decision over the other tools' reports.

use gatehouse::Report;
use gatehouse::time::Timestamp;

use crate::AGENT;
use crate::cli::GateArgs;
use crate::error::{Error, time_flag};
use crate::{gate, policy, reports};

pub(crate) fn run(args: &GateArgs) -> Report {
    Report::judge(AGENT, "gate", |b| {
        let policy = policy::load(&args.policy)?;
        let now = time_flag("--now", args.now.as_deref())?.unwrap_or_else(Timestamp::now);
        let reports = reports::load_all(&args.reports)?;
        let eval = gate::evaluate(&policy, &reports, now);
        b.checks(eval.checks);
        b.section(eval.section);
        b.summary(eval.summary);
        b.data(eval.data);
        Ok::<_, Error>(())
    })
}
