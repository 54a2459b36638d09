//! Turns a diff into what the report carries: the `data` payload
//! (`schemas/sbom-diff.schema.json`), the tables text and markdown show, and the summary line.

use gatehouse::Section;
use gatehouse::time::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::budget::Budget;
use crate::diff::{Diff, Pair};
use crate::model::{Component, Finding, Sbom, Severity};
use crate::vulns::VulnDiff;

/// One side of the diff, as the report describes it.
pub struct Side<'a> {
    pub label: &'a str,
    pub sbom: &'a Sbom,
    /// Where this side's vulnerabilities came from, when it has any.
    pub vulns_from: Option<String>,
}

fn component(c: &Component, budget: Option<&Budget>, now: Timestamp) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    if let Some(g) = &c.group {
        m.insert("group".into(), json!(g));
    }
    m.insert("version".into(), json!(c.version));
    m.insert("purl".into(), json!(c.purl_string()));
    m.insert("type".into(), json!(c.kind));
    m.insert(
        "license".into(),
        json!(c.license.as_ref().map(|l| l.text.clone())),
    );
    m.insert("ecosystem".into(), json!(c.ecosystem().as_str()));
    if let Some(e) = budget.and_then(|b| b.component_exception(c, now)) {
        m.insert("excepted".into(), json!(e.id));
    }
    Value::Object(m)
}

fn change(p: &Pair<'_>, budget: Option<&Budget>, now: Timestamp) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(p.new.name));
    if let Some(g) = &p.new.group {
        m.insert("group".into(), json!(g));
    }
    m.insert("purl".into(), json!(p.new.purl_string()));
    m.insert("old_version".into(), json!(p.old.version));
    m.insert("new_version".into(), json!(p.new.version));
    m.insert("ecosystem".into(), json!(p.ecosystem().as_str()));
    m.insert(
        "old_license".into(),
        json!(p.old.license.as_ref().map(|l| l.text.clone())),
    );
    m.insert(
        "new_license".into(),
        json!(p.new.license.as_ref().map(|l| l.text.clone())),
    );
    // Matched by a weaker tier (qualifiers, name): show what the old side called it.
    let identity = |c: &Component| c.purl.as_ref().map(crate::purl::Purl::identity);
    if identity(p.old) != identity(p.new) {
        m.insert("old_purl".into(), json!(p.old.purl_string()));
    }
    if let Some(e) = budget.and_then(|b| b.component_exception(p.new, now)) {
        m.insert("excepted".into(), json!(e.id));
    }
    Value::Object(m)
}

fn finding(f: &Finding, budget: Option<&Budget>, now: Timestamp) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(f.id));
    m.insert("aliases".into(), json!(f.aliases));
    m.insert("severity".into(), json!(f.severity.as_str()));
    m.insert(
        "cvss".into(),
        f.cvss.as_ref().map_or(
            Value::Null,
            |c| json!({"score": c.score, "vector": c.vector}),
        ),
    );
    m.insert(
        "purl".into(),
        json!(f.purl.as_ref().map(|p| {
            p.with_version(f.version.as_deref().or(p.version.as_deref()))
                .to_string()
        })),
    );
    m.insert("package".into(), json!(f.package));
    m.insert("version".into(), json!(f.version));
    m.insert("fixed_in".into(), json!(f.fixed_in));
    if let Some(s) = &f.state {
        m.insert("state".into(), json!(s));
    }
    if f.suppressed() {
        m.insert("suppressed".into(), json!(true));
    }
    if let Some(e) = budget.and_then(|b| b.finding_exception(f, now)) {
        m.insert("excepted".into(), json!(e.id));
    }
    Value::Object(m)
}

/// Counts by severity; VEX-suppressed findings are not counted.
fn by_severity(list: &[&Finding]) -> Value {
    let mut m = Map::new();
    for s in Severity::ALL {
        let n = list
            .iter()
            .filter(|f| f.severity == s && !f.suppressed())
            .count();
        m.insert(s.as_str().into(), json!(n));
    }
    Value::Object(m)
}

fn side(s: &Side<'_>) -> Value {
    json!({
        "path": s.label,
        "format": s.sbom.format.to_string(),
        "components": s.sbom.components.len(),
        "subject": s.sbom.subject.as_ref().map(|c| json!({
            "name": c.display_name(),
            "version": c.version,
            "purl": c.purl_string(),
        })),
        "vulnerabilities_from": s.vulns_from,
    })
}

