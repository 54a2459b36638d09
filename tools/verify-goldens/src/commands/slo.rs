use gatehouse::Report;

use crate::AGENT;

pub(crate) fn run(_args: &crate::cli::SloArgs) -> Report {
    Report::judge(AGENT, "slo", |_b| {
        Err(crate::error::Error::Input(gatehouse::InputError::invalid(
            "slo", "not yet",
        )))
    })
}
