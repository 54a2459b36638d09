//! Compares a tenant's window in the stream with the sink: which entries the sink lacks,
//! which rows differ, which rows of the window the stream does not have, and a count plus an
//! order-independent hash of each side. Both sides are rendered by PostgreSQL in the sink's
//! column types, so `{"a":1}` and `{"a": 1}` compare equal as jsonb does.

use std::collections::HashMap;

use gatehouse::{Check, ReportBuilder, Section};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::checks::CheckId;
use crate::error::Result;
use crate::replay::{Options, window_json};
use crate::sink::Sink;
use crate::stream::{self, Entry, StreamId};

/// Order-independent digest of a multiset of rows: the sum of each row's SHA-256 (first 16
/// bytes), so order does not matter and a duplicate row changes it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SetHash(u128);

impl SetHash {
    pub fn add(&mut self, row: &[Option<String>]) {
        let mut h = Sha256::new();
        for v in row {
            match v {
                Some(s) => {
                    h.update([1u8]);
                    h.update(s.as_bytes());
                }
                None => h.update([0u8]),
            }
            h.update([0x1f]);
        }
        let d = h.finalize();
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        self.0 = self.0.wrapping_add(u128::from_be_bytes(b));
    }

    pub fn hex(self) -> String {
        format!("{:032x}", self.0)
    }
}

