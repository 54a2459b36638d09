//! The one component model every reader fills: an SBOM is its subject, its components and
//! (when it carries them) its vulnerabilities. Knows nothing about file formats or budgets.

use std::fmt;
use std::rc::Rc;

use crate::license::License;
use crate::purl::Purl;
use crate::version::Ecosystem;

/// Which reader produced an SBOM or a vulnerability list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    CycloneDxJson(String),
    CycloneDxXml(String),
    SpdxJson(String),
    SpdxTagValue(String),
    Grype,
    Trivy,
    OsvScanner,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Format::CycloneDxJson(v) => write!(f, "CycloneDX {v} JSON"),
            Format::CycloneDxXml(v) => write!(f, "CycloneDX {v} XML"),
            Format::SpdxJson(v) => write!(f, "SPDX {v} JSON"),
            Format::SpdxTagValue(v) => write!(f, "SPDX {v} tag-value"),
            Format::Grype => f.write_str("Grype JSON"),
            Format::Trivy => f.write_str("Trivy JSON"),
            Format::OsvScanner => f.write_str("OSV-Scanner JSON"),
        }
    }
}

/// One package (or file, container, …) listed in an SBOM.
#[derive(Debug, Clone, Default)]
pub struct Component {
    pub name: String,
    /// CycloneDX `group` (Maven groupId, npm scope); SPDX has none.
    pub group: Option<String>,
    pub version: Option<String>,
    /// CycloneDX `type` (library, application, …) or SPDX `primaryPackagePurpose`, lowercase.
    pub kind: Option<String>,
    pub purl: Option<Purl>,
    /// The purl as the SBOM wrote it (what reports show, so it can be found in the file).
    pub purl_text: Option<String>,
    pub license: Option<Rc<License>>,
    /// CycloneDX `bom-ref` / SPDX `SPDXID`, to resolve vulnerability `affects`.
    pub bom_ref: Option<String>,
}

impl Component {
    /// How this component's versions are ordered.
    pub fn ecosystem(&self) -> Ecosystem {
        self.purl
            .as_ref()
            .map_or(Ecosystem::Generic, |p| Ecosystem::from_purl_type(&p.ty))
    }

    /// The version to compare: the component's own, else the purl's (with RPM's epoch).
    pub fn comparable_version(&self) -> Option<String> {
        match (&self.purl, &self.version) {
            (Some(p), Some(v)) if p.ty == "rpm" => p.with_version(Some(v)).comparable_version(),
            (_, Some(v)) => Some(v.clone()),
            (Some(p), None) => p.comparable_version(),
            (None, None) => None,
        }
    }

    /// `group/name` or `name`.
    pub fn display_name(&self) -> String {
        match &self.group {
            Some(g) if !g.is_empty() => format!("{g}/{}", self.name),
            _ => self.name.clone(),
        }
    }

    /// The purl for reports: as the SBOM wrote it, else the canonical form.
    pub fn purl_string(&self) -> Option<String> {
        match (&self.purl_text, &self.purl) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(p)) => Some(
                p.with_version(self.version.as_deref().or(p.version.as_deref()))
                    .to_string(),
            ),
            (None, None) => None,
        }
    }
}

/// CVSS / scanner severity, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    /// Grype's Negligible, CycloneDX's info/none.
    Negligible,
    Unknown,
}

impl Severity {
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Negligible,
        Severity::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Negligible => "negligible",
            Severity::Unknown => "unknown",
        }
    }

    /// Reads a scanner's word (`CRITICAL`, `High`, `moderate`, `info`, …).
    pub fn parse(s: &str) -> Severity {
        match s.trim().to_ascii_lowercase().as_str() {
            "critical" => Severity::Critical,
            "high" | "important" => Severity::High,
            "medium" | "moderate" => Severity::Medium,
            "low" => Severity::Low,
            "negligible" | "info" | "informational" | "none" => Severity::Negligible,
            _ => Severity::Unknown,
        }
    }

    /// The CVSS qualitative rating of a base score (CVSS v3.1 §5).
    pub fn from_score(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Negligible
        }
    }
}

/// A CVSS score as a scanner or SBOM gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cvss {
    pub score: f64,
    pub vector: Option<String>,
}

/// One vulnerability in one package.
#[derive(Debug, Clone)]
pub struct Finding {
    pub id: String,
    pub aliases: Vec<String>,
    pub severity: Severity,
    pub cvss: Option<Cvss>,
    pub fixed_in: Vec<String>,
    /// The affected package: its purl when known.
    pub purl: Option<Purl>,
    /// Name and version when there is no purl (or as the scanner wrote them).
    pub package: String,
    pub version: Option<String>,
    /// A VEX analysis state (`not_affected`, `false_positive`, `resolved`, …) when given.
    pub state: Option<String>,
}

impl Finding {
    /// Every id this finding is known by, uppercase.
    pub fn ids(&self) -> impl Iterator<Item = String> + '_ {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .map(|s| s.to_ascii_uppercase())
    }

    /// The package identity: the purl's identity, else the name lowercased.
    pub fn package_key(&self) -> String {
        match &self.purl {
            Some(p) => p.identity(),
            None => self.package.to_lowercase(),
        }
    }

    /// A VEX statement says this vulnerability does not affect the product: CycloneDX
    /// `analysis.state` not_affected / false_positive / resolved(_with_pedigree), Trivy's
    /// `Status: not_affected`. (Trivy's `fixed` means a fix exists, not that it is applied.)
    pub fn suppressed(&self) -> bool {
        matches!(
            self.state.as_deref(),
            Some("not_affected" | "false_positive" | "resolved" | "resolved_with_pedigree")
        )
    }
}

/// A parsed SBOM.
#[derive(Debug, Clone)]
pub struct Sbom {
    pub format: Format,
    /// What the SBOM describes (CycloneDX `metadata.component`, SPDX `documentDescribes`):
    /// reported apart, not diffed as a dependency.
    pub subject: Option<Component>,
    pub components: Vec<Component>,
    /// `None` when the document has no vulnerability section at all.
    pub vulnerabilities: Option<Vec<Finding>>,
    /// Purls that did not parse; the components fall back to name matching.
    pub invalid_purls: usize,
}

/// Vulnerabilities read from a scanner report (or an SBOM given with `--vulns-*`).
#[derive(Debug, Clone)]
pub struct VulnReport {
    pub format: Format,
    pub findings: Vec<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_read_every_scanners_words() {
        assert_eq!(Severity::parse("CRITICAL"), Severity::Critical);
        assert_eq!(Severity::parse("Moderate"), Severity::Medium);
        assert_eq!(Severity::parse("Negligible"), Severity::Negligible);
        assert_eq!(Severity::parse("whatever"), Severity::Unknown);
        assert_eq!(Severity::from_score(9.8), Severity::Critical);
        assert_eq!(Severity::from_score(7.0), Severity::High);
        assert_eq!(Severity::from_score(6.9), Severity::Medium);
        assert_eq!(Severity::from_score(0.1), Severity::Low);
    }
}
