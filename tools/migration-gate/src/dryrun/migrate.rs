//! Applying the pending migrations to the copy, in named steps: open the two sessions
//! (`mc` applies, `oc` observes), survey the copy (what is pending, which tables exist and
//! hold rows, the schema before), start the load, apply migration by migration and statement
//! by statement, then judge what was seen and build the report's table, data and summary.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Instant;

use gatehouse::{Check, Location, ReportBuilder, Section, Status};
use serde_json::json;
use tokio_postgres::Client;

use super::apply::{self, Applied, Observer, Outcome, Rel};
use super::load::{Load, LoadStats};
use super::{CopyMethod, Options, pending, tools, verdict};
use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pg::Target;
use crate::rules::{FileOutcome, Linted, StatementFacts};
use crate::source::{Migration, VersionKey};

/// Applies the pending migrations on the copy and judges them (and their rollback).
pub(super) async fn apply_all(
    opts: &Options,
    copy: &Target,
    linted: &Linted,
    method: CopyMethod,
    b: &mut ReportBuilder,
) -> Result<()> {
    let sessions = Sessions::open(opts, copy).await?;
    let before = Survey::take(opts, copy, &sessions.oc, linted).await?;
    let load = start_load(opts, copy, linted, &before).await?;
    let applier = Applier {
        mc: &sessions.mc,
        obs: Observer {
            target: copy,
            client: &sessions.oc,
            pid: sessions.pid,
            load: load.as_ref(),
        },
        limit: opts.statement_limit(),
        limit_text: opts.statement_limit_text(),
    };
    let mut progress = applier.apply_pending(linted, &before.pending).await;
    if let Some((e, at)) = progress.gone.take() {
        // Ends the load sessions (dropping it aborts them) and judges only what was seen.
        drop(load);
        judge_incomplete(opts, &progress, &before, linted, &e, &at, b);
        return Err(e);
    }
    let load_stats = match load {
        Some(l) => Some(l.stop().await),
        None => None,
    };
    let (steps, existing) = (&progress.steps, &before.existing);
    verdict::judge_steps(opts, steps, existing, &before.has_rows, linted, None, b);
    add_apply_check(&progress, &before, b);
    verdict::judge_load(opts, load_stats.as_ref(), steps, b);
    let rollback = judge_rollback(opts, copy, &sessions.mc, linted, &progress, &before, b).await?;
    add_statements_section(steps, existing, b);
    let run = Run {
        method,
        linted,
        before: &before,
        progress: &progress,
        load: load_stats.as_ref(),
    };
    b.data(run.data(rollback));
    let fails = b
        .checks_so_far()
        .iter()
        .filter(|c| c.result == Status::Fail)
        .count();
    b.summary(run.summary(fails));
    Ok(())
}

/// The two sessions on the copy: `mc` applies the migrations, `oc` watches `pg_locks`.
struct Sessions {
    mc: Client,
    oc: Client,
    /// `mc`'s backend.
    pid: i32,
}

impl Sessions {
    async fn open(opts: &Options, copy: &Target) -> Result<Sessions> {
        let mc = copy.connect().await?;
        let oc = copy.connect().await?;
        let pid: i32 = copy
            .within(
                "connecting to the copy",
                mc.query_one("SELECT pg_backend_pid()", &[]),
            )
            .await?
            .get(0);
        // A bound on every statement, so a dry run in CI cannot hang on a runaway statement.
        copy.within(
            "SET statement_timeout",
            mc.batch_execute(&format!(
                "SET statement_timeout = '{}ms'",
                opts.statement_timeout.as_millis()
            )),
        )
        .await?;
        Ok(Sessions { mc, oc, pid })
    }
}

/// The copy before the first pending statement.
struct Survey {
    /// Indexes (into the history) of the migrations to apply, in order.
    pending: Vec<usize>,
    /// The runner whose migrations table was consulted.
    runner: Option<&'static str>,
    /// Relations that existed before.
    existing: HashSet<String>,
    /// Which of the existing tables hold rows (so a lock on them matters).
    has_rows: HashMap<String, bool>,
    /// The normalized schema, when a rollback is to be compared with it.
    schema_before: Option<Vec<String>>,
}

