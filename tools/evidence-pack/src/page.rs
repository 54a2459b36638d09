//! The release page (`report`, and `report.html` inside the pack): one self-contained HTML
//! document with the gate's decision and why, a row per gate with its key figure, what is
//! missing, then each tool's section drawn by `gatehouse::render::html`.
//!
//! Deterministic: the same reports and decision give the same bytes (no clock, no random
//! ids, reports in a fixed order), so a pack that holds the page stays reproducible.

use std::fmt::Write as _;

use gatehouse::render::html::{anchor, badge, document, escape, key_figure, report_section, table};
use serde_json::Value;

use crate::reports::LoadedReport;

/// The page's name inside an evidence pack.
pub(crate) const PACK_ENTRY: &str = "report.html";

/// The tools whose reports a release's evidence is expected to hold, in page order.
pub(crate) const TOOLS: [&str; 7] = [
    "verify-goldens",
    "sbom-diff",
    "migration-gate",
    "perf-gate",
    "replayctl",
    "dr-drill",
    "alert-lint",
];

/// What the page is drawn from.
pub(crate) struct PageInput<'a> {
    /// The release in the title, when known.
    pub(crate) release: Option<&'a str>,
    pub(crate) reports: &'a [LoadedReport],
    /// The gate's `data` (decision, reasons, requirements, waivers, policy), when there is a
    /// decision: build's own `--policy`, a gate report among the reports, or the pack's
    /// signed statement.
    pub(crate) gate: Option<&'a Value>,
    /// Where the reports came from, said under the title (e.g. "evidence.zip").
    pub(crate) origin: Option<&'a str>,
}

/// The tools of [`TOOLS`] with no report among `reports`.
pub(crate) fn missing_tools(reports: &[LoadedReport]) -> Vec<&'static str> {
    TOOLS
        .iter()
        .filter(|t| !reports.iter().any(|r| r.report.agent == **t))
        .copied()
        .collect()
}

/// The data of the newest `evidence-pack gate` report among `reports`; a YAML policy's
/// (with its requirements and reasons) before a Rego policy's run over the same reports.
pub(crate) fn gate_data(reports: &[LoadedReport]) -> Option<&Value> {
    reports
        .iter()
        .filter(|r| r.report.agent == crate::AGENT && r.report.action == "gate")
        .filter(|r| r.report.data.get("decision").is_some())
        .max_by(|a, b| {
            let key =
                |r: &LoadedReport| (r.report.data.get("requirements").is_some(), r.started_at());
            key(a).cmp(&key(b)).then_with(|| a.source.cmp(&b.source))
        })
        .map(|r| &r.report.data)
}

