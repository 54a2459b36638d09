//! When iterations start. Arrival-rate executors fix every iteration's intended start time in
//! advance (iteration k starts when the integrated rate reaches k); a worker of a shard takes
//! every S-th of them (S = shards × workers), so shards and workers partition one global
//! schedule exactly. Closed-model VUs are numbered globally and split the same way.

use std::time::Duration;

use crate::scenario::{Executor, Stage};

/// Which slice of the global schedule a worker runs: items `k` with `k % stride == offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    pub offset: u64,
    pub stride: u64,
}

impl Slice {
    /// Worker `w` of `workers` in shard `index` of `count`.
    pub fn of(index: u64, count: u64, w: u64, workers: u64) -> Slice {
        Slice::new(index + count * w, count * workers)
    }

    pub fn new(offset: u64, stride: u64) -> Slice {
        Slice {
            offset,
            stride: stride.max(1),
        }
    }

    /// How many of `0..n` fall in this slice.
    pub fn share(&self, n: u64) -> u64 {
        if self.offset >= n {
            0
        } else {
            (n - self.offset - 1) / self.stride + 1
        }
    }

    pub fn contains(&self, k: u64) -> bool {
        k % self.stride == self.offset
    }
}

/// Piecewise-linear rate (per second) stages, as ramping-arrival-rate defines them.
#[derive(Debug, Clone)]
struct Ramp {
    /// (start rate, end rate, seconds, iterations before, seconds before)
    parts: Vec<(f64, f64, f64, f64, f64)>,
    total: u64,
}

impl Ramp {
    fn new(start: f64, stages: &[Stage]) -> Ramp {
        let mut parts = Vec::new();
        let (mut a, mut cum, mut t0) = (start, 0.0, 0.0);
        for s in stages {
            let d = s.duration.as_secs_f64();
            let area = (a + s.target) / 2.0 * d;
            parts.push((a, s.target, d, cum, t0));
            cum += area;
            t0 += d;
            a = s.target;
        }
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a finite count ≥ 0"
        )]
        let total = (cum + 1e-9).floor().max(0.0) as u64;
        Ramp { parts, total }
    }

    /// Seconds from the executor's start at which iteration `k` is intended.
    fn time_of(&self, k: u64, hint: &mut usize) -> f64 {
        let k = k as f64;
        while *hint + 1 < self.parts.len() {
            let (a, b, d, cum, _) = self.parts[*hint];
            if k < cum + (a + b) / 2.0 * d {
                break;
            }
            *hint += 1;
        }
        let Some(&(a, b, d, cum, t0)) = self.parts.get(*hint) else {
            return 0.0;
        };
        let x = (k - cum).max(0.0);
        if x == 0.0 {
            return t0;
        }
        let c = if d > 0.0 { (b - a) / d } else { 0.0 };
        let disc = (a * a + 2.0 * c * x).max(0.0);
        let denom = a + disc.sqrt();
        let t = if denom > 0.0 { 2.0 * x / denom } else { d };
        t0 + t.min(d)
    }
}

/// The intended start times (from the executor's start) of one worker's slice of an
/// arrival-rate executor, with each iteration's global number.
#[derive(Debug, Clone)]
pub struct Arrivals {
    ramp: Ramp,
    slice: Slice,
    next: u64,
    hint: usize,
}

impl Arrivals {
    /// None for a closed-model executor.
    pub fn of(executor: &Executor, slice: Slice) -> Option<Arrivals> {
        let ramp = match executor {
            Executor::ConstantArrivalRate { rate, duration, .. } => Ramp::new(
                *rate,
                &[Stage {
                    target: *rate,
                    duration: *duration,
                }],
            ),
            Executor::RampingArrivalRate {
                start_rate, stages, ..
            } => Ramp::new(*start_rate, stages),
            _ => return None,
        };
        Some(Arrivals {
            ramp,
            slice,
            next: slice.offset,
            hint: 0,
        })
    }

