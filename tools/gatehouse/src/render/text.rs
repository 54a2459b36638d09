//! `--format text`: what a person reads at a terminal or in a CI log. One header line with
//! the verdict, the failed/warned/skipped checks aligned, the tool's sections, a footer.

use std::fmt::Write as _;

use crate::render::{
    MAX_CELL_CHARS, MAX_MESSAGE_CHARS, RenderOptions, Section, check_message, clip, reveal,
};
use crate::report::{Outcome, Report, Status};

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
    fn status(&self, st: Status) -> String {
        let (word, code) = match st {
            Status::Fail => ("FAIL", "1;31"),
            Status::Warn => ("WARN", "1;33"),
            Status::Ok => ("ok", "32"),
            Status::Skip => ("skip", "2"),
        };
        self.wrap(code, &format!("{word:<4}"))
    }
    fn outcome(&self, o: Outcome) -> String {
        match o {
            Outcome::Ok => self.wrap("1;32", "OK"),
            Outcome::Fail => self.wrap("1;31", "FAIL"),
            Outcome::Error => self.wrap("1;31", "ERROR"),
        }
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
}

/// Text from inputs may carry escape sequences, carriage returns or bidi overrides that
/// would rewrite the terminal (hiding a FAIL line); show them as visible escapes instead,
/// and cut what is too long to read (the JSON keeps it whole).
fn safe(s: &str) -> String {
    reveal(&clip(s, MAX_MESSAGE_CHARS), &[])
}

fn safe_cell(s: &str) -> String {
    reveal(&clip(s, MAX_CELL_CHARS), &[])
}

pub(super) fn render(report: &Report, opts: RenderOptions) -> String {
    let p = Paint { on: opts.color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  {}",
        p.bold(&report.title()),
        p.outcome(report.result),
        safe(&report.summary)
    );
    if let Some(err) = &report.error {
        let _ = writeln!(out, "  {} {}", p.dim("error kind:"), err.kind);
    }

    let shown: Vec<_> = report
        .checks
        .iter()
        .filter(|c| opts.verbose || c.result != Status::Ok)
        .collect();
    let id_w = shown
        .iter()
        .map(|c| safe(&c.id).chars().count())
        .max()
        .unwrap_or(0);
    let loc_w = shown
        .iter()
        .map(|c| {
            c.location
                .as_ref()
                .map_or(0, |l| safe(&l.to_string()).chars().count())
        })
        .max()
        .unwrap_or(0);
    if !shown.is_empty() {
        out.push('\n');
    }
    for c in &shown {
        let loc = safe(
            &c.location
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        );
        let line = format!(
            "  {}  {:id_w$}  {:loc_w$}  {}",
            p.status(c.result),
            safe(&c.id),
            loc,
            safe(&check_message(c))
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let tally = report.tally();
    if !opts.verbose && tally.ok > 0 {
        let _ = writeln!(
            out,
            "  {}",
            p.dim(&format!(
                "{} {} passed (-v lists them)",
                tally.ok,
                crate::plural(tally.ok, "check", "checks")
            ))
        );
    }

    for s in &report.sections {
        out.push('\n');
        section(&mut out, s, &p);
    }

    let mut footer = vec![
        format!("trace {}", report.trace_id),
        format!("{} ms", report.duration_ms),
    ];
    if let Some(phase) = &report.phase {
        footer.insert(0, format!("phase {phase}"));
    }
    let _ = writeln!(out, "\n{}", p.dim(&footer.join(" · ")));
    out
}

fn section(out: &mut String, s: &Section, p: &Paint) {
    let _ = writeln!(out, "{}", p.bold(&s.title));
    let (rows, more) = s.shown();
    let cols = s
        .headers
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    // Cells as shown (escaped, cut to MAX_CELL_CHARS), so widths match what is printed and
    // stay far below the formatter's 65,535 width limit.
    let shown = |cells: &[String]| cells.iter().map(|c| safe_cell(c)).collect::<Vec<_>>();
    let header = shown(&s.headers);
    let body: Vec<Vec<String>> = rows.iter().map(|r| shown(r)).collect();
    let mut widths = vec![0usize; cols];
    for r in std::iter::once(&header).chain(&body) {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::from("  ");
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map_or("", String::as_str);
            let pad = w.saturating_sub(cell.chars().count());
            let _ = write!(line, "{cell}{:pad$}  ", "");
        }
        line.trim_end().to_owned()
    };
    if rows.is_empty() {
        let _ = writeln!(out, "  {}", p.dim("(none)"));
        return;
    }
    let _ = writeln!(out, "{}", p.dim(&fmt_row(&header)));
    for r in &body {
        let _ = writeln!(out, "{}", fmt_row(r));
    }
    if more > 0 {
        let _ = writeln!(out, "  {}", p.dim(&format!("… and {more} more")));
    }
}

#[cfg(test)]
mod tests {
    use crate::render::{RenderOptions, Section, fixture};

    #[test]
    fn snapshot() {
        insta::assert_snapshot!(
            "text",
            super::render(&fixture::report(), RenderOptions::default())
        );
    }

    #[test]
    fn snapshot_verbose() {
        insta::assert_snapshot!(
            "text_verbose",
            super::render(
                &fixture::report(),
                RenderOptions {
                    color: false,
                    verbose: true
                }
            )
        );
    }

    #[test]
    fn snapshot_error() {
        insta::assert_snapshot!(
            "text_error",
            super::render(&fixture::error_report(), RenderOptions::default())
        );
    }

    #[test]
    fn a_cell_of_65536_characters_renders_cut() {
        let mut r = fixture::report();
        let mut s = Section::new("big", &["name", "value"]);
        s.row(vec!["x".repeat(70_000), "y".into()]);
        r.sections = vec![s];
        r.summary = "z".repeat(70_000);
        let out = super::render(&r, RenderOptions::default());
        assert!(out.len() < 20_000, "{}", out.len());
        assert!(out.contains("more characters)"), "{out}");
    }

    #[test]
    fn bidi_overrides_and_zero_width_spaces_are_shown() {
        let mut r = fixture::report();
        r.summary = "ok\u{202e}lairt\u{200b}".into();
        let out = super::render(&r, RenderOptions::default());
        assert!(!out.contains(['\u{202e}', '\u{200b}']), "{out}");
        assert!(out.contains("\\u{202e}"), "{out}");
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = super::render(&fixture::report(), RenderOptions::default());
        assert!(!plain.contains('\x1b'));
        let coloured = super::render(
            &fixture::report(),
            RenderOptions {
                color: true,
                verbose: false,
            },
        );
        assert!(coloured.contains("\x1b[1;31mFAIL"));
    }
}