impl Survey {
    async fn take(opts: &Options, copy: &Target, oc: &Client, linted: &Linted) -> Result<Survey> {
        let (applied_keys, upto, runner) = pending::applied_versions(copy, oc).await?;
        let pending = pending_migrations(linted, &applied_keys, upto.as_ref());
        let before = apply::relations(copy, oc).await?;
        let has_rows = tables_with_rows(copy, oc, &before).await?;
        let existing: HashSet<String> = before.values().map(|r| r.name.clone()).collect();
        let rollback_wanted =
            opts.rollback && pending.iter().any(|&i| linted.migrations[i].down.is_some());
        let schema_before = if rollback_wanted {
            Some(tools::normalize(
                &tools::dump_schema(copy, opts.statement_limit()).await?,
            ))
        } else {
            None
        };
        Ok(Survey {
            pending,
            runner,
            existing,
            has_rows,
            schema_before,
        })
    }
}

/// The judged migrations with an up file that the runner's table does not list as applied.
fn pending_migrations(
    linted: &Linted,
    applied: &[VersionKey],
    upto: Option<&VersionKey>,
) -> Vec<usize> {
    linted
        .migrations
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            let key = VersionKey::new(&m.version);
            !m.history_only
                && m.up.is_some()
                && !applied.contains(&key)
                && upto.is_none_or(|u| key > *u)
        })
        .map(|(i, _)| i)
        .collect()
}

/// Whether each table (and materialized view) holds at least one row.
async fn tables_with_rows(
    copy: &Target,
    oc: &Client,
    before: &BTreeMap<i64, Rel>,
) -> Result<HashMap<String, bool>> {
    let mut has_rows = HashMap::new();
    for rel in before.values().filter(|r| r.kind == "r" || r.kind == "m") {
        let any = match copy
            .within(
                format!("looking for rows in {}", rel.name),
                oc.query_one(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM {})",
                        pending::quote_table(&rel.name)
                    ),
                    &[],
                ),
            )
            .await
        {
            Ok(r) => r.get::<_, bool>(0),
            Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => return Err(e),
            Err(_) => false,
        };
        has_rows.insert(rel.name.clone(), any);
    }
    Ok(has_rows)
}

/// With `--with-load N`: N sessions reading and writing the existing tables the pending
/// statements lock (none when they lock none).
async fn start_load(
    opts: &Options,
    copy: &Target,
    linted: &Linted,
    before: &Survey,
) -> Result<Option<Load>> {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for &i in &before.pending {
        if let Some(up) = &linted.outcomes[i].up {
            for f in &up.facts {
                touched.extend(
                    f.tables
                        .iter()
                        .filter(|t| before.existing.contains(*t))
                        .cloned(),
                );
            }
        }
    }
    if opts.with_load == 0 || touched.is_empty() {
        return Ok(None);
    }
    let touched: Vec<String> = touched.into_iter().collect();
    Ok(Some(
        Load::start(copy, &touched, opts.with_load, opts.statement_limit()).await?,
    ))
}

/// What applying the pending migrations did.
#[derive(Default)]
struct Progress {
    steps: Vec<Applied>,
    /// PostgreSQL refused a statement: (file, line, column, message).
    failure: Option<(String, u64, u64, String)>,
    /// The connection was lost or the server stopped answering: no verdict, only an error
    /// (and where the run stopped).
    gone: Option<(Error, String)>,
    /// Indexes of the migrations applied (committed), in order.
    applied: Vec<usize>,
}

/// Applies statements on `mc` while the observer watches.
struct Applier<'a> {
    mc: &'a Client,
    obs: Observer<'a>,
    limit: std::time::Duration,
    limit_text: String,
}

