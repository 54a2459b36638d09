//! The Prometheus conversations alert-lint needs beyond an instant query (`query_range`,
//! `metadata`, `status/config`, `rules`), over gatehouse's one Prometheus client (blocking
//! ureq, a deadline per request, redacted errors). https works through rustls when the
//! `https` feature is on (the default).

use std::collections::HashMap;
use std::time::Duration;

use gatehouse::prometheus::{Labels, Prometheus, PrometheusError, labels, point};
use serde_json::Value;

use crate::error::Error;

pub(crate) use gatehouse::prometheus::Answer;

pub(crate) struct Client {
    inner: Prometheus,
    pub requests: u64,
}

/// A range-query matrix: label sets and (unix seconds, value) points.
pub(crate) type Matrix = Vec<(Labels, Vec<(f64, f64)>)>;

impl From<PrometheusError> for Error {
    fn from(e: PrometheusError) -> Error {
        Error::Prometheus {
            url: e.url,
            message: e.message,
        }
    }
}

impl Client {
    pub fn new(url: &str, timeout: Duration) -> Result<Client, Error> {
        let inner = Prometheus::new(
            url,
            timeout,
            concat!("alert-lint/", env!("CARGO_PKG_VERSION")),
        )?;
        Ok(Client { inner, requests: 0 })
    }

    fn err(&self, message: impl Into<String>) -> Error {
        self.inner.error(message).into()
    }

    /// GETs an API path: the `data` of a success answer, or the server's refusal.
    fn get(&mut self, path: &str, params: &[(&str, &str)]) -> Result<Result<Value, String>, Error> {
        self.requests += 1;
        Ok(self.inner.get(path, params)?)
    }

    /// Evaluates an instant query.
    pub fn query(&mut self, promql: &str) -> Result<Answer, Error> {
        self.requests += 1;
        Ok(self.inner.query(promql, None)?)
    }

    /// Evaluates a range query; the server's refusal is an error here.
    pub fn query_range(
        &mut self,
        promql: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Matrix, Error> {
        let (s, e, st) = (
            format!("{start:.3}"),
            format!("{end:.3}"),
            format!("{}", step.as_secs_f64()),
        );
        let data = match self.get(
            "/api/v1/query_range",
            &[("query", promql), ("start", &s), ("end", &e), ("step", &st)],
        )? {
            Ok(d) => d,
            Err(msg) => return Err(self.err(format!("query {promql:?} refused: {msg}"))),
        };
        Ok(data["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        let pts = s["values"]
                            .as_array()
                            .map(|v| v.iter().filter_map(point).collect())
                            .unwrap_or_default();
                        (labels(&s["metric"]), pts)
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Metric name → type from `/api/v1/metadata` (what scrape targets declared).
    pub fn metadata(&mut self) -> Result<HashMap<String, String>, Error> {
        let data = self.get("/api/v1/metadata", &[])?.unwrap_or(Value::Null);
        let mut out = HashMap::new();
        if let Some(m) = data.as_object() {
            for (name, entries) in m {
                if let Some(t) = entries.get(0).and_then(|e| e["type"].as_str()) {
                    out.insert(name.clone(), t.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// `global.scrape_interval` and `global.evaluation_interval` from the running config.
    pub fn intervals(&mut self) -> Result<(Option<Duration>, Option<Duration>), Error> {
        let data = match self.get("/api/v1/status/config", &[])? {
            Ok(d) => d,
            Err(msg) => return Err(self.err(msg)),
        };
        let yaml = data["yaml"].as_str().unwrap_or("");
        let v: Value = gatehouse::yaml::from_str("prometheus config", yaml).unwrap_or(Value::Null);
        let d = |k: &str| {
            v["global"][k]
                .as_str()
                .and_then(crate::rules::parse_prom_duration)
        };
        Ok((d("scrape_interval"), d("evaluation_interval")))
    }

    /// The server's clock (unix seconds), from `time()`.
    pub fn now(&mut self) -> Result<f64, Error> {
        match self.query("time()")? {
            Answer::Scalar(t) => Ok(t),
            _ => Err(self.err("time() did not return a scalar")),
        }
    }
}

impl Client {
    /// The rule groups the server runs (`/api/v1/rules`).
    pub fn rules(&mut self) -> Result<Vec<Value>, Error> {
        match self.get("/api/v1/rules", &[])? {
            Ok(d) => Ok(d["groups"].as_array().cloned().unwrap_or_default()),
            Err(msg) => Err(self.err(msg)),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_promql() {
        assert_eq!(
            gatehouse::percent::encode("up{a=\"b\"} > 1"),
            "up%7Ba%3D%22b%22%7D%20%3E%201"
        );
    }

    #[test]
    fn refuses_non_http_urls() {
        assert!(super::Client::new("localhost:9090", std::time::Duration::from_secs(1)).is_err());
    }
}
