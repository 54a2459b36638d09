//! `evidence-pack build`: the reports and artifacts of a release in a reproducible,
//! DSSE-signed evidence zip, with the gate's decision when given a policy.

use gatehouse::Report;

use crate::AGENT;
use crate::cli::{BuildArgs, Compression};
use crate::error::{Error, Result, time_flag};
use crate::keys::{self, PasswordSource};
use crate::pack::{self, BuildOptions};
use crate::zip::write::Method;

pub(crate) fn run(args: &BuildArgs) -> Report {
    Report::judge(AGENT, "build", |b| {
        let opts = options(args)?;
        pack::build(&opts, b)
    })
}

/// The key, the release, the policy and the time, read and checked in that order.
fn options(args: &BuildArgs) -> Result<BuildOptions> {
    let password = PasswordSource::new(
        args.password.key_password_env.as_deref(),
        args.password.key_password_file.as_deref(),
    );
    let key = keys::load_signing_key(&args.key, &password)?;
    if args.release.trim().is_empty() {
        return Err(Error::Usage("--release must not be empty".to_owned()));
    }
    let policy = args
        .policy
        .as_deref()
        .map(crate::policy::load)
        .transpose()?;
    let now = time_flag("--now", args.now.as_deref())?;
    Ok(BuildOptions {
        release: args.release.clone(),
        key,
        output: args.output.clone(),
        reports: args.reports.clone(),
        artifacts: args.artifacts.clone(),
        notes: args.notes.clone(),
        git_range: args.git_range.clone(),
        repo: args.repo.clone(),
        policy,
        now,
        compression: match args.compression {
            Compression::Fast => Method::Fast,
            Compression::Best => Method::Best,
            Compression::Store => Method::Store,
        },
    })
}
