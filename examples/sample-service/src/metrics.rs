//! Every metric the service exports, registered once in a `prometheus-client` registry whose
//! constant `version` label (from `--version-label`) lands on every series; `/metrics`
//! encodes it in the OpenMetrics text format that Prometheus scrapes.

use std::borrow::Cow;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Buckets for 1 ms – 10 s: three per decade, the 1-2.5-5 series.
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransportLabels {
    pub transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    crate_version: &'static str,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

/// The service's metrics; cheap to clone handles live inside.
pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    pub http_in_flight: Gauge,
    pub events_published: Counter,
    pub events_processed: Family<OutcomeLabels, Counter>,
    pub events_delivered: Family<TransportLabels, Counter>,
    pub consumer_lag: Gauge,
    pub consumer_pending: Gauge,
    pub cache_requests: Family<ResultLabels, Counter>,
}

impl Metrics {
    pub fn new(version_label: &str) -> Self {
        let mut registry = Registry::with_labels(std::iter::once((
            Cow::Borrowed("version"),
            Cow::Owned(version_label.to_owned()),
        )));
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status code",
            http_requests.clone(),
        );
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                duration_histogram,
            );
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to sending its response head, faults included",
            http_duration.clone(),
        );
        let http_in_flight = Gauge::default();
        registry.register(
            "http_requests_in_flight",
            "Requests received and not yet answered, queued ones included",
            http_in_flight.clone(),
        );
        let events_published = Counter::default();
        registry.register(
            "events_published",
            "Events added to the ingest stream by API writes",
            events_published.clone(),
        );
        let events_processed = Family::<OutcomeLabels, Counter>::default();
        // Every outcome exported from the start at 0: an SLI over `dead_lettered` (the alert
        // catalog's ingest SLO) has a series before the first dead letter, not "no data".
        for outcome in ["written", "duplicate", "failed", "dead_lettered"] {
            let _ = events_processed.get_or_create(&OutcomeLabels { outcome });
        }
        registry.register(
            "events_processed",
            "Ingest attempts by outcome: written, duplicate (already in the sink), failed (retried later), dead_lettered",
            events_processed.clone(),
        );
        let events_delivered = Family::<TransportLabels, Counter>::default();
        registry.register(
            "events_delivered",
            "Events sent to realtime subscribers, by transport (sse, ws)",
            events_delivered.clone(),
        );
        let consumer_lag = Gauge::default();
        registry.register(
            "events_consumer_lag",
            "Stream entries not yet delivered to the worker's consumer group (XINFO GROUPS lag)",
            consumer_lag.clone(),
        );
        let consumer_pending = Gauge::default();
        registry.register(
            "events_consumer_pending",
            "Entries delivered to the consumer group and not yet acknowledged",
            consumer_pending.clone(),
        );
        let cache_requests = Family::<ResultLabels, Counter>::default();
        registry.register(
            "cache_requests",
            "Order cache lookups by result: hit, miss, error (Redis failed; read from PostgreSQL)",
            cache_requests.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                crate_version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register(
            "build_info",
            "Always 1; labels say which build and which --version-label",
            build_info,
        );
        Metrics {
            registry,
            http_requests,
            http_duration,
            http_in_flight,
            events_published,
            events_processed,
            events_delivered,
            consumer_lag,
            consumer_pending,
            cache_requests,
        }
    }

    /// The exposition, in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        // Writing into a String cannot fail; an Err would mean a broken encoder.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!("encoding /metrics failed: {e}");
        }
        out
    }

    pub fn processed(&self, outcome: &'static str) {
        self.events_processed
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    pub fn delivered(&self, transport: &'static str) {
        self.events_delivered
            .get_or_create(&TransportLabels { transport })
            .inc();
    }

    pub fn cache(&self, result: &'static str) {
        self.cache_requests
            .get_or_create(&ResultLabels { result })
            .inc();
    }
}

/// The content type of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// The content type of [`to_prometheus_text`]'s output.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The same exposition in the Prometheus text format 0.0.4, for clients that do not ask for
/// OpenMetrics (curl, `promtool check metrics`, older scrapers). prometheus-client only
/// writes OpenMetrics; for the families used here (counter, gauge, histogram, no units, no
/// exemplars) the two differ in three places: a counter family's HELP/TYPE name carries the
/// `_total` of its samples, there is no `# EOF`, and OpenMetrics' `unknown` is `untyped`.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut help: Option<&str> = None;
    for line in openmetrics.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.rsplit_once(' ').unwrap_or((rest, "untyped"));
            let (name, kind) = match kind {
                "counter" if !name.ends_with("_total") => (format!("{name}_total"), "counter"),
                "unknown" => (name.to_owned(), "untyped"),
                k => (name.to_owned(), k),
            };
            if let Some(h) = help.take() {
                let text = h.split_once(' ').map_or("", |(_, t)| t);
                out.push_str(&format!("# HELP {name} {text}\n"));
            }
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            continue;
        }
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_names_counter_families_like_their_samples_and_drops_eof() {
        let m = Metrics::new("v9");
        m.events_published.inc();
        m.processed("written");
        m.http_duration
            .get_or_create(&RouteLabels {
                route: "/healthz".into(),
                method: "GET".into(),
            })
            .observe(0.002);
        let text = to_prometheus_text(&m.encode());
        assert!(
            text.contains("# HELP events_published_total Events added"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE events_published_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("events_published_total{version=\"v9\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE http_request_duration_seconds histogram\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE events_consumer_lag gauge\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }
}
