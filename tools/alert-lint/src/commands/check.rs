//! `alert-lint check`: finds the rule files (`walk`), lints each (`files`), runs the live
//! checks when `--prometheus` is given (`live`), and turns the findings into the report
//! (`verdict`).

use std::path::PathBuf;

use gatehouse::Report;

use crate::cli::CheckArgs;
use crate::config::Config;
use crate::error::Error;
use crate::{files, live, verdict, walk};

pub(crate) fn run(args: &CheckArgs) -> Report {
    Report::judge(crate::AGENT, "check", |b| -> Result<(), Error> {
        let config = Config::load_or_default(args.config.as_deref())?;
        let sources = walk::collect(&args.paths)?;
        let root = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
        let (mut files, plans) = {
            let _s = gatehouse::trace::step("lint");
            files::lint_all(&sources, &config, &root, args.prometheus.is_some(), b)
        };
        let live = match live_options(args, &config) {
            Some(opts) => {
                let _s = gatehouse::trace::step("live");
                match live::run(&opts, &config, &mut files, plans) {
                    Ok(info) => Some(info),
                    Err(e) => {
                        b.failure(&e);
                        None
                    }
                }
            }
            None => None,
        };
        verdict::not_judged(b, &files);
        verdict::assemble(b, &files, &config, args.config.as_deref(), live);
        Ok(())
    })
}

/// With `--prometheus`: the server and the deadlines, the config's where no flag is given.
fn live_options(args: &CheckArgs, config: &Config) -> Option<live::Options> {
    args.prometheus.as_ref().map(|url| live::Options {
        url: url.clone(),
        timeout: args.timeout.unwrap_or(config.live.timeout),
        lookback: args.lookback.unwrap_or(config.live.lookback),
    })
}
