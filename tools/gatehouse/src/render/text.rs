//! `--format text`: what a person reads at a terminal or in a CI log. One header line with
//! the verdict, the failed/warned/skipped checks aligned, the tool's sections, a footer.

use std::fmt::Write as _;

use crate::render::{RenderOptions, Section, check_message};
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

/// Text from inputs may carry escape sequences or carriage returns that would rewrite the
/// terminal (hiding a FAIL line); show them as visible escapes instead.
fn safe(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
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
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(0);
    let loc_w = shown
        .iter()
        .map(|c| {
            c.location
                .as_ref()
                .map_or(0, |l| l.to_string().chars().count())
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
    let mut widths = vec![0usize; cols];
    for (i, h) in s.headers.iter().enumerate() {
        widths[i] = h.chars().count();
    }
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::from("  ");
        for (i, w) in widths.iter().enumerate() {
            let cell = safe(cells.get(i).map_or("", String::as_str));
            let _ = write!(line, "{cell:w$}  ");
        }
        line.trim_end().to_owned()
    };
    if rows.is_empty() {
        let _ = writeln!(out, "  {}", p.dim("(none)"));
        return;
    }
    let _ = writeln!(out, "{}", p.dim(&fmt_row(&s.headers)));
    for r in rows {
        let _ = writeln!(out, "{}", fmt_row(r));
    }
    if more > 0 {
        let _ = writeln!(out, "  {}", p.dim(&format!("… and {more} more")));
    }
}

#[cfg(test)]
mod tests {
    use crate::render::{RenderOptions, fixture};

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
