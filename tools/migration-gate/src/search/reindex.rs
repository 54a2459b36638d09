//! `search reindex` and `search flip`: create the next versioned collection, fill it from the
//! live one's export, follow the writes that arrive meanwhile (by an `updated_at`-style
//! field, round by round, until a round's lag is under `--max-lag`), prove parity (count,
//! order-independent hash by id, relevance canaries), and only then flip the alias, while a
//! bounded search loop through the alias counts every failed search.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gatehouse::{Check, ReportBuilder, Section};
use serde_json::{Value, json};

use super::client::{Client, Rejected};
use super::flip;
use super::parity::{self, Canaries, Diff};
use super::schema::Schema;
use crate::checks::CheckId;
use crate::error::Result;

/// Writes stamped this close before a round started are copied again by the next round:
/// the writers' clocks and ours may differ by this much.
const CLOCK_SKEW_MS: i64 = 2_000;
/// How long after the flip the last catch-up waits for writes routed to the old collection
/// just before the flip to be applied.
const FLIP_SETTLE: Duration = Duration::from_secs(1);

/// What a parity verification needs.
#[derive(Debug, Clone)]
pub(crate) struct Verify {
    pub(crate) canaries: Option<Canaries>,
    /// The field writers stamp with unix milliseconds (`updated_at`): how writes are followed.
    pub(crate) updated_field: Option<String>,
    /// How many differing ids a message lists.
    pub(crate) sample: usize,
}

#[derive(Debug, Clone)]
pub(crate) struct ReindexOptions {
    pub(crate) alias: String,
    pub(crate) schema: Schema,
    /// A JSON Lines file (an earlier `/documents/export`) to fill the new collection from,
    /// instead of the collection behind the alias: (label, text).
    pub(crate) source: Option<(String, String)>,
    pub(crate) verify: Verify,
    pub(crate) max_lag: Duration,
    pub(crate) max_rounds: u32,
    pub(crate) batch: usize,
    pub(crate) flip: bool,
    /// Searches per second through the alias while the reindex and flip run (0: none).
    pub(crate) probe_rate: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct FlipOptions {
    pub(crate) alias: String,
    pub(crate) to: Option<String>,
    pub(crate) rollback: bool,
    pub(crate) verify: Verify,
    pub(crate) check_parity: bool,
}

/// The bounded search loop: searches through the alias until stopped, counting failures.
struct Probe {
    stop: Arc<AtomicBool>,
    searches: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    first_error: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Probe {
    fn start(client: &Client, alias: &str, query: (String, String), rate: f64) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let searches = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let first_error = Arc::new(Mutex::new(None));
        let pause = Duration::from_secs_f64(1.0 / rate.max(0.1));
        let client = client.clone();
        let alias = alias.to_owned();
        let thread = {
            let (stop, searches, failed, first_error) = (
                Arc::clone(&stop),
                Arc::clone(&searches),
                Arc::clone(&failed),
                Arc::clone(&first_error),
            );
            std::thread::spawn(move || {
                // Bounded: it stops when told, and in any case after an hour.
                let deadline = Instant::now() + Duration::from_secs(3600);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    let params = [
                        ("q", query.0.as_str()),
                        ("query_by", query.1.as_str()),
                        ("per_page", "10"),
                    ];
                    let outcome = match client.search(&alias, &params) {
                        Ok(Ok(v)) if v["hits"].is_array() => None,
                        Ok(Ok(v)) => Some(format!("answer without hits: {v}")),
                        Ok(Err(e)) => Some(e),
                        Err(e) => Some(e.to_string()),
                    };
                    searches.fetch_add(1, Ordering::SeqCst);
                    if let Some(e) = outcome {
                        failed.fetch_add(1, Ordering::SeqCst);
                        let mut first = first_error.lock().unwrap_or_else(|p| p.into_inner());
                        first.get_or_insert(e);
                    }
                    std::thread::sleep(pause);
                }
            })
        };
        Probe {
            stop,
            searches,
            failed,
            first_error,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> (u64, u64, Option<String>) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let first = self
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        (
            self.searches.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            first,
        )
    }
}

fn now_ms() -> i64 {
    gatehouse::time::Timestamp::now().unix_millis()
}

/// The live collection behind `alias`, checked to exist.
pub(crate) fn live_collection(client: &Client, alias: &str) -> Result<(String, Value)> {
    let Some(name) = client.alias(alias)? else {
        return Err(client.error(format!("alias {alias}"), "no such alias"));
    };
    let Some(live) = client.collection(&name)? else {
        return Err(client.error(
            format!("alias {alias}"),
            format!("points to collection {name}, which does not exist"),
        ));
    };
    Ok((name, live))
}

/// Imports `jsonl` in batches of `batch` lines with `upsert`; the refused documents.
fn import(
    client: &Client,
    collection: &str,
    jsonl: &str,
    batch: usize,
) -> Result<(usize, Vec<Rejected>)> {
    let mut rejected = Vec::new();
    let mut lines = jsonl.lines().filter(|l| !l.trim().is_empty()).peekable();
    let mut count = 0;
    while lines.peek().is_some() {
        let chunk: Vec<&str> = lines.by_ref().take(batch.max(1)).collect();
        count += chunk.len();
        let mut body = chunk.join("\n");
        body.push('\n');
        rejected.extend(client.import(collection, &body, "upsert")?);
    }
    Ok((count, rejected))
}

/// One catch-up round: the documents written to `from` since `watermark` that `to` lacks
/// or has an older version of. Returns (documents copied, refused).
fn catch_up(
    client: &Client,
    from: &str,
    to: &str,
    field: &str,
    watermark: i64,
    batch: usize,
) -> Result<(usize, Vec<Rejected>)> {
    let filter = format!("{field}:>={watermark}");
    let delta = client.export(from, Some(&filter))?;
    let theirs = parity::digest(&client.export(to, Some(&filter))?, Some(field));
    let mut newer = String::new();
    for line in delta.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(doc) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let id = doc["id"].as_str().unwrap_or_default();
        let at = doc[field].as_f64().map_or(0, |x| x as i64);
        if theirs.updated.get(id).is_some_and(|t| *t >= at) {
            continue;
        }
        newer.push_str(line);
        newer.push('\n');
    }
    import(client, to, &newer, batch)
}

