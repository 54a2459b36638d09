//! The dry run's verdict: which observed locks and rewrites fail the gate, the load
//! sessions' longest wait, and the rollback proof (down migrations in reverse, schema
//! compared with the schema before).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use gatehouse::{Check, Location, ReportBuilder, Status};
use serde_json::json;
use tokio_postgres::Client;

use super::Options;
use super::apply::{self, Applied, BLOCKS_WRITES};
use super::load::LoadStats;
use super::tools;
use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pg::Target;
use crate::rules::Linted;

pub(super) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Lint findings at the same place, to say how to fix what the dry run saw.
fn lint_hint(linted: &Linted, file: &str, line: u64) -> String {
    let ids: BTreeSet<&str> = linted
        .findings
        .iter()
        .filter(|f| {
            f.file == file && f.line <= line + 1 && f.line + 1 >= line && f.status == Status::Fail
        })
        .filter(|f| !f.id.as_str().starts_with("timeout."))
        .map(|f| f.id.as_str())
        .collect();
    if ids.is_empty() {
        String::new()
    } else {
        format!(
            " (lint: {})",
            ids.into_iter().collect::<Vec<_>>().join(", ")
        )
    }
}

/// `dryrun.rewrite` and `dryrun.blocking_lock` for every applied statement; an `ok` for
/// each that nothing failed, or a `skip` when the run stopped early (`incomplete`).
pub(super) fn judge_steps(
    args: &Options,
    steps: &[Applied],
    existing: &HashSet<String>,
    has_rows: &HashMap<String, bool>,
    linted: &Linted,
    incomplete: Option<&str>,
    b: &mut ReportBuilder,
) {
    let mut rewrite_fail = false;
    let mut lock_fail = false;
    for s in steps {
        if let Some(c) = rewrite_check(s, has_rows, linted) {
            rewrite_fail = true;
            b.check(c);
        }
        if let Some(c) = lock_check(args, s, existing, has_rows, linted) {
            lock_fail = true;
            b.check(c);
        }
    }
    // A run that stopped early measured only some statements: no "ok" for the rest.
    if let Some(why) = incomplete {
        for (id, failed) in [
            (CheckId::DryrunRewrite, rewrite_fail),
            (CheckId::DryrunBlockingLock, lock_fail),
        ] {
            if !failed {
                b.check(Check::skip(id.as_str(), why.to_owned()));
            }
        }
        return;
    }
    if !rewrite_fail {
        b.check(
            Check::ok(CheckId::DryrunRewrite.as_str())
                .with_message("no table with rows was rewritten"),
        );
    }
    if !lock_fail {
        b.check(
            Check::ok(CheckId::DryrunBlockingLock.as_str())
                .with_message("no write-blocking lock held on a table with rows during heavy work"),
        );
    }
}

/// A failed `dryrun.rewrite` when the statement rewrote a table that has rows.
fn rewrite_check(s: &Applied, has_rows: &HashMap<String, bool>, linted: &Linted) -> Option<Check> {
    let with_rows: Vec<&String> = s
        .rewrites
        .iter()
        .filter(|t| has_rows.get(*t).copied().unwrap_or(false))
        .collect();
    if with_rows.is_empty() {
        return None;
    }
    Some(
        Check::fail(
            CheckId::DryrunRewrite.as_str(),
            format!(
                "rewrote {} (relfilenode changed) in {:.0} ms{}",
                with_rows
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                s.duration_ms,
                lint_hint(linted, &s.file, s.line)
            ),
        )
        .with_location(Location::at(s.file.clone(), s.line, s.column)),
    )
}

/// A failed `dryrun.blocking_lock` when the statement held a write-blocking lock on an
/// existing table with rows while doing heavy work, or for `--max-lock-hold` or longer.
fn lock_check(
    args: &Options,
    s: &Applied,
    existing: &HashSet<String>,
    has_rows: &HashMap<String, bool>,
    linted: &Linted,
) -> Option<Check> {
    let blocking: Vec<&apply::Lock> = s
        .locks
        .iter()
        .filter(|l| {
            BLOCKS_WRITES.contains(&l.mode.as_str())
                && existing.contains(&l.relation)
                && has_rows.get(&l.relation).copied().unwrap_or(false)
        })
        .collect();
    if blocking.is_empty() {
        return None;
    }
    let long = Duration::from_secs_f64(s.lock_held_ms / 1000.0) >= args.max_lock_hold;
    if !(s.heavy || !s.rewrites.is_empty() || long) {
        return None;
    }
    let what = blocking
        .iter()
        .map(|l| format!("{} on {}", l.mode, l.relation))
        .collect::<Vec<_>>()
        .join(", ");
    let why = if long {
        format!(
            "held {:.0} ms (--max-lock-hold {})",
            s.lock_held_ms,
            gatehouse::duration::format_duration(args.max_lock_hold)
        )
    } else {
        format!(
            "held {:.0} ms while doing work that grows with the table (here {:.0} ms; longer on production data)",
            s.lock_held_ms, s.duration_ms
        )
    };
    Some(
        Check::fail(
            CheckId::DryrunBlockingLock.as_str(),
            format!("took {what}: {why}{}", lint_hint(linted, &s.file, s.line)),
        )
        .with_location(Location::at(s.file.clone(), s.line, s.column)),
    )
}

