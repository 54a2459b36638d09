//! Owns realtime steps: subscribe over SSE (`text/event-stream` read from the chunked body)
//! or WebSocket (tungstenite, sync), trigger N events with an HTTP step, measure each
//! event's delivery lag (from its trigger request's start to its arrival), check stream
//! order, then optionally disconnect, trigger more, and resume from the last event id
//! (`Last-Event-ID` for SSE, `?since=` for WebSocket) expecting exactly the missed events.
//!
//! A reader thread owns the subscription and hands events over a channel; its reads wait
//! at most `POLL` so it notices when to stop. Events are matched to triggers by position:
//! a realtime step subscribes with its own headers (give it a tenant of its own, e.g.
//! `X-Tenant: rt-{{run_id}}`), so every event on it is one of its triggers'.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use gatehouse::{Check, Location, Status};
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::error::Error;
use crate::golden::{GoldenPath, Plan, Realtime, Step, value_text};
use crate::http::{self, Failure, Target};
use crate::probe;

const POLL: Duration = Duration::from_millis(200);
/// After the expected events arrived on a resume, how long to wait for unexpected extras
/// (duplicates).
const GRACE: Duration = Duration::from_millis(500);

struct Event {
    id: String,
    at: Instant,
}

enum Feed {
    Event(Event),
    /// The subscription ended or broke.
    End(String),
}

