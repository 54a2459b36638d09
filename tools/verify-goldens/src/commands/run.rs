//! `verify-goldens run FILE [--env NAME] [--every D …]`: checks the golden paths file into a
//! plan, then probes every path against the environment's base URL — once, or as a daemon
//! a round every `--every`, exporting metrics and appending each round's report.

use std::time::Instant;

use gatehouse::Report;
use gatehouse::input::{self, Source};

use crate::AGENT;
use crate::cli::RunArgs;
use crate::daemon::{self, Exporter};
use crate::error::Error;
use crate::golden::{self, Plan};
use crate::probe;

fn plan(args: &RunArgs) -> Result<Plan, Error> {
    if let Some(ca) = &args.ca_cert {
        crate::http::trust_ca_file(ca).map_err(|m| {
            gatehouse::InputError::invalid(format!("--ca-cert {}", ca.display()), m)
        })?;
    }
    let source = Source::new(&args.file);
    let text = input::read_limited(&source, 4 << 20)?;
    Ok(golden::load(
        &text.label(),
        text.text()?,
        args.env.as_deref(),
        &args.paths,
        args.timeout,
        &|name| std::env::var(name).ok(),
    )?)
}

pub(crate) fn run(args: &RunArgs) -> Report {
    let plan = match plan(args) {
        Ok(p) => p,
        Err(e) => return Report::judge(AGENT, "run", |_| Err::<(), Error>(e)),
    };
    let Some(every) = args.every else {
        return Report::judge(AGENT, "run", |b| probe::run(&plan, b));
    };
    // Refused before the first round, not after it.
    if let Some(path) = &args.jsonl
        && let Err(e) = gatehouse::input::refuse_input_overwrite(path)
    {
        return Report::judge(AGENT, "run", |_| Err::<(), Error>(e.into()));
    }
    let exporter = Exporter::default();
    if let Some(addr) = args.metrics_listen {
        match exporter.serve(addr) {
            Ok(bound) => tracing::info!("metrics on http://{bound}/metrics"),
            Err(e) => return Report::judge(AGENT, "run", |_| Err::<(), Error>(e.into())),
        }
    }
    let mut round = 0u64;
    loop {
        round += 1;
        let started = Instant::now();
        let report = Report::judge(AGENT, "run", |b| probe::run(&plan, b));
        exporter.observe(&report);
        tracing::info!("round {round}: {}", report.summary);
        if let Some(path) = &args.jsonl
            && let Err(e) = daemon::append_jsonl(path, &report)
        {
            return Report::judge(AGENT, "run", |_| Err::<(), Error>(e.into()));
        }
        if args.max_rounds.is_some_and(|max| round >= max) {
            return report;
        }
        std::thread::sleep(every.saturating_sub(started.elapsed()));
    }
}
