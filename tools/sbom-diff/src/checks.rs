//! Every check id sbom-diff can emit, with what it judges, why it matters and how to fix a
//! failure. Nothing else writes a check id as a string.

use gatehouse::RuleDoc;

use crate::model::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckId {
    /// What: new critical vulnerabilities against `max_new_vulnerabilities.critical`.
    /// Why: a release must not ship a known critical hole it did not have before.
    /// Fix: upgrade to the fixed-in version, or add a time-boxed exception with a reason.
    NewCritical,
    /// What: new high vulnerabilities against `max_new_vulnerabilities.high`.
    /// Why: high-severity findings are the next thing attackers use.
    /// Fix: upgrade to the fixed-in version, or add a time-boxed exception.
    NewHigh,
    /// What: new medium vulnerabilities against `max_new_vulnerabilities.medium`.
    /// Why: medium findings pile up unless each release keeps them in budget.
    /// Fix: upgrade, or raise the budget deliberately.
    NewMedium,
    /// What: new low vulnerabilities against `max_new_vulnerabilities.low`.
    /// Why: some teams budget even low findings to keep the backlog bounded.
    /// Fix: upgrade, or raise the budget.
    NewLow,
    /// What: new negligible vulnerabilities against `max_new_vulnerabilities.negligible`.
    /// Why: rarely budgeted; present for completeness.
    /// Fix: upgrade, or drop the line.
    NewNegligible,
    /// What: new vulnerabilities of unknown severity against `max_new_vulnerabilities.unknown`.
    /// Why: an unrated vulnerability may be critical; some teams want to look at each.
    /// Fix: check the advisory; upgrade or add an exception.
    NewUnknown,
    /// What: components added by this release against `max_added_components`.
    /// Why: every new dependency is new attack surface and new maintenance.
    /// Fix: drop the dependency, or raise the budget in review.
    AddedComponents,
    /// What: added or license-changed components (all components with
    /// `license_scope: all`) whose license expression cannot be satisfied without a license
    /// on `deny_licenses`.
    /// Why: shipping a denied license is a legal problem, not a technical one.
    /// Fix: replace the component, pick another licensing option, or ask legal for an exception.
    DeniedLicenses,
    /// What: components in scope whose license expression cannot be satisfied with licenses on
    /// `allow_licenses` (a component without license information is not allowed).
    /// Why: an allowlist is a positive statement that every license was reviewed.
    /// Fix: get the license reviewed and added, or replace the component.
    AllowedLicenses,
    /// What: components whose version went down, when `deny_downgrades: true`.
    /// Why: a downgrade usually reintroduces fixed bugs and vulnerabilities, often by accident
    /// (a lock file regenerated, a resolution gone wrong).
    /// Fix: restore the newer version, or add an exception for the package.
    Downgrades,
    /// What: a budget exception whose `until` has passed.
    /// Why: exceptions are time-boxed; an expired one stops counting, so the finding it
    /// covered counts against the budget again.
    /// Fix: fix the finding, or renew the exception with a new date and reason.
    ExceptionExpired,
    /// What: whether a budget was given at all.
    /// Why: without `--budget` the diff is reported but nothing is judged.
    /// Fix: pass `--budget FILE`.
    Budget,
    /// What: whether the old release has vulnerability data when the new one has.
    /// Why: without a baseline every vulnerability of the new release counts as new.
    /// Fix: give `--vulns-old` (a scan of the old release) as well.
    VulnerabilityBaseline,
    /// What: package URLs in the SBOMs that do not parse.
    /// Why: a component without a usable purl is matched by name only, which is weaker.
    /// Fix: fix the SBOM generator or report it upstream.
    Purls,
}

impl CheckId {
    pub const ALL: [CheckId; 14] = [
        CheckId::NewCritical,
        CheckId::NewHigh,
        CheckId::NewMedium,
        CheckId::NewLow,
        CheckId::NewNegligible,
        CheckId::NewUnknown,
        CheckId::AddedComponents,
        CheckId::DeniedLicenses,
        CheckId::AllowedLicenses,
        CheckId::Downgrades,
        CheckId::ExceptionExpired,
        CheckId::Budget,
        CheckId::VulnerabilityBaseline,
        CheckId::Purls,
    ];

