//! Owns one probe request over HTTP/1.1 with its phase timings: DNS, connect, TLS, first
//! byte, total. ureq cannot report the phases separately, so a probe speaks HTTP/1.1 itself
//! over a `std::net::TcpStream` (rustls for https): one connection per request,
//! `Connection: close`, one deadline for the whole exchange (DNS included: the lookup runs
//! on a helper thread the request stops waiting for).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

/// The largest response head and body a probe reads.
const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// `/path?query`, at least `/`.
    pub path: String,
}

impl Target {
    /// Parses `http://host[:port][/path]` or `https://…`; IPv6 hosts in brackets.
    pub fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], rest[i..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path
        };
        if authority.contains('@') {
            return Err(format!(
                "{url:?}: credentials in a probe URL are not supported; send them in a header from ${{env:…}}"
            ));
        }
        let default_port = if tls { 443 } else { 80 };
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let (h, after) = r
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed [ in the host"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => parse_port(url, p)?,
                None if after.is_empty() => default_port,
                None => return Err(format!("{url:?}: unexpected {after:?} after the host")),
            };
            (h.to_owned(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), parse_port(url, p)?),
                None => (authority.to_owned(), default_port),
            }
        };
        if host.is_empty() {
            return Err(format!("{url:?} has no host"));
        }
        Ok(Target {
            tls,
            host,
            port,
            path,
        })
    }
}

fn parse_port(url: &str, p: &str) -> Result<u16, String> {
    p.parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| format!("{url:?}: {p:?} is not a port"))
}

/// What a probe sends.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub target: &'a Target,
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
    pub timeout: Duration,
}

/// Milliseconds spent in each phase; `tls_ms` only for https.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub(crate) struct Timings {
    pub dns_ms: f64,
    pub connect_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_ms: Option<f64>,
    /// From the start of the request to the first byte of the answer.
    pub first_byte_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    /// Names lower-cased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timings: Timings,
}

impl Response {
    /// The first header of this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request got no complete answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The service could not be reached: name resolution or connect failed or timed out.
    Unreachable(String),
    /// Connected, but the answer did not come (in time, or well-formed).
    NoAnswer { message: String, timings: Timings },
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// A connection a probe reads and writes: plain TCP or TLS over it, both under a deadline.
pub(crate) trait Stream: Read + Write + Send {
    /// From now on each read waits at most `per_read` (and the overall deadline no longer
    /// applies): for long-lived streams read in a loop that checks when to stop.
    fn streaming(&mut self, per_read: Duration);
}

impl Stream for Deadlined {
    fn streaming(&mut self, per_read: Duration) {
        self.per_read = Some(per_read);
    }
}

impl Stream for rustls::StreamOwned<rustls::ClientConnection, Deadlined> {
    fn streaming(&mut self, per_read: Duration) {
        self.sock.per_read = Some(per_read);
    }
}

/// A connected stream and the phase timings so far.
pub(crate) struct Connected {
    pub stream: Box<dyn Stream>,
    pub timings: Timings,
    pub start: Instant,
}

/// Resolves, connects and (for https) shakes hands, all within `timeout`.
pub(crate) fn connect(t: &Target, timeout: Duration) -> Result<Connected, Failure> {
    let start = Instant::now();
    let deadline = start + timeout;
    let left = |what: &str| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no answer within {timeout:?} ({what})"))
    };
    let addrs = resolve(
        &t.host,
        t.port,
        left("resolving").map_err(Failure::Unreachable)?,
    )
    .map_err(Failure::Unreachable)?;
    let mut timings = Timings {
        dns_ms: ms(start.elapsed()),
        ..Timings::default()
    };
    let connect_start = Instant::now();
    let mut last_err = String::from("no address");
    let mut tcp = None;
    for a in &addrs {
        let budget = left("connecting").map_err(Failure::Unreachable)?;
        match TcpStream::connect_timeout(a, budget) {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last_err = format!("connect {a}: {e}"),
        }
    }
    let tcp = tcp.ok_or(Failure::Unreachable(last_err))?;
    let _ = tcp.set_nodelay(true);
    timings.connect_ms = ms(connect_start.elapsed());
    let stream: Box<dyn Stream> = if t.tls {
        let tls_start = Instant::now();
        let s = tls_connect(tcp, &t.host, &left).map_err(|message| Failure::NoAnswer {
            message,
            timings: Timings {
                total_ms: ms(start.elapsed()),
                ..timings.clone()
            },
        })?;
        timings.tls_ms = Some(ms(tls_start.elapsed()));
        Box::new(s)
    } else {
        Box::new(Deadlined {
            tcp,
            deadline,
            per_read: None,
        })
    };
    Ok(Connected {
        stream,
        timings,
        start,
    })
}

