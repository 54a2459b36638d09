//! Stream entries and ids: `ms-seq` ids (which are times), reading entries in pages with
//! `XRANGE`, and a time window given as RFC 3339 times or ids.

use std::fmt;

use redis::Value;

use crate::conn::Conn;
use crate::error::{Error, Result};

/// A stream entry id, `ms-seq`. Ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// `1700000000000-3`, or `1700000000000` (sequence 0).
    pub fn parse(s: &str) -> Option<StreamId> {
        let (ms, seq) = match s.split_once('-') {
            Some((ms, seq)) => (ms, seq),
            None => (s, "0"),
        };
        Some(StreamId {
            ms: ms.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }

    /// The next possible id (for an exclusive start without Redis 6.2's `(`).
    pub fn next(self) -> StreamId {
        match self.seq.checked_add(1) {
            Some(seq) => StreamId { ms: self.ms, seq },
            None => StreamId {
                ms: self.ms.saturating_add(1),
                seq: 0,
            },
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One entry: its id and its fields in order (values as bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: StreamId,
    pub fields: Vec<(String, Vec<u8>)>,
}

impl Entry {
    /// A field's value as text (lossy), or None.
    pub fn get(&self, name: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// Reads entries from an `XRANGE`/`XAUTOCLAIM`/`XREAD` entry list reply, moving the values
/// out of the reply (no copy of a payload).
pub fn parse_entries(v: Value) -> Vec<Entry> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(pair) = item else { continue };
        let mut pair = pair.into_iter();
        let (Some(id), Some(fields)) = (pair.next(), pair.next()) else {
            continue;
        };
        let Some(id) = text(&id).and_then(|s| StreamId::parse(&s)) else {
            continue;
        };
        let mut fs = Vec::new();
        if let Value::Array(kv) = fields {
            fs.reserve(kv.len() / 2);
            let mut kv = kv.into_iter();
            while let (Some(k), Some(v)) = (kv.next(), kv.next()) {
                if let (Some(k), Some(v)) = (text(&k), into_bytes(v)) {
                    fs.push((k, v));
                }
            }
        }
        out.push(Entry { id, fields: fs });
    }
    out
}

pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Okay => Some("OK".to_owned()),
        _ => None,
    }
}

fn into_bytes(v: Value) -> Option<Vec<u8>> {
    match v {
        Value::BulkString(b) => Some(b),
        other => text(&other).map(String::into_bytes),
    }
}

/// Entries with `from <= id <= to`, at most `count`.
pub async fn range(
    conn: &mut Conn,
    stream: &str,
    from: StreamId,
    to: StreamId,
    count: u32,
) -> Result<Vec<Entry>> {
    if from > to {
        return Ok(Vec::new());
    }
    let v = conn
        .raw(
            "XRANGE",
            redis::cmd("XRANGE")
                .arg(stream)
                .arg(from.to_string())
                .arg(to.to_string())
                .arg("COUNT")
                .arg(count),
        )
        .await?;
    Ok(parse_entries(v))
}

/// A window of a stream: ids from `from` to `to`, both inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: StreamId,
    pub to: StreamId,
}

impl Window {
    /// `--from`/`--to`: RFC 3339 times (to the millisecond) or stream ids; `to` as a time
    /// covers its whole millisecond. A backwards window is a usage error.
    pub fn parse(from: &str, to: &str) -> Result<Window> {
        let from_id = point("from", from, false)?;
        let to_id = point("to", to, true)?;
        if from_id > to_id {
            return Err(Error::Usage {
                flag: "from",
                value: from.to_owned(),
                message: format!("is after --to {to}; the window would be empty"),
            });
        }
        Ok(Window {
            from: from_id,
            to: to_id,
        })
    }
}

fn point(flag: &'static str, s: &str, end: bool) -> Result<StreamId> {
    if let Some(id) = s
        .bytes()
        .next()
        .filter(u8::is_ascii_digit)
        .and_then(|_| StreamId::parse(s))
    {
        if !s.contains('-') && end {
            return Ok(StreamId {
                ms: id.ms,
                seq: u64::MAX,
            });
        }
        return Ok(id);
    }
    let ms = parse_rfc3339_ms(s).ok_or_else(|| Error::Usage {
        flag,
        value: s.to_owned(),
        message:
            "expected an RFC 3339 time (2026-12-07T10:00:00Z) or a stream id (1700000000000-0)"
                .to_owned(),
    })?;
    Ok(if end {
        StreamId { ms, seq: u64::MAX }
    } else {
        StreamId { ms, seq: 0 }
    })
}

/// RFC 3339 to milliseconds since the epoch (fractions kept to the millisecond).
pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    let ts = gatehouse::time::Timestamp::parse(s).ok()?;
    u64::try_from(ts.unix_millis()).ok()
}

/// A millisecond timestamp as RFC 3339 with milliseconds.
pub fn ms_rfc3339(ms: u64) -> String {
    gatehouse::time::Timestamp::from_unix_millis(i64::try_from(ms).unwrap_or(i64::MAX))
        .to_rfc3339_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_order_and_step() {
        let a = StreamId::parse("1700000000000-3").expect("id");
        assert_eq!(a.to_string(), "1700000000000-3");
        assert!(a < StreamId::parse("1700000000001-0").expect("id"));
        assert_eq!(a.next().to_string(), "1700000000000-4");
        assert_eq!(StreamId::parse("x-1"), None);
    }

    #[test]
    fn windows_take_times_or_ids_and_refuse_backwards() {
        let w = Window::parse("2026-12-07T10:00:00Z", "2026-12-07T10:00:01.5Z").expect("w");
        assert_eq!(w.from.ms, 1_796_637_600_000);
        assert_eq!(w.to.ms, 1_796_637_601_500);
        assert_eq!(w.to.seq, u64::MAX);
        let e =
            Window::parse("2026-12-07T11:00:00Z", "2026-12-07T10:00:00Z").expect_err("backwards");
        assert!(e.to_string().contains("is after --to"), "{e}");
        assert!(Window::parse("yesterday", "1-0").is_err());
        let w = Window::parse("5-1", "7").expect("ids");
        assert_eq!(
            (w.from, w.to.ms, w.to.seq),
            (StreamId { ms: 5, seq: 1 }, 7, u64::MAX)
        );
    }
}
