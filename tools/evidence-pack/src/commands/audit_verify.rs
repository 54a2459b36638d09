//! `evidence-pack audit verify`: the log's chain from the genesis, and with `--key` every
//! entry's signature.

use gatehouse::Report;

use crate::AGENT;
use crate::cli::AuditVerifyArgs;

pub(crate) fn run(args: &AuditVerifyArgs) -> Report {
    Report::judge(AGENT, "audit-verify", |b| {
        let key = args
            .key
            .as_deref()
            .map(crate::keys::load_public_key)
            .transpose()?;
        crate::audit::verify(&args.log, key.as_ref(), b)
    })
}
