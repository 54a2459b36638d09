//! `verify-goldens slo --prometheus URL --slo FILE [--at TIME]`: reads the SLOs, checks the
//! flags, and judges every SLO's burn-rate pairs and budget.

use gatehouse::input::{self, Source};
use gatehouse::{InputError, Report};

use crate::AGENT;
use crate::cli::SloArgs;
use crate::error::Error;
use crate::prom::Client;
use crate::slo;

pub(crate) fn run(args: &SloArgs) -> Report {
    Report::judge(AGENT, "slo", |b| {
        let p = &args.prom;
        let text = input::read_limited(&Source::new(&p.slo), 16 << 20)?;
        let (slos, pairs) = slo::load(&text.label(), text.text()?)?;
        let at = match &p.at {
            Some(t) => slo::parse_at(t).map_err(|m| InputError::invalid("--at", m))?,
            None => gatehouse::time::Timestamp::now().unix_millis() as f64 / 1000.0,
        };
        let opts = slo::Options {
            client: Client::new(&p.prometheus, p.timeout)?,
            slos,
            pairs,
            at,
            period: args.period,
        };
        slo::judge(&opts, b)?;
        Ok::<(), Error>(())
    })
}
