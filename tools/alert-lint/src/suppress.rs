//! Owns disable comments in rule files:
//!
//! - `# alert-lint disable <check> [<check>…]` silences those checks for the rule the comment
//!   sits in, or for the next rule when the comment stands above it;
//! - `# alert-lint disable-file <check> […]` silences them for the whole file.
//!
//! A check is named by its id (`promql.rate_on_gauge`), pint's spelling
//! (`promql/rate-on-gauge`), a family (`promql`) or `all`; several may be separated by spaces
//! or commas, and anything after ` -- ` is a reason. Silenced findings become `skip` checks.

use crate::checks::CheckId;
use crate::selector;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Disable {
    /// Line of the comment (1-based).
    pub line: u64,
    pub file_wide: bool,
    pub checks: Vec<CheckId>,
    /// Selectors that name no check, for a warning.
    pub unknown: Vec<String>,
}

/// Finds every disable comment in `text`.
pub(crate) fn scan(text: &str) -> Vec<Disable> {
    let mut out = Vec::new();
    if !text.contains("alert-lint") {
        return out;
    }
    for (i, line) in text.lines().enumerate() {
        let Some(pos) = line.find("alert-lint") else {
            continue;
        };
        let Some(hash) = line[..pos].rfind('#') else {
            continue;
        };
        if !line[hash + 1..pos].trim().is_empty() {
            continue;
        }
        let rest = line[pos + "alert-lint".len()..].trim_start();
        let (file_wide, rest) = if let Some(r) = rest.strip_prefix("disable-file") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("file/disable") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("disable") {
            (false, r)
        } else {
            continue;
        };
        let rest = rest.split(" -- ").next().unwrap_or("");
        let mut checks = Vec::new();
        let mut unknown = Vec::new();
        for sel in rest.split([' ', ',', '\t']).filter(|s| !s.is_empty()) {
            let matched = selector::matching(sel);
            if matched.is_empty() {
                unknown.push(sel.to_owned());
            }
            checks.extend(matched);
        }
        out.push(Disable {
            line: i as u64 + 1,
            file_wide,
            checks,
            unknown,
        });
    }
    out
}

/// The disable comment that silences `id` for a rule spanning `start..=end` lines, given the
/// end line of the previous rule (comments between the two rules belong to this one).
pub(crate) fn covering(
    disables: &[Disable],
    id: CheckId,
    rule_lines: Option<(u64, u64, u64)>,
) -> Option<&Disable> {
    disables.iter().find(|d| {
        d.checks.contains(&id)
            && (d.file_wide
                || rule_lines
                    .is_some_and(|(prev_end, _start, end)| d.line > prev_end && d.line <= end))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rule_and_file_comments_in_both_spellings() {
        let d = scan(
            "# alert-lint disable-file promql/rate-on-gauge\ngroups:\n  # alert-lint disable policy.runbook, template -- owned elsewhere\n  # alert-lint disable nope\n",
        );
        assert_eq!(d.len(), 3);
        assert!(d[0].file_wide);
        assert_eq!(d[0].checks, vec![CheckId::PromqlRateOnGauge]);
        assert_eq!(d[1].line, 3);
        assert_eq!(d[1].checks.len(), 4);
        assert_eq!(d[2].unknown, vec!["nope".to_owned()]);
    }

    #[test]
    fn a_comment_covers_the_rule_below_or_around_it() {
        let d = scan("a\n# alert-lint disable policy\nb\n");
        // previous rule ended on line 1, this rule spans 3..=5
        assert!(covering(&d, CheckId::PolicyRunbook, Some((1, 3, 5))).is_some());
        // a rule that ended after the comment does not belong to it
        assert!(covering(&d, CheckId::PolicyRunbook, Some((2, 3, 5))).is_none());
        assert!(covering(&d, CheckId::PromqlComparison, Some((1, 3, 5))).is_none());
    }
}
