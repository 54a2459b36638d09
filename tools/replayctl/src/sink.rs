//! The PostgreSQL sink: the checks that a table can take an exactly-once replay (it exists,
//! the mapped columns exist, the key column alone has a unique index), writing a batch plus
//! its checkpoint in one transaction, and reading rows back for `verify`.

use std::collections::BTreeMap;

use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::error::{Error, Result};
use crate::mapping::Mapping;
use crate::pg::{PgTarget, is_data_error};
use crate::stream::{Entry, StreamId};
use gatehouse::pg::{quote_ident, quote_qualified};

/// The sink table as checked: its columns' types, in mapping order.
#[derive(Debug, Clone)]
pub struct Sink {
    pub target: PgTarget,
    pub mapping: Mapping,
    pub types: Vec<String>,
    key_type: String,
}

/// What one batch did.
#[derive(Debug, Default, Clone)]
pub struct Applied {
    /// Rows written now.
    pub inserted: u64,
    /// Rows the sink already had (the key existed).
    pub duplicates: u64,
    /// Entries the sink refused, with the reason.
    pub rejected: Vec<(StreamId, String)>,
}

/// How a batch is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `INSERT … SELECT FROM unnest($1::text[], …) ON CONFLICT (key) DO NOTHING`.
    Insert,
    /// `COPY` straight into the sink; a batch COPY refuses (a key already there) is undone
    /// to a savepoint and written as [`Method::Insert`] does, in the same transaction.
    Copy,
}

pub const CHECKPOINTS: &str = "replayctl_checkpoints";

