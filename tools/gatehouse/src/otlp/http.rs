//! Sends the encoded request: one blocking HTTP/1.1 POST over `std::net::TcpStream`, then
//! the status line of the answer, all within the configured timeout.
//!
//! A CLI run sends one request, so an HTTP client, an async runtime or the OpenTelemetry SDK
//! would cost more to build than the code they replace (measurements in
//! `tools/gatehouse/Cargo.toml`).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::OtlpError;
use super::config::{Config, Endpoint};
use crate::report::TOOL_VERSION;

/// We only read the status line; a longer response head is not a collector's.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// POSTs `body` and waits for the status line, all within `config.timeout`.
pub(super) fn post(config: &Config, body: &[u8]) -> Result<(), OtlpError> {
    let endpoint = config.endpoint.display();
    let deadline = Instant::now() + config.timeout;
    let fail = |e: io::Error| {
        if matches!(
            e.kind(),
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
        ) {
            OtlpError::Timeout {
                endpoint: endpoint.clone(),
                timeout: config.timeout,
            }
        } else {
            OtlpError::Io {
                endpoint: endpoint.clone(),
                source: e,
            }
        }
    };
    let mut stream = connect(&config.endpoint, deadline).map_err(|e| match fail(e) {
        OtlpError::Io { endpoint, source } => OtlpError::Connect { endpoint, source },
        other => other,
    })?;

    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: gatehouse/{TOOL_VERSION}\r\n\
         Content-Type: application/x-protobuf\r\nContent-Length: {}\r\nConnection: close\r\n",
        config.endpoint.target,
        config.endpoint.authority,
        body.len()
    );
    for (key, value) in &config.headers {
        head.push_str(&format!("{key}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .set_write_timeout(Some(remaining(deadline).map_err(fail)?))
        .and_then(|()| stream.write_all(head.as_bytes()))
        .and_then(|()| stream.write_all(body))
        .and_then(|()| stream.flush())
        .map_err(fail)?;

    let (status, reason) = match read_status(&mut stream, deadline).map_err(fail)? {
        Some(status) => status,
        None => return Err(OtlpError::BadResponse { endpoint }),
    };
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(OtlpError::Status {
            endpoint,
            status,
            reason,
        })
    }
}

/// Time left before `deadline`, or a `TimedOut` error when there is none.
fn remaining(deadline: Instant) -> io::Result<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(io::ErrorKind::TimedOut.into())
    } else {
        Ok(left)
    }
}

/// Connects to the first address of the host that answers before the deadline.
fn connect(endpoint: &Endpoint, deadline: Instant) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in (endpoint.host.as_str(), endpoint.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, remaining(deadline)?) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads the response head and returns its final (non-1xx) status code and reason phrase;
/// `None` when the answer is not HTTP/1.x.
fn read_status(stream: &mut TcpStream, deadline: Instant) -> io::Result<Option<(u16, String)>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = head_end {
            let status = parse_status_line(&buf[..end]);
            match status {
                // `100 Continue` and friends precede the real answer.
                Some((code, _)) if (100..200).contains(&code) => {
                    buf.drain(..end + 4);
                    continue;
                }
                other => return Ok(other),
            }
        }
        if buf.len() > MAX_RESPONSE_HEAD {
            return Ok(None);
        }
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            // The peer closed early: judge whatever status line arrived.
            return Ok(parse_status_line(&buf));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn parse_status_line(head: &[u8]) -> Option<(u16, String)> {
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..line_end]).ok()?;
    let mut parts = line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return None;
    }
    let code = code.parse().ok()?;
    Some((code, parts.next().unwrap_or_default().trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_status_lines() {
        assert_eq!(
            parse_status_line(b"HTTP/1.1 200 OK\r\nX: y"),
            Some((200, "OK".to_owned()))
        );
        assert_eq!(
            parse_status_line(b"HTTP/1.0 503"),
            Some((503, String::new()))
        );
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status_line(b""), None);
    }

    proptest! {
        #[test]
        fn arbitrary_status_lines_never_panic(s in "\\PC{0,60}") {
            let _ = parse_status_line(s.as_bytes());
        }
    }
}
