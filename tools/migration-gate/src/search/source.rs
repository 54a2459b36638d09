//! A PostgreSQL query as the reindex's source: each row as one JSON document
//! (`row_to_json`), an `id` column required (numbers become strings, as Typesense wants).

use crate::error::{Error, Result};
use crate::pg::{Target, Timeouts};

/// Runs `query` and returns its rows as JSON Lines, labelled for reports.
pub(crate) async fn rows_as_jsonl(
    url: &str,
    query: &str,
    timeouts: Timeouts,
) -> Result<(String, String)> {
    let target = Target::parse(url)?.with_timeouts(timeouts);
    let client = target.connect().await?;
    let sql = format!("SELECT row_to_json(q)::text FROM ({query}) q");
    let rows = target
        .within("--source-query", client.query(&sql, &[]))
        .await?;
    let mut text = String::with_capacity(rows.len() * 256);
    for (i, row) in rows.iter().enumerate() {
        let line: String = row.get(0);
        let mut doc: serde_json::Value = serde_json::from_str(&line).map_err(|e| Error::Usage {
            flag: "--source-query",
            message: format!("row {}: not JSON: {e}", i + 1),
        })?;
        match &doc["id"] {
            serde_json::Value::String(_) => {}
            serde_json::Value::Number(n) => doc["id"] = serde_json::Value::String(n.to_string()),
            _ => {
                return Err(Error::Usage {
                    flag: "--source-query",
                    message: format!("row {}: no `id` column (text or number)", i + 1),
                });
            }
        }
        text.push_str(&doc.to_string());
        text.push('\n');
    }
    Ok((format!("PostgreSQL query ({} rows)", rows.len()), text))
}
