//! `perf-gate run SCENARIO`: load the scenario, check the target answers, run the engine,
//! judge the thresholds (and the baseline), and report what ran.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse::{Check, Evidence, Report, ReportBuilder, Source, Status};
use serde_json::Value;

use crate::baseline;
use crate::checks::CheckId;
use crate::cli::{LoadArgs, RunArgs};
use crate::engine::{self, Options, Stop};
use crate::error::{Error, invalid};
use crate::metrics;
use crate::output::{self, RunInfo};
use crate::scenario::{self, Scenario, Target};

pub(crate) fn run(args: &RunArgs) -> Report {
    Report::judge("perf-gate", "run", |b| judge(args, b))
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

/// The engine's options from the flags both `run` and `headroom` take.
pub(crate) fn load_options(
    load: &LoadArgs,
    b: &mut ReportBuilder,
    quiet: bool,
) -> Result<Options, Error> {
    let src = Source::new(&load.scenario);
    let input = gatehouse::input::read_limited(&src, scenario::SIZE_LIMIT)?;
    b.evidence(Evidence::of_bytes(src.label(), &input.bytes));
    let sc: Scenario = if src.label().ends_with(".js") {
        let text = crate::k6script::scenario_text(&input)?;
        scenario::parse(&src.label(), &text)?
    } else {
        scenario::load(&input)?
    };
    let target = match (&load.target, &sc.target) {
        (Some(t), _) => Target::parse(t).map_err(|e| invalid("--target", e))?,
        (None, Some(t)) => t.clone(),
        (None, None) => {
            return Err(invalid(
                &src.label(),
                "no target: give `target:` in the scenario or --target URL",
            ));
        }
    };
    let ca_certs = match &load.ca_cert {
        Some(p) => {
            let src = Source::new(p);
            let input = gatehouse::input::read_limited(&src, 1 << 20)?;
            crate::http::pem_certificates(&input.bytes).map_err(|e| invalid(&src.label(), e))?
        }
        None => Vec::new(),
    };
    let workers = match load.workers {
        Some(0) => return Err(invalid("--workers", "at least 1")),
        Some(n) => n.min(256),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    Ok(Options {
        scenario: Arc::new(sc),
        target,
        workers,
        shard: (0, 1),
        connect_timeout: load.connect_timeout,
        progress: !quiet && std::io::stderr().is_terminal(),
        lost_after: Duration::from_secs(1),
        ca_certs: Arc::new(ca_certs),
    })
}

/// Reads a report for `--baseline` (one JSON object).
pub(crate) fn read_report(path: &Path) -> Result<(output::Read, String), Error> {
    let src = Source::new(path);
    let input = gatehouse::input::read(&src)?;
    let label = src.label();
    let v: Value = serde_json::from_slice(&input.bytes)
        .map_err(|e| Error::Input(gatehouse::input::json_error(&label, &e)))?;
    let read = output::read(&v).map_err(|e| invalid(&label, e))?;
    Ok((read, label))
}

fn judge(args: &RunArgs, b: &mut ReportBuilder) -> Result<(), Error> {
    let mut opts = load_options(&args.load, b, false)?;
    if let Some(s) = &args.shard {
        opts.shard = parse_shard(s)?;
    }
    let baseline = match &args.baseline {
        Some(p) => Some(read_report(p)?),
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
    let line = judge_summary(b, &summary, &info, baseline.as_ref());
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

/// The checks, data and summary of a run or a merge.
pub(crate) fn judge_summary(
    b: &mut ReportBuilder,
    summary: &metrics::Summary,
    info: &RunInfo,
    baseline: Option<&(output::Read, String)>,
) -> String {
    if info.thresholds.is_empty() {
        b.check(Check::skip(
            CheckId::Threshold,
            "the scenario has no thresholds: nothing is judged but the baseline",
        ));
    }
    for t in &info.thresholds {
        b.check(t.judge(summary));
    }
    let dropped = summary.counter("dropped_iterations");
    if summary.scheduled.is_some() {
        let c = if dropped == 0 {
            Check::ok(CheckId::DroppedIterations).with_numbers(0.0, 0.0)
        } else {
            Check::warn(
                CheckId::DroppedIterations,
                format!("{dropped} iterations were not started: every VU was busy (raise maxVUs)"),
            )
            .with_numbers(dropped as f64, 0.0)
        };
        b.check(c);
    }
    match baseline {
        Some((base, label)) => b.checks(baseline::compare(
            summary,
            &base.summary,
            &info.regression,
            label,
        )),
        None => {
            b.check(Check::new(CheckId::Baseline, Status::Skip).with_message("no --baseline given"))
        }
    };
    let failed: Vec<String> = b
        .checks_so_far()
        .iter()
        .filter(|c| c.result == Status::Fail)
        .map(|c| {
            c.message
                .as_deref()
                .and_then(|m| m.split(": crossed").next())
                .unwrap_or(c.id.as_str())
                .to_owned()
        })
        .collect();
    let line = output::summary_line(summary, &failed);
    b.summary(line.clone());
    b.data(output::data(summary, info));
    line
}
