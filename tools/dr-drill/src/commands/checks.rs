//! `dr-drill checks`: every check id with what it judges and how to fix a failure.

use gatehouse::Report;

use crate::AGENT;
use crate::checks::CheckId;

pub(crate) fn run() -> Report {
    CheckId::list_report(AGENT)
}
