//! The comparison of two releases, step by step: read the budget, read both SBOMs and each
//! side's vulnerability data, diff components and vulnerabilities, judge the diff against the
//! budget, and describe it in the report (summary, data, tables). The `diff` command hands
//! it checked [`Options`] and the report to fill.

use std::path::Path;

use gatehouse::input::{InputError, read_limited};
use gatehouse::time::Timestamp;
use gatehouse::{Check, Evidence, ReportBuilder, Source, Status};

use crate::budget::Budget;
use crate::checks::CheckId;
use crate::diff::Diff;
use crate::error::Error;
use crate::load::{Document, Loaded, load};
use crate::model::{Finding, Format, Sbom};
use crate::output::{Payload, Side};
use crate::vulns::{self, VulnDiff};

/// Budgets are small; a larger file is not a budget.
const BUDGET_LIMIT: u64 = 4 << 20;

/// What the comparison reads and how it shows it, checked: at most one input is stdin.
#[derive(Debug)]
pub(crate) struct Options {
    old: Source,
    new: Source,
    vulns_old: Option<Source>,
    vulns_new: Option<Source>,
    budget: Option<Source>,
    /// Cap on every input and its decompressed content, in bytes.
    max_size: u64,
    /// Rows per table in text and markdown output.
    max_rows: usize,
}

/// The inputs of one comparison: two SBOMs, each side's vulnerability report (when not the
/// SBOM's own), the budget.
pub(crate) struct Inputs<'a> {
    pub(crate) old: &'a Path,
    pub(crate) new: &'a Path,
    pub(crate) vulns_old: Option<&'a Path>,
    pub(crate) vulns_new: Option<&'a Path>,
    pub(crate) budget: Option<&'a Path>,
}

impl Options {
    /// Checks the inputs: stdin (`-`) can be read once only.
    pub(crate) fn new(
        inputs: Inputs<'_>,
        max_size: u64,
        max_rows: usize,
    ) -> Result<Options, Error> {
        let opts = Options {
            old: Source::new(inputs.old),
            new: Source::new(inputs.new),
            vulns_old: inputs.vulns_old.map(Source::new),
            vulns_new: inputs.vulns_new.map(Source::new),
            budget: inputs.budget.map(Source::new),
            max_size,
            max_rows,
        };
        let stdin_uses = [
            Some(&opts.old),
            Some(&opts.new),
            opts.vulns_old.as_ref(),
            opts.vulns_new.as_ref(),
            opts.budget.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter(|s| matches!(s, Source::Stdin))
        .count();
        if stdin_uses > 1 {
            return Err(Error::Input(InputError::invalid(
                "-",
                "stdin (-) can be given for one input only",
            )));
        }
        Ok(opts)
    }
}

/// One release as read: its SBOM, what the report calls it, and its vulnerabilities with
/// where they came from (none when neither the SBOM nor `--vulns-*` has any).
struct Release {
    sbom: Sbom,
    label: String,
    vulns: Option<(Vec<Finding>, String)>,
}

/// The vulnerability diff, when both sides (or only the new one) have data, and where each
/// side's data came from.
struct VulnComparison<'a> {
    diff: Option<VulnDiff<'a>>,
    old_from: Option<String>,
    new_from: Option<String>,
}

/// Compares the two releases of `opts` into `b`, judging the budget as of `now`.
pub(crate) fn compare(opts: &Options, b: &mut ReportBuilder, now: Timestamp) -> Result<(), Error> {
    let budget = read_budget(opts, b)?;
    let old = load(&opts.old, opts.max_size)?;
    let new = load(&opts.new, opts.max_size)?;
    b.evidence(old.evidence.clone());
    b.evidence(new.evidence.clone());
    let (old, old_label) = sbom_of(old, "--vulns-old")?;
    let (new, new_label) = sbom_of(new, "--vulns-new")?;
    let old = with_vulns(opts, opts.vulns_old.as_ref(), old, old_label, b)?;
    let new = with_vulns(opts, opts.vulns_new.as_ref(), new, new_label, b)?;

    let d = crate::diff::diff(&old.sbom.components, &new.sbom.components);
    let vulns = compare_vulns(&old, &new, b);
    warn_invalid_purls(&old.sbom, &new.sbom, b);
    judge_budget(budget.as_ref(), &d, vulns.diff.as_ref(), &new.sbom, now, b);
    let payload = Payload {
        old: Side {
            label: &old.label,
            sbom: &old.sbom,
            vulns_from: vulns.old_from,
        },
        new: Side {
            label: &new.label,
            sbom: &new.sbom,
            vulns_from: vulns.new_from,
        },
        diff: &d,
        vulns: vulns.diff.as_ref(),
        budget: budget.as_ref(),
        now,
    };
    describe(&payload, opts.max_rows, b);
    Ok(())
}

/// The budget of `--budget`, its bytes recorded as evidence.
fn read_budget(opts: &Options, b: &mut ReportBuilder) -> Result<Option<Budget>, Error> {
    let Some(src) = &opts.budget else {
        return Ok(None);
    };
    let input = read_limited(src, BUDGET_LIMIT)?;
    b.evidence(Evidence::of_bytes(src.label(), &input.bytes));
    Ok(Some(Budget::parse(&input)?))
}

