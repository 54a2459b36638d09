//! `perf-gate run SCENARIO`: load the scenario, check the target answers, run the engine,
//! judge the thresholds (and the baseline), and report what ran.

use std::sync::Arc;

use gatehouse::{Report, ReportBuilder};

use crate::cli::{LoadArgs, RunArgs};
use crate::engine::{self, Stop};
use crate::error::{Error, invalid};
use crate::metrics;
use crate::output::{self, RunInfo};
use crate::{setup, verdict};

pub(crate) fn run(args: &RunArgs, quiet: bool) -> Report {
    Report::judge("perf-gate", "run", |b| judge(args, quiet, b))
}

/// The load flags as the engine's setup takes them.
pub(crate) fn load_flags(load: &LoadArgs, quiet: bool) -> setup::LoadFlags<'_> {
    setup::LoadFlags {
        scenario: &load.scenario,
        target: load.target.as_deref(),
        workers: load.workers,
        connect_timeout: load.connect_timeout,
        ca_cert: load.ca_cert.as_deref(),
        quiet,
    }
}

/// `I/N` with `I < N`.
pub(crate) fn parse_shard(s: &str) -> Result<(u64, u64), Error> {
    let bad = || {
        invalid(
            "--shard",
            format!("{s:?} is not I/N with 0 ≤ I < N (e.g. 2/4)"),
        )
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let i: u64 = i.trim().parse().map_err(|_| bad())?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

fn judge(args: &RunArgs, quiet: bool, b: &mut ReportBuilder) -> Result<(), Error> {
    let mut opts = setup::options(&load_flags(&args.load, quiet), b)?;
    if let Some(s) = &args.shard {
        opts.shard = parse_shard(s)?;
    }
    // A shard's thresholds are judged by `perf-gate merge` over all shards, unless the user
    // asks to judge this shard's share alone (then abortOnFail stops it too).
    let thresholds = match opts.shard.1 {
        n if n > 1 && !args.judge_shard => verdict::Thresholds::ByMerge(n),
        _ => verdict::Thresholds::Here,
    };
    opts.abort_on_fail = thresholds == verdict::Thresholds::Here;
    let baseline = match &args.baseline {
        Some(p) => Some(output::read_file(p)?),
        None => None,
    };
    if let Some(p) = &args.out_histogram {
        gatehouse::input::refuse_input_overwrite(p)?;
    }
    let target = opts.target.clone();
    engine::preflight(&opts).map_err(|message| Error::Unreachable {
        target: target.to_string(),
        message,
    })?;
    let sc = Arc::clone(&opts.scenario);
    let shard = (opts.shard.1 > 1).then_some(opts.shard);
    let out = {
        let _s = gatehouse::trace::step("load");
        engine::run(opts).map_err(Error::Engine)?
    };
    let summary = out.metrics.summarize(
        &sc.request_names(),
        &sc.scenario_names(),
        out.duration_s,
        sc.is_open(),
    );
    let mut summary = summary;
    summary.schedule_s = out.schedule_s;
    let info = RunInfo {
        scenario: sc.path.clone(),
        target: target.to_string(),
        shard,
        partial: out.stopped.is_some(),
        thresholds: sc.thresholds.clone(),
        regression: sc.regression,
    };
    let line = verdict::judge(b, &summary, &info, baseline.as_ref(), thresholds);
    if let Some(Stop::Threshold(src)) = &out.stopped {
        b.summary(format!(
            "{line}; aborted early: {src} crossed (abortOnFail)"
        ));
    }
    if let Some(p) = &args.out_histogram
        && let Some(h) = summary.trend("http_req_duration")
    {
        gatehouse::run::write_atomic(p, &metrics::encode_bytes(h)).map_err(|e| Error::Output {
            path: p.display().to_string(),
            message: e.to_string(),
        })?;
    }
    match out.stopped {
        None => Ok(()),
        // A verdict, not an error: the crossed threshold's check already fails the run.
        Some(Stop::Threshold(_)) => Ok(()),
        Some(Stop::Interrupted) => Err(Error::Interrupted(
            "interrupted (Ctrl-C): the report has what ran before the stop (data.partial)"
                .to_owned(),
        )),
        Some(Stop::LostTarget(message)) => Err(Error::LostTarget {
            target: target.to_string(),
            message,
        }),
    }
}
