//! `dr-drill restore`: checks the flags and the verify file, then restores, verifies and
//! removes the private server (Ctrl-C included).

use gatehouse::{Report, ReportBuilder};

use crate::AGENT;
use crate::cli::RestoreArgs;
use crate::error::{Error, Result};
use crate::restore::{self, Options, Source};

pub(crate) async fn run(args: &RestoreArgs) -> Report {
    let mut b = Report::start(AGENT, "restore");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &RestoreArgs, b: &mut ReportBuilder) -> Result<()> {
    let (label, verify) = restore::load_verify(&args.verify)?;
    let target = args
        .target_time
        .as_deref()
        .map(|t| {
            gatehouse::time::Timestamp::parse(t).map_err(|e| Error::Usage {
                flag: "target-time",
                value: t.to_owned(),
                message: e.to_string(),
            })
        })
        .transpose()?;
    let source = match (&args.backup_dir, &args.pgbackrest_stanza) {
        (Some(d), _) => Source::BaseBackup(d.clone()),
        (None, Some(s)) => Source::PgBackRest {
            stanza: s.clone(),
            config: args.pgbackrest_config.clone(),
        },
        (None, None) => {
            return Err(Error::Usage {
                flag: "backup-dir",
                value: String::new(),
                message: "give --backup-dir or --pgbackrest-stanza".to_owned(),
            });
        }
    };
    let opts = Options {
        source,
        wal_archive: args.wal_archive.clone(),
        target,
        rpo: args.rpo,
        max_restore_time: args.max_restore_time,
        bin_dir: args.pg_bin_dir.clone(),
        timeout: args.timeout,
    };
    let data = crate::drill::interruptible(
        restore::restore(&opts, &label, &verify, b),
        "the private server was stopped and its directory removed",
    )
    .await?;
    b.summary(format!(
        "restored in {}s to {}",
        data["restore_seconds"],
        data["recovery_point"]
            .as_str()
            .unwrap_or("the end of the archive")
    ));
    b.data(data);
    Ok(())
}
