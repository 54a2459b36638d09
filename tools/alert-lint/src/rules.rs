//! Owns the rule-file model: turns the located YAML tree of a plain rule file (`groups:`) or
//! of Kubernetes `PrometheusRule` objects (`spec.groups`, also inside a `kind: List`) into
//! groups and rules with positions, reporting structural problems (unknown keys, wrong
//! types, missing fields, invalid names, bad durations) as findings instead of giving up.

use std::time::Duration;

use gatehouse::Status;

use crate::checks::CheckId;
use crate::config::NameValidation;
use crate::finding::Finding;
use crate::yamltree::{Located, Node, Pos};

/// A scalar value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Text {
    pub value: String,
    pub pos: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum RuleKind {
    Alert,
    Record,
}

#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub kind: RuleKind,
    pub name: Text,
    pub expr: Option<Text>,
    pub for_: Option<(Duration, Pos)>,
    pub keep_firing_for: Option<(Duration, Pos)>,
    pub labels: Vec<(Text, Text)>,
    pub annotations: Vec<(Text, Text)>,
    pub pos: Pos,
    /// The last line the rule's YAML occupies (for disable comments).
    pub last_line: u64,
}

impl Rule {
    pub fn label(&self, name: &str) -> Option<&Text> {
        self.labels
            .iter()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| v)
    }

    pub fn annotation(&self, name: &str) -> Option<&Text> {
        self.annotations
            .iter()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| v)
    }

    pub fn label_pairs(&self) -> Vec<(String, String)> {
        self.labels
            .iter()
            .map(|(k, v)| (k.value.clone(), v.value.clone()))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub name: Text,
    pub interval: Option<Duration>,
    pub rules: Vec<Rule>,
}

/// What a file holds after loading: its groups and the structural findings.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    pub groups: Vec<Group>,
    pub findings: Vec<Finding>,
    /// `true` when at least one document was a PrometheusRule object.
    pub kubernetes: bool,
}

const GROUP_KEYS: &[&str] = &[
    "name",
    "interval",
    "query_offset",
    "limit",
    "rules",
    "labels",
];
/// Thanos and the Prometheus operator accept this one in PrometheusRule groups.
const OPERATOR_GROUP_KEYS: &[&str] = &["partial_response_strategy"];
const RULE_KEYS: &[&str] = &[
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
];

/// Builds the model from every document of a file.
pub(crate) fn load(docs: &[Located], names: NameValidation) -> Loaded {
    let mut out = Loaded::default();
    let mut cx = Cx {
        out: &mut out,
        names,
    };
    for doc in docs {
        cx.document(doc);
    }
    out
}

struct Cx<'a> {
    out: &'a mut Loaded,
    names: NameValidation,
}

