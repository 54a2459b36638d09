//! HTML pages of reports: one self-contained document (inline CSS, inline SVG, no script,
//! no link or request to anything outside it) that reads in a browser from a zip or an
//! air-gapped machine, in light and dark mode and in print. `--format html` renders one
//! report with [`render`]; evidence-pack's release page puts many [`report_section`]s under
//! its decision with [`document`].
//!
//! Every string from a report goes through [`escape`] (HTML and XML metacharacters, hidden
//! characters shown as escapes); nothing from a report becomes a link, an attribute that
//! loads something, or markup.

mod hdr;
pub mod svg;
mod tools;

use std::fmt::Write as _;

use crate::report::{Check, Report, Status};

/// `s` safe as HTML text and as a quoted attribute value, in HTML and in SVG/XML: `& < > " '`
/// as entities, control and invisible format characters (bidi overrides, zero-width) shown
/// as `\u{…}` escapes so they can neither hide text nor break XML.
pub fn escape(s: &str) -> String {
    let shown = super::reveal(s, &['\n', '\t']);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Not allowed in XML 1.0 even though Rust calls it a char: the noncharacters.
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A fragment id from any text: `[a-z0-9-]`, never empty.
pub fn anchor(s: &str) -> String {
    let a: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    format!("r-{a}")
}

/// The page's style: light by default, dark under `prefers-color-scheme: dark`, black on
/// white without backgrounds in print. Chart colours are classes, so SVG follows too.
const CSS: &str = "\
:root{--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--panel:#f6f8fa;--ok:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--c1:#0969da;--c2:#bc4c00;--c3:#8250df;--c4:#1a7f37;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--panel:#161b22;--ok:#3fb950;--fail:#f85149;--warn:#d29922;--skip:#9198a1;--c1:#4493f8;--c2:#f0883e;--c3:#ab7df8;--c4:#3fb950}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:980px;padding:1.5rem;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",sans-serif}
h1{font-size:1.6rem;margin:.2rem 0 .6rem}h2{font-size:1.25rem;margin:2rem 0 .5rem;padding-top:.6rem;border-top:1px solid var(--line)}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
p,li{max-width:75ch}.muted{color:var(--muted)}code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
table{border-collapse:collapse;width:100%;margin:.4rem 0 1rem;font-size:.9rem}th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:var(--panel)}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th,.badge{white-space:nowrap}table.checks td:nth-child(-n+2),table.gates td:nth-child(-n+3),.decision td:nth-child(-n+3){white-space:nowrap;overflow-wrap:normal}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:1rem;font-weight:600;font-size:.85rem;border:1px solid currentColor}
.r-ok,.r-promote,.r-pass{color:var(--ok)}.r-fail,.r-block,.r-rollback,.r-error{color:var(--fail)}.r-warn{color:var(--warn)}.r-skip,.r-missing,.r-none{color:var(--skip)}
.decision{border:2px solid currentColor;border-radius:.5rem;padding:.8rem 1rem;margin:1rem 0;background:var(--panel)}.decision h2{border:0;margin:0;padding:0;font-size:1.4rem}.decision *{color:var(--fg)}.decision h2 .badge{font-size:1.2rem}
.decision.r-promote h2 .badge{color:var(--ok)}.decision.r-block h2 .badge,.decision.r-rollback h2 .badge{color:var(--fail)}
figure{margin:.6rem 0 1.2rem;break-inside:avoid}figcaption{color:var(--muted);font-size:.85rem}
details summary{cursor:pointer;color:var(--muted);font-size:.85rem}
.chart{width:100%;height:auto;max-width:760px;display:block;font:11px system-ui,sans-serif}
.chart text{fill:var(--fg)}.chart .tick,.chart .axis{fill:var(--muted)}.chart .grid{stroke:var(--line);stroke-width:1}
.chart .line{fill:none;stroke-width:2}.chart .ref{stroke-width:1.5;stroke-dasharray:6 4}.chart .ref.limit{stroke:var(--fail)}.chart .ref.target{stroke:var(--muted)}.chart .reflabel{font-size:10px}
.chart .s1{stroke:var(--c1);fill:var(--c1)}.chart .s2{stroke:var(--c2);fill:var(--c2)}.chart .s3{stroke:var(--c3);fill:var(--c3)}.chart .s4{stroke:var(--c4);fill:var(--c4)}.chart .line.base{stroke:var(--muted);stroke-dasharray:2 3}.chart .dot.base,.chart .base.key{fill:var(--muted);stroke:var(--muted)}
.chart .line.s1,.chart .line.s2,.chart .line.s3,.chart .line.s4{fill:none}
.chart .bar.ok,.chart .ok.key{fill:var(--ok)}.chart .bar.fail,.chart .fail.key{fill:var(--fail)}.chart .bar.warn,.chart .warn.key{fill:var(--warn)}.chart .bar.skip,.chart .skip.key{fill:var(--skip)}
.chart .bar{stroke:none}.chart .value{font-size:10px}
nav ul{columns:2;padding-left:1.2rem}
@media print{:root{--bg:#fff;--fg:#000;--muted:#333;--line:#999;--panel:#fff}body{max-width:none;padding:0;font-size:11pt}h2{break-after:avoid}section{break-inside:auto}nav{display:none}.decision{background:none}}
";

/// A whole HTML document: `<title>` from `title` (escaped), `body` as given (markup the
/// caller built from escaped parts).
pub fn document(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    )
}

/// A result or decision as a coloured word (`ok`, `fail`, `promote`, `block`, …).
pub fn badge(word: &str) -> String {
    let class: String = word
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    format!(
        "<span class=\"badge r-{}\">{}</span>",
        class.to_ascii_lowercase(),
        escape(word)
    )
}

/// A table of plain-text cells (escaped); `num` columns are right-aligned.
pub fn table(headers: &[&str], rows: &[Vec<String>], num: &[usize]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let cls = if num.contains(&i) {
                " class=\"num\""
            } else {
                ""
            };
            let cell = super::clip(cell, super::MAX_CELL_CHARS);
            let _ = write!(out, "<td{cls}>{}</td>", escape(&cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A chart with its caption and its figures as a table (the text alternative).
pub(crate) fn figure(svg: &str, caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<figure>{svg}<figcaption>{}</figcaption>", escape(caption));
    if !rows.is_empty() {
        let num: Vec<usize> = (1..headers.len()).collect();
        let _ = write!(
            out,
            "<details><summary>Figures as a table</summary>{}</details>",
            table(headers, rows, &num)
        );
    }
    out.push_str("</figure>");
    out
}

fn location(c: &Check) -> String {
    c.location
        .as_ref()
        .map(|l| match (l.line, l.column) {
            (Some(line), Some(col)) => format!("{}:{line}:{col}", l.file),
            (Some(line), None) => format!("{}:{line}", l.file),
            _ => l.file.clone(),
        })
        .unwrap_or_default()
}

/// The one-line key figure of a report for a summary row: the tool's headline number when
/// it has one (p99, new critical vulnerabilities, RTO…), else its summary.
pub fn key_figure(r: &Report) -> String {
    if let Some(e) = &r.error {
        return format!("error ({}): {}", e.kind, e.message);
    }
    tools::key_figure(r).unwrap_or_else(|| r.summary.clone())
}

/// One report as a `<section>`: heading, result, summary, the tool's charts and tables,
/// the checks that did not pass (with their locations), and the report's own tables.
/// `id` is the section's fragment id (see [`anchor`]); `source` names the file it came from.
pub fn report_section(r: &Report, id: &str, source: Option<&str>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<section id=\"{}\" aria-labelledby=\"{}-h\"><h2 id=\"{}-h\">{} {}</h2>",
        escape(id),
        escape(id),
        escape(id),
        escape(&r.title()),
        badge(r.result.as_str())
    );
    let _ = write!(
        out,
        "<p>{}</p>",
        escape(&super::clip(&r.summary, super::MAX_MESSAGE_CHARS))
    );
    let mut meta = format!("started {} · {} ms", r.started_at, r.duration_ms);
    if let Some(p) = &r.phase {
        let _ = write!(meta, " · phase {p}");
    }
    if let Some(s) = source {
        let _ = write!(meta, " · from {s}");
    }
    let _ = write!(out, "<p class=\"muted\">{}</p>", escape(&meta));
    if let Some(e) = &r.error {
        let _ = write!(
            out,
            "<p class=\"r-error\"><strong>Could not judge ({}):</strong> {}</p>",
            escape(&e.kind),
            escape(&e.message)
        );
    }
    out.push_str(&tools::figures(r));
    let not_ok: Vec<&Check> = r
        .checks
        .iter()
        .filter(|c| matches!(c.result, Status::Fail | Status::Warn))
        .collect();
    let tally = r.tally();
    let _ = write!(
        out,
        "<h3>Checks</h3><p>{} ok, {} warned, {} failed, {} skipped.</p>",
        tally.ok, tally.warn, tally.fail, tally.skip
    );
    if !not_ok.is_empty() {
        let rows: Vec<Vec<String>> = not_ok
            .iter()
            .take(200)
            .map(|c| {
                vec![
                    c.result.as_str().to_owned(),
                    c.id.clone(),
                    super::check_message(c),
                    location(c),
                ]
            })
            .collect();
        let t = table(&["result", "check", "message", "location"], &rows, &[]);
        out.push_str(&t.replacen("<table>", "<table class=\"checks\">", 1));
        if not_ok.len() > 200 {
            let _ = write!(
                out,
                "<p class=\"muted\">{} more in the JSON report.</p>",
                not_ok.len() - 200
            );
        }
    }
    for s in &r.sections {
        let limit = s.max_rows.unwrap_or(30).min(30);
        let _ = write!(out, "<h3>{}</h3>", escape(&s.title));
        let headers: Vec<&str> = s.headers.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = s.rows.iter().take(limit).cloned().collect();
        out.push_str(&table(&headers, &rows, &[]));
        if s.rows.len() > limit {
            let _ = write!(
                out,
                "<p class=\"muted\">{} more rows in the JSON report.</p>",
                s.rows.len() - limit
            );
        }
    }
    out.push_str("</section>");
    out
}

/// `--format html`: one report as a page of its own.
pub fn render(r: &Report) -> String {
    let id = anchor(&r.title());
    let body = format!(
        "<main><h1>Gatehouse report</h1>{}</main>",
        report_section(r, &id, None)
    );
    document(&r.title(), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_leaves_no_markup_and_shows_hidden_characters() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("a\u{202E}b\u{1}"), "a\\u{202e}b\\u{1}");
    }

    #[test]
    fn format_html_renders_through_the_shared_entry_point() {
        let r = crate::render::fixture::report();
        let page = crate::render::render(
            &r,
            crate::render::Format::Html,
            &[],
            crate::render::RenderOptions::default(),
        );
        assert_eq!(page, render(&r));
        let error = render(&crate::render::fixture::error_report());
        assert!(error.contains("Could not judge (input):"));
        assert!(error.contains("new.cdx.json:14:3: components[3].version: expected a string"));
    }

    #[test]
    fn a_report_page_is_one_document_without_script() {
        let page = render(&crate::render::fixture::report());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.to_ascii_lowercase().contains("<script"));
        assert!(page.contains("HighErrorRate: a critical alert without runbook_url"));
        assert!(page.contains("rules/api.yml:14:9"));
        assert!(page.contains("Noisiest alerts"));
    }
}