/// The `data` of a diff report: `$defs/diff` in schemas/sbom-diff.schema.json. (Its keys
/// come out sorted, like those of every JSON object here.)
#[derive(Serialize)]
struct Data {
    old: Value,
    new: Value,
    counts: Value,
    added: Vec<Value>,
    removed: Vec<Value>,
    upgraded: Vec<Value>,
    downgraded: Vec<Value>,
    changed: Vec<Value>,
    license_changed: Vec<Value>,
    vulnerabilities: Option<Value>,
    budget: Option<Value>,
}

pub struct Payload<'a> {
    pub old: Side<'a>,
    pub new: Side<'a>,
    pub diff: &'a Diff<'a>,
    pub vulns: Option<&'a VulnDiff<'a>>,
    pub budget: Option<&'a Budget>,
    pub now: Timestamp,
}

impl Payload<'_> {
    pub fn data(&self) -> Value {
        let (d, b, now) = (self.diff, self.budget, self.now);
        let comps =
            |v: &[&Component]| -> Vec<Value> { v.iter().map(|c| component(c, b, now)).collect() };
        let changes =
            |v: &[Pair<'_>]| -> Vec<Value> { v.iter().map(|p| change(p, b, now)).collect() };
        let vulns = self.vulns.map(|v| {
            let list =
                |l: &[&Finding]| -> Vec<Value> { l.iter().map(|f| finding(f, b, now)).collect() };
            json!({
                "counts": {
                    "new": by_severity(&v.new),
                    "fixed": by_severity(&v.fixed),
                    "unchanged": by_severity(&v.unchanged),
                },
                "suppressed": v.new.iter().chain(&v.unchanged).filter(|f| f.suppressed()).count(),
                "new": list(&v.new),
                "fixed": list(&v.fixed),
                "unchanged": list(&v.unchanged),
            })
        });
        let budget = b.map(|b| {
            json!({
                "path": b.path,
                "license_scope": match b.license_scope {
                    crate::budget::LicenseScope::Changed => "changed",
                    crate::budget::LicenseScope::All => "all",
                },
                "exceptions": b.exceptions.iter().map(|e| json!({
                    "id": e.id,
                    "until": e.until,
                    "reason": e.reason,
                    "owner": e.owner,
                    "expired": e.expired(now),
                })).collect::<Vec<_>>(),
            })
        });
        json!(Data {
            old: side(&self.old),
            new: side(&self.new),
            counts: json!({
                "added": d.added.len(),
                "removed": d.removed.len(),
                "upgraded": d.upgraded.len(),
                "downgraded": d.downgraded.len(),
                "changed": d.changed.len(),
                "license_changed": d.license_changed.len(),
                "unchanged": d.unchanged.len(),
            }),
            added: comps(&d.added),
            removed: comps(&d.removed),
            upgraded: changes(&d.upgraded),
            downgraded: changes(&d.downgraded),
            changed: changes(&d.changed),
            license_changed: changes(&d.license_changed),
            vulnerabilities: vulns,
            budget,
        })
    }

    pub fn sections(&self, max_rows: usize) -> Vec<Section> {
        let d = self.diff;
        let mut out = vec![
            components_table("Added", &d.added, max_rows),
            components_table("Removed", &d.removed, max_rows),
        ];
        for (title, list) in [
            ("Upgraded", &d.upgraded),
            ("Downgraded", &d.downgraded),
            ("Version changed (unordered)", &d.changed),
        ] {
            if list.is_empty() && title.starts_with("Version") {
                continue;
            }
            out.push(changes_table(title, list, max_rows));
        }
        out.push(license_changes_table(&d.license_changed, max_rows));
        if let Some(v) = self.vulns {
            out.push(self.new_vulnerabilities_table(v, max_rows));
            out.push(fixed_vulnerabilities_table(v, max_rows));
        }
        out.into_iter().map(|s| s.with_max_rows(max_rows)).collect()
    }

    /// New vulnerabilities, with a note when VEX suppresses one or an exception covers it.
    fn new_vulnerabilities_table(&self, v: &VulnDiff<'_>, max_rows: usize) -> Section {
        let mut s = Section::new(
            format!("New vulnerabilities ({})", v.new.len()),
            &[
                "id", "severity", "cvss", "package", "version", "fixed in", "note",
            ],
        );
        for f in &v.new {
            let note = if f.suppressed() {
                format!("VEX: {}", f.state.as_deref().unwrap_or(""))
            } else if let Some(e) = self.budget.and_then(|b| b.finding_exception(f, self.now)) {
                format!("excepted until {}", e.until)
            } else {
                String::new()
            };
            row(&mut s, max_rows, || {
                vec![
                    f.id.clone(),
                    f.severity.as_str().to_owned(),
                    f.cvss
                        .as_ref()
                        .map_or_else(String::new, |c| format!("{:.1}", c.score)),
                    f.package.clone(),
                    f.version.clone().unwrap_or_default(),
                    f.fixed_in.join(", "),
                    note,
                ]
            });
        }
        s
    }

    pub fn summary(&self, failing: &[String]) -> String {
        let d = self.diff;
        let mut s = format!(
            "{} added, {} removed, {} upgraded, {} downgraded",
            d.added.len(),
            d.removed.len(),
            d.upgraded.len(),
            d.downgraded.len()
        );
        if !d.changed.is_empty() {
            s.push_str(&format!(", {} changed", d.changed.len()));
        }
        s.push_str(&format!(
            ", {} license {}",
            d.license_changed.len(),
            gatehouse::plural(d.license_changed.len(), "change", "changes")
        ));
        match self.vulns {
            Some(v) => {
                let counted: Vec<&&Finding> = v.new.iter().filter(|f| !f.suppressed()).collect();
                let mut by = Vec::new();
                for sev in Severity::ALL {
                    let n = counted.iter().filter(|f| f.severity == sev).count();
                    if n > 0 {
                        by.push(format!("{n} {}", sev.as_str()));
                    }
                }
                s.push_str(&format!(
                    "; {} new {}",
                    counted.len(),
                    gatehouse::plural(counted.len(), "vulnerability", "vulnerabilities")
                ));
                if !by.is_empty() {
                    s.push_str(&format!(" ({})", by.join(", ")));
                }
                s.push_str(&format!(", {} fixed", v.fixed.len()));
            }
            None => s.push_str("; no vulnerability data"),
        }
        if !failing.is_empty() {
            s.push_str(&format!("; over budget: {}", failing.join(", ")));
        }
        s
    }
}

