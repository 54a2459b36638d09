//! The dead-letter stream: triage (entries grouped by normalised error class, tenant and
//! age, with counts, first/last seen and one example each) and claim (entries pending on
//! dead consumers after N deliveries moved to the DLQ, each in one atomic script).

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse::{Check, ReportBuilder, Section, Status};
use serde_json::json;

use crate::checks::CheckId;
use crate::conn::Conn;
use crate::error::Result;
use crate::stream::{self, Entry, StreamId, ms_rfc3339, text};

/// An error message reduced to its class: lower case, numbers, ids and single-quoted values
/// replaced, so "timeout after 3012ms on 10.0.0.7" and "timeout after 5000ms on 10.0.0.9"
/// are one class. Double-quoted text (PostgreSQL's identifiers: relation, constraint,
/// column) and a SQLSTATE in parentheses (`(23514)`) are kept: they name the class.
pub fn error_class(message: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut prev_placeholder = false;
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, prev: &mut bool| {
        if word.is_empty() {
            return;
        }
        let sqlstate = word.len() == 5
            && out.ends_with('(')
            && word
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if sqlstate {
            out.push_str(word);
            *prev = false;
            word.clear();
            return;
        }
        let has_digit = word.bytes().any(|b| b.is_ascii_digit());
        let hexish = word.len() >= 8 && word.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        if has_digit || hexish {
            if !*prev {
                out.push('#');
            }
            *prev = true;
        } else {
            out.push_str(&word.to_lowercase());
            *prev = false;
        }
        word.clear();
    };
    for ch in message.chars() {
        if let Some(q) = quote {
            if ch == q {
                quote = None;
                if q == '\'' {
                    out.push('…');
                }
                out.push(q);
            } else if q == '"' {
                out.push(ch);
            }
            continue;
        }
        if ch == '"' || ch == '\'' {
            flush(&mut word, &mut out, &mut prev_placeholder);
            quote = Some(ch);
            out.push(ch);
            prev_placeholder = false;
            continue;
        }
        if ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == '.' {
            word.push(ch);
        } else {
            flush(&mut word, &mut out, &mut prev_placeholder);
            if !(ch.is_whitespace() && out.ends_with(' ')) {
                out.push(if ch.is_whitespace() { ' ' } else { ch });
            }
            if !ch.is_whitespace() {
                prev_placeholder = false;
            }
        }
    }
    flush(&mut word, &mut out, &mut prev_placeholder);
    let out = out.trim().to_owned();
    if out.chars().count() > 100 {
        out.chars().take(100).collect::<String>() + "…"
    } else if out.is_empty() {
        "(no error recorded)".to_owned()
    } else {
        out
    }
}

fn age_bucket(age_ms: u64) -> &'static str {
    const H: u64 = 3_600_000;
    match age_ms {
        a if a < H => "<1h",
        a if a < 24 * H => "1h-24h",
        a if a < 7 * 24 * H => "1d-7d",
        _ => ">7d",
    }
}

#[derive(Debug)]
struct Group {
    count: u64,
    first: StreamId,
    last: StreamId,
    example: Entry,
}

/// Triage options.
#[derive(Debug, Clone)]
pub struct TriageOptions {
    pub dlq: String,
    pub max_entries: Option<u64>,
    pub limit: u64,
}

