//! What a run measures. A worker records into its own [`Metrics`] (fixed series, no map
//! lookups, no locks); at the end the workers' metrics become one [`Summary`], keyed by k6's
//! metric names (`http_req_duration`, `http_req_duration{name:get-order}`). Summaries add
//! exactly: histograms bucket by bucket, counts by sum — that is all `merge` does.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::Serializer as _;

/// Latencies are recorded in µs, from 1 µs to 1 h, at 3 significant digits.
pub const LOWEST_US: u64 = 1;
pub const HIGHEST_US: u64 = 3_600_000_000;
pub const SIGFIG: u8 = 3;

/// A histogram for the whole range, its counts allocated and written (zeroed) up front, so
/// it never resizes and its memory does not grow with the latencies it records (a value
/// above 1 h saturates).
pub fn histogram() -> Histogram<u64> {
    #[expect(
        clippy::expect_used,
        reason = "constant bounds that hdrhistogram accepts"
    )]
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGFIG).expect("valid histogram bounds")
}

/// Why a request failed, as `data.errors` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Connect,
    Tls,
    Timeout,
    Reset,
    Protocol,
    Status4xx,
    Status5xx,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Reset,
        ErrorKind::Protocol,
        ErrorKind::Status4xx,
        ErrorKind::Status5xx,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Reset => "reset",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Status4xx => "4xx",
            ErrorKind::Status5xx => "5xx",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One tag value's samples (all requests, one request name, or one scenario).
#[derive(Debug, Clone)]
pub struct Series {
    /// From the intended send time to the end of the response.
    pub duration: Histogram<u64>,
    /// From the actual send to the end of the response.
    pub service: Histogram<u64>,
    /// From the actual send to the response head.
    pub waiting: Histogram<u64>,
    pub reqs: u64,
    pub failed: u64,
    pub checks_passed: u64,
    pub checks_total: u64,
}

impl Series {
    fn new() -> Self {
        Series {
            duration: histogram(),
            service: histogram(),
            waiting: histogram(),
            reqs: 0,
            failed: 0,
            checks_passed: 0,
            checks_total: 0,
        }
    }

    fn add(&mut self, o: &Series) {
        add_hist(&mut self.duration, &o.duration);
        add_hist(&mut self.service, &o.service);
        add_hist(&mut self.waiting, &o.waiting);
        self.reqs += o.reqs;
        self.failed += o.failed;
        self.checks_passed += o.checks_passed;
        self.checks_total += o.checks_total;
    }
}

/// The samples coordinated omission hid: for each value `v > interval`, `v - interval`,
/// `v - 2·interval`, … down to `interval` (at most 100 000 per value).
pub fn synthetic(h: &Histogram<u64>, interval: u64) -> Histogram<u64> {
    let mut out = histogram();
    for v in h.iter_recorded() {
        let value = v.value_iterated_to();
        let count = v.count_at_value();
        let mut missing = value.saturating_sub(interval);
        let mut n = 0;
        while missing >= interval && n < 100_000 {
            out.saturating_record_n(missing, count);
            missing -= interval;
            n += 1;
        }
    }
    out
}

