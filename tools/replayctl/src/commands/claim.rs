//! `replayctl dlq claim`: moves entries pending on dead consumers to the DLQ.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::ClaimArgs;
use crate::conn::RedisTarget;
use crate::dlq::{self, ClaimOptions};
use crate::error::Result;

pub(crate) async fn run(args: &ClaimArgs) -> Report {
    let mut b = Report::start(AGENT, "dlq-claim");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &ClaimArgs, b: &mut ReportBuilder) -> Result<()> {
    let target = RedisTarget::parse(
        &args.redis.redis_url,
        args.redis.connect_timeout,
        args.redis.query_timeout,
    )?;
    let opts = ClaimOptions {
        stream: args.stream.clone(),
        group: args.group.clone(),
        dlq: args
            .dlq
            .clone()
            .unwrap_or_else(|| format!("{}:dlq", args.stream)),
        min_idle: args.min_idle,
        min_deliveries: args.min_deliveries,
        dry_run: args.dry_run,
    };
    let mut conn = target.connect().await?;
    dlq::claim(&mut conn, &opts, b).await
}
