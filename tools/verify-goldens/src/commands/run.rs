//! `verify-goldens run FILE [--env NAME]`: checks the golden paths file into a plan, then
//! probes every path against the environment's base URL.

use gatehouse::Report;
use gatehouse::input::{self, Source};

use crate::AGENT;
use crate::cli::RunArgs;
use crate::error::Error;
use crate::{golden, probe};

pub(crate) fn run(args: &RunArgs) -> Report {
    Report::judge(AGENT, "run", |b| {
        let source = Source::new(&args.file);
        let text = input::read_limited(&source, 4 << 20)?;
        let plan = golden::load(
            &text.label(),
            text.text()?,
            args.env.as_deref(),
            &args.paths,
            args.timeout,
            &|name| std::env::var(name).ok(),
        )?;
        probe::run(&plan, b)?;
        Ok::<(), Error>(())
    })
}
