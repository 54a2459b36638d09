//! The expand/contract policy (`--phase-policy`): a contract migration may ship only when its
//! expand counterpart has been live for `--min-expand-age` and the columns it drops had no
//! reads in that window. Evidence comes from `--expand-applied-at`, or from the database: the
//! migration runner's table (diesel, sqlx, Flyway) and `pg_stat_statements` query texts.

use std::time::Duration;

use gatehouse::Check;
use gatehouse::time::Timestamp;
use tokio_postgres::Client;

use crate::checks::CheckId;
use crate::error::{Error, Result};
use crate::pg::{Target, Timeouts};
use crate::rules::{Linted, MigrationOutcome};
use crate::source::{Migration, Phase, VersionKey};

/// Migration tables and their (version, applied-at) columns.
const RUNNER_TABLES: &[(&str, &str, &str)] = &[
    ("__diesel_schema_migrations", "version", "run_on"),
    ("_sqlx_migrations", "version::text", "installed_on"),
    ("flyway_schema_history", "version", "installed_on"),
];

/// `--phase-policy`'s checked options.
pub(crate) struct Policy {
    /// `--expand-applied-at`: when the expand phase went live, if the user says so.
    pub(crate) expand_applied_at: Option<Timestamp>,
    /// `--min-expand-age`.
    pub(crate) min_expand_age: Duration,
    /// `--database-url`: where the runner's table and `pg_stat_statements` are read.
    pub(crate) database: Option<Target>,
}

impl Policy {
    /// Checks `--expand-applied-at`, then `--database-url`.
    pub(crate) fn new(
        expand_applied_at: Option<&str>,
        min_expand_age: Duration,
        database_url: Option<&str>,
        timeouts: Timeouts,
    ) -> Result<Policy> {
        let expand_applied_at = expand_applied_at
            .map(|s| {
                Timestamp::parse(s).map_err(|e| Error::Usage {
                    flag: "--expand-applied-at",
                    message: format!("{s:?}: {e}"),
                })
            })
            .transpose()?;
        let database = database_url
            .map(|url| Ok::<_, Error>(Target::parse(url)?.with_timeouts(timeouts)))
            .transpose()?;
        Ok(Policy {
            expand_applied_at,
            min_expand_age,
            database,
        })
    }
}

pub(crate) async fn judge(args: &Policy, linted: &Linted) -> Result<Vec<Check>> {
    let _s = gatehouse::trace::step("phase-policy");
    let db = match &args.database {
        Some(target) => {
            let client = target.connect().await?;
            Some(Evidence::read(target, &client).await?)
        }
        None => None,
    };
    let now = Timestamp::now();
    let mut checks = Vec::new();
    for (m, o) in linted.migrations.iter().zip(&linted.outcomes) {
        if m.history_only || o.phase != Phase::Contract {
            continue;
        }
        checks.push(contract_check(args, db.as_ref(), now, m, o));
    }
    Ok(checks)
}

/// `phase.policy` for one contract migration: its expand phase's age against
/// `--min-expand-age`, and reads of what it drops (from `pg_stat_statements`).
fn contract_check(
    args: &Policy,
    db: Option<&Evidence>,
    now: Timestamp,
    m: &Migration,
    o: &MigrationOutcome,
) -> Check {
    let label = m.label();
    let applied = args
        .expand_applied_at
        .or_else(|| db.and_then(|d| d.expand_applied_before(&m.version)));
    let Some(applied) = applied else {
        return Check::fail(
                CheckId::PhasePolicy.as_str(),
                format!("{}: contract migration with no evidence of when its expand phase went live (give --expand-applied-at, or --database-url with the runner's migrations table)", m.name),
            )
            .with_location(gatehouse::Location::file(label));
    };
    let age = Duration::from_secs_f64(applied.seconds_until(now).max(0.0));
    let mut problems = Vec::new();
    if age < args.min_expand_age {
        problems.push(format!(
            "expand phase live for {} (since {}), policy needs {}",
            gatehouse::duration::format_duration(age),
            applied.to_rfc3339(),
            gatehouse::duration::format_duration(args.min_expand_age)
        ));
    }
    let mut notes = Vec::new();
    match db {
        Some(d) if d.statements_available => {
            for obj in &o.contract_objects {
                if let Some(q) = d.reads_of(obj) {
                    problems.push(format!("{obj} is still read: {q}"));
                }
            }
            if let Some(reset) = d.stats_reset
                && reset.unix() > applied.unix()
            {
                notes.push(format!(
                    "pg_stat_statements was reset at {}, after the expand phase went live: reads before that are not covered",
                    reset.to_rfc3339()
                ));
            }
        }
        Some(_) => notes.push(
            "no read evidence: pg_stat_statements is not installed in that database".to_owned(),
        ),
        None => notes.push(
            "no read evidence: give --database-url to check pg_stat_statements for reads of the dropped columns".to_owned(),
        ),
    }
    let mut message = if problems.is_empty() {
        format!(
            "{}: expand phase live for {} (policy {})",
            m.name,
            gatehouse::duration::format_duration(age),
            gatehouse::duration::format_duration(args.min_expand_age)
        )
    } else {
        format!("{}: {}", m.name, problems.join("; "))
    };
    if !notes.is_empty() {
        message.push_str(&format!(" ({})", notes.join("; ")));
    }
    let check = if problems.is_empty() {
        Check::ok(CheckId::PhasePolicy.as_str()).with_message(message)
    } else {
        Check::fail(CheckId::PhasePolicy.as_str(), message)
    };
    check
        .with_observed(age.as_secs())
        .with_limit(args.min_expand_age.as_secs())
        .with_location(gatehouse::Location::file(label))
}