/// Histograms of the same bounds always add; a saturating add keeps that infallible.
pub fn add_hist(into: &mut Histogram<u64>, from: &Histogram<u64>) {
    if into.add(from).is_err() {
        for v in from.iter_recorded() {
            into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// The outcome of one request, as a VU hands it to its worker's metrics.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub name: usize,
    pub scenario: usize,
    pub duration_us: u64,
    pub service_us: u64,
    /// None when no response head arrived.
    pub waiting_us: Option<u64>,
    pub error: Option<ErrorKind>,
    pub checks_passed: u64,
    pub checks_total: u64,
    pub sent: u64,
    pub received: u64,
    /// From a closed-model (VU loop) scenario: its intended times are corrected at the end.
    pub closed: bool,
}

/// One worker's measurements: fixed series, indexed by request and scenario.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub all: Series,
    pub by_name: Vec<Series>,
    pub by_scenario: Vec<Series>,
    pub connecting: Histogram<u64>,
    pub iterations: u64,
    pub dropped: u64,
    pub scheduled: u64,
    pub sent: u64,
    pub received: u64,
    pub errors: [u64; 7],
    /// Service times of closed-model samples (all, and per request name), for the
    /// coordinated-omission correction in [`Metrics::correct_closed`].
    pub closed_all: Histogram<u64>,
    pub closed_by_name: Vec<Histogram<u64>>,
}

impl Metrics {
    pub fn new(names: usize, scenarios: usize) -> Self {
        Metrics {
            all: Series::new(),
            by_name: (0..names).map(|_| Series::new()).collect(),
            by_scenario: (0..scenarios).map(|_| Series::new()).collect(),
            connecting: histogram(),
            iterations: 0,
            dropped: 0,
            scheduled: 0,
            sent: 0,
            received: 0,
            errors: [0; 7],
            closed_all: histogram(),
            closed_by_name: (0..names).map(|_| histogram()).collect(),
        }
    }

    /// Records one finished request (the hot path: no allocation, no lookup).
    pub fn record(&mut self, s: &Sample) {
        let failed = s.error.is_some();
        for series in [
            Some(&mut self.all),
            self.by_name.get_mut(s.name),
            self.by_scenario.get_mut(s.scenario),
        ]
        .into_iter()
        .flatten()
        {
            series.duration.saturating_record(s.duration_us.max(1));
            series.service.saturating_record(s.service_us.max(1));
            if let Some(w) = s.waiting_us {
                series.waiting.saturating_record(w.max(1));
            }
            series.reqs += 1;
            series.failed += u64::from(failed);
            series.checks_passed += s.checks_passed;
            series.checks_total += s.checks_total;
        }
        if let Some(e) = s.error {
            self.errors[e.index()] += 1;
        }
        if s.closed {
            self.closed_all.saturating_record(s.service_us.max(1));
            if let Some(h) = self.closed_by_name.get_mut(s.name) {
                h.saturating_record(s.service_us.max(1));
            }
        }
        self.iterations += 1;
        self.sent += s.sent;
        self.received += s.received;
    }

    pub fn record_connect(&mut self, us: u64) {
        self.connecting.saturating_record(us.max(1));
    }

    pub fn add(&mut self, o: &Metrics) {
        self.all.add(&o.all);
        for (a, b) in self.by_name.iter_mut().zip(&o.by_name) {
            a.add(b);
        }
        for (a, b) in self.by_scenario.iter_mut().zip(&o.by_scenario) {
            a.add(b);
        }
        add_hist(&mut self.connecting, &o.connecting);
        self.iterations += o.iterations;
        self.dropped += o.dropped;
        self.scheduled += o.scheduled;
        self.sent += o.sent;
        self.received += o.received;
        for (a, b) in self.errors.iter_mut().zip(o.errors) {
            *a += b;
        }
        add_hist(&mut self.closed_all, &o.closed_all);
        for (a, b) in self.closed_by_name.iter_mut().zip(&o.closed_by_name) {
            add_hist(a, b);
        }
    }

    /// Closed-model VUs wait for each response before sending the next request, so a stall
    /// delays every request they would have sent meanwhile, and none of them is measured
    /// (coordinated omission). As HdrHistogram's `copyCorrectedForCoordinatedOmission` does,
    /// each closed-model sample longer than the expected interval (p90 of the service times)
    /// adds the samples the missing requests would have had — `v - i`, `v - 2i`, … — to
    /// http_req_duration. Service time stays as measured. Call once, after merging workers.
    pub fn correct_closed(&mut self, closed_scenarios: &[bool]) {
        if self.closed_all.is_empty() {
            return;
        }
        let interval = self.closed_all.value_at_quantile(0.9).max(1);
        let extra = synthetic(&self.closed_all, interval);
        add_hist(&mut self.all.duration, &extra);
        for (series, h) in self.by_name.iter_mut().zip(&self.closed_by_name) {
            add_hist(&mut series.duration, &synthetic(h, interval));
        }
        for (series, closed) in self.by_scenario.iter_mut().zip(closed_scenarios) {
            if *closed {
                let extra = synthetic(&series.service, interval);
                add_hist(&mut series.duration, &extra);
            }
        }
    }

    /// The k6-named summary of these metrics over `duration_s`.
    pub fn summarize(
        &self,
        names: &[String],
        scenarios: &[String],
        duration_s: f64,
        open_model: bool,
    ) -> Summary {
        let mut s = Summary {
            duration_s,
            scheduled: open_model.then_some(self.scheduled),
            ..Summary::default()
        };
        let mut put = |tag: Option<(&str, &str)>, series: &Series| {
            let key = |m: &str| match tag {
                Some((k, v)) => format!("{m}{{{k}:{v}}}"),
                None => m.to_owned(),
            };
            s.trends
                .insert(key("http_req_duration"), series.duration.clone());
            s.trends
                .insert(key("http_req_waiting"), series.waiting.clone());
            s.counters.insert(key("http_reqs"), series.reqs);
            s.rates.insert(
                key("http_req_failed"),
                RateCount {
                    trues: series.failed,
                    total: series.reqs,
                },
            );
            s.rates.insert(
                key("checks"),
                RateCount {
                    trues: series.checks_passed,
                    total: series.checks_total,
                },
            );
            if tag.is_none() {
                s.trends
                    .insert("iteration_duration".into(), series.duration.clone());
                s.trends.insert(SERVICE_TIME.into(), series.service.clone());
            }
        };
        put(None, &self.all);
        for (n, series) in names.iter().zip(&self.by_name) {
            put(Some(("name", n)), series);
        }
        for (n, series) in scenarios.iter().zip(&self.by_scenario) {
            put(Some(("scenario", n)), series);
        }
        s.trends
            .insert("http_req_connecting".into(), self.connecting.clone());
        s.counters.insert("iterations".into(), self.iterations);
        s.counters.insert("dropped_iterations".into(), self.dropped);
        s.counters.insert("data_sent".into(), self.sent);
        s.counters.insert("data_received".into(), self.received);
        for k in ErrorKind::ALL {
            s.errors
                .insert(k.as_str().to_owned(), self.errors[k.index()]);
        }
        s
    }
}

/// The key of the service-time trend (from the actual send) in a summary.
pub const SERVICE_TIME: &str = "service_time";

/// A rate metric's samples: how many were true of how many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateCount {
    pub trues: u64,
    pub total: u64,
}

