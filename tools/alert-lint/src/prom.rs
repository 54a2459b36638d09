//! Owns the HTTP conversation with Prometheus (`/api/v1/query`, `query_range`, `metadata`,
//! `status/config`): a small blocking client (ureq, no async runtime: the live checks and
//! `noise` make a bounded number of sequential requests). https works through rustls when
//! the `https` feature is on (the default). Credentials in the URL are sent as basic auth by
//! ureq and never printed (errors go through `gatehouse::redact`).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::error::Error;

pub(crate) struct Client {
    base: String,
    agent: ureq::Agent,
    pub requests: u64,
}

/// A sample vector: label sets and values.
pub(crate) type Vector = Vec<(HashMap<String, String>, f64)>;

/// A range-query matrix: label sets and (unix seconds, value) points.
pub(crate) type Matrix = Vec<(HashMap<String, String>, Vec<(f64, f64)>)>;

/// What an instant query gave: a result, or the server's error for this query.
pub(crate) enum Answer {
    Vector(Vector),
    Scalar(f64),
    Rejected(String),
}

impl Client {
    pub fn new(url: &str, timeout: Duration) -> Result<Client, Error> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Prometheus {
                url: gatehouse::redact::redact(url).into_owned(),
                message: "--prometheus must be an http:// or https:// URL".into(),
            });
        }
        let config = ureq::Agent::config_builder()
            // One deadline per request, end to end (connect, send, headers, whole body),
            // and the connect on its own bounded by it too: a server that accepts and never
            // answers, or never accepts, ends the run within `timeout`.
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("alert-lint/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            base,
            agent: config.into(),
            requests: 0,
        })
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::Prometheus {
            url: gatehouse::redact::redact(&self.base).into_owned(),
            message: gatehouse::redact::redact(&message.into()).into_owned(),
        }
    }

    /// GETs an API path; returns the `data` field of a success answer, or the server's
    /// error text as `Err(Ok(text))` for a query the server refused (400/422).
    fn get(&mut self, path: &str, params: &[(&str, &str)]) -> Result<Result<Value, String>, Error> {
        let mut url = format!("{}{path}", self.base);
        for (i, (k, v)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&gatehouse::percent::encode(v));
        }
        self.requests += 1;
        let mut resp = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| self.err(format!("cannot reach Prometheus: {e}")))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| self.err(format!("{path}: cannot read the answer: {e}")))?;
        let json: Value = serde_json::from_str(&body).map_err(|_| {
            let head: String = body.chars().take(120).collect();
            self.err(format!(
                "{path}: answered {status} with something that is not Prometheus JSON: {head:?}"
            ))
        })?;
        if json["status"] == "success" {
            return Ok(Ok(json["data"].clone()));
        }
        let msg = json["error"].as_str().unwrap_or("unknown error").to_owned();
        if matches!(status, 400 | 422 | 503) && json["errorType"].is_string() {
            return Ok(Err(msg));
        }
        Err(self.err(format!("{path}: {status}: {msg}")))
    }

    /// Evaluates an instant query.
    pub fn query(&mut self, promql: &str) -> Result<Answer, Error> {
        match self.get("/api/v1/query", &[("query", promql)])? {
            Err(msg) => Ok(Answer::Rejected(msg)),
            Ok(data) => Ok(match data["resultType"].as_str() {
                Some("scalar") => Answer::Scalar(point(&data["result"]).map_or(0.0, |p| p.1)),
                _ => Answer::Vector(
                    data["result"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|s| {
                                    (
                                        labels(&s["metric"]),
                                        point(&s["value"]).map_or(0.0, |p| p.1),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            }),
        }
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

fn labels(v: &Value) -> HashMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn point(v: &Value) -> Option<(f64, f64)> {
    let t = v.get(0)?.as_f64()?;
    let x = v.get(1)?.as_str()?.parse().ok()?;
    Some((t, x))
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
