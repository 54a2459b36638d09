//! Exports a finished run over OTLP/HTTP: one span for the run and one child span per
//! recorded step, POSTed as protobuf to the collector the `OTEL_EXPORTER_OTLP_*` variables
//! name. With no endpoint configured it reads a few variables and does nothing else: no
//! thread, no runtime, no socket.
//!
//! The transport is one blocking HTTP/1.1 POST over `std::net::TcpStream`. A CLI run sends one
//! request, so an HTTP client, an async runtime or the OpenTelemetry SDK would cost more to
//! build than the code they replace (measurements in `tools/gatehouse/Cargo.toml`).
//!
//! **Plain `http://` only.** An `https://` endpoint is refused with an error saying so: point
//! the variables at a local collector (an OpenTelemetry Collector agent or sidecar, e.g.
//! `http://127.0.0.1:4318`) and let it forward to the backend over TLS.
//!
//! Variables, following the OTel SDK environment spec where it applies:
//!
//! | variable | effect |
//! |---|---|
//! | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | full URL, used as-is; wins over the next one |
//! | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; `/v1/traces` is appended |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS` | `k=v,k2=v2`, values percent-decoded (`+` stays `+`) |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT` | milliseconds, default 10000, capped at [`MAX_TIMEOUT`] |
//! | `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` | only `http/protobuf` (the default) is accepted |
//! | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | resource; `service.name` defaults to the tool |
//! | `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none` | export off |
//!
//! A run whose `TRACEPARENT` says "not sampled" is not exported (parent-based sampling, the
//! SDKs' default). Empty variables count as unset.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, SpanFlags, Status};
use prost::Message;

use crate::redact::redact;
use crate::report::{Outcome, Report, TOOL_VERSION};
use crate::time::Timestamp;
use crate::trace::{StepRecord, TraceContext};

const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The spec's default export timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10_000);
/// Whatever `OTEL_EXPORTER_OTLP_TIMEOUT` says, a dead or stuck collector costs a run at most
/// this much (connect, send and answer together): telemetry must never stall a CI job.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3);
/// We only read the status line; a longer response head is not a collector's.
const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// Headers we write ourselves; a configured header of the same name is ignored.
const FRAMING_HEADERS: &[&str] = &[
    "host",
    "content-type",
    "content-length",
    "connection",
    "transfer-encoding",
];

/// Why a run could not be exported. One line each, naming the endpoint (redacted) or the
/// variable; values of header variables are never shown, as they usually hold credentials.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    #[error("{var}: {message}")]
    Config { var: &'static str, message: String },
    #[error(
        "OTLP endpoint {endpoint}: https is not supported; point {var} at a local collector over http (for example http://127.0.0.1:4318) and let it forward over TLS"
    )]
    Https { var: &'static str, endpoint: String },
    #[error("OTLP endpoint {endpoint}: cannot connect: {source}")]
    Connect {
        endpoint: String,
        #[source]
        source: io::Error,
    },
    #[error("OTLP endpoint {endpoint}: no answer within {} ms", .timeout.as_millis())]
    Timeout { endpoint: String, timeout: Duration },
    #[error("OTLP endpoint {endpoint}: {source}")]
    Io {
        endpoint: String,
        #[source]
        source: io::Error,
    },
    #[error("OTLP endpoint {endpoint}: answered {status} {reason}")]
    Status {
        endpoint: String,
        status: u16,
        reason: String,
    },
    #[error("OTLP endpoint {endpoint}: the answer is not an HTTP/1.x response")]
    BadResponse { endpoint: String },
}

/// Exports the run if OTLP is configured. Returns Ok(false) when not configured.
///
/// Also `Ok(false)` when export is disabled (`OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER=none`)
/// or the run's `TRACEPARENT` is not sampled. Ids come from [`crate::trace::current`], which
/// is where `report.trace_id` and `report.span_id` came from.
pub fn export_run(report: &Report, steps: &[StepRecord]) -> Result<bool, OtlpError> {
    let Some(config) = Config::from_env(&|name| std::env::var(name).ok())? else {
        return Ok(false);
    };
    let ctx = crate::trace::current();
    if !ctx.sampled {
        tracing::debug!("TRACEPARENT is not sampled; the run is not exported");
        return Ok(false);
    }
    let body = build_request(report, steps, ctx, &config, SystemTime::now()).encode_to_vec();
    post(&config, &body)?;
    Ok(true)
}

