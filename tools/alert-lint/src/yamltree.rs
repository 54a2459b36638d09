//! Owns the located YAML tree: every node of a rule file with the byte offset, line and
//! column where it starts, read through serde-saphyr (`gatehouse::yaml` options), and the
//! mapping from a position inside a scalar's *value* back to the file (block scalars, folded
//! scalars, quotes and escapes shift it).

use std::fmt;

use gatehouse::yaml::Spanned;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Where a node starts in its file: 1-based line and column, 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: u64,
    pub column: u64,
    pub offset: usize,
}

/// A YAML value with the position of every node.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Located>),
    Map(Vec<(Located, Located)>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located {
    pub node: Node,
    pub pos: Pos,
}

impl Located {
    /// The scalar as Prometheus's Go YAML decoder would give it to a string field.
    pub fn as_scalar_string(&self) -> Option<String> {
        match &self.node {
            Node::Str(s) => Some(s.clone()),
            Node::Int(i) => Some(i.to_string()),
            Node::Float(f) => Some(f.to_string()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Null => Some(String::new()),
            Node::Seq(_) | Node::Map(_) => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match &self.node {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) | Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }

    /// Looks a key up in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Located> {
        match &self.node {
            Node::Map(entries) => entries
                .iter()
                .find(|(k, _)| matches!(&k.node, Node::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.node {
            Node::Str(s) => Some(s),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let sp = Spanned::<Node>::deserialize(d)?;
        let loc = sp.referenced;
        let offset = loc
            .span()
            .byte_offset()
            .and_then(|o| usize::try_from(o).ok())
            .unwrap_or(0);
        Ok(Located {
            node: sp.value,
            pos: Pos {
                line: loc.line(),
                column: loc.column(),
                offset,
            },
        })
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(i64::try_from(v).map_or_else(|_| Node::Str(v.to_string()), Node::Int))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<Located>()? {
            let v = map.next_value::<Located>()?;
            entries.push((k, v));
        }
        Ok(Node::Map(entries))
    }
}

/// Parses every document of a YAML stream into located trees.
///
/// serde-saphyr's default budget (250,000 nodes, 1,000,000 events, 1,024 documents) refuses
/// valid rule files of ~11,000 rules that promtool reads, so the size budgets grow with the
/// text: a node takes at least two bytes of it (`a,`), an event at most a node's start and
/// end. What guards against amplification stays as it was: anchors, aliases, nesting depth.
pub(crate) fn parse_documents(
    label: &str,
    text: &str,
) -> Result<Vec<Located>, gatehouse::InputError> {
    serde_saphyr::from_multiple_with_options(text, options(text.len()))
        .map_err(|e| gatehouse::yaml::error(label, &e))
}

/// gatehouse::yaml's options (one-line errors, no snippet) with a budget scaled to `len`.
fn options(len: usize) -> serde_saphyr::Options {
    let mut o = serde_saphyr::Options::default();
    o.with_snippet = false;
    let mut b = o.budget.take().unwrap_or_default();
    let nodes = len / 2 + 16;
    b.max_nodes = b.max_nodes.max(nodes);
    b.max_events = b.max_events.max(nodes.saturating_mul(2) + 16);
    b.max_documents = b.max_documents.max(len / 4);
    b.max_total_scalar_bytes = b.max_total_scalar_bytes.max(len);
    o.budget = Some(b);
    o
}

/// How a scalar is written in the file, which decides how value offsets map back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
    Block,
}

/// The file position of the character at byte `target` of a scalar's value, given the
/// scalar's node position and the file text. The walk aligns value characters with source
/// characters, so it follows line folding, block indentation, quotes and escapes; a
/// whitespace character of the value may land on a neighbouring whitespace of the source.
pub(crate) fn value_pos(text: &str, node: Pos, value: &str, target: usize) -> Pos {
    let src = text.as_bytes();
    let start = node.offset.min(src.len());
    let style = match src.get(start) {
        Some(b'"') => Style::Double,
        Some(b'\'') => Style::Single,
        _ if is_block_content(text, start) => Style::Block,
        _ => Style::Plain,
    };
    let mut s = match style {
        Style::Double | Style::Single => start + 1,
        Style::Plain | Style::Block => start,
    };
    let target = target.min(value.len());
    for (vi, vc) in value.char_indices() {
        if vi >= target {
            break;
        }
        s = advance(text, s, vc, style);
    }
    // Skip source whitespace (indentation) before the target character itself.
    if let Some(vc) = value[target..].chars().next()
        && !vc.is_whitespace()
    {
        while s < src.len() {
            let c = src[s];
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                s += 1;
            } else if style == Style::Double && c == b'\\' && src.get(s + 1) == Some(&b'\n') {
                s += 2;
            } else {
                break;
            }
        }
    }
    let (line, column) = line_col_from(src, node, s);
    Pos {
        line,
        column,
        offset: s,
    }
}

/// The 1-based line and column of byte `s`, counting lines from the node's known position
/// rather than from the top of the file (which made every located finding cost the size of
/// the file); the column counts characters from the start of its line.
fn line_col_from(src: &[u8], node: Pos, s: usize) -> (u64, u64) {
    let s = s.min(src.len());
    if node.line == 0 || node.offset > s || (node.offset == 0 && node.line != 1) {
        return gatehouse::input::line_col(src, s);
    }
    let newlines = src[node.offset..s].iter().filter(|&&b| b == b'\n').count() as u64;
    let line_start = src[..s]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&src[line_start..s]).chars().count() as u64 + 1;
    (node.line + newlines, column)
}

/// Whether `start` is the first content character of a block scalar (`|` or `>` header on a
/// previous line with only indentation before `start` on its own line).
fn is_block_content(text: &str, start: usize) -> bool {
    let before = &text[..start.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    if !before[line_start..].chars().all(|c| c == ' ' || c == '\t') || line_start == 0 {
        return false;
    }
    // Walk back over blank lines to the header line.
    let mut end = line_start - 1;
    loop {
        let prev = &before[..end];
        let ps = prev.rfind('\n').map_or(0, |p| p + 1);
        let line = &prev[ps..];
        let code = strip_comment(line).trim_end();
        if code.trim().is_empty() && ps > 0 {
            end = ps - 1;
            continue;
        }
        let header = code.rsplit([' ', '\t']).next().unwrap_or("");
        return header.starts_with(['|', '>'])
            && header[1..]
                .chars()
                .all(|c| c.is_ascii_digit() || c == '+' || c == '-');
    }
}

fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') {
            return &line[..i];
        }
    }
    line
}

/// Consumes the source characters that produced value character `vc`; returns the new
/// source offset.
fn advance(text: &str, mut s: usize, vc: char, style: Style) -> usize {
    let src = text.as_bytes();
    let limit = src.len();
    let ws = |b: u8| b == b' ' || b == b'\t' || b == b'\n' || b == b'\r';
    if vc.is_whitespace() {
        if s < limit && ws(src[s]) {
            return s + 1;
        }
        if style == Style::Double && src.get(s) == Some(&b'\\') {
            return s + escape_len(src, s);
        }
        return s;
    }
    // Skip indentation/folding whitespace, then consume one character (or escape).
    let mut guard = 0usize;
    while s < limit && guard < 4096 {
        let c = src[s];
        if ws(c) {
            s += 1;
            guard += 1;
            continue;
        }
        if style == Style::Double && c == b'\\' {
            if src.get(s + 1) == Some(&b'\n') {
                s += 2;
                continue;
            }
            return s + escape_len(src, s);
        }
        if style == Style::Single && c == b'\'' && src.get(s + 1) == Some(&b'\'') {
            return s + 2;
        }
        return s + text[s..].chars().next().map_or(1, char::len_utf8);
    }
    s
}

fn escape_len(src: &[u8], s: usize) -> usize {
    match src.get(s + 1) {
        Some(b'x') => 4,
        Some(b'u') => 6,
        Some(b'U') => 10,
        Some(_) => 2,
        None => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Vec<Located> {
        parse_documents("t.yaml", text).expect("valid yaml")
    }

    /// Finds `key` in the first document's first list item and maps value byte `at`.
    fn map(text: &str, key: &str, needle: &str) -> (u64, u64) {
        let d = docs(text);
        let item = match &d[0].node {
            Node::Seq(items) => &items[0],
            _ => &d[0],
        };
        let v = item.get(key).expect("key");
        let value = v.as_str().expect("string");
        let at = value.find(needle).expect("needle in value");
        let p = value_pos(text, v.pos, value, at);
        (p.line, p.column)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, .. Default::default() })]
        /// Random nesting depth of flow and block collections and random length: the loader
        /// returns (a tree or a one-line error) within 2 s, never overflowing its stack.
        #[test]
        fn random_nesting_and_length_return_in_bounded_time(
            depth in 0usize..2_000,
            width in 1usize..2_000,
            block in proptest::prelude::any::<bool>(),
        ) {
            let text = if block {
                let mut t = String::new();
                for d in 0..depth.min(300) {
                    t.push_str(&" ".repeat(d));
                    t.push_str("k:\n");
                }
                t.push_str(&format!("{}{}\n", " ".repeat(depth.min(300)), vec!["x"; width].join(" ")));
                t
            } else {
                format!("{}{}{}", "[".repeat(depth), vec!["1"; width].join(","), "]".repeat(depth))
            };
            // On an eighth of the stack the lint threads have (a default 2 MiB thread
            // overflowed on some of these inputs in a debug build).
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .stack_size(crate::promql::STACK_SIZE / 8)
                .spawn(move || {
                    let r = parse_documents("t.yaml", &text).map(|d| d.len());
                    let _ = tx.send(r);
                })
                .map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let r = rx.recv_timeout(std::time::Duration::from_secs(2));
            proptest::prop_assert!(r.is_ok(), "no answer within 2 s");
            if let Ok(Err(e)) = r {
                proptest::prop_assert!(!e.to_string().contains('\n'), "{e}");
            }
        }
    }

    #[test]
    fn the_node_budget_grows_with_the_file() {
        // 300,000 nodes: over serde-saphyr's default budget of 250,000, which refused
        // valid rule files of ~11,000 rules.
        let text = format!("[{}]", vec!["1"; 300_000].join(","));
        let d = docs(&text);
        assert!(matches!(&d[0].node, Node::Seq(items) if items.len() == 300_000));
    }

    #[test]
    fn plain_scalar_offsets_map_to_columns() {
        let t = "- expr: rate(x[5m]) > 1\n";
        assert_eq!(map(t, "expr", "x["), (1, 14));
    }

    #[test]
    fn literal_block_scalars_shift_lines() {
        let t = "- expr: |\n    sum(rate(a[5m]))\n      /\n    sum(b)\n";
        assert_eq!(map(t, "expr", "sum(b)"), (4, 5));
        assert_eq!(map(t, "expr", "/"), (3, 7));
        let t = "- expr: |-  # comment\n\n    up\n    == 0\n";
        assert_eq!(map(t, "expr", "=="), (4, 5));
    }

    #[test]
    fn folded_scalars_join_lines() {
        let t = "- expr: >\n    sum(rate(a[5m]))\n    by (job)\n    > 0.5\n";
        assert_eq!(map(t, "expr", "by"), (3, 5));
        assert_eq!(map(t, "expr", "> 0.5"), (4, 5));
        // A multi-line plain scalar folds too.
        let t = "- expr: sum(x)\n    by (job) > 1\n";
        assert_eq!(map(t, "expr", "> 1"), (2, 14));
    }

    #[test]
    fn quoted_scalars_skip_quotes_and_escapes() {
        let t = "- expr: \"up{job=\\\"a\\\"} == 0\"\n";
        assert_eq!(map(t, "expr", "=="), (1, 24));
        let t = "- expr: 'up{job=''a''} == 0'\n";
        assert_eq!(map(t, "expr", "=="), (1, 24));
    }

    #[test]
    fn multibyte_characters_count_as_one_column() {
        let t = "- expr: sum(x{a=\"é\"}) + up\n";
        assert_eq!(map(t, "expr", "+ up"), (1, 23));
    }
}
