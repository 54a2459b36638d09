//! `perf-gate convert SCRIPT.js`: the scenario a k6 script translates to, on stdout (or
//! `-o FILE`); what cannot be translated is one error naming file:line, exit 2.

use gatehouse::{Check, Evidence, Report, ReportBuilder, Source};

use crate::checks::CheckId;
use crate::cli::ConvertArgs;
use crate::error::Error;
use crate::{k6script, scenario};

pub(crate) fn run(args: &ConvertArgs) -> (Report, Option<Vec<u8>>) {
    let mut out = None;
    let report = Report::judge("perf-gate", "convert", |b| {
        let text = convert(args, b)?;
        match &args.output {
            Some(p) => {
                gatehouse::run::write_atomic(p, text.as_bytes()).map_err(|e| Error::Output {
                    path: p.display().to_string(),
                    message: e.to_string(),
                })
            }
            None => {
                out = Some(text.into_bytes());
                Ok(())
            }
        }
    });
    (report, out)
}

fn convert(args: &ConvertArgs, b: &mut ReportBuilder) -> Result<String, Error> {
    let src = Source::new(&args.script);
    let input = gatehouse::input::read_limited(&src, scenario::SIZE_LIMIT)?;
    b.evidence(Evidence::of_bytes(src.label(), &input.bytes));
    let text = k6script::scenario_text(&input)?;
    // What we print must be a scenario `run` accepts.
    let sc = scenario::parse(&src.label(), &text)?;
    b.check(Check::ok(CheckId::Converted).with_message(format!(
        "{} requests, {} scenarios, {} thresholds translated",
        sc.requests.len(),
        sc.scenarios.len(),
        sc.thresholds.len()
    )));
    b.data(serde_json::json!({
        "script": src.label(),
        "requests": sc.requests.len(),
        "scenarios": sc.scenario_names(),
        "thresholds": sc.thresholds.len(),
    }));
    Ok(text)
}