impl Applier<'_> {
    async fn apply_pending(&self, linted: &Linted, pending: &[usize]) -> Progress {
        let _s = gatehouse::trace::step("apply");
        let mut p = Progress::default();
        for &i in pending {
            let m = &linted.migrations[i];
            tracing::info!("applying {}", m.label());
            let Some(up) = &linted.outcomes[i].up else {
                continue;
            };
            if !self.apply_migration(m, up, &mut p).await {
                break;
            }
            p.applied.push(i);
        }
        p
    }

    /// One migration, in a transaction when the runner wraps it; false when the run stops.
    async fn apply_migration(&self, m: &Migration, up: &FileOutcome, p: &mut Progress) -> bool {
        let copy = self.obs.target;
        let wrap = m.in_transaction && !up.facts.iter().any(|f| f.transaction_control);
        let prepared = async {
            if wrap {
                copy.within("BEGIN", self.mc.batch_execute("BEGIN")).await?;
            }
            apply::relations(copy, self.mc).await
        };
        let mut rels = match prepared.await {
            Ok(r) => r,
            Err(e) => {
                p.gone = Some((e, m.label()));
                return false;
            }
        };
        let first_step = p.steps.len();
        // Locks earlier statements of this transaction still hold: not this statement's.
        let mut held: BTreeSet<apply::Lock> = BTreeSet::new();
        for f in &up.facts {
            if !self
                .apply_statement(m, f, wrap, &mut rels, &mut held, p)
                .await
            {
                return false;
            }
        }
        !wrap || self.commit(m, first_step, p).await
    }

    /// One statement: run it, watch its locks, see what it rewrote; false when the run stops.
    async fn apply_statement(
        &self,
        m: &Migration,
        f: &StatementFacts,
        wrap: bool,
        rels: &mut BTreeMap<i64, Rel>,
        held: &mut BTreeSet<apply::Lock>,
        p: &mut Progress,
    ) -> bool {
        let copy = self.obs.target;
        if let Some(l) = self.obs.load {
            l.current
                .store(p.steps.len(), std::sync::atomic::Ordering::Relaxed);
        }
        let started = Instant::now();
        let run = apply::execute(
            copy,
            self.mc,
            &self.obs,
            &f.sql,
            self.limit,
            &self.limit_text,
        )
        .await;
        let err = match run.outcome {
            Outcome::Done => None,
            Outcome::Refused(e) => Some(e),
            Outcome::Gone(e) => {
                p.gone = Some((e, format!("{}:{}", f.file, f.line)));
                return false;
            }
        };
        let (rewrites, rebuilt) = match self.rewrites(f, err.is_some(), rels).await {
            Ok(r) => r,
            Err(e) => {
                p.gone = Some((e, format!("{}:{}", f.file, f.line)));
                return false;
            }
        };
        let new_locks: Vec<apply::Lock> = run.locks.difference(held).cloned().collect();
        if wrap {
            held.extend(run.locks);
        }
        let ms = run.elapsed.as_secs_f64() * 1000.0;
        let mut step = Applied {
            migration: m.name.clone(),
            file: f.file.clone(),
            line: f.line,
            column: f.column,
            sql: f.sql.clone(),
            duration_ms: ms,
            rows: run.rows,
            locks: new_locks,
            rewrites,
            rebuilt_indexes: rebuilt,
            lock_held_ms: ms,
            error: None,
            heavy: f.heavy,
            started: Some(started),
            in_transaction: wrap,
        };
        let Some(e) = err else {
            p.steps.push(step);
            return true;
        };
        let msg = crate::pg::db_message(&e);
        step.error = Some(msg.clone());
        p.steps.push(step);
        p.failure = Some((f.file.clone(), f.line, f.column, msg));
        if wrap {
            let _ = copy
                .within("ROLLBACK", self.mc.batch_execute("ROLLBACK"))
                .await;
        }
        false
    }

    /// (tables rewritten, indexes rebuilt) by the statement just run, from a catalog
    /// snapshot after it; `rels` becomes that snapshot. An error only when the server is
    /// gone or silent.
    async fn rewrites(
        &self,
        f: &StatementFacts,
        refused: bool,
        rels: &mut BTreeMap<i64, Rel>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        // Only statements that touch an existing relation can rewrite one; skipping the
        // catalog snapshot for the rest (SET, new tables) keeps our own round trips out of
        // the time the transaction holds its locks.
        if !(f.heavy || !f.tables.is_empty() || refused) {
            return Ok((Vec::new(), Vec::new()));
        }
        let after = match apply::relations(self.obs.target, self.mc).await {
            Ok(after) => after,
            Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => return Err(e),
            // In a failed transaction the catalog cannot be read: as before.
            Err(_) => rels.clone(),
        };
        let r = apply::rewritten(rels, &after);
        *rels = after;
        Ok(r)
    }

    /// COMMITs a wrapped migration; its statements held their locks until now.
    async fn commit(&self, m: &Migration, first_step: usize, p: &mut Progress) -> bool {
        let run = apply::execute(
            self.obs.target,
            self.mc,
            &self.obs,
            "COMMIT",
            self.limit,
            &self.limit_text,
        )
        .await;
        match run.outcome {
            Outcome::Done => {}
            Outcome::Refused(e) => {
                p.failure = Some((
                    m.label(),
                    0,
                    0,
                    format!("COMMIT: {}", crate::pg::db_message(&e)),
                ));
                return false;
            }
            Outcome::Gone(e) => {
                p.gone = Some((e, format!("COMMIT of {}", m.label())));
                return false;
            }
        }
        let now = Instant::now();
        for s in &mut p.steps[first_step..] {
            if let Some(st) = s.started {
                s.lock_held_ms = now.duration_since(st).as_secs_f64() * 1000.0;
            }
        }
        true
    }
}

