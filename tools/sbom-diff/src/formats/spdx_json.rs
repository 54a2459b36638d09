//! Reads SPDX 2.2/2.3 JSON into an [`Sbom`]: packages with their purl external reference,
//! concluded (else declared) license and version; the package the document DESCRIBES is the
//! subject. A package without a `name` is an error (SPDX requires it).

use std::collections::HashSet;

use serde::Deserialize;

use super::common::{Builder, Raw, Text, list, text};
use crate::model::{Format, Sbom};

#[derive(Debug, Deserialize)]
pub struct Package {
    #[serde(rename = "SPDXID", default)]
    pub(super) spdx_id: Option<Text>,
    pub(super) name: Text,
    #[serde(rename = "versionInfo", default)]
    pub(super) version_info: Option<Text>,
    #[serde(rename = "licenseConcluded", default)]
    pub(super) license_concluded: Option<Text>,
    #[serde(rename = "licenseDeclared", default)]
    pub(super) license_declared: Option<Text>,
    #[serde(rename = "externalRefs", default, deserialize_with = "list")]
    pub(super) external_refs: Vec<ExternalRef>,
    #[serde(rename = "primaryPackagePurpose", default)]
    pub(super) purpose: Option<Text>,
}

#[derive(Debug, Deserialize)]
pub struct ExternalRef {
    #[serde(rename = "referenceType", default)]
    pub(super) reference_type: Option<Text>,
    #[serde(rename = "referenceLocator", default)]
    pub(super) reference_locator: Option<Text>,
}

#[derive(Debug, Deserialize)]
pub struct Relationship {
    #[serde(rename = "spdxElementId", default)]
    pub(super) element: Option<Text>,
    #[serde(rename = "relationshipType", default)]
    pub(super) kind: Option<Text>,
    #[serde(rename = "relatedSpdxElement", default)]
    pub(super) related: Option<Text>,
}

/// The SPDX parts of a JSON document.
#[derive(Debug)]
pub struct Doc {
    pub spdx_version: String,
    pub spdx_id: Option<String>,
    pub packages: Vec<Package>,
    pub relationships: Vec<Relationship>,
    pub document_describes: Vec<String>,
}

/// What the document describes: `documentDescribes` plus `DESCRIBES` / `DESCRIBED_BY`
/// relationships of the document itself.
fn described(doc: &Doc) -> HashSet<String> {
    let me = doc.spdx_id.as_deref().unwrap_or("SPDXRef-DOCUMENT");
    let mut ids: HashSet<String> = doc.document_describes.iter().cloned().collect();
    for r in &doc.relationships {
        let (Some(Text(e)), Some(Text(k)), Some(Text(rel))) = (&r.element, &r.kind, &r.related)
        else {
            continue;
        };
        match k.as_str() {
            "DESCRIBES" if e == me => {
                ids.insert(rel.clone());
            }
            "DESCRIBED_BY" if rel == me => {
                ids.insert(e.clone());
            }
            _ => {}
        }
    }
    ids
}

pub fn to_sbom(doc: Doc) -> Sbom {
    let described = described(&doc);
    let n_described = doc
        .packages
        .iter()
        .filter(|p| {
            p.spdx_id
                .as_ref()
                .is_some_and(|Text(id)| described.contains(id))
        })
        .count();
    let mut b = Builder::default();
    let mut subject = None;
    let mut components = Vec::with_capacity(doc.packages.len());
    let version = doc.spdx_version.trim_start_matches("SPDX-").to_owned();
    for p in doc.packages {
        let is_subject = n_described == 1
            && subject.is_none()
            && p.spdx_id
                .as_ref()
                .is_some_and(|Text(id)| described.contains(id));
        let purl = p.external_refs.into_iter().find_map(|r| {
            let t = text(r.reference_type)?;
            t.eq_ignore_ascii_case("purl")
                .then(|| text(r.reference_locator))
                .flatten()
        });
        let concluded = text(p.license_concluded).filter(|l| !is_no_assertion(l));
        let license = concluded.or_else(|| text(p.license_declared));
        let c = b.component(Raw {
            name: text(Some(p.name)),
            group: None,
            version: text(p.version_info),
            kind: text(p.purpose),
            purl,
            licenses: license.into_iter().collect(),
            bom_ref: text(p.spdx_id),
        });
        if is_subject {
            subject = Some(c);
        } else {
            components.push(c);
        }
    }
    Sbom {
        format: Format::SpdxJson(version),
        subject,
        components,
        vulnerabilities: None,
        invalid_purls: b.invalid_purls,
    }
}

fn is_no_assertion(s: &str) -> bool {
    s.eq_ignore_ascii_case("NOASSERTION") || s.eq_ignore_ascii_case("NONE")
}
