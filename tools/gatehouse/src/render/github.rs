//! `--format github`: GitHub Actions workflow commands. Each failed or warned check becomes
//! an `::error`/`::warning` annotation (on its file and line when it has one), and the run
//! ends with a `::notice` carrying the summary.

use std::fmt::Write as _;

use crate::render::{MAX_MESSAGE_CHARS, check_message, clip, reveal};
use crate::report::{Outcome, Report, Status};

pub(super) fn render(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let level = match c.result {
            Status::Fail => "error",
            Status::Warn => "warning",
            Status::Ok | Status::Skip => continue,
        };
        let mut props = Vec::new();
        if let Some(loc) = &c.location {
            props.push(format!("file={}", property(&loc.file)));
            if let Some(line) = loc.line {
                props.push(format!("line={line}"));
                if let Some(col) = loc.column {
                    props.push(format!("col={col}"));
                }
            }
        }
        props.push(format!(
            "title={}",
            property(&format!("{}: {}", report.agent, c.id))
        ));
        let _ = writeln!(
            out,
            "::{level} {}::{}",
            props.join(","),
            data(&check_message(c))
        );
    }
    if let Some(err) = &report.error {
        let _ = writeln!(
            out,
            "::error title={}::{}",
            property(&format!("{} could not judge ({})", report.agent, err.kind)),
            data(&err.message)
        );
    }
    let verdict = match report.result {
        Outcome::Ok => "ok",
        Outcome::Fail => "fail",
        Outcome::Error => "error",
    };
    let _ = writeln!(
        out,
        "::notice title={}::{}",
        property(&format!("{} {}", report.title(), verdict)),
        data(&report.summary)
    );
    out
}

/// Escapes a workflow-command message (`%`, CR, LF); other hidden characters (ESC, BEL,
/// bidi overrides) are shown as escapes, and a huge message is cut for display.
fn data(s: &str) -> String {
    reveal(&clip(s, MAX_MESSAGE_CHARS), &['\r', '\n'])
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value (also `:` and `,`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use crate::render::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("github", super::render(&fixture::report()));
    }

    #[test]
    fn snapshot_error() {
        insta::assert_snapshot!("github_error", super::render(&fixture::error_report()));
    }

    #[test]
    fn hidden_characters_are_shown_as_escapes() {
        let out = super::data("a\u{1b}[31m\u{7}\u{202e}\u{200b}b\rc");
        assert_eq!(out, "a\\u{1b}[31m\\u{7}\\u{202e}\\u{200b}b%0Dc");
    }

    #[test]
    fn escapes_newlines_and_separators() {
        assert_eq!(super::data("a%b\nc"), "a%25b%0Ac");
        assert_eq!(super::property("a:b,c"), "a%3Ab%2Cc");
    }
}
