//! The `dry-run` command: copies the source database (TEMPLATE, or a schema-only restore),
//! applies the pending migrations statement by statement while watching locks, rewrites and
//! (with `--with-load`) blocked sessions, applies the down migrations in reverse and compares
//! the schema, and drops the copy whatever happens, Ctrl-C included. The source is only read.

mod apply;
mod load;
mod pending;
mod tools;
mod verdict;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use gatehouse::{Check, Location, Report, ReportBuilder, Section, Status};
use serde_json::json;
use tokio::signal::unix::{SignalKind, signal};
use tokio_postgres::Client;

use apply::{Applied, Observer, Outcome};
use load::Load;

use crate::AGENT;
use crate::checks::CheckId;
use crate::cli::{CopyMethod, DryRunArgs};
use crate::error::{Error, Result};
use crate::lint::{self, Linted};
use crate::pg::{Target, quote_ident};
use crate::rules::Options;
use crate::source::{self, Migration, VersionKey};

pub async fn run(args: &DryRunArgs) -> Report {
    let mut b = Report::start(AGENT, "dry-run");
    if let Err(e) = dry_run(args, &mut b).await {
        b.failure(&e);
    }
    b.finish()
}

/// Refuses files whose template placeholders were not rendered: they are not SQL yet.
fn refuse_templates(migrations: &[Migration]) -> Result<()> {
    for m in migrations {
        for f in [&m.up, &m.down].into_iter().flatten() {
            if let Some(p) = f.rendered.unrendered().next() {
                let (line, column) =
                    gatehouse::input::line_col(f.rendered.original.as_bytes(), p.offset);
                return Err(Error::Template {
                    file: f.label.clone(),
                    line,
                    column,
                    placeholder: p.text.clone(),
                });
            }
        }
    }
    Ok(())
}

async fn connect_admin(target: &Target) -> Result<(Target, Client)> {
    let admin = target.with_db("postgres");
    match admin.connect().await {
        Ok(c) => Ok((admin, c)),
        Err(Error::Database { .. }) => {
            let t1 = target.with_db("template1");
            let c = t1.connect().await?;
            Ok((t1, c))
        }
        Err(e) => Err(e),
    }
}

/// Every throwaway copy's name starts so: the next run drops copies a run could not (the
/// server went away mid-run). A copy kept with `--keep-copy` is named [`KEPT_PREFIX`]… instead,
/// so no later run touches it.
pub const COPY_PREFIX: &str = "mg_dryrun_";
/// The name prefix of a copy kept with `--keep-copy`.
pub const KEPT_PREFIX: &str = "mg_kept_";

fn copy_name(keep: bool) -> String {
    let rand: [u8; 4] = gatehouse::trace::random_nonzero();
    format!(
        "{}{}_{}",
        if keep { KEPT_PREFIX } else { COPY_PREFIX },
        std::process::id(),
        gatehouse::hash::hex(&rand)
    )
}

/// Drops the copies earlier runs left behind (the server died or stopped answering before
/// they could drop them): databases named `mg_dryrun_…` that nobody is connected to. A copy
/// in use belongs to a run still going, here or on another machine: without `FORCE`,
/// PostgreSQL refuses to drop it, and it is left alone.
async fn sweep_leftovers(admin_target: &Target, admin: &Client) -> Result<Vec<String>> {
    let rows = admin_target
        .within(
            "looking for copies left by earlier runs",
            admin.query(
                "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1",
                &[&COPY_PREFIX],
            ),
        )
        .await?;
    let mut dropped = Vec::new();
    for r in rows {
        let name: String = r.get(0);
        let sql = format!("DROP DATABASE IF EXISTS {}", quote_ident(&name));
        match admin_target
            .within(format!("DROP DATABASE {name}"), admin.batch_execute(&sql))
            .await
        {
            Ok(()) => {
                tracing::info!("dropped {name}, a copy an earlier dry run left behind");
                dropped.push(name);
            }
            Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => return Err(e),
            // In use (a run still going), or not ours to drop.
            Err(e) => tracing::debug!("left {name} alone: {e}"),
        }
    }
    Ok(dropped)
}