impl Sink {
    /// Checks the table before anything is written: it exists, every mapped column exists,
    /// and the key column alone carries a unique index that is not partial, not on an
    /// expression and not deferrable (else `ON CONFLICT` cannot make a repeat a no-op).
    pub async fn open(client: &Client, target: PgTarget, mapping: Mapping) -> Result<Sink> {
        let bad = |message: String| Error::Sink {
            server: target.server.clone(),
            table: mapping.table.clone(),
            message,
        };
        let rows = target
            .within(
                "read the sink's columns",
                client.query(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
                       FROM pg_attribute a
                      WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&quote_qualified(&mapping.table)],
                ),
            )
            .await?;
        if rows.is_empty() {
            return Err(bad("no such table".to_owned()));
        }
        let have: BTreeMap<String, String> = rows
            .iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        let mut types = Vec::new();
        for (c, _) in &mapping.columns {
            match have.get(c) {
                Some(t) => types.push(t.clone()),
                None => return Err(bad(format!("no column {c:?} (the mapping writes it)"))),
            }
        }
        let unique = target
            .within(
                "read the sink's indexes",
                client.query_opt(
                    "SELECT 1 FROM pg_index i
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                      WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indnkeyatts = 1
                        AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indimmediate
                        AND a.attname = $2
                      LIMIT 1",
                    &[&quote_qualified(&mapping.table), &mapping.key],
                ),
            )
            .await?;
        if unique.is_none() {
            return Err(bad(format!(
                "key column {:?} has no unique constraint of its own that ON CONFLICT can use (not partial, not deferrable); without one a repeated replay would write duplicates (add PRIMARY KEY or UNIQUE ({}))",
                mapping.key, mapping.key
            )));
        }
        let key_type = types[mapping.key_index()].clone();
        Ok(Sink {
            target,
            mapping,
            types,
            key_type,
        })
    }

    fn casts(&self, prefix: &str) -> String {
        self.types
            .iter()
            .enumerate()
            .map(|(i, t)| format!("{prefix}c{i}::{t}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn unnest(&self) -> String {
        let params = (1..=self.types.len())
            .map(|i| format!("${i}::text[]"))
            .collect::<Vec<_>>()
            .join(", ");
        let names = (0..self.types.len())
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("unnest({params}) AS u({names})")
    }

    fn insert_sql(&self, from: &str) -> String {
        let cols = self
            .mapping
            .columns
            .iter()
            .map(|(c, _)| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "INSERT INTO {} ({cols}) SELECT {} FROM {from} ON CONFLICT ({}) DO NOTHING",
            quote_qualified(&self.mapping.table),
            self.casts(""),
            quote_ident(&self.mapping.key)
        )
    }

    /// Creates the checkpoint table if needed and reads `name`'s checkpoint.
    pub async fn checkpoint(&self, client: &Client, name: &str) -> Result<Option<StreamId>> {
        self.target
            .within(
                "create the checkpoint table",
                client.batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (
                        name text PRIMARY KEY,
                        last_id text NOT NULL,
                        applied bigint NOT NULL DEFAULT 0,
                        updated_at timestamptz NOT NULL DEFAULT now())"
                )),
            )
            .await?;
        let row = self
            .target
            .within(
                "read the checkpoint",
                client.query_opt(
                    &format!("SELECT last_id FROM {CHECKPOINTS} WHERE name = $1"),
                    &[&name],
                ),
            )
            .await?;
        Ok(row.and_then(|r| StreamId::parse(&r.get::<_, String>(0))))
    }

    /// Forgets `name`'s checkpoint (`--restart`).
    pub async fn reset_checkpoint(&self, client: &Client, name: &str) -> Result<()> {
        self.target
            .within(
                "reset the checkpoint",
                client.execute(
                    &format!("DELETE FROM {CHECKPOINTS} WHERE name = $1"),
                    &[&name],
                ),
            )
            .await?;
        Ok(())
    }

    /// Writes `entries` and moves `name`'s checkpoint to `last` in ONE transaction: either
    /// both land or neither does, so a crash anywhere resumes exactly where the sink is.
    /// A batch the sink refuses for its data is retried row by row under savepoints, and
    /// the refused rows are skipped and returned.
    pub async fn apply(
        &self,
        client: &mut Client,
        method: Method,
        entries: &[Entry],
        name: &str,
        last: StreamId,
    ) -> Result<Applied> {
        let rows: Vec<Vec<Option<String>>> =
            entries.iter().map(|e| self.mapping.values(e)).collect();
        let mut applied = Applied::default();
        let limit = self.target.query_timeout;
        let first = tokio::time::timeout(limit, self.apply_once(client, method, &rows, name, last))
            .await
            // The transaction is dropped unfinished: PostgreSQL rolls it back.
            .map_err(|_| self.timeout("write a batch"))?;
        match first {
            Ok(n) => {
                applied.inserted = n;
            }
            Err(e) if is_data_error(&e) => {
                applied = self
                    .apply_row_by_row(client, entries, &rows, name, last)
                    .await?;
            }
            Err(e) => return Err(self.target.error("write a batch", &e)),
        }
        applied.duplicates =
            (rows.len() as u64).saturating_sub(applied.inserted + applied.rejected.len() as u64);
        Ok(applied)
    }

    async fn apply_once(
        &self,
        client: &mut Client,
        method: Method,
        rows: &[Vec<Option<String>>],
        name: &str,
        last: StreamId,
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        let mut tx = client.transaction().await?;
        let n = if rows.is_empty() {
            0
        } else {
            match method {
                Method::Insert => self.insert_batch(&tx, rows).await?,
                Method::Copy => {
                    // COPY straight into the sink has no ON CONFLICT: a batch that meets a
                    // row already there (a resumed or --restart run, a concurrent writer) or
                    // anything else COPY refuses is undone to the savepoint and written by
                    // the INSERT … ON CONFLICT DO NOTHING instead, in the same transaction.
                    let sp = tx.savepoint("replayctl_copy").await?;
                    match self.copy_batch(&sp, rows).await {
                        Ok(n) => {
                            sp.commit().await?;
                            n
                        }
                        Err(e) if e.as_db_error().is_some() => {
                            sp.rollback().await?;
                            self.insert_batch(&tx, rows).await?
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        };
        // The checkpoint counts what this batch wrote, so it follows the insert; COMMIT is
        // the one point where both become visible together.
        save_checkpoint(&tx, name, last, n).await?;
        tx.commit().await?;
        Ok(n)
    }

    async fn insert_batch(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        rows: &[Vec<Option<String>>],
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        let cols = columns(rows, self.types.len());
        let params: Vec<&(dyn ToSql + Sync)> =
            cols.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        tx.execute(&self.insert_sql(&self.unnest()), &params).await
    }

    /// `COPY sink (columns) FROM STDIN`: every row of the batch, or an error (a key already
    /// there included) and nothing.
    async fn copy_batch(
        &self,
        tx: &tokio_postgres::Transaction<'_>,
        rows: &[Vec<Option<String>>],
    ) -> std::result::Result<u64, tokio_postgres::Error> {
        use futures_util::SinkExt as _;
        let cols = self
            .mapping
            .columns
            .iter()
            .map(|(c, _)| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let sink = tx
            .copy_in::<_, bytes::Bytes>(&format!(
                "COPY {} ({cols}) FROM STDIN",
                quote_qualified(&self.mapping.table)
            ))
            .await?;
        let mut buf = String::new();
        for r in rows {
            for (i, v) in r.iter().enumerate() {
                if i > 0 {
                    buf.push('\t');
                }
                match v {
                    None => buf.push_str("\\N"),
                    Some(s) => copy_escape(s, &mut buf),
                }
            }
            buf.push('\n');
        }
        let mut sink = std::pin::pin!(sink);
        sink.send(bytes::Bytes::from(buf)).await?;
        sink.as_mut().finish().await
    }

    async fn apply_row_by_row(
        &self,
        client: &mut Client,
        entries: &[Entry],
        rows: &[Vec<Option<String>>],
        name: &str,
        last: StreamId,
    ) -> Result<Applied> {
        let limit = self.target.query_timeout;
        let sql = self.insert_sql(&self.unnest());
        let work = async {
            let mut applied = Applied::default();
            let mut tx = client.transaction().await?;
            for (e, r) in entries.iter().zip(rows) {
                let cols = columns(std::slice::from_ref(r), self.types.len());
                let params: Vec<&(dyn ToSql + Sync)> =
                    cols.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
                let sp = tx.savepoint("row").await?;
                match sp.execute(&sql, &params).await {
                    Ok(n) => {
                        sp.commit().await?;
                        applied.inserted += n;
                    }
                    Err(err) if is_data_error(&err) => {
                        sp.rollback().await?;
                        applied
                            .rejected
                            .push((e.id, gatehouse::pg::error_line(&err)));
                    }
                    Err(err) => return Err(err),
                }
            }
            save_checkpoint(&tx, name, last, applied.inserted).await?;
            tx.commit().await?;
            Ok(applied)
        };
        match tokio::time::timeout(limit * 4, work).await {
            Ok(r) => r.map_err(|e| self.target.error("write a batch row by row", &e)),
            Err(_) => Err(Error::Timeout {
                server: self.target.server.clone(),
                what: "write a batch row by row".to_owned(),
                limit: "4 × --query-timeout".to_owned(),
            }),
        }
    }

    /// The entries' values as PostgreSQL renders them once converted to the sink's column
    /// types (`uuid`, `jsonb`, `timestamptz` normalised), so stream and sink compare alike.
    /// Entries that do not convert are returned apart.
    pub async fn canonical(
        &self,
        client: &Client,
        entries: &[Entry],
    ) -> Result<(Vec<Vec<Option<String>>>, Vec<StreamId>)> {
        let rows: Vec<Vec<Option<String>>> =
            entries.iter().map(|e| self.mapping.values(e)).collect();
        let sql = format!(
            "SELECT {} FROM {}",
            self.types
                .iter()
                .enumerate()
                .map(|(i, t)| format!("c{i}::{t}::text"))
                .collect::<Vec<_>>()
                .join(", "),
            self.unnest()
        );
        let to_rows = |rs: Vec<tokio_postgres::Row>| -> Vec<Vec<Option<String>>> {
            rs.iter()
                .map(|r| (0..self.types.len()).map(|i| r.get(i)).collect())
                .collect()
        };
        match tokio::time::timeout(
            self.target.query_timeout,
            self.query_columns(client, &sql, &rows),
        )
        .await
        {
            Ok(Ok(rs)) => return Ok((to_rows(rs), Vec::new())),
            Ok(Err(e)) if is_data_error(&e) => {}
            Ok(Err(e)) => return Err(self.target.error("convert the window's entries", &e)),
            Err(_) => return Err(self.timeout("convert the window's entries")),
        }
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for (e, r) in entries.iter().zip(&rows) {
            match tokio::time::timeout(
                self.target.query_timeout,
                self.query_columns(client, &sql, std::slice::from_ref(r)),
            )
            .await
            {
                Ok(Ok(rs)) => good.extend(to_rows(rs)),
                Ok(Err(err)) if is_data_error(&err) => bad.push(e.id),
                Ok(Err(err)) => return Err(self.target.error("convert an entry", &err)),
                Err(_) => return Err(self.timeout("convert an entry")),
            }
        }
        Ok((good, bad))
    }

    /// Runs `sql` with one `text[]` parameter per column of `rows`.
    async fn query_columns(
        &self,
        client: &Client,
        sql: &str,
        rows: &[Vec<Option<String>>],
    ) -> std::result::Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
        let cols = columns(rows, self.types.len());
        let params: Vec<&(dyn ToSql + Sync)> =
            cols.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
        client.query(sql, &params).await
    }

    /// The sink's rows with these keys, every mapped column rendered as text.
    pub async fn fetch(
        &self,
        client: &Client,
        keys: &[String],
    ) -> Result<Vec<Vec<Option<String>>>> {
        let cols = self
            .mapping
            .columns
            .iter()
            .map(|(c, _)| format!("{}::text", quote_ident(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {cols} FROM {} WHERE {} = ANY($1::text[]::{}[])",
            quote_qualified(&self.mapping.table),
            quote_ident(&self.mapping.key),
            self.key_type
        );
        let rs = self
            .target
            .within("read the sink", client.query(&sql, &[&keys]))
            .await?;
        Ok(rs
            .iter()
            .map(|r| (0..self.types.len()).map(|i| r.get(i)).collect())
            .collect())
    }

    /// Rows of `tenant` whose stream-id column falls in the window's milliseconds, when the
    /// mapping has a tenant and a stream-id column.
    pub async fn count_window(
        &self,
        client: &Client,
        tenant: &str,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Option<u64>> {
        let (Some(tc), Some(ic)) = (self.mapping.tenant_column(), self.mapping.id_column()) else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {}::text = $1
               AND CASE WHEN {id}::text ~ '^[0-9]+-[0-9]+$' THEN split_part({id}::text, '-', 1)::numeric END
                   BETWEEN $2::text::numeric AND $3::text::numeric",
            quote_qualified(&self.mapping.table),
            quote_ident(tc),
            id = quote_ident(ic)
        );
        let row = self
            .target
            .within(
                "count the sink's window",
                client.query_one(&sql, &[&tenant, &from_ms.to_string(), &to_ms.to_string()]),
            )
            .await?;
        Ok(Some(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0)))
    }

    pub fn key_index_of(&self) -> usize {
        self.mapping.key_index()
    }

    fn timeout(&self, what: &str) -> Error {
        Error::Timeout {
            server: self.target.server.clone(),
            what: what.to_owned(),
            limit: format!(
                "{} (--query-timeout)",
                gatehouse::duration::format_duration(self.target.query_timeout)
            ),
        }
    }
}

async fn save_checkpoint(
    tx: &tokio_postgres::Transaction<'_>,
    name: &str,
    last: StreamId,
    n: u64,
) -> std::result::Result<u64, tokio_postgres::Error> {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    tx.execute(
        &format!(
            "INSERT INTO {CHECKPOINTS} (name, last_id, applied, updated_at) VALUES ($1, $2, $3, now())
             ON CONFLICT (name) DO UPDATE SET last_id = EXCLUDED.last_id,
               applied = {CHECKPOINTS}.applied + EXCLUDED.applied, updated_at = now()"
        ),
        &[&name, &last.to_string(), &n],
    )
    .await
}

/// Rows to columns (one text[] parameter per column).
fn columns(rows: &[Vec<Option<String>>], n: usize) -> Vec<Vec<Option<&str>>> {
    let mut cols: Vec<Vec<Option<&str>>> = (0..n).map(|_| Vec::with_capacity(rows.len())).collect();
    for r in rows {
        for (i, v) in r.iter().enumerate() {
            if let Some(c) = cols.get_mut(i) {
                c.push(v.as_deref());
            }
        }
    }
    cols
}

/// COPY's text format: backslash, tab, newline and carriage return escaped.
fn copy_escape(s: &str, out: &mut String) {
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_is_escaped() {
        let mut s = String::new();
        copy_escape("a\tb\\c\nd", &mut s);
        assert_eq!(s, "a\\tb\\\\c\\nd");
    }
}
