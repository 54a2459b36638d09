//! Reads one input: a path or `-`, size-capped, gunzipped when it is gzip (the decompressed
//! size capped too), then recognised by its content — CycloneDX JSON/XML, SPDX JSON or
//! tag-value, a Grype, Trivy or OSV-Scanner report — and handed to its reader. Every
//! refusal is one line naming the input.

use std::io::Read;

use gatehouse::input::{InputError, line_col, read_limited};
use gatehouse::{Evidence, Source};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::Error;
use crate::formats::common::{Text, list, text};
use crate::formats::{cyclonedx_json, cyclonedx_xml, grype, osv, spdx_json, spdx_tag, trivy};
use crate::model::{Format, Sbom, VulnReport};

/// What an input turned out to be.
#[derive(Debug)]
pub enum Document {
    Sbom(Box<Sbom>),
    Vulns(VulnReport),
}

/// An input read and recognised, with the digest of the bytes as given (for evidence).
#[derive(Debug)]
pub struct Loaded {
    pub label: String,
    pub evidence: Evidence,
    pub doc: Document,
}

/// Every top-level field any supported JSON format is recognised or read by. One pass of
/// the parser reads whichever format it is; fields of the other formats stay absent.
#[derive(Debug, Deserialize, Default)]
struct AnyDoc {
    // CycloneDX
    #[serde(rename = "bomFormat", default)]
    bom_format: Option<Text>,
    #[serde(rename = "specVersion", default)]
    spec_version: Option<Text>,
    #[serde(default)]
    metadata: Option<cyclonedx_json::Metadata>,
    #[serde(default)]
    components: Option<Vec<cyclonedx_json::CdxComponent>>,
    #[serde(default)]
    vulnerabilities: Option<Vec<cyclonedx_json::Vulnerability>>,
    // SPDX 2
    #[serde(rename = "spdxVersion", default)]
    spdx_version: Option<Text>,
    #[serde(rename = "SPDXID", default)]
    spdx_id: Option<Text>,
    #[serde(default)]
    packages: Option<Vec<spdx_json::Package>>,
    #[serde(default, deserialize_with = "list")]
    relationships: Vec<spdx_json::Relationship>,
    #[serde(rename = "documentDescribes", default, deserialize_with = "list")]
    document_describes: Vec<Text>,
    // Grype
    #[serde(default)]
    matches: Option<Vec<grype::Match>>,
    // Trivy
    #[serde(rename = "SchemaVersion", default)]
    trivy_schema: Option<IgnoredAny>,
    #[serde(rename = "Results", default, deserialize_with = "list")]
    trivy_results: Vec<trivy::TrivyResult>,
    #[serde(rename = "ArtifactName", default)]
    trivy_artifact: Option<IgnoredAny>,
    // OSV-Scanner
    #[serde(default)]
    results: Option<Vec<osv::OsvResult>>,
    // Recognised only to be refused with a useful message.
    #[serde(default)]
    runs: Option<IgnoredAny>,
    #[serde(rename = "@context", default)]
    json_ld: Option<IgnoredAny>,
}

/// Reads and recognises `source`; `limit` caps the file and its decompressed content.
pub fn load(source: &Source, limit: u64) -> Result<Loaded, Error> {
    let _s = gatehouse::trace::step("read");
    let label = source.label();
    let input = read_limited(source, limit).map_err(|e| match e {
        InputError::TooLarge { path, limit } => Error::TooLarge {
            path,
            what: "the file",
            limit,
        },
        other => Error::Input(other),
    })?;
    let evidence = Evidence::of_bytes(&label, &input.bytes);
    let bytes = if input.bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(&label, &input.bytes, limit)?
    } else {
        input.bytes
    };
    let doc = parse_bytes(&label, bytes)?;
    Ok(Loaded {
        label,
        evidence,
        doc,
    })
}

fn gunzip(label: &str, bytes: &[u8], limit: u64) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| {
            InputError::invalid(label, format!("gzip data is corrupt or truncated: {e}"))
        })?;
    if out.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: label.to_owned(),
            what: "the decompressed content",
            limit,
        });
    }
    Ok(out)
}

