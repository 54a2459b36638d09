//! Reads SPDX 2.x tag-value (`Tag: value` lines, `<text>…</text>` blocks) into the same
//! package list the JSON reader builds, then shares its conversion.

use super::common::Text;
use super::spdx_json::{Doc, ExternalRef, Package, Relationship};

/// Why a tag-value document could not be read: the 1-based line and what is wrong.
#[derive(Debug)]
pub struct TagError {
    pub line: u64,
    pub message: String,
}

fn t(s: &str) -> Option<Text> {
    Some(Text(s.to_owned()))
}

pub fn parse(text: &str) -> Result<Doc, TagError> {
    let mut version = None;
    let mut packages: Vec<Package> = Vec::new();
    let mut relationships = Vec::new();
    let mut in_package = false;
    let mut lines = text.lines().enumerate();
    while let Some((tag, value)) = next_tag(&mut lines)? {
        match tag {
            "SPDXVersion" => version = Some(value),
            "PackageName" => {
                in_package = true;
                packages.push(Package {
                    spdx_id: None,
                    name: Text(value),
                    version_info: None,
                    license_concluded: None,
                    license_declared: None,
                    external_refs: Vec::new(),
                    purpose: None,
                });
            }
            // A file or snippet ends the package's section.
            "FileName" | "SnippetSPDXID" => in_package = false,
            "Relationship" => {
                let mut parts = value.split_whitespace();
                relationships.push(Relationship {
                    element: parts.next().and_then(t),
                    kind: parts.next().and_then(t),
                    related: parts.next().and_then(t),
                });
            }
            _ if in_package => {
                if let Some(p) = packages.last_mut() {
                    package_field(p, tag, &value);
                }
            }
            _ => {}
        }
    }
    let Some(spdx_version) = version else {
        return Err(TagError {
            line: 1,
            message: "no SPDXVersion tag: not an SPDX tag-value document".into(),
        });
    };
    Ok(Doc {
        spdx_version,
        spdx_id: Some("SPDXRef-DOCUMENT".into()),
        packages,
        relationships,
        document_describes: Vec::new(),
    })
}

/// The next `Tag: value` (a `<text>` value read to its `</text>`, over lines), skipping
/// blank lines and comments; `None` at the end.
fn next_tag<'a>(
    lines: &mut std::iter::Enumerate<std::str::Lines<'a>>,
) -> Result<Option<(&'a str, String)>, TagError> {
    // Returns at the first tag, so reading a `<text>` block's lines from `lines` below never
    // meets this loop's next turn.
    for (i, line) in lines.by_ref() {
        let line_no = i as u64 + 1;
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let Some((tag, value)) = l.split_once(':') else {
            return Err(TagError {
                line: line_no,
                message: format!("expected `Tag: value`, found {:?}", truncate(l)),
            });
        };
        let mut value = value.trim().to_owned();
        if let Some(rest) = value.strip_prefix("<text>") {
            // A multi-line value runs to </text>.
            let mut acc = rest.to_owned();
            while !acc.contains("</text>") {
                match lines.next() {
                    Some((_, more)) => {
                        acc.push('\n');
                        acc.push_str(more);
                    }
                    None => {
                        return Err(TagError {
                            line: line_no,
                            message: "<text> block is never closed".into(),
                        });
                    }
                }
            }
            value = acc.split("</text>").next().unwrap_or("").trim().to_owned();
        }
        return Ok(Some((tag.trim(), value)));
    }
    Ok(None)
}

/// A tag inside a package's section, stored in that package; other tags are ignored.
fn package_field(p: &mut Package, tag: &str, value: &str) {
    match tag {
        "SPDXID" => p.spdx_id = t(value),
        "PackageVersion" => p.version_info = t(value),
        "PackageLicenseConcluded" => p.license_concluded = t(value),
        "PackageLicenseDeclared" => p.license_declared = t(value),
        "PrimaryPackagePurpose" => p.purpose = t(value),
        "ExternalRef" => {
            let mut parts = value.split_whitespace();
            let (_category, kind, locator) = (parts.next(), parts.next(), parts.next());
            p.external_refs.push(ExternalRef {
                reference_type: kind.and_then(t),
                reference_locator: locator.and_then(t),
            });
        }
        _ => {}
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::spdx_json::to_sbom;

    #[test]
    fn reads_packages_and_the_described_one() {
        let doc = parse(
            "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n\
             DocumentComment: <text>two\nlines</text>\n\
             Relationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-app\n\n\
             PackageName: app\nSPDXID: SPDXRef-app\nPackageVersion: 1.0\n\n\
             PackageName: requests\nSPDXID: SPDXRef-requests\nPackageVersion: 2.31.0\n\
             PackageLicenseConcluded: NOASSERTION\nPackageLicenseDeclared: Apache-2.0\n\
             ExternalRef: PACKAGE-MANAGER purl pkg:pypi/requests@2.31.0\n\
             FileName: ./x.py\nSPDXID: SPDXRef-file\n",
        )
        .expect("parses");
        let s = to_sbom(doc);
        assert_eq!(s.subject.map(|c| c.name), Some("app".into()));
        assert_eq!(s.components.len(), 1);
        let r = &s.components[0];
        assert_eq!(r.purl.as_ref().map(|p| p.name.as_str()), Some("requests"));
        assert_eq!(
            r.license.as_ref().map(|l| l.key.as_str()),
            Some("Apache-2.0")
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("SPDXVersion: SPDX-2.3\ngarbage line\n").expect_err("bad");
        assert_eq!(e.line, 2);
        let e = parse("SPDXVersion: SPDX-2.3\nX: <text>never closed\n").expect_err("open");
        assert_eq!(e.line, 2);
    }
}
