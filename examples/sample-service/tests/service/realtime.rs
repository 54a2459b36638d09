//! SSE and WebSocket delivery: per tenant, in stream order, and a resume after
//! `Last-Event-ID` / `since` that loses nothing and repeats nothing, also while events keep
//! arriving during the reconnect.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::{Client, Env, PATIENCE, place_order};

/// A Server-Sent Events subscription over a raw HTTP/1.0 connection (no chunking: the
/// bytes after the head are the event stream).
struct Sse {
    reader: BufReader<TcpStream>,
}

impl Sse {
    fn open(port: u16, tenant: &str, last_event_id: Option<&str>) -> Sse {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
        write!(
            s,
            "GET /events/stream HTTP/1.0\r\nX-Tenant: {tenant}\r\n{resume}\r\n"
        )
        .expect("write");
        let mut reader = BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(status.contains(" 200 "), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header");
            if line.trim().is_empty() {
                break;
            }
        }
        Sse { reader }
    }

    /// The next event: (id, data as JSON). Panics after PATIENCE without one.
    fn next(&mut self) -> (String, Value) {
        let (mut id, mut data) = (None, None);
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .expect("an event within the patience");
            assert!(n > 0, "the stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if let (Some(id), Some(data)) = (id.take(), data.take()) {
                    return (id, data);
                }
                continue;
            }
            if let Some(v) = line.strip_prefix("id:") {
                id = Some(v.trim().to_owned());
            } else if let Some(v) = line.strip_prefix("data:") {
                data = Some(serde_json::from_str(v.trim()).expect("data is JSON"));
            }
        }
    }
}

type Ws = tungstenite::WebSocket<TcpStream>;

fn ws_open(port: u16, query: &str) -> Ws {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(PATIENCE)).expect("timeout");
    let (ws, resp) = tungstenite::client(format!("ws://127.0.0.1:{port}/events/ws?{query}"), s)
        .expect("websocket handshake");
    assert_eq!(resp.status().as_u16(), 101);
    ws
}

fn ws_next(ws: &mut Ws) -> Value {
    loop {
        match ws.read().expect("a message within the patience") {
            tungstenite::Message::Text(t) => {
                return serde_json::from_str(t.as_str()).expect("JSON");
            }
            tungstenite::Message::Close(_) => panic!("closed"),
            _ => {}
        }
    }
}

fn order_id(event: &Value) -> i64 {
    event["payload"]["order_id"]
        .as_i64()
        .expect("an order.created payload")
}

fn customer(env: &Env) -> i64 {
    env.sql("INSERT INTO customers (email) VALUES ('rt@example.com') RETURNING id")
        .parse()
        .expect("an id")
}

#[test]
fn events_arrive_on_sse_and_websocket_filtered_and_in_order_per_tenant() {
    let env = Env::start();
    let c = env.client();
    let cust = customer(&env);
    let port = env.svc.port();
    let mut sse_a = Sse::open(port, "a", None);
    let mut sse_b = Sse::open(port, "b", None);
    let mut ws_a = ws_open(port, "tenant=a");

    let mut placed = Vec::new();
    for tenant in ["a", "b", "a", "b", "a"] {
        placed.push((
            tenant,
            place_order(&c, tenant, cust)["id"].as_i64().expect("id"),
        ));
    }
    let want = |t: &str| -> Vec<i64> {
        placed
            .iter()
            .filter(|(x, _)| *x == t)
            .map(|(_, id)| *id)
            .collect()
    };

    let mut got_a = Vec::new();
    let mut last_id = String::new();
    for _ in 0..3 {
        let (id, ev) = sse_a.next();
        assert_eq!(ev["tenant"], "a");
        assert_eq!(ev["type"], "order.created");
        assert_eq!(ev["id"], id.as_str());
        assert!(crate::stream_id_lt(&last_id, &id), "{last_id} then {id}");
        last_id = id;
        got_a.push(order_id(&ev));
    }
    assert_eq!(got_a, want("a"));
    let got_b: Vec<i64> = (0..2).map(|_| order_id(&sse_b.next().1)).collect();
    assert_eq!(got_b, want("b"));
    let got_ws: Vec<i64> = (0..3).map(|_| order_id(&ws_next(&mut ws_a))).collect();
    assert_eq!(got_ws, want("a"));

    let m = env.svc.get("/metrics").1;
    assert_eq!(
        crate::metric(&m, "events_delivered_total", &["transport=\"sse\""]),
        5.0,
        "{m}"
    );
    assert_eq!(
        crate::metric(&m, "events_delivered_total", &["transport=\"ws\""]),
        3.0,
        "{m}"
    );
}

