//! `replayctl redrive`: checks the filters and rate, then moves DLQ entries back.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::RedriveArgs;
use crate::conn::RedisTarget;
use crate::error::Result;
use crate::redrive::{self, Filter, Options};

pub(crate) async fn run(args: &RedriveArgs) -> Report {
    let mut b = Report::start(AGENT, "redrive");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &RedriveArgs, b: &mut ReportBuilder) -> Result<()> {
    let target = RedisTarget::parse(
        &args.redis.redis_url,
        args.redis.connect_timeout,
        args.redis.query_timeout,
    )?;
    let opts = Options {
        dlq: args.dlq.clone(),
        to: args.to.clone(),
        filters: args
            .filter
            .iter()
            .map(|f| Filter::parse(f))
            .collect::<Result<_>>()?,
        rate: args
            .rate
            .as_ref()
            .map(gatehouse::duration::Rate::per_second),
        limit: args.limit,
        dry_run: args.dry_run,
    };
    let mut conn = target.connect().await?;
    redrive::redrive(&mut conn, &opts, b).await
}
