//! `freshness`: the newest backup's age and validity (pgBackRest info JSON or a
//! pg_basebackup directory), WAL archiving (`pg_stat_archiver`), replica lag without the idle
//! false alarm, and Redis persistence (`INFO persistence`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse::{Check, InputError, ReportBuilder};
use serde_json::{Value, json};

use crate::bins;
use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pgconn::Pg;

pub struct Budgets {
    pub max_backup_age: Duration,
    pub max_wal_lag: Duration,
    pub max_lag_bytes: Option<u64>,
}

fn now_unix() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn age_check(id: CheckId, age: f64, limit: Duration, what: &str) -> Check {
    Check::at_most(id, crate::drill::round3(age), limit.as_secs_f64()).with_message(format!(
        "{what} {} old (budget {})",
        gatehouse::duration::format_duration(Duration::from_secs_f64(age.max(0.0))),
        gatehouse::duration::format_duration(limit)
    ))
}

/// pgBackRest `info --output=json`: every stanza's newest backup.
pub fn pgbackrest_info(path: &Path, budgets: &Budgets, b: &mut ReportBuilder) -> Result<Value> {
    let input = gatehouse::input::read(&gatehouse::input::Source::new(path))?;
    let label = input.label();
    let v: Value = serde_json::from_str(input.text()?)
        .map_err(|e| gatehouse::input::json_error(&label, &e))?;
    let stanzas = v.as_array().ok_or_else(|| {
        InputError::invalid(&label, "not pgBackRest info JSON (an array of stanzas)")
    })?;
    let mut out = Vec::new();
    for s in stanzas {
        let name = s["name"].as_str().unwrap_or("?").to_owned();
        let newest = s["backup"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|bk| Some((bk["timestamp"]["stop"].as_i64()?, bk)))
            .max_by_key(|(t, _)| *t);
        match newest {
            None => {
                b.check(Check::fail(
                    CheckId::BackupAge,
                    format!("stanza {name}: no backup"),
                ));
            }
            Some((stop, bk)) => {
                let age = now_unix() - stop as f64;
                let kind = bk["type"].as_str().unwrap_or("?");
                b.check(age_check(
                    CheckId::BackupAge,
                    age,
                    budgets.max_backup_age,
                    &format!(
                        "stanza {name}: newest {kind} backup {}",
                        bk["label"].as_str().unwrap_or("?")
                    ),
                ));
                let code = s["status"]["code"].as_i64().unwrap_or(-1);
                let err = bk["error"].as_bool().unwrap_or(false);
                b.check(if code == 0 && !err {
                    Check::ok(CheckId::BackupValid)
                        .with_message(format!("stanza {name}: status ok"))
                } else {
                    Check::fail(
                        CheckId::BackupValid,
                        format!(
                            "stanza {name}: status {code} ({}), backup error: {err}",
                            s["status"]["message"].as_str().unwrap_or("")
                        ),
                    )
                });
                out.push(json!({
                    "stanza": name, "label": bk["label"], "type": kind, "stop_unix": stop,
                    "age_seconds": crate::drill::round3(age),
                    // Segment names, not times: shown as they are.
                    "archive": {"min": s["archive"][0]["min"], "max": s["archive"][0]["max"]},
                }));
            }
        }
    }
    Ok(Value::Array(out))
}

