//! `alert-lint checks`: every check id with what it judges and how to fix a failure, from the
//! checks table.

use gatehouse::Report;

use crate::checks::CheckId;

pub(crate) fn run() -> Report {
    CheckId::list_report(crate::AGENT)
}