    pub fn new_vulnerabilities(s: Severity) -> CheckId {
        match s {
            Severity::Critical => CheckId::NewCritical,
            Severity::High => CheckId::NewHigh,
            Severity::Medium => CheckId::NewMedium,
            Severity::Low => CheckId::NewLow,
            Severity::Negligible => CheckId::NewNegligible,
            Severity::Unknown => CheckId::NewUnknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::NewCritical => "budget.new_critical",
            CheckId::NewHigh => "budget.new_high",
            CheckId::NewMedium => "budget.new_medium",
            CheckId::NewLow => "budget.new_low",
            CheckId::NewNegligible => "budget.new_negligible",
            CheckId::NewUnknown => "budget.new_unknown",
            CheckId::AddedComponents => "budget.added_components",
            CheckId::DeniedLicenses => "budget.denied_licenses",
            CheckId::AllowedLicenses => "budget.allowed_licenses",
            CheckId::Downgrades => "budget.downgrades",
            CheckId::ExceptionExpired => "budget.exception_expired",
            CheckId::Budget => "budget",
            CheckId::VulnerabilityBaseline => "input.vulnerability_baseline",
            CheckId::Purls => "input.purls",
        }
    }

    /// (what it judges, why it matters, how to fix) — the doc comments above, for `--help`,
    /// SARIF rule help and docs/sbom-diff.md.
    pub fn doc(self) -> (&'static str, &'static str, &'static str) {
        match self {
            CheckId::NewCritical => (
                "New critical vulnerabilities against max_new_vulnerabilities.critical.",
                "A release must not ship a known critical hole it did not have before.",
                "Upgrade to the fixed-in version, or add a time-boxed exception with a reason.",
            ),
            CheckId::NewHigh => (
                "New high vulnerabilities against max_new_vulnerabilities.high.",
                "High-severity findings are the next thing attackers use.",
                "Upgrade to the fixed-in version, or add a time-boxed exception.",
            ),
            CheckId::NewMedium => (
                "New medium vulnerabilities against max_new_vulnerabilities.medium.",
                "Medium findings pile up unless each release keeps them in budget.",
                "Upgrade, or raise the budget deliberately.",
            ),
            CheckId::NewLow => (
                "New low vulnerabilities against max_new_vulnerabilities.low.",
                "Some teams budget even low findings to keep the backlog bounded.",
                "Upgrade, or raise the budget.",
            ),
            CheckId::NewNegligible => (
                "New negligible vulnerabilities against max_new_vulnerabilities.negligible.",
                "Rarely budgeted; present for completeness.",
                "Upgrade, or drop the line.",
            ),
            CheckId::NewUnknown => (
                "New vulnerabilities of unknown severity against max_new_vulnerabilities.unknown.",
                "An unrated vulnerability may be critical; some teams want to look at each.",
                "Check the advisory; upgrade or add an exception.",
            ),
            CheckId::AddedComponents => (
                "Components added by this release against max_added_components.",
                "Every new dependency is new attack surface and new maintenance.",
                "Drop the dependency, or raise the budget in review.",
            ),
            CheckId::DeniedLicenses => (
                "Added or license-changed components (every component with license_scope: all) whose license expression cannot be satisfied without a license on deny_licenses.",
                "Shipping a denied license is a legal problem, not a technical one.",
                "Replace the component, choose another licensing option, or ask legal for an exception.",
            ),
            CheckId::AllowedLicenses => (
                "Components in scope whose license expression cannot be satisfied with licenses on allow_licenses; a component without license information is not allowed.",
                "An allowlist is a positive statement that every license was reviewed.",
                "Get the license reviewed and added, or replace the component.",
            ),
            CheckId::Downgrades => (
                "Components whose version went down, when deny_downgrades: true.",
                "A downgrade usually reintroduces fixed bugs and vulnerabilities, often by accident.",
                "Restore the newer version, or add an exception for the package.",
            ),
            CheckId::ExceptionExpired => (
                "A budget exception whose until date has passed.",
                "Exceptions are time-boxed; an expired one stops counting, so what it covered counts against the budget again.",
                "Fix the finding, or renew the exception with a new date and reason.",
            ),
            CheckId::Budget => (
                "Whether a budget was given.",
                "Without --budget the diff is reported but nothing is judged.",
                "Pass --budget FILE.",
            ),
            CheckId::VulnerabilityBaseline => (
                "Whether the old release has vulnerability data when the new one has.",
                "Without a baseline every vulnerability of the new release counts as new.",
                "Give --vulns-old (a scan of the old release) as well.",
            ),
            CheckId::Purls => (
                "Package URLs in the SBOMs that do not parse.",
                "A component without a usable purl is matched by name only, which is weaker.",
                "Fix the SBOM generator or report it upstream.",
            ),
        }
    }
}

/// SARIF rule documentation for every check.
pub fn rule_docs() -> Vec<RuleDoc> {
    CheckId::ALL
        .iter()
        .map(|c| {
            let (what, why, fix) = c.doc();
            RuleDoc::new(c.as_str(), what, why, fix)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_match_the_schema_pattern() {
        testkit::schema::assert_unique_valid_ids(CheckId::ALL.iter().map(|c| c.as_str()));
        assert_eq!(rule_docs().len(), CheckId::ALL.len());
    }
}