/// A pg_basebackup directory (or a directory of them): the newest one's start time from
/// `backup_label` (manifest mtime if absent) and `pg_verifybackup -n`.
pub fn backup_dir(
    dir: &Path,
    bin_dir: Option<&Path>,
    budgets: &Budgets,
    b: &mut ReportBuilder,
) -> Result<Value> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if dir.join("backup_manifest").is_file() {
        candidates.push(dir.to_path_buf());
    } else {
        let entries = std::fs::read_dir(dir).map_err(|e| InputError::Read {
            path: dir.display().to_string(),
            source: e,
        })?;
        for e in entries.flatten() {
            if e.path().join("backup_manifest").is_file() {
                candidates.push(e.path());
            }
        }
    }
    let mut newest: Option<(f64, PathBuf)> = None;
    for c in candidates {
        let t = backup_time(&c);
        if newest.as_ref().is_none_or(|(n, _)| t > *n) {
            newest = Some((t, c));
        }
    }
    let Some((start, path)) = newest else {
        return Err(InputError::invalid(
            dir.display().to_string(),
            "no backup_manifest here or in a subdirectory: not a pg_basebackup directory",
        )
        .into());
    };
    let age = now_unix() - start;
    b.check(age_check(
        CheckId::BackupAge,
        age,
        budgets.max_backup_age,
        &format!("backup {}", path.display()),
    ));
    let verify = bins::find("pg_verifybackup", bin_dir)?;
    let mut cmd = bins::command(&verify, None);
    cmd.arg("-n").arg(&path);
    let log = tempfile::NamedTempFile::new().map_err(|e| Error::Io {
        what: "a temp file".to_owned(),
        message: e.to_string(),
    })?;
    match bins::run("pg_verifybackup", cmd, log.path()) {
        Ok(_) => b.check(
            Check::ok(CheckId::BackupValid)
                .with_message(format!("{}: matches its backup_manifest", path.display())),
        ),
        Err(Error::Command { message, .. }) => b.check(Check::fail(
            CheckId::BackupValid,
            format!("{}: {message}", path.display()),
        )),
        Err(e) => return Err(e),
    };
    Ok(
        json!([{"path": path.display().to_string(), "start_unix": start as i64, "age_seconds": crate::drill::round3(age)}]),
    )
}