async fn dry_run(args: &DryRunArgs, b: &mut ReportBuilder) -> Result<()> {
    let migrations = source::discover(&args.migrations)?;
    refuse_templates(&migrations)?;
    let target = Target::parse(&args.database_url)?.with_timeouts(&args.timeouts);
    let source_db = target.dbname();
    let (admin_target, admin) = {
        let _s = gatehouse::trace::step("connect");
        connect_admin(&target).await?
    };
    let version: i32 = admin_target
        .within(
            "reading the server version",
            admin.query_one("SELECT current_setting('server_version_num')::int", &[]),
        )
        .await?
        .get(0);
    let exists = admin_target
        .within(
            "looking up the source database",
            admin.query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&source_db],
            ),
        )
        .await?;
    if exists.is_none() {
        return Err(Error::Database {
            server: target.server.clone(),
            what: "source database".to_owned(),
            message: format!("database {source_db:?} does not exist"),
        });
    }
    let pg_major = u32::try_from(version / 10000).unwrap_or(15);
    let linted = lint::lint_history(
        migrations,
        Options {
            pg_version: pg_major,
            ..Options::default()
        },
    );
    lint::add_evidence(&linted, b);
    if let Some(e) = lint::add_syntax_checks(&linted, b) {
        return Err(e);
    }
    // Shared versions and mixed layouts make "what is pending" ambiguous: say so here too.
    for f in linted.findings.iter().filter(|f| {
        matches!(
            f.id,
            CheckId::MigrationVersionUnique | CheckId::MigrationLayoutMixed
        )
    }) {
        b.check(
            Check::new(f.id.as_str(), f.status)
                .with_message(f.message.clone())
                .with_location(Location::at(f.file.clone(), f.line, f.column)),
        );
    }

    let swept = sweep_leftovers(&admin_target, &admin).await?;

    // Register for Ctrl-C / SIGTERM before anything exists that would need cleaning up.
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::Tool {
        program: "signal".to_owned(),
        message: e.to_string(),
    })?;
    let mut term = signal(SignalKind::terminate()).map_err(|e| Error::Tool {
        program: "signal".to_owned(),
        message: e.to_string(),
    })?;
    let copy = copy_name(args.keep_copy);
    let work = async {
        let (method, carried) = create_copy(args, &admin, &admin_target, &target, &copy).await?;
        tracing::info!("copy {copy} of {source_db} ready ({method:?})");
        let copy_target = target.with_db(&copy);
        b.check(match method {
            CopyMethod::Template => Check::ok(CheckId::DryrunCopy.as_str()).with_message(format!(
                "copy {copy} of {source_db} made with CREATE DATABASE ... TEMPLATE (schema and rows)"
            )),
            _ => Check::warn(
                CheckId::DryrunCopy.as_str(),
                format!(
                    "copy {copy} of {source_db} is schema-only (the source had other sessions, or --copy schema): no rows{}, so durations and rewrites are not representative",
                    if carried.is_empty() {
                        String::new()
                    } else {
                        format!(" but the migrations table's ({})", carried.join(", "))
                    }
                ),
            ),
        });
        apply_all(args, &copy_target, &linted, method, b).await
    };
    let outcome = tokio::select! {
        r = work => r,
        _ = int.recv() => Err(Error::Interrupted { detail: " (SIGINT)".to_owned() }),
        _ = term.recv() => Err(Error::Interrupted { detail: " (SIGTERM)".to_owned() }),
    };
    // Whatever happened: drop the copy.
    let swept_note = if swept.is_empty() {
        String::new()
    } else {
        format!(
            "; also dropped {} left by earlier runs: {}",
            gatehouse::plural(swept.len(), "copy", "copies"),
            swept.join(", ")
        )
    };
    let mut copy_state = format!("copy {copy} kept");
    if args.keep_copy {
        b.check(Check::warn(
            CheckId::DryrunCleanup.as_str(),
            format!(
                "copy {copy} kept (--keep-copy); drop it with DROP DATABASE {copy}{swept_note}"
            ),
        ));
    } else {
        let _s = gatehouse::trace::step("drop-copy");
        let force = if version >= 130_000 {
            " WITH (FORCE)"
        } else {
            ""
        };
        let dropped = admin_target
            .within(
                format!("DROP DATABASE {copy}"),
                admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {}{force}",
                    quote_ident(&copy)
                )),
            )
            .await;
        copy_state = match &dropped {
            Ok(()) => format!("copy {copy} dropped"),
            Err(_) => format!("copy {copy} NOT dropped (see dryrun.cleanup)"),
        };
        b.check(match dropped {
            Ok(()) => Check::ok(CheckId::DryrunCleanup.as_str())
                .with_message(format!("copy {copy} dropped{swept_note}")),
            Err(e) => Check::fail(
                CheckId::DryrunCleanup.as_str(),
                format!(
                    "copy {copy} could not be dropped ({e}); the next dry run against this server drops it, or run DROP DATABASE {copy}{swept_note}"
                ),
            ),
        });
    }
    match outcome {
        Err(Error::Interrupted { detail }) => Err(Error::Interrupted {
            detail: format!("{detail}; {copy_state}"),
        }),
        other => other,
    }
}

