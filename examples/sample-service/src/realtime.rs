//! Realtime delivery of the ingest stream: `GET /events/stream` (Server-Sent Events) and
//! `GET /events/ws` (WebSocket), both for one tenant, in stream order.
//!
//! One task tails the stream (`XREAD BLOCK` on its own connection) and broadcasts each
//! entry. A subscriber subscribes to that broadcast *first*, then, when it resumes
//! (`Last-Event-ID`, or `?since=` on either transport), reads the backlog after that id with
//! `XRANGE`; afterwards it skips every broadcast entry at or before the last id it has seen.
//! So a resume loses nothing and repeats nothing, and a subscriber that falls behind the
//! broadcast catches up from the stream the same way.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use redis::streams::{StreamRangeReply, StreamReadReply};
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};

use crate::api::{ApiError, Tenant};
use crate::events::{Event, parse_id};
use crate::state::AppState;

/// How many entries the broadcast buffers for slow subscribers before they must catch up.
const BROADCAST_CAPACITY: usize = 4096;
/// Entries per XRANGE page when catching up.
const PAGE: usize = 512;

#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(BROADCAST_CAPACITY).0,
        }
    }
}

impl Hub {
    /// The stream's last entry id now (`0-0` when empty): where [`Hub::tail`] starts. Read
    /// before the API listens, so no entry published through it is missed by the tail.
    pub async fn start_id(
        conn: &mut redis::aio::ConnectionManager,
        stream: &str,
    ) -> redis::RedisResult<String> {
        let r: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(conn)
            .await?;
        Ok(r.ids
            .first()
            .map_or_else(|| "0-0".to_owned(), |e| e.id.clone()))
    }

    /// Tails `stream` after entry `last` until shutdown, broadcasting every new entry.
    pub async fn tail(
        &self,
        mut conn: redis::aio::ConnectionManager,
        stream: String,
        mut last: String,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut cmd = redis::cmd("XREAD");
            cmd.arg("COUNT").arg(256).arg("BLOCK").arg(1000);
            cmd.arg("STREAMS").arg(&stream).arg(&last);
            let r: redis::RedisResult<Option<StreamReadReply>> = tokio::select! {
                r = cmd.query_async(&mut conn) => r,
                _ = shutdown.changed() => return,
            };
            match r {
                Ok(Some(reply)) => {
                    for key in reply.keys {
                        for e in key.ids {
                            last = e.id.clone();
                            let ev = Event::from_fields(e.id, &e.map);
                            // No subscribers is fine.
                            let _ = self.tx.send(Arc::new(ev));
                        }
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!("realtime: XREAD: {e}");
                    if sleep_or_shutdown(&mut shutdown, Duration::from_millis(500)).await {
                        return;
                    }
                }
            }
        }
    }
}

/// Sleeps `d`; true if shutdown was requested meanwhile.
async fn sleep_or_shutdown(shutdown: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        () = tokio::time::sleep(d) => *shutdown.borrow(),
        _ = shutdown.changed() => true,
    }
}

