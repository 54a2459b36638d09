//! W3C trace context for a run: the ids every report carries, taken from `TRACEPARENT` so
//! that all tools in one CI job share one trace, and the steps recorded as child spans.
//!
//! The context is process-wide (one run, one span). Steps are cheap: a guard that records
//! its start and end; they are exported only when OTLP export is on (see `otlp`).

use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use crate::hash::hex;

/// The run's place in a distributed trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// This run's span.
    pub span_id: [u8; 8],
    /// The span named by `TRACEPARENT`, when the run continues a trace.
    pub parent_span_id: Option<[u8; 8]>,
    pub sampled: bool,
}

/// Why a `TRACEPARENT` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TRACEPARENT {value:?}: {reason}")]
pub struct TraceparentError {
    pub value: String,
    pub reason: &'static str,
}

impl TraceContext {
    /// A new trace with fresh random ids.
    pub fn new_root() -> Self {
        TraceContext {
            trace_id: random_nonzero(),
            span_id: random_nonzero(),
            parent_span_id: None,
            sampled: true,
        }
    }

    /// Continues the trace of a `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`) with a
    /// new span of our own.
    pub fn from_traceparent(value: &str) -> Result<Self, TraceparentError> {
        let (trace_id, parent, flags) = parse_traceparent(value)?;
        Ok(TraceContext {
            trace_id,
            span_id: random_nonzero(),
            parent_span_id: Some(parent),
            sampled: flags & 1 == 1,
        })
    }

    pub fn trace_id_hex(&self) -> String {
        hex(&self.trace_id)
    }

    pub fn span_id_hex(&self) -> String {
        hex(&self.span_id)
    }

    /// The `traceparent` header naming this run's span, for child processes and requests.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id_hex(),
            self.span_id_hex(),
            u8::from(self.sampled)
        )
    }
}

/// Parses a W3C `traceparent` value: (trace id, parent span id, flags).
pub fn parse_traceparent(value: &str) -> Result<([u8; 16], [u8; 8], u8), TraceparentError> {
    let fail = |reason| TraceparentError {
        value: value.to_owned(),
        reason,
    };
    let v = value.trim();
    let parts: Vec<&str> = v.split('-').collect();
    if parts.len() < 4 {
        return Err(fail("expected version-traceid-parentid-flags"));
    }
    let version =
        decode_hex::<1>(parts[0]).ok_or_else(|| fail("version is not 2 lowercase hex digits"))?[0];
    if version == 0xff {
        return Err(fail("version ff is invalid"));
    }
    // Version 00 has exactly four fields; later versions may append more (the spec says to
    // parse the first four and ignore the rest).
    if version == 0 && parts.len() != 4 {
        return Err(fail("version 00 has exactly four fields"));
    }
    let trace_id = decode_hex::<16>(parts[1])
        .ok_or_else(|| fail("trace id is not 32 lowercase hex digits"))?;
    let span_id = decode_hex::<8>(parts[2])
        .ok_or_else(|| fail("parent id is not 16 lowercase hex digits"))?;
    let flags =
        decode_hex::<1>(parts[3]).ok_or_else(|| fail("flags are not 2 lowercase hex digits"))?[0];
    if trace_id == [0; 16] {
        return Err(fail("trace id is all zeros"));
    }
    if span_id == [0; 8] {
        return Err(fail("parent id is all zeros"));
    }
    Ok((trace_id, span_id, flags))
}

fn decode_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

/// Random bytes, never all zero (an all-zero id is invalid in W3C trace context).
pub fn random_nonzero<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    loop {
        if getrandom::fill(&mut out).is_err() {
            // No OS randomness: fall back to the clock and pid, which is unique enough for
            // trace ids (they identify, they do not protect).
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            let seed = nanos ^ (u128::from(std::process::id()) << 64);
            for (i, o) in out.iter_mut().enumerate() {
                *o = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(31);
            }
        }
        if out.iter().any(|&b| b != 0) {
            return out;
        }
    }
}

static CURRENT: OnceLock<TraceContext> = OnceLock::new();

