//! The dry run: copies the source database (TEMPLATE, or a schema-only restore), applies
//! the pending migrations statement by statement while watching locks, rewrites and (with
//! `--with-load`) blocked sessions, applies the down migrations in reverse and compares the
//! schema, and drops the copy whatever happens, Ctrl-C included. The source is only read.

mod apply;
mod load;
mod migrate;
mod pending;
mod tools;
mod verdict;

use std::time::Duration;

use gatehouse::{Check, ReportBuilder};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio_postgres::Client;

use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pg::{Target, quote_ident};
use crate::rules::{self, Linted, lint_history, report};
use crate::source::Migration;

/// How the dry run copies the source database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CopyMethod {
    /// TEMPLATE copy; schema-only restore when other sessions use the source.
    Auto,
    /// CREATE DATABASE ... TEMPLATE source (with data; needs the source to be idle).
    Template,
    /// pg_dump --schema-only | psql into an empty database.
    Schema,
}

/// `dry-run`'s checked options.
pub(crate) struct Options {
    /// `--database-url` with the deadlines: the source, only read.
    pub(crate) target: Target,
    /// `--copy`.
    pub(crate) copy: CopyMethod,
    /// `--with-load`: concurrent sessions (0: none).
    pub(crate) with_load: u32,
    /// `--max-blocked`.
    pub(crate) max_blocked: Duration,
    /// `--max-lock-hold`.
    pub(crate) max_lock_hold: Duration,
    /// `--statement-timeout`.
    pub(crate) statement_timeout: Duration,
    /// Apply the down migrations after the up migrations (not `--no-rollback`).
    pub(crate) rollback: bool,
    /// `--keep-copy`.
    pub(crate) keep_copy: bool,
}

impl Options {
    /// How long the client waits for one migration statement: the server's
    /// `statement_timeout` should end it first; the margin is for a server that went silent.
    fn statement_limit(&self) -> Duration {
        self.statement_timeout
            .saturating_add(self.target.query_timeout)
    }

    /// `statement_limit` as the error message names it.
    fn statement_limit_text(&self) -> String {
        format!(
            "{} (--statement-timeout {} + --query-timeout {})",
            gatehouse::duration::format_duration(self.statement_limit()),
            gatehouse::duration::format_duration(self.statement_timeout),
            gatehouse::duration::format_duration(self.target.query_timeout)
        )
    }
}