/// Sends one request and reads the whole answer within `req.timeout`.
pub(crate) fn send(req: &Request<'_>) -> Result<Response, Failure> {
    let Connected {
        stream,
        mut timings,
        start,
    } = connect(req.target, req.timeout)?;
    let mut reader = write_request(stream, req).map_err(|message| Failure::NoAnswer {
        message,
        timings: Timings {
            total_ms: ms(start.elapsed()),
            ..timings.clone()
        },
    })?;
    let answer = read_response(&mut reader, req.method == "HEAD");
    if let Some(fb) = reader.first_byte {
        timings.first_byte_ms = ms(fb - start);
    }
    timings.total_ms = ms(start.elapsed());
    let (status, headers, body) = answer.map_err(|e| Failure::NoAnswer {
        message: io_text(&e, req.timeout),
        timings: timings.clone(),
    })?;
    Ok(Response {
        status,
        headers,
        body,
        timings,
    })
}

/// Writes the request on a connected stream; the reader of its answer.
pub(crate) fn write_request(
    mut stream: Box<dyn Stream>,
    req: &Request<'_>,
) -> Result<Reader, String> {
    let head = request_head(req);
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(req.body.unwrap_or_default()))
        .and_then(|()| stream.flush())
        .map_err(|e| format!("sending the request: {}", io_text(&e, req.timeout)))?;
    Ok(Reader {
        stream,
        buf: Vec::new(),
        pos: 0,
        first_byte: None,
        chunk_left: None,
    })
}

/// Reads the status line and headers of an answer whose body is a stream (SSE).
pub(crate) fn read_head(r: &mut Reader) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let status_line = r.line(MAX_HEAD)?;
    let mut parts = status_line.splitn(3, ' ');
    let (Some(version), Some(code)) = (parts.next(), parts.next()) else {
        return Err(bad("the answer is not HTTP"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("the answer is not HTTP/1.x"));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| bad("the answer's status is not a number"))?;
    let mut headers = Vec::new();
    let mut head_len = status_line.len();
    loop {
        let line = r.line(MAX_HEAD)?;
        head_len += line.len() + 2;
        if head_len > MAX_HEAD {
            return Err(bad("the answer's headers are larger than 64 KiB"));
        }
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    Ok((status, headers))
}

fn io_text(e: &std::io::Error, timeout: Duration) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!(
                "no complete answer within {}",
                gatehouse::duration::format_duration(timeout)
            )
        }
        _ => e.to_string(),
    }
}

fn resolve(host: &str, port: u16, budget: Duration) -> Result<Vec<SocketAddr>, String> {
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (tx, rx) = mpsc::channel();
    let name = host.to_owned();
    std::thread::Builder::new()
        .name("dns".into())
        .spawn(move || {
            let _ = tx.send((name.as_str(), port).to_socket_addrs().map(Vec::from_iter));
        })
        .map_err(|e| format!("cannot start the DNS lookup: {e}"))?;
    match rx.recv_timeout(budget) {
        Ok(Ok(a)) if !a.is_empty() => Ok(a),
        Ok(Ok(_)) => Err(format!("{host} resolves to no address")),
        Ok(Err(e)) => Err(format!("cannot resolve {host}: {e}")),
        Err(_) => Err(format!("resolving {host} took longer than {budget:?}")),
    }
}