    /// Iterations in the whole (all shards, all workers) schedule.
    pub fn total(&self) -> u64 {
        self.ramp.total
    }
}

impl Iterator for Arrivals {
    type Item = (u64, Duration);

    fn next(&mut self) -> Option<(u64, Duration)> {
        let k = self.next;
        if k >= self.ramp.total {
            return None;
        }
        self.next += self.slice.stride;
        let t = self.ramp.time_of(k, &mut self.hint);
        Some((k, Duration::from_secs_f64(t.max(0.0))))
    }
}

/// ramping-vus: how many VUs are active `t` into the executor.
pub fn vus_at(start: u64, stages: &[Stage], t: Duration) -> f64 {
    let mut a = start as f64;
    let mut t = t.as_secs_f64();
    for s in stages {
        let d = s.duration.as_secs_f64();
        if t < d {
            return if d > 0.0 {
                a + (s.target - a) * t / d
            } else {
                s.target
            };
        }
        t -= d;
        a = s.target;
    }
    a
}

/// The most VUs a ramping-vus executor ever has.
pub fn peak_vus(start: u64, stages: &[Stage]) -> u64 {
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "VU counts are small and ≥ 0"
    )]
    stages
        .iter()
        .map(|s| s.target.ceil() as u64)
        .fold(start, u64::max)
}

/// Smooth weighted round robin (nginx's): request indexes in an order that spreads each
/// request evenly over one cycle of `sum(weights)`.
pub fn weighted_cycle(weights: &[u32]) -> Vec<usize> {
    let total: i64 = weights.iter().map(|w| i64::from(*w)).sum();
    let mut current = vec![0i64; weights.len()];
    let mut out = Vec::new();
    for _ in 0..total {
        for (c, w) in current.iter_mut().zip(weights) {
            *c += i64::from(*w);
        }
        let Some((best, _)) = current
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (**c, -(*i as i64)))
        else {
            break;
        };
        current[best] -= total;
        out.push(best);
    }
    if out.is_empty() {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn constant_rate_schedules_rate_times_duration() {
        let e = Executor::ConstantArrivalRate {
            rate: 100.0,
            duration: secs(10),
            pre_allocated: 1,
            max_vus: 1,
        };
        let all: Vec<_> = Arrivals::of(&e, Slice::new(0, 1))
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(all.len(), 1000);
        assert_eq!(all[0].1, Duration::ZERO);
        assert!((all[999].1.as_secs_f64() - 9.99).abs() < 1e-6);
    }

    #[test]
    fn slices_partition_the_schedule() {
        let e = Executor::RampingArrivalRate {
            start_rate: 10.0,
            stages: vec![
                Stage {
                    target: 50.0,
                    duration: secs(4),
                },
                Stage {
                    target: 0.0,
                    duration: secs(2),
                },
            ],
            pre_allocated: 1,
            max_vus: 1,
        };
        let whole: Vec<_> = Arrivals::of(&e, Slice::new(0, 1))
            .into_iter()
            .flatten()
            .collect();
        // 10→50 over 4 s is 120 iterations, 50→0 over 2 s is 50.
        assert_eq!(whole.len(), 170);
        assert!(whole.windows(2).all(|w| w[0].1 <= w[1].1));
        let mut parts: Vec<_> = (0..3)
            .flat_map(|o| Arrivals::of(&e, Slice::new(o, 3)).into_iter().flatten())
            .collect();
        parts.sort_by_key(|(k, _)| *k);
        assert_eq!(parts, whole);
        assert_eq!(Slice::new(1, 3).share(170), 57);
    }

    #[test]
    fn weights_spread_evenly() {
        assert_eq!(
            weighted_cycle(&[9, 1]).iter().filter(|i| **i == 1).count(),
            1
        );
        assert_eq!(weighted_cycle(&[2, 1]), vec![0, 1, 0]);
    }
}