/// Refuses files whose template placeholders were not rendered: they are not SQL yet.
pub(crate) fn refuse_templates(migrations: &[Migration]) -> Result<()> {
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
const COPY_PREFIX: &str = "mg_dryrun_";
/// The name prefix of a copy kept with `--keep-copy`.
const KEPT_PREFIX: &str = "mg_kept_";

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

/// The whole dry run on the source `opts.target`: every step adds its checks to `b`.
pub(crate) async fn run(
    opts: &Options,
    migrations: Vec<Migration>,
    b: &mut ReportBuilder,
) -> Result<()> {
    let target = &opts.target;
    let source_db = target.dbname();
    let (admin_target, admin) = {
        let _s = gatehouse::trace::step("connect");
        connect_admin(target).await?
    };
    let version = check_source(&admin_target, &admin, target, &source_db).await?;
    let linted = lint(migrations, version, b)?;
    let swept = sweep_leftovers(&admin_target, &admin).await?;

    // Register for Ctrl-C / SIGTERM before anything exists that would need cleaning up.
    let mut int = listen(SignalKind::interrupt())?;
    let mut term = listen(SignalKind::terminate())?;
    let copy = copy_name(opts.keep_copy);
    let work = async {
        let (method, carried) = create_copy(opts, &admin, &admin_target, target, &copy).await?;
        tracing::info!("copy {copy} of {source_db} ready ({method:?})");
        b.check(copy_check(&copy, &source_db, method, &carried));
        migrate::apply_all(opts, &target.with_db(&copy), &linted, method, b).await
    };
    let outcome = tokio::select! {
        r = work => r,
        _ = int.recv() => Err(Error::Interrupted { detail: " (SIGINT)".to_owned() }),
        _ = term.recv() => Err(Error::Interrupted { detail: " (SIGTERM)".to_owned() }),
    };
    // Whatever happened: drop the copy.
    let dropper = Dropper {
        admin_target: &admin_target,
        admin: &admin,
        version,
        copy: &copy,
    };
    let copy_state = dropper.drop_copy(opts.keep_copy, &swept, b).await;
    match outcome {
        Err(Error::Interrupted { detail }) => Err(Error::Interrupted {
            detail: format!("{detail}; {copy_state}"),
        }),
        other => other,
    }
}

/// The server's version (`server_version_num`), once the source database is known to exist.
async fn check_source(
    admin_target: &Target,
    admin: &Client,
    target: &Target,
    source_db: &str,
) -> Result<i32> {
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
    Ok(version)
}

/// Lints the history for the server's major version (the statements to apply, and what they
/// lock); a file PostgreSQL's parser rejects is the run's error.
fn lint(migrations: Vec<Migration>, version: i32, b: &mut ReportBuilder) -> Result<Linted> {
    let pg_major = u32::try_from(version / 10000).unwrap_or(15);
    let linted = lint_history(
        migrations,
        rules::Options {
            pg_version: pg_major,
            ..rules::Options::default()
        },
    );
    report::add_evidence(&linted, b);
    if let Some(e) = report::add_syntax_checks(&linted, b) {
        return Err(e);
    }
    // Shared versions and mixed layouts make "what is pending" ambiguous: say so here too.
    report::add_history_findings(&linted, b);
    Ok(linted)
}

fn listen(kind: SignalKind) -> Result<Signal> {
    signal(kind).map_err(|e| Error::Tool {
        program: "signal".to_owned(),
        message: e.to_string(),
    })
}

/// `dryrun.copy`: how the copy was made.
fn copy_check(copy: &str, source_db: &str, method: CopyMethod, carried: &[String]) -> Check {
    match method {
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
    }
}

/// Drops the copy at the end of the run, whatever happened.
struct Dropper<'a> {
    admin_target: &'a Target,
    admin: &'a Client,
    version: i32,
    copy: &'a str,
}

impl Dropper<'_> {
    /// Drops the copy (unless `--keep-copy`) and judges `dryrun.cleanup`; says what became
    /// of the copy, for an interrupted run's error.
    async fn drop_copy(&self, keep: bool, swept: &[String], b: &mut ReportBuilder) -> String {
        let copy = self.copy;
        let swept_note = if swept.is_empty() {
            String::new()
        } else {
            format!(
                "; also dropped {} left by earlier runs: {}",
                gatehouse::plural(swept.len(), "copy", "copies"),
                swept.join(", ")
            )
        };
        if keep {
            b.check(Check::warn(
                CheckId::DryrunCleanup.as_str(),
                format!(
                    "copy {copy} kept (--keep-copy); drop it with DROP DATABASE {copy}{swept_note}"
                ),
            ));
            return format!("copy {copy} kept");
        }
        let _s = gatehouse::trace::step("drop-copy");
        let force = if self.version >= 130_000 {
            " WITH (FORCE)"
        } else {
            ""
        };
        let dropped = self
            .admin_target
            .within(
                format!("DROP DATABASE {copy}"),
                self.admin.batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {}{force}",
                    quote_ident(copy)
                )),
            )
            .await;
        let copy_state = match &dropped {
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
        copy_state
    }
}

/// Makes the copy: (how, the migrations tables whose rows a schema-only copy carried).
async fn create_copy(
    opts: &Options,
    admin: &Client,
    admin_target: &Target,
    source: &Target,
    copy: &str,
) -> Result<(CopyMethod, Vec<String>)> {
    let _s = gatehouse::trace::step("copy");
    let src = source.dbname();
    let method = opts.copy;
    let limit = opts.statement_limit();
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
                limit: opts.statement_limit_text(),
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
