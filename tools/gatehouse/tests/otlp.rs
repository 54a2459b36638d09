//! OTLP export against real sockets: a listener that speaks just enough HTTP/1.1 to take the
//! POST, a closed port and a collector that never answers.
//!
//! The exporter reads its settings from the environment, and the run's trace context is
//! fixed on first use, so this binary holds a single test that sets the variables before
//! anything reads them and walks through the cases in order (sound under `cargo test`'s
//! threads as well as nextest's process per test).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gatehouse::hash::hex;
use gatehouse::otlp::{MAX_TIMEOUT, export_run};
use gatehouse::report::Report;
use gatehouse::trace;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use prost::Message;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// One request as the listener saw it.
struct Received {
    request_line: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

#[test]
fn exports_the_run_and_its_steps_to_a_real_listener_and_fails_fast_without_one() {
    set_env("TRACEPARENT", &format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01"));
    set_env(
        "OTEL_EXPORTER_OTLP_HEADERS",
        "x-gatehouse-test=a%20b, authorization=Bearer abc+def==",
    );

    let mut builder = Report::start("t", "a");
    {
        let _step = trace::step("load inputs");
    }
    builder.summary("1 check: 1 passed");
    let report = builder.finish();
    let steps = trace::recorded_steps();

    nothing_is_exported_when_no_endpoint_is_set(&report, &steps);
    a_closed_port_fails_at_once_naming_the_endpoint(&report, &steps);
    a_collector_that_never_answers_costs_at_most_the_timeout(&report, &steps);
    the_run_and_its_step_arrive_as_protobuf_spans(&report, &steps);
}

fn nothing_is_exported_when_no_endpoint_is_set(report: &Report, steps: &[trace::StepRecord]) {
    remove_env("OTEL_EXPORTER_OTLP_ENDPOINT");
    remove_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let exported = export_run(report, steps).expect("no endpoint is not an error");
    assert!(!exported);
}

fn a_closed_port_fails_at_once_naming_the_endpoint(report: &Report, steps: &[trace::StepRecord]) {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    set_env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &format!("http://127.0.0.1:{port}"),
    );
    let started = Instant::now();
    let err = export_run(report, steps).expect_err("nothing listens there");
    assert!(
        started.elapsed() < MAX_TIMEOUT,
        "took {:?}",
        started.elapsed()
    );
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "OTLP endpoint http://127.0.0.1:{port}/v1/traces: cannot connect: "
        )),
        "{message}"
    );
    assert!(!message.contains('\n'));
    assert!(
        !message.contains("abc+def"),
        "header values stay out: {message}"
    );
}

fn a_collector_that_never_answers_costs_at_most_the_timeout(
    report: &Report,
    steps: &[trace::StepRecord],
) {
    // The kernel completes the handshake from the backlog; nobody ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = silent.local_addr().expect("addr").port();
    set_env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &format!("http://127.0.0.1:{port}/"),
    );
    set_env("OTEL_EXPORTER_OTLP_TIMEOUT", "300");
    let started = Instant::now();
    let err = export_run(report, steps).expect_err("no answer");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("OTLP endpoint http://127.0.0.1:{port}/v1/traces: no answer within 300 ms")
    );
    remove_env("OTEL_EXPORTER_OTLP_TIMEOUT");
    drop(silent);
}

fn the_run_and_its_step_arrive_as_protobuf_spans(report: &Report, steps: &[trace::StepRecord]) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    set_env(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        &format!("http://127.0.0.1:{port}"),
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let _ = tx.send(serve_one(stream));
    });

    let exported = export_run(report, steps).expect("exported");
    assert!(exported);
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the listener got a request")
        .expect("a well-formed request");

    assert_eq!(got.request_line, "POST /v1/traces HTTP/1.1");
    assert_eq!(
        got.headers.get("content-type").map(String::as_str),
        Some("application/x-protobuf")
    );
    assert_eq!(
        got.headers.get("x-gatehouse-test").map(String::as_str),
        Some("a b")
    );
    assert_eq!(
        got.headers.get("authorization").map(String::as_str),
        Some("Bearer abc+def==")
    );

    let request = ExportTraceServiceRequest::decode(got.body.as_slice()).expect("OTLP protobuf");
    let resource_spans = &request.resource_spans[0];
    let resource = &resource_spans
        .resource
        .as_ref()
        .expect("resource")
        .attributes;
    assert_eq!(attr(resource, "service.name").as_deref(), Some("t"));
    let spans = &resource_spans.scope_spans[0].spans;
    let run = spans.iter().find(|s| s.name == "t a").expect("run span");
    let step = spans
        .iter()
        .find(|s| s.name == "load inputs")
        .expect("step span");

    assert_eq!(hex(&run.trace_id), TRACE_ID);
    assert_eq!(hex(&run.parent_span_id), PARENT_SPAN_ID);
    assert_eq!(hex(&run.span_id), report.span_id);
    assert_eq!(hex(&step.trace_id), TRACE_ID);
    assert_eq!(step.parent_span_id, run.span_id);
    assert_ne!(step.span_id, run.span_id);
    assert!(run.start_time_unix_nano <= step.start_time_unix_nano);
    assert!(run.end_time_unix_nano >= step.end_time_unix_nano);
    assert_eq!(
        attr(&run.attributes, "gatehouse.result").as_deref(),
        Some("ok")
    );
    assert_eq!(
        attr(&run.attributes, "gatehouse.summary").as_deref(),
        Some("1 check: 1 passed")
    );
}

/// Reads one request (head, then `Content-Length` bytes of body), answers 200 and returns it.
fn serve_one(mut stream: TcpStream) -> Result<Received, String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the end of the head".to_owned());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .ok_or("no Content-Length")?
        .parse()
        .map_err(|_| "bad Content-Length")?;
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed before the end of the body".to_owned());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .map_err(|e| e.to_string())?;
    Ok(Received {
        request_line,
        headers,
        body,
    })
}

fn attr(attributes: &[KeyValue], key: &str) -> Option<String> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            any_value::Value::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
}

#[expect(
    unsafe_code,
    reason = "the only test in this binary changes the environment; no other thread reads it"
)]
fn set_env(key: &str, value: &str) {
    // SAFETY: see the reason above; the listener threads never touch the environment.
    unsafe { std::env::set_var(key, value) };
}

#[expect(unsafe_code, reason = "as for set_env")]
fn remove_env(key: &str) {
    // SAFETY: as for set_env.
    unsafe { std::env::remove_var(key) };
}
