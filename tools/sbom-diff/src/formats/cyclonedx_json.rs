//! Reads CycloneDX JSON (spec 1.2–1.7, tolerant of fields it does not know) into an
//! [`Sbom`]: components (nested ones flattened, `metadata.component` as the subject and its
//! sub-components as components), licenses, and the `vulnerabilities` section.

use serde::Deserialize;

use super::common::{Builder, Raw, Text, list, text};
use super::cyclonedx::{RatingRaw, VulnRaw, findings};
use crate::model::{Component, Format, Sbom};

#[derive(Debug, Deserialize, Default)]
pub struct Metadata {
    #[serde(default)]
    pub component: Option<CdxComponent>,
}

#[derive(Debug, Deserialize, Default)]
pub struct CdxComponent {
    #[serde(rename = "type", default)]
    kind: Option<Text>,
    #[serde(default)]
    name: Option<Text>,
    #[serde(default)]
    group: Option<Text>,
    #[serde(default)]
    version: Option<Text>,
    #[serde(default)]
    purl: Option<Text>,
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<Text>,
    #[serde(default, deserialize_with = "list")]
    licenses: Vec<LicenseChoice>,
    #[serde(default, deserialize_with = "list")]
    components: Vec<CdxComponent>,
}

/// `{"license": {"id"|"name": …}}` or `{"expression": …}` (1.5+ also allows both shapes).
#[derive(Debug, Deserialize, Default)]
pub struct LicenseChoice {
    #[serde(default)]
    license: Option<LicenseEntry>,
    #[serde(default)]
    expression: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
pub struct LicenseEntry {
    #[serde(default)]
    id: Option<Text>,
    #[serde(default)]
    name: Option<Text>,
    #[serde(default)]
    expression: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Vulnerability {
    #[serde(default)]
    id: Option<Text>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default, deserialize_with = "list")]
    references: Vec<Reference>,
    #[serde(default, deserialize_with = "list")]
    ratings: Vec<Rating>,
    #[serde(default, deserialize_with = "list")]
    affects: Vec<Affects>,
    #[serde(default)]
    analysis: Option<Analysis>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Source {
    #[serde(default)]
    name: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Reference {
    #[serde(default)]
    id: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Rating {
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    score: Option<Text>,
    #[serde(default)]
    severity: Option<Text>,
    #[serde(default)]
    method: Option<Text>,
    #[serde(default)]
    vector: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Affects {
    #[serde(rename = "ref", default)]
    reference: Option<Text>,
    #[serde(default, deserialize_with = "list")]
    versions: Vec<AffectedVersion>,
}

#[derive(Debug, Deserialize, Default)]
pub struct AffectedVersion {
    #[serde(default)]
    version: Option<Text>,
    #[serde(default)]
    status: Option<Text>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Analysis {
    #[serde(default)]
    state: Option<Text>,
}

/// The CycloneDX parts of a JSON document.
pub struct Doc {
    pub spec_version: Option<String>,
    pub metadata: Option<Metadata>,
    pub components: Vec<CdxComponent>,
    pub vulnerabilities: Option<Vec<Vulnerability>>,
}

pub fn to_sbom(doc: Doc) -> Sbom {
    let mut b = Builder::default();
    let mut components = Vec::new();
    let mut subject = None;
    if let Some(root) = doc.metadata.and_then(|m| m.component) {
        let (s, subs) = convert(&mut b, root);
        subject = Some(s);
        flatten_into(&mut b, subs, &mut components);
    }
    flatten_into(&mut b, doc.components, &mut components);
    let vulnerabilities = doc.vulnerabilities.map(|vs| {
        let raws = vs.into_iter().map(vuln_raw).collect();
        findings(raws, components.iter().chain(subject.as_ref()))
    });
    Sbom {
        format: Format::CycloneDxJson(doc.spec_version.unwrap_or_else(|| "?".into())),
        subject,
        components,
        vulnerabilities,
        invalid_purls: b.invalid_purls,
    }
}

fn convert(b: &mut Builder, c: CdxComponent) -> (Component, Vec<CdxComponent>) {
    let mut licenses = Vec::new();
    for choice in c.licenses {
        if let Some(e) = text(choice.expression) {
            licenses.push(e);
        }
        if let Some(l) = choice.license
            && let Some(t) = text(l.id)
                .or_else(|| text(l.expression))
                .or_else(|| text(l.name))
        {
            licenses.push(t);
        }
    }
    let comp = b.component(Raw {
        name: text(c.name),
        group: text(c.group),
        version: text(c.version),
        kind: text(c.kind),
        purl: text(c.purl),
        licenses,
        bom_ref: text(c.bom_ref),
    });
    (comp, c.components)
}

/// Depth-first, in document order. Nesting depth is bounded by the JSON parser's recursion
/// limit (128), so recursing here is safe.
fn flatten_into(b: &mut Builder, roots: Vec<CdxComponent>, out: &mut Vec<Component>) {
    out.reserve(roots.len());
    for c in roots {
        let (comp, subs) = convert(b, c);
        out.push(comp);
        if !subs.is_empty() {
            flatten_into(b, subs, out);
        }
    }
}

fn vuln_raw(v: Vulnerability) -> VulnRaw {
    let mut fixed = Vec::new();
    let mut affects = Vec::new();
    for a in v.affects {
        if let Some(r) = text(a.reference) {
            affects.push(r);
        }
        for av in a.versions {
            let status = text(av.status).unwrap_or_default();
            if status.eq_ignore_ascii_case("unaffected")
                && let Some(ver) = text(av.version)
            {
                fixed.push(ver);
            }
        }
    }
    VulnRaw {
        id: text(v.id),
        source: v.source.and_then(|s| text(s.name)),
        aliases: v
            .references
            .into_iter()
            .filter_map(|r| text(r.id))
            .collect(),
        ratings: v
            .ratings
            .into_iter()
            .map(|r| RatingRaw {
                source: r.source.and_then(|s| text(s.name)),
                score: text(r.score).and_then(|s| s.parse().ok()),
                severity: text(r.severity),
                method: text(r.method),
                vector: text(r.vector),
            })
            .collect(),
        affects,
        fixed,
        state: v.analysis.and_then(|a| text(a.state)),
    }
}
