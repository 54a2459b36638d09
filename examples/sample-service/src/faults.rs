//! Fault knobs: what real requests (and the real worker) are made to suffer, set at start by
//! flags and changed at run time on the admin port. Nothing here touches the metrics: a
//! delayed, failed, stalled or queued request is measured like any other.
//!
//! Admin API (admin port):
//! - `GET /admin/faults`: the current state (JSON, the shape [`FaultsView`]).
//! - `PUT /admin/faults`: a JSON object with any of the fields of [`FaultsUpdate`]; the
//!   others keep their values. `stall_seconds` starts a stall now.
//! - `DELETE /admin/faults`: every knob off.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;

use crate::cli::Cli;

/// The knobs' current values.
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    pub latency: Duration,
    pub latency_jitter: Duration,
    pub tail_latency: Duration,
    pub tail_rate: f64,
    /// Route template (or `*`) → fraction of its responses that are 500.
    pub error_rate: BTreeMap<String, f64>,
    pub stall_until: Option<Instant>,
    pub max_in_flight: Option<u32>,
    limiter: Option<Arc<Semaphore>>,
    pub poison_rate: f64,
    pub consumer_delay: Duration,
    pub consumer_stopped: bool,
    /// The realtime fan-out holds each event this long before writing it to a subscriber:
    /// a slow consumer on the SSE/WebSocket path (the ingest worker's is `consumer_delay`).
    pub delivery_delay: Duration,
}

#[derive(Clone, Default)]
pub struct Faults {
    knobs: Arc<RwLock<Knobs>>,
}

/// `GET /admin/faults`.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultsView {
    pub latency_ms: u64,
    pub latency_jitter_ms: u64,
    pub tail_latency_ms: u64,
    pub tail_rate: f64,
    pub error_rate: BTreeMap<String, f64>,
    /// Milliseconds of stall left; 0 when not stalled.
    pub stall_remaining_ms: u64,
    pub max_in_flight: Option<u32>,
    pub poison_rate: f64,
    pub consumer_delay_ms: u64,
    pub consumer_stopped: bool,
    pub delivery_delay_ms: u64,
}

/// `PUT /admin/faults`: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsUpdate {
    pub latency_ms: Option<u64>,
    pub latency_jitter_ms: Option<u64>,
    pub tail_latency_ms: Option<u64>,
    pub tail_rate: Option<f64>,
    /// Replaces the whole map; `{}` clears it.
    pub error_rate: Option<BTreeMap<String, f64>>,
    /// Stall for this many seconds from now (0 ends a stall).
    pub stall_seconds: Option<f64>,
    /// `null` is not distinguishable from absent here, so 0 means "no limit".
    pub max_in_flight: Option<u32>,
    pub poison_rate: Option<f64>,
    pub consumer_delay_ms: Option<u64>,
    pub consumer_stopped: Option<bool>,
    pub delivery_delay_ms: Option<u64>,
}

/// What the request path does before running the handler.
pub enum Verdict {
    Proceed,
    Fail,
}

fn check_fraction(name: &str, f: f64) -> Result<f64, String> {
    if (0.0..=1.0).contains(&f) {
        Ok(f)
    } else {
        Err(format!("{name}: {f} is not a fraction between 0 and 1"))
    }
}

/// Parses `--error-rate` values: `0.1` (every route, key `*`) or `/orders=0.5`.
pub fn parse_error_rates(values: &[String]) -> Result<BTreeMap<String, f64>, String> {
    let mut out = BTreeMap::new();
    for v in values {
        let (route, f) = match v.rsplit_once('=') {
            Some((route, f)) => (route.trim().to_owned(), f),
            None => ("*".to_owned(), v.as_str()),
        };
        let f = crate::cli::fraction(f).map_err(|e| format!("--error-rate {v:?}: {e}"))?;
        out.insert(route, f);
    }
    Ok(out)
}

