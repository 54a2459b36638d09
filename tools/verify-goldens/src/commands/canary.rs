use gatehouse::Report;

use crate::AGENT;

pub(crate) fn run(_args: &crate::cli::CanaryArgs) -> Report {
    Report::judge(AGENT, "canary", |_b| {
        Err(crate::error::Error::Input(gatehouse::InputError::invalid(
            "canary", "not yet",
        )))
    })
}
