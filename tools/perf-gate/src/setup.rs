//! From what `run` and `headroom` were given (already parsed flags, as plain values) to the
//! engine's checked [`Options`]: the scenario (YAML, or a k6 script translated), the target,
//! the workers, the trusted CAs.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use gatehouse::{Evidence, ReportBuilder, Source};

use crate::engine::Options;
use crate::error::{Error, invalid};
use crate::scenario::{self, Scenario, Target};

/// The load flags `run` and `headroom` share.
#[derive(Debug, Clone)]
pub struct LoadFlags<'a> {
    pub scenario: &'a Path,
    pub target: Option<&'a str>,
    pub workers: Option<usize>,
    pub connect_timeout: Duration,
    pub ca_cert: Option<&'a Path>,
    /// `-q`: no live progress line.
    pub quiet: bool,
}

/// The engine's options from what `run` and `headroom` were given.
pub fn options(load: &LoadFlags<'_>, b: &mut ReportBuilder) -> Result<Options, Error> {
    let src = Source::new(load.scenario);
    let input = gatehouse::input::read_limited(&src, scenario::SIZE_LIMIT)?;
    b.evidence(Evidence::of_bytes(src.label(), &input.bytes));
    let sc: Scenario = if src.label().ends_with(".js") {
        let text = crate::k6script::scenario_text(&input)?;
        scenario::parse(&src.label(), &text)?
    } else {
        scenario::load(&input)?
    };
    let target = match (load.target, &sc.target) {
        (Some(t), _) => Target::parse(t).map_err(|e| invalid("--target", e))?,
        (None, Some(t)) => t.clone(),
        (None, None) => {
            return Err(invalid(
                &src.label(),
                "no target: give `target:` in the scenario or --target URL",
            ));
        }
    };
    let ca_certs = match load.ca_cert {
        Some(p) => {
            let src = Source::new(p);
            let input = gatehouse::input::read_limited(&src, 1 << 20)?;
            crate::http::pem_certificates(&input.bytes).map_err(|e| invalid(&src.label(), e))?
        }
        None => Vec::new(),
    };
    let workers = match load.workers {
        Some(0) => return Err(invalid("--workers", "at least 1")),
        Some(n) => n.min(256),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    Ok(Options {
        scenario: Arc::new(sc),
        target,
        workers,
        shard: (0, 1),
        abort_on_fail: true,
        connect_timeout: load.connect_timeout,
        progress: !load.quiet && std::io::stderr().is_terminal(),
        lost_after: Duration::from_secs(1),
        ca_certs: Arc::new(ca_certs),
    })
}