/// The outcome of a parity verification.
#[derive(Debug)]
pub(crate) struct Verdict {
    pub(crate) diff: Diff,
    pub(crate) canaries: Vec<parity::CanaryResult>,
    pub(crate) rounds: u32,
}

impl Verdict {
    pub(crate) fn ok(&self) -> bool {
        self.diff.equal() && self.canaries.iter().all(|c| c.ok)
    }
}

/// Compares `old` and `new`; when only documents written since `watermark` differ (writes
/// in flight) and rounds remain, follows them once more and compares again.
#[allow(
    clippy::too_many_arguments,
    reason = "one private call site per command"
)]
fn verify(
    client: &Client,
    source_file: Option<&str>,
    old: &str,
    new: &str,
    v: &Verify,
    watermark: &mut i64,
    rounds_left: u32,
    batch: usize,
) -> Result<Verdict> {
    let (mut diff, mut old_d, mut new_d) = match source_file {
        Some(text) => {
            let o = parity::digest(text, None);
            let n = parity::digest(&client.export(new, None)?, None);
            (parity::compare(&o, &n), o, n)
        }
        None => parity::collections(client, old, new, v.updated_field.as_deref())?,
    };
    let mut rounds = 0;
    if let (false, None, Some(field)) = (diff.equal(), source_file, v.updated_field.as_deref()) {
        // Only writes in flight (stamped since the last round began) may be chased; any
        // other difference is a real break and is reported as it is.
        let in_flight = |doc: Option<&Value>, wm: i64| {
            doc.and_then(|d| d[field].as_f64())
                .is_some_and(|t| t as i64 >= wm)
        };
        let mut pending: Vec<String> = diff
            .ids()
            .filter(|id| old_d.updated.get(*id).is_some_and(|t| *t >= *watermark))
            .cloned()
            .collect();
        let chase = pending.len() == diff.ids().count();
        let mut wm = *watermark;
        while chase && !pending.is_empty() && rounds < rounds_left {
            rounds += 1;
            let round_start = now_ms() - CLOCK_SKEW_MS;
            catch_up(client, old, new, field, wm, batch)?;
            let mut still = Vec::new();
            let mut broken = false;
            for id in &pending {
                let o = client.document(old, id)?;
                let n = client.document(new, id)?;
                let (od, nd) = (
                    o.as_ref().map(parity::doc_digest),
                    n.as_ref().map(parity::doc_digest),
                );
                for (map, d) in [(&mut old_d.by_id, od), (&mut new_d.by_id, nd)] {
                    match d {
                        Some(d) => map.insert(id.clone(), d),
                        None => map.remove(id),
                    };
                }
                if od != nd {
                    broken |= !in_flight(o.as_ref(), round_start);
                    still.push(id.clone());
                }
            }
            diff.in_flight += pending.len() - still.len();
            pending = still;
            wm = round_start;
            if broken {
                break;
            }
        }
        *watermark = wm;
        if chase {
            let keep = |ids: &mut Vec<String>| ids.retain(|id| pending.contains(id));
            keep(&mut diff.missing);
            keep(&mut diff.changed);
            keep(&mut diff.extra);
            diff.old_count = old_d.by_id.len();
            diff.new_count = new_d.by_id.len();
            diff.old_hash = old_d.hash();
            diff.new_hash = new_d.hash();
        }
    }
    let canaries = match &v.canaries {
        Some(c) if diff.equal() && source_file.is_none() => {
            parity::run_canaries(client, c, old, new)?
        }
        _ => Vec::new(),
    };
    Ok(Verdict {
        diff,
        canaries,
        rounds,
    })
}

