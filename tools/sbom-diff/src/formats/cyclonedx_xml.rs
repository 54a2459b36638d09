//! Reads CycloneDX XML (spec 1.0–1.7) into an [`Sbom`] with a streaming reader: components
//! (nested ones flattened; `metadata/component` is the subject; pedigree and tool
//! components are not part of the BOM), licenses and `vulnerabilities`.
//!
//! Hostile input is refused, not expanded: a document type declaration (`<!DOCTYPE`, where
//! entity definitions live, hence billion-laughs bombs) is an error, references to entities
//! other than XML's five predefined ones are errors, and nesting deeper than
//! [`MAX_DEPTH`] elements is an error.

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::reader::Reader;

use super::common::{Builder, Raw};
use super::cyclonedx::{RatingRaw, VulnRaw, findings};
use crate::model::{Component, Format, Sbom};

/// Deeper nesting than any real BOM needs; a guard against stack-like growth on hostile input.
const MAX_DEPTH: usize = 256;

/// Why an XML document could not be read: a message and the byte offset it refers to.
#[derive(Debug)]
pub struct XmlError {
    pub offset: u64,
    pub message: String,
}

/// One open element.
struct Open {
    name: String,
    /// Index into `comps` when this element is a component of the BOM.
    comp: Option<usize>,
    /// Index into `vulns` when this element is a vulnerability.
    vuln: Option<usize>,
}

#[derive(Default)]
struct CompAcc {
    raw: Raw,
    is_subject: bool,
}

/// Is `e` the CycloneDX root, and which spec version does its namespace name?
fn spec_version(e: &BytesStart<'_>) -> Option<String> {
    for a in e.attributes().with_checks(false).flatten() {
        let key = a.key.as_ref();
        if key == "xmlns" || key.starts_with("xmlns:") {
            let v = a.value.as_ref();
            if let Some(rest) = v.strip_prefix("http://cyclonedx.org/schema/bom/") {
                return Some(rest.trim_end_matches('/').to_owned());
            }
        }
    }
    None
}

fn err(reader: &Reader<&[u8]>, message: impl Into<String>) -> XmlError {
    XmlError {
        offset: reader.buffer_position(),
        message: message.into(),
    }
}