/// The run stopped at `at` (connection lost, server silent): only what was seen is judged;
/// the rest is skipped with the reason.
fn judge_incomplete(
    opts: &Options,
    p: &Progress,
    before: &Survey,
    linted: &Linted,
    e: &Error,
    at: &str,
    b: &mut ReportBuilder,
) {
    let why = format!("not judged: the run stopped at {at} ({})", e.kind_text());
    verdict::judge_steps(
        opts,
        &p.steps,
        &before.existing,
        &before.has_rows,
        linted,
        Some(&why),
        b,
    );
    for id in [
        CheckId::DryrunApply,
        CheckId::DryrunBlocked,
        CheckId::DryrunRollback,
    ] {
        b.check(Check::skip(id.as_str(), why.clone()));
    }
}

/// `dryrun.apply`: every pending statement applied, or the one PostgreSQL refused.
fn add_apply_check(p: &Progress, before: &Survey, b: &mut ReportBuilder) {
    let pending = before.pending.len();
    b.check(match &p.failure {
        None => Check::ok(CheckId::DryrunApply.as_str())
            .with_observed(p.steps.len() as u64)
            .with_message(format!(
                "{} statements of {} pending {} applied{}",
                p.steps.len(),
                pending,
                gatehouse::plural(pending, "migration", "migrations"),
                before.runner.map_or(String::new(), |r| format!(
                    " ({r} migrations table consulted)"
                )),
            )),
        Some((file, line, column, msg)) => Check::fail(
            CheckId::DryrunApply.as_str(),
            format!("PostgreSQL refused the statement: {msg}"),
        )
        .with_location(if *line > 0 {
            Location::at(file.clone(), *line, *column)
        } else {
            Location::file(file.clone())
        }),
    });
}

/// `dryrun.rollback`: the down migrations in reverse, then the schema compared; or why not.
async fn judge_rollback(
    opts: &Options,
    copy: &Target,
    mc: &Client,
    linted: &Linted,
    p: &Progress,
    before: &Survey,
    b: &mut ReportBuilder,
) -> Result<serde_json::Value> {
    let skipped = if p.failure.is_some() {
        "the up migrations failed"
    } else if !opts.rollback {
        "--no-rollback"
    } else if let Some(schema_before) = &before.schema_before {
        let _s = gatehouse::trace::step("rollback");
        return verdict::rollback(opts, copy, mc, linted, &p.applied, schema_before, b).await;
    } else if before.pending.is_empty() {
        "no pending migrations"
    } else {
        "no down migrations"
    };
    b.check(Check::skip(CheckId::DryrunRollback.as_str(), skipped));
    Ok(json!(null))
}