pub async fn verify(opts: &Options, b: &mut ReportBuilder) -> Result<()> {
    let mut redis = opts.redis.connect().await?;
    redis.require_stream(&opts.stream).await?;
    let client = opts.pg.connect().await?;
    let sink = Sink::open(&client, opts.pg.clone(), opts.mapping.clone()).await?;
    let key_at = sink.key_index_of();
    // The stream-id column says which delivery wrote a row, not what happened: it is left
    // out of the comparison and the hashes (a redriven copy has a new id, same event).
    let id_at = opts.mapping.id_index();
    let mut keys_seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut repeats = 0u64;
    let (mut stream_count, mut sink_count) = (0u64, 0u64);
    let (mut stream_hash, mut sink_hash) = (SetHash::default(), SetHash::default());
    let mut missing: Vec<StreamId> = Vec::new();
    let mut differ: Vec<StreamId> = Vec::new();
    let mut unconvertible: Vec<StreamId> = Vec::new();
    let mut from = opts.window.from;
    loop {
        let page =
            stream::range(&mut redis, &opts.stream, from, opts.window.to, opts.batch).await?;
        let Some(last) = page.last().map(|e| e.id) else {
            break;
        };
        from = last.next();
        let mine: Vec<Entry> = page
            .into_iter()
            .filter(|e| e.get(&opts.mapping.tenant_field).as_deref() == Some(opts.tenant.as_str()))
            .collect();
        if mine.is_empty() {
            continue;
        }
        let (rows, bad) = sink.canonical(&client, &mine).await?;
        unconvertible.extend(&bad);
        missing.extend(&bad);
        // Stream side: the entries that convert, once per key. A key seen again (a redriven
        // copy, a producer's retry) is the same event: the sink holds it once.
        let mut by_key: HashMap<String, (StreamId, Vec<Option<String>>)> = HashMap::new();
        let good_ids = mine.iter().map(|e| e.id).filter(|id| !bad.contains(id));
        for (id, row) in good_ids.zip(rows) {
            let Some(Some(k)) = row.get(key_at) else {
                continue;
            };
            if !keys_seen.insert(k.clone()) {
                repeats += 1;
                continue;
            }
            let row = content(&row, id_at);
            stream_count += 1;
            stream_hash.add(&row);
            by_key.insert(k.clone(), (id, row));
        }
        let keys: Vec<String> = by_key.keys().cloned().collect();
        let found = sink.fetch(&client, &keys).await?;
        let mut seen = std::collections::HashSet::new();
        for row in found {
            let Some(Some(k)) = row.get(key_at).cloned() else {
                continue;
            };
            let row = content(&row, id_at);
            sink_count += 1;
            sink_hash.add(&row);
            if let Some((id, want)) = by_key.get(&k)
                && *want != row
            {
                differ.push(*id);
            }
            seen.insert(k);
        }
        for (k, (id, _)) in &by_key {
            if !seen.contains(k) {
                missing.push(*id);
            }
        }
        if last >= opts.window.to {
            break;
        }
    }
    missing.sort();
    differ.sort();
    // Rows of the tenant whose stream id lies in the window but whose key the stream lacks.
    let window_rows = sink
        .count_window(
            &client,
            &opts.tenant,
            opts.window.from.ms,
            opts.window.to.ms,
        )
        .await?;
    let extra = window_rows.map(|n| n.saturating_sub(sink_count));
    let list = |ids: &[StreamId]| {
        ids.iter()
            .take(5)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    b.check(
        Check::at_most(CheckId::VerifyMissing, missing.len() as f64, 0.0).with_message(
            if missing.is_empty() {
                format!("the sink holds all {stream_count} entries of the window")
            } else {
                format!(
                    "{} entries of the window are not in the sink ({} do not convert to its columns); first: {}",
                    missing.len(),
                    unconvertible.len(),
                    list(&missing)
                )
            },
        ),
    );
    b.check(match extra {
        Some(n) => Check::at_most(CheckId::VerifyExtra, n as f64, 0.0).with_message(format!(
            "{n} rows of the tenant's window in the sink have no entry in the stream"
        )),
        None => Check::skip(
            CheckId::VerifyExtra,
            "the mapping has no tenant or stream-id column to find the window's rows by",
        ),
    });
    b.check(
        Check::at_most(CheckId::VerifyContent, differ.len() as f64, 0.0).with_message(
            if differ.is_empty() {
                "every row matches its entry".to_owned()
            } else {
                format!(
                    "{} rows differ from their entries; first: {}",
                    differ.len(),
                    list(&differ)
                )
            },
        ),
    );
    let same = stream_hash == sink_hash && stream_count == sink_count && missing.is_empty();
    b.check(
        if same {
            Check::ok(CheckId::VerifyHash)
        } else {
            Check::fail(
                CheckId::VerifyHash,
                "the window differs between stream and sink",
            )
        }
        .with_observed(sink_hash.hex())
        .with_limit(stream_hash.hex())
        .with_message(format!(
            "stream {stream_count} rows {}; sink {sink_count} rows {}",
            stream_hash.hex(),
            sink_hash.hex()
        )),
    );
    let mut s = Section::new("Window", &["side", "rows", "hash"]);
    s.row(vec![
        "stream".into(),
        stream_count.to_string(),
        stream_hash.hex(),
    ]);
    s.row(vec!["sink".into(), sink_count.to_string(), sink_hash.hex()]);
    b.section(s);
    b.summary(format!(
        "{} / {}: stream {stream_count}, sink {sink_count}; {} missing, {} differ{}",
        opts.stream,
        opts.tenant,
        missing.len(),
        differ.len(),
        extra.map(|n| format!(", {n} extra")).unwrap_or_default()
    ));
    b.data(json!({
        "stream": opts.stream,
        "tenant": opts.tenant,
        "window": window_json(&opts.window),
        "sink": {"server": opts.pg.server, "table": opts.mapping.table, "key": opts.mapping.key},
        "stream_rows": stream_count,
        "sink_rows": sink_count,
        "stream_hash": stream_hash.hex(),
        "sink_hash": sink_hash.hex(),
        "missing": missing.len(),
        "missing_ids": missing.iter().take(100).map(ToString::to_string).collect::<Vec<_>>(),
        "unconvertible": unconvertible.len(),
        "differ": differ.len(),
        "differ_ids": differ.iter().take(100).map(ToString::to_string).collect::<Vec<_>>(),
        "extra": extra,
        "repeats": repeats,
    }));
    Ok(())
}

/// A row without its stream-id column.
fn content(row: &[Option<String>], id_at: Option<usize>) -> Vec<Option<String>> {
    row.iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != id_at)
        .map(|(_, v)| v.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_hash_ignores_order_and_counts_duplicates() {
        let a = vec![Some("a".to_owned()), None];
        let c = vec![Some("c".to_owned()), Some(String::new())];
        let (mut x, mut y, mut z) = (SetHash::default(), SetHash::default(), SetHash::default());
        x.add(&a);
        x.add(&c);
        y.add(&c);
        y.add(&a);
        assert_eq!(x, y);
        z.add(&a);
        z.add(&c);
        z.add(&c);
        assert_ne!(x, z);
    }
}