/// The tool reports the page shows, in page order: by tool, then action, then start time.
fn shown(reports: &[LoadedReport]) -> Vec<&LoadedReport> {
    let rank = |agent: &str| {
        TOOLS
            .iter()
            .position(|t| *t == agent)
            .unwrap_or(TOOLS.len())
    };
    let mut out: Vec<&LoadedReport> = reports
        .iter()
        .filter(|r| r.report.agent != crate::AGENT)
        .collect();
    out.sort_by(|a, b| {
        (
            rank(&a.report.agent),
            &a.report.agent,
            &a.report.action,
            &a.report.started_at,
            &a.source,
        )
            .cmp(&(
                rank(&b.report.agent),
                &b.report.agent,
                &b.report.action,
                &b.report.started_at,
                &b.source,
            ))
    });
    out
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn decision_block(gate: Option<&Value>) -> String {
    let Some(g) = gate else {
        return "<div class=\"decision r-none\" role=\"status\"><h2>Decision: <span class=\"badge r-none\">none</span></h2>\
                <p>No gate decision in these reports: run <code>evidence-pack gate --policy FILE</code> \
                (or <code>build --policy</code>) and include its report.</p></div>"
            .to_owned();
    };
    let decision = g.get("decision").and_then(Value::as_str).unwrap_or("none");
    let mut out = format!(
        "<div class=\"decision r-{}\" role=\"status\"><h2>Decision: {}</h2>",
        escape(
            &decision
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect::<String>()
        ),
        badge(decision)
    );
    if let Some(p) = g.get("policy") {
        let _ = write!(
            out,
            "<p>Policy <strong>{}</strong> (<code>{}</code>, sha256 <code>{}</code>){}.</p>",
            escape(text(p, "name")),
            escape(text(p, "path")),
            escape(text(p, "sha256").get(..16).unwrap_or("")),
            g.get("evaluated_at")
                .and_then(Value::as_str)
                .map(|t| format!(", judged as of {}", escape(t)))
                .unwrap_or_default()
        );
    }
    let reasons = g
        .get("reasons")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    // A Rego policy's run says why in `deny` (conftest's messages), not `reasons`.
    let deny: Vec<&str> = g
        .get("deny")
        .and_then(Value::as_array)
        .map(|d| {
            d.iter()
                .filter_map(|m| m.as_str().or_else(|| m.get("msg")?.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if !deny.is_empty() && reasons.is_empty() {
        out.push_str("<p>Why (the policy's deny rules):</p><ul class=\"reasons\">");
        for m in deny {
            let _ = write!(out, "<li>{}</li>", escape(m));
        }
        out.push_str("</ul>");
    } else if reasons.is_empty() && decision == "promote" {
        out.push_str("<p>Every required gate passed.</p>");
    } else if reasons.is_empty() {
        out.push_str("<p>The decision records no reasons.</p>");
    } else {
        out.push_str("<p>Why:</p><ul class=\"reasons\">");
        for r in reasons {
            let waived = r
                .get("waived_by")
                .and_then(Value::as_str)
                .map(|w| format!(" — waived by {}", escape(w)))
                .unwrap_or_default();
            let _ = write!(
                out,
                "<li>{} <strong>{} {}</strong>: {}{}</li>",
                badge(text(r, "on_fail")),
                escape(text(r, "agent")),
                escape(text(r, "action")),
                escape(text(r, "message")),
                waived
            );
        }
        out.push_str("</ul>");
    }
    let waivers = g
        .get("waivers")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    if !waivers.is_empty() {
        out.push_str("<h3>Waivers</h3>");
        let rows: Vec<Vec<String>> = waivers
            .iter()
            .map(|w| {
                vec![
                    format!("{} {}", text(w, "agent"), text(w, "action")),
                    text(w, "status").to_owned(),
                    text(w, "until").to_owned(),
                    text(w, "owner").to_owned(),
                    text(w, "reason").to_owned(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["waives", "status", "expires", "owner", "reason"],
            &rows,
            &[],
        ));
    }
    out.push_str("</div>");
    out
}

/// The policy's view of one report: its requirement's status (`ok`, `fail`, `stale`…). By
/// agent and action, not path: inside a pack the gate's paths are the pack's names.
fn requirement<'a>(gate: Option<&'a Value>, r: &LoadedReport) -> Option<&'a str> {
    gate?.get("requirements")?.as_array()?.iter().find_map(|q| {
        (text(q, "agent") == r.report.agent
            && (text(q, "action").is_empty() || text(q, "action") == r.report.action))
            .then(|| text(q, "status"))
    })
}

/// The whole page.
pub(crate) fn render(input: &PageInput<'_>) -> String {
    let title = match input.release {
        Some(r) => format!("Release {r}: evidence"),
        None => "Release evidence".to_owned(),
    };
    let shown = shown(input.reports);
    let ids: Vec<String> = shown
        .iter()
        .enumerate()
        .map(|(i, r)| anchor(&format!("{}-{}-{}", r.report.agent, r.report.action, i + 1)))
        .collect();
    let mut body = format!("<header><h1>{}</h1>", escape(&title));
    let tools = shown
        .iter()
        .map(|r| r.report.agent.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let _ = write!(
        body,
        "<p class=\"muted\">{} {} from {tools} {}{}.</p></header><main>",
        shown.len(),
        gatehouse::plural(shown.len(), "report", "reports"),
        gatehouse::plural(tools, "tool", "tools"),
        input
            .origin
            .map(|o| format!(", read from {}", escape(o)))
            .unwrap_or_default()
    );
    body.push_str(&decision_block(input.gate));

    body.push_str("<section aria-labelledby=\"gates-h\"><h2 id=\"gates-h\">Gates</h2>");
    body.push_str("<table class=\"gates\"><thead><tr><th scope=\"col\">gate</th><th scope=\"col\">result</th><th scope=\"col\">policy</th><th scope=\"col\">key figure</th></tr></thead><tbody>");
    for (r, id) in shown.iter().zip(&ids) {
        let _ = write!(
            body,
            "<tr><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(id),
            escape(&r.report.title()),
            badge(r.report.result.as_str()),
            requirement(input.gate, r).map(badge).unwrap_or_else(|| {
                // A pack's signed decision carries no requirement list: say nothing.
                let listed = input.gate.is_some_and(|g| g.get("requirements").is_some());
                format!(
                    "<span class=\"muted\">{}</span>",
                    if listed { "not required" } else { "–" }
                )
            }),
            escape(&gatehouse_clip(&key_figure(&r.report)))
        );
    }
    body.push_str("</tbody></table>");
    let missing = missing_tools(input.reports);
    if missing.is_empty() {
        body.push_str("<p class=\"complete\">Every tool's report is here.</p>");
    } else {
        let _ = write!(
            body,
            "<p class=\"missing\"><strong>Missing:</strong> no report from {}.</p>",
            escape(&missing.join(", "))
        );
    }
    let unmet: Vec<String> = input
        .gate
        .and_then(|g| g.get("requirements"))
        .and_then(Value::as_array)
        .map(|qs| {
            qs.iter()
                .filter(|q| text(q, "status") == "missing")
                .map(|q| format!("{} {}", text(q, "agent"), text(q, "action")))
                .collect()
        })
        .unwrap_or_default();
    if !unmet.is_empty() {
        let _ = write!(
            body,
            "<p class=\"missing\"><strong>Required by the policy but missing:</strong> {}.</p>",
            escape(&unmet.join(", "))
        );
    }
    body.push_str("</section>");

    for (r, id) in shown.iter().zip(&ids) {
        body.push_str(&report_section(&r.report, id, Some(&r.source)));
    }
    body.push_str("</main>");
    document(&title, &body)
}

fn gatehouse_clip(s: &str) -> String {
    if s.chars().count() > 300 {
        let cut: String = s.chars().take(299).collect();
        format!("{cut}…")
    } else {
        s.to_owned()
    }
}

/// What an evidence zip holds for the page: its reports, its release and the decision its
/// signed statement records (read, not verified: `evidence-pack verify` checks the pack).
pub(crate) struct FromPack {
    pub(crate) reports: Vec<LoadedReport>,
    pub(crate) release: Option<String>,
    pub(crate) gate: Option<Value>,
}

/// The most bytes of one entry the page reads (a report; larger ones are refused).
const MAX_ENTRY: u64 = 64 << 20;

pub(crate) fn from_pack(path: &std::path::Path) -> crate::error::Result<FromPack> {
    use crate::error::Error;
    let mut zip = crate::zip::read::ZipReader::open(path)?;
    let label = zip.label().to_owned();
    let entries: Vec<crate::zip::read::Entry> = zip
        .entries
        .iter()
        .filter(|e| {
            (e.name.starts_with("reports/") && e.name.ends_with(".json"))
                || e.name == crate::pack::DSSE_FILE
                || e.name == crate::pack::MANIFEST
        })
        .cloned()
        .collect();
    let mut out = FromPack {
        reports: Vec::new(),
        release: None,
        gate: None,
    };
    for e in &entries {
        let bytes = match zip.read_entry(e, MAX_ENTRY)? {
            Ok((_, _, Some(bytes))) => bytes,
            Ok((_, n, None)) => {
                return Err(Error::archive(
                    &label,
                    format!("{}: {n} bytes, more than a report may hold", e.name),
                ));
            }
            Err(err) => return Err(Error::archive(&label, err.to_string())),
        };
        let input = gatehouse::Input {
            source: gatehouse::Source::new(format!("{label}!{}", e.name)),
            bytes,
        };
        if e.name == crate::pack::MANIFEST {
            let v: Value = serde_json::from_slice(&input.bytes).unwrap_or(Value::Null);
            out.release = v.get("release").and_then(Value::as_str).map(str::to_owned);
            continue;
        }
        if e.name == crate::pack::DSSE_FILE {
            out.gate = serde_json::from_slice::<crate::dsse::Envelope>(&input.bytes)
                .ok()
                .and_then(|env| env.payload_bytes())
                .and_then(|p| serde_json::from_slice::<crate::dsse::Statement>(&p).ok())
                .and_then(|s| s.predicate.get("gate").cloned())
                .filter(|g| !g.is_null());
            continue;
        }
        for value in gatehouse::input::parse_json_stream::<Value>(&input)? {
            let report: gatehouse::Report =
                serde_json::from_value(value.clone()).map_err(|err| {
                    gatehouse::InputError::invalid(
                        input.label(),
                        format!("not a Gatehouse report: {err}"),
                    )
                })?;
            out.reports.push(LoadedReport {
                report,
                value,
                source: e.name.clone(),
                original: None,
            });
        }
    }
    Ok(out)
}
