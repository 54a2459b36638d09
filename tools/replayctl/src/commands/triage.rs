//! `replayctl dlq triage`: groups the DLQ's entries and judges their number.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::TriageArgs;
use crate::conn::RedisTarget;
use crate::dlq::{self, TriageOptions};
use crate::error::Result;

pub(crate) async fn run(args: &TriageArgs) -> Report {
    let mut b = Report::start(AGENT, "dlq-triage");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &TriageArgs, b: &mut ReportBuilder) -> Result<()> {
    let target = RedisTarget::parse(
        &args.redis.redis_url,
        args.redis.connect_timeout,
        args.redis.query_timeout,
    )?;
    let opts = TriageOptions {
        dlq: args.dlq.clone(),
        max_entries: args.max_entries,
        limit: args.limit,
    };
    let mut conn = target.connect().await?;
    dlq::triage(&mut conn, &opts, b).await
}