/// Feeds one subscriber: `tenant`'s events after `since` (or from now), in stream order,
/// into `out`, until `out` closes or shutdown.
async fn feed(
    st: AppState,
    mut rx: broadcast::Receiver<Arc<Event>>,
    tenant: String,
    since: Option<String>,
    out: mpsc::Sender<Arc<Event>>,
) {
    let mut shutdown = st.shutdown.clone();
    let mut cursor: Option<(u64, u64)> = None;
    if let Some(since) = since {
        cursor = parse_id(&since);
        if catch_up(&st, &tenant, &mut cursor, &out).await.is_err() {
            return;
        }
    }
    loop {
        let r = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.changed() => return,
            () = out.closed() => return,
        };
        match r {
            Ok(ev) => {
                let id = parse_id(&ev.id);
                if cursor.is_some() && id <= cursor {
                    continue;
                }
                cursor = id;
                if ev.tenant == tenant && deliver(&st, &out, ev).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(
                    "realtime: a subscriber lagged {n} entries; catching up from the stream"
                );
                if cursor.is_some() && catch_up(&st, &tenant, &mut cursor, &out).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Hands one event to the subscriber's transport, after the `delivery_delay` knob's hold (a
/// slow consumer: events queue behind each other, so the lag grows along the stream).
async fn deliver(st: &AppState, out: &mpsc::Sender<Arc<Event>>, ev: Arc<Event>) -> Result<(), ()> {
    let hold = st.faults.delivery_delay();
    if !hold.is_zero() {
        tokio::time::sleep(hold).await;
    }
    out.send(ev).await.map_err(|_| ())
}

/// Sends `tenant`'s entries after `cursor` from the stream itself, advancing `cursor`.
async fn catch_up(
    st: &AppState,
    tenant: &str,
    cursor: &mut Option<(u64, u64)>,
    out: &mpsc::Sender<Arc<Event>>,
) -> Result<(), ()> {
    let mut redis = st.redis.clone();
    loop {
        let start = match cursor {
            Some((ms, seq)) => format!("({ms}-{seq}"),
            None => "-".to_owned(),
        };
        let page: StreamRangeReply = match redis::cmd("XRANGE")
            .arg(&st.settings.stream)
            .arg(&start)
            .arg("+")
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut redis)
            .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("realtime: XRANGE: {e}");
                return Err(());
            }
        };
        if page.ids.is_empty() {
            return Ok(());
        }
        for e in page.ids {
            *cursor = parse_id(&e.id);
            let ev = Event::from_fields(e.id, &e.map);
            if ev.tenant == tenant {
                deliver(st, out, Arc::new(ev)).await?;
            }
        }
    }
}

/// Where a subscription starts: after `since`, or — for "from now" — after the stream's
/// last entry *before* subscribing, so that the backlog read after subscribing covers
/// anything the broadcast had already passed on, and a subscriber that lags behind the
/// broadcast can always catch up from the stream.
async fn start_point(st: &AppState, since: Option<String>) -> Option<String> {
    if since.is_some() {
        return since;
    }
    let mut redis = st.redis.clone();
    match Hub::start_id(&mut redis, &st.settings.stream).await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::warn!("realtime: reading the stream's last id: {e}");
            None
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SinceQuery {
    pub since: Option<String>,
}

fn check_since(since: Option<String>) -> Result<Option<String>, ApiError> {
    match since {
        Some(s) if parse_id(&s).is_none() => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("{s:?} is not a stream id (e.g. 1700000000000-0)"),
        )),
        other => Ok(other),
    }
}

/// `GET /events/stream`: Server-Sent Events, `id:` the stream id, `event:` the type,
/// `data:` the event as JSON. Resumes after `Last-Event-ID` (or `?since=`).
pub async fn sse(
    State(st): State<AppState>,
    Tenant(tenant): Tenant,
    headers: HeaderMap,
    Query(q): Query<SinceQuery>,
) -> Result<Response, ApiError> {
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let since = start_point(&st, check_since(last.or(q.since))?).await;
    // Subscribed before the response head goes out: a client that has seen the head misses
    // nothing published after it.
    let live = st.hub.tx.subscribe();
    let (tx, mut rx) = mpsc::channel::<Arc<Event>>(1024);
    tokio::spawn(feed(st.clone(), live, tenant, since, tx));
    let metrics = Arc::clone(&st.metrics);
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|o| {
            o.map(|ev| {
                metrics.delivered("sse");
                Ok::<_, Infallible>(
                    SseEvent::default()
                        .id(ev.id.clone())
                        .event(ev.kind.clone())
                        .data(ev.to_json()),
                )
            })
        })
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// `GET /events/ws`: the same events as WebSocket text messages (the JSON of `data:`),
/// resuming after `?since=`.
pub async fn ws(
    State(st): State<AppState>,
    Tenant(tenant): Tenant,
    Query(q): Query<SinceQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let since = start_point(&st, check_since(q.since)?).await;
    // Subscribed before the handshake completes, as for SSE.
    let live = st.hub.tx.subscribe();
    Ok(upgrade.on_upgrade(move |socket| ws_session(st, live, tenant, since, socket)))
}

async fn ws_session(
    st: AppState,
    live: broadcast::Receiver<Arc<Event>>,
    tenant: String,
    since: Option<String>,
    mut socket: WebSocket,
) {
    let (tx, mut rx) = mpsc::channel::<Arc<Event>>(1024);
    tokio::spawn(feed(st.clone(), live, tenant, since, tx));
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(ev) => {
                    if socket.send(Message::Text(ev.to_json().into())).await.is_err() {
                        return;
                    }
                    st.metrics.delivered("ws");
                }
                None => {
                    // The feed ended (shutdown): say goodbye properly.
                    let _ = socket.send(Message::Close(None)).await;
                    return;
                }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
