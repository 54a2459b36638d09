//! Owns what judging finds, before it becomes report checks: `Finding` (one problem in one
//! file; config levels and disable comments are applied later, in `verdict`), `FileState`
//! (what is kept of one judged file) and `LiveInfo` (what the live checks saw). The engine
//! modules that find things (`files`, `lint`, `live`) and the one that reports them
//! (`verdict`) share these types and never import each other for them.

use gatehouse::Status;

use crate::checks::CheckId;
use crate::suppress::Disable;
use crate::yamltree::Pos;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Finding {
    pub id: CheckId,
    pub status: Status,
    pub pos: Option<Pos>,
    pub message: String,
    /// The rule it is about, when there is one (`alert:`/`record:` name).
    pub rule: Option<String>,
    /// The rule was not judged: its PromQL is over alert-lint's limits (the run errs).
    pub unjudged: bool,
}

impl Finding {
    pub fn new(id: CheckId, status: Status, pos: Pos, message: String) -> Self {
        Finding {
            id,
            status,
            pos: Some(pos),
            message,
            rule: None,
            unjudged: false,
        }
    }

    pub fn for_rule(mut self, rule: &str) -> Self {
        if !rule.is_empty() {
            self.rule = Some(rule.to_owned());
        }
        self
    }
}

/// What is kept of one input file once it is judged: its findings and the few figures the
/// report needs. The text, the YAML tree and the PromQL ASTs are dropped as soon as the file
/// is linted, so memory follows the largest file, not the sum of all (the live checks keep
/// the text and the selectors they query, nothing more: `live::LiveFile`).
pub(crate) struct FileState {
    pub label: String,
    pub findings: Vec<Finding>,
    pub disables: Vec<Disable>,
    /// Line spans of the rules, for disable comments: (previous rule's last line, first
    /// line, last line) of every rule, in file order.
    pub spans: Vec<(u64, u64, u64)>,
    pub groups: usize,
    pub alerts: usize,
    pub records: usize,
    pub kubernetes: bool,
    /// Set when the file could not be read or parsed as YAML.
    pub broken: Option<String>,
    /// `file:line:col: what` of each rule alert-lint refused to judge (PromQL over the
    /// limits in `promql`).
    pub unjudged: Vec<String>,
}

impl FileState {
    pub fn new(label: String) -> Self {
        FileState {
            label,
            findings: Vec::new(),
            disables: Vec::new(),
            spans: Vec::new(),
            groups: 0,
            alerts: 0,
            records: 0,
            kubernetes: false,
            broken: None,
            unjudged: Vec::new(),
        }
    }
}

/// What the live checks saw, for `data`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveInfo {
    pub url: String,
    pub scrape_interval: Option<String>,
    pub queries: u64,
}