pub(super) fn judge_load(
    args: &Options,
    load: Option<&LoadStats>,
    steps: &[Applied],
    b: &mut ReportBuilder,
) {
    let Some(l) = load else {
        b.check(Check::skip(
            CheckId::DryrunBlocked.as_str(),
            if args.with_load > 0 {
                "no existing table is touched: nothing to load"
            } else {
                "no --with-load"
            },
        ));
        return;
    };
    let worst = l.blocked.iter().max_by(|a, b| a.1.0.total_cmp(&b.1.0));
    let limit_ms = args.max_blocked.as_secs_f64() * 1000.0;
    let mut check = match worst {
        Some((&i, &(ms, n))) => {
            let mut c = Check::at_most(CheckId::DryrunBlocked.as_str(), round1(ms), limit_ms)
                .with_message(format!(
                    "{} of {} load queries waited on a lock; the longest {:.0} ms, behind {}",
                    l.blocked.values().map(|(_, n)| n).sum::<u64>(),
                    l.queries,
                    ms,
                    steps
                        .get(i)
                        .map_or_else(|| "COMMIT".to_owned(), |s| format!("{}:{}", s.file, s.line)),
                ));
            if let Some(s) = steps.get(i) {
                c = c.with_location(Location::at(s.file.clone(), s.line, s.column));
            }
            tracing::debug!("{n} blocked queries behind statement {i}");
            c
        }
        None => {
            Check::at_most(CheckId::DryrunBlocked.as_str(), 0.0, limit_ms).with_message(format!(
                "{} load sessions, {} queries: none waited on a lock",
                l.sessions, l.queries
            ))
        }
    };
    if check.result == Status::Ok && worst.is_some() {
        check.result = Status::Warn;
    }
    b.check(check);
}

/// `dryrun.rollback`: the down migrations of the applied migrations in reverse, then the
/// schema compared with the schema before.
pub(super) async fn rollback(
    args: &Options,
    copy: &Target,
    mc: &Client,
    linted: &Linted,
    applied: &[usize],
    schema_before: &[String],
    b: &mut ReportBuilder,
) -> Result<serde_json::Value> {
    let missing: Vec<String> = applied
        .iter()
        .filter(|&&i| linted.migrations[i].down.is_none())
        .map(|&i| linted.migrations[i].name.clone())
        .collect();
    if let Some(failed) = apply_downs(args, copy, mc, linted, applied, b).await? {
        return Ok(failed);
    }
    let after = tools::normalize(&tools::dump_schema(copy, args.statement_limit()).await?);
    let (gone, new) = tools::diff(schema_before, &after);
    b.check(schema_check(applied.len(), &missing, &gone, &new));
    Ok(json!({
        "applied": true,
        "missing_down": missing,
        "missing_after": gone,
        "left_behind": new,
    }))
}

/// Applies the down files in reverse order; a down statement PostgreSQL refuses fails
/// `dryrun.rollback` and is the rollback's `data` (`Some`).
async fn apply_downs(
    args: &Options,
    copy: &Target,
    mc: &Client,
    linted: &Linted,
    applied: &[usize],
    b: &mut ReportBuilder,
) -> Result<Option<serde_json::Value>> {
    for &i in applied.iter().rev() {
        let m = &linted.migrations[i];
        let Some(down) = &linted.outcomes[i].down else {
            continue;
        };
        let wrap = m.in_transaction && !down.facts.iter().any(|f| f.transaction_control);
        if wrap {
            copy.within("BEGIN", mc.batch_execute("BEGIN")).await?;
        }
        for f in &down.facts {
            let ran = copy
                .within_for(
                    args.statement_limit(),
                    args.statement_limit_text(),
                    format!("{}:{}", f.file, f.line),
                    mc.simple_query(&f.sql),
                )
                .await;
            if let Err(e) = ran {
                let msg = match e {
                    // No verdict on the down migration: the server is gone or silent.
                    Error::Lost { .. } | Error::Timeout { .. } => return Err(e),
                    Error::Database { message, .. } => message,
                    other => other.to_string(),
                };
                if wrap {
                    let _ = copy.within("ROLLBACK", mc.batch_execute("ROLLBACK")).await;
                }
                b.check(
                    Check::fail(
                        CheckId::DryrunRollback.as_str(),
                        format!("down migration failed: {msg}"),
                    )
                    .with_location(Location::at(
                        f.file.clone(),
                        f.line,
                        f.column,
                    )),
                );
                return Ok(Some(json!({ "applied": false, "error": msg })));
            }
        }
        if wrap {
            copy.within("COMMIT", mc.batch_execute("COMMIT")).await?;
        }
    }
    Ok(None)
}

/// The schema after up+down against the schema before: equal (ok), different (fail, the
/// first lines that differ), or equal with some migrations lacking a down file (warn).
fn schema_check(applied: usize, missing: &[String], gone: &[String], new: &[String]) -> Check {
    let first_line = |s: &String| s.lines().next().unwrap_or("").to_owned();
    if missing.is_empty() && gone.is_empty() && new.is_empty() {
        return Check::ok(CheckId::DryrunRollback.as_str()).with_message(format!(
            "{applied} down migrations applied in reverse; schema equals the schema before"
        ));
    }
    if gone.is_empty() && new.is_empty() {
        return Check::warn(
            CheckId::DryrunRollback.as_str(),
            format!(
                "schema restored, but {} {} no down migration: {}",
                missing.len(),
                gatehouse::plural(missing.len(), "migration has", "migrations have"),
                missing.join(", ")
            ),
        );
    }
    let mut parts = Vec::new();
    for (label, lines) in [("missing after rollback", gone), ("left behind", new)] {
        if !lines.is_empty() {
            parts.push(format!(
                "{label}: {}",
                lines
                    .iter()
                    .take(3)
                    .map(first_line)
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
        }
    }
    Check::fail(
        CheckId::DryrunRollback.as_str(),
        format!(
            "schema after up+down differs from before ({} statements): {}",
            gone.len() + new.len(),
            parts.join("; ")
        ),
    )
}
