//! Reads OSV-Scanner JSON (`osv-scanner --format json`): each package's vulnerabilities,
//! with the OSV aliases; the severity comes from the group's `max_severity` score, the
//! advisory's own word (GHSA `database_specific.severity`), or a CVSS v3/v2 vector.

use serde::Deserialize;

use super::common::{Text, list, text};
use crate::cvss;
use crate::model::{Cvss, Finding, Severity};
use crate::purl::Purl;

#[derive(Debug, Deserialize)]
pub struct OsvResult {
    #[serde(default, deserialize_with = "list")]
    packages: Vec<PackageVulns>,
}

#[derive(Debug, Deserialize)]
struct PackageVulns {
    package: Package,
    #[serde(default, deserialize_with = "list")]
    vulnerabilities: Vec<Vuln>,
    #[serde(default, deserialize_with = "list")]
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
struct Package {
    name: Text,
    #[serde(default)]
    version: Option<Text>,
    #[serde(default)]
    ecosystem: Option<Text>,
    #[serde(default)]
    purl: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct Vuln {
    id: Text,
    #[serde(default, deserialize_with = "list")]
    aliases: Vec<Text>,
    #[serde(default, deserialize_with = "list")]
    severity: Vec<SeverityEntry>,
    #[serde(default, deserialize_with = "list")]
    affected: Vec<Affected>,
    #[serde(default)]
    database_specific: Option<DatabaseSpecific>,
}

#[derive(Debug, Deserialize)]
struct SeverityEntry {
    #[serde(default)]
    score: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct DatabaseSpecific {
    #[serde(default)]
    severity: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct Affected {
    #[serde(default, deserialize_with = "list")]
    ranges: Vec<Range>,
}

#[derive(Debug, Deserialize)]
struct Range {
    #[serde(default, deserialize_with = "list")]
    events: Vec<Event>,
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    fixed: Option<Text>,
}

#[derive(Debug, Deserialize)]
struct Group {
    #[serde(default, deserialize_with = "list")]
    ids: Vec<Text>,
    #[serde(default, deserialize_with = "list")]
    aliases: Vec<Text>,
    #[serde(default)]
    max_severity: Option<Text>,
}

/// OSV ecosystem names to purl types, for packages reported without a purl.
fn purl_type(ecosystem: &str) -> Option<&'static str> {
    Some(match ecosystem.split(':').next().unwrap_or("") {
        "npm" => "npm",
        "PyPI" => "pypi",
        "Go" => "golang",
        "crates.io" => "cargo",
        "Maven" => "maven",
        "NuGet" => "nuget",
        "RubyGems" => "gem",
        "Packagist" => "composer",
        "Pub" => "pub",
        "Hex" => "hex",
        "Debian" | "Ubuntu" => "deb",
        "Alpine" => "apk",
        _ => return None,
    })
}

fn package_purl(p: &Package) -> Option<Purl> {
    if let Some(Text(s)) = &p.purl {
        return Purl::parse(s).ok();
    }
    let ty = purl_type(p.ecosystem.as_ref()?.0.as_str())?;
    let name = &p.name.0;
    // Maven coordinates come as group:artifact; Go and npm scopes keep their slashes.
    let path = if ty == "maven" {
        name.replacen(':', "/", 1)
    } else if ty == "npm" {
        name.replacen('@', "%40", 1)
    } else {
        name.clone()
    };
    Purl::parse(&format!("pkg:{ty}/{path}")).ok()
}

pub fn findings(results: Vec<OsvResult>) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in results {
        for pv in r.packages {
            let purl = package_purl(&pv.package);
            let version = text(pv.package.version.clone());
            for v in pv.vulnerabilities {
                let id = v.id.0.trim().to_owned();
                let group = pv.groups.iter().find(|g| {
                    g.ids
                        .iter()
                        .chain(&g.aliases)
                        .any(|Text(x)| x.eq_ignore_ascii_case(&id))
                });
                let vector_score = v
                    .severity
                    .iter()
                    .filter_map(|s| s.score.as_ref())
                    .find_map(|Text(vec)| cvss::score(vec).map(|(sc, sev)| (sc, sev, vec.clone())));
                let group_score: Option<f64> = group
                    .and_then(|g| g.max_severity.as_ref())
                    .and_then(|Text(s)| s.parse().ok());
                let word = v
                    .database_specific
                    .as_ref()
                    .and_then(|d| d.severity.as_ref())
                    .map(|Text(s)| Severity::parse(s))
                    .filter(|s| *s != Severity::Unknown);
                let cvss = vector_score
                    .as_ref()
                    .map(|(score, _, vector)| Cvss {
                        score: *score,
                        vector: Some(vector.clone()),
                    })
                    .or(group_score.map(|score| Cvss {
                        score,
                        vector: None,
                    }));
                let severity = group_score
                    .map(Severity::from_score)
                    .or(word)
                    .or(vector_score.map(|(_, sev, _)| sev))
                    .unwrap_or(Severity::Unknown);
                let mut aliases: Vec<String> = v
                    .aliases
                    .iter()
                    .chain(group.map_or(&[][..], |g| &g.ids[..]))
                    .chain(group.map_or(&[][..], |g| &g.aliases[..]))
                    .map(|Text(a)| a.clone())
                    .filter(|a| !a.eq_ignore_ascii_case(&id))
                    .collect();
                aliases.sort();
                aliases.dedup();
                let mut fixed_in: Vec<String> = v
                    .affected
                    .iter()
                    .flat_map(|a| &a.ranges)
                    .flat_map(|r| &r.events)
                    .filter_map(|e| e.fixed.as_ref().map(|Text(f)| f.clone()))
                    .collect();
                fixed_in.sort();
                fixed_in.dedup();
                out.push(Finding {
                    id,
                    aliases,
                    severity,
                    cvss,
                    fixed_in,
                    purl: purl.clone(),
                    package: pv.package.name.0.clone(),
                    version: version.clone(),
                    state: None,
                });
            }
        }
    }
    out
}