struct Subscription {
    rx: mpsc::Receiver<Feed>,
    stop: Arc<AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

fn stream_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

/// What subscribing failed with: unreachable (an error of the run) or a refusal (a check).
enum SubscribeError {
    Unreachable(String),
    Refused(String),
}

fn subscribe(
    plan: &Plan,
    s: &Step,
    rt: &Realtime,
    text: &BTreeMap<String, String>,
    since: Option<&str>,
) -> Result<Subscription, SubscribeError> {
    let mut path = s.path.fill(text);
    let ctx = gatehouse::trace::current();
    let span: [u8; 8] = gatehouse::trace::random_nonzero();
    let traceparent = format!(
        "00-{}-{}-{:02x}",
        ctx.trace_id_hex(),
        gatehouse::hash::hex(&span),
        u8::from(ctx.sampled)
    );
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in plan.headers.iter().chain(&rt.headers) {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(k));
        headers.push((k.clone(), v.fill(text)));
    }
    headers.push(("traceparent".into(), traceparent));
    if let Some(id) = since {
        if rt.websocket {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str("since=");
            path.push_str(&gatehouse::percent::encode(id));
        } else {
            headers.push(("Last-Event-ID".into(), id.to_owned()));
        }
    }
    let target = Target {
        path: format!("{}{}", plan.base.path.trim_end_matches('/'), path),
        ..plan.base.clone()
    };
    let conn = http::connect(&target, s.timeout).map_err(|f| match f {
        Failure::Unreachable(m) => SubscribeError::Unreachable(m),
        Failure::NoAnswer { message, .. } => SubscribeError::Refused(message),
    })?;
    let (tx, rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let reader = if rt.websocket {
        ws_reader(conn.stream, &target, &headers, tx, stop2)?
    } else {
        sse_reader(conn.stream, &target, &headers, s.timeout, tx, stop2)?
    };
    Ok(Subscription {
        rx,
        stop,
        reader: Some(reader),
    })
}

fn sse_reader(
    stream: Box<dyn http::Stream>,
    target: &Target,
    headers: &[(String, String)],
    timeout: Duration,
    tx: mpsc::Sender<Feed>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, SubscribeError> {
    let mut hs = headers.to_vec();
    hs.push(("Accept".into(), "text/event-stream".into()));
    let req = http::Request {
        method: "GET",
        target,
        headers: &hs,
        body: None,
        timeout,
    };
    let mut reader = http::write_request(stream, &req).map_err(SubscribeError::Refused)?;
    let (status, head) = http::read_head(&mut reader)
        .map_err(|e| SubscribeError::Refused(format!("subscribing: {e}")))?;
    if status != 200 {
        return Err(SubscribeError::Refused(format!(
            "GET {} answered {status}, not an event stream",
            target.path
        )));
    }
    let chunked = head
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    reader.streaming(POLL);
    std::thread::Builder::new()
        .name("sse".into())
        .spawn(move || {
            let mut text = String::new();
            while !stop.load(Ordering::Relaxed) {
                match reader.next_bytes(chunked) {
                    Ok(Some(bytes)) => {
                        text.push_str(&String::from_utf8_lossy(&bytes));
                        let text_now = text.replace("\r\n", "\n");
                        let mut rest = text_now.as_str();
                        while let Some(i) = rest.find("\n\n") {
                            let block = &rest[..i];
                            rest = &rest[i + 2..];
                            let mut id = None;
                            let mut data = String::new();
                            for line in block.lines() {
                                if let Some(v) = line.strip_prefix("id:") {
                                    id = Some(v.trim().to_owned());
                                } else if let Some(v) = line.strip_prefix("data:") {
                                    data.push_str(v.strip_prefix(' ').unwrap_or(v));
                                }
                            }
                            let id = id.or_else(|| {
                                serde_json::from_str::<Value>(&data)
                                    .ok()
                                    .and_then(|v| v["id"].as_str().map(str::to_owned))
                            });
                            if let Some(id) = id
                                && tx
                                    .send(Feed::Event(Event {
                                        id,
                                        at: Instant::now(),
                                    }))
                                    .is_err()
                            {
                                return;
                            }
                        }
                        text = rest.to_owned();
                    }
                    Ok(None) => {
                        let _ = tx.send(Feed::End("the event stream ended".into()));
                        return;
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => {
                        let _ = tx.send(Feed::End(format!("the event stream broke: {e}")));
                        return;
                    }
                }
            }
        })
        .map_err(|e| SubscribeError::Refused(format!("cannot start the reader: {e}")))
}

fn ws_reader(
    stream: Box<dyn http::Stream>,
    target: &Target,
    headers: &[(String, String)],
    tx: mpsc::Sender<Feed>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, SubscribeError> {
    let scheme = if target.tls { "wss" } else { "ws" };
    let host = if target.host.contains(':') {
        format!("[{}]", target.host)
    } else {
        target.host.clone()
    };
    let uri: tungstenite::http::Uri = format!("{scheme}://{host}:{}{}", target.port, target.path)
        .parse()
        .map_err(|e| SubscribeError::Refused(format!("WebSocket URL: {e}")))?;
    let mut req = tungstenite::ClientRequestBuilder::new(uri);
    for (k, v) in headers {
        req = req.with_header(k.clone(), v.clone());
    }
    // The handshake runs under the connection's deadline; reads poll afterwards.
    let (mut socket, _) = match tungstenite::client::client(req, stream) {
        Ok(ok) => ok,
        Err(e) => return Err(SubscribeError::Refused(format!("WebSocket handshake: {e}"))),
    };
    socket.get_mut().streaming(POLL);
    std::thread::Builder::new()
        .name("ws".into())
        .spawn(move || {
            loop {
                if stop.load(Ordering::Relaxed) {
                    let _ = socket.close(None);
                    let _ = socket.flush();
                    return;
                }
                match socket.read() {
                    Ok(tungstenite::Message::Text(t)) => {
                        let id = serde_json::from_str::<Value>(t.as_str())
                            .ok()
                            .and_then(|v| v["id"].as_str().map(str::to_owned));
                        if let Some(id) = id
                            && tx
                                .send(Feed::Event(Event {
                                    id,
                                    at: Instant::now(),
                                }))
                                .is_err()
                        {
                            return;
                        }
                    }
                    Ok(tungstenite::Message::Close(_)) => {
                        let _ = tx.send(Feed::End("the server closed the WebSocket".into()));
                        return;
                    }
                    Ok(_) => {}
                    Err(tungstenite::Error::Io(e))
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(e) => {
                        let _ = tx.send(Feed::End(format!("the WebSocket broke: {e}")));
                        return;
                    }
                }
            }
        })
        .map_err(|e| SubscribeError::Refused(format!("cannot start the reader: {e}")))
}

/// Collects events until `want` arrived (then waits `grace` more for extras) or `until`.
fn collect(
    sub: &Subscription,
    want: usize,
    until: Instant,
    grace: Duration,
    out: &mut Vec<Event>,
) -> Option<String> {
    let mut stop_at = until;
    let start_len = out.len();
    loop {
        let now = Instant::now();
        if now >= stop_at {
            return None;
        }
        match sub.rx.recv_timeout(stop_at - now) {
            Ok(Feed::Event(e)) => {
                out.push(e);
                if out.len() - start_len >= want {
                    stop_at = stop_at.min(Instant::now() + grace);
                }
            }
            Ok(Feed::End(why)) => return Some(why),
            Err(mpsc::RecvTimeoutError::Timeout) => return None,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Some("the reader stopped".into()),
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Runs `n` triggers numbered from `first`; their start instants, or the failing checks.
fn trigger(
    plan: &Plan,
    p: &GoldenPath,
    rt: &Realtime,
    vars: &BTreeMap<String, Value>,
    first: u32,
    n: u32,
) -> Result<Result<Vec<Instant>, Vec<Check>>, Error> {
    let mut starts = Vec::new();
    for i in first..first + n {
        let mut v = vars.clone();
        v.insert("n".into(), json!(i));
        starts.push(Instant::now());
        let attempt = probe::send(plan, &rt.trigger, &v);
        if let Err(Failure::Unreachable(message)) = &attempt.outcome {
            return Err(Error::Unreachable {
                location: Location::line(&plan.file, rt.trigger.line).to_string(),
                path: p.name.clone(),
                step: rt.trigger.name.clone(),
                url: gatehouse::redact::redact(&attempt.url).into_owned(),
                message: message.clone(),
            });
        }
        let (checks, _) = probe::judge(plan, p, &rt.trigger, &attempt, &v);
        if checks.iter().any(|c| c.result == Status::Fail) {
            return Ok(Err(checks
                .into_iter()
                .filter(|c| c.result == Status::Fail)
                .collect()));
        }
    }
    Ok(Ok(starts))
}

/// Runs one realtime step: its checks and its data.
pub(crate) fn run(
    plan: &Plan,
    p: &GoldenPath,
    s: &Step,
    rt: &Realtime,
    vars: &BTreeMap<String, Value>,
) -> Result<(Vec<Check>, Value), Error> {
    let here = Location::line(&plan.file, s.line);
    let who = format!("{} / {}", p.name, s.name);
    let text: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect();
    let transport = if rt.websocket { "websocket" } else { "sse" };
    let unreachable = |message: String| Error::Unreachable {
        location: here.to_string(),
        path: p.name.clone(),
        step: s.name.clone(),
        url: gatehouse::redact::redact(&format!("{}{}", plan.base_url, s.path.fill(&text)))
            .into_owned(),
        message,
    };
    let mut checks = Vec::new();
    let refused = |m: String| {
        (
            vec![
                Check::fail(CheckId::RealtimeDelivery, format!("{who}: {m}"))
                    .with_location(here.clone()),
            ],
            json!({"transport": transport, "events": rt.events, "received": 0}),
        )
    };
    let sub = match subscribe(plan, s, rt, &text, None) {
        Ok(sub) => sub,
        Err(SubscribeError::Unreachable(m)) => return Err(unreachable(m)),
        Err(SubscribeError::Refused(m)) => return Ok(refused(m)),
    };
    let starts = match trigger(plan, p, rt, vars, 1, rt.events)? {
        Ok(s) => s,
        Err(failed) => {
            return Ok((
                failed,
                json!({"transport": transport, "events": rt.events, "received": 0}),
            ));
        }
    };
    let mut got = Vec::new();
    let ended = collect(
        &sub,
        starts.len(),
        Instant::now() + rt.timeout,
        Duration::ZERO,
        &mut got,
    );
    let received = got.len();
    let complete = received >= starts.len();
    checks.push(
        Check::new(
            CheckId::RealtimeDelivery,
            if complete { Status::Ok } else { Status::Fail },
        )
        .with_observed(received)
        .with_limit(starts.len())
        .with_message(format!(
            "{who}: {received} of {} events over {transport} within {}{}",
            starts.len(),
            gatehouse::duration::format_duration(rt.timeout),
            ended.map(|w| format!(" ({w})")).unwrap_or_default()
        ))
        .with_location(here.clone()),
    );
    let ids: Vec<Option<(u64, u64)>> = got.iter().map(|e| stream_id(&e.id)).collect();
    let ordered = ids.iter().all(Option::is_some) && ids.windows(2).all(|w| w[0] < w[1]);
    checks.push(
        Check::new(
            CheckId::RealtimeOrder,
            if ordered { Status::Ok } else { Status::Fail },
        )
        .with_message(format!(
            "{who}: {} events {} stream order",
            got.len(),
            if ordered { "in" } else { "NOT in" }
        ))
        .with_location(here.clone()),
    );
    let mut lags: Vec<f64> = got
        .iter()
        .zip(&starts)
        .map(|(e, t)| (e.at.saturating_duration_since(*t).as_secs_f64() * 1e6).round() / 1e3)
        .collect();
    lags.sort_by(f64::total_cmp);
    let stat = |k: &str| match k {
        "p50" => percentile(&lags, 0.50),
        "p95" => percentile(&lags, 0.95),
        "p99" => percentile(&lags, 0.99),
        _ => lags.last().copied().unwrap_or(0.0),
    };
    for (k, budget) in &rt.lag {
        let limit = budget.as_secs_f64() * 1e3;
        let c = if lags.is_empty() {
            Check::skip(
                CheckId::RealtimeLag,
                format!("{who}: no event arrived to measure"),
            )
        } else {
            Check::at_most(CheckId::RealtimeLag, stat(k), limit).with_message(format!(
                "{who}: {k} delivery lag {:.1} ms over {} events, budget {}",
                stat(k),
                lags.len(),
                gatehouse::duration::format_duration(*budget)
            ))
        };
        checks.push(c.with_location(here.clone()));
    }
    let mut data = json!({
        "transport": transport,
        "events": rt.events,
        "received": received,
        "lag_ms": {"p50": stat("p50"), "p95": stat("p95"), "max": stat("max")},
        "samples_ms": lags,
    });
    if rt.resume > 0 {
        let last = got.last().map(|e| e.id.clone());
        drop(sub);
        let Some(last) = last else {
            checks.push(
                Check::skip(
                    CheckId::RealtimeResume,
                    format!("{who}: no event to resume after"),
                )
                .with_location(here.clone()),
            );
            return Ok((checks, data));
        };
        if let Err(failed) = trigger(plan, p, rt, vars, rt.events + 1, rt.resume)? {
            checks.extend(failed);
            return Ok((checks, data));
        }
        let sub = match subscribe(plan, s, rt, &text, Some(&last)) {
            Ok(sub) => sub,
            Err(SubscribeError::Unreachable(m)) => return Err(unreachable(m)),
            Err(SubscribeError::Refused(m)) => {
                checks.push(
                    Check::fail(CheckId::RealtimeResume, format!("{who}: resuming: {m}"))
                        .with_location(here.clone()),
                );
                return Ok((checks, data));
            }
        };
        let mut again = Vec::new();
        collect(
            &sub,
            rt.resume as usize,
            Instant::now() + rt.timeout,
            GRACE,
            &mut again,
        );
        drop(sub);
        let before: BTreeSet<&str> = got.iter().map(|e| e.id.as_str()).collect();
        let mut seen = BTreeSet::new();
        let duplicates = again
            .iter()
            .filter(|e| before.contains(e.id.as_str()) || !seen.insert(e.id.as_str()))
            .count();
        let new = again.len() - duplicates;
        let lost = (rt.resume as usize).saturating_sub(new);
        let extra = new.saturating_sub(rt.resume as usize);
        let ok = duplicates == 0 && lost == 0 && extra == 0;
        checks.push(
            Check::new(CheckId::RealtimeResume, if ok { Status::Ok } else { Status::Fail })
                .with_message(format!(
                    "{who}: resumed after {last}: {} of {} missed events, {duplicates} duplicate{}, {lost} lost",
                    new.min(rt.resume as usize),
                    rt.resume,
                    if duplicates == 1 { "" } else { "s" }
                ))
                .with_location(here.clone()),
        );
        data["resume"] = json!({
            "after": last, "triggered": rt.resume, "received": again.len(),
            "duplicates": duplicates, "lost": lost,
        });
    }
    Ok((checks, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[3.0], 0.95), 3.0);
        assert_eq!(stream_id("1700000000000-3"), Some((1_700_000_000_000, 3)));
        assert!(stream_id("x").is_none());
    }
}