/// The export settings read from the environment.
#[derive(Debug, Clone, PartialEq)]
struct Config {
    endpoint: Endpoint,
    headers: Vec<(String, String)>,
    timeout: Duration,
    service_name: Option<String>,
    resource: Vec<(String, String)>,
}

/// Where the POST goes: `http://{authority}{target}`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Endpoint {
    /// Host name or IP (IPv6 without brackets), for connecting.
    host: String,
    port: u16,
    /// `host[:port]` as written, for the `Host` header.
    authority: String,
    /// Path and query.
    target: String,
}

impl Endpoint {
    /// The URL as shown in messages, with anything secret-looking masked.
    fn display(&self) -> String {
        redact(&format!("http://{}{}", self.authority, self.target)).into_owned()
    }
}

impl Config {
    /// `None` when no endpoint is set or export is switched off.
    fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Config>, OtlpError> {
        let get = |name: &str| {
            env(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        if disabled {
            return Ok(None);
        }
        let endpoint = if let Some(url) = get(TRACES_ENDPOINT) {
            parse_endpoint(TRACES_ENDPOINT, &url, false)?
        } else if let Some(url) = get(ENDPOINT) {
            parse_endpoint(ENDPOINT, &url, true)?
        } else {
            return Ok(None);
        };
        for var in [
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ] {
            if let Some(protocol) = get(var) {
                if protocol != "http/protobuf" {
                    return Err(OtlpError::Config {
                        var,
                        message: format!("{protocol:?}: only http/protobuf is supported"),
                    });
                }
                break;
            }
        }
        // Generic headers first, then the traces-specific ones replace any of the same name.
        let mut headers: Vec<(String, String)> = Vec::new();
        for var in [
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        ] {
            for (k, v) in get(var).map_or(Ok(Vec::new()), |s| parse_headers(var, &s))? {
                headers.retain(|(old, _)| !old.eq_ignore_ascii_case(&k));
                headers.push((k, v));
            }
        }
        let resource = match get("OTEL_RESOURCE_ATTRIBUTES").map(|s| parse_key_values(&s)) {
            Some(Ok(pairs)) => pairs,
            Some(Err(why)) => {
                // The spec says to discard the whole variable on an error, not fail the export.
                tracing::warn!("OTEL_RESOURCE_ATTRIBUTES: {why}; ignoring it");
                Vec::new()
            }
            None => Vec::new(),
        };
        Ok(Some(Config {
            endpoint,
            headers,
            timeout: timeout(&get),
            service_name: get("OTEL_SERVICE_NAME"),
            resource,
        }))
    }
}

/// The export timeout: the traces-specific or generic variable, capped at [`MAX_TIMEOUT`]. A
/// value that is not a number is ignored with a warning, as the spec asks; 0 ("no limit" in
/// some SDKs) gets the cap.
fn timeout(get: &dyn Fn(&str) -> Option<String>) -> Duration {
    for var in [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ] {
        if let Some(value) = get(var) {
            return match value.parse::<u64>() {
                Ok(0) => MAX_TIMEOUT,
                Ok(ms) => Duration::from_millis(ms).min(MAX_TIMEOUT),
                Err(_) => {
                    tracing::warn!("{var}={value:?} is not a number of milliseconds; ignoring it");
                    DEFAULT_TIMEOUT.min(MAX_TIMEOUT)
                }
            };
        }
    }
    DEFAULT_TIMEOUT.min(MAX_TIMEOUT)
}

/// Parses an endpoint URL. With `append`, `/v1/traces` is added to its path (the generic
/// variable names a base URL); without, the URL is used as-is (an empty path is `/`).
fn parse_endpoint(var: &'static str, raw: &str, append: bool) -> Result<Endpoint, OtlpError> {
    let bad = |message: &str| OtlpError::Config {
        var,
        message: format!("{}: {message}", redact(raw)),
    };
    let scheme_end = raw.find("://").map_or(0, |i| i + 3);
    let rest = match raw[..scheme_end].to_ascii_lowercase().as_str() {
        "http://" => &raw[scheme_end..],
        "https://" => {
            return Err(OtlpError::Https {
                var,
                endpoint: redact(raw).into_owned(),
            });
        }
        _ => return Err(bad("expected an http:// URL such as http://127.0.0.1:4318")),
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are not supported; put them in OTEL_EXPORTER_OTLP_HEADERS",
        ));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| bad("expected host[:port]"))?;
    let tail = tail.split('#').next().unwrap_or_default();
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let mut target = if append {
        format!("{}/v1/traces", path.trim_end_matches('/'))
    } else if path.is_empty() {
        "/".to_owned()
    } else {
        path.to_owned()
    };
    if let Some(query) = query {
        target.push('?');
        target.push_str(query);
    }
    // It goes into the request line verbatim: a space or a line break would break framing.
    if target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad("the path contains spaces or control characters"));
    }
    Ok(Endpoint {
        host,
        port,
        authority: authority.to_owned(),
        target,
    })
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; the port defaults to 80.
fn split_host_port(authority: &str) -> Option<(String, u16)> {
    let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0);
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => 80,
            p => port(p.strip_prefix(':')?)?,
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return None;
        }
        (host, port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, port(p)?),
            None => (authority, 80),
        };
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !host_ok {
            return None;
        }
        (host, port)
    };
    Some((host.to_owned(), port))
}