/// Parses CycloneDX XML text.
pub fn parse(text: &str) -> Result<Sbom, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;

    let mut st = State::default();
    loop {
        let before = reader.buffer_position();
        let event = reader.read_event().map_err(|e| XmlError {
            offset: reader.error_position(),
            message: format!("malformed XML: {e}"),
        })?;
        match event {
            Event::DocType(_) => return Err(doctype_refused(text, before)),
            Event::Start(e) => st.start(&reader, &e)?,
            Event::Text(t) => st.buf.push_str(&t),
            Event::CData(t) => st.buf.push_str(&t),
            Event::GeneralRef(r) => st.reference(&reader, &r)?,
            Event::End(_) => st.end(),
            Event::Eof => break,
            Event::Empty(_) | Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    let Some(spec) = st.spec else {
        return Err(XmlError {
            offset: 0,
            message: "no root element: empty or truncated XML".into(),
        });
    };
    Ok(assemble(
        spec,
        st.comps,
        st.has_vulns_section.then_some(st.vulns),
    ))
}

/// A document type declaration is refused, pointing at `<!DOCTYPE`, not at the end of it.
fn doctype_refused(text: &str, before: u64) -> XmlError {
    let start = usize::try_from(before).unwrap_or(0);
    let skip = text.get(start..).and_then(|t| t.find("<!")).unwrap_or(0);
    XmlError {
        offset: before + skip as u64,
        message: "declares a DTD (<!DOCTYPE …>); refused, since DTD entities can expand without bound (billion laughs) and CycloneDX needs none".into(),
    }
}

/// What the reader has gathered so far: the open elements, the components and
/// vulnerabilities met, the text of the element being read, the root's spec version.
#[derive(Default)]
struct State {
    stack: Vec<Open>,
    comps: Vec<CompAcc>,
    vulns: Vec<VulnRaw>,
    buf: String,
    spec: Option<String>,
    has_vulns_section: bool,
}

impl State {
    /// An opening tag: the root must be a CycloneDX `<bom>`; components and
    /// vulnerabilities (and their ratings) start where the schema puts them.
    fn start(&mut self, reader: &Reader<&[u8]>, e: &BytesStart<'_>) -> Result<(), XmlError> {
        self.buf.clear();
        let name = e.local_name().as_ref().to_owned();
        if self.stack.is_empty() {
            self.spec = Some(root_spec(reader, e, &name)?);
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(err(
                reader,
                format!("elements nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let open = self.open(e, name);
        self.stack.push(open);
        Ok(())
    }

    /// The element about to be pushed, with the component or vulnerability it starts.
    fn open(&mut self, e: &BytesStart<'_>, name: String) -> Open {
        let stack = &self.stack;
        let parent = stack.last().map(|o| o.name.as_str());
        let grandparent = stack.len().checked_sub(2).map(|i| &stack[i]);
        let mut open = Open {
            name,
            comp: None,
            vuln: None,
        };
        match (open.name.as_str(), parent) {
            ("component", Some("metadata")) if stack.len() == 2 => {
                let mut acc = CompAcc {
                    is_subject: true,
                    ..CompAcc::default()
                };
                acc.raw.kind = attr(e, "type");
                acc.raw.bom_ref = attr(e, "bom-ref");
                self.comps.push(acc);
                open.comp = Some(self.comps.len() - 1);
            }
            ("component", Some("components")) => {
                // Under <bom><components> or a BOM component's <components>; not
                // under <tools>, <pedigree>, <formulation> or elsewhere.
                let owner = grandparent.filter(|g| g.name == "bom" || g.comp.is_some());
                if owner.is_some() {
                    let mut acc = CompAcc::default();
                    acc.raw.kind = attr(e, "type");
                    acc.raw.bom_ref = attr(e, "bom-ref");
                    self.comps.push(acc);
                    open.comp = Some(self.comps.len() - 1);
                }
            }
            ("vulnerabilities", Some("bom")) => self.has_vulns_section = true,
            ("vulnerability", Some("vulnerabilities")) if stack.len() == 2 => {
                self.vulns.push(VulnRaw::default());
                open.vuln = Some(self.vulns.len() - 1);
            }
            ("rating", Some("ratings")) => {
                if let Some(v) = vuln_at(stack, &mut self.vulns, 2) {
                    v.ratings.push(RatingRaw::default());
                }
            }
            _ => {}
        }
        open
    }

    /// A character reference or one of XML's five predefined entities; any other entity is
    /// refused.
    fn reference(&mut self, reader: &Reader<&[u8]>, r: &BytesRef<'_>) -> Result<(), XmlError> {
        if let Some(c) = r
            .resolve_char_ref()
            .map_err(|e| err(reader, format!("{e}")))?
        {
            self.buf.push(c);
            return Ok(());
        }
        match &**r {
            "amp" => self.buf.push('&'),
            "lt" => self.buf.push('<'),
            "gt" => self.buf.push('>'),
            "apos" => self.buf.push('\''),
            "quot" => self.buf.push('"'),
            other => {
                return Err(err(
                    reader,
                    format!("reference to undeclared entity &{other}; (entities are refused)"),
                ));
            }
        }
        Ok(())
    }

    /// A closing tag: its text goes where the path it closes says.
    fn end(&mut self) {
        let value = self.buf.trim().to_owned();
        self.buf.clear();
        end_element(&self.stack, &mut self.comps, &mut self.vulns, value);
        self.stack.pop();
    }
}

/// The root element: a `<bom>` in a CycloneDX namespace, whose spec version it returns.
fn root_spec(reader: &Reader<&[u8]>, e: &BytesStart<'_>, name: &str) -> Result<String, XmlError> {
    if name != "bom" {
        let hint = if name == "RDF" {
            " (SPDX RDF/XML is not supported; give SPDX JSON or tag-value)"
        } else {
            ""
        };
        return Err(err(
            reader,
            format!("XML root element is <{name}>, not a CycloneDX <bom>{hint}"),
        ));
    }
    spec_version(e).ok_or_else(|| {
        err(
            reader,
            "<bom> without a http://cyclonedx.org/schema/bom/… namespace: not CycloneDX",
        )
    })
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

/// The vulnerability `back` elements above the top of the stack, if that is one.
fn vuln_at<'v>(stack: &[Open], vulns: &'v mut [VulnRaw], back: usize) -> Option<&'v mut VulnRaw> {
    let i = stack.len().checked_sub(back)?;
    let idx = stack.get(i)?.vuln?;
    vulns.get_mut(idx)
}

/// Stores the text of a closing element where it belongs, by the path it closes.
fn end_element(stack: &[Open], comps: &mut [CompAcc], vulns: &mut [VulnRaw], value: String) {
    if value.is_empty() {
        return;
    }
    let path = Path(stack);
    if let Some(value) = component_text(path, comps, value) {
        vulnerability_text(path, vulns, value);
    }
}

/// The open elements, read from the innermost outwards (`name(1)` is the one closing).
#[derive(Clone, Copy)]
struct Path<'a>(&'a [Open]);

impl<'a> Path<'a> {
    fn name(self, back: usize) -> Option<&'a str> {
        let n = self.0.len();
        n.checked_sub(back).map(|i| self.0[i].name.as_str())
    }

    fn comp_at(self, back: usize) -> Option<usize> {
        let n = self.0.len();
        n.checked_sub(back).and_then(|i| self.0[i].comp)
    }
}

/// A component's name, group, version, purl or license text; the value back when the
/// element is not one of those.
fn component_text(path: Path<'_>, comps: &mut [CompAcc], value: String) -> Option<String> {
    let name = |back| path.name(back);
    // Component fields: <component><name>…
    if let Some(ci) = path.comp_at(2) {
        let raw = &mut comps[ci].raw;
        match name(1) {
            Some("name") => raw.name = Some(value),
            Some("group") => raw.group = Some(value),
            Some("version") => raw.version = Some(value),
            Some("purl") => raw.purl = Some(value),
            _ => {}
        }
        return None;
    }
    // <component><licenses><expression>
    if let (Some(ci), Some("licenses"), Some("expression")) = (path.comp_at(3), name(2), name(1)) {
        comps[ci].raw.licenses.push(value);
        return None;
    }
    // <component><licenses><license><id|name|expression>
    if let (Some(ci), Some("licenses"), Some("license")) = (path.comp_at(4), name(3), name(2)) {
        let raw = &mut comps[ci].raw;
        match name(1) {
            Some("id" | "expression") => raw.licenses.push(value),
            // A name only counts when the same <license> has no id (checked at assembly
            // would need more state; an id and a name together is rare and harmless: AND).
            Some("name") => raw.licenses.push(value),
            _ => {}
        }
        return None;
    }
    Some(value)
}

/// A vulnerability's id, source, state, aliases, ratings, affected refs and fixed versions.
fn vulnerability_text(path: Path<'_>, vulns: &mut [VulnRaw], value: String) {
    let name = |back| path.name(back);
    let stack = path.0;
    // Vulnerability fields.
    if let Some(v) = vuln_at(stack, vulns, 2) {
        if name(1) == Some("id") {
            v.id = Some(value);
        }
        return;
    }
    if let Some(v) = vuln_at(stack, vulns, 3) {
        match (name(2), name(1)) {
            (Some("source"), Some("name")) => v.source = Some(value),
            (Some("analysis"), Some("state")) => v.state = Some(value),
            _ => {}
        }
        return;
    }
    if let Some(v) = vuln_at(stack, vulns, 4) {
        match (name(3), name(2), name(1)) {
            (Some("references"), Some("reference"), Some("id")) => v.aliases.push(value),
            (Some("ratings"), Some("rating"), field) => {
                if let Some(r) = v.ratings.last_mut() {
                    match field {
                        Some("score") => r.score = value.parse().ok(),
                        Some("severity") => r.severity = Some(value),
                        Some("method") => r.method = Some(value),
                        Some("vector") => r.vector = Some(value),
                        _ => {}
                    }
                }
            }
            (Some("affects"), Some("target"), Some("ref")) => v.affects.push(value),
            _ => {}
        }
        return;
    }
    if let Some(v) = vuln_at(stack, vulns, 5) {
        if let (Some("ratings"), Some("rating"), Some("source"), Some("name")) =
            (name(4), name(3), name(2), name(1))
            && let Some(r) = v.ratings.last_mut()
        {
            r.source = Some(value);
        }
        return;
    }
    if let Some(v) = vuln_at(stack, vulns, 6)
        && let (Some("affects"), Some("target"), Some("versions"), Some("version"), Some("version")) =
            (name(5), name(4), name(3), name(2), name(1))
    {
        // Only remembered with its status; status comes after version in the schema.
        v.fixed.push(format!("\u{0}{value}"));
        return;
    }
    if let Some(v) = vuln_at(stack, vulns, 6)
        && let (Some("versions"), Some("version"), Some("status")) = (name(3), name(2), name(1))
    {
        // Keep the pending version only when it is unaffected.
        if let Some(last) = v.fixed.last_mut()
            && let Some(ver) = last.strip_prefix('\u{0}')
        {
            if value.eq_ignore_ascii_case("unaffected") {
                *last = ver.to_owned();
            } else {
                v.fixed.pop();
            }
        }
    }
}

fn assemble(spec: String, comps: Vec<CompAcc>, vulns: Option<Vec<VulnRaw>>) -> Sbom {
    let mut b = Builder::default();
    let mut subject: Option<Component> = None;
    let mut components = Vec::with_capacity(comps.len());
    for acc in comps {
        let c = b.component(acc.raw);
        if acc.is_subject && subject.is_none() {
            subject = Some(c);
        } else {
            components.push(c);
        }
    }
    let vulnerabilities = vulns.map(|mut vs| {
        for v in &mut vs {
            // Versions whose status never came are not known to be fixed.
            v.fixed.retain(|f| !f.starts_with('\u{0}'));
        }
        findings(vs, components.iter().chain(subject.as_ref()))
    });
    Sbom {
        format: Format::CycloneDxXml(spec),
        subject,
        components,
        vulnerabilities,
        invalid_purls: b.invalid_purls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_content_never_panics(body in "[<>/a-z =\"&;#!\\[\\]-]{0,200}") {
            let _ = parse(&format!("<bom xmlns=\"http://cyclonedx.org/schema/bom/1.6\"><components>{body}</components></bom>"));
            let _ = parse(&body);
        }

        #[test]
        fn truncation_anywhere_never_panics(cut in 0usize..2000) {
            let cut = cut.min(BOM.len());
            if BOM.is_char_boundary(cut) {
                let _ = parse(&BOM[..cut]);
            }
        }
    }

    const BOM: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bom xmlns="http://cyclonedx.org/schema/bom/1.6" version="1">
  <metadata>
    <tools><components><component type="application"><name>syft</name></component></components></tools>
    <component type="application" bom-ref="app"><name>shop</name><version>2.0</version></component>
  </metadata>
  <components>
    <component type="library" bom-ref="pkg:npm/left-pad@1.3.0">
      <name>left-pad</name><version>1.3.0</version>
      <licenses><license><id>WTFPL</id></license></licenses>
      <purl>pkg:npm/left-pad@1.3.0</purl>
      <pedigree><ancestors><component><name>ancestor</name><version>0.1</version></component></ancestors></pedigree>
      <components>
        <component type="library"><group>org.example</group><name>inner &amp; co</name><version>1.0</version>
          <licenses><expression>MIT OR Apache-2.0</expression></licenses></component>
      </components>
    </component>
    <component type="library"><name>empty</name><version/></component>
  </components>
  <vulnerabilities>
    <vulnerability>
      <id>CVE-2021-1234</id>
      <source><name>NVD</name></source>
      <references><reference><id>GHSA-aaaa-bbbb-cccc</id></reference></references>
      <ratings><rating><source><name>NVD</name></source><score>9.8</score><severity>critical</severity><method>CVSSv31</method><vector>CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H</vector></rating></ratings>
      <analysis><state>exploitable</state></analysis>
      <affects><target><ref>pkg:npm/left-pad@1.3.0</ref><versions><version><version>1.3.1</version><status>unaffected</status></version><version><version>1.3.0</version><status>affected</status></version></versions></target></affects>
    </vulnerability>
  </vulnerabilities>
</bom>"#;

    #[test]
    fn reads_components_subject_and_vulnerabilities() {
        let s = parse(BOM).expect("parses");
        assert_eq!(s.format, Format::CycloneDxXml("1.6".into()));
        assert_eq!(s.subject.as_ref().map(|c| c.name.as_str()), Some("shop"));
        let names: Vec<String> = s.components.iter().map(Component::display_name).collect();
        assert_eq!(names, ["left-pad", "org.example/inner & co", "empty"]);
        assert_eq!(
            s.components[0].license.as_ref().map(|l| l.key.as_str()),
            Some("WTFPL")
        );
        assert_eq!(
            s.components[1].license.as_ref().map(|l| l.key.as_str()),
            Some("Apache-2.0 OR MIT")
        );
        assert_eq!(s.components[2].version, None);
        let v = s.vulnerabilities.expect("section");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].aliases, ["GHSA-aaaa-bbbb-cccc"]);
        assert_eq!(v[0].fixed_in, ["1.3.1"]);
        assert_eq!(v[0].cvss.as_ref().map(|c| c.score), Some(9.8));
        assert_eq!(v[0].version.as_deref(), Some("1.3.0"));
        assert_eq!(v[0].state.as_deref(), Some("exploitable"));
    }

    #[test]
    fn refuses_dtds_and_unknown_entities() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component><name>&lol2;</name></component></components></bom>"#;
        let e = parse(bomb).expect_err("bomb");
        assert!(e.message.contains("DTD"), "{}", e.message);
        let undeclared = r#"<bom xmlns="http://cyclonedx.org/schema/bom/1.4"><components><component><name>&lol;</name></component></components></bom>"#;
        assert!(
            parse(undeclared)
                .expect_err("entity")
                .message
                .contains("&lol;")
        );
    }

    #[test]
    fn refuses_other_xml_and_truncation() {
        assert!(
            parse("<rdf:RDF xmlns:rdf='x'/>")
                .expect_err("rdf")
                .message
                .contains("SPDX RDF")
        );
        assert!(
            parse("<bom/>")
                .expect_err("no ns")
                .message
                .contains("namespace")
        );
        assert!(parse("").is_err());
        let truncated = &BOM[..BOM.len() / 2];
        assert!(parse(truncated).is_err());
        let deep = format!(
            "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\">{}{}</bom>",
            "<a>".repeat(300),
            "</a>".repeat(300)
        );
        assert!(parse(&deep).expect_err("deep").message.contains("nest"));
    }
}
