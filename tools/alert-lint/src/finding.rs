//! Owns `Finding`: one problem found in one file, before it becomes a report check (config
//! overrides and disable comments are applied later, in `lint`).

use gatehouse::Status;

use crate::checks::CheckId;
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