impl Cx<'_> {
    fn fail(&mut self, id: CheckId, pos: Pos, message: String) {
        self.out
            .findings
            .push(Finding::new(id, Status::Fail, pos, message));
    }

    fn document(&mut self, doc: &Located) {
        match &doc.node {
            Node::Null => {}
            // `{}`: what jsonnet mixins emit for "no rules"; promtool accepts it.
            Node::Map(entries) if entries.is_empty() => {}
            Node::Map(_) => {
                let kind = doc.get("kind").and_then(Located::as_str);
                if doc.get("groups").is_some() && kind.is_none() {
                    self.check_keys(doc, &["groups"], "a rule file");
                    self.groups(doc.get("groups"), false);
                } else if kind == Some("PrometheusRule") {
                    self.out.kubernetes = true;
                    self.check_keys(
                        doc,
                        &["apiVersion", "kind", "metadata", "spec", "status"],
                        "a PrometheusRule",
                    );
                    match doc.get("spec") {
                        Some(spec) if matches!(spec.node, Node::Map(_)) => {
                            self.check_keys(spec, &["groups"], "PrometheusRule spec");
                            self.groups(spec.get("groups"), true);
                        }
                        Some(spec) => self.fail(
                            CheckId::SyntaxStructure,
                            spec.pos,
                            format!(
                                "spec: expected a mapping with groups:, found {}",
                                spec.kind()
                            ),
                        ),
                        None => self.fail(
                            CheckId::SyntaxStructure,
                            doc.pos,
                            "PrometheusRule without spec:".into(),
                        ),
                    }
                } else if kind == Some("List") {
                    if let Some(Located {
                        node: Node::Seq(items),
                        ..
                    }) = doc.get("items")
                    {
                        for item in items {
                            self.document(item);
                        }
                    }
                } else if kind.is_some() && doc.get("apiVersion").is_some() {
                    // Another Kubernetes object in the same stream (a ConfigMap, a Service):
                    // not ours to judge.
                    tracing::debug!("skipping a Kubernetes {} document", kind.unwrap_or(""));
                } else {
                    self.fail(
                        CheckId::SyntaxStructure,
                        doc.pos,
                        "not a rule file: expected `groups:` or a PrometheusRule object".into(),
                    );
                }
            }
            _ => self.fail(
                CheckId::SyntaxStructure,
                doc.pos,
                format!(
                    "not a rule file: expected a mapping with `groups:`, found {}",
                    doc.kind()
                ),
            ),
        }
    }

    fn check_keys(&mut self, map: &Located, allowed: &[&str], what: &str) {
        let Node::Map(entries) = &map.node else {
            return;
        };
        for (k, _) in entries {
            match k.as_str() {
                Some(key) if allowed.contains(&key) => {}
                Some(key) => self.fail(
                    CheckId::SyntaxUnknownKey,
                    k.pos,
                    format!("{what} has no field {key:?}{}", suggest(key, allowed)),
                ),
                None => self.fail(
                    CheckId::SyntaxStructure,
                    k.pos,
                    format!("{what}: keys must be strings, found {}", k.kind()),
                ),
            }
        }
    }

    fn groups(&mut self, node: Option<&Located>, operator: bool) {
        let Some(node) = node else { return };
        let items = match &node.node {
            Node::Seq(items) => items,
            Node::Null => return,
            _ => {
                self.fail(
                    CheckId::SyntaxStructure,
                    node.pos,
                    format!("groups: expected a list, found {}", node.kind()),
                );
                return;
            }
        };
        let mut seen: Vec<String> = Vec::new();
        for g in items {
            if !matches!(g.node, Node::Map(_)) {
                self.fail(
                    CheckId::SyntaxStructure,
                    g.pos,
                    format!("a group must be a mapping, found {}", g.kind()),
                );
                continue;
            }
            let mut allowed: Vec<&str> = GROUP_KEYS.to_vec();
            if operator {
                allowed.extend_from_slice(OPERATOR_GROUP_KEYS);
            }
            self.check_keys(g, &allowed, "a rule group");
            let name = self.group_name(g);
            if !name.value.is_empty() {
                if seen.contains(&name.value) {
                    self.fail(
                        CheckId::SyntaxDuplicateGroup,
                        name.pos,
                        format!("group name {:?} is repeated in the same file", name.value),
                    );
                }
                seen.push(name.value.clone());
            }
            let interval = self.duration(g.get("interval"), "interval");
            self.duration(g.get("query_offset"), "query_offset");
            if let Some(labels) = g.get("labels") {
                self.pairs(labels, "group labels", true);
            }
            let rules = self.group_rules(g.get("rules"), &name.value);
            self.out.groups.push(Group {
                name,
                interval: interval.map(|(d, _)| d),
                rules,
            });
        }
    }

    /// A group's `name:`, which must be set and not empty (empty when it is not).
    fn group_name(&mut self, g: &Located) -> Text {
        match g.get("name") {
            Some(n) => match n.as_scalar_string() {
                Some(s) if !s.is_empty() => Text {
                    value: s,
                    pos: n.pos,
                },
                _ => {
                    self.fail(
                        CheckId::SyntaxStructure,
                        n.pos,
                        "group name must not be empty".into(),
                    );
                    Text {
                        value: String::new(),
                        pos: n.pos,
                    }
                }
            },
            None => {
                self.fail(
                    CheckId::SyntaxStructure,
                    g.pos,
                    "group without name:".into(),
                );
                Text {
                    value: String::new(),
                    pos: g.pos,
                }
            }
        }
    }

    /// The rules of group `group` (its `rules:` list; null or missing is none).
    fn group_rules(&mut self, node: Option<&Located>, group: &str) -> Vec<Rule> {
        let mut rules = Vec::new();
        match node {
            Some(Located {
                node: Node::Seq(items),
                ..
            }) => {
                for (i, r) in items.iter().enumerate() {
                    if let Some(rule) = self.rule(r, group, i + 1) {
                        rules.push(rule);
                    }
                }
            }
            Some(Located {
                node: Node::Null, ..
            })
            | None => {}
            Some(other) => self.fail(
                CheckId::SyntaxStructure,
                other.pos,
                format!("rules: expected a list, found {}", other.kind()),
            ),
        }
        rules
    }

    fn duration(&mut self, node: Option<&Located>, field: &str) -> Option<(Duration, Pos)> {
        let node = node?;
        if matches!(node.node, Node::Null) {
            return None;
        }
        let s = node.as_scalar_string().unwrap_or_default();
        match parse_prom_duration(&s) {
            Some(d) => Some((d, node.pos)),
            None => {
                self.fail(
                    CheckId::SyntaxDuration,
                    node.pos,
                    format!("{field}: {s:?} is not a duration (e.g. 30s, 5m, 1h30m)"),
                );
                None
            }
        }
    }

    fn pairs(&mut self, node: &Located, what: &str, label_names: bool) -> Vec<(Text, Text)> {
        let mut out = Vec::new();
        match &node.node {
            Node::Null => {}
            Node::Map(entries) => {
                for (k, v) in entries {
                    let Some(key) = k.as_scalar_string() else {
                        self.fail(
                            CheckId::SyntaxStructure,
                            k.pos,
                            format!("{what}: keys must be strings"),
                        );
                        continue;
                    };
                    let Some(value) = v.as_scalar_string() else {
                        self.fail(
                            CheckId::SyntaxStructure,
                            v.pos,
                            format!("{what}: {key}: expected a string, found {}", v.kind()),
                        );
                        continue;
                    };
                    let valid = match self.names {
                        NameValidation::Legacy => is_legacy_label_name(&key),
                        NameValidation::Utf8 => !key.is_empty(),
                    };
                    if !valid || (label_names && key == "__name__") {
                        let noun = if label_names { "label" } else { "annotation" };
                        self.fail(
                            CheckId::SyntaxLabelName,
                            k.pos,
                            format!("invalid {noun} name: {key}"),
                        );
                    }
                    out.push((
                        Text {
                            value: key,
                            pos: k.pos,
                        },
                        Text { value, pos: v.pos },
                    ));
                }
            }
            _ => self.fail(
                CheckId::SyntaxStructure,
                node.pos,
                format!("{what}: expected a mapping, found {}", node.kind()),
            ),
        }
        out
    }

    fn rule(&mut self, r: &Located, group: &str, index: usize) -> Option<Rule> {
        if !matches!(r.node, Node::Map(_)) {
            self.fail(
                CheckId::SyntaxStructure,
                r.pos,
                format!(
                    "group {group:?}, rule {index}: a rule must be a mapping, found {}",
                    r.kind()
                ),
            );
            return None;
        }
        self.check_keys(r, RULE_KEYS, "a rule");
        let (kind, name) = self.rule_name(r, group, index)?;
        let expr = self.rule_expr(r, &name.value);
        let for_ = self.duration(r.get("for"), "for");
        let keep_firing_for = self.duration(r.get("keep_firing_for"), "keep_firing_for");
        if kind == RuleKind::Record {
            self.recording_rule_fields(r, &name);
        }
        let labels = r
            .get("labels")
            .map(|n| self.pairs(n, "labels", true))
            .unwrap_or_default();
        let annotations = r
            .get("annotations")
            .map(|n| self.pairs(n, "annotations", false))
            .unwrap_or_default();
        Some(Rule {
            kind,
            name,
            expr,
            for_,
            keep_firing_for,
            labels,
            annotations,
            pos: r.pos,
            last_line: last_line(r),
        })
    }

    /// The rule's kind and name: exactly one of `record:` and `alert:` (a rule with both is
    /// judged as a recording rule, one with neither is not judged), not empty.
    fn rule_name(&mut self, r: &Located, group: &str, index: usize) -> Option<(RuleKind, Text)> {
        let record = r.get("record").and_then(scalar_text);
        let alert = r.get("alert").and_then(scalar_text);
        let (kind, name) = match (record, alert) {
            (Some(rec), Some(al)) => {
                self.fail(
                    CheckId::SyntaxStructure,
                    al.pos,
                    format!(
                        "group {group:?}, rule {index}: only one of record and alert may be set"
                    ),
                );
                (RuleKind::Record, rec)
            }
            (Some(rec), None) => (RuleKind::Record, rec),
            (None, Some(al)) => (RuleKind::Alert, al),
            (None, None) => {
                self.fail(
                    CheckId::SyntaxStructure,
                    r.pos,
                    format!("group {group:?}, rule {index}: one of record or alert must be set"),
                );
                return None;
            }
        };
        if name.value.is_empty() {
            self.fail(
                CheckId::SyntaxStructure,
                name.pos,
                format!("group {group:?}, rule {index}: the rule name must not be empty"),
            );
        }
        Some((kind, name))
    }

    /// The rule's `expr:`, which must be set and a non-empty string.
    fn rule_expr(&mut self, r: &Located, name: &str) -> Option<Text> {
        match r.get("expr") {
            Some(e) => match scalar_text(e) {
                Some(t) if !t.value.trim().is_empty() => Some(t),
                _ => {
                    self.fail(
                        CheckId::SyntaxStructure,
                        e.pos,
                        format!("{name}: expr must be a non-empty string"),
                    );
                    None
                }
            },
            None => {
                self.fail(
                    CheckId::SyntaxStructure,
                    r.pos,
                    format!("{name}: field expr must be set in rule"),
                );
                None
            }
        }
    }

    /// A recording rule has no `for`, `keep_firing_for` or `annotations`, and records a
    /// valid metric name.
    fn recording_rule_fields(&mut self, r: &Located, name: &Text) {
        for field in ["for", "keep_firing_for", "annotations"] {
            if let Some(n) = r.get(field) {
                self.fail(
                    CheckId::SyntaxStructure,
                    n.pos,
                    format!(
                        "{}: invalid field {field:?} in a recording rule",
                        name.value
                    ),
                );
            }
        }
        if !is_metric_name(&name.value, self.names) {
            self.fail(
                CheckId::SyntaxRecordName,
                name.pos,
                format!("invalid recording rule name: {}", name.value),
            );
        }
    }
}