pub async fn triage(conn: &mut Conn, o: &TriageOptions, b: &mut ReportBuilder) -> Result<()> {
    let exists = conn.dlq_exists(&o.dlq).await?;
    let now = conn.now_ms().await?;
    // XLEN of a missing key is 0: a DLQ nobody has written to yet is an empty one.
    let total: u64 = conn.query("XLEN", redis::cmd("XLEN").arg(&o.dlq)).await?;
    let mut groups: BTreeMap<(String, String, &'static str), Group> = BTreeMap::new();
    let mut from = StreamId::MIN;
    let mut read = 0u64;
    while read < o.limit {
        let want = u32::try_from((o.limit - read).min(5000)).unwrap_or(5000);
        let page = stream::range(conn, &o.dlq, from, StreamId::MAX, want).await?;
        let Some(last) = page.last().map(|e| e.id) else {
            break;
        };
        from = last.next();
        read += page.len() as u64;
        for e in page {
            let class = error_class(&e.get("error").unwrap_or_default());
            let tenant = e.get("tenant").unwrap_or_else(|| "(none)".to_owned());
            let bucket = age_bucket(now.saturating_sub(e.id.ms));
            groups
                .entry((class, tenant, bucket))
                .and_modify(|g| {
                    g.count += 1;
                    g.last = e.id;
                })
                .or_insert(Group {
                    count: 1,
                    first: e.id,
                    last: e.id,
                    example: e,
                });
        }
    }
    let mut sorted: Vec<_> = groups.into_iter().collect();
    sorted.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    let mut s = Section::new(
        format!("Dead letters in {} by error class, tenant and age", o.dlq),
        &[
            "count",
            "error class",
            "tenant",
            "age",
            "first seen",
            "last seen",
            "example",
        ],
    )
    .with_max_rows(50);
    let mut data = Vec::new();
    for ((class, tenant, bucket), g) in &sorted {
        let example_error = g.example.get("error").unwrap_or_default();
        s.row(vec![
            g.count.to_string(),
            class.clone(),
            tenant.clone(),
            (*bucket).to_owned(),
            ms_rfc3339(g.first.ms),
            ms_rfc3339(g.last.ms),
            format!(
                "{} {}",
                g.example.id,
                example_error.chars().take(80).collect::<String>()
            ),
        ]);
        data.push(json!({
            "error_class": class,
            "tenant": tenant,
            "age": bucket,
            "count": g.count,
            "first_seen": ms_rfc3339(g.first.ms),
            "last_seen": ms_rfc3339(g.last.ms),
            "example": {
                "id": g.example.id.to_string(),
                "origin_id": g.example.get("origin_id"),
                "event_id": g.example.get("event_id"),
                "error": example_error,
                "attempts": g.example.get("attempts"),
            },
        }));
    }
    b.section(s);
    b.check(
        match o.max_entries {
            Some(max) => Check::at_most(CheckId::DlqEntries, total as f64, max as f64),
            None => Check::new(CheckId::DlqEntries, Status::Ok).with_observed(total),
        }
        .with_message(if exists {
            format!(
                "{total} dead-lettered entr{} in {} group(s)",
                if total == 1 { "y" } else { "ies" },
                sorted.len()
            )
        } else {
            format!(
                "no stream {:?} yet: no dead letters (the first one creates it)",
                o.dlq
            )
        }),
    );
    b.summary(format!(
        "{}: {total} dead letters in {} group(s){}",
        o.dlq,
        sorted.len(),
        sorted
            .first()
            .map(|(k, g)| format!("; most: {} × {} ({})", g.count, k.0, k.1))
            .unwrap_or_default()
    ));
    b.data(json!({
        "dlq": o.dlq,
        "entries": total,
        "read": read,
        "truncated": read < total,
        "groups": data,
    }));
    Ok(())
}

/// Claim options.
#[derive(Debug, Clone)]
pub struct ClaimOptions {
    pub stream: String,
    pub group: String,
    pub dlq: String,
    pub min_idle: Duration,
    pub min_deliveries: u64,
    pub dry_run: bool,
}

/// Claims the entry for us (only if still pending and idle long enough), adds it to the DLQ
/// with error/attempts/origin_id, and acknowledges it: one script, so one atomic step.
const CLAIM: &str = r"
local got = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
if #got == 0 or not got[1] or got[1] == false then return false end
local f = got[1][2]
local out = {}
for i = 1, #f, 2 do
  local k = f[i]
  if k ~= 'error' and k ~= 'attempts' and k ~= 'origin_id' then
    out[#out + 1] = k
    out[#out + 1] = f[i + 1]
  end
end
out[#out + 1] = 'error'; out[#out + 1] = ARGV[5]
out[#out + 1] = 'attempts'; out[#out + 1] = ARGV[6]
out[#out + 1] = 'origin_id'; out[#out + 1] = ARGV[4]
local id = redis.call('XADD', KEYS[2], '*', unpack(out))
redis.call('XACK', KEYS[1], ARGV[1], ARGV[4])
return id
";

pub async fn claim(conn: &mut Conn, o: &ClaimOptions, b: &mut ReportBuilder) -> Result<()> {
    crate::lag::group_lag(conn, &o.stream, &o.group).await?;
    if conn.is_cluster() && conn.slot(&o.stream).await? != conn.slot(&o.dlq).await? {
        return Err(crate::error::Error::CrossSlot {
            server: conn.server().to_owned(),
            stream: o.stream.clone(),
            dlq: o.dlq.clone(),
        });
    }
    let idle = o.min_idle.as_millis().to_string();
    let mut moved = Vec::new();
    let mut start = "-".to_owned();
    loop {
        let v = conn
            .raw(
                "XPENDING",
                redis::cmd("XPENDING")
                    .arg(&o.stream)
                    .arg(&o.group)
                    .arg("IDLE")
                    .arg(&idle)
                    .arg(&start)
                    .arg("+")
                    .arg(500),
            )
            .await?;
        let redis::Value::Array(items) = v else { break };
        if items.is_empty() {
            break;
        }
        let mut last = None;
        for it in &items {
            let redis::Value::Array(p) = it else { continue };
            let id = p.first().and_then(text).and_then(|s| StreamId::parse(&s));
            let consumer = p.get(1).and_then(text).unwrap_or_default();
            let deliveries: u64 = p
                .get(3)
                .and_then(text)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let Some(id) = id else { continue };
            last = Some(id);
            if deliveries < o.min_deliveries {
                continue;
            }
            let mut new_id = None;
            if !o.dry_run {
                let reason = format!(
                    "claimed by replayctl: pending on consumer {consumer} after {deliveries} deliveries"
                );
                let r = conn
                    .raw(
                        "claim to the DLQ",
                        redis::cmd("EVAL")
                            .arg(CLAIM)
                            .arg(2)
                            .arg(&o.stream)
                            .arg(&o.dlq)
                            .arg(&o.group)
                            .arg("replayctl-claim")
                            .arg(&idle)
                            .arg(id.to_string())
                            .arg(reason)
                            .arg(deliveries),
                    )
                    .await?;
                new_id = text(&r);
                if new_id.is_none() {
                    continue;
                }
            }
            moved.push(json!({
                "id": id.to_string(),
                "consumer": consumer,
                "deliveries": deliveries,
                "dlq_id": new_id,
            }));
        }
        match last {
            Some(l) => start = l.next().to_string(),
            None => break,
        }
        if items.len() < 500 {
            break;
        }
    }
    b.check(
        Check::new(CheckId::DlqClaimed, Status::Ok)
            .with_observed(moved.len())
            .with_message(format!(
                "{} {} entr{} pending ≥ {} deliveries and idle ≥ {} to {}",
                if o.dry_run { "would move" } else { "moved" },
                moved.len(),
                if moved.len() == 1 { "y" } else { "ies" },
                o.min_deliveries,
                gatehouse::duration::format_duration(o.min_idle),
                o.dlq
            )),
    );
    b.summary(format!(
        "{} / {}: {} {} entries to {}",
        o.stream,
        o.group,
        if o.dry_run { "would move" } else { "moved" },
        moved.len(),
        o.dlq
    ));
    b.data(json!({
        "stream": o.stream,
        "group": o.group,
        "dlq": o.dlq,
        "dry_run": o.dry_run,
        "moved": moved,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes_ignore_numbers_ids_and_quoted_values() {
        let a = error_class("sink: invalid input syntax for type json (22P02) at offset 3012");
        let b = error_class("sink: invalid input syntax for type json (22P02) at offset 17");
        assert_eq!(a, b);
        assert_eq!(
            error_class("Timeout after 3000ms talking to 10.0.0.7:5432"),
            error_class("timeout after 15ms talking to 10.1.2.3:6543")
        );
        assert_eq!(
            error_class("no tenant 'acme' for event 0f8c1e2a-1111-4222-8333-444455556666"),
            error_class("no tenant 'globex' for event 9a8c1e2a-1111-4222-8333-444455556666")
        );
        assert_eq!(error_class(""), "(no error recorded)");
        assert_eq!(
            error_class(
                "sink: new row for relation \"events_sink\" violates check constraint \"no_acme_yet\" (23514)"
            ),
            "sink: new row for relation \"events_sink\" violates check constraint \"no_acme_yet\" (23514)"
        );
    }
}
