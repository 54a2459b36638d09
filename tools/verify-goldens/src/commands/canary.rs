//! `verify-goldens canary --prometheus URL --slo FILE --canary M --baseline M`: reads the
//! SLOs, parses the matchers through the PromQL parser, and decides promote / hold /
//! rollback.

use gatehouse::input::{self, Source};
use gatehouse::{InputError, Report};

use crate::AGENT;
use crate::cli::CanaryArgs;
use crate::error::Error;
use crate::prom::Client;
use crate::{canary, promql, slo};

pub(crate) fn run(args: &CanaryArgs) -> Report {
    Report::judge(AGENT, "canary", |b| {
        let p = &args.prom;
        let text = input::read_limited(&Source::new(&p.slo), 16 << 20)?;
        let (slos, _pairs) = slo::load(&text.label(), text.text()?)?;
        let at = match &p.at {
            Some(t) => slo::parse_at(t).map_err(|m| InputError::invalid("--at", m))?,
            None => gatehouse::time::Timestamp::now().unix_millis() as f64 / 1000.0,
        };
        let matchers = |flag: &str, text: &str| {
            promql::parse_matchers(text).map_err(|m| InputError::invalid(flag, m))
        };
        if !(args.alpha > 0.0 && args.alpha < 1.0) {
            return Err(InputError::invalid("--alpha", "a probability between 0 and 1").into());
        }
        let opts = canary::Options {
            client: Client::new(&p.prometheus, p.timeout)?,
            slos,
            canary: (args.canary.clone(), matchers("--canary", &args.canary)?),
            baseline: (
                args.baseline.clone(),
                matchers("--baseline", &args.baseline)?,
            ),
            window: args.window,
            min_requests: args.min_requests,
            alpha: args.alpha,
            at,
        };
        canary::judge(&opts, b)?;
        Ok::<(), Error>(())
    })
}
