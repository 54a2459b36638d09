//! Capacity headroom: constant-arrival-rate steps at rising rates until the SLO or the error
//! budget breaks, then bisection between the last good and the first bad rate. Each step is a
//! full run of the engine (latency from the intended time, so queueing shows at once).

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{self, Options, Stop};
use crate::metrics::Summary;
use crate::scenario::{Executor, ScenarioSpec};
use crate::threshold::{Threshold, round3};

/// A headroom search's checked options.
#[derive(Debug, Clone)]
pub struct Search {
    pub load: Options,
    pub slo: Vec<Threshold>,
    pub error_budget: f64,
    pub expected_peak: f64,
    pub step: Duration,
    pub max_vus: u64,
    /// Stop stepping up above this rate (the service then has at least this much capacity).
    pub max_rate: f64,
    /// Bisect until the gap between good and bad is below this fraction of the bad rate.
    pub precision: f64,
}

/// One step: the rate asked for and what it did.
#[derive(Debug, Clone)]
pub struct Step {
    pub rate: f64,
    pub achieved: f64,
    pub ok: bool,
    /// Each SLO threshold's observed value (None without samples).
    pub observed: Vec<(String, Option<f64>)>,
    pub error_rate: f64,
    pub dropped_rate: f64,
    pub why: String,
    /// The second run of a rate whose first run broke.
    pub retry: bool,
}

/// The search's outcome: the highest rate that held (0 when none did) and every step.
#[derive(Debug, Clone)]
pub struct Found {
    pub sustainable: f64,
    /// True when the search stopped at `max_rate` without breaking.
    pub capped: bool,
    pub steps: Vec<Step>,
    pub stopped: Option<Stop>,
}

fn step(search: &Search, rate: f64) -> Result<(Step, Option<Stop>), String> {
    let mut sc = (*search.load.scenario).clone();
    sc.thresholds.clear();
    sc.scenarios = vec![ScenarioSpec {
        name: "headroom".to_owned(),
        start_time: Duration::ZERO,
        graceful_stop: Duration::from_secs(10),
        executor: Executor::ConstantArrivalRate {
            rate,
            duration: search.step,
            pre_allocated: search.max_vus,
            max_vus: search.max_vus,
        },
    }];
    let mut opts = search.load.clone();
    opts.scenario = Arc::new(sc);
    let names = opts.scenario.request_names();
    let scen = opts.scenario.scenario_names();
    let out = engine::run(opts)?;
    let s: Summary = out.metrics.summarize(&names, &scen, out.duration_s, true);
    let mut s = s;
    s.schedule_s = out.schedule_s;
    let observed: Vec<(String, Option<f64>)> = search
        .slo
        .iter()
        .map(|t| (t.source(), t.observe(&s).map(round3)))
        .collect();
    let failed = s.rate("http_req_failed").unwrap_or_default();
    let error_rate = if failed.total > 0 {
        failed.trues as f64 / failed.total as f64
    } else {
        1.0
    };
    let scheduled = s.scheduled.unwrap_or(0).max(1);
    let dropped_rate = s.counter("dropped_iterations") as f64 / scheduled as f64;
    let mut why = Vec::new();
    for (t, (src, v)) in search.slo.iter().zip(&observed) {
        match v {
            Some(v) if t.op.holds(*v, t.limit) => {}
            Some(v) => why.push(format!("{src} crossed ({v})")),
            None => why.push(format!("{src}: no samples")),
        }
    }
    if error_rate > search.error_budget {
        why.push(format!(
            "error rate {:.4} over the budget {}",
            error_rate, search.error_budget
        ));
    }
    if dropped_rate > search.error_budget {
        why.push(format!(
            "{:.4} of iterations dropped (maxVUs {})",
            dropped_rate, search.max_vus
        ));
    }
    let (_, achieved) = s.rates_per_s();
    Ok((
        Step {
            rate: round3(rate),
            achieved: round3(achieved),
            ok: why.is_empty(),
            observed,
            error_rate: round3(error_rate * 1e3) / 1e3,
            dropped_rate: round3(dropped_rate * 1e3) / 1e3,
            why: why.join("; "),
            retry: false,
        },
        out.stopped,
    ))
}

/// Runs a step; a step that breaks runs once more after a pause, and only a second break
/// counts (one stall of the machine or the network is not the service's capacity). Both
/// runs are in `steps`.
fn confirmed_step(
    s: &Search,
    rate: f64,
    steps: &mut Vec<Step>,
    on_step: &mut impl FnMut(&Step),
) -> Result<(bool, Option<Stop>), String> {
    let (st, stop) = step(s, rate)?;
    on_step(&st);
    let ok = st.ok;
    steps.push(st);
    if ok || stop.is_some() {
        return Ok((ok, stop));
    }
    std::thread::sleep(Duration::from_secs(1));
    let (mut again, stop) = step(s, rate)?;
    again.retry = true;
    on_step(&again);
    let ok = again.ok;
    steps.push(again);
    Ok((ok, stop))
}

/// Steps up from half the expected peak by ×1.5, then bisects.
pub fn search(s: &Search, mut on_step: impl FnMut(&Step)) -> Result<Found, String> {
    let mut steps = Vec::new();
    let mut good = 0.0_f64;
    let mut rate = (s.expected_peak * 0.5).max(1.0);
    let pause = || std::thread::sleep(Duration::from_millis(500));
    let mut bad = loop {
        let (ok, stop) = confirmed_step(s, rate, &mut steps, &mut on_step)?;
        if stop.is_some() {
            return Ok(Found {
                sustainable: good,
                capped: false,
                steps,
                stopped: stop,
            });
        }
        if ok {
            good = rate;
            if rate >= s.max_rate {
                return Ok(Found {
                    sustainable: good,
                    capped: true,
                    steps,
                    stopped: None,
                });
            }
            rate = (rate * 1.5).min(s.max_rate);
        } else {
            break rate;
        }
        pause();
    };
    let mut bisections = 0;
    while bad - good > s.precision * bad && bisections < 8 {
        pause();
        let mid = (good + bad) / 2.0;
        let (ok, stop) = confirmed_step(s, mid, &mut steps, &mut on_step)?;
        if stop.is_some() {
            return Ok(Found {
                sustainable: good,
                capped: false,
                steps,
                stopped: stop,
            });
        }
        if ok {
            good = mid;
        } else {
            bad = mid;
        }
        bisections += 1;
    }
    Ok(Found {
        sustainable: round3(good),
        capped: false,
        steps,
        stopped: None,
    })
}
