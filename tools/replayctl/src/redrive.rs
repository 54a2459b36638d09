//! Moves dead-lettered entries back to a stream, each exactly once: one Lua script per entry
//! re-adds it (original fields, `origin_id` kept, `redriven_from` = its DLQ id) and deletes it
//! from the DLQ. Redis runs a script whole or not at all as far as any client can see, and
//! the script first checks the entry is still in the DLQ, so a crash or a lost reply at any
//! point neither loses nor doubles an entry: a re-run skips what already moved.

use std::time::{Duration, Instant};

use gatehouse::{Check, ReportBuilder, Section, Status};
use serde_json::json;

use crate::checks::CheckId;
use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::stream::{self, Entry, StreamId, text};

/// One `--filter`: FIELD=VALUE (equal) or FIELD~VALUE (contains).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Equals(String, String),
    Contains(String, String),
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter> {
        let bad = || Error::Usage {
            flag: "filter",
            value: s.to_owned(),
            message: "expected FIELD=VALUE or FIELD~VALUE (e.g. tenant=acme, error~timeout)"
                .to_owned(),
        };
        let at = s.find(['=', '~']).ok_or_else(bad)?;
        let (field, value) = (&s[..at], &s[at + 1..]);
        if field.is_empty() {
            return Err(bad());
        }
        Ok(if s.as_bytes()[at] == b'=' {
            Filter::Equals(field.to_owned(), value.to_owned())
        } else {
            Filter::Contains(field.to_owned(), value.to_owned())
        })
    }

    fn matches(&self, e: &Entry) -> bool {
        match self {
            Filter::Equals(f, v) => e.get(f).as_deref() == Some(v.as_str()),
            Filter::Contains(f, v) => e
                .get(f)
                .is_some_and(|x| x.to_lowercase().contains(&v.to_lowercase())),
        }
    }
}

/// A checked `redrive`.
#[derive(Debug, Clone)]
pub struct Options {
    pub dlq: String,
    pub to: String,
    pub filters: Vec<Filter>,
    pub rate: Option<f64>,
    pub limit: Option<u64>,
    pub dry_run: bool,
}

/// KEYS[1] the DLQ, KEYS[2] the target stream, ARGV[1] the DLQ entry id. Returns the new id,
/// or false when the entry is no longer in the DLQ (already moved by an earlier run).
const REDRIVE: &str = r"
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return false end
local f = e[1][2]
local out = {}
for i = 1, #f, 2 do
  local k = f[i]
  if k ~= 'error' and k ~= 'attempts' and k ~= 'redriven_from' then
    out[#out + 1] = k
    out[#out + 1] = f[i + 1]
  end
end
out[#out + 1] = 'redriven_from'
out[#out + 1] = ARGV[1]
local id = redis.call('XADD', KEYS[2], '*', unpack(out))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
";

pub async fn redrive(conn: &mut Conn, o: &Options, b: &mut ReportBuilder) -> Result<()> {
    // A DLQ that does not exist yet has nothing to move; the loop below finds no entry.
    conn.dlq_exists(&o.dlq).await?;
    if conn.is_cluster() && conn.slot(&o.dlq).await? != conn.slot(&o.to).await? {
        return Err(Error::CrossSlot {
            server: conn.server().to_owned(),
            stream: o.to.clone(),
            dlq: o.dlq.clone(),
        });
    }
    let started = Instant::now();
    let mut moved: Vec<serde_json::Value> = Vec::new();
    let mut skipped = 0u64;
    let mut selected = 0u64;
    let mut s = Section::new(
        format!(
            "{} {} → {}",
            if o.dry_run { "Would move" } else { "Moved" },
            o.dlq,
            o.to
        ),
        &["dlq id", "new id", "origin id", "tenant", "error"],
    )
    .with_max_rows(50);
    let mut from = StreamId::MIN;
    'pages: loop {
        let page = stream::range(conn, &o.dlq, from, StreamId::MAX, 500).await?;
        let Some(last) = page.last().map(|e| e.id) else {
            break;
        };
        from = last.next();
        for e in page {
            if !o.filters.iter().all(|f| f.matches(&e)) {
                continue;
            }
            if o.limit.is_some_and(|l| selected >= l) {
                break 'pages;
            }
            selected += 1;
            if let Some(rate) = o.rate {
                let due = Duration::from_secs_f64((selected - 1) as f64 / rate);
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    tokio::time::sleep(wait).await;
                }
            }
            let new_id = if o.dry_run {
                None
            } else {
                crate::fault::point("redrive-before-move");
                let r = conn
                    .raw(
                        "redrive one entry",
                        redis::cmd("EVAL")
                            .arg(REDRIVE)
                            .arg(2)
                            .arg(&o.dlq)
                            .arg(&o.to)
                            .arg(e.id.to_string()),
                    )
                    .await?;
                crate::fault::point("redrive-after-move");
                match text(&r) {
                    Some(id) => Some(id),
                    None => {
                        skipped += 1;
                        continue;
                    }
                }
            };
            let tenant = e.get("tenant").unwrap_or_default();
            let error = e.get("error").unwrap_or_default();
            let origin = e.get("origin_id");
            s.row(vec![
                e.id.to_string(),
                new_id.clone().unwrap_or_else(|| "-".to_owned()),
                origin.clone().unwrap_or_default(),
                tenant.clone(),
                error.chars().take(60).collect(),
            ]);
            moved.push(json!({
                "dlq_id": e.id.to_string(),
                "new_id": new_id,
                "origin_id": origin,
                "event_id": e.get("event_id"),
                "tenant": tenant,
                "error": error,
            }));
        }
    }
    b.section(s);
    let verb = if o.dry_run { "would move" } else { "moved" };
    b.check(
        Check::new(CheckId::Redriven, Status::Ok)
            .with_observed(moved.len())
            .with_message(format!(
                "{verb} {} entr{} from {} to {}{}",
                moved.len(),
                if moved.len() == 1 { "y" } else { "ies" },
                o.dlq,
                o.to,
                if skipped > 0 {
                    format!("; {skipped} had already moved (an earlier run) and were skipped")
                } else {
                    String::new()
                }
            )),
    );
    b.summary(format!(
        "{}: {verb} {} entries to {}",
        o.dlq,
        moved.len(),
        o.to
    ));
    b.data(json!({
        "dlq": o.dlq,
        "to": o.to,
        "dry_run": o.dry_run,
        "filters": o.filters.iter().map(|f| match f {
            Filter::Equals(k, v) => format!("{k}={v}"),
            Filter::Contains(k, v) => format!("{k}~{v}"),
        }).collect::<Vec<_>>(),
        "selected": selected,
        "skipped": skipped,
        "moved": moved,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_and_match() {
        let e = Entry {
            id: StreamId::MIN,
            fields: vec![
                ("tenant".into(), b"acme".to_vec()),
                ("error".into(), b"Timeout after 3s".to_vec()),
            ],
        };
        assert!(Filter::parse("tenant=acme").expect("f").matches(&e));
        assert!(!Filter::parse("tenant=acm").expect("f").matches(&e));
        assert!(Filter::parse("error~timeout").expect("f").matches(&e));
        assert!(Filter::parse("tenant").is_err());
        assert!(Filter::parse("=x").is_err());
    }
}