/// A run's (or merged shards') metrics by k6 name; what thresholds judge and reports carry.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub trends: BTreeMap<String, Histogram<u64>>,
    pub counters: BTreeMap<String, u64>,
    pub rates: BTreeMap<String, RateCount>,
    pub errors: BTreeMap<String, u64>,
    /// Seconds the load ran (shards that ran side by side: the longest).
    pub duration_s: f64,
    /// Iterations the arrival-rate executors scheduled (started or dropped); None for a
    /// closed-model run.
    pub scheduled: Option<u64>,
    /// Seconds of the arrival schedule the target rate is per (0: use `duration_s`).
    pub schedule_s: f64,
}

impl Summary {
    pub fn trend(&self, key: &str) -> Option<&Histogram<u64>> {
        self.trends.get(key)
    }

    pub fn counter(&self, key: &str) -> u64 {
        self.counters.get(key).copied().unwrap_or(0)
    }

    pub fn rate(&self, key: &str) -> Option<RateCount> {
        self.rates.get(key).copied()
    }

    /// Adds another shard's summary: exact for counts and histograms; the duration is the
    /// longest (shards run side by side).
    pub fn add(&mut self, o: &Summary) {
        for (k, h) in &o.trends {
            match self.trends.get_mut(k) {
                Some(mine) => add_hist(mine, h),
                None => {
                    self.trends.insert(k.clone(), h.clone());
                }
            }
        }
        for (k, c) in &o.counters {
            *self.counters.entry(k.clone()).or_default() += c;
        }
        for (k, r) in &o.rates {
            let e = self.rates.entry(k.clone()).or_default();
            e.trues += r.trues;
            e.total += r.total;
        }
        for (k, c) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += c;
        }
        self.duration_s = self.duration_s.max(o.duration_s);
        self.schedule_s = self.schedule_s.max(o.schedule_s);
        self.scheduled = match (self.scheduled, o.scheduled) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// Requests per second that were asked for (open model) and that completed.
    pub fn rates_per_s(&self) -> (Option<f64>, f64) {
        let per_s = |n: u64| {
            if self.duration_s > 0.0 {
                n as f64 / self.duration_s
            } else {
                0.0
            }
        };
        let over = if self.schedule_s > 0.0 {
            self.schedule_s
        } else {
            self.duration_s
        };
        (
            self.scheduled
                .map(|n| if over > 0.0 { n as f64 / over } else { 0.0 }),
            per_s(self.counter("http_reqs")),
        )
    }
}

