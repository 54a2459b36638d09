//! Every check id sbom-diff can emit, with what it judges, why it matters and how to fix a
//! failure: the doc comments are the `checks` listing, SARIF rule help and the table in
//! docs/sbom-diff.md. Nothing else writes a check id as a string.

use crate::model::Severity;

gatehouse::checks! {
    /// New critical vulnerabilities against max_new_vulnerabilities.critical.
    ///
    /// Why: A release must not ship a known critical hole it did not have before.
    ///
    /// Fix: Upgrade to the fixed-in version, or add a time-boxed exception with a reason.
    NewCritical = "budget.new_critical";
    /// New high vulnerabilities against max_new_vulnerabilities.high.
    ///
    /// Why: High-severity findings are the next thing attackers use.
    ///
    /// Fix: Upgrade to the fixed-in version, or add a time-boxed exception.
    NewHigh = "budget.new_high";
    /// New medium vulnerabilities against max_new_vulnerabilities.medium.
    ///
    /// Why: Medium findings pile up unless each release keeps them in budget.
    ///
    /// Fix: Upgrade, or raise the budget deliberately.
    NewMedium = "budget.new_medium";
    /// New low vulnerabilities against max_new_vulnerabilities.low.
    ///
    /// Why: Some teams budget even low findings to keep the backlog bounded.
    ///
    /// Fix: Upgrade, or raise the budget.
    NewLow = "budget.new_low";
    /// New negligible vulnerabilities against max_new_vulnerabilities.negligible.
    ///
    /// Why: Rarely budgeted; present for completeness.
    ///
    /// Fix: Upgrade, or drop the line.
    NewNegligible = "budget.new_negligible";
    /// New vulnerabilities of unknown severity against max_new_vulnerabilities.unknown.
    ///
    /// Why: An unrated vulnerability may be critical; some teams want to look at each.
    ///
    /// Fix: Check the advisory; upgrade or add an exception.
    NewUnknown = "budget.new_unknown";
    /// Components added by this release against max_added_components.
    ///
    /// Why: Every new dependency is new attack surface and new maintenance.
    ///
    /// Fix: Drop the dependency, or raise the budget in review.
    AddedComponents = "budget.added_components";
    /// Added or license-changed components (every component with license_scope: all) whose
    /// license expression cannot be satisfied without a license on deny_licenses.
    ///
    /// Why: Shipping a denied license is a legal problem, not a technical one.
    ///
    /// Fix: Replace the component, choose another licensing option, or ask legal for an
    /// exception.
    DeniedLicenses = "budget.denied_licenses";
    /// Components in scope whose license expression cannot be satisfied with licenses on
    /// allow_licenses; a component without license information is not allowed.
    ///
    /// Why: An allowlist is a positive statement that every license was reviewed.
    ///
    /// Fix: Get the license reviewed and added, or replace the component.
    AllowedLicenses = "budget.allowed_licenses";
    /// Components whose version went down, when deny_downgrades: true.
    ///
    /// Why: A downgrade usually reintroduces fixed bugs and vulnerabilities, often by
    /// accident.
    ///
    /// Fix: Restore the newer version, or add an exception for the package.
    Downgrades = "budget.downgrades";
    /// A budget exception whose until date has passed.
    ///
    /// Why: Exceptions are time-boxed; an expired one stops counting, so what it covered
    /// counts against the budget again.
    ///
    /// Fix: Fix the finding, or renew the exception with a new date and reason.
    ExceptionExpired = "budget.exception_expired";
    /// Whether a budget was given.
    ///
    /// Why: Without --budget the diff is reported but nothing is judged.
    ///
    /// Fix: Pass --budget FILE.
    Budget = "budget";
    /// Whether both releases have vulnerability data when one of them has.
    ///
    /// Why: Without a baseline every vulnerability of the new release counts as new; without
    /// data for the new release vulnerabilities are not compared.
    ///
    /// Fix: Give --vulns-old or --vulns-new (a scan of that release) as well.
    VulnerabilityBaseline = "input.vulnerability_baseline";
    /// Package URLs in the SBOMs that do not parse.
    ///
    /// Why: A component without a usable purl is matched by name only, which is weaker.
    ///
    /// Fix: Fix the SBOM generator or report it upstream.
    Purls = "input.purls";
}

impl CheckId {
    /// The budget check of new vulnerabilities of one severity.
    pub(crate) fn new_vulnerabilities(s: Severity) -> CheckId {
        match s {
            Severity::Critical => CheckId::NewCritical,
            Severity::High => CheckId::NewHigh,
            Severity::Medium => CheckId::NewMedium,
            Severity::Low => CheckId::NewLow,
            Severity::Negligible => CheckId::NewNegligible,
            Severity::Unknown => CheckId::NewUnknown,
        }
    }
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