/// Makes the copy: (how, the migrations tables whose rows a schema-only copy carried).
async fn create_copy(
    args: &DryRunArgs,
    admin: &Client,
    admin_target: &Target,
    source: &Target,
    copy: &str,
) -> Result<(CopyMethod, Vec<String>)> {
    let _s = gatehouse::trace::step("copy");
    let src = source.dbname();
    let method = args.copy;
    let limit = args.statement_limit();
    if method != CopyMethod::Schema {
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(copy),
            quote_ident(&src)
        );
        let created = tokio::time::timeout(limit, admin.batch_execute(&sql))
            .await
            .map_err(|_| Error::Timeout {
                server: admin_target.server.clone(),
                what: format!("CREATE DATABASE {copy} TEMPLATE {src}"),
                limit: args.statement_limit_text(),
            })?;
        match created {
            Ok(()) => return Ok((CopyMethod::Template, Vec::new())),
            Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE) => {
                if method == CopyMethod::Template {
                    return Err(Error::Database {
                        server: source.server.clone(),
                        what: "copying with CREATE DATABASE ... TEMPLATE".to_owned(),
                        message: format!(
                            "{src:?} has other sessions, and a template copy needs it idle; stop them, or use --copy schema (no rows)"
                        ),
                    });
                }
                tracing::warn!("{src} has other sessions: falling back to a schema-only copy");
            }
            Err(e) => {
                return Err(
                    admin_target.error(format!("CREATE DATABASE {copy} TEMPLATE {src}"), &e)
                );
            }
        }
    }
    admin_target
        .within(
            format!("CREATE DATABASE {copy}"),
            admin.batch_execute(&format!("CREATE DATABASE {}", quote_ident(copy))),
        )
        .await?;
    let copy_target = source.with_db(copy);
    let dump = tools::dump_schema(source, limit).await?;
    tools::restore_schema(&copy_target, dump, limit).await?;
    // The schema alone would make every migration pending again (`relation ... already
    // exists`): the runner's table carries its rows over, so the copy knows what is applied.
    let carried = {
        let client = copy_target.connect().await?;
        copy_target
            .within(
                "looking for the migrations table",
                client.query(
                    "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1) \
                       AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
                    &[&pending::TRACKING_TABLES.as_slice()],
                ),
            )
            .await?
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<String>>()
    };
    if !carried.is_empty() {
        let rows = tools::dump_rows(source, &carried, limit).await?;
        tools::restore_schema(&copy_target, rows, limit).await?;
    }
    Ok((CopyMethod::Schema, carried))
}

