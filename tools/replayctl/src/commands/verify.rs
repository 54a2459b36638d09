//! `replayctl verify`: the gate that a tenant's window is in the sink exactly once.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::VerifyArgs;
use crate::error::Result;
use crate::replay::{Options, WindowInput};

pub(crate) async fn run(args: &VerifyArgs) -> Report {
    let mut b = Report::start(AGENT, "verify");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &VerifyArgs, b: &mut ReportBuilder) -> Result<()> {
    let w = &args.window;
    let opts = Options::check(&WindowInput {
        redis_url: &w.redis.redis_url,
        connect_timeout: w.redis.connect_timeout,
        query_timeout: w.redis.query_timeout,
        stream: &w.stream,
        tenant: &w.tenant,
        from: &w.from,
        to: &w.to,
        sink: &w.sink,
        sink_table: w.sink_table.as_deref(),
        mapping: w.mapping.as_deref(),
        batch: w.batch,
    })?;
    crate::verify::verify(&opts, b).await
}
