//! sbom-diff: what changed between two releases' SBOMs — components added, removed,
//! upgraded or downgraded, licenses changed, vulnerabilities new or fixed — judged against a
//! diff budget. `run` reads the inputs, diffs them, judges, and returns the one report.

pub mod budget;
pub mod checks;
pub mod cli;
pub mod cvss;
pub mod diff;
pub mod error;
pub mod formats;
pub mod license;
pub mod load;
pub mod model;
pub mod output;
pub mod purl;
pub mod version;
pub mod vulns;

use gatehouse::input::{InputError, read_limited};
use gatehouse::time::Timestamp;
use gatehouse::{Check, Report, ReportBuilder, RuleDoc, Source, Status};

use crate::budget::Budget;
use crate::checks::CheckId;
use crate::cli::Cli;
use crate::error::Error;
use crate::load::{Document, Loaded, load};
use crate::model::{Finding, Format, Sbom};

pub use crate::checks::rule_docs as rules;

/// Budgets are small; a larger file is not a budget.
const BUDGET_LIMIT: u64 = 4 << 20;

/// SARIF rule documentation for every check id.
pub fn rule_docs() -> Vec<RuleDoc> {
    checks::rule_docs()
}

/// Runs one diff; never panics on input: every failure becomes a report with `result: error`.
pub fn run(cli: &Cli) -> Report {
    let mut b = Report::start("sbom-diff", "diff");
    if let Err(e) = judge(cli, &mut b, Timestamp::now()) {
        b.failure(&e);
    }
    b.finish()
}

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

fn judge(cli: &Cli, b: &mut ReportBuilder, now: Timestamp) -> Result<(), Error> {
    let stdin_uses = [
        Some(&cli.old),
        Some(&cli.new),
        cli.vulns_old.as_ref(),
        cli.vulns_new.as_ref(),
        cli.budget.as_ref(),
    ]
    .into_iter()
    .flatten()
    .filter(|p| p.as_os_str() == "-")
    .count();
    if stdin_uses > 1 {
        return Err(Error::Input(InputError::invalid(
            "-",
            "stdin (-) can be given for one input only",
        )));
    }
    let budget = match &cli.budget {
        Some(p) => {
            let src = Source::new(p);
            let input = read_limited(&src, BUDGET_LIMIT)?;
            b.evidence(gatehouse::Evidence::of_bytes(src.label(), &input.bytes));
            Some(Budget::parse(&input)?)
        }
        None => None,
    };
    let old = load(&Source::new(&cli.old), cli.max_size)?;
    let new = load(&Source::new(&cli.new), cli.max_size)?;
    b.evidence(old.evidence.clone());
    b.evidence(new.evidence.clone());
    let (old, old_label) = sbom_of(old, "--vulns-old")?;
    let (new, new_label) = sbom_of(new, "--vulns-new")?;

    let mut side_vulns = |flag: &Option<std::path::PathBuf>,
                          sbom: &Sbom,
                          label: &str|
     -> Result<Option<(Vec<Finding>, String)>, Error> {
        match flag {
            Some(p) => {
                let l = load(&Source::new(p), cli.max_size)?;
                b.evidence(l.evidence.clone());
                let (mut f, from) = findings_of(l)?;
                vulns::resolve(&mut f, sbom);
                Ok(Some((vulns::dedup(f), from)))
            }
            None => Ok(sbom
                .vulnerabilities
                .clone()
                .map(|f| (vulns::dedup(f), format!("{label} ({})", sbom.format)))),
        }
    };
    let old_v = side_vulns(&cli.vulns_old, &old, &old_label)?;
    let new_v = side_vulns(&cli.vulns_new, &new, &new_label)?;

    let d = diff::diff(&old.components, &new.components);
    let empty: Vec<Finding> = Vec::new();
    let (vd, old_from, new_from) = match (&old_v, &new_v) {
        (None, None) => (None, None, None),
        (Some((o, of)), Some((n, nf))) => {
            (Some(vulns::diff(o, n)), Some(of.clone()), Some(nf.clone()))
        }
        (None, Some((n, nf))) => {
            b.check(Check::warn(
                CheckId::VulnerabilityBaseline.as_str(),
                format!("no vulnerability data for {old_label}: every vulnerability in {new_label} counts as new (give --vulns-old)"),
            ));
            (Some(vulns::diff(&empty, n)), None, Some(nf.clone()))
        }
        (Some((_, of)), None) => {
            b.check(Check::warn(
                CheckId::VulnerabilityBaseline.as_str(),
                format!("no vulnerability data for {new_label}: vulnerabilities are not compared (give --vulns-new)"),
            ));
            (None, Some(of.clone()), None)
        }
    };

    let invalid = old.invalid_purls + new.invalid_purls;
    if invalid > 0 {
        b.check(Check::warn(
            CheckId::Purls.as_str(),
            format!("{invalid} package {} did not parse; those components were matched by name (-v logs them)", gatehouse::plural(invalid, "URL", "URLs")),
        ).with_observed(invalid as u64));
    }
    match &budget {
        Some(bud) => {
            let _s = gatehouse::trace::step("judge");
            b.checks(bud.judge(&d, vd.as_ref(), &new.components, now));
        }
        None => {
            b.check(Check::skip(
                CheckId::Budget.as_str(),
                "no --budget given: the diff is reported, nothing is judged",
            ));
        }
    }
    let payload = output::Payload {
        old: output::Side {
            label: &old_label,
            sbom: &old,
            vulns_from: old_from,
        },
        new: output::Side {
            label: &new_label,
            sbom: &new,
            vulns_from: new_from,
        },
        diff: &d,
        vulns: vd.as_ref(),
        budget: budget.as_ref(),
        now,
    };
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
    for s in payload.sections(cli.max_rows) {
        b.section(s);
    }
    Ok(())
}
