//! What is already applied: the runner's migrations table in the copy (diesel, sqlx,
//! Flyway, golang-migrate).

use tokio_postgres::Client;

use crate::error::Result;
use crate::pg::{Target, quote_ident};
use crate::source::VersionKey;

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
        let exists: Option<String> = client
            .query_one("SELECT to_regclass($1)::text", &[table])
            .await
            .map_err(|e| target.error("looking for the migrations table", &e))?
            .get(0);
        if exists.is_some() {
            let rows = client
                .query(
                    &format!("SELECT {col} FROM {table} WHERE {col} IS NOT NULL"),
                    &[],
                )
                .await
                .map_err(|e| target.error(format!("reading {table}"), &e))?;
            versions.extend(rows.iter().map(|r| VersionKey::new(&r.get::<_, String>(0))));
            runner = Some(*name);
        }
    }
    // golang-migrate keeps only the latest version: everything up to it is applied.
    let mut upto = None;
    let exists: Option<String> = client
        .query_one("SELECT to_regclass('schema_migrations')::text", &[])
        .await
        .map_err(|e| target.error("looking for the migrations table", &e))?
        .get(0);
    if exists.is_some()
        && let Ok(Some(r)) = client
            .query_opt(
                "SELECT version::text FROM schema_migrations WHERE NOT dirty",
                &[],
            )
            .await
    {
        upto = Some(VersionKey::new(&r.get::<_, String>(0)));
        runner = Some("golang-migrate");
    }
    Ok((versions, upto, runner))
}

pub(super) fn quote_table(name: &str) -> String {
    match name.split_once('.') {
        Some((s, t)) => format!("{}.{}", quote_ident(s), quote_ident(t)),
        None => quote_ident(name),
    }
}
