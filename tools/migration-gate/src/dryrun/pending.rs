//! What is already applied: the runner's migrations table in the copy (diesel, sqlx,
//! Flyway, golang-migrate).

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::pg::{Target, quote_ident};
use crate::source::VersionKey;

/// The runners' migrations tables: a schema-only copy carries their rows.
pub(super) const TRACKING_TABLES: [&str; 4] = [
    "__diesel_schema_migrations",
    "_sqlx_migrations",
    "flyway_schema_history",
    "schema_migrations",
];

/// Versions the runner's table in the copy says are applied.
pub(super) async fn applied_versions(
    target: &Target,
    client: &Client,
) -> Result<(Vec<VersionKey>, Option<VersionKey>, Option<&'static str>)> {
    let tables: &[(&str, &str, &'static str)] = &[
        ("__diesel_schema_migrations", "version::text", "diesel"),
        ("_sqlx_migrations", "version::text", "sqlx"),
        ("flyway_schema_history", "version::text", "flyway"),
    ];
    let mut versions = Vec::new();
    let mut runner = None;
    for (table, col, name) in tables {
        let exists: Option<String> = target
            .within(
                "looking for the migrations table",
                client.query_one("SELECT to_regclass($1)::text", &[table]),
            )
            .await?
            .get(0);
        if exists.is_some() {
            let rows = target
                .within(
                    format!("reading {table}"),
                    client.query(
                        &format!("SELECT {col} FROM {table} WHERE {col} IS NOT NULL"),
                        &[],
                    ),
                )
                .await?;
            versions.extend(rows.iter().map(|r| VersionKey::new(&r.get::<_, String>(0))));
            runner = Some(*name);
        }
    }
    // golang-migrate keeps only the latest version: everything up to it is applied.
    let mut upto = None;
    let exists: Option<String> = target
        .within(
            "looking for the migrations table",
            client.query_one("SELECT to_regclass('schema_migrations')::text", &[]),
        )
        .await?
        .get(0);
    if exists.is_some() {
        let latest = target
            .within(
                "reading schema_migrations",
                client.query_opt(
                    "SELECT version::text FROM schema_migrations WHERE NOT dirty",
                    &[],
                ),
            )
            .await;
        match latest {
            Ok(Some(r)) => {
                upto = Some(VersionKey::new(&r.get::<_, String>(0)));
                runner = Some("golang-migrate");
            }
            Err(e @ (Error::Lost { .. } | Error::Timeout { .. })) => return Err(e),
            // Another tool's table of that name (no `dirty` column), or no clean version.
            Ok(None) | Err(_) => {}
        }
    }
    Ok((versions, upto, runner))
}

pub(super) fn quote_table(name: &str) -> String {
    match name.split_once('.') {
        Some((s, t)) => format!("{}.{}", quote_ident(s), quote_ident(t)),
        None => quote_ident(name),
    }
}
