//! Method `commands`: the operator's own steps (Kubernetes, a cloud API) as shell commands
//! (`sh -c`) — `cut` and `promote` for `failover`, `cutback` for the way back — run under
//! the same heartbeat and measured the same way: RTO to the first heartbeat the target
//! server acknowledges, RPO from what the other one acknowledged.

use std::time::{Duration, Instant};

use gatehouse::{Check, ReportBuilder};
use serde_json::json;

use crate::bins;
use crate::checks::CheckId;
use crate::config::{Drill, PgDrill};
use crate::drill::{self, Pace};
use crate::error::{Error, Result};
use crate::timeline::Timeline;

/// Runs `script` with `sh -c`; `DR_DRILL_STEP` and `DR_DRILL_NAME` tell it where it is.
async fn run_step(step: &'static str, script: String, name: String) -> Result<String> {
    drill::blocking(move || {
        let sh = bins::find("sh", None)?;
        let mut cmd = bins::command(&sh, None);
        cmd.arg("-c")
            .arg(&script)
            .env("DR_DRILL_STEP", step)
            .env("DR_DRILL_NAME", &name);
        let log = tempfile::NamedTempFile::new().map_err(|e| Error::Io {
            what: "a temp file".to_owned(),
            message: e.to_string(),
        })?;
        bins::run(&format!("postgres.commands.{step}"), cmd, log.path())
    })
    .await
}

pub async fn drill(
    d: &Drill,
    cfg: &PgDrill,
    pace: Pace,
    cutback: bool,
    b: &mut ReportBuilder,
) -> Result<()> {
    let cmds = cfg.commands.clone().ok_or_else(|| Error::Refused {
        path: d.path.clone(),
        message: "postgres.commands is missing".to_owned(),
    })?;
    if cutback && cmds.cutback.is_none() {
        return Err(Error::Refused {
            path: d.path.clone(),
            message: "postgres.commands.cutback is required for dr-drill cutback".to_owned(),
        });
    }
    let (primary, replica, service) = drill::endpoints(cfg, &d.path)?;
    let (from, to) = if cutback {
        (&replica, &primary)
    } else {
        (&primary, &replica)
    };
    let mut tl = Timeline::new();
    if !drill::is_primary(from).await? {
        return Err(Error::Precheck {
            server: from.server.clone(),
            message: "is not a primary".to_owned(),
        });
    }
    if cutback {
        drill::ensure_table(from, from, &cfg.table, pace.step_timeout).await?;
    } else {
        if drill::is_primary(to).await? {
            return Err(Error::Precheck {
                server: to.server.clone(),
                message: "is a primary too, not a replica".to_owned(),
            });
        }
        drill::ensure_table(from, to, &cfg.table, pace.step_timeout).await?;
    }
    tl.step("precheck", format!("{} is primary", from.server));
    let (id, writer) = drill::start_heartbeat(
        &mut tl,
        d,
        cfg,
        service,
        false,
        pace.step_timeout,
        "the heartbeat table was created; nothing else changed",
    )
    .await?;
    let t0 = if cutback {
        let script = cmds.cutback.clone().unwrap_or_default();
        let t0 = tl.t0(format!("commands.cutback: {script}"));
        let out = run_step("cutback", script, d.name.clone())
            .await
            .map_err(|e| Error::Drill {
                step: "commands.cutback".to_owned(),
                message: e.to_string(),
                done: "the cutback command failed; check both servers".to_owned(),
            })?;
        tl.step("cutback_done", bins::tail(&out));
        t0
    } else {
        let t0 = tl.t0(format!("commands.cut: {}", cmds.cut));
        let out = run_step("cut", cmds.cut.clone(), d.name.clone())
            .await
            .map_err(|e| Error::Drill {
                step: "commands.cut".to_owned(),
                message: e.to_string(),
                done: "the cut command failed; check the primary".to_owned(),
            })?;
        tl.step("cut_done", bins::tail(&out));
        tl.step("promote", format!("commands.promote: {}", cmds.promote));
        let out = run_step("promote", cmds.promote.clone(), d.name.clone())
            .await
            .map_err(|e| Error::Drill {
                step: "commands.promote".to_owned(),
                message: e.to_string(),
                done: "the primary is cut; the promote command failed".to_owned(),
            })?;
        tl.step("promoted", bins::tail(&out));
        t0
    };
    let missing = Error::Drill {
        step: "first write on the new primary".to_owned(),
        message: "none within the step timeout".to_owned(),
        done: "the commands ran".to_owned(),
    };
    let drill::MovedOutcome {
        first,
        stopped,
        old,
        m,
    } = drill::Moved {
        from,
        to,
        table: &cfg.table,
        id: &id,
        first_step: "first_write_new_primary",
    }
    .measure(&mut tl, writer, t0, pace, missing)
    .await?;
    drill::judge(b, d, &m);
    if cutback {
        let deadline = Instant::now() + pace.step_timeout;
        let streaming = loop {
            let n = async {
                let c = to.connect().await?;
                to.one(
                    &c,
                    "pg_stat_replication",
                    "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
                )
                .await
            }
            .await
            .ok()
            .flatten()
            .unwrap_or_default();
            if n != "0" && !n.is_empty() || Instant::now() >= deadline {
                break n;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        b.check(if streaming != "0" && !streaming.is_empty() {
            Check::ok(CheckId::Topology).with_message(format!(
                "{} takes writes; {streaming} replica(s) stream from it",
                to.server
            ))
        } else {
            Check::fail(
                CheckId::Topology,
                format!("{} takes writes but no replica streams from it", to.server),
            )
        });
    }
    b.summary(format!(
        "{}: commands {} {} -> {}: RTO {:.3}s, RPO {:.3}s ({} transaction(s))",
        d.name,
        if cutback { "cutback" } else { "failover" },
        from.server,
        to.server,
        m.rto_seconds,
        m.rpo_seconds,
        m.rpo_transactions
    ));
    b.data(drill::data_of(
        d,
        "commands",
        &id,
        &m,
        &tl,
        json!({
            "old_primary": from.server, "new_primary": to.server,
            "heartbeats": stopped.to_json(old, &first),
        }),
    ));
    Ok(())
}
