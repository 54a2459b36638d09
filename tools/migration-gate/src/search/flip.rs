//! The alias flip (one atomic `PUT /aliases/NAME`), its rollback, and `gc` of the versioned
//! collections past their retention. Every flip is recorded in Typesense itself, in the
//! collection `migration_gate_flips`, so `--rollback` and `gc` know what came before.

use std::time::Duration;

use serde_json::{Value, json};

use super::client::Client;
use crate::error::Result;

/// Where flips are recorded.
pub(crate) const LEDGER: &str = "migration_gate_flips";

/// One recorded flip.
#[derive(Debug, Clone)]
pub(crate) struct Flip {
    pub(crate) alias: String,
    pub(crate) from: String,
    pub(crate) to: String,
    /// Unix milliseconds.
    pub(crate) at: i64,
}

fn now_ms() -> i64 {
    gatehouse::time::Timestamp::now().unix_millis()
}

fn ensure_ledger(client: &Client) -> Result<()> {
    if client.collection(LEDGER)?.is_some() {
        return Ok(());
    }
    let schema = json!({
        "name": LEDGER,
        "fields": [
            {"name": "alias", "type": "string", "facet": true},
            {"name": "from", "type": "string"},
            {"name": "to", "type": "string"},
            {"name": "kind", "type": "string"},
            {"name": "at", "type": "int64"},
        ],
        "default_sorting_field": "at",
    });
    client.create_collection(&schema).map(|_| ())
}

/// Every recorded flip of `alias`, newest first.
pub(crate) fn history(client: &Client, alias: &str) -> Result<Vec<Flip>> {
    if client.collection(LEDGER)?.is_none() {
        return Ok(Vec::new());
    }
    let text = client.export(LEDGER, Some(&format!("alias:={alias}")))?;
    let mut out: Vec<Flip> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| Flip {
            alias: v["alias"].as_str().unwrap_or_default().to_owned(),
            from: v["from"].as_str().unwrap_or_default().to_owned(),
            to: v["to"].as_str().unwrap_or_default().to_owned(),
            at: v["at"].as_i64().unwrap_or(0),
        })
        .filter(|f| f.alias == alias)
        .collect();
    out.sort_by_key(|f| std::cmp::Reverse(f.at));
    Ok(out)
}

/// Points `alias` at `to` (one atomic upsert) and records the flip.
pub(crate) fn switch(
    client: &Client,
    alias: &str,
    from: &str,
    to: &str,
    kind: &str,
) -> Result<Flip> {
    ensure_ledger(client)?;
    client.upsert_alias(alias, to)?;
    let at = now_ms();
    let flip = Flip {
        alias: alias.to_owned(),
        from: from.to_owned(),
        to: to.to_owned(),
        at,
    };
    let doc = json!({
        "id": format!("{alias}-{at}"), "alias": alias, "from": from, "to": to,
        "kind": kind, "at": at,
    });
    let rejected = client.import(LEDGER, &format!("{doc}\n"), "upsert")?;
    if let Some(r) = rejected.first() {
        return Err(client.error(format!("record the flip in {LEDGER}"), r.error.clone()));
    }
    Ok(flip)
}

/// A collection `gc` looked at.
#[derive(Debug)]
pub(crate) struct GcEntry {
    pub(crate) collection: String,
    /// `deleted`, `kept` (within retention), `live` (behind the alias).
    pub(crate) state: &'static str,
    pub(crate) reason: String,
}

/// Deletes `alias`'s versioned collections (`alias_vN`) that are not behind the alias and
/// left it (or were created) longer than `retention` ago. `dry_run` only lists them.
pub(crate) fn gc(
    client: &Client,
    alias: &str,
    retention: Duration,
    dry_run: bool,
) -> Result<Vec<GcEntry>> {
    let live = client.alias(alias)?;
    let flips = history(client, alias)?;
    let now = now_ms();
    let keep_ms = i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    let prefix = format!("{alias}_v");
    let mut out = Vec::new();
    let mut names: Vec<(String, i64)> = client
        .collections()?
        .iter()
        .filter_map(|c| {
            let name = c["name"].as_str()?.to_owned();
            let rest = name.strip_prefix(&prefix)?;
            rest.parse::<u32>().ok()?;
            Some((name, c["created_at"].as_i64().unwrap_or(0) * 1000))
        })
        .collect();
    names.sort();
    for (name, created_ms) in names {
        if live.as_deref() == Some(name.as_str()) {
            out.push(GcEntry {
                collection: name,
                state: "live",
                reason: format!("behind alias {alias}"),
            });
            continue;
        }
        // When it last stopped being live: the newest flip away from it, else its creation.
        let left = flips
            .iter()
            .find(|f| f.from == name)
            .map_or(created_ms, |f| f.at);
        let age = now - left;
        if age < keep_ms {
            let left_s = gatehouse::duration::format_duration(Duration::from_millis(
                u64::try_from(keep_ms - age).unwrap_or(0),
            ));
            out.push(GcEntry {
                collection: name,
                state: "kept",
                reason: format!("within retention: rollback possible for {left_s} more"),
            });
            continue;
        }
        if !dry_run {
            client.delete_collection(&name)?;
        }
        out.push(GcEntry {
            collection: name,
            state: if dry_run { "would_delete" } else { "deleted" },
            reason: "past retention".into(),
        });
    }
    Ok(out)
}