fn report_verdict(verdict: &Verdict, old: &str, new: &str, v: &Verify, b: &mut ReportBuilder) {
    let d = &verdict.diff;
    b.check(
        if d.old_count == d.new_count {
            Check::ok(CheckId::SearchParityCount)
        } else {
            Check::fail(
                CheckId::SearchParityCount,
                format!(
                    "{old} has {} documents, {new} has {}",
                    d.old_count, d.new_count
                ),
            )
        }
        .with_observed(d.new_count as u64)
        .with_limit(d.old_count as u64),
    );
    b.check(if d.equal() {
        Check::ok(CheckId::SearchParityHash).with_message(format!(
            "{} documents, hash {} on both",
            d.old_count, d.new_hash
        ))
    } else {
        Check::fail(CheckId::SearchParityHash, d.describe(new, v.sample))
    });
    if v.canaries.is_some() && !d.equal() {
        b.check(Check::skip(
            CheckId::SearchCanary,
            "not run: the documents differ",
        ));
    }
    let mut table = Section::new(
        "Relevance canaries",
        &["query", "result", "old top-k", "new top-k"],
    );
    for c in &verdict.canaries {
        let msg = match &c.error {
            Some(e) => format!("{}: {e}", c.name),
            None => format!(
                "{}: {} of the old top-{} ids are not in the new top-k{}",
                c.name,
                c.changed,
                c.old.len(),
                if c.changed == 0 && c.old != c.new {
                    " (order differs)"
                } else {
                    ""
                }
            ),
        };
        b.check(if c.ok {
            Check::ok(CheckId::SearchCanary).with_message(msg)
        } else {
            Check::fail(CheckId::SearchCanary, msg)
        });
        table.row(vec![
            c.name.clone(),
            if c.ok { "ok".into() } else { "fail".into() },
            c.old.join(" "),
            c.new.join(" "),
        ]);
    }
    if !verdict.canaries.is_empty() {
        b.section(table);
    }
}

