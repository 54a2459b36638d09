//! Renders a report in the format the user asked for. This module is the only code in the
//! workspace that writes a report to stdout (see `emit`); tools add tables through
//! [`Section`] and never build the frame themselves.

mod github;
pub mod html;
mod json;
mod junit;
mod markdown;
mod sarif;
mod text;

pub use crate::report::Section;
use serde::{Deserialize, Serialize};

use crate::report::Report;

/// `--format`: `auto` is text on a terminal and JSON otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Auto,
    Json,
    Text,
    Markdown,
    Github,
    Junit,
    Sarif,
    /// One self-contained HTML page (inline CSS and SVG, no script, no requests).
    Html,
}

impl Format {
    /// Resolves `auto` against whether stdout is a terminal.
    pub fn resolve(self, stdout_is_terminal: bool) -> Format {
        match self {
            Format::Auto if stdout_is_terminal => Format::Text,
            Format::Auto => Format::Json,
            other => other,
        }
    }
}

/// How a check id is described to code-scanning UIs (SARIF `rules`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDoc {
    pub id: String,
    pub summary: String,
    pub help: Option<String>,
}

impl RuleDoc {
    /// A rule from a check's three-part doc (STYLE.md: what it judges, why it matters, how
    /// to fix a failure). `summary` is `what`; `help` is all three as paragraphs, in the one
    /// layout every tool shares. Runs of whitespace in a part (doc-comment line breaks)
    /// become one space, so each part stays one paragraph.
    pub fn new(id: impl Into<String>, what: &str, why: &str, fix: &str) -> RuleDoc {
        let what = one_paragraph(what);
        let help = format!(
            "{what}\n\nWhy it matters: {}\n\nHow to fix: {}",
            one_paragraph(why),
            one_paragraph(fix)
        );
        RuleDoc {
            id: id.into(),
            summary: what,
            help: Some(help),
        }
    }
}

fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Rendering choices that are not part of the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours in text output.
    pub color: bool,
    /// List passing checks too.
    pub verbose: bool,
}

/// Renders `report` in `format` (`auto` must be resolved first; it renders as JSON).
pub fn render(report: &Report, format: Format, rules: &[RuleDoc], opts: RenderOptions) -> String {
    match format {
        Format::Auto | Format::Json => json::render(report),
        Format::Text => text::render(report, opts),
        Format::Markdown => markdown::render(report),
        Format::Github => github::render(report),
        Format::Junit => junit::render(report),
        Format::Sarif => sarif::render(report, rules),
        Format::Html => html::render(report),
    }
}

/// The most characters of one table cell a person is shown (text, markdown); the JSON
/// report keeps every character.
pub(crate) const MAX_CELL_CHARS: usize = 512;
/// The same for a message or summary.
pub(crate) const MAX_MESSAGE_CHARS: usize = 4096;

/// Whether `c` changes how the text around it displays without showing itself: control
/// characters (CR, ESC, BEL…) and Unicode's invisible format characters (bidi overrides
/// such as U+202E, zero-width spaces and joiners, the BOM). An input could use them to hide
/// or reorder what a reviewer reads.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// `s` with every hidden character but those in `keep` shown as an escape (`\u{202e}`).
pub(crate) fn reveal(s: &str, keep: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if is_hidden(c) && !keep.contains(&c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// `s` cut to at most `max` characters for display, saying how many were left out.
pub(crate) fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some((cut, _)) => {
            let left = s[cut..].chars().count();
            std::borrow::Cow::Owned(format!("{}… ({left} more characters)", &s[..cut]))
        }
    }
}

/// The one-line text shown for a check: its message, plus observed/limit when it has them.
pub(crate) fn check_message(c: &crate::report::Check) -> String {
    let numbers = match (&c.observed, &c.limit) {
        (Some(o), Some(l)) => Some(format!("observed {}, limit {}", plain(o), plain(l))),
        (Some(o), None) => Some(format!("observed {}", plain(o))),
        _ => None,
    };
    match (&c.message, numbers) {
        (Some(m), Some(n)) => format!("{m} ({n})"),
        (Some(m), None) => m.clone(),
        (None, Some(n)) => n,
        (None, None) => String::new(),
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! The report every renderer's snapshot is taken over: ok, warn, fail, skip and located
    //! checks, a section, with run-specific fields fixed.
    use crate::render::Section;
    use crate::report::{Check, Location, Report};

    pub fn report() -> Report {
        let mut b = Report::start("alert-lint", "check");
        b.check(Check::ok("syntax.yaml").with_location(Location::file("rules/api.yml")))
            .check(
                Check::fail(
                    "policy.runbook_missing",
                    "HighErrorRate: a critical alert without runbook_url",
                )
                .with_location(Location::at("rules/api.yml", 14, 9)),
            )
            .check(
                Check::warn(
                    "promql.range_too_short",
                    "rate(http_requests_total[30s]) covers fewer than 2 scrapes | 15s",
                )
                .with_location(Location::at("rules/api.yml", 20, 15)),
            )
            .check(
                Check::at_most("budget.noisy_alerts", 3.0, 2.0)
                    .with_message("3 alerts flapped more than 10 times"),
            )
            .check(Check::skip("live.series_present", "no --prometheus given"))
            .check(Check::ok("template.labels"));
        let mut s = Section::new("Noisiest alerts", &["alert", "episodes", "flaps"]);
        s.row(vec!["KubePodCrashLooping".into(), "41".into(), "12".into()]);
        s.row(vec!["HighErrorRate".into(), "7".into(), "1".into()]);
        b.section(s)
            .summary("2 problems in 1 file (1 failed, 1 warned)")
            .phase(Some("P1".into()));
        let mut r = b.finish();
        r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
        r.span_id = "00f067aa0ba902b7".into();
        r.started_at = "2026-11-24T10:00:00Z".into();
        r.duration_ms = 412;
        r.tool_version = "0.0.0".into();
        r
    }

    pub fn error_report() -> Report {
        let mut b = Report::start("sbom-diff", "diff");
        b.error(
            "input",
            "new.cdx.json:14:3: components[3].version: expected a string",
        );
        let mut r = b.finish();
        r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736".into();
        r.span_id = "00f067aa0ba902b7".into();
        r.started_at = "2026-11-24T10:00:00Z".into();
        r.duration_ms = 3;
        r.tool_version = "0.0.0".into();
        r
    }
}

#[cfg(test)]
mod tests {
    use super::RuleDoc;

    #[test]
    fn rule_doc_help_is_what_why_and_fix_as_paragraphs() {
        let doc = RuleDoc::new(
            "budget.new_critical",
            " New critical vulnerabilities\n against the budget.",
            "A release must not ship a known critical hole.",
            "Upgrade,   or add an exception.",
        );
        assert_eq!(doc.id, "budget.new_critical");
        assert_eq!(
            doc.summary,
            "New critical vulnerabilities against the budget."
        );
        assert_eq!(
            doc.help.as_deref(),
            Some(
                "New critical vulnerabilities against the budget.\n\n\
                 Why it matters: A release must not ship a known critical hole.\n\n\
                 How to fix: Upgrade, or add an exception."
            )
        );
    }
}
