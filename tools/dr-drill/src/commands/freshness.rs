//! `dr-drill freshness`: checks the flags and judges each source given.

use gatehouse::{Report, ReportBuilder};
use serde_json::json;

use crate::AGENT;
use crate::cli::FreshnessArgs;
use crate::error::{Error, Result};
use crate::freshness::{self, Budgets};
use crate::pgconn::Pg;

pub(crate) async fn run(args: &FreshnessArgs) -> Report {
    let mut b = Report::start(AGENT, "freshness");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

async fn judge(args: &FreshnessArgs, b: &mut ReportBuilder) -> Result<()> {
    if args.database_url.is_none()
        && args.pgbackrest_info.is_none()
        && args.backup_dir.is_none()
        && args.redis_url.is_none()
    {
        return Err(Error::Usage {
            flag: "database-url",
            value: String::new(),
            message: "nothing to judge: give --database-url, --pgbackrest-info, --backup-dir or --redis-url".to_owned(),
        });
    }
    let budgets = Budgets {
        max_backup_age: args.max_backup_age,
        max_wal_lag: args.max_wal_lag,
        max_lag_bytes: args.max_lag_bytes,
    };
    let pg = args
        .database_url
        .as_deref()
        .map(|u| Pg::parse("--database-url", u, args.connect_timeout))
        .transpose()?;
    let mut data = serde_json::Map::new();
    if let Some(p) = &args.pgbackrest_info {
        data.insert(
            "pgbackrest".to_owned(),
            freshness::pgbackrest_info(p, &budgets, b)?,
        );
    }
    if let Some(d) = &args.backup_dir {
        data.insert(
            "backups".to_owned(),
            freshness::backup_dir(d, args.pg_bin_dir.as_deref(), &budgets, b)?,
        );
    }
    if let Some(pg) = &pg {
        data.insert(
            "postgres".to_owned(),
            freshness::postgres(pg, &budgets, b).await?,
        );
    }
    if let Some(u) = &args.redis_url {
        data.insert(
            "redis".to_owned(),
            freshness::redis(u, args.connect_timeout, &budgets, b).await?,
        );
    }
    data.insert(
        "budgets".to_owned(),
        json!({"max_backup_age_seconds": budgets.max_backup_age.as_secs_f64(), "max_wal_lag_seconds": budgets.max_wal_lag.as_secs_f64(), "max_lag_bytes": budgets.max_lag_bytes}),
    );
    let t = gatehouse::report::Tally::of(b.checks_so_far());
    b.summary(format!(
        "freshness: {} check(s), {} failed",
        b.checks_so_far().len(),
        t.fail
    ));
    b.data(serde_json::Value::Object(data));
    Ok(())
}