fn canary_json(verdict: &Verdict) -> Value {
    json!(verdict.canaries.iter().map(|c| json!({
        "name": c.name, "ok": c.ok, "changed": c.changed, "old": c.old, "new": c.new, "error": c.error,
    })).collect::<Vec<_>>())
}

/// The probe's query: the first canary, else `*` over the schema's first string field.
fn probe_query(v: &Verify, live: &Value) -> (String, String) {
    if let Some(c) = v.canaries.as_ref().and_then(|c| c.queries.first()) {
        return (c.q.clone(), c.query_by.clone());
    }
    let field = live["fields"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|f| f["type"] == "string" && f["index"] != false)
                .and_then(|f| f["name"].as_str())
        })
        .unwrap_or("id");
    ("*".into(), field.into())
}

pub(crate) fn reindex(client: &Client, o: &ReindexOptions, b: &mut ReportBuilder) -> Result<()> {
    // Everything that can be refused is checked before anything is created.
    let (old, live) = match &o.source {
        None => {
            let (name, live) = live_collection(client, &o.alias)?;
            (name, Some(live))
        }
        Some((label, _)) => {
            if client.alias(&o.alias)?.is_some() {
                // Refuses an alias that points nowhere, like the collection source does.
                live_collection(client, &o.alias)?;
            }
            (label.clone(), None)
        }
    };
    let current = match &o.source {
        None => Some(old.clone()),
        Some(_) => client.alias(&o.alias)?,
    };
    let new = o.schema.collection();
    // A collection of that name that was never live is what an interrupted or blocked run
    // left behind (Ctrl-C, SIGKILL, a parity break): it is rebuilt. One that is or was live
    // is refused.
    let mut leftover = false;
    if client.collection(&new)?.is_some() {
        let was_live = new == old
            || current.as_deref() == Some(new.as_str())
            || flip::history(client, &o.alias)?
                .iter()
                .any(|f| f.to == new || f.from == new);
        if was_live {
            return Err(client.error(
                format!("reindex {}", o.alias),
                format!(
                    "collection {new} already exists and has been live; bump the version, or remove it with `search gc`"
                ),
            ));
        }
        leftover = true;
    }
    if let (Some(f), Some(live)) = (&o.verify.updated_field, &live) {
        let numeric = |v: &Value| {
            v["fields"].as_array().is_some_and(|a| {
                a.iter().any(|x| {
                    x["name"] == f.as_str() && matches!(x["type"].as_str(), Some("int64" | "float"))
                })
            })
        };
        if !numeric(live)
            || o.schema
                .field(f)
                .is_none_or(|x| x.kind != "int64" && x.kind != "float")
        {
            return Err(client.error(
                format!("--updated-field {f}"),
                format!("must be an int64 field of both {old} and {new} (unix milliseconds), to filter writes by"),
            ));
        }
    }
    let probe = match (&current, o.probe_rate > 0.0) {
        (Some(_), true) => {
            let live = client
                .collection(current.as_deref().unwrap_or_default())?
                .unwrap_or_default();
            Some(Probe::start(
                client,
                &o.alias,
                probe_query(&o.verify, &live),
                o.probe_rate,
            ))
        }
        _ => None,
    };
    let started = Instant::now();
    let mut watermark = now_ms() - CLOCK_SKEW_MS;
    if leftover {
        client.delete_collection(&new)?;
        b.check(Check::warn(
            CheckId::SearchReindexImport,
            format!(
                "{new} was left by an earlier run that never flipped to it: rebuilt from scratch"
            ),
        ));
    }
    client.create_collection(&o.schema.create_body())?;

    // Full copy.
    let (copied, mut rejected) = match &o.source {
        Some((_, text)) => import(client, &new, text, o.batch)?,
        None => {
            let export = client.export(&old, None)?;
            import(client, &new, &export, o.batch)?
        }
    };

    // Follow the writes that arrived meanwhile, round by round.
    let mut rounds = Vec::new();
    let mut lag = started.elapsed();
    if let (Some(field), None) = (&o.verify.updated_field, &o.source) {
        for _ in 0..o.max_rounds {
            let round_start = Instant::now();
            let next = now_ms() - CLOCK_SKEW_MS;
            let (n, r) = catch_up(client, &old, &new, field, watermark, o.batch)?;
            rejected.extend(r);
            watermark = next;
            lag = round_start.elapsed();
            rounds.push(json!({"copied": n, "lag_ms": lag.as_millis() as u64}));
            if lag <= o.max_lag {
                break;
            }
        }
    }
    rejected.sort_by(|a, b| a.id.cmp(&b.id));
    rejected.dedup_by(|a, b| a.id == b.id);
    b.check(if rejected.is_empty() {
        Check::ok(CheckId::SearchReindexImport)
            .with_message(format!("{copied} documents copied from {old} into {new}"))
    } else {
        let named: Vec<String> = rejected
            .iter()
            .take(o.verify.sample)
            .map(|r| format!("document {}: {}", r.id, r.error))
            .collect();
        Check::fail(
            CheckId::SearchReindexImport,
            format!(
                "{new} refused {} document(s): {}",
                rejected.len(),
                named.join("; ")
            ),
        )
    });
    if o.source.is_some() {
        b.check(Check::skip(
            CheckId::SearchReindexLag,
            format!("filled from {old}: no live writes to follow"),
        ));
    } else if o.verify.updated_field.is_some() {
        b.check(Check::at_most(
            CheckId::SearchReindexLag,
            lag.as_secs_f64(),
            o.max_lag.as_secs_f64(),
        ));
    } else {
        b.check(Check::warn(
            CheckId::SearchReindexLag,
            "writes during the reindex were not followed: pass --updated-field",
        ));
    }

    let source_text = o.source.as_ref().map(|(_, t)| t.as_str());
    let verdict = verify(
        client,
        source_text,
        &old,
        &new,
        &o.verify,
        &mut watermark,
        o.max_rounds,
        o.batch,
    )?;
    report_verdict(&verdict, &old, &new, &o.verify, b);
    let mut flipped = false;
    let mut post_flip = 0;
    if !o.flip {
        b.check(Check::skip(
            CheckId::SearchFlip,
            "not asked to flip (--flip)",
        ));
    } else if verdict.ok() && rejected.is_empty() {
        flip::switch(
            client,
            &o.alias,
            current.as_deref().unwrap_or(""),
            &new,
            "flip",
        )?;
        flipped = true;
        // Writes that reached the old collection between the last comparison and the flip;
        // a write that resolved the alias just before the flip may still be applying: wait
        // for it to settle first.
        if let (Some(field), None) = (&o.verify.updated_field, &o.source) {
            std::thread::sleep(FLIP_SETTLE);
            post_flip = catch_up(client, &old, &new, field, watermark, o.batch)?.0;
        }
        b.check(Check::ok(CheckId::SearchFlip).with_message(format!(
            "alias {} -> {new} (was {}; kept for --rollback)",
            o.alias,
            current.as_deref().unwrap_or("absent")
        )));
    } else {
        b.check(Check::fail(
            CheckId::SearchFlip,
            format!("alias {} not flipped: {new} does not match {old}", o.alias),
        ));
    }
    let probe_json = probe.map(|p| {
        let (searches, failed, first) = p.finish();
        b.check(
            Check::at_most(CheckId::SearchFailedSearches, failed as f64, 0.0).with_message(
                format!(
                    "{failed} of {searches} searches through alias {} failed{}",
                    o.alias,
                    first
                        .as_ref()
                        .map_or(String::new(), |e| format!(" (first: {e})"))
                ),
            ),
        );
        json!({"searches": searches, "failed": failed, "first_error": first})
    });
    b.data(json!({"search": {"reindex": {
        "alias": o.alias, "from": old, "to": new, "schema": o.schema.file,
        "copied": copied,
        "rejected": rejected.iter().take(o.verify.sample).map(|r| json!({"id": r.id, "error": r.error})).collect::<Vec<_>>(),
        "rounds": rounds, "lag_ms": lag.as_millis() as u64,
        "parity": verdict.diff.to_json(o.verify.sample),
        "parity_rounds": verdict.rounds,
        "canaries": canary_json(&verdict),
        "flipped": flipped, "post_flip_copied": post_flip,
        "probe": probe_json,
        "duration_ms": started.elapsed().as_millis() as u64,
    }}}));
    b.summary(format!(
        "{copied} documents {old} -> {new}; parity {}; {}",
        if verdict.diff.equal() { "ok" } else { "BROKEN" },
        if flipped { "flipped" } else { "not flipped" }
    ));
    Ok(())
}

