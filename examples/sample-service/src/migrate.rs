//! The schema at start: the shop's own migrations (bundled from examples/release/migrations,
//! or `--migrations DIR`), applied in order and recorded the way golang-migrate does — one row
//! in `schema_migrations(version bigint, dirty boolean)` — which is the table migration-gate's
//! dry run reads to know what is applied. Then the service's own tables (`events_sink`,
//! `order_tenants`), which are not part of the shop's schema.
//!
//! Each migration runs in a transaction that also records its version, except one marked
//! `-- migration-gate: no-transaction` (CREATE INDEX CONCURRENTLY): that one is recorded
//! dirty first and clean after, as golang-migrate does. An advisory lock keeps two instances
//! starting together (baseline and canary) from applying the same migration twice.

use std::path::Path;

use tokio_postgres::Client;

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// `pg_advisory_lock` key: "sample-service migrations".
const LOCK_KEY: i64 = 0x5341_4d50_4c45_4d47;
/// How long start-up waits for another instance's migrations.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

/// Tables the service owns beside the shop's schema. `events_sink` is a contract with
/// replayctl (README, "Sample service"): do not change its shape.
const SERVICE_TABLES: &str = "
CREATE TABLE IF NOT EXISTS events_sink (
    event_id    uuid PRIMARY KEY,
    tenant      text NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    payload     jsonb NOT NULL,
    stream_id   text NOT NULL
);
CREATE TABLE IF NOT EXISTS order_tenants (
    order_id bigint PRIMARY KEY,
    tenant   text NOT NULL
);
";

/// One up migration.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i64,
    pub name: String,
    pub sql: String,
}

impl Migration {
    fn in_transaction(&self) -> bool {
        !self.sql.lines().any(|l| {
            let l = l.trim();
            l.starts_with("--")
                && l.trim_start_matches('-')
                    .trim()
                    .starts_with("migration-gate:")
                && l.contains("no-transaction")
        })
    }
}

/// The bundled migrations, or those in `dir`.
pub fn load(dir: Option<&Path>) -> Result<Vec<Migration>, String> {
    let mut files: Vec<(String, String)> = match dir {
        None => BUNDLED
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect(),
        Some(dir) => {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("{}: cannot list migrations: {e}", dir.display()))?;
            let mut files = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| format!("{}: {e}", dir.display()))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".up.sql") {
                    continue;
                }
                let path = entry.path();
                let sql = std::fs::read_to_string(&path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                files.push((name, sql));
            }
            files
        }
    };
    files.sort();
    let mut out: Vec<Migration> = Vec::with_capacity(files.len());
    for (name, sql) in files {
        let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
        let version = digits.parse::<i64>().map_err(|_| {
            format!("{name}: a migration's name must start with its version number")
        })?;
        if let Some(prev) = out.last()
            && prev.version == version
        {
            return Err(format!("{name}: version {version} is also {}", prev.name));
        }
        out.push(Migration { version, name, sql });
    }
    out.sort_by_key(|m| m.version);
    Ok(out)
}

/// Applies what is not applied yet; returns the names applied.
pub async fn apply(client: &mut Client, migrations: &[Migration]) -> Result<Vec<String>, String> {
    let pg = |what: &str, e: tokio_postgres::Error| format!("{what}: {}", pg_message(&e));
    // Polled with pg_try_advisory_lock, not waited for with pg_advisory_lock: a session
    // blocked in pg_advisory_lock holds a snapshot, and the lock holder's CREATE INDEX
    // CONCURRENTLY waits for every such snapshot to go — a deadlock.
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(|e| pg("taking the migration lock", e))?
            .get(0);
        if got {
            break;
        }
        if std::time::Instant::now() >= deadline {
            return Err(format!(
                "another instance held the migration lock for {}s",
                LOCK_WAIT.as_secs()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let result = match apply_locked(client, migrations).await {
        // Under the lock too: two concurrent CREATE TABLE IF NOT EXISTS can both fail on
        // PostgreSQL's catalog unique index.
        Ok(applied) => client
            .batch_execute(SERVICE_TABLES)
            .await
            .map(|()| applied)
            .map_err(|e| pg("creating the service's tables", e)),
        Err(e) => Err(e),
    };
    // Also released when the connection closes, which follows right after.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
        .await;
    result
}

async fn apply_locked(
    client: &mut Client,
    migrations: &[Migration],
) -> Result<Vec<String>, String> {
    let pg = |what: String, e: tokio_postgres::Error| format!("{what}: {}", pg_message(&e));
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
        )
        .await
        .map_err(|e| pg("creating schema_migrations".into(), e))?;
    let current = client
        .query_opt(
            "SELECT version, dirty FROM schema_migrations ORDER BY version DESC LIMIT 1",
            &[],
        )
        .await
        .map_err(|e| pg("reading schema_migrations".into(), e))?;
    let applied_upto = match current {
        Some(row) => {
            let (version, dirty): (i64, bool) = (row.get(0), row.get(1));
            if dirty {
                return Err(format!(
                    "schema_migrations says version {version} is dirty (a migration failed halfway); repair the schema and the row by hand"
                ));
            }
            version
        }
        None => 0,
    };
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > applied_upto) {
        let record =
            "DELETE FROM schema_migrations; INSERT INTO schema_migrations (version, dirty) VALUES ";
        if m.in_transaction() {
            let tx = client
                .transaction()
                .await
                .map_err(|e| pg(format!("{}: BEGIN", m.name), e))?;
            tx.batch_execute(&m.sql)
                .await
                .map_err(|e| pg(m.name.clone(), e))?;
            tx.batch_execute(&format!("{record}({}, false)", m.version))
                .await
                .map_err(|e| pg(format!("{}: recording it", m.name), e))?;
            tx.commit()
                .await
                .map_err(|e| pg(format!("{}: COMMIT", m.name), e))?;
        } else {
            client
                .batch_execute(&format!("{record}({}, true)", m.version))
                .await
                .map_err(|e| pg(format!("{}: recording it", m.name), e))?;
            client
                .batch_execute(&m.sql)
                .await
                .map_err(|e| pg(m.name.clone(), e))?;
            client
                .batch_execute(&format!("{record}({}, false)", m.version))
                .await
                .map_err(|e| pg(format!("{}: recording it", m.name), e))?;
        }
        tracing::info!("applied migration {}", m.name);
        applied.push(m.name.clone());
    }
    Ok(applied)
}

/// PostgreSQL's own message for a server error, else the client error's text.
pub fn pg_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_the_release_migrations_in_order() {
        let ms = load(None).expect("the bundled migrations load");
        let versions: Vec<i64> = ms.iter().map(|m| m.version).collect();
        assert_eq!(versions, (1..=versions.len() as i64).collect::<Vec<_>>());
        assert_eq!(ms[0].name, "0001_create_customers.up.sql");
        let concurrently: Vec<&str> = ms
            .iter()
            .filter(|m| !m.in_transaction())
            .map(|m| m.name.as_str())
            .collect();
        assert_eq!(concurrently, ["0005_index_orders_status_created.up.sql"]);
    }
}
