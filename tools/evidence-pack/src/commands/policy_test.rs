//! `evidence-pack policy test`: a Rego policy's unit tests (`test_` rules), as `opa test`.

use gatehouse::Report;

use crate::AGENT;
use crate::cli::PolicyTestArgs;
use crate::error::Error;
use crate::rego;

pub(crate) fn run(args: &PolicyTestArgs) -> Report {
    Report::judge(AGENT, "policy-test", |b| {
        let timeout = gatehouse::duration::parse_duration(&args.timeout)
            .map_err(|e| Error::Usage(format!("--timeout: {e}")))?;
        if timeout.is_zero() {
            return Err(Error::Usage("--timeout: must be more than 0".to_owned()));
        }
        let outcomes = rego::run_tests(&args.paths, &args.data, timeout)?;
        if outcomes.is_empty() {
            return Err(Error::Usage(
                "no test_ rules in the .rego files given: nothing was tested".to_owned(),
            ));
        }
        let (checks, data, summary) = rego::test_report(&outcomes);
        b.checks(checks);
        b.summary(summary);
        b.data(data);
        Ok(())
    })
}