#[test]
fn a_reconnect_with_last_event_id_resumes_with_no_loss_and_no_duplicate_while_events_keep_coming() {
    let env = Env::start();
    let cust = customer(&env);
    let port = env.svc.port();
    let total = 40;

    let mut sse = Sse::open(port, "a", None);
    let publisher = {
        let c: Client = env.client();
        std::thread::spawn(move || {
            (0..total)
                .map(|i| {
                    let tenant = if i % 3 == 2 { "b" } else { "a" };
                    (
                        tenant,
                        place_order(&c, tenant, cust)["id"].as_i64().expect("id"),
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    // Read a few, drop the connection mid-stream, resume from the last one seen.
    let mut seen: Vec<(String, i64)> = Vec::new();
    for _ in 0..5 {
        let (id, ev) = sse.next();
        seen.push((id, order_id(&ev)));
    }
    drop(sse);
    std::thread::sleep(Duration::from_millis(100));
    let resume_from = seen.last().expect("five seen").0.clone();
    let mut sse = Sse::open(port, "a", Some(&resume_from));

    let placed = publisher.join().expect("the publisher finished");
    let want: Vec<i64> = placed
        .iter()
        .filter(|(t, _)| *t == "a")
        .map(|(_, id)| *id)
        .collect();
    while seen.len() < want.len() {
        let (id, ev) = sse.next();
        seen.push((id, order_id(&ev)));
    }
    let got: Vec<i64> = seen.iter().map(|(_, o)| *o).collect();
    assert_eq!(got, want, "every event of tenant a once, in order");
    for w in seen.windows(2) {
        assert!(
            crate::stream_id_lt(&w[0].0, &w[1].0),
            "{} then {}",
            w[0].0,
            w[1].0
        );
    }

    // The WebSocket resumes the same way with ?since=.
    let mut ws = ws_open(port, &format!("tenant=a&since={}", seen[9].0));
    let resumed: Vec<i64> = (10..want.len())
        .map(|_| order_id(&ws_next(&mut ws)))
        .collect();
    assert_eq!(resumed, want[10..]);
    // And then it is live: the next event comes, no earlier one again.
    let next = place_order(&env.client(), "a", cust)["id"]
        .as_i64()
        .expect("id");
    assert_eq!(order_id(&ws_next(&mut ws)), next);
    assert_eq!(order_id(&sse.next().1), next);
}

#[test]
fn slow_a_live_subscriber_that_falls_behind_the_broadcast_catches_up_from_the_stream() {
    // `-v` logs the lag; the worker stays out of the way (32 MB of events). The slow-consumer
    // knob (1 ms per event) makes this subscriber certain to fall 4096 entries behind the
    // broadcast: without it, whether it does depended on scheduling, and a loaded CI machine
    // once let it keep up.
    let env = Env::start_with(|o| o.args(["-v", "--consumer-stopped", "--delivery-delay", "1ms"]));
    let mut sse = Sse::open(env.svc.port(), "a", None);
    // More entries than the broadcast (4096) and the feed's channel hold, and more bytes (4 KB
    // each) than loopback's socket buffers, added while the client reads nothing.
    let n = 8000;
    let script = "for i = 1, tonumber(ARGV[1]) do \
        redis.call('XADD', KEYS[1], '*', 'event_id', string.format('00000000-0000-4000-8000-%012d', i), \
        'tenant', 'a', 'type', 'test.tick', 'occurred_at', '2026-12-07T12:00:00.000Z', \
        'payload', '{\"n\": ' .. i .. ', \"pad\": \"' .. string.rep('x', 4000) .. '\"}') end return 1";
    env.redis
        .cli(&["EVAL", script, "1", "events", &n.to_string()]);
    for want in 1..=n {
        let (_, ev) = sse.next();
        assert_eq!(ev["payload"]["n"], want, "event {want} of {n}");
    }
    assert!(
        env.svc.log().contains("lagged"),
        "the broadcast never overtook this subscriber"
    );
}