/// The run's trace context: from `TRACEPARENT` when set and valid, else a new trace.
///
/// An invalid `TRACEPARENT` is reported once on stderr and a new trace starts, as the W3C
/// spec asks: telemetry must never turn a gate's verdict into an error.
pub fn current() -> &'static TraceContext {
    CURRENT.get_or_init(|| match std::env::var("TRACEPARENT") {
        Ok(v) if !v.trim().is_empty() => TraceContext::from_traceparent(&v).unwrap_or_else(|e| {
            tracing::warn!("{e}; starting a new trace");
            TraceContext::new_root()
        }),
        _ => TraceContext::new_root(),
    })
}

/// A finished step of the run, exported as a child span of the run's span.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub name: String,
    pub span_id: [u8; 8],
    pub start: SystemTime,
    pub end: SystemTime,
    pub failed: bool,
}

static STEPS: Mutex<Vec<StepRecord>> = Mutex::new(Vec::new());

/// Starts a step (a child span of the run). It ends when the guard drops.
pub fn step(name: impl Into<String>) -> Step {
    Step {
        name: name.into(),
        start: SystemTime::now(),
        failed: false,
    }
}

/// A running step; see [`step`].
#[derive(Debug)]
#[must_use = "a step ends when it is dropped"]
pub struct Step {
    name: String,
    start: SystemTime,
    failed: bool,
}

impl Step {
    /// Marks the step's span as failed (status ERROR in OTLP).
    pub fn failed(&mut self) {
        self.failed = true;
    }
}

impl Drop for Step {
    fn drop(&mut self) {
        let record = StepRecord {
            name: std::mem::take(&mut self.name),
            span_id: random_nonzero(),
            start: self.start,
            end: SystemTime::now(),
            failed: self.failed,
        };
        if let Ok(mut steps) = STEPS.lock() {
            steps.push(record);
        }
    }
}

/// The steps recorded so far, in the order they ended.
pub fn recorded_steps() -> Vec<StepRecord> {
    STEPS.lock().map(|s| s.clone()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn continues_a_valid_traceparent() {
        let ctx = TraceContext::from_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .expect("valid");
        assert_eq!(ctx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            ctx.parent_span_id,
            Some([0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7])
        );
        assert_ne!(ctx.span_id_hex(), "00f067aa0ba902b7");
        assert!(ctx.sampled);
        assert!(
            ctx.traceparent()
                .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-")
        );
    }

    #[test]
    fn refuses_malformed_traceparents_with_the_value_named() {
        for (bad, reason) in [
            ("", "expected version-traceid-parentid-flags"),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                "expected version-traceid-parentid-flags",
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "trace id is not 32 lowercase hex digits",
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "trace id is all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "parent id is all zeros",
            ),
            (
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "version ff is invalid",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
                "version 00 has exactly four fields",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",
                "flags are not 2 lowercase hex digits",
            ),
        ] {
            let err = parse_traceparent(bad).expect_err(bad);
            assert_eq!(err.reason, reason, "{bad}");
            assert!(err.to_string().starts_with("TRACEPARENT "));
            assert!(!err.to_string().contains('\n'));
        }
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")
                .is_ok()
        );
    }

    #[test]
    fn steps_are_recorded_when_dropped() {
        {
            let mut s = step("unit-step");
            s.failed();
        }
        let steps = recorded_steps();
        let s = steps
            .iter()
            .find(|s| s.name == "unit-step")
            .expect("recorded");
        assert!(s.failed);
        assert!(s.end >= s.start);
    }

    proptest! {
        #[test]
        fn arbitrary_traceparents_never_panic(s in "\\PC{0,80}") {
            let _ = parse_traceparent(&s);
        }

        #[test]
        fn formatted_traceparents_parse_back(t in any::<[u8; 16]>(), p in any::<[u8; 8]>(), sampled in any::<bool>()) {
            prop_assume!(t != [0; 16] && p != [0; 8]);
            let ctx = TraceContext { trace_id: t, span_id: p, parent_span_id: None, sampled };
            let (t2, p2, f) = parse_traceparent(&ctx.traceparent()).expect("own output parses");
            prop_assert_eq!((t2, p2, f & 1 == 1), (t, p, sampled));
        }
    }
}