impl Faults {
    pub fn from_cli(cli: &Cli) -> Result<Faults, String> {
        let faults = Faults::default();
        let error_rate = parse_error_rates(&cli.error_rate)?;
        let update = FaultsUpdate {
            latency_ms: cli.latency.map(millis),
            latency_jitter_ms: cli.latency_jitter.map(millis),
            tail_latency_ms: cli.tail_latency.map(millis),
            tail_rate: cli.tail_rate,
            error_rate: Some(error_rate),
            stall_seconds: cli.stall.map(|d| d.as_secs_f64()),
            max_in_flight: cli.max_in_flight,
            poison_rate: cli.poison_rate,
            consumer_delay_ms: cli.consumer_delay.map(millis),
            consumer_stopped: Some(cli.consumer_stopped),
            delivery_delay_ms: cli.delivery_delay.map(millis),
        };
        faults.update(update)?;
        Ok(faults)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Knobs> {
        self.knobs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> Knobs {
        self.read().clone()
    }

    pub fn update(&self, u: FaultsUpdate) -> Result<(), String> {
        // Validate everything before changing anything.
        let tail_rate = u
            .tail_rate
            .map(|f| check_fraction("tail_rate", f))
            .transpose()?;
        let poison_rate = u
            .poison_rate
            .map(|f| check_fraction("poison_rate", f))
            .transpose()?;
        if let Some(map) = &u.error_rate {
            for (route, f) in map {
                check_fraction(&format!("error_rate[{route}]"), *f)?;
            }
        }
        if let Some(s) = u.stall_seconds
            && !(s.is_finite() && (0.0..=86_400.0).contains(&s))
        {
            return Err(format!("stall_seconds: {s} is not between 0 and 86400"));
        }
        let mut k = self
            .knobs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(v) = u.latency_ms {
            k.latency = Duration::from_millis(v);
        }
        if let Some(v) = u.latency_jitter_ms {
            k.latency_jitter = Duration::from_millis(v);
        }
        if let Some(v) = u.tail_latency_ms {
            k.tail_latency = Duration::from_millis(v);
        }
        if let Some(v) = tail_rate {
            k.tail_rate = v;
        }
        if let Some(v) = u.error_rate {
            k.error_rate = v;
        }
        if let Some(s) = u.stall_seconds {
            k.stall_until = (s > 0.0).then(|| Instant::now() + Duration::from_secs_f64(s));
        }
        if let Some(n) = u.max_in_flight {
            // A new limit gets a new semaphore; requests holding the old one finish on it.
            k.max_in_flight = (n > 0).then_some(n);
            k.limiter = k
                .max_in_flight
                .map(|n| Arc::new(Semaphore::new(n as usize)));
        }
        if let Some(v) = poison_rate {
            k.poison_rate = v;
        }
        if let Some(v) = u.consumer_delay_ms {
            k.consumer_delay = Duration::from_millis(v);
        }
        if let Some(v) = u.consumer_stopped {
            k.consumer_stopped = v;
        }
        if let Some(v) = u.delivery_delay_ms {
            k.delivery_delay = Duration::from_millis(v);
        }
        Ok(())
    }

    pub fn reset(&self) {
        *self
            .knobs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Knobs::default();
    }

    pub fn view(&self) -> FaultsView {
        let k = self.read();
        FaultsView {
            latency_ms: millis(k.latency),
            latency_jitter_ms: millis(k.latency_jitter),
            tail_latency_ms: millis(k.tail_latency),
            tail_rate: k.tail_rate,
            error_rate: k.error_rate.clone(),
            stall_remaining_ms: k
                .stall_until
                .map_or(0, |t| millis(t.saturating_duration_since(Instant::now()))),
            max_in_flight: k.max_in_flight,
            poison_rate: k.poison_rate,
            consumer_delay_ms: millis(k.consumer_delay),
            consumer_stopped: k.consumer_stopped,
            delivery_delay_ms: millis(k.delivery_delay),
        }
    }

    /// Waits out a stall, if one is on (re-reading: a stall may be extended or ended).
    pub async fn wait_stall(&self) {
        loop {
            let until = self.read().stall_until;
            match until {
                Some(t) if t > Instant::now() => {
                    let left = t - Instant::now();
                    tokio::time::sleep(left.min(Duration::from_millis(100))).await;
                }
                _ => return,
            }
        }
    }

    /// The capacity limiter in force, if any.
    pub fn limiter(&self) -> Option<Arc<Semaphore>> {
        self.read().limiter.clone()
    }

    /// The latency to add to one request, drawn from the configured distribution.
    pub fn draw_latency(&self) -> Duration {
        let k = self.read();
        let mut d = k.latency;
        if !k.latency_jitter.is_zero() {
            d += k.latency_jitter.mul_f64(fastrand::f64());
        }
        if k.tail_rate > 0.0 && fastrand::f64() < k.tail_rate {
            d += k.tail_latency;
        }
        d
    }

    /// Whether this response to `route` is to be a 500.
    pub fn draw_error(&self, route: &str) -> Verdict {
        let k = self.read();
        let rate = k
            .error_rate
            .get(route)
            .or_else(|| k.error_rate.get("*"))
            .copied()
            .unwrap_or(0.0);
        if rate > 0.0 && fastrand::f64() < rate {
            Verdict::Fail
        } else {
            Verdict::Proceed
        }
    }

    /// Whether the next published event is poison.
    pub fn draw_poison(&self) -> bool {
        let rate = self.read().poison_rate;
        rate > 0.0 && fastrand::f64() < rate
    }

    /// How long the realtime fan-out holds each event before a subscriber gets it.
    pub fn delivery_delay(&self) -> Duration {
        self.read().delivery_delay
    }

    pub fn consumer(&self) -> (bool, Duration) {
        let k = self.read();
        (k.consumer_stopped, k.consumer_delay)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_rates_parse_per_route_and_for_all() {
        let m = parse_error_rates(&["0.1".into(), "/orders=0.5".into()]).expect("valid");
        assert_eq!(m.get("*"), Some(&0.1));
        assert_eq!(m.get("/orders"), Some(&0.5));
        assert!(parse_error_rates(&["/orders=2".into()]).is_err());
    }

    #[test]
    fn an_update_with_a_bad_field_changes_nothing() {
        let f = Faults::default();
        let bad = FaultsUpdate {
            latency_ms: Some(10),
            tail_rate: Some(1.5),
            ..FaultsUpdate::default()
        };
        assert!(f.update(bad).is_err());
        assert_eq!(f.view().latency_ms, 0);
    }

    #[test]
    fn a_route_rate_overrides_the_default() {
        let f = Faults::default();
        f.update(FaultsUpdate {
            error_rate: Some(BTreeMap::from([
                ("*".into(), 1.0),
                ("/healthz".into(), 0.0),
            ])),
            ..FaultsUpdate::default()
        })
        .expect("valid");
        assert!(matches!(f.draw_error("/orders"), Verdict::Fail));
        assert!(matches!(f.draw_error("/healthz"), Verdict::Proceed));
    }
}
