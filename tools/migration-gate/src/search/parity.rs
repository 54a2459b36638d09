//! Parity between two collections: document count, an order-independent hash of the
//! documents by id (each document's canonical JSON hashed; the sum of those hashes is the
//! collection's hash), the ids that differ, and relevance canaries (top-k ids of the same
//! queries on both collections).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::client::Client;
use crate::error::{Error, Result};

/// Per-document digests of one collection, by id.
#[derive(Debug, Default)]
pub(crate) struct Digests {
    pub(crate) by_id: HashMap<String, u128>,
    /// `updated_field`'s value per id (0 when absent), to tell writes in flight apart.
    pub(crate) updated: HashMap<String, i64>,
}

impl Digests {
    /// The order-independent hash: the wrapping sum of every document's digest, in hex.
    pub(crate) fn hash(&self) -> String {
        let sum = self
            .by_id
            .values()
            .fold(0u128, |acc, d| acc.wrapping_add(*d));
        format!("{sum:032x}")
    }
}

/// Reads an export (JSON Lines) into digests.
pub(crate) fn digest(jsonl: &str, updated_field: Option<&str>) -> Digests {
    let mut out = Digests::default();
    for line in jsonl.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let id = doc["id"].as_str().unwrap_or_default().to_owned();
        if let Some(f) = updated_field {
            out.updated
                .insert(id.clone(), doc[f].as_f64().map_or(0, |x| x as i64));
        }
        out.by_id.insert(id, doc_digest(&doc));
    }
    out
}

/// The first 128 bits of the SHA-256 of the document's canonical form: keys sorted
/// (serde_json's map is ordered), numbers compared by value (`3` and `3.0` are equal, as
/// after Typesense coerces an int32 into a float field).
pub(crate) fn doc_digest(doc: &Value) -> u128 {
    let canon = canonical(doc).to_string();
    let d = Sha256::digest(canon.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b)
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .map_or(Value::Number(n.clone()), |x| json!(format!("{x}"))),
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        other => other.clone(),
    }
}

/// What differs between the old and the new collection.
#[derive(Debug, Default)]
pub(crate) struct Diff {
    pub(crate) old_count: usize,
    pub(crate) new_count: usize,
    pub(crate) old_hash: String,
    pub(crate) new_hash: String,
    /// In the old collection, not in the new one.
    pub(crate) missing: Vec<String>,
    /// In the new collection only.
    pub(crate) extra: Vec<String>,
    /// In both, with different contents.
    pub(crate) changed: Vec<String>,
    /// Documents that differed only because a write was in flight, and matched once followed.
    pub(crate) in_flight: usize,
}

impl Diff {
    pub(crate) fn equal(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty()
    }

    /// Every differing id, missing first.
    pub(crate) fn ids(&self) -> impl Iterator<Item = &String> {
        self.missing.iter().chain(&self.changed).chain(&self.extra)
    }

    /// "document 42 missing from products_v3, 7 changed (price), ..." with at most `n` ids each.
    pub(crate) fn describe(&self, new: &str, n: usize) -> String {
        let list = |ids: &[String]| {
            let mut s = ids.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
            if ids.len() > n {
                s.push_str(&format!(" and {} more", ids.len() - n));
            }
            s
        };
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} document(s) missing from {new}: {}",
                self.missing.len(),
                list(&self.missing)
            ));
        }
        if !self.changed.is_empty() {
            parts.push(format!(
                "{} document(s) changed in {new}: {}",
                self.changed.len(),
                list(&self.changed)
            ));
        }
        if !self.extra.is_empty() {
            parts.push(format!(
                "{} document(s) only in {new}: {}",
                self.extra.len(),
                list(&self.extra)
            ));
        }
        parts.join("; ")
    }

    pub(crate) fn to_json(&self, n: usize) -> Value {
        let take = |ids: &[String]| ids.iter().take(n).cloned().collect::<Vec<_>>();
        json!({
            "old_count": self.old_count, "new_count": self.new_count,
            "old_hash": self.old_hash, "new_hash": self.new_hash,
            "missing": self.missing.len(), "changed": self.changed.len(), "extra": self.extra.len(),
            "in_flight": self.in_flight,
            "sample": {"missing": take(&self.missing), "changed": take(&self.changed), "extra": take(&self.extra)},
        })
    }
}

pub(crate) fn compare(old: &Digests, new: &Digests) -> Diff {
    let mut d = Diff {
        old_count: old.by_id.len(),
        new_count: new.by_id.len(),
        old_hash: old.hash(),
        new_hash: new.hash(),
        ..Diff::default()
    };
    for (id, h) in &old.by_id {
        match new.by_id.get(id) {
            None => d.missing.push(id.clone()),
            Some(n) if n != h => d.changed.push(id.clone()),
            Some(_) => {}
        }
    }
    d.extra = new
        .by_id
        .keys()
        .filter(|id| !old.by_id.contains_key(*id))
        .cloned()
        .collect();
    for v in [&mut d.missing, &mut d.changed, &mut d.extra] {
        v.sort_by(|a, b| natural(a, b));
    }
    d
}

