//! Owns the crate's plain HTTP/1.x over `std::net`: `MetricsEndpoint`, a tiny real server
//! that a real Prometheus can scrape (and that can be made to fail on demand), and the
//! minimal client the other modules use to ask Prometheus things.

use std::io::{self, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long either side of one HTTP exchange may stall before it is abandoned.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A real HTTP/1.1 server on `127.0.0.1` serving Prometheus text exposition at `/metrics`.
///
/// It is listening when `start` returns (the socket is bound first, as cargo's test registry
/// does), so no readiness wait is needed. `set_up(false)` makes every scrape get a 500, so a
/// Prometheus target's `up` drops to 0; `set_up(true)` brings it back. Dropping it stops the
/// server thread.
#[derive(Debug)]
pub struct MetricsEndpoint {
    addr: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    body: Mutex<String>,
    up: AtomicBool,
    stop: AtomicBool,
    scrapes: AtomicU64,
}

impl MetricsEndpoint {
    /// Starts serving `body` (Prometheus text format) at `/metrics` on a free port.
    pub fn start(body: impl Into<String>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .unwrap_or_else(|e| panic!("testkit: metrics endpoint cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("testkit: metrics endpoint has no local address: {e}"));
        let shared = Arc::new(Shared {
            body: Mutex::new(body.into()),
            up: AtomicBool::new(true),
            stop: AtomicBool::new(false),
            scrapes: AtomicU64::new(0),
        });
        let thread = std::thread::Builder::new()
            .name(format!("testkit-metrics-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || serve(&listener, &shared)
            })
            .unwrap_or_else(|e| panic!("testkit: cannot start the metrics endpoint thread: {e}"));
        Self {
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// Replaces what the next scrape gets.
    pub fn set_body(&self, body: impl Into<String>) {
        *self
            .shared
            .body
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = body.into();
    }

    /// `true` serves 200 with the body; `false` answers every request with a 500.
    pub fn set_up(&self, up: bool) {
        self.shared.up.store(up, Ordering::SeqCst);
    }

    /// The listening address, `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`, as a Prometheus `static_configs` target.
    pub fn target(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT/metrics`.
    pub fn url(&self) -> String {
        format!("http://{}/metrics", self.addr)
    }

    /// How many requests for `/metrics` it has answered (with 200 or 500).
    pub fn scrapes(&self) -> u64 {
        self.shared.scrapes.load(Ordering::SeqCst)
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept(); the thread sees `stop` and returns.
        let _ = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Answers one connection at a time: Prometheus scrapes a target serially, and each
/// exchange is bounded by `IO_TIMEOUT`, so one stuck client cannot wedge it for long.
fn serve(listener: &TcpListener, shared: &Shared) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(stream) = stream {
            // A client that hangs up mid-request is its problem, not the test's.
            let _ = answer(stream, shared);
        }
    }
}

fn answer(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let head = read_head(&mut stream)?;
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("");
    let (status, body) = if path != "/metrics" && !path.starts_with("/metrics?") {
        ("404 Not Found", "only /metrics is served here\n".to_owned())
    } else {
        shared.scrapes.fetch_add(1, Ordering::SeqCst);
        if shared.up.load(Ordering::SeqCst) {
            let body = shared.body.lock().unwrap_or_else(PoisonError::into_inner);
            ("200 OK", body.clone())
        } else {
            (
                "500 Internal Server Error",
                "down: MetricsEndpoint::set_up(false)\n".to_owned(),
            )
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}

/// Reads a request's head (up to the blank line); the requests we serve have no body.
fn read_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 || head.len() > 64 * 1024 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// Sends one request to `127.0.0.1:port` and returns the status code and body.
///
/// It speaks HTTP/1.0 so that Go's server answers with a plain body ended by closing the
/// connection, never with chunked encoding, which would need a real client to decode.
pub(crate) fn request(method: &str, port: u16, path: &str) -> io::Result<(u16, String)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("not HTTP: {head:?}")))?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_the_body_then_500_when_down_then_the_new_body() {
        let endpoint = MetricsEndpoint::start("a 1\n");
        let port = endpoint.addr().port();
        assert_eq!(
            request("GET", port, "/metrics").expect("endpoint answers"),
            (200, "a 1\n".to_owned())
        );
        endpoint.set_up(false);
        assert_eq!(
            request("GET", port, "/metrics")
                .expect("endpoint answers")
                .0,
            500
        );
        endpoint.set_body("a 2\n");
        endpoint.set_up(true);
        assert_eq!(
            request("GET", port, "/metrics").expect("endpoint answers"),
            (200, "a 2\n".to_owned())
        );
        assert_eq!(
            request("GET", port, "/other").expect("endpoint answers").0,
            404
        );
        assert_eq!(endpoint.scrapes(), 3);
    }

    #[test]
    fn drop_stops_listening() {
        let endpoint = MetricsEndpoint::start("");
        let addr = endpoint.addr();
        drop(endpoint);
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    }

    #[test]
    fn encodes_promql_for_a_query_string() {
        assert_eq!(
            gatehouse::percent::encode(r#"up{job="x"} == 1"#),
            "up%7Bjob%3D%22x%22%7D%20%3D%3D%201"
        );
    }
}
