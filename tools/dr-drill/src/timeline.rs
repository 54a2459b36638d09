//! `data.timeline`: every step of a drill with its wall-clock time and its offset from T0
//! (the cut), so a human can replay what happened.

use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

#[derive(Debug)]
pub struct Timeline {
    started: Instant,
    t0: Option<Instant>,
    steps: Vec<(Instant, SystemTime, String, String)>,
}

impl Timeline {
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            t0: None,
            steps: Vec::new(),
        }
    }

    /// Records a step now.
    pub fn step(&mut self, step: &str, detail: impl Into<String>) -> Instant {
        let now = Instant::now();
        self.at(now, SystemTime::now(), step, detail);
        now
    }

    /// Records a step that happened at `when` (an acknowledgement seen by another task).
    pub fn at(&mut self, when: Instant, wall: SystemTime, step: &str, detail: impl Into<String>) {
        let detail = detail.into();
        tracing::info!(step, "{}", gatehouse::redact::redact(&detail));
        self.steps.push((when, wall, step.to_owned(), detail));
    }

    /// Marks T0 (the cut) and records it.
    pub fn t0(&mut self, detail: impl Into<String>) -> Instant {
        let now = self.step("t0_cut", detail);
        self.t0 = Some(now);
        now
    }

    pub fn to_json(&self) -> Value {
        let base = self.t0.unwrap_or(self.started);
        let mut steps: Vec<&(Instant, SystemTime, String, String)> = self.steps.iter().collect();
        steps.sort_by_key(|s| s.0);
        Value::Array(
            steps
                .into_iter()
                .map(|(i, wall, step, detail)| {
                    let t = if *i >= base {
                        i.duration_since(base).as_secs_f64()
                    } else {
                        -base.duration_since(*i).as_secs_f64()
                    };
                    json!({
                        "step": step,
                        "at": rfc3339_millis(*wall),
                        "t_seconds": (t * 1000.0).round() / 1000.0,
                        "detail": detail,
                    })
                })
                .collect(),
        )
    }
}

/// `2026-12-07T15:04:05.123Z`.
pub fn rfc3339_millis(t: SystemTime) -> String {
    gatehouse::time::Timestamp::from_system(t).to_rfc3339_millis()
}