/// The last line a node's text reaches (multi-line scalars included).
fn last_line(n: &Located) -> u64 {
    let own = match &n.node {
        Node::Str(s) => n.pos.line + s.matches('\n').count() as u64,
        _ => n.pos.line,
    };
    let children = match &n.node {
        Node::Seq(items) => items.iter().map(last_line).max().unwrap_or(0),
        Node::Map(entries) => entries
            .iter()
            .map(|(k, v)| last_line(k).max(last_line(v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    };
    own.max(children)
}

/// A scalar node as text, where it is written.
fn scalar_text(n: &Located) -> Option<Text> {
    n.as_scalar_string().map(|value| Text { value, pos: n.pos })
}

/// Prometheus's duration syntax: `0`, or units `y w d h m s ms` largest first.
pub(crate) fn parse_prom_duration(s: &str) -> Option<Duration> {
    if s == "0" {
        return Some(Duration::ZERO);
    }
    gatehouse::duration::parse_duration(s).ok()
}

pub(crate) fn is_legacy_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn is_metric_name(s: &str, names: NameValidation) -> bool {
    match names {
        NameValidation::Utf8 => !s.is_empty() && !s.contains(['{', '}', '"']),
        NameValidation::Legacy => {
            let mut chars = s.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }
    }
}

/// ", did you mean \"annotations\"?" when a key is one edit or a plural away from a known one.
fn suggest(key: &str, allowed: &[&str]) -> String {
    allowed
        .iter()
        .find(|a| edit_distance(key, a) <= 2 && key.len() > 2)
        .map(|a| format!(", did you mean {a:?}?"))
        .unwrap_or_default()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yamltree::parse_documents;

    fn load_text(text: &str) -> Loaded {
        load(
            &parse_documents("r.yml", text).expect("yaml"),
            NameValidation::Legacy,
        )
    }

    fn ids(l: &Loaded) -> Vec<(&'static str, u64, u64)> {
        l.findings
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.pos.map_or(0, |p| p.line),
                    f.pos.map_or(0, |p| p.column),
                )
            })
            .collect()
    }

    #[test]
    fn loads_plain_and_operator_files() {
        let l = load_text(
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up == 0\n    for: 5m\n",
        );
        assert!(l.findings.is_empty(), "{:?}", l.findings);
        assert_eq!(
            l.groups[0].rules[0].for_.map(|f| f.0),
            Some(Duration::from_secs(300))
        );
        let l = load_text(
            "apiVersion: v1\nkind: ConfigMap\n---\napiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata: {name: x}\nspec:\n  groups:\n  - name: a\n    rules:\n    - record: a:b:c\n      expr: sum(x)\n",
        );
        assert!(l.findings.is_empty(), "{:?}", l.findings);
        assert!(l.kubernetes);
        assert_eq!(l.groups[0].rules[0].kind, RuleKind::Record);
    }

    #[test]
    fn structural_problems_are_located() {
        let l = load_text(
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    annotation:\n      summary: s\n",
        );
        assert_eq!(ids(&l), vec![("syntax.unknown_key", 6, 5)]);
        assert!(
            l.findings[0]
                .message
                .contains("did you mean \"annotations\"")
        );
        let l = load_text("groups:\n  - name: yolo\n  - name: yolo\n");
        assert_eq!(ids(&l), vec![("syntax.duplicate_group", 3, 11)]);
        let l = load_text(
            "groups:\n- name: a\n  rules:\n  - record: a\n    expr: up\n    for: 1m\n    labels:\n      __name__: x\n      ins-tance: y\n",
        );
        assert_eq!(
            ids(&l),
            vec![
                ("syntax.structure", 6, 10),
                ("syntax.label_name", 8, 7),
                ("syntax.label_name", 9, 7)
            ]
        );
        let l = load_text("groups:\n- name: a\n  rules:\n  - expr: up\n");
        assert_eq!(ids(&l), vec![("syntax.structure", 4, 5)]);
        let l = load_text(
            "groups:\n- name: a\n  rules:\n  - alert: a\n    expr: up\n    for: 5 minutes\n",
        );
        assert_eq!(ids(&l), vec![("syntax.duration", 6, 10)]);
    }
}
