//! `evidence-pack verify`: proves an evidence zip, and with `--policy` re-runs the gate on
//! the reports inside.

use gatehouse::Report;

use crate::AGENT;
use crate::cli::VerifyArgs;
use crate::error::{Result, time_flag};
use crate::verify::{self, VerifyOptions};
use crate::{keys, policy};

pub(crate) fn run(args: &VerifyArgs) -> Report {
    Report::judge(AGENT, "verify", |b| {
        let opts = options(args)?;
        verify::verify(&opts, b)
    })
}

/// The key, the policy and the time, read and checked in that order.
fn options(args: &VerifyArgs) -> Result<VerifyOptions> {
    let key = keys::load_public_key(&args.key)?;
    let policy = args.policy.as_deref().map(policy::load).transpose()?;
    let now = time_flag("--now", args.now.as_deref())?;
    Ok(VerifyOptions {
        pack: args.pack.clone(),
        key,
        policy,
        now,
    })
}