#[expect(
    clippy::too_many_lines,
    reason = "the dry run's steps in order; each is short"
)]
async fn apply_all(
    args: &DryRunArgs,
    copy: &Target,
    linted: &Linted,
    method: CopyMethod,
    b: &mut ReportBuilder,
) -> Result<()> {
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
            args.statement_timeout.as_millis()
        )),
    )
    .await?;
    let (applied_keys, upto, runner) = pending::applied_versions(copy, &oc).await?;
    let pending: Vec<usize> = linted
        .migrations
        .iter()
        .enumerate()
        .filter(|(_, m)| {
            let key = VersionKey::new(&m.version);
            !m.history_only
                && m.up.is_some()
                && !applied_keys.contains(&key)
                && upto.as_ref().is_none_or(|u| key > *u)
        })
        .map(|(i, _)| i)
        .collect();
    let before = apply::relations(copy, &oc).await?;
    // Which pre-existing tables hold rows (so a lock on them matters).
    let mut has_rows: HashMap<String, bool> = HashMap::new();
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
    let existing: HashSet<String> = before.values().map(|r| r.name.clone()).collect();
    let rollback_wanted =
        !args.no_rollback && pending.iter().any(|&i| linted.migrations[i].down.is_some());
    let schema_before = if rollback_wanted {
        Some(tools::normalize(
            &tools::dump_schema(copy, args.statement_limit()).await?,
        ))
    } else {
        None
    };

    // Tables the pending statements lock, for the load sessions.
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for &i in &pending {
        if let Some(up) = &linted.outcomes[i].up {
            for f in &up.facts {
                touched.extend(f.tables.iter().filter(|t| existing.contains(*t)).cloned());
            }
        }
    }
    let load = if args.with_load > 0 && !touched.is_empty() {
        let touched: Vec<String> = touched.iter().cloned().collect();
        Some(Load::start(copy, &touched, args.with_load, args.statement_limit()).await?)
    } else {
        None
    };

    let obs = Observer {
        target: copy,
        client: &oc,
        pid,
        load: load.as_ref(),
    };
    let limit = args.statement_limit();
    let limit_text = args.statement_limit_text();
    let mut steps: Vec<Applied> = Vec::new();
    let mut failure: Option<(String, u64, u64, String)> = None;
    // The connection was lost or the server stopped answering: no verdict, only an error.
    let mut gone: Option<(Error, String)> = None;
    let mut applied_migrations: Vec<usize> = Vec::new();
    {
        let _s = gatehouse::trace::step("apply");
        'migrations: for &i in &pending {
            let m = &linted.migrations[i];
            tracing::info!("applying {}", m.label());
            let Some(up) = &linted.outcomes[i].up else {
                continue;
            };
            let wrap = m.in_transaction && !up.facts.iter().any(|f| f.transaction_control);
            let prepared = async {
                if wrap {
                    copy.within("BEGIN", mc.batch_execute("BEGIN")).await?;
                }
                apply::relations(copy, &mc).await
            };
            let mut rels = match prepared.await {
                Ok(r) => r,
                Err(e) => {
                    gone = Some((e, m.label()));
                    break 'migrations;
                }
            };
            let first_step = steps.len();
            // Locks earlier statements of this transaction still hold: not this statement's.
            let mut held: BTreeSet<apply::Lock> = BTreeSet::new();
            for f in &up.facts {
                let idx = steps.len();
                if let Some(l) = &load {
                    l.current.store(idx, std::sync::atomic::Ordering::Relaxed);
                }
                let started = Instant::now();
                let run = apply::execute(copy, &mc, &obs, &f.sql, limit, &limit_text).await;
                let err = match run.outcome {
                    Outcome::Done => None,
                    Outcome::Refused(e) => Some(e),
                    Outcome::Gone(e) => {
                        gone = Some((e, format!("{}:{}", f.file, f.line)));
                        break 'migrations;
                    }
                };
                // Only statements that touch an existing relation can rewrite one; skipping
                // the catalog snapshot for the rest (SET, new tables) keeps our own round
                // trips out of the time the transaction holds its locks.
                let may_rewrite = f.heavy || !f.tables.is_empty() || err.is_some();
                let (rewrites, rebuilt) = if may_rewrite {
                    let after = match apply::relations(copy, &mc).await {
                        Ok(after) => after,
                        Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => {
                            gone = Some((e, format!("{}:{}", f.file, f.line)));
                            break 'migrations;
                        }
                        // In a failed transaction the catalog cannot be read: as before.
                        Err(_) => rels.clone(),
                    };
                    let r = apply::rewritten(&rels, &after);
                    rels = after;
                    r
                } else {
                    (Vec::new(), Vec::new())
                };
                let new_locks: Vec<apply::Lock> = run.locks.difference(&held).cloned().collect();
                if wrap {
                    held.extend(run.locks);
                }
                let elapsed = run.elapsed;
                let mut step = Applied {
                    migration: m.name.clone(),
                    file: f.file.clone(),
                    line: f.line,
                    column: f.column,
                    sql: f.sql.clone(),
                    duration_ms: elapsed.as_secs_f64() * 1000.0,
                    rows: run.rows,
                    locks: new_locks,
                    rewrites,
                    rebuilt_indexes: rebuilt,
                    lock_held_ms: elapsed.as_secs_f64() * 1000.0,
                    error: None,
                    heavy: f.heavy,
                    started: Some(started),
                    in_transaction: wrap,
                };
                if let Some(e) = err {
                    let msg = crate::pg::db_message(&e);
                    step.error = Some(msg.clone());
                    steps.push(step);
                    failure = Some((f.file.clone(), f.line, f.column, msg));
                    if wrap {
                        let _ = copy.within("ROLLBACK", mc.batch_execute("ROLLBACK")).await;
                    }
                    break 'migrations;
                }
                steps.push(step);
            }
            if wrap {
                let run = apply::execute(copy, &mc, &obs, "COMMIT", limit, &limit_text).await;
                match run.outcome {
                    Outcome::Done => {}
                    Outcome::Refused(e) => {
                        failure = Some((
                            m.label(),
                            0,
                            0,
                            format!("COMMIT: {}", crate::pg::db_message(&e)),
                        ));
                        break 'migrations;
                    }
                    Outcome::Gone(e) => {
                        gone = Some((e, format!("COMMIT of {}", m.label())));
                        break 'migrations;
                    }
                }
                // Locks taken in the transaction were held until now.
                let now = Instant::now();
                for s in &mut steps[first_step..] {
                    if let Some(st) = s.started {
                        s.lock_held_ms = now.duration_since(st).as_secs_f64() * 1000.0;
                    }
                }
            }
            applied_migrations.push(i);
        }
    }
    if let Some((e, at)) = gone {
        // Ends the load sessions (dropping it aborts them) and judges only what was seen.
        drop(load);
        let why = format!("not judged: the run stopped at {at} ({})", e.kind_text());
        verdict::judge_steps(args, &steps, &existing, &has_rows, linted, Some(&why), b);
        for id in [
            CheckId::DryrunApply,
            CheckId::DryrunBlocked,
            CheckId::DryrunRollback,
        ] {
            b.check(Check::skip(id.as_str(), why.clone()));
        }
        return Err(e);
    }
    let load_stats = match load {
        Some(l) => Some(l.stop().await),
        None => None,
    };

    verdict::judge_steps(args, &steps, &existing, &has_rows, linted, None, b);
    match &failure {
        None => b.check(
            Check::ok(CheckId::DryrunApply.as_str())
                .with_observed(steps.len() as u64)
                .with_message(format!(
                    "{} statements of {} pending {} applied{}",
                    steps.len(),
                    pending.len(),
                    gatehouse::plural(pending.len(), "migration", "migrations"),
                    runner.map_or(String::new(), |r| format!(
                        " ({r} migrations table consulted)"
                    )),
                )),
        ),
        Some((file, line, column, msg)) => b.check(
            Check::fail(
                CheckId::DryrunApply.as_str(),
                format!("PostgreSQL refused the statement: {msg}"),
            )
            .with_location(if *line > 0 {
                Location::at(file.clone(), *line, *column)
            } else {
                Location::file(file.clone())
            }),
        ),
    };
    verdict::judge_load(args, load_stats.as_ref(), &steps, b);

    // Rollback: down migrations in reverse, then compare the schema.
    let rollback = if failure.is_some() {
        b.check(Check::skip(
            CheckId::DryrunRollback.as_str(),
            "the up migrations failed",
        ));
        json!(null)
    } else if args.no_rollback {
        b.check(Check::skip(
            CheckId::DryrunRollback.as_str(),
            "--no-rollback",
        ));
        json!(null)
    } else if let Some(schema_before) = schema_before {
        let _s = gatehouse::trace::step("rollback");
        verdict::rollback(
            args,
            copy,
            &mc,
            linted,
            &applied_migrations,
            &schema_before,
            b,
        )
        .await?
    } else {
        b.check(Check::skip(
            CheckId::DryrunRollback.as_str(),
            if pending.is_empty() {
                "no pending migrations"
            } else {
                "no down migrations"
            },
        ));
        json!(null)
    };

    let mut section = Section::new(
        "Statements (locks observed in pg_locks)",
        &["where", "statement", "locks", "rewrite", "ms", "rows"],
    )
    .with_max_rows(30);
    for s in &steps {
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
    let blocked_of = |i: usize| {
        load_stats
            .as_ref()
            .and_then(|l| l.blocked.get(&i))
            .map_or(0.0, |(ms, _)| *ms)
    };
    let statements: Vec<serde_json::Value> = steps
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
    let longest = load_stats
        .as_ref()
        .map(|l| l.blocked.values().map(|(ms, _)| *ms).fold(0.0, f64::max));
    b.data(json!({
        "copy": { "method": match method { CopyMethod::Template => "template", _ => "schema" } },
        "runner_table": runner,
        "pending": pending.iter().map(|&i| linted.migrations[i].name.clone()).collect::<Vec<_>>(),
        "applied": applied_migrations.iter().map(|&i| linted.migrations[i].name.clone()).collect::<Vec<_>>(),
        "statements": statements,
        "load": load_stats.as_ref().map(|l| json!({
            "sessions": l.sessions,
            "queries": l.queries,
            "errors": l.errors,
            "blocked_queries": l.blocked.values().map(|(_, n)| n).sum::<u64>(),
            "longest_blocked_ms": verdict::round1(longest.unwrap_or(0.0)),
        })),
        "rollback": rollback,
    }));
    let fails = b
        .checks_so_far()
        .iter()
        .filter(|c| c.result == Status::Fail)
        .count();
    b.summary(format!(
        "{} of {} pending {} applied on a {} copy ({} statements){}{}",
        applied_migrations.len(),
        pending.len(),
        gatehouse::plural(pending.len(), "migration", "migrations"),
        match method {
            CopyMethod::Template => "full",
            _ => "schema-only",
        },
        steps.len(),
        longest.map_or(String::new(), |ms| format!(
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
    ));
    Ok(())
}
