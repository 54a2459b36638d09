//! The ingest contract: what one entry of the `events` stream holds, how the API publishes
//! it, and how stream ids order. replayctl relies on these shapes (README, "Sample service").
//!
//! Entry fields: `event_id` (UUID v4, the idempotency key), `tenant`, `type`
//! (`customer.created`, `order.created`), `occurred_at` (RFC 3339, UTC, milliseconds) and
//! `payload` (a JSON object as text).

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use redis::AsyncCommands as _;
use serde::Serialize;

/// One event, as published and as delivered to realtime subscribers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// The stream entry id (`1700000000000-0`); not a field of the entry itself.
    pub id: String,
    pub event_id: String,
    pub tenant: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: String,
    /// The payload as published: JSON text (poison events carry truncated JSON).
    #[serde(skip)]
    pub payload: String,
}

impl Event {
    /// Reads an entry's fields; missing ones are empty strings (the worker then fails them).
    pub fn from_fields(id: String, map: &HashMap<String, redis::Value>) -> Event {
        let get = |k: &str| -> String {
            map.get(k)
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                .unwrap_or_default()
        };
        Event {
            id,
            event_id: get("event_id"),
            tenant: get("tenant"),
            kind: get("type"),
            occurred_at: get("occurred_at"),
            payload: get("payload"),
        }
    }

    /// The JSON a realtime subscriber receives: the fields plus `id`, with `payload` parsed
    /// (or, when it is not JSON, as the string it is).
    pub fn to_json(&self) -> String {
        let payload = serde_json::from_str::<serde_json::Value>(&self.payload)
            .unwrap_or_else(|_| serde_json::Value::String(self.payload.clone()));
        serde_json::json!({
            "id": self.id,
            "event_id": self.event_id,
            "tenant": self.tenant,
            "type": self.kind,
            "occurred_at": self.occurred_at,
            "payload": payload,
        })
        .to_string()
    }
}

/// A random (v4) UUID in its canonical text form.
pub fn new_uuid() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // The OS's generator is unavailable: still unique enough for an idempotency key.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = (nanos ^ u128::from(fastrand::u64(..)) << 64).to_be_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Now, as `2026-12-07T12:00:00.123Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let whole = gatehouse::time::Timestamp::from_unix(secs).to_rfc3339();
    format!("{}.{:03}Z", whole.trim_end_matches('Z'), d.subsec_millis())
}

/// Publishes one event on `stream`: `XADD stream * event_id … payload …`. A poison event
/// gets its payload cut in half, so it is no longer JSON and the sink rejects it every time.
/// Returns the entry id.
pub async fn publish(
    redis: &mut redis::aio::ConnectionManager,
    stream: &str,
    tenant: &str,
    kind: &str,
    payload: &serde_json::Value,
    poison: bool,
) -> redis::RedisResult<String> {
    let mut payload = payload.to_string();
    if poison {
        let mut cut = payload.len() / 2;
        while !payload.is_char_boundary(cut) {
            cut -= 1;
        }
        payload.truncate(cut);
    }
    let event_id = new_uuid();
    let occurred_at = now_rfc3339();
    let fields: [(&str, &str); 5] = [
        ("event_id", &event_id),
        ("tenant", tenant),
        ("type", kind),
        ("occurred_at", &occurred_at),
        ("payload", &payload),
    ];
    redis.xadd(stream, "*", &fields).await
}

/// A stream entry id (`ms-seq`) as a comparable pair; `None` if it is not one.
pub fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = match id.split_once('-') {
        Some((ms, seq)) => (ms, seq),
        None => (id, "0"),
    };
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_v4_and_distinct() {
        let a = new_uuid();
        let b = new_uuid();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn stream_ids_order_numerically() {
        assert!(parse_id("10-0") > parse_id("9-5"));
        assert!(parse_id("10-10") > parse_id("10-9"));
        assert_eq!(parse_id("12"), Some((12, 0)));
        assert_eq!(parse_id("x-1"), None);
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t = now_rfc3339();
        assert_eq!(t.len(), "2026-12-07T12:00:00.123Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }
}
