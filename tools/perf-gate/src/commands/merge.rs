//! `perf-gate merge REPORT...`: add the shards' histograms and counts exactly, re-judge the
//! thresholds on the merged distribution, print one report.

use gatehouse::{Check, Evidence, Report, ReportBuilder, Source};

use crate::checks::CheckId;
use crate::cli::MergeArgs;
use crate::error::{Error, invalid};
use crate::metrics::Summary;
use crate::output::RunInfo;

pub(crate) fn run(args: &MergeArgs) -> Report {
    Report::judge("perf-gate", "merge", |b| judge(args, b))
}

fn judge(args: &MergeArgs, b: &mut ReportBuilder) -> Result<(), Error> {
    let mut merged = Summary::default();
    let mut first: Option<crate::output::Read> = None;
    let mut seen: Vec<(u64, String)> = Vec::new();
    let mut count: Option<u64> = None;
    let mut partial = false;
    let mut partial_of: Vec<bool> = Vec::new();
    for p in &args.reports {
        let (r, label) = crate::output::read_file(p)?;
        if let Ok(e) = Evidence::of_file(p) {
            b.evidence(e);
        } else {
            b.evidence(Evidence::of_bytes(Source::new(p).label(), &[]));
        }
        let (i, n) = r.shard.unwrap_or((0, 1));
        match count {
            None => count = Some(n),
            Some(c) if c != n => {
                return Err(invalid(
                    &label,
                    format!("is shard {i}/{n}, the others are of {c}"),
                ));
            }
            Some(_) => {}
        }
        if let Some((_, other)) = seen.iter().find(|(j, _)| *j == i) {
            return Err(invalid(
                &label,
                format!(
                    "is shard {i}/{n} again (also {other}); merging it twice would count its requests twice"
                ),
            ));
        }
        if let Some(f) = &first {
            let key = |t: &crate::threshold::Threshold| t.source();
            if f.thresholds
                .iter()
                .map(key)
                .ne(r.thresholds.iter().map(key))
            {
                return Err(invalid(
                    &label,
                    "has other thresholds than the first report: not shards of one scenario",
                ));
            }
        }
        partial |= r.partial;
        partial_of.push(r.partial);
        seen.push((i, label));
        merged.add(&r.summary);
        if first.is_none() {
            first = Some(r);
        }
    }
    let Some(first) = first else {
        return Err(invalid("merge", "no reports given"));
    };
    let n = count.unwrap_or(1);
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.iter().any(|(j, _)| j == i))
        .map(|i| i.to_string())
        .collect();
    let partial_shards: Vec<&str> = seen
        .iter()
        .zip(&partial_of)
        .filter(|(_, p)| **p)
        .map(|((_, l), _)| l.as_str())
        .collect();
    b.check(if !partial_shards.is_empty() {
        Check::fail(
            CheckId::Shards,
            format!(
                "{} stopped early (data.partial): the merged counts are not the whole run's",
                partial_shards.join(", ")
            ),
        )
        .with_numbers(seen.len() as f64, n as f64)
    } else if missing.is_empty() {
        Check::ok(CheckId::Shards).with_numbers(seen.len() as f64, n as f64)
    } else {
        Check::fail(
            CheckId::Shards,
            format!(
                "shards {} of {n} are missing: the merged counts are not the whole run's",
                missing.join(", ")
            ),
        )
        .with_numbers(seen.len() as f64, n as f64)
    });
    let baseline = match &args.baseline {
        Some(p) => Some(crate::output::read_file(p)?),
        None => None,
    };
    let info = RunInfo {
        scenario: first.scenario.clone(),
        target: first.target.clone(),
        shard: None,
        partial,
        thresholds: first.thresholds.clone(),
        regression: first.regression,
    };
    crate::verdict::judge(
        b,
        &merged,
        &info,
        baseline.as_ref(),
        crate::verdict::Thresholds::Here,
    );
    Ok(())
}
