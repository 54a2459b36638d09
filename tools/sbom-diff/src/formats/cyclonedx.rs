//! What the CycloneDX JSON and XML readers share: a vulnerability as either encoding
//! carries it, and how it becomes findings — the rating chosen, `affects` refs resolved to
//! components, VEX analysis state kept.

use std::collections::HashMap;

use crate::cvss;
use crate::model::{Component, Cvss, Finding, Severity};
use crate::purl::Purl;

#[derive(Debug, Default, Clone)]
pub struct RatingRaw {
    pub source: Option<String>,
    pub score: Option<f64>,
    pub severity: Option<String>,
    pub method: Option<String>,
    pub vector: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct VulnRaw {
    pub id: Option<String>,
    pub source: Option<String>,
    pub aliases: Vec<String>,
    pub ratings: Vec<RatingRaw>,
    pub affects: Vec<String>,
    /// `affects[].versions[]` with status `unaffected`: versions known not to be affected.
    pub fixed: Vec<String>,
    pub state: Option<String>,
}

/// Picks the rating that speaks for the vulnerability: the one from its own source (Trivy
/// and Grype set it), else a CVSS v3/v4 rating, else the worst stated severity; the score
/// is kept when the chosen rating has one.
fn choose(v: &VulnRaw) -> (Severity, Option<Cvss>) {
    let is_cvss3 = |r: &&RatingRaw| {
        r.method.as_deref().is_some_and(|m| {
            m.to_ascii_uppercase().starts_with("CVSSV3") || m.eq_ignore_ascii_case("CVSSv4")
        })
    };
    let rated = |r: &&RatingRaw| {
        r.severity
            .as_deref()
            .is_some_and(|s| Severity::parse(s) != Severity::Unknown)
            || (r.score.is_some() && cvss_method(r))
            || r.vector.is_some()
    };
    let own = v
        .ratings
        .iter()
        .filter(rated)
        .find(|r| r.source.is_some() && r.source == v.source);
    let chosen = own
        .or_else(|| v.ratings.iter().filter(rated).find(is_cvss3))
        .or_else(|| {
            v.ratings
                .iter()
                .filter(rated)
                .min_by_key(|r| severity_of(r).0)
        });
    let Some(r) = chosen else {
        return (Severity::Unknown, None);
    };
    let (sev, cvss) = severity_of(r);
    // A CVSS score elsewhere is still worth showing when the chosen rating has none.
    let cvss = cvss.or_else(|| {
        v.ratings.iter().filter(is_cvss3).find_map(|r| {
            r.score.map(|s| Cvss {
                score: s,
                vector: r.vector.clone(),
            })
        })
    });
    (sev, cvss)
}

/// A rating whose score is a CVSS score (EPSS probabilities come as `method: other`).
fn cvss_method(r: &RatingRaw) -> bool {
    r.method
        .as_deref()
        .is_none_or(|m| m.to_ascii_uppercase().starts_with("CVSS"))
}

fn severity_of(r: &RatingRaw) -> (Severity, Option<Cvss>) {
    let stated = r.severity.as_deref().map(Severity::parse);
    let computed = r.vector.as_deref().and_then(cvss::score);
    let score = r.score.filter(|_| cvss_method(r)).or(computed.map(|c| c.0));
    let sev = match (stated, score) {
        (Some(s), _) if s != Severity::Unknown => s,
        (_, Some(score)) => Severity::from_score(score),
        _ => Severity::Unknown,
    };
    let cvss = score.map(|score| Cvss {
        score,
        vector: r.vector.clone(),
    });
    (sev, cvss)
}

/// Turns vulnerabilities into one finding per affected component. `affects` refs are
/// resolved against the document's components by `bom-ref`; an unresolved ref that is a
/// purl is used as one; otherwise the ref is kept as the package name (a BOM-Link's
/// fragment), to be resolved later against the SBOM it refers to.
pub fn findings<'a>(
    vulns: Vec<VulnRaw>,
    components: impl Iterator<Item = &'a Component>,
) -> Vec<Finding> {
    let by_ref: HashMap<&str, &Component> = components
        .filter_map(|c| c.bom_ref.as_deref().map(|r| (r, c)))
        .collect();
    let mut out = Vec::new();
    for v in vulns {
        let Some(id) = v.id.clone().filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let (severity, cvss) = choose(&v);
        let mut aliases: Vec<String> = v
            .aliases
            .iter()
            .filter(|a| !a.eq_ignore_ascii_case(&id))
            .cloned()
            .collect();
        aliases.sort();
        aliases.dedup();
        let refs = if v.affects.is_empty() {
            vec![String::new()]
        } else {
            v.affects.clone()
        };
        for r in refs {
            let (purl, package, version) = match by_ref.get(r.as_str()) {
                Some(c) => (c.purl.clone(), c.display_name(), c.version.clone()),
                None => {
                    let fragment = r.rsplit_once('#').map_or(r.as_str(), |(_, f)| f);
                    match Purl::parse(fragment) {
                        Ok(p) => {
                            let version = p.version.clone();
                            (Some(p.clone()), p.name.clone(), version)
                        }
                        Err(_) => (None, fragment.to_owned(), None),
                    }
                }
            };
            out.push(Finding {
                id: id.trim().to_owned(),
                aliases: aliases.clone(),
                severity,
                cvss: cvss.clone(),
                fixed_in: v.fixed.clone(),
                purl,
                package,
                version,
                state: v.state.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rating(source: &str, sev: &str, method: &str, score: Option<f64>) -> RatingRaw {
        RatingRaw {
            source: (!source.is_empty()).then(|| source.to_owned()),
            score,
            severity: (!sev.is_empty()).then(|| sev.to_owned()),
            method: (!method.is_empty()).then(|| method.to_owned()),
            vector: None,
        }
    }

    #[test]
    fn the_vulnerabilitys_own_source_speaks_first() {
        let v = VulnRaw {
            id: Some("CVE-2019-11358".into()),
            source: Some("ghsa".into()),
            ratings: vec![
                rating("ubuntu", "low", "", None),
                rating("nvd", "medium", "CVSSv31", Some(6.1)),
                rating("ghsa", "high", "", None),
            ],
            ..VulnRaw::default()
        };
        let (sev, cvss) = choose(&v);
        assert_eq!(sev, Severity::High);
        assert_eq!(cvss.map(|c| c.score), Some(6.1));
    }

    #[test]
    fn a_score_without_a_word_still_rates() {
        let v = VulnRaw {
            id: Some("X".into()),
            ratings: vec![rating("", "", "CVSSv31", Some(9.8))],
            ..VulnRaw::default()
        };
        assert_eq!(choose(&v).0, Severity::Critical);
        let none = VulnRaw {
            id: Some("X".into()),
            ..VulnRaw::default()
        };
        assert_eq!(choose(&none), (Severity::Unknown, None));
    }
}