/// Numeric ids in numeric order, so a sample reads 7, 42, 100 rather than 100, 42, 7.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// Exports both collections and compares them.
pub(crate) fn collections(
    client: &Client,
    old: &str,
    new: &str,
    updated_field: Option<&str>,
) -> Result<(Diff, Digests, Digests)> {
    let o = digest(&client.export(old, None)?, updated_field);
    let n = digest(&client.export(new, None)?, updated_field);
    Ok((compare(&o, &n), o, n))
}

// ---- relevance canaries ------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CanaryFile {
    #[serde(default = "default_k")]
    k: usize,
    queries: Vec<Canary>,
}

fn default_k() -> usize {
    10
}

/// One canary query: its top-k ids must be the same on both collections (in order), or
/// differ in at most `allow_changed` ids.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Canary {
    pub(crate) name: Option<String>,
    pub(crate) q: String,
    pub(crate) query_by: String,
    pub(crate) filter_by: Option<String>,
    pub(crate) sort_by: Option<String>,
    #[serde(default)]
    pub(crate) allow_changed: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct Canaries {
    pub(crate) k: usize,
    pub(crate) queries: Vec<Canary>,
}

pub(crate) fn load_canaries(path: &Path) -> Result<Canaries> {
    let input = gatehouse::input::read(&gatehouse::Source::new(path))?;
    let f: CanaryFile = gatehouse::yaml::from_input(&input)?;
    if f.queries.is_empty() || f.k == 0 {
        return Err(Error::Layout {
            path: input.label(),
            message: "a canary file needs k >= 1 and at least one query".into(),
        });
    }
    Ok(Canaries {
        k: f.k,
        queries: f.queries,
    })
}

/// One canary's outcome.
#[derive(Debug)]
pub(crate) struct CanaryResult {
    pub(crate) name: String,
    pub(crate) old: Vec<String>,
    pub(crate) new: Vec<String>,
    /// Ids of the old top-k not in the new top-k.
    pub(crate) changed: usize,
    pub(crate) ok: bool,
    pub(crate) error: Option<String>,
}

/// The top-k ids of `c` on `collection`, or the server's refusal.
pub(crate) fn top_k(
    client: &Client,
    collection: &str,
    c: &Canary,
    k: usize,
) -> Result<std::result::Result<Vec<String>, String>> {
    let per_page = k.to_string();
    let mut params = vec![
        ("q", c.q.as_str()),
        ("query_by", c.query_by.as_str()),
        ("per_page", per_page.as_str()),
    ];
    if let Some(f) = &c.filter_by {
        params.push(("filter_by", f));
    }
    if let Some(s) = &c.sort_by {
        params.push(("sort_by", s));
    }
    Ok(client.search(collection, &params)?.map(|v| {
        v["hits"]
            .as_array()
            .map(|hits| {
                hits.iter()
                    .filter_map(|h| h["document"]["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }))
}

pub(crate) fn run_canaries(
    client: &Client,
    canaries: &Canaries,
    old: &str,
    new: &str,
) -> Result<Vec<CanaryResult>> {
    let mut out = Vec::new();
    for (i, c) in canaries.queries.iter().enumerate() {
        let name = c
            .name
            .clone()
            .unwrap_or_else(|| format!("#{} {:?}", i + 1, c.q));
        let o = top_k(client, old, c, canaries.k)?;
        let n = top_k(client, new, c, canaries.k)?;
        let (o, n) = match (o, n) {
            (Ok(o), Ok(n)) => (o, n),
            (Err(e), _) => {
                out.push(failed(name, format!("on {old}: {e}")));
                continue;
            }
            (_, Err(e)) => {
                out.push(failed(name, format!("on {new}: {e}")));
                continue;
            }
        };
        let changed = o.iter().filter(|id| !n.contains(id)).count();
        let ok = if c.allow_changed == 0 {
            o == n
        } else {
            changed <= c.allow_changed
        };
        out.push(CanaryResult {
            name,
            old: o,
            new: n,
            changed,
            ok,
            error: None,
        });
    }
    Ok(out)
}

fn failed(name: String, e: String) -> CanaryResult {
    CanaryResult {
        name,
        old: Vec::new(),
        new: Vec::new(),
        changed: 0,
        ok: false,
        error: Some(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_ignores_order_and_number_spelling_but_not_values() {
        let a = digest("{\"id\":\"1\",\"p\":3}\n{\"id\":\"2\",\"p\":4}\n", None);
        let b = digest("{\"p\":4.0,\"id\":\"2\"}\n{\"id\":\"1\",\"p\":3}\n", None);
        assert_eq!(a.hash(), b.hash());
        assert!(compare(&a, &b).equal());
        let c = digest("{\"id\":\"1\",\"p\":3}\n{\"id\":\"2\",\"p\":5}\n", None);
        let d = compare(&a, &c);
        assert_eq!(d.changed, vec!["2".to_owned()]);
        let e = digest("{\"id\":\"1\",\"p\":3}\n", None);
        assert_eq!(compare(&a, &e).missing, vec!["2".to_owned()]);
    }
}
