//! The verdict of a run or a merge: the thresholds as checks, dropped iterations, the
//! baseline comparison, the summary line and the report's data, added to the command's
//! report.

use gatehouse::{Check, ReportBuilder, Status};

use crate::baseline;
use crate::checks::CheckId;
use crate::metrics;
use crate::output::{self, RunInfo};

/// Who judges a report's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Thresholds {
    /// This report: each threshold is ok or fail (a whole run, a merge, `--judge-shard`).
    Here,
    /// `perf-gate merge`, over all this many shards: each threshold is skip here.
    ByMerge(u64),
}

/// The checks, data and summary of a run or a merge.
pub fn judge(
    b: &mut ReportBuilder,
    summary: &metrics::Summary,
    info: &RunInfo,
    baseline: Option<&(output::Read, String)>,
    thresholds: Thresholds,
) -> String {
    if info.thresholds.is_empty() {
        b.check(Check::skip(
            CheckId::Threshold,
            "the scenario has no thresholds: nothing is judged but the baseline",
        ));
    }
    for t in &info.thresholds {
        b.check(match thresholds {
            Thresholds::Here => t.judge(summary),
            Thresholds::ByMerge(n) => t.judged_by_merge(summary, n),
        });
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
    let mut line = output::summary_line(summary, &failed);
    if let Thresholds::ByMerge(n) = thresholds
        && !info.thresholds.is_empty()
    {
        line.push_str(&format!(
            "; thresholds judged by `perf-gate merge` over all {n} shards"
        ));
    }
    b.summary(line.clone());
    b.data(output::data(summary, info));
    line
}