/// Recognises and parses an input already in memory.
pub fn parse_bytes(label: &str, bytes: Vec<u8>) -> Result<Document, Error> {
    let _s = gatehouse::trace::step("parse");
    let input = gatehouse::Input {
        source: Source::new(label),
        bytes,
    };
    let text = input.text().map_err(|e| relabel(e, label))?;
    let trimmed = text.trim_start();
    let invalid = |m: &str| Error::Input(InputError::invalid(label, m));
    match trimmed.as_bytes().first() {
        None => Err(invalid("is empty: not an SBOM")),
        Some(b'{') => parse_json(label, text),
        Some(b'[') => Err(invalid(
            "is a JSON array: neither an SBOM (CycloneDX, SPDX) nor a Grype, Trivy or OSV-Scanner report",
        )),
        Some(b'<') => cyclonedx_xml::parse(text)
            .map(|s| Document::Sbom(Box::new(s)))
            .map_err(|e| {
                let (line, column) = line_col(
                    text.as_bytes(),
                    usize::try_from(e.offset).unwrap_or(usize::MAX),
                );
                Error::Input(InputError::Parse {
                    path: label.to_owned(),
                    line,
                    column,
                    message: e.message,
                })
            }),
        Some(_) if looks_like_tag_value(trimmed) => spdx_tag::parse(text)
            .map(|doc| {
                let mut sbom = spdx_json::to_sbom(doc);
                if let Format::SpdxJson(v) = &sbom.format {
                    sbom.format = Format::SpdxTagValue(v.clone());
                }
                Document::Sbom(Box::new(sbom))
            })
            .map_err(|e| {
                Error::Input(InputError::Parse {
                    path: label.to_owned(),
                    line: e.line,
                    column: 1,
                    message: e.message,
                })
            }),
        Some(_) => Err(invalid(
            "is neither JSON, XML nor SPDX tag-value: not an SBOM or a vulnerability report",
        )),
    }
}

/// `Source::new(label)` turned `-` into `<stdin>` already; keep the caller's label.
fn relabel(e: InputError, label: &str) -> Error {
    match e {
        InputError::Parse {
            line,
            column,
            message,
            ..
        } => Error::Input(InputError::Parse {
            path: label.to_owned(),
            line,
            column,
            message,
        }),
        other => Error::Input(other),
    }
}

fn looks_like_tag_value(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("SPDXVersion:"))
}

fn parse_json(label: &str, text: &str) -> Result<Document, Error> {
    let doc: AnyDoc = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(first) => return Err(json_error(label, text, &first)),
    };
    recognise(label, doc)
}

/// The parse error with the JSON path of the bad field (`components[3].version`) when the
/// JSON is well-formed but a field has the wrong shape: parsing again with path tracking
/// costs nothing on the happy path.
fn json_error(label: &str, text: &str, first: &serde_json::Error) -> Error {
    if first.classify() == serde_json::error::Category::Data {
        let mut de = serde_json::Deserializer::from_str(text);
        if let Err(e) = serde_path_to_error::deserialize::<_, AnyDoc>(&mut de) {
            let path = e.path().to_string();
            if let InputError::Parse {
                path: file,
                line,
                column,
                message,
            } = gatehouse::input::json_error(label, e.inner())
            {
                let message = if path.is_empty() || path == "." {
                    message
                } else {
                    format!("{path}: {message}")
                };
                return Error::Input(InputError::Parse {
                    path: file,
                    line,
                    column,
                    message,
                });
            }
        }
    }
    Error::Input(gatehouse::input::json_error(label, first))
}

fn recognise(label: &str, doc: AnyDoc) -> Result<Document, Error> {
    let invalid = |m: String| Error::Input(InputError::invalid(label, m));
    if let Some(v) = text(doc.spdx_version.clone()) {
        if !v.starts_with("SPDX-2.") {
            return Err(invalid(format!(
                "spdxVersion {v:?} is not supported (SPDX 2.2 and 2.3 are)"
            )));
        }
        return Ok(spdx_sbom(v, doc));
    }
    let bom_format = text(doc.bom_format.clone());
    let is_cdx = match bom_format.as_deref() {
        Some(f) if f.eq_ignore_ascii_case("CycloneDX") => true,
        Some(f) => {
            return Err(invalid(format!("bomFormat is {f:?}, not \"CycloneDX\"")));
        }
        None => {
            doc.spec_version.is_some()
                && (doc.components.is_some()
                    || doc.metadata.is_some()
                    || doc.vulnerabilities.is_some())
        }
    };
    if is_cdx {
        let spec = text(doc.spec_version.clone());
        if let Some(s) = &spec
            && !s.starts_with("1.")
        {
            return Err(invalid(format!(
                "CycloneDX specVersion {s:?} is not supported (1.2 to 1.7 are)"
            )));
        }
        return Ok(cyclonedx_sbom(spec, doc));
    }
    if let Some(matches) = doc.matches {
        return Ok(Document::Vulns(VulnReport {
            format: Format::Grype,
            findings: grype::findings(matches),
        }));
    }
    if doc.trivy_schema.is_some() || doc.trivy_artifact.is_some() {
        return Ok(Document::Vulns(VulnReport {
            format: Format::Trivy,
            findings: trivy::findings(doc.trivy_results),
        }));
    }
    if let Some(results) = doc.results {
        return Ok(Document::Vulns(VulnReport {
            format: Format::OsvScanner,
            findings: osv::findings(results),
        }));
    }
    if doc.runs.is_some() {
        return Err(invalid(
            "is SARIF, which names no package versions to diff; give the scanner's own JSON (grype -o json, trivy --format json, osv-scanner --format json)".into(),
        ));
    }
    if doc.json_ld.is_some() {
        return Err(invalid(
            "is JSON-LD (SPDX 3?); SPDX 2.2/2.3 JSON and CycloneDX are supported".into(),
        ));
    }
    Err(invalid(
        "is valid JSON but neither CycloneDX (no bomFormat) nor SPDX (no spdxVersion), nor a Grype, Trivy or OSV-Scanner report".into(),
    ))
}