fn request_head(req: &Request<'_>) -> String {
    let t = req.target;
    let default_port = if t.tls { 443 } else { 80 };
    let host = if t.host.contains(':') {
        format!("[{}]", t.host)
    } else {
        t.host.clone()
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, t.path);
    let has = |n: &str| req.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("host") {
        if t.port == default_port {
            head.push_str(&format!("Host: {host}\r\n"));
        } else {
            head.push_str(&format!("Host: {host}:{}\r\n", t.port));
        }
    }
    if !has("user-agent") {
        head.push_str(concat!(
            "User-Agent: verify-goldens/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !has("accept") {
        head.push_str("Accept: application/json, */*\r\n");
    }
    for (k, v) in req.headers {
        // Header values come from the file and from captures: no line breaks may pass.
        let v: String = v.chars().filter(|c| *c != '\r' && *c != '\n').collect();
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = req.body {
        head.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    head
}

/// A TCP stream whose every read and write stops at the request's deadline.
pub(crate) struct Deadlined {
    tcp: TcpStream,
    deadline: Instant,
    /// Streaming: each read waits this long at most, whatever the deadline.
    per_read: Option<Duration>,
}

impl Deadlined {
    fn budget(&self) -> std::io::Result<Duration> {
        if let Some(d) = self.per_read {
            return Ok(d);
        }
        self.deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::TimedOut))
    }
}

impl Read for Deadlined {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let b = self.budget()?;
        self.tcp.set_read_timeout(Some(b))?;
        self.tcp.read(buf)
    }
}

impl Write for Deadlined {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let b = self.budget()?;
        self.tcp.set_write_timeout(Some(b))?;
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// The CAs every https probe of this process trusts besides the webpki roots: set once,
/// before the first probe, from `run --ca-cert` (a staging CA). Process-wide because a run
/// has one trust setting, as `SSL_CERT_FILE` is for curl.
static EXTRA_ROOTS: std::sync::OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> =
    std::sync::OnceLock::new();

/// Reads `--ca-cert FILE`'s PEM certificates and trusts them for every https probe; the
/// error says what is wrong with the file (the caller names it).
pub(crate) fn trust_ca_file(path: &std::path::Path) -> Result<usize, String> {
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| e.to_string())?;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE in this PEM file".to_owned());
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in &certs {
        roots
            .add(c.clone())
            .map_err(|e| format!("a certificate rustls cannot use as a CA: {e}"))?;
    }
    let n = certs.len();
    EXTRA_ROOTS
        .set(certs)
        .map_err(|_| "trust was already set".to_owned())?;
    Ok(n)
}

fn tls_connect(
    tcp: TcpStream,
    host: &str,
    left: &dyn Fn(&str) -> Result<Duration, String>,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, Deadlined>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for c in EXTRA_ROOTS.get().into_iter().flatten() {
        // Checked when --ca-cert was read.
        let _ = roots.add(c.clone());
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("TLS: {host:?}: {e}"))?;
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| format!("TLS: {e}"))?;
    let deadline = Instant::now() + left("TLS handshake")?;
    let mut sock = Deadlined {
        tcp,
        deadline,
        per_read: None,
    };
    while conn.is_handshaking() {
        conn.complete_io(&mut sock)
            .map_err(|e| format!("TLS handshake with {host}: {e}"))?;
    }
    Ok(rustls::StreamOwned::new(conn, sock))
}

pub(crate) struct Reader {
    stream: Box<dyn Stream>,
    buf: Vec<u8>,
    pos: usize,
    first_byte: Option<Instant>,
    /// Streaming a chunked body: bytes left in the current chunk.
    chunk_left: Option<usize>,
}

impl Reader {
    /// See [`Stream::streaming`].
    pub fn streaming(&mut self, per_read: Duration) {
        self.stream.streaming(per_read);
    }