/// The SBOM an `OLD`/`NEW` input must be; a vulnerability report there is refused with the
/// flag it belongs to.
fn sbom_of(loaded: Loaded, flag: &str) -> Result<(Sbom, String), Error> {
    match loaded.doc {
        Document::Sbom(s) => Ok((*s, loaded.label)),
        Document::Vulns(v) => Err(Error::Input(InputError::invalid(
            &loaded.label,
            format!(
                "is a {} vulnerability report, not an SBOM; give it with {flag}",
                v.format
            ),
        ))),
    }
}

/// A `--vulns-*` input's findings and where they came from.
fn findings_of(loaded: Loaded) -> Result<(Vec<Finding>, String), Error> {
    match loaded.doc {
        Document::Vulns(v) => Ok((v.findings, format!("{} ({})", loaded.label, v.format))),
        Document::Sbom(s) => match s.format {
            Format::CycloneDxJson(_) | Format::CycloneDxXml(_) => Ok((
                s.vulnerabilities.unwrap_or_default(),
                format!("{} ({})", loaded.label, s.format),
            )),
            other => Err(Error::Input(InputError::invalid(
                &loaded.label,
                format!(
                    "is an {other} document, which carries no vulnerabilities; give a Grype, Trivy or OSV-Scanner JSON report or a CycloneDX VEX"
                ),
            ))),
        },
    }
}

/// One side's vulnerabilities: from its `--vulns-*` report (resolved against the SBOM) when
/// given, else the SBOM's own; deduplicated either way.
fn with_vulns(
    opts: &Options,
    report: Option<&Source>,
    sbom: Sbom,
    label: String,
    b: &mut ReportBuilder,
) -> Result<Release, Error> {
    let vulns = match report {
        Some(src) => {
            let l = load(src, opts.max_size)?;
            b.evidence(l.evidence.clone());
            let (mut f, from) = findings_of(l)?;
            vulns::resolve(&mut f, &sbom);
            Some((vulns::dedup(f), from))
        }
        None => sbom
            .vulnerabilities
            .clone()
            .map(|f| (vulns::dedup(f), format!("{label} ({})", sbom.format))),
    };
    Ok(Release { sbom, label, vulns })
}

/// Diffs the two sides' vulnerabilities. A side without data is a warning: without the old
/// side's every new finding counts as new; without the new side's nothing is compared.
fn compare_vulns<'a>(
    old: &'a Release,
    new: &'a Release,
    b: &mut ReportBuilder,
) -> VulnComparison<'a> {
    let (old_label, new_label) = (&old.label, &new.label);
    let (diff, old_from, new_from) = match (&old.vulns, &new.vulns) {
        (None, None) => (None, None, None),
        (Some((o, of)), Some((n, nf))) => {
            (Some(vulns::diff(o, n)), Some(of.clone()), Some(nf.clone()))
        }
        (None, Some((n, nf))) => {
            b.check(Check::warn(
                CheckId::VulnerabilityBaseline,
                format!("no vulnerability data for {old_label}: every vulnerability in {new_label} counts as new (give --vulns-old)"),
            ));
            (Some(vulns::diff(&[], n)), None, Some(nf.clone()))
        }
        (Some((_, of)), None) => {
            b.check(Check::warn(
                CheckId::VulnerabilityBaseline,
                format!("no vulnerability data for {new_label}: vulnerabilities are not compared (give --vulns-new)"),
            ));
            (None, Some(of.clone()), None)
        }
    };
    VulnComparison {
        diff,
        old_from,
        new_from,
    }
}

/// Package URLs that did not parse on either side: those components were matched by name.
fn warn_invalid_purls(old: &Sbom, new: &Sbom, b: &mut ReportBuilder) {
    let invalid = old.invalid_purls + new.invalid_purls;
    if invalid > 0 {
        b.check(Check::warn(
            CheckId::Purls,
            format!("{invalid} package {} did not parse; those components were matched by name (-v logs them)", gatehouse::plural(invalid, "URL", "URLs")),
        ).with_observed(invalid as u64));
    }
}

/// The budget's checks, or the one `budget` skip when none was given.
fn judge_budget(
    budget: Option<&Budget>,
    d: &Diff<'_>,
    vulns: Option<&VulnDiff<'_>>,
    new: &Sbom,
    now: Timestamp,
    b: &mut ReportBuilder,
) {
    match budget {
        Some(bud) => {
            let _s = gatehouse::trace::step("judge");
            b.checks(bud.judge(d, vulns, &new.components, now));
        }
        None => {
            b.check(Check::skip(
                CheckId::Budget,
                "no --budget given: the diff is reported, nothing is judged",
            ));
        }
    }
}

/// The summary line (naming the failing budget lines), the `data` payload and the tables.
fn describe(payload: &Payload<'_>, max_rows: usize, b: &mut ReportBuilder) {
    let failing: Vec<String> = b
        .checks_so_far()
        .iter()
        .filter(|c| c.result == Status::Fail)
        .map(|c| match (&c.observed, &c.limit) {
            (Some(o), Some(l)) => format!("{} {o} > {l}", c.id.trim_start_matches("budget.")),
            _ => c.id.clone(),
        })
        .collect();
    b.summary(payload.summary(&failing));
    b.data(payload.data());
    for s in payload.sections(max_rows) {
        b.section(s);
    }
}