pub fn backup_time(dir: &Path) -> f64 {
    if let Ok(text) = std::fs::read_to_string(dir.join("backup_label"))
        && let Some(line) = text.lines().find_map(|l| l.strip_prefix("START TIME: "))
        && let Some(t) = parse_label_time(line)
    {
        return t;
    }
    std::fs::metadata(dir.join("backup_manifest"))
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `2026-12-07 15:04:05 UTC` (backup_label's format; only UTC/GMT is understood, other
/// zones fall back to the manifest's mtime).
fn parse_label_time(s: &str) -> Option<f64> {
    let (dt, zone) = s.trim().rsplit_once(' ')?;
    if !matches!(zone, "UTC" | "GMT") {
        return None;
    }
    let t = gatehouse::time::Timestamp::parse(&format!("{}Z", dt.replace(' ', "T"))).ok()?;
    Some(t.unix() as f64)
}

/// `pg_stat_archiver` and replication lag on the server behind `pg`.
pub async fn postgres(pg: &Pg, budgets: &Budgets, b: &mut ReportBuilder) -> Result<Value> {
    let c = pg.connect().await?;
    let in_recovery = pg
        .one(&c, "pg_is_in_recovery", "SELECT pg_is_in_recovery()")
        .await?
        .as_deref()
        == Some("t");
    let mode = pg
        .one(&c, "archive_mode", "SHOW archive_mode")
        .await?
        .unwrap_or_default();
    let row = pg.rows(&c, "pg_stat_archiver", "SELECT archived_count, last_archived_wal, \
        extract(epoch FROM now() - last_archived_time)::float8, failed_count, last_failed_wal, \
        (last_failed_time IS NOT NULL AND (last_archived_time IS NULL OR last_failed_time > last_archived_time)), \
        CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END \
        FROM pg_stat_archiver").await?;
    let r = row.into_iter().next().unwrap_or_default();
    let get = |i: usize| r.get(i).cloned().flatten();
    let archived: u64 = get(0).and_then(|s| s.parse().ok()).unwrap_or(0);
    let last_wal = get(1);
    let age: Option<f64> = get(2).and_then(|s| s.parse().ok());
    let failed: u64 = get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let failing = get(5).as_deref() == Some("t");
    let current = get(6);
    let archive = json!({"archive_mode": mode, "archived_count": archived, "last_archived_wal": last_wal, "last_archived_age_seconds": age.map(crate::drill::round3), "failed_count": failed, "last_failed_wal": get(4), "failing": failing, "current_wal": current});
    if in_recovery && mode != "always" {
        b.check(Check::skip(
            CheckId::ArchiveAge,
            format!(
                "a replica archives only with archive_mode = always (here: {mode}); ask the primary"
            ),
        ));
    } else if mode == "off" {
        b.check(Check::fail(
            CheckId::ArchiveAge,
            format!(
                "{}: archive_mode is off: no WAL archive, no point-in-time recovery",
                pg.server
            ),
        ));
    } else if in_recovery && mode == "on" {
        b.check(Check::skip(
            CheckId::ArchiveAge,
            "a replica with archive_mode = on does not archive; ask the primary",
        ));
    } else {
        // Nothing is waiting when the last archived segment is the one just before the
        // current one: an idle server's old archive time is no alarm.
        let waiting = match (&last_wal, &current) {
            (Some(l), Some(c)) => next_segment(l).is_none_or(|n| n != *c) && l != c,
            _ => true,
        };
        match age {
            Some(a) if waiting => b.check(age_check(
                CheckId::ArchiveAge,
                a,
                budgets.max_wal_lag,
                "last archived WAL segment",
            )),
            Some(a) => b.check(
                Check::ok(CheckId::ArchiveAge)
                    .with_observed(0)
                    .with_limit(budgets.max_wal_lag.as_secs_f64())
                    .with_message(format!(
                        "no finished segment waiting (last archived {} ago, server idle)",
                        gatehouse::duration::format_duration(Duration::from_secs_f64(a.max(0.0)))
                    )),
            ),
            None if archived == 0 && !waiting => {
                b.check(Check::ok(CheckId::ArchiveAge).with_message("no segment finished yet"))
            }
            None => b.check(Check::fail(
                CheckId::ArchiveAge,
                "nothing was ever archived",
            )),
        };
    }
    b.check(if failing {
        Check::fail(
            CheckId::ArchiveFailures,
            format!(
                "{failed} failure(s); the last, for {}, is newer than the last success",
                get(4).unwrap_or_default()
            ),
        )
        .with_observed(failed)
        .with_limit(0)
    } else {
        Check::ok(CheckId::ArchiveFailures).with_message(format!(
            "no failure since the last success ({failed} in total)"
        ))
    });
    let mut replicas = Vec::new();
    if in_recovery {
        let r = pg.rows(&c, "replay lag", "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint, \
            extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, \
            coalesce((SELECT status FROM pg_stat_wal_receiver), 'none')").await?;
        let r = r.into_iter().next().unwrap_or_default();
        let bytes: i64 = r
            .first()
            .cloned()
            .flatten()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let since: Option<f64> = r.get(1).cloned().flatten().and_then(|s| s.parse().ok());
        let status = r.get(2).cloned().flatten().unwrap_or_default();
        // The replay timestamp only means lag while WAL waits to be replayed.
        let lag = if bytes > 0 { since.unwrap_or(0.0) } else { 0.0 };
        judge_lag(b, &pg.server, lag, bytes, budgets);
        if status != "streaming" {
            b.check(Check::fail(
                CheckId::ReplicationLag,
                format!("{}: WAL receiver is {status}, not streaming", pg.server),
            ));
        }
        replicas.push(json!({"replica": pg.server, "status": status, "lag_seconds": crate::drill::round3(lag), "lag_bytes": bytes, "last_replay_age_seconds": since.map(crate::drill::round3)}));
    } else {
        let rows = pg.rows(&c, "pg_stat_replication", "SELECT coalesce(application_name, ''), coalesce(client_addr::text, 'local'), state, sync_state, \
            extract(epoch FROM write_lag)::float8, extract(epoch FROM flush_lag)::float8, extract(epoch FROM replay_lag)::float8, \
            pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint FROM pg_stat_replication").await?;
        for r in rows {
            let s = |i: usize| r.get(i).cloned().flatten();
            let f = |i: usize| s(i).and_then(|v| v.parse::<f64>().ok());
            let name = format!(
                "{} ({})",
                s(0).unwrap_or_default(),
                s(1).unwrap_or_default()
            );
            // NULL lag columns mean "caught up and idle", not unknown.
            let lag = f(6).or(f(5)).or(f(4)).unwrap_or(0.0);
            let bytes: i64 = s(7).and_then(|v| v.parse().ok()).unwrap_or(0);
            judge_lag(b, &name, lag, bytes, budgets);
            replicas.push(json!({"replica": name, "state": s(2), "sync_state": s(3), "write_lag_seconds": f(4), "flush_lag_seconds": f(5), "replay_lag_seconds": f(6), "lag_bytes": bytes}));
        }
        if replicas.is_empty() {
            b.check(Check::skip(
                CheckId::ReplicationLag,
                format!("{}: no replica is connected", pg.server),
            ));
        }
    }
    Ok(
        json!({"server": pg.server, "in_recovery": in_recovery, "archiver": archive, "replicas": replicas}),
    )
}

fn judge_lag(b: &mut ReportBuilder, who: &str, lag: f64, bytes: i64, budgets: &Budgets) {
    b.check(age_check(
        CheckId::ReplicationLag,
        lag,
        budgets.max_wal_lag,
        &format!("{who}: replay lag ({bytes} bytes behind)"),
    ));
    if let Some(max) = budgets.max_lag_bytes {
        b.check(
            Check::at_most(CheckId::ReplicationLag, bytes as f64, max as f64)
                .with_message(format!("{who}: {bytes} bytes of WAL not replayed")),
        );
    }
}

/// The WAL segment name after `name` (24 hex digits: timeline, log, segment; 16 MB segments).
fn next_segment(name: &str) -> Option<String> {
    if name.len() != 24 {
        return None;
    }
    let tli = &name[..8];
    let log = u32::from_str_radix(&name[8..16], 16).ok()?;
    let seg = u32::from_str_radix(&name[16..24], 16).ok()?;
    let (log, seg) = if seg >= 0xFF {
        (log + 1, 0)
    } else {
        (log, seg + 1)
    };
    Some(format!("{tli}{log:08X}{seg:08X}"))
}

/// Redis `INFO persistence`.
pub async fn redis(
    url: &str,
    timeout: Duration,
    budgets: &Budgets,
    b: &mut ReportBuilder,
) -> Result<Value> {
    let (server, mut conn) = crate::redis_drill::connect(url, timeout).await?;
    let info = crate::redis_drill::info(&server, &mut conn, "persistence").await?;
    let get = |k: &str| info.get(k).cloned().unwrap_or_default();
    let changes: u64 = get("rdb_changes_since_last_save").parse().unwrap_or(0);
    let last_save: f64 = get("rdb_last_save_time").parse().unwrap_or(0.0);
    let age = now_unix() - last_save;
    if changes == 0 {
        b.check(
            Check::ok(CheckId::RedisRdbAge)
                .with_observed(0)
                .with_limit(budgets.max_backup_age.as_secs_f64())
                .with_message("no change since the last save"),
        );
    } else {
        b.check(age_check(
            CheckId::RedisRdbAge,
            age,
            budgets.max_backup_age,
            &format!("{server}: last RDB save with {changes} change(s) since,"),
        ));
    }
    let aof = get("aof_enabled") == "1";
    let mut bad = Vec::new();
    if get("rdb_last_bgsave_status") != "ok" {
        bad.push(format!(
            "rdb_last_bgsave_status {}",
            get("rdb_last_bgsave_status")
        ));
    }
    if aof {
        for k in ["aof_last_write_status", "aof_last_bgrewrite_status"] {
            if get(k) != "ok" {
                bad.push(format!("{k} {}", get(k)));
            }
        }
    }
    b.check(if bad.is_empty() {
        Check::ok(CheckId::RedisPersistence).with_message(format!(
            "{server}: saves ok; AOF {}",
            if aof { "on" } else { "off" }
        ))
    } else {
        Check::fail(
            CheckId::RedisPersistence,
            format!("{server}: {}", bad.join(", ")),
        )
    });
    Ok(
        json!({"server": server, "rdb_last_save_age_seconds": crate::drill::round3(age), "rdb_changes_since_last_save": changes, "rdb_last_bgsave_status": get("rdb_last_bgsave_status"), "aof_enabled": aof, "aof_last_write_status": get("aof_last_write_status")}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_segment_rolls_over_the_log_number() {
        assert_eq!(
            next_segment("000000010000000000000003").as_deref(),
            Some("000000010000000000000004")
        );
        assert_eq!(
            next_segment("0000000100000000000000FF").as_deref(),
            Some("000000010000000100000000")
        );
    }

    #[test]
    fn label_time_is_read_in_utc_only() {
        assert_eq!(
            parse_label_time("2026-12-07 15:00:00 UTC"),
            Some(1_796_655_600.0)
        );
        assert_eq!(parse_label_time("2026-12-07 15:00:00 CET"), None);
    }
}
