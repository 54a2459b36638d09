//! `replayctl lag`: checks the flags, reads each matching stream's group state and judges
//! it against the budgets.

use gatehouse::{Report, ReportBuilder};
use serde_json::json;

use crate::AGENT;
use crate::cli::LagArgs;
use crate::conn::RedisTarget;
use crate::error::{Error, Result};
use crate::lag::{self, Budgets};

pub(crate) async fn run(args: &LagArgs) -> Report {
    let mut b = Report::start(AGENT, "lag");
    let outcome = judge(args, &mut b).await;
    b.conclude(outcome)
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

async fn judge(args: &LagArgs, b: &mut ReportBuilder) -> Result<()> {
    let target = RedisTarget::parse(
        &args.redis.redis_url,
        args.redis.connect_timeout,
        args.redis.query_timeout,
    )?;
    let budgets = Budgets {
        max_lag: args.max_lag,
        max_pending: args.max_pending,
        max_pending_age: args.max_pending_age.unwrap_or(args.max_lag),
        max_undelivered: args.max_undelivered,
        idle_after: args.idle_after,
        dead_after: args.dead_after,
    };
    let mut conn = target.connect().await?;
    let mut groups = Vec::new();
    let mut without_group = Vec::new();
    if is_glob(&args.stream) {
        let streams = conn.streams_matching(&args.stream).await?;
        for s in &streams {
            match lag::group_lag(&mut conn, s, &args.group).await {
                Ok(g) => groups.push(g),
                Err(Error::NoGroup { .. }) => without_group.push(s.clone()),
                Err(e) => return Err(e),
            }
        }
        if groups.is_empty() {
            return Err(Error::NoStream {
                server: target.server.clone(),
                stream: format!(
                    "{} (no stream matching it has group {:?})",
                    args.stream, args.group
                ),
            });
        }
    } else {
        groups.push(lag::group_lag(&mut conn, &args.stream, &args.group).await?);
    }
    let data: Vec<_> = groups.iter().map(|g| lag::judge(g, &budgets, b)).collect();
    let undelivered: u64 = groups.iter().map(|g| g.undelivered).sum();
    let pending: u64 = groups.iter().map(|g| g.pending).sum();
    let oldest = groups
        .iter()
        .filter_map(|g| g.oldest_undelivered_ms)
        .max()
        .unwrap_or(0);
    b.summary(format!(
        "{} stream(s), group {}: {undelivered} undelivered (oldest {}), {pending} pending",
        groups.len(),
        args.group,
        gatehouse::duration::format_duration(std::time::Duration::from_millis(oldest))
    ));
    b.data(json!({
        "redis": target.server,
        "cluster": conn.is_cluster(),
        "budgets": {
            "max_lag_ms": budgets.max_lag.as_millis() as u64,
            "max_pending": budgets.max_pending,
            "max_pending_age_ms": budgets.max_pending_age.as_millis() as u64,
            "max_undelivered": budgets.max_undelivered,
            "idle_after_ms": budgets.idle_after.as_millis() as u64,
            "dead_after_ms": budgets.dead_after.as_millis() as u64,
        },
        "groups": data,
        "streams_without_group": without_group,
    }));
    Ok(())
}
