//! Every check id perf-gate can emit, with what it judges, why it matters and how to fix a
//! failure. Nothing else writes a check id as a string.

gatehouse::checks! {
    /// One of the scenario's k6 thresholds (`http_req_duration: ["p(95)<250"]`), judged on the
    /// whole run; `observed` and `limit` are in the metric's unit (ms for trends, a fraction
    /// for rates, per second for counter rates) and `location` points at the threshold. A
    /// shard's (`run --shard I/N`) is skip, its share observed: `merge` judges it over all N
    /// (`--judge-shard` judges the share alone).
    ///
    /// Why: the thresholds are the service's performance contract, written the way a k6 user
    /// writes them; latency is measured from the intended send time, so a stall counts as
    /// users feel it.
    ///
    /// Fix: find what got slower (data.metrics per request name, data.service_time against
    /// http_req_duration shows queueing), fix it, or change the threshold in review.
    Threshold = "load.threshold";
    /// p50 of http_req_duration against the baseline report's, within the scenario's
    /// `regression.p50` budget.
    ///
    /// Why: a median that moves is a regression every user feels.
    ///
    /// Fix: compare data.metrics per request name with the baseline's to find the slower
    /// request; fix it, or accept the new baseline in review.
    BaselineP50 = "baseline.p50";
    /// p95 of http_req_duration against the baseline report's, within `regression.p95`
    /// (default 10 %).
    ///
    /// Why: tail latency regressions hide under a steady median.
    ///
    /// Fix: compare per-request metrics with the baseline's; fix the slow path or accept the
    /// new baseline in review.
    BaselineP95 = "baseline.p95";
    /// p99 of http_req_duration against the baseline report's, within `regression.p99`
    /// (default 20 %).
    ///
    /// Why: the slowest percent is where timeouts and retries start.
    ///
    /// Fix: look for lock waits, GC or pool exhaustion in the new release; fix or accept the
    /// new baseline in review.
    BaselineP99 = "baseline.p99";
    /// http_req_failed's rate against the baseline's plus `regression.error_rate` (an absolute
    /// increase, default 0.005).
    ///
    /// Why: more failed requests at the same load is a reliability regression.
    ///
    /// Fix: read data.errors by kind (connect, timeout, reset, 4xx, 5xx) and fix the cause.
    BaselineErrorRate = "baseline.error_rate";
    /// Whether a baseline was given and comparable.
    ///
    /// Why: without one, regressions between releases go unnoticed unless a threshold catches
    /// them.
    ///
    /// Fix: pass `--baseline` with the last good release's report.
    Baseline = "baseline";
    /// Capacity headroom: the highest arrival rate that kept the SLO and the error budget,
    /// over the expected peak, minus one, against `--required` (default 20 %).
    ///
    /// Why: a release that only just carries today's peak falls over at the next spike.
    ///
    /// Fix: find the bottleneck at the sustainable rate (data.steps), scale it, or lower the
    /// expected peak with evidence.
    Headroom = "capacity.headroom";
    /// The shard reports given to `merge` cover every shard index of their shard count once.
    ///
    /// Why: a missing shard makes the merged counts and rates too small, so the verdict is
    /// not the big run's.
    ///
    /// Fix: rerun the missing shard (the Indexed Job's failed pod) and merge all of them.
    Shards = "merge.shards";
    /// Iterations the arrival-rate executors could not start because every VU was busy
    /// (k6's dropped_iterations).
    ///
    /// Why: dropped iterations were never sent, so their latency is not in the percentiles;
    /// the load was lower than planned.
    ///
    /// Fix: raise `maxVUs` (or `preAllocatedVUs`), or run more shards.
    DroppedIterations = "load.dropped_iterations";
    /// A k6 script translated into a scenario by `perf-gate convert`: its options (scenarios,
    /// thresholds) and its literal http calls.
    ///
    /// Why: a k6 user's scripts are the starting point; what cannot be translated is refused
    /// with file:line, never skipped, so the scenario runs what the script says.
    ///
    /// Fix: rewrite what was refused as literal requests, or keep running that script in k6.
    Converted = "convert.k6";
}