/// An SPDX 2 JSON document, its version checked.
fn spdx_sbom(spdx_version: String, doc: AnyDoc) -> Document {
    Document::Sbom(Box::new(spdx_json::to_sbom(spdx_json::Doc {
        spdx_version,
        spdx_id: text(doc.spdx_id),
        packages: doc.packages.unwrap_or_default(),
        relationships: doc.relationships,
        document_describes: doc
            .document_describes
            .into_iter()
            .map(|Text(s)| s)
            .collect(),
    })))
}

/// A CycloneDX JSON document, its spec version checked.
fn cyclonedx_sbom(spec_version: Option<String>, doc: AnyDoc) -> Document {
    Document::Sbom(Box::new(cyclonedx_json::to_sbom(cyclonedx_json::Doc {
        spec_version,
        metadata: doc.metadata,
        components: doc.components.unwrap_or_default(),
        vulnerabilities: doc.vulnerabilities,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(text: &str) -> Result<Document, String> {
        parse_bytes("x.json", text.as_bytes().to_vec()).map_err(|e| e.to_string())
    }

    #[test]
    fn recognises_formats_by_content() {
        let cdx = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"a","version":1.0}]}"#;
        match parse(cdx) {
            Ok(Document::Sbom(s)) => {
                assert_eq!(s.format, Format::CycloneDxJson("1.6".into()));
                assert_eq!(s.components[0].version.as_deref(), Some("1"));
            }
            other => panic!("{other:?}"),
        }
        let spdx = r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","packages":[{"name":"p","SPDXID":"SPDXRef-p"}]}"#;
        assert!(matches!(parse(spdx), Ok(Document::Sbom(_))));
        assert!(matches!(parse(r#"{"matches":[]}"#), Ok(Document::Vulns(_))));
        assert!(matches!(
            parse(r#"{"SchemaVersion":2,"Results":[]}"#),
            Ok(Document::Vulns(_))
        ));
        assert!(matches!(parse(r#"{"results":[]}"#), Ok(Document::Vulns(_))));
    }

    #[test]
    fn refusals_are_one_line_naming_the_file() {
        for (text, want) in [
            ("", "x.json: is empty"),
            (
                r#"{"foo": 1}"#,
                "x.json: is valid JSON but neither CycloneDX",
            ),
            (
                r#"{"bomFormat":"CycloneDX","components":[{"name":"a","version":{"x":1}}]}"#,
                "x.json:1:",
            ),
            (r#"{"bomFormat":"CycloneDX","compo"#, "x.json:1:"),
            (r#"{"spdxVersion":"SPDX-3.0"}"#, "not supported"),
            (r#"{"runs":[]}"#, "SARIF"),
            ("[1,2]", "JSON array"),
            ("\u{1}\u{2}binary", "neither JSON, XML"),
        ] {
            let e = parse(text).expect_err(text);
            assert!(e.contains(want), "{text:?} gave {e:?}");
            assert!(!e.contains('\n'), "{e}");
        }
        let e = parse(
            r#"{"bomFormat":"CycloneDX","components":[{"name":"a"},{"name":"b","version":["x"]}]}"#,
        )
        .expect_err("bad field");
        assert!(e.contains("components[1].version"), "{e}");
    }

    #[test]
    fn gzip_is_transparent_and_its_expansion_is_capped() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&vec![b' '; 100_000]).expect("write");
        let gz = enc.finish().expect("finish");
        assert!(gz.len() < 1000);
        let err = gunzip("big.gz", &gz, 10_000).expect_err("capped");
        assert!(
            err.to_string()
                .contains("decompressed content is larger than 10000 bytes"),
            "{err}"
        );
        assert_eq!(gunzip("ok.gz", &gz, 200_000).expect("fits").len(), 100_000);
        let err = gunzip("bad.gz", &gz[..gz.len() / 2], 200_000).expect_err("truncated");
        assert!(
            err.to_string().starts_with("bad.gz: gzip data is corrupt"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_bytes("x", bytes);
        }

        #[test]
        fn arbitrary_json_ish_text_never_panics(s in "[{}\\[\\]\":,a-z0-9 ]{0,120}") {
            let _ = parse_bytes("x", s.into_bytes());
        }
    }
}
