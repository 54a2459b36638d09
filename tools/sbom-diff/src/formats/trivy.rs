//! Reads Trivy JSON (`trivy … --format json`, SchemaVersion 2): every result's
//! vulnerabilities; results of other classes (secrets, misconfigurations, licenses) carry
//! none and are skipped.

use serde::Deserialize;

use super::common::{Text, list, text};
use crate::model::{Cvss, Finding, Severity};
use crate::purl::Purl;

#[derive(Debug, Deserialize)]
pub struct TrivyResult {
    #[serde(rename = "Vulnerabilities", default, deserialize_with = "list")]
    vulnerabilities: Vec<Vuln>,
}

#[derive(Debug, Deserialize)]
struct Vuln {
    #[serde(rename = "VulnerabilityID")]
    id: Text,
    #[serde(rename = "VendorIDs", default, deserialize_with = "list")]
    vendor_ids: Vec<Text>,
    #[serde(rename = "PkgName", default)]
    pkg_name: Option<Text>,
    #[serde(rename = "PkgIdentifier", default)]
    pkg_identifier: Option<PkgIdentifier>,
    #[serde(rename = "InstalledVersion", default)]
    installed: Option<Text>,
    #[serde(rename = "FixedVersion", default)]
    fixed: Option<Text>,
    #[serde(rename = "Status", default)]
    status: Option<Text>,
    #[serde(rename = "Severity", default)]
    severity: Option<Text>,
    #[serde(rename = "SeveritySource", default)]
    severity_source: Option<Text>,
    #[serde(rename = "CVSS", default)]
    cvss: Option<std::collections::BTreeMap<String, CvssEntry>>,
}

#[derive(Debug, Deserialize)]
struct PkgIdentifier {
    #[serde(rename = "PURL", default)]
    purl: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct CvssEntry {
    #[serde(rename = "V40Score", default)]
    v40_score: Option<f64>,
    #[serde(rename = "V40Vector", default)]
    v40_vector: Option<Text>,
    #[serde(rename = "V3Score", default)]
    v3_score: Option<f64>,
    #[serde(rename = "V3Vector", default)]
    v3_vector: Option<Text>,
    #[serde(rename = "V2Score", default)]
    v2_score: Option<f64>,
    #[serde(rename = "V2Vector", default)]
    v2_vector: Option<Text>,
}

impl CvssEntry {
    fn best(&self) -> Option<Cvss> {
        [
            (self.v40_score, &self.v40_vector),
            (self.v3_score, &self.v3_vector),
            (self.v2_score, &self.v2_vector),
        ]
        .into_iter()
        .find_map(|(score, vector)| {
            score.map(|score| Cvss {
                score,
                vector: vector.as_ref().map(|Text(v)| v.clone()),
            })
        })
    }
}

/// The CVSS entry of the severity's source, else NVD's, else any.
fn cvss(v: &Vuln) -> Option<Cvss> {
    let map = v.cvss.as_ref()?;
    let source = v.severity_source.as_ref().map(|Text(s)| s.as_str());
    source
        .and_then(|s| map.get(s))
        .and_then(CvssEntry::best)
        .or_else(|| map.get("nvd").and_then(CvssEntry::best))
        .or_else(|| map.values().find_map(CvssEntry::best))
}

pub fn findings(results: Vec<TrivyResult>) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in results {
        for v in r.vulnerabilities {
            let cvss = cvss(&v);
            let severity = match text(v.severity.clone()).map(|s| Severity::parse(&s)) {
                Some(s) if s != Severity::Unknown => s,
                _ => cvss
                    .as_ref()
                    .map_or(Severity::Unknown, |c| Severity::from_score(c.score)),
            };
            let id = v.id.0.trim().to_owned();
            let mut aliases: Vec<String> = v
                .vendor_ids
                .into_iter()
                .map(|Text(s)| s)
                .filter(|a| !a.eq_ignore_ascii_case(&id))
                .collect();
            aliases.sort();
            aliases.dedup();
            let purl = v
                .pkg_identifier
                .and_then(|p| text(p.purl))
                .and_then(|p| Purl::parse(&p).ok());
            let package = text(v.pkg_name)
                .or_else(|| purl.as_ref().map(|p| p.name.clone()))
                .unwrap_or_default();
            out.push(Finding {
                id,
                aliases,
                severity,
                cvss,
                // Trivy lists several fixed versions comma-separated (one per branch).
                fixed_in: text(v.fixed)
                    .map(|f| {
                        f.split(',')
                            .map(|s| s.trim().to_owned())
                            .filter(|s| !s.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                purl,
                package,
                version: text(v.installed),
                state: text(v.status),
            });
        }
    }
    out
}
