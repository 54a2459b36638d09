//! Exports a finished run over OTLP/HTTP: one span for the run and one child span per
//! recorded step, POSTed as protobuf to the collector the `OTEL_EXPORTER_OTLP_*` variables
//! name. With no endpoint configured it reads a few variables and does nothing else: no
//! thread, no runtime, no socket.
//!
//! This file owns the public surface and the order of the steps: read the settings
//! (`config`), build the request (`encode`), send it as one blocking HTTP/1.1 POST (`http`).
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

mod config;
mod encode;
mod http;

use std::io;
use std::time::{Duration, SystemTime};

use prost::Message;

use crate::report::Report;
use crate::trace::StepRecord;

use config::Config;

/// Whatever `OTEL_EXPORTER_OTLP_TIMEOUT` says, a dead or stuck collector costs a run at most
/// this much (connect, send and answer together): telemetry must never stall a CI job.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3);

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
    let body =
        encode::build_request(report, steps, ctx, &config, SystemTime::now()).encode_to_vec();
    http::post(&config, &body)?;
    Ok(true)
}