/// Parses a headers variable: [`parse_key_values`], then each name must be an HTTP token
/// and each value free of line breaks (they go into the request verbatim).
fn parse_headers(var: &'static str, list: &str) -> Result<Vec<(String, String)>, OtlpError> {
    let bad = |message: String| OtlpError::Config { var, message };
    let mut out = Vec::new();
    for (key, value) in parse_key_values(list).map_err(bad)? {
        if !key.bytes().all(is_token_byte) {
            return Err(bad(format!("header name {key:?} is not a valid HTTP name")));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(bad(format!(
                "the value of {key} contains control characters"
            )));
        }
        if FRAMING_HEADERS.iter().any(|h| key.eq_ignore_ascii_case(h)) {
            tracing::debug!("{var}: ignoring {key}, which the exporter sets itself");
            continue;
        }
        out.push((key, value));
    }
    Ok(out)
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `key=value,key2=value2` (the W3C-baggage-like lists of `OTEL_EXPORTER_OTLP_HEADERS`
/// and `OTEL_RESOURCE_ATTRIBUTES`): entries trimmed, empty entries skipped, values
/// percent-decoded. `+` is kept as is, not read as a space: base64 tokens contain it.
/// Errors name the entry's position and key, never its value.
fn parse_key_values(list: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, entry) in list.split(',').enumerate() {
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let n = i + 1;
        let Some((key, value)) = entry.split_once('=') else {
            return Err(format!("entry {n} is not key=value"));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("entry {n} has an empty key"));
        }
        let value = percent_decode(value.trim()).ok_or_else(|| {
            format!("the value of {key} (entry {n}) has a bad %-escape or is not UTF-8")
        })?;
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            // Both digits checked: from_str_radix alone would take a sign ("%+1").
            let hex = s
                .get(i + 1..i + 3)
                .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The OTLP request for a run: the run span (child of `TRACEPARENT`'s span when there is one)
/// and a child span per step.
fn build_request(
    report: &Report,
    steps: &[StepRecord],
    ctx: &TraceContext,
    config: &Config,
    now: SystemTime,
) -> ExportTraceServiceRequest {
    let duration = Duration::from_millis(report.duration_ms);
    // `started_at` has whole seconds, so the real start lies in [parsed, parsed + 1 s). The
    // runner exports right after the report is final, so `now - duration` is the start to
    // within the rendering time: clamp it into that second. Then stretch the run span over
    // its steps so that no child sticks out of its parent.
    let parsed = Timestamp::parse(&report.started_at)
        .ok()
        .map(Timestamp::to_system);
    let start = match (parsed, now.checked_sub(duration)) {
        (Some(p), Some(estimate)) => {
            estimate.clamp(p, p.checked_add(Duration::from_millis(999)).unwrap_or(p))
        }
        (Some(p), None) => p,
        (None, estimate) => estimate.unwrap_or(UNIX_EPOCH),
    };
    let start = steps.iter().map(|s| s.start).fold(start, SystemTime::min);
    let end = steps.iter().map(|s| s.end).fold(
        start.checked_add(duration).unwrap_or(start),
        SystemTime::max,
    );

    let trace_flags = u32::from(ctx.sampled);
    let has_is_remote = SpanFlags::ContextHasIsRemoteMask as u32;
    let is_remote = SpanFlags::ContextIsRemoteMask as u32;

    let mut attributes = vec![
        attr("gatehouse.agent", &report.agent),
        attr("gatehouse.action", &report.action),
        attr("gatehouse.result", report.result.as_str()),
    ];
    if let Some(phase) = &report.phase {
        attributes.push(attr("gatehouse.phase", phase));
    }
    attributes.push(attr("gatehouse.summary", &redact(&report.summary)));
    if let Some(error) = &report.error {
        attributes.push(attr("gatehouse.error.kind", &error.kind));
    }
    // A `fail` is a verdict, not a fault: only `error` (could not judge) marks the span ERROR.
    let status = if report.result == Outcome::Error {
        let message = report
            .error
            .as_ref()
            .map_or(&report.summary, |e| &e.message);
        Status {
            code: StatusCode::Error as i32,
            message: redact(message).into_owned(),
        }
    } else {
        Status::default()
    };
    let mut spans = vec![Span {
        trace_id: ctx.trace_id.to_vec(),
        span_id: ctx.span_id.to_vec(),
        parent_span_id: ctx.parent_span_id.map(|p| p.to_vec()).unwrap_or_default(),
        flags: trace_flags
            | has_is_remote
            | if ctx.parent_span_id.is_some() {
                is_remote
            } else {
                0
            },
        name: report.title(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: unix_nanos(start),
        end_time_unix_nano: unix_nanos(end),
        attributes,
        status: Some(status),
        ..Span::default()
    }];
    spans.extend(steps.iter().map(|step| Span {
        trace_id: ctx.trace_id.to_vec(),
        span_id: step.span_id.to_vec(),
        parent_span_id: ctx.span_id.to_vec(),
        flags: trace_flags | has_is_remote,
        name: step.name.clone(),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: unix_nanos(step.start),
        end_time_unix_nano: unix_nanos(step.end),
        status: Some(if step.failed {
            Status {
                code: StatusCode::Error as i32,
                message: String::new(),
            }
        } else {
            Status::default()
        }),
        ..Span::default()
    }));

    let mut resource: Vec<KeyValue> = config.resource.iter().map(|(k, v)| attr(k, v)).collect();
    let service = config.service_name.as_deref().or_else(|| {
        config
            .resource
            .iter()
            .rev()
            .find(|(k, _)| k == "service.name")
            .map(|(_, v)| v.as_str())
    });
    resource.retain(|kv| kv.key != "service.name" && kv.key != "service.version");
    resource.push(attr("service.name", service.unwrap_or(&report.agent)));
    resource.push(attr("service.version", &report.tool_version));

    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Resource::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "gatehouse".to_owned(),
                    version: TOOL_VERSION.to_owned(),
                    ..InstrumentationScope::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn attr(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..KeyValue::default()
    }
}

fn unix_nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// POSTs `body` and waits for the status line, all within `config.timeout`.
fn post(config: &Config, body: &[u8]) -> Result<(), OtlpError> {
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
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Option<Config>, OtlpError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_env(&|name| map.get(name).cloned())
    }

    fn config(pairs: &[(&str, &str)]) -> Config {
        env(pairs).expect("valid").expect("configured")
    }

    #[test]
    fn parses_headers_with_percent_decoding_and_keeps_plus_signs() {
        assert_eq!(
            parse_key_values(" api-key = a%20b%2Cc , authorization=Basic dXNlcjpw+YXNz==,,")
                .expect("valid"),
            vec![
                ("api-key".to_owned(), "a b,c".to_owned()),
                (
                    "authorization".to_owned(),
                    "Basic dXNlcjpw+YXNz==".to_owned()
                ),
            ]
        );
        assert_eq!(parse_key_values("").expect("empty is fine"), vec![]);
    }

    #[test]
    fn header_errors_name_the_entry_but_never_the_value() {
        for (list, expected) in [
            ("a=1,secretvalue", "entry 2 is not key=value"),
            ("=secretvalue", "entry 1 has an empty key"),
            ("k=secret%zz", "the value of k (entry 1) has a bad %-escape"),
            ("k=secret%ff", "is not UTF-8"),
        ] {
            let err = parse_key_values(list).expect_err(list);
            assert!(err.contains(expected), "{list}: {err}");
            assert!(!err.contains("secret"), "{list}: {err}");
        }
    }

    #[test]
    fn refuses_header_injection_and_bad_names() {
        let var = "OTEL_EXPORTER_OTLP_HEADERS";
        let err = parse_headers(var, "x-a=ok%0D%0AEvil: 1").expect_err("CRLF");
        assert_eq!(
            err.to_string(),
            "OTEL_EXPORTER_OTLP_HEADERS: the value of x-a contains control characters"
        );
        assert!(parse_headers(var, "bad name=1").is_err());
        assert_eq!(
            parse_headers(var, "Content-Length=1,x-b=2").expect("valid"),
            vec![("x-b".to_owned(), "2".to_owned())]
        );
    }

    #[test]
    fn nothing_is_configured_without_an_endpoint_or_when_disabled() {
        assert_eq!(env(&[]).expect("ok"), None);
        assert_eq!(env(&[(ENDPOINT, "  ")]).expect("ok"), None);
        let on = (ENDPOINT, "http://127.0.0.1:4318");
        assert_eq!(env(&[on, ("OTEL_SDK_DISABLED", "TRUE")]).expect("ok"), None);
        assert_eq!(
            env(&[on, ("OTEL_TRACES_EXPORTER", "none")]).expect("ok"),
            None
        );
        assert!(
            env(&[on, ("OTEL_SDK_DISABLED", "false")])
                .expect("ok")
                .is_some()
        );
    }

    #[test]
    fn the_generic_endpoint_gets_v1_traces_and_the_traces_endpoint_is_used_as_is() {
        let c = config(&[(ENDPOINT, "http://collector:4318")]);
        assert_eq!(c.endpoint.target, "/v1/traces");
        assert_eq!(
            (c.endpoint.host.as_str(), c.endpoint.port),
            ("collector", 4318)
        );
        let c = config(&[(ENDPOINT, "http://collector:4318/otel/")]);
        assert_eq!(c.endpoint.display(), "http://collector:4318/otel/v1/traces");
        let c = config(&[
            (ENDPOINT, "http://ignored:1"),
            (TRACES_ENDPOINT, "http://[::1]:9999/custom?tenant=a"),
        ]);
        assert_eq!((c.endpoint.host.as_str(), c.endpoint.port), ("::1", 9999));
        assert_eq!(c.endpoint.authority, "[::1]:9999");
        assert_eq!(c.endpoint.target, "/custom?tenant=a");
        let c = config(&[(TRACES_ENDPOINT, "HTTP://localhost")]);
        assert_eq!((c.endpoint.port, c.endpoint.target.as_str()), (80, "/"));
    }

    #[test]
    fn refuses_https_and_malformed_endpoints_with_one_line() {
        let err = env(&[(ENDPOINT, "https://otlp.example.com")]).expect_err("https");
        assert_eq!(
            err.to_string(),
            "OTLP endpoint https://otlp.example.com: https is not supported; point \
             OTEL_EXPORTER_OTLP_ENDPOINT at a local collector over http (for example \
             http://127.0.0.1:4318) and let it forward over TLS"
        );
        for bad in [
            "127.0.0.1:4318",
            "http://",
            "http://host:0",
            "http://host:99999",
            "http://host:",
            "http://::1:4318",
            "http://h/a b",
            "grpc://h",
        ] {
            let err = env(&[(ENDPOINT, bad)]).expect_err(bad).to_string();
            assert!(err.starts_with("OTEL_EXPORTER_OTLP_ENDPOINT: "), "{err}");
            assert!(!err.contains('\n'));
        }
        let err = env(&[(ENDPOINT, "http://user:hunter2@h:4318")])
            .expect_err("userinfo")
            .to_string();
        assert!(err.contains("credentials in the URL"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn only_http_protobuf_is_accepted() {
        let on = (ENDPOINT, "http://h:4318");
        assert!(env(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")]).is_ok());
        let err = env(&[on, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]).expect_err("grpc");
        assert_eq!(
            err.to_string(),
            "OTEL_EXPORTER_OTLP_PROTOCOL: \"grpc\": only http/protobuf is supported"
        );
        // The traces-specific variable wins.
        assert!(
            env(&[
                on,
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ])
            .is_ok()
        );
    }

    #[test]
    fn traces_headers_override_generic_ones_case_insensitively() {
        let c = config(&[
            (ENDPOINT, "http://h:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=a,x-tenant=t"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "authorization=b"),
        ]);
        assert_eq!(
            c.headers,
            vec![
                ("x-tenant".to_owned(), "t".to_owned()),
                ("authorization".to_owned(), "b".to_owned()),
            ]
        );
    }

    #[test]
    fn the_timeout_is_capped_so_a_dead_collector_never_stalls_a_job() {
        let on = (ENDPOINT, "http://h:4318");
        assert_eq!(config(&[on]).timeout, MAX_TIMEOUT);
        let t = |v| config(&[on, ("OTEL_EXPORTER_OTLP_TIMEOUT", v)]).timeout;
        assert_eq!(t("250"), Duration::from_millis(250));
        assert_eq!(t("60000"), MAX_TIMEOUT);
        assert_eq!(t("0"), MAX_TIMEOUT);
        assert_eq!(t("soon"), MAX_TIMEOUT);
        let c = config(&[
            on,
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "100"),
        ]);
        assert_eq!(c.timeout, Duration::from_millis(100));
    }

    #[test]
    fn builds_a_run_span_with_step_children_and_the_resource() {
        let mut b = Report::start("sbom-diff", "diff");
        b.phase(Some("P1".to_owned()))
            .error("input", "cannot read postgres://u:pw@h/db");
        let mut report = b.finish();
        report.started_at = "2026-11-24T10:00:00Z".to_owned();
        report.duration_ms = 1500;
        let t0 = Timestamp::parse("2026-11-24T10:00:00.200Z")
            .expect("valid")
            .to_system();
        let steps = vec![StepRecord {
            name: "read".to_owned(),
            span_id: [7; 8],
            start: t0,
            end: t0 + Duration::from_secs(2),
            failed: true,
        }];
        let ctx = TraceContext {
            trace_id: [1; 16],
            span_id: [2; 8],
            parent_span_id: Some([3; 8]),
            sampled: true,
        };
        let c = config(&[
            (ENDPOINT, "http://h:4318"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=ci,service.name=x",
            ),
            ("OTEL_SERVICE_NAME", "release-gates"),
        ]);
        let req = build_request(&report, &steps, &ctx, &c, SystemTime::now());
        let rs = &req.resource_spans[0];
        let res: Vec<(&str, String)> = rs
            .resource
            .as_ref()
            .expect("resource")
            .attributes
            .iter()
            .map(kv)
            .collect();
        assert_eq!(
            res,
            vec![
                ("deployment.environment", "ci".to_owned()),
                ("service.name", "release-gates".to_owned()),
                ("service.version", TOOL_VERSION.to_owned()),
            ]
        );
        let spans = &rs.scope_spans[0].spans;
        let (run, step) = (&spans[0], &spans[1]);
        assert_eq!(run.name, "sbom-diff diff");
        assert_eq!(
            (
                run.trace_id.as_slice(),
                run.span_id.as_slice(),
                run.parent_span_id.as_slice()
            ),
            (&[1u8; 16][..], &[2u8; 8][..], &[3u8; 8][..])
        );
        assert_eq!(run.flags, 0x301);
        let status = run.status.as_ref().expect("status");
        assert_eq!(status.code, StatusCode::Error as i32);
        assert_eq!(status.message, "cannot read postgres://u:***@h/db");
        let attrs: Vec<(&str, String)> = run.attributes.iter().map(kv).collect();
        assert!(attrs.contains(&("gatehouse.result", "error".to_owned())));
        assert!(attrs.contains(&("gatehouse.phase", "P1".to_owned())));
        assert!(attrs.contains(&("gatehouse.error.kind", "input".to_owned())));
        // The run span covers its step even though started_at has whole seconds.
        assert!(run.start_time_unix_nano <= step.start_time_unix_nano);
        assert!(run.end_time_unix_nano >= step.end_time_unix_nano);
        assert_eq!(step.parent_span_id, vec![2; 8]);
        assert_eq!(step.flags, 0x101);
        assert_eq!(
            step.status.as_ref().map(|s| s.code),
            Some(StatusCode::Error as i32)
        );
    }

    #[test]
    fn a_failing_verdict_is_not_an_error_status() {
        let mut b = Report::start("t", "a");
        b.check(crate::report::Check::fail("x", "no"));
        let ctx = TraceContext::new_root();
        let req = build_request(
            &b.finish(),
            &[],
            &ctx,
            &config(&[(ENDPOINT, "http://h")]),
            SystemTime::now(),
        );
        let run = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            run.status.as_ref().map(|s| s.code),
            Some(StatusCode::Unset as i32)
        );
        assert!(run.parent_span_id.is_empty());
        assert_eq!(run.flags, 0x101);
        let res = &req.resource_spans[0]
            .resource
            .as_ref()
            .expect("resource")
            .attributes;
        assert_eq!(kv(&res[0]), ("service.name", "t".to_owned()));
    }

    #[test]
    fn the_run_span_starts_within_its_second_not_at_its_floor() {
        let mut report = Report::start("t", "a").finish();
        report.started_at = "2026-11-24T10:00:00Z".to_owned();
        report.duration_ms = 500;
        let p = Timestamp::parse("2026-11-24T10:00:00Z")
            .expect("valid")
            .to_system();
        let span_at = |now: SystemTime| {
            let ctx = TraceContext::new_root();
            let c = config(&[(ENDPOINT, "http://h")]);
            let req = build_request(&report, &[], &ctx, &c, now);
            let run = &req.resource_spans[0].scope_spans[0].spans[0];
            (run.start_time_unix_nano, run.end_time_unix_nano)
        };
        // Exported right away: now - duration.
        let now = p + Duration::from_millis(1_200);
        assert_eq!(
            span_at(now),
            (unix_nanos(p + Duration::from_millis(700)), unix_nanos(now))
        );
        // Exported much later: the end of started_at's second at most.
        let late = p + Duration::from_secs(3_600);
        assert_eq!(span_at(late).0, unix_nanos(p + Duration::from_millis(999)));
        // A clock that went backwards: never before started_at.
        assert_eq!(span_at(p).0, unix_nanos(p));
    }

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

    fn kv(kv: &KeyValue) -> (&str, String) {
        let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            other => format!("{other:?}"),
        };
        (kv.key.as_str(), value)
    }

    proptest! {
        #[test]
        fn arbitrary_endpoints_and_lists_never_panic(s in "\\PC{0,60}") {
            let _ = parse_endpoint(ENDPOINT, &s, true);
            let _ = parse_endpoint(ENDPOINT, &format!("http://{s}"), false);
            let _ = parse_headers("OTEL_EXPORTER_OTLP_HEADERS", &s);
            let _ = parse_status_line(s.as_bytes());
        }

        #[test]
        fn encoded_values_decode_back(v in "\\PC{0,30}") {
            let encoded: String = v.bytes().map(|b| format!("%{b:02X}")).collect();
            let parsed = parse_key_values(&format!("k={encoded}")).expect("valid");
            prop_assert_eq!(&parsed[0].1, &v);
        }
    }
}
