//! `replayctl replay` and the option checking `verify` shares: window, sink URL, mapping,
//! rate and backpressure flags become `replay::Options`.

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::{ReplayArgs, WindowArgs, WriteMethod};
use crate::error::Result;
use crate::replay::{self, Options, Watch, WindowInput};
use crate::sink::Method;

pub(crate) async fn run(args: &ReplayArgs) -> Report {
    let mut b = Report::start(AGENT, "replay");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &ReplayArgs, b: &mut ReportBuilder) -> Result<()> {
    let mut opts = Options::check(&window(&args.window))?;
    opts.rate = args
        .rate
        .as_ref()
        .map(gatehouse::duration::Rate::per_second);
    opts.method = match args.method {
        WriteMethod::Insert => Method::Insert,
        WriteMethod::Copy => Method::Copy,
    };
    opts.restart = args.restart;
    opts.watch = args.group.as_ref().map(|g| Watch {
        stream: args
            .live_stream
            .clone()
            .unwrap_or_else(|| args.window.stream.clone()),
        group: g.clone(),
        pause_above: args.pause_above,
    });
    replay::replay(&opts, b).await
}

/// The raw window flags, for the engine to check.
fn window(w: &WindowArgs) -> WindowInput<'_> {
    WindowInput {
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
    }
}
