//! `--format junit`: JUnit XML, one `<testcase>` per check, so CI systems that read test
//! results (GitLab, Jenkins, Buildkite) show each check. Fail is `<failure>`, skip is
//! `<skipped>`, a warning passes with its message in `<system-out>`, and a run that could
//! not judge is one `<error>` test case.

use std::fmt::Write as _;

use crate::render::check_message;
use crate::report::{Report, Status};

pub(super) fn render(report: &Report) -> String {
    let t = report.tally();
    let errors = usize::from(report.error.is_some());
    let tests = report.checks.len() + errors;
    let secs = report.duration_ms as f64 / 1000.0;
    let suite = xml(&report.title());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"gatehouse\" tests=\"{tests}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\" time=\"{secs:.3}\">",
        t.fail, t.skip
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{}\" errors=\"{errors}\" skipped=\"{}\" time=\"{secs:.3}\" timestamp=\"{}\">",
        t.fail,
        t.skip,
        xml(report.started_at.trim_end_matches('Z'))
    );
    let classname = xml(&format!("{}.{}", report.agent, report.action));
    if let Some(err) = &report.error {
        let _ = writeln!(
            out,
            "    <testcase classname=\"{classname}\" name=\"run\" time=\"{secs:.3}\">"
        );
        let _ = writeln!(
            out,
            "      <error type=\"{}\" message=\"{}\"/>",
            xml(&err.kind),
            xml(&err.message)
        );
        out.push_str("    </testcase>\n");
    }
    for c in &report.checks {
        let name = match &c.location {
            Some(l) => format!("{} ({l})", c.id),
            None => c.id.clone(),
        };
        let msg = check_message(c);
        let open = format!(
            "    <testcase classname=\"{classname}\" name=\"{}\" time=\"0\"",
            xml(&name)
        );
        match c.result {
            Status::Ok if msg.is_empty() => {
                let _ = writeln!(out, "{open}/>");
            }
            Status::Ok | Status::Warn => {
                let prefix = if c.result == Status::Warn {
                    "warning: "
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "{open}>\n      <system-out>{prefix}{}</system-out>\n    </testcase>",
                    xml(&msg)
                );
            }
            Status::Fail => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                    xml(&c.id),
                    xml(&msg),
                    xml(&msg)
                );
            }
            Status::Skip => {
                let _ = writeln!(
                    out,
                    "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml(&msg)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// Escapes text for XML content and attributes; drops characters XML 1.0 cannot carry.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            // Attribute normalisation would turn raw tabs and CRs into spaces.
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::render::fixture;

    #[test]
    fn snapshot() {
        insta::assert_snapshot!("junit", super::render(&fixture::report()));
    }

    #[test]
    fn snapshot_error() {
        insta::assert_snapshot!("junit_error", super::render(&fixture::error_report()));
    }

    /// xmllint (libxml2-utils, installed by scripts/setup.sh) parses the output.
    #[test]
    fn output_is_well_formed_xml() {
        for report in [fixture::report(), fixture::error_report()] {
            let mut child = std::process::Command::new("xmllint")
                .args(["--noout", "-"])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("xmllint not found; run scripts/setup.sh");
            std::io::Write::write_all(
                &mut child.stdin.take().expect("stdin"),
                super::render(&report).as_bytes(),
            )
            .expect("write");
            let out = child.wait_with_output().expect("xmllint");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    #[test]
    fn drops_characters_xml_cannot_carry() {
        assert_eq!(super::xml("a\u{1}b<&>\"'"), "ab&lt;&amp;&gt;&quot;&apos;");
    }
}
