//! replayctl's process-level tests: the built binary against real Redis (one node and a
//! 3-master Redis Cluster), real PostgreSQL and the sample service's worker, from testkit.

mod bad_input;
mod checks;
mod cluster;
mod dlq;
mod lag;
mod replay;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::cli::{Cmd, Run};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_replayctl")
}

/// `replayctl ARGS --format json`, its stdout checked against the schemas.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Cmd::new(bin())
        .args(args)
        .args(["--format", "json"])
        .env_remove("REDIS_URL")
        .env_remove("SINK_URL")
        .validate_stdout()
        .run()
}

/// The same, as a `Command` to spawn (and kill) yourself.
pub fn command<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut c = Cmd::new(bin())
        .args(args)
        .args(["--format", "json"])
        .env_remove("REDIS_URL")
        .env_remove("SINK_URL")
        .into_command();
    c.stdin(Stdio::null());
    c
}

/// One event of the sample service's ingest contract, with an explicit stream id.
#[derive(Debug, Clone)]
pub struct Ev {
    pub id: String,
    pub event_id: String,
    pub tenant: String,
    pub payload: String,
}

/// `n` events from `start_ms`, one per millisecond, tenants taking turns; `seed` keeps the
/// event ids of two calls apart.
pub fn events(seed: u32, n: usize, start_ms: u64, tenants: &[&str]) -> Vec<Ev> {
    (0..n)
        .map(|i| Ev {
            id: format!("{}-0", start_ms + i as u64),
            event_id: format!("{seed:08x}-0000-4000-8000-{i:012x}"),
            tenant: tenants[i % tenants.len()].to_owned(),
            payload: format!("{{\"n\": {i}, \"note\": \"tab\\there\"}}"),
        })
        .collect()
}

/// One command in RESP, for `redis-cli --pipe`.
pub fn resp_of(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).bytes());
        out.extend(a.as_bytes());
        out.extend(b"\r\n");
    }
    out
}

/// XADDs the events to `stream` through `redis-cli --pipe` (fast for 100k).
pub fn xadd(port: u16, stream: &str, evs: &[Ev]) {
    let mut input = Vec::new();
    for e in evs {
        let occurred = e.id.split('-').next().unwrap_or("0");
        input.extend(resp_of(&[
            "XADD",
            stream,
            &e.id,
            "event_id",
            &e.event_id,
            "tenant",
            &e.tenant,
            "type",
            "order.created",
            "occurred_at",
            &ms_to_rfc3339(occurred.parse().unwrap_or(0)),
            "payload",
            &e.payload,
        ]));
    }
    pipe(port, &input);
}

/// Sends raw RESP through `redis-cli --pipe`; panics when a command failed.
pub fn pipe(port: u16, input: &[u8]) {
    let mut child = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "--pipe"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("redis-cli (run scripts/setup.sh)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write to redis-cli");
    let out = child.wait_with_output().expect("redis-cli --pipe");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("errors: 0"),
        "redis-cli --pipe: {text}"
    );
}

pub fn ms_to_rfc3339(ms: u64) -> String {
    let days = ms / 86_400_000;
    let rem = ms % 86_400_000;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// `METHOD path` with a JSON body on 127.0.0.1:port (HTTP/1.0): status and body.
pub fn http(method: &str, port: u16, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Polls `f` every 100 ms until it holds, for at most `limit`; panics naming `what`.
pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `Run`'s report as JSON, for fields of `data`.
pub fn data(r: &Run) -> serde_json::Value {
    r.report()["data"].clone()
}
