//! `evidence-pack audit append`: one hash-chained entry per event at the end of the log.

use gatehouse::Report;

use crate::AGENT;
use crate::audit::{self, AppendOptions};
use crate::cli::AuditAppendArgs;
use crate::error::{Result, time_flag};
use crate::keys::{self, PasswordSource};

pub(crate) fn run(args: &AuditAppendArgs) -> Report {
    Report::judge(AGENT, "audit-append", |b| {
        let opts = options(args)?;
        audit::append(&opts, b)
    })
}

/// The events, the key and the time, read and checked in that order.
fn options(args: &AuditAppendArgs) -> Result<AppendOptions> {
    let events = audit::read_events(args.event.as_deref(), args.event_file.as_deref())?;
    let password = PasswordSource::new(
        args.password.key_password_env.as_deref(),
        args.password.key_password_file.as_deref(),
    );
    let key = args
        .key
        .as_deref()
        .map(|k| keys::load_signing_key(k, &password))
        .transpose()?;
    let time = time_flag("--time", args.time.as_deref())?;
    Ok(AppendOptions {
        log: args.log.clone(),
        events,
        key,
        time,
    })
}