/// The statements as a table for text and markdown: where, what, locks, rewrite, time, rows.
fn add_statements_section(steps: &[Applied], existing: &HashSet<String>, b: &mut ReportBuilder) {
    let mut section = Section::new(
        "Statements (locks observed in pg_locks)",
        &["where", "statement", "locks", "rewrite", "ms", "rows"],
    )
    .with_max_rows(30);
    for s in steps {
        section.row(vec![
            format!("{}:{}", s.file, s.line),
            s.sql
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(60)
                .collect(),
            s.locks
                .iter()
                .filter(|l| existing.contains(&l.relation))
                .map(|l| format!("{} {}", l.mode.trim_end_matches("Lock"), l.relation))
                .collect::<Vec<_>>()
                .join(", "),
            s.rewrites.join(", "),
            format!("{:.1}", s.duration_ms),
            s.rows.to_string(),
        ]);
    }
    if !section.rows.is_empty() {
        b.section(section);
    }
}

/// Everything the report's `data` and summary line are made of.
struct Run<'a> {
    method: CopyMethod,
    linted: &'a Linted,
    before: &'a Survey,
    progress: &'a Progress,
    load: Option<&'a LoadStats>,
}

impl Run<'_> {
    /// The longest time a load session waited, when there was a load.
    fn longest_blocked(&self) -> Option<f64> {
        self.load
            .map(|l| l.blocked.values().map(|(ms, _)| *ms).fold(0.0, f64::max))
    }

    fn names(&self, indexes: &[usize]) -> Vec<String> {
        indexes
            .iter()
            .map(|&i| self.linted.migrations[i].name.clone())
            .collect()
    }

    fn data(&self, rollback: serde_json::Value) -> serde_json::Value {
        let blocked_of = |i: usize| {
            self.load
                .and_then(|l| l.blocked.get(&i))
                .map_or(0.0, |(ms, _)| *ms)
        };
        let statements: Vec<serde_json::Value> = self
            .progress
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["blocked_ms"] = json!(verdict::round1(blocked_of(i)));
                v["duration_ms"] = json!(verdict::round1(s.duration_ms));
                v["lock_held_ms"] = json!(verdict::round1(s.lock_held_ms));
                v
            })
            .collect();
        let longest = self.longest_blocked();
        json!({
            "copy": { "method": match self.method { CopyMethod::Template => "template", _ => "schema" } },
            "runner_table": self.before.runner,
            "pending": self.names(&self.before.pending),
            "applied": self.names(&self.progress.applied),
            "statements": statements,
            "load": self.load.map(|l| json!({
                "sessions": l.sessions,
                "queries": l.queries,
                "errors": l.errors,
                "blocked_queries": l.blocked.values().map(|(_, n)| n).sum::<u64>(),
                "longest_blocked_ms": verdict::round1(longest.unwrap_or(0.0)),
            })),
            "rollback": rollback,
        })
    }

    fn summary(&self, fails: usize) -> String {
        let pending = self.before.pending.len();
        format!(
            "{} of {} pending {} applied on a {} copy ({} statements){}{}",
            self.progress.applied.len(),
            pending,
            gatehouse::plural(pending, "migration", "migrations"),
            match self.method {
                CopyMethod::Template => "full",
                _ => "schema-only",
            },
            self.progress.steps.len(),
            self.longest_blocked().map_or(String::new(), |ms| format!(
                "; longest blocked session {ms:.0} ms"
            )),
            if fails > 0 {
                format!(
                    "; {fails} failed {}",
                    gatehouse::plural(fails, "check", "checks")
                )
            } else {
                String::new()
            },
        )
    }
}