/// What the database can tell about the phases.
struct Evidence {
    /// (version, applied at) from the runner's table.
    applied: Vec<(String, Timestamp)>,
    statements_available: bool,
    stats_reset: Option<Timestamp>,
    /// (query text, calls) of non-DDL statements.
    queries: Vec<(String, i64)>,
}

impl Evidence {
    async fn read(target: &Target, client: &Client) -> Result<Evidence> {
        let mut applied = Vec::new();
        for (table, version, at) in RUNNER_TABLES {
            let exists = target
                .within(
                    "looking for the migrations table",
                    client.query_opt("SELECT to_regclass($1)::text", &[table]),
                )
                .await?
                .and_then(|r| r.get::<_, Option<String>>(0));
            if exists.is_none() {
                continue;
            }
            let sql = format!(
                "SELECT {version}, extract(epoch FROM {at})::float8 FROM {table} WHERE {version} IS NOT NULL"
            );
            let rows = target
                .within(format!("reading {table}"), client.query(&sql, &[]))
                .await?;
            for r in rows {
                let v: String = r.get(0);
                let secs: f64 = r.get(1);
                #[expect(clippy::cast_possible_truncation, reason = "epoch seconds fit i64")]
                applied.push((v, Timestamp::from_unix(secs as i64)));
            }
        }
        let statements_available = target
            .within(
                "looking for pg_stat_statements",
                client.query_opt(
                    "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'",
                    &[],
                ),
            )
            .await?
            .is_some();
        let mut queries = Vec::new();
        let mut stats_reset = None;
        if statements_available {
            let rows = target
                .within(
                    "reading pg_stat_statements",
                    client.query(
                        "SELECT query, calls FROM pg_stat_statements \
                     WHERE query !~* '^\\s*(alter|drop|create|comment|grant|revoke)\\M'",
                        &[],
                    ),
                )
                .await?;
            queries = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            if let Ok(Some(r)) = target
                .within(
                    "reading pg_stat_statements_info",
                    client.query_opt(
                        "SELECT extract(epoch FROM stats_reset)::float8 FROM pg_stat_statements_info",
                        &[],
                    ),
                )
                .await
            {
                let secs: f64 = r.get(0);
                #[expect(clippy::cast_possible_truncation, reason = "epoch seconds fit i64")]
                {
                    stats_reset = Some(Timestamp::from_unix(secs as i64));
                }
            }
        }
        Ok(Evidence {
            applied,
            statements_available,
            stats_reset,
            queries,
        })
    }

    /// When the latest migration before `version` was applied: the expand counterpart.
    fn expand_applied_before(&self, version: &str) -> Option<Timestamp> {
        let key = VersionKey::new(version);
        self.applied
            .iter()
            .filter(|(v, _)| VersionKey::new(v) < key)
            .max_by(|a, b| VersionKey::new(&a.0).cmp(&VersionKey::new(&b.0)))
            .map(|(_, t)| *t)
    }

    /// A recorded query that mentions both the table and the column of `table.column`.
    fn reads_of(&self, object: &str) -> Option<String> {
        let (table, column) = match object.rsplit_once('.') {
            Some((t, c)) => (t.rsplit('.').next().unwrap_or(t), Some(c)),
            None => (object, None),
        };
        let mentions = |q: &str, word: &str| {
            let q = q.to_ascii_lowercase();
            let w = word.to_ascii_lowercase();
            q.match_indices(&w).any(|(i, _)| {
                let before = q[..i].chars().next_back();
                let after = q[i + w.len()..].chars().next();
                let boundary =
                    |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                boundary(before) && boundary(after)
            })
        };
        self.queries
            .iter()
            .find(|(q, _)| mentions(q, table) && column.is_none_or(|c| mentions(q, c)))
            .map(|(q, calls)| {
                let short: String = q.split_whitespace().collect::<Vec<_>>().join(" ");
                let short: String = short.chars().take(100).collect();
                format!("{short:?} ({calls} calls)")
            })
    }
}
