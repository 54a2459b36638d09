//! `evidence-pack report`: the release page, one self-contained HTML file, from reports
//! and/or an evidence zip.

use gatehouse::Report;
use serde_json::json;

use crate::AGENT;
use crate::cli::ReportArgs;
use crate::error::{Error, Result};
use crate::page::{self, PageInput};

pub(crate) fn run(args: &ReportArgs) -> Report {
    Report::judge(AGENT, "report", |b| {
        let mut reports = crate::reports::load_all(&args.reports)?;
        let mut release = args.release.clone();
        let mut pack_gate = None;
        let origin = args.pack.as_ref().map(|p| p.display().to_string());
        if let Some(p) = &args.pack {
            let from = page::from_pack(p)?;
            reports.extend(from.reports);
            release = release.or(from.release);
            pack_gate = from.gate;
        }
        if reports.is_empty() {
            return Err(Error::Usage(
                "no reports: give --reports PATH and/or --pack ZIP".to_owned(),
            ));
        }
        let gate = page::gate_data(&reports).or(pack_gate.as_ref());
        let html = page::render(&PageInput {
            release: release.as_deref(),
            reports: &reports,
            gate,
            origin: origin.as_deref(),
        });
        write(&args.output, html.as_bytes())?;
        let missing = page::missing_tools(&reports);
        let decision = gate
            .and_then(|g| g.get("decision"))
            .and_then(serde_json::Value::as_str)
            .unwrap_or("none");
        let mut summary = format!(
            "{}: {} {}, decision {decision}, {} bytes",
            args.output.display(),
            reports.len(),
            gatehouse::plural(reports.len(), "report", "reports"),
            html.len()
        );
        if !missing.is_empty() {
            summary.push_str(&format!("; no report from {}", missing.join(", ")));
        }
        b.summary(summary);
        b.evidence(gatehouse::Evidence::of_bytes(
            args.output.display().to_string(),
            html.as_bytes(),
        ));
        b.data(json!({
            "output": args.output.display().to_string(),
            "bytes": html.len(),
            "release": release,
            "reports": reports.len(),
            "decision": decision,
            "missing": missing,
        }));
        Ok::<_, Error>(())
    })
}

fn write(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    gatehouse::run::write_atomic(path, bytes).map_err(|e| Error::io(path.display(), e))
}