/// The V2 compressed serialization of `h`, base64 (standard alphabet, padded), as other
/// HdrHistogram ports read it.
pub fn encode(h: &Histogram<u64>) -> String {
    use base64ct::Encoding;
    let mut bytes = Vec::new();
    let _ = hdrhistogram::serialization::V2DeflateSerializer::new().serialize(h, &mut bytes);
    base64ct::Base64::encode_string(&bytes)
}

/// The binary V2 compressed serialization (what `--out-histogram` writes).
pub fn encode_bytes(h: &Histogram<u64>) -> Vec<u8> {
    let mut bytes = Vec::new();
    let _ = hdrhistogram::serialization::V2DeflateSerializer::new().serialize(h, &mut bytes);
    bytes
}

/// Decodes [`encode`]'s form; the error says what is wrong.
pub fn decode(text: &str) -> Result<Histogram<u64>, String> {
    use base64ct::Encoding;
    let bytes =
        base64ct::Base64::decode_vec(text.trim()).map_err(|e| format!("not base64: {e}"))?;
    let mut h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("not an HdrHistogram: {e:?}"))?;
    // Shards must add into our bounds whatever the writer's were.
    if h.low() != LOWEST_US || h.high() != HIGHEST_US || h.sigfig() != SIGFIG {
        let mut ours = histogram();
        add_hist(&mut ours, &h);
        h = ours;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The counts are sized for the whole range up front: recording the largest trackable
    /// latency (and one beyond it) never grows them, so memory does not step up mid-run.
    #[test]
    fn a_histogram_never_resizes() {
        let mut h = histogram();
        let len = h.distinct_values();
        h.record(HIGHEST_US).unwrap_or_else(|e| panic!("{e:?}"));
        h.saturating_record(u64::MAX);
        let mut m = Metrics::new(1, 1);
        m.record(&Sample {
            name: 0,
            scenario: 0,
            duration_us: u64::MAX,
            service_us: HIGHEST_US,
            waiting_us: Some(HIGHEST_US),
            error: None,
            checks_passed: 0,
            checks_total: 0,
            sent: 0,
            received: 0,
            closed: false,
        });
        assert_eq!(h.distinct_values(), len);
        assert_eq!(h.len(), 2);
        assert!(h.max() >= HIGHEST_US, "{}", h.max());
        assert_eq!(m.all.duration.distinct_values(), len);
        assert_eq!(m.all.duration.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Merging shard histograms is exact: the merged one is the histogram of all values,
        /// count for count, so every percentile is the same as one histogram fed everything.
        #[test]
        fn merged_shards_equal_one_histogram(
            shards in proptest::collection::vec(
                proptest::collection::vec(1u64..5_000_000, 0..400), 1..6)
        ) {
            let mut whole = histogram();
            let mut merged = Summary::default();
            for values in &shards {
                let mut h = histogram();
                for v in values {
                    h.saturating_record(*v);
                    whole.saturating_record(*v);
                }
                let mut s = Summary::default();
                // Through the report's encoding, as `merge` reads shards.
                let back = decode(&encode(&h)).map_err(TestCaseError::fail)?;
                s.trends.insert("http_req_duration".into(), back);
                s.counters.insert("http_reqs".into(), values.len() as u64);
                merged.add(&s);
            }
            let m = merged.trend("http_req_duration").cloned().unwrap_or_else(histogram);
            prop_assert_eq!(m.len(), whole.len());
            prop_assert_eq!(merged.counter("http_reqs"), whole.len());
            for q in [0.0, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
                prop_assert_eq!(m.value_at_quantile(q), whole.value_at_quantile(q));
            }
            prop_assert_eq!(m.min(), whole.min());
            prop_assert_eq!(m.max(), whole.max());
            prop_assert!(m == whole);
        }
    }
}