    /// The next bytes of a streamed body (chunked or not); `None` at its end. A read
    /// timeout leaves the state intact, so the caller may simply call again.
    pub fn next_bytes(&mut self, chunked: bool) -> std::io::Result<Option<Vec<u8>>> {
        if !chunked {
            if self.pos >= self.buf.len() {
                self.buf.clear();
                self.pos = 0;
                if !self.fill()? {
                    return Ok(None);
                }
            }
            let out = self.buf[self.pos..].to_vec();
            self.pos = self.buf.len();
            return Ok(Some(out));
        }
        loop {
            match self.chunk_left {
                None => {
                    let size_line = self.line(1024)?;
                    let size_hex = size_line.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(size_hex, 16)
                        .map_err(|_| bad("a chunk size is not hexadecimal"))?;
                    if size == 0 {
                        return Ok(None);
                    }
                    self.chunk_left = Some(size);
                }
                Some(0) => {
                    self.line(2)?;
                    self.chunk_left = None;
                }
                Some(left) => {
                    if self.pos >= self.buf.len() {
                        self.buf.clear();
                        self.pos = 0;
                        if !self.fill()? {
                            return Err(Self::unexpected_eof());
                        }
                    }
                    let n = left.min(self.buf.len() - self.pos);
                    let out = self.buf[self.pos..self.pos + n].to_vec();
                    self.pos += n;
                    self.chunk_left = Some(left - n);
                    return Ok(Some(out));
                }
            }
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    fn fill(&mut self) -> std::io::Result<bool> {
        let mut chunk = [0u8; 16 * 1024];
        let n = self.stream.read(&mut chunk)?;
        if n > 0 && self.first_byte.is_none() {
            self.first_byte = Some(Instant::now());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n > 0)
    }

    fn unexpected_eof() -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the connection closed before the answer was complete",
        )
    }

    /// One CRLF-terminated line (without the CRLF), at most `limit` bytes.
    fn line(&mut self, limit: usize) -> std::io::Result<String> {
        loop {
            if let Some(i) = self.buf[self.pos..].windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[self.pos..self.pos + i]).into_owned();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.buf.len() - self.pos > limit {
                return Err(bad("a line of the answer is too long"));
            }
            if !self.fill()? {
                return Err(Self::unexpected_eof());
            }
        }
    }

    fn exact(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        while self.buf.len() - self.pos < n {
            if !self.fill()? {
                return Err(Self::unexpected_eof());
            }
        }
        let out = self.buf[self.pos..self.pos + n].to_vec();
        self.pos += n;
        Ok(out)
    }

    fn rest(&mut self) -> std::io::Result<Vec<u8>> {
        while self.fill()? {
            if self.buf.len() - self.pos > MAX_BODY {
                return Err(bad("the body is larger than 16 MiB"));
            }
        }
        let out = self.buf[self.pos..].to_vec();
        self.pos = self.buf.len();
        Ok(out)
    }
}

fn bad(msg: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg.to_owned())
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn read_response(r: &mut Reader, head_only: bool) -> std::io::Result<Answer> {
    let (status, headers) = read_head(r)?;
    if (100..200).contains(&status) {
        // An interim answer (100 Continue): the real one follows.
        return read_response(r, head_only);
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let body = if head_only || status == 204 || status == 304 {
        Vec::new()
    } else if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let size_line = r.line(1024)?;
            let size_hex = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| bad("a chunk size is not hexadecimal"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                while !r.line(MAX_HEAD)?.is_empty() {}
                break;
            }
            if body.len() + size > MAX_BODY {
                return Err(bad("the body is larger than 16 MiB"));
            }
            body.extend(r.exact(size)?);
            r.line(2)?;
        }
        body
    } else if let Some(len) = get("content-length") {
        let n: usize = len
            .parse()
            .map_err(|_| bad("Content-Length is not a number"))?;
        if n > MAX_BODY {
            return Err(bad("the body is larger than 16 MiB"));
        }
        r.exact(n)?
    } else {
        r.rest()?
    };
    Ok((status, headers, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_targets() {
        let t = Target::parse("http://127.0.0.1:8080/orders/1?x=2").expect("url");
        assert_eq!(
            (t.tls, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 8080, "/orders/1?x=2")
        );
        let t = Target::parse("https://example.com").expect("url");
        assert_eq!((t.tls, t.port, t.path.as_str()), (true, 443, "/"));
        let t = Target::parse("http://[::1]:9/x").expect("url");
        assert_eq!((t.host.as_str(), t.port), ("::1", 9));
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://u:p@x/").is_err());
        assert!(Target::parse("http://x:0/").is_err());
    }

    #[test]
    fn header_values_cannot_smuggle_lines() {
        let t = Target::parse("http://h:81/p").expect("url");
        let headers = vec![("X-A".to_owned(), "1\r\nX-Evil: 2".to_owned())];
        let head = request_head(&Request {
            method: "GET",
            target: &t,
            headers: &headers,
            body: None,
            timeout: Duration::from_secs(1),
        });
        assert!(head.contains("X-A: 1X-Evil: 2\r\n"));
        assert!(head.contains("Host: h:81\r\n"));
    }
}
