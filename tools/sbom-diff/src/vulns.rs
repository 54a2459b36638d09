//! Compares two releases' vulnerability findings: new, fixed, unchanged. A finding on the
//! new side matches one on the old side when they share an id or alias (a GHSA on one side
//! and its CVE on the other is one vulnerability) and name the same package — the same
//! purl identity when both have purls, else the same name. Knows nothing about budgets.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::model::{Finding, Sbom};

#[derive(Debug, Default)]
pub struct VulnDiff<'a> {
    pub new: Vec<&'a Finding>,
    pub fixed: Vec<&'a Finding>,
    pub unchanged: Vec<&'a Finding>,
}

/// Fills in the package of findings whose `affects` ref named a component of `sbom` by its
/// `bom-ref` (a VEX document or scanner SBOM given apart from the SBOM it describes).
pub fn resolve(findings: &mut [Finding], sbom: &Sbom) {
    let by_ref: HashMap<&str, &crate::model::Component> = sbom
        .components
        .iter()
        .chain(sbom.subject.as_ref())
        .filter_map(|c| c.bom_ref.as_deref().map(|r| (r, c)))
        .collect();
    for f in findings.iter_mut().filter(|f| f.purl.is_none()) {
        if let Some(c) = by_ref.get(f.package.as_str()) {
            f.purl.clone_from(&c.purl);
            f.package = c.display_name();
            f.version.clone_from(&c.version);
        }
    }
}

/// Merges findings that are one vulnerability in one package version: a scanner reporting a
/// package at several locations, or one vulnerability under two advisory records (OSV lists
/// GO-2021-0053 and GHSA-c3h9-896r-86jm, aliases of each other). The merged finding keeps
/// every id as an alias, the worst known severity, and the union of fixed-in versions.
pub fn dedup(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut by_package: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for f in findings {
        let key = (f.package_key(), f.version.clone().unwrap_or_default());
        let ids: HashSet<String> = f.ids().collect();
        let kept = by_package.entry(key).or_default();
        match kept
            .iter()
            .copied()
            .find(|&i| out[i].ids().any(|id| ids.contains(&id)))
        {
            Some(i) => merge(&mut out[i], f),
            None => {
                kept.push(out.len());
                out.push(f);
            }
        }
    }
    out
}

fn merge(into: &mut Finding, f: Finding) {
    let known: HashSet<String> = into.ids().collect();
    for id in std::iter::once(f.id).chain(f.aliases) {
        if !known.contains(&id.to_ascii_uppercase()) && !into.aliases.contains(&id) {
            into.aliases.push(id);
        }
    }
    into.aliases.sort();
    // Severity orders critical first; Unknown sorts last, so `min` is the worst known.
    into.severity = into.severity.min(f.severity);
    if into.cvss.is_none() {
        into.cvss = f.cvss;
    }
    for v in f.fixed_in {
        if !into.fixed_in.contains(&v) {
            into.fixed_in.push(v);
        }
    }
    if into.state.is_none() {
        into.state = f.state;
    }
}

fn package_name(f: &Finding) -> String {
    match &f.purl {
        Some(p) => p.name.to_lowercase(),
        None => f.package.to_lowercase(),
    }
}

fn same_package(a: &Finding, b: &Finding) -> bool {
    match (&a.purl, &b.purl) {
        (Some(x), Some(y)) => x.identity() == y.identity() || x.base() == y.base(),
        _ => package_name(a) == package_name(b),
    }
}

pub fn diff<'a>(old: &'a [Finding], new: &'a [Finding]) -> VulnDiff<'a> {
    let mut by_id: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, f) in old.iter().enumerate() {
        for id in f.ids() {
            by_id.entry(id).or_default().push(i);
        }
    }
    let mut used = vec![false; old.len()];
    let mut d = VulnDiff::default();
    for n in new {
        let mut candidates: Vec<usize> = n
            .ids()
            .filter_map(|id| by_id.get(&id))
            .flatten()
            .copied()
            .filter(|&i| !used[i] && same_package(&old[i], n))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        // The same installed version first, so a package kept at two versions pairs up right.
        let hit = candidates
            .iter()
            .copied()
            .find(|&i| old[i].version == n.version)
            .or_else(|| candidates.first().copied());
        match hit {
            Some(i) => {
                used[i] = true;
                d.unchanged.push(n);
            }
            None => d.new.push(n),
        }
    }
    d.fixed = old
        .iter()
        .enumerate()
        .filter(|(i, _)| !used[*i])
        .map(|(_, f)| f)
        .collect();
    for list in [&mut d.new, &mut d.fixed, &mut d.unchanged] {
        list.sort_by(|a, b| order(a, b));
    }
    d
}

/// Worst first, then by id and package.
fn order(a: &Finding, b: &Finding) -> Ordering {
    a.severity
        .cmp(&b.severity)
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.package_key().cmp(&b.package_key()))
        .then_with(|| a.version.cmp(&b.version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Severity;
    use crate::purl::Purl;

    fn f(id: &str, aliases: &[&str], purl: &str) -> Finding {
        let p = Purl::parse(purl).expect("purl");
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| (*s).to_owned()).collect(),
            severity: Severity::High,
            cvss: None,
            fixed_in: Vec::new(),
            package: p.name.clone(),
            version: p.version.clone(),
            purl: Some(p),
            state: None,
        }
    }

    #[test]
    fn aliases_join_ids_across_scanners() {
        let old = vec![
            f(
                "GHSA-jfh8-c2jp-5v3q",
                &["CVE-2021-44228"],
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
            ),
            f("CVE-2020-8203", &[], "pkg:npm/lodash@4.17.15"),
        ];
        let new = vec![
            f(
                "CVE-2021-44228",
                &[],
                "pkg:maven/org.apache.logging.log4j/log4j-core@2.15.0",
            ),
            f("CVE-2022-0001", &[], "pkg:npm/lodash@4.17.21"),
            // Same CVE, other package: a new occurrence.
            f(
                "CVE-2021-44228",
                &[],
                "pkg:maven/org.apache.logging.log4j/log4j-api@2.15.0",
            ),
        ];
        let d = diff(&old, &new);
        assert_eq!(d.unchanged.len(), 1);
        assert_eq!(d.new.len(), 2);
        assert_eq!(
            d.fixed.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["CVE-2020-8203"]
        );
    }

    #[test]
    fn duplicates_are_dropped_once() {
        let a = f("CVE-1", &[], "pkg:npm/x@1.0.0");
        let out = dedup(vec![
            a.clone(),
            a.clone(),
            f("CVE-1", &[], "pkg:npm/x@2.0.0"),
        ]);
        assert_eq!(out.len(), 2);
    }
}