pub(crate) fn flip_cmd(client: &Client, o: &FlipOptions, b: &mut ReportBuilder) -> Result<()> {
    let (current, _) = live_collection(client, &o.alias)?;
    if o.rollback {
        let history = flip::history(client, &o.alias)?;
        let Some(last) = history.iter().find(|f| f.to == current) else {
            return Err(client.error(
                format!("rollback {}", o.alias),
                format!("no recorded flip to {current}: nothing to roll back"),
            ));
        };
        if client.collection(&last.from)?.is_none() {
            return Err(client.error(
                format!("rollback {}", o.alias),
                format!("the previous collection {} is gone (gc'd?)", last.from),
            ));
        }
        flip::switch(client, &o.alias, &current, &last.from, "rollback")?;
        b.check(Check::ok(CheckId::SearchFlip).with_message(format!(
            "alias {} rolled back {current} -> {}",
            o.alias, last.from
        )));
        b.data(json!({"search": {"flip": {
            "alias": o.alias, "from": current, "to": last.from, "rollback": true, "flipped": true,
        }}}));
        b.summary(format!("alias {} rolled back to {}", o.alias, last.from));
        return Ok(());
    }
    let Some(to) = o.to.as_deref() else {
        return Err(crate::error::Error::Usage {
            flag: "--to",
            message: "name the collection to flip to, or pass --rollback".into(),
        });
    };
    if client.collection(to)?.is_none() {
        return Err(client.error(
            format!("flip {}", o.alias),
            format!("collection {to} does not exist"),
        ));
    }
    if to == current {
        b.check(
            Check::ok(CheckId::SearchFlip)
                .with_message(format!("alias {} already points to {to}", o.alias)),
        );
        b.data(json!({"search": {"flip": {"alias": o.alias, "from": current, "to": to, "rollback": false, "flipped": false}}}));
        b.summary(format!("alias {} already points to {to}", o.alias));
        return Ok(());
    }
    let verdict = if o.check_parity {
        let mut watermark = now_ms() - CLOCK_SKEW_MS;
        let v = verify(
            client,
            None,
            &current,
            to,
            &o.verify,
            &mut watermark,
            0,
            1000,
        )?;
        report_verdict(&v, &current, to, &o.verify, b);
        Some(v)
    } else {
        None
    };
    let go = verdict.as_ref().is_none_or(Verdict::ok);
    if go {
        flip::switch(client, &o.alias, &current, to, "flip")?;
        b.check(Check::ok(CheckId::SearchFlip).with_message(format!(
            "alias {} -> {to} (was {current}; kept for --rollback)",
            o.alias
        )));
    } else {
        b.check(Check::fail(
            CheckId::SearchFlip,
            format!(
                "alias {} not flipped: {to} does not match {current}",
                o.alias
            ),
        ));
    }
    b.data(json!({"search": {"flip": {
        "alias": o.alias, "from": current, "to": to, "rollback": false, "flipped": go,
        "parity": verdict.as_ref().map(|v| v.diff.to_json(o.verify.sample)),
        "canaries": verdict.as_ref().map(canary_json),
    }}}));
    b.summary(format!(
        "alias {} {} {to}",
        o.alias,
        if go { "flipped to" } else { "NOT flipped to" }
    ));
    Ok(())
}