/// A license cell: the expression as written, or a dash.
fn license_cell(c: &Component) -> String {
    c.license
        .as_ref()
        .map_or_else(|| "—".to_owned(), |l| l.text.clone())
}

/// A version cell: the version, or a dash.
fn version_cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "—".to_owned())
}

/// Added or removed components.
fn components_table(title: &str, list: &[&Component], max_rows: usize) -> Section {
    let mut s = Section::new(
        format!("{title} ({})", list.len()),
        &["component", "version", "license"],
    );
    for c in list {
        row(&mut s, max_rows, || {
            vec![c.display_name(), version_cell(&c.version), license_cell(c)]
        });
    }
    s
}

/// Upgraded, downgraded or otherwise changed versions.
fn changes_table(title: &str, list: &[Pair<'_>], max_rows: usize) -> Section {
    let mut s = Section::new(
        format!("{title} ({})", list.len()),
        &["component", "from", "to"],
    );
    for p in list {
        row(&mut s, max_rows, || {
            vec![
                p.new.display_name(),
                version_cell(&p.old.version),
                version_cell(&p.new.version),
            ]
        });
    }
    s
}

/// Matched components whose license expression changed.
fn license_changes_table(list: &[Pair<'_>], max_rows: usize) -> Section {
    let mut s = Section::new(
        format!("License changed ({})", list.len()),
        &["component", "version", "from", "to"],
    );
    for p in list {
        row(&mut s, max_rows, || {
            vec![
                p.new.display_name(),
                version_cell(&p.new.version),
                license_cell(p.old),
                license_cell(p.new),
            ]
        });
    }
    s
}

/// Vulnerabilities of the old release that the new one no longer has.
fn fixed_vulnerabilities_table(v: &VulnDiff<'_>, max_rows: usize) -> Section {
    let mut s = Section::new(
        format!("Fixed vulnerabilities ({})", v.fixed.len()),
        &["id", "severity", "package", "version"],
    );
    for f in &v.fixed {
        row(&mut s, max_rows, || {
            vec![
                f.id.clone(),
                f.severity.as_str().to_owned(),
                f.package.clone(),
                f.version.clone().unwrap_or_default(),
            ]
        });
    }
    s
}

/// Adds a table row; rows past `max_rows` are never shown (only counted, "… and N more"),
/// so they are added empty instead of being formatted.
fn row(s: &mut Section, max_rows: usize, cells: impl FnOnce() -> Vec<String>) {
    let cells = if s.rows.len() < max_rows {
        cells()
    } else {
        Vec::new()
    };
    s.row(cells);
}
