//! Reads Grype JSON (`grype -o json`): one finding per match, with the related
//! vulnerabilities' ids as aliases, Grype's severity, the best CVSS score it lists and the
//! fixed-in versions.

use serde::Deserialize;

use super::common::{Text, list, text};
use crate::model::{Cvss, Finding, Severity};
use crate::purl::Purl;

#[derive(Debug, Deserialize)]
pub struct Match {
    vulnerability: Vuln,
    #[serde(rename = "relatedVulnerabilities", default, deserialize_with = "list")]
    related: Vec<Vuln>,
    artifact: Artifact,
}

#[derive(Debug, Deserialize)]
struct Vuln {
    id: Text,
    #[serde(default)]
    severity: Option<Text>,
    #[serde(default, deserialize_with = "list")]
    cvss: Vec<CvssEntry>,
    #[serde(default)]
    fix: Option<Fix>,
}

#[derive(Debug, Deserialize)]
struct CvssEntry {
    #[serde(default)]
    version: Option<Text>,
    #[serde(default)]
    vector: Option<Text>,
    #[serde(default)]
    metrics: Option<Metrics>,
}

#[derive(Debug, Deserialize)]
struct Metrics {
    #[serde(rename = "baseScore", default)]
    base_score: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Fix {
    #[serde(default, deserialize_with = "list")]
    versions: Vec<Text>,
}

#[derive(Debug, Deserialize)]
struct Artifact {
    name: Text,
    #[serde(default)]
    version: Option<Text>,
    #[serde(default)]
    purl: Option<Text>,
}

/// The CVSS entry with the highest CVSS version (v3.1 over v2), from the match's own
/// vulnerability first, then from the related (usually NVD) records.
fn best_cvss(v: &Vuln, related: &[Vuln]) -> Option<Cvss> {
    std::iter::once(v)
        .chain(related)
        .map(|v| {
            v.cvss
                .iter()
                .filter_map(|c| {
                    let score = c.metrics.as_ref()?.base_score?;
                    let version = c
                        .version
                        .as_ref()
                        .map(|Text(s)| s.clone())
                        .unwrap_or_default();
                    Some((version, score, c.vector.as_ref().map(|Text(s)| s.clone())))
                })
                .max_by(|a, b| a.0.cmp(&b.0))
        })
        .find_map(|best| best)
        .map(|(_, score, vector)| Cvss { score, vector })
}

pub fn findings(matches: Vec<Match>) -> Vec<Finding> {
    matches
        .into_iter()
        .map(|m| {
            let cvss = best_cvss(&m.vulnerability, &m.related);
            let severity = match text(m.vulnerability.severity.clone()).map(|s| Severity::parse(&s))
            {
                Some(s) if s != Severity::Unknown => s,
                _ => cvss
                    .as_ref()
                    .map_or(Severity::Unknown, |c| Severity::from_score(c.score)),
            };
            let Text(id) = m.vulnerability.id;
            let mut aliases: Vec<String> = m
                .related
                .into_iter()
                .map(|r| r.id.0)
                .filter(|a| !a.eq_ignore_ascii_case(&id))
                .collect();
            aliases.sort();
            aliases.dedup();
            let purl = text(m.artifact.purl).and_then(|p| Purl::parse(&p).ok());
            Finding {
                id,
                aliases,
                severity,
                cvss,
                fixed_in: m
                    .vulnerability
                    .fix
                    .map(|f| f.versions.into_iter().map(|Text(v)| v).collect())
                    .unwrap_or_default(),
                purl,
                package: m.artifact.name.0,
                version: text(m.artifact.version),
                state: None,
            }
        })
        .collect()
}
