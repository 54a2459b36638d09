//! `--format markdown`: a pull-request comment. A heading with the verdict, the summary,
//! a table of failed and warned checks, the tool's sections, and a small footer.

use std::fmt::Write as _;

use crate::render::{MAX_CELL_CHARS, MAX_MESSAGE_CHARS, Section, check_message, clip, reveal};
use crate::report::{Outcome, Report, Status};

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    let icon = match report.result {
        Outcome::Ok => "✅",
        Outcome::Fail => "❌",
        Outcome::Error => "⚠️",
    };
    let _ = writeln!(
        out,
        "### {icon} `{}`: {}\n",
        report.title(),
        report.result.as_str()
    );
    let _ = writeln!(out, "{}\n", cell(&report.summary));
    if let Some(err) = &report.error {
        let _ = writeln!(
            out,
            "The tool could not judge (`{}`): {}\n",
            err.kind,
            cell(&err.message)
        );
    }

    let problems: Vec<_> = report
        .checks
        .iter()
        .filter(|c| matches!(c.result, Status::Fail | Status::Warn))
        .collect();
    if !problems.is_empty() {
        out.push_str("| Result | Check | Location | Message |\n|---|---|---|---|\n");
        for c in problems {
            let result = if c.result == Status::Fail {
                "❌ fail"
            } else {
                "⚠️ warn"
            };
            let loc = c
                .location
                .as_ref()
                .map(|l| format!("`{}`", code(&l.to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| {result} | `{}` | {loc} | {} |",
                c.id,
                cell(&check_message(c))
            );
        }
        out.push('\n');
    }

    for s in &report.sections {
        section(&mut out, s);
    }

    let t = report.tally();
    let mut footer = vec![
        format!("{} passed", t.ok),
        format!("{} failed", t.fail),
        format!("{} warned", t.warn),
    ];
    if t.skip > 0 {
        footer.push(format!("{} skipped", t.skip));
    }
    if let Some(phase) = &report.phase {
        footer.push(format!("phase {phase}"));
    }
    footer.push(format!("trace `{}`", report.trace_id));
    footer.push(format!("{} ms", report.duration_ms));
    footer.push(format!("{} {}", report.agent, report.tool_version));
    let _ = writeln!(out, "<sub>{}</sub>", footer.join(" · "));
    out
}

fn section(out: &mut String, s: &Section) {
    let _ = writeln!(out, "#### {}\n", cell(&s.title));
    let (rows, more) = s.shown();
    if rows.is_empty() {
        out.push_str("_none_\n\n");
        return;
    }
    let _ = writeln!(
        out,
        "| {} |",
        s.headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(out, "|{}", "---|".repeat(s.headers.len().max(1)));
    for r in rows {
        let _ = writeln!(
            out,
            "| {} |",
            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
        );
    }
    if more > 0 {
        let _ = writeln!(out, "\n… and {more} more");
    }
    out.push('\n');
}

/// Makes text safe inside a table cell: pipes escaped, newlines (CRLF, LF or a bare CR,
/// which would end the table row) as `<br>`, HTML inert, hidden characters (ESC, BEL, bidi
/// overrides, zero-width spaces) shown as escapes, and cut to a readable length.
///
/// Also no accidental `@mention` (an npm scope such as `@babel/core` would ping a user)
/// and no `#123` issue link.
fn cell(s: &str) -> String {
    let text = clip(s, MAX_MESSAGE_CHARS)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    reveal(&text, &['\n'])
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('\n', "<br>")
        // `#` first: the entity for `@` contains one.
        .replace('#', "&#35;")
        .replace('@', "&#64;")
}

/// Text inside a code span: entities would show literally, so only the pipe, newlines,
/// backticks and hidden characters are changed.
fn code(s: &str) -> String {
    reveal(&clip(s, MAX_CELL_CHARS).replace(['\r', '\n'], " "), &[])
        .replace('|', "\\|")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use crate::render::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("markdown", super::render(&fixture::report()));
    }

    #[test]
    fn mentions_and_issue_links_are_inert() {
        assert_eq!(super::cell("@babel/core #12"), "&#64;babel/core &#35;12");
    }

    #[test]
    fn hidden_characters_cannot_end_a_row_or_hide_text() {
        let out = super::cell("a\rb![x](http://e/i.png)\u{1b}[2J\u{7}\u{202e}\u{200b}c");
        assert!(
            !out.contains(['\r', '\n', '\u{1b}', '\u{7}', '\u{202e}', '\u{200b}']),
            "{out}"
        );
        assert!(out.starts_with("a<br>b"), "{out}");
        assert!(
            out.contains("\\u{202e}") && out.contains("\\u{1b}"),
            "{out}"
        );
        let code = super::code("x\u{202e}\ry");
        assert_eq!(code, "x\\u{202e} y");
    }

    #[test]
    fn a_huge_cell_is_cut_for_display() {
        let out = super::cell(&"x".repeat(100_000));
        assert!(
            out.len() < 5_000 && out.ends_with("more characters)"),
            "{}",
            out.len()
        );
    }

    #[test]
    fn snapshot_error() {
        insta::assert_snapshot!("markdown_error", super::render(&fixture::error_report()));
    }
}
