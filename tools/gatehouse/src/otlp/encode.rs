//! Builds the opentelemetry-proto `ExportTraceServiceRequest` for a run: the run span, a
//! child span per step and the resource; knows nothing about the transport.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, SpanFlags, Status};

use super::config::Config;
use crate::redact::redact;
use crate::report::{Outcome, Report, TOOL_VERSION};
use crate::time::Timestamp;
use crate::trace::{StepRecord, TraceContext};

/// The OTLP request for a run: the run span (child of `TRACEPARENT`'s span when there is one)
/// and a child span per step.
pub(super) fn build_request(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::config::ENDPOINT;

    fn config(pairs: &[(&str, &str)]) -> Config {
        Config::from_pairs(pairs)
            .expect("valid")
            .expect("configured")
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

    fn kv(kv: &KeyValue) -> (&str, String) {
        let value = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s.clone(),
            other => format!("{other:?}"),
        };
        (kv.key.as_str(), value)
    }
}
