//! `alert-lint noise`: ranks alerts by how noisy they were over a window and fails those over
//! the budget (`noise`).

use gatehouse::Report;

use crate::cli::NoiseArgs;
use crate::config::Config;
use crate::error::Error;
use crate::noise;

pub(crate) fn run(args: &NoiseArgs) -> Report {
    Report::judge(crate::AGENT, "noise", |b| -> Result<(), Error> {
        let config = Config::load_or_default(args.config.as_deref())?;
        let window = args.window.unwrap_or(config.noise.window);
        let opts = noise::Options {
            prometheus: args.prometheus.clone(),
            window,
            step: args
                .step
                .unwrap_or_else(|| noise::Options::default_step(window)),
            timeout: args.timeout.unwrap_or(config.live.timeout),
            top: args.top,
        };
        noise::judge(&opts, &config, b)
    })
}
