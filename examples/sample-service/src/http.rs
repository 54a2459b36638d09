//! The two routers and the middleware every API request passes: metrics on the outside (so
//! what the faults do is measured, never hidden), then the fault knobs — stall, capacity
//! queue, latency, injected 500 — then the handler. `/metrics` and the long-lived realtime
//! streams are measured but not faulted: the observer stays able to observe.

use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::faults::{FaultsUpdate, FaultsView, Verdict};
use crate::metrics::{
    CONTENT_TYPE, RequestLabels, RouteLabels, TEXT_CONTENT_TYPE, to_prometheus_text,
};
use crate::state::AppState;
use crate::{api, realtime};

/// The API port: shop API, realtime, health and /metrics.
pub fn api_router(st: AppState) -> Router {
    Router::new()
        .route("/customers", axum::routing::post(api::create_customer))
        .route("/customers/{id}", get(api::get_customer))
        .route("/orders", axum::routing::post(api::create_order))
        .route("/orders/{id}", get(api::get_order))
        .route("/events/stream", get(realtime::sse))
        .route("/events/ws", get(realtime::ws))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(st.clone(), track))
        .with_state(st)
}

/// The admin port: the fault knobs.
pub fn admin_router(st: AppState) -> Router {
    Router::new()
        .route(
            "/admin/faults",
            get(get_faults).put(put_faults).delete(delete_faults),
        )
        .route("/healthz", get(api::healthz))
        .with_state(st)
}

/// OpenMetrics for a client that asks for it (Prometheus does), else the Prometheus text
/// format.
async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let openmetrics = headers
        .get_all("accept")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let body = st.metrics.encode();
    if openmetrics {
        ([("content-type", CONTENT_TYPE)], body).into_response()
    } else {
        (
            [("content-type", TEXT_CONTENT_TYPE)],
            to_prometheus_text(&body),
        )
            .into_response()
    }
}

async fn get_faults(State(st): State<AppState>) -> Json<FaultsView> {
    Json(st.faults.view())
}

async fn put_faults(
    State(st): State<AppState>,
    body: Result<Json<FaultsUpdate>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let update = match body {
        Ok(Json(u)) => u,
        Err(e) => return (e.status(), Json(json!({ "error": e.body_text() }))).into_response(),
    };
    match st.faults.update(update) {
        Ok(()) => {
            let view = st.faults.view();
            tracing::info!("faults set: {}", json!(view));
            Json(view).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": e })),
        )
            .into_response(),
    }
}

async fn delete_faults(State(st): State<AppState>) -> Json<FaultsView> {
    st.faults.reset();
    tracing::info!("faults cleared");
    Json(st.faults.view())
}

/// Counts a request in flight for as long as it lives, also when the client goes away.
struct InFlight<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn track(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    // Kept (a cheap clone) past the handler, which takes the request.
    let traceparent = req.headers().get("traceparent").cloned();
    st.metrics.http_in_flight.inc();
    let in_flight = InFlight(&st.metrics.http_in_flight);
    let exempt = route == "/metrics" || route.starts_with("/events/");
    let mut res = if exempt {
        next.run(req).await
    } else {
        faulted(&st, &route, req, next).await
    };
    drop(in_flight);
    res.headers_mut()
        .insert("x-service-version", st.settings.version_header.clone());
    let elapsed = start.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    // A traced request (a probe's, a traced client's) is one INFO line naming its trace, so
    // the trace id a probe reports is found in this log; untraced traffic (load tests) only
    // at DEBUG, so a load test does not flood the log.
    let trace = traceparent
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    match trace {
        Some(t) => tracing::info!(
            trace_id = t.trace_id,
            span_id = t.span_id,
            method = %method,
            route = %route,
            status,
            duration_ms = elapsed * 1000.0,
            "request"
        ),
        None => tracing::debug!(
            method = %method,
            route = %route,
            status,
            duration_ms = elapsed * 1000.0,
            "request"
        ),
    }
    st.metrics
        .http_duration
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method: method.clone(),
        })
        .observe(elapsed);
    st.metrics
        .http_requests
        .get_or_create(&RequestLabels {
            route,
            method,
            code: res.status().as_u16().to_string(),
        })
        .inc();
    res
}

async fn faulted(st: &AppState, route: &str, req: Request, next: Next) -> Response {
    st.faults.wait_stall().await;
    let _permit = match st.faults.limiter() {
        Some(limit) => limit.acquire_owned().await.ok(),
        None => None,
    };
    let latency = st.faults.draw_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let res = match st.faults.draw_error(route) {
        Verdict::Fail => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": "injected fault (error rate)" })),
        )
            .into_response(),
        Verdict::Proceed => next.run(req).await,
    };
    // A stall that began while the handler ran holds its response too.
    st.faults.wait_stall().await;
    res
}

/// The ids of a W3C `traceparent` header (`00-<32 hex trace id>-<16 hex parent id>-<flags>`).
#[derive(Debug, PartialEq)]
pub struct TraceParent<'a> {
    pub trace_id: &'a str,
    pub span_id: &'a str,
}

impl<'a> TraceParent<'a> {
    /// The ids of a well-formed header (version 00, non-zero ids), else `None`: a malformed
    /// header is ignored as the W3C spec says, never logged as if it named a trace.
    pub fn parse(header: &'a str) -> Option<Self> {
        let mut parts = header.trim().split('-');
        let (version, trace_id, span_id, flags) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        let hex = |s: &str, n: usize| {
            s.len() == n
                && s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                && s.bytes().any(|b| b != b'0')
        };
        let ok = version == "00"
            && parts.next().is_none()
            && hex(trace_id, 32)
            && hex(span_id, 16)
            && flags.len() == 2
            && flags.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then_some(TraceParent { trace_id, span_id })
    }
}

#[cfg(test)]
mod tests {
    use super::TraceParent;

    #[test]
    fn a_traceparent_gives_its_ids_and_a_malformed_one_nothing() {
        assert_eq!(
            TraceParent::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some(TraceParent {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
                span_id: "00f067aa0ba902b7"
            })
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad:?}");
        }
    }
}
