//! The one HTTP client for Prometheus's API (feature `prometheus`): blocking ureq (the tools
//! make a bounded number of sequential requests; no async runtime), one deadline per request
//! from connect to the last byte, so a server that accepts and never answers ends the run
//! within it. Credentials in the URL go as basic auth and are never printed. https needs the
//! tool to enable `ureq/rustls`.

use std::time::Duration;

use serde_json::Value;

use crate::duration::format_duration;
use crate::redact::redact;

/// Why Prometheus could not answer: one line naming it (credentials redacted).
#[derive(Debug, thiserror::Error)]
#[error("{url}: {message}")]
pub struct PrometheusError {
    /// The server, redacted.
    pub url: String,
    pub message: String,
}

/// A label set.
pub type Labels = std::collections::BTreeMap<String, String>;

/// What an instant query gave: a vector, a scalar, or the server's refusal of this query
/// (a bad expression is an answer about the query, not an unreachable server).
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Vector(Vec<(Labels, f64)>),
    Scalar(f64),
    Rejected(String),
}

pub struct Prometheus {
    base: String,
    agent: ureq::Agent,
    timeout: Duration,
    /// Requests made so far (for reports: "N queries").
    pub requests: u64,
}

impl Prometheus {
    /// A client for the server at `url` (`http://` or `https://`); every request ends within
    /// `timeout`. `user_agent` names the tool.
    pub fn new(
        url: &str,
        timeout: Duration,
        user_agent: &str,
    ) -> Result<Prometheus, PrometheusError> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(PrometheusError {
                url: redact(url).into_owned(),
                message: "--prometheus must be an http:// or https:// URL".into(),
            });
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .http_status_as_error(false)
            .user_agent(user_agent)
            .build();
        Ok(Prometheus {
            base,
            agent: config.into(),
            timeout,
            requests: 0,
        })
    }

    /// The server's URL as reports may show it.
    pub fn url(&self) -> String {
        redact(&self.base).into_owned()
    }

    /// An error about this server.
    pub fn error(&self, message: impl Into<String>) -> PrometheusError {
        PrometheusError {
            url: self.url(),
            message: redact(&message.into()).into_owned(),
        }
    }

    /// GETs an API path with query parameters; the `data` of a success answer, or
    /// `Ok(Err(text))` when the server refused the query itself (400/422/503 with an
    /// `errorType`).
    pub fn get(
        &mut self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Result<Value, String>, PrometheusError> {
        let mut url = format!("{}{path}", self.base);
        for (i, (k, v)) in params.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(k);
            url.push('=');
            url.push_str(&crate::percent::encode(v));
        }
        self.requests += 1;
        let mut resp = self.agent.get(&url).call().map_err(|e| {
            let text = e.to_string();
            if text.to_ascii_lowercase().contains("timeout") || text.contains("timed out") {
                self.error(format!(
                    "{path}: no answer within {} (--timeout)",
                    format_duration(self.timeout)
                ))
            } else {
                self.error(format!("cannot reach Prometheus: {text}"))
            }
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(256 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| self.error(format!("{path}: cannot read the answer: {e}")))?;
        let json: Value = serde_json::from_str(&body).map_err(|_| {
            let head: String = body.chars().take(120).collect();
            self.error(format!(
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
        Err(self.error(format!("{path}: {status}: {msg}")))
    }

    /// Evaluates an instant query, now or at `at` (unix seconds).
    pub fn query(&mut self, promql: &str, at: Option<f64>) -> Result<Answer, PrometheusError> {
        let time = at.map(|t| format!("{t:.3}"));
        let mut params = vec![("query", promql)];
        if let Some(t) = &time {
            params.push(("time", t));
        }
        Ok(match self.get("/api/v1/query", &params)? {
            Err(msg) => Answer::Rejected(msg),
            Ok(data) => match data["resultType"].as_str() {
                Some("scalar") => Answer::Scalar(point(&data["result"]).map_or(0.0, |p| p.1)),
                _ => Answer::Vector(
                    data["result"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|s| {
                                    point(&s["value"]).map(|p| (labels(&s["metric"]), p.1))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            },
        })
    }
}

/// A sample's label set.
pub fn labels(v: &Value) -> Labels {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// A `[unix_seconds, "value"]` pair.
pub fn point(v: &Value) -> Option<(f64, f64)> {
    let t = v.get(0)?.as_f64()?;
    let x = v.get(1)?.as_str()?.parse::<f64>().ok()?;
    Some((t, x))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_http_urls() {
        let e = Prometheus::new("ftp://u:secret@x", Duration::from_secs(1), "t")
            .err()
            .expect("refused");
        assert!(!e.to_string().contains("secret"), "{e}");
    }

    #[test]
    fn a_silent_server_ends_within_the_deadline() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let _keep = std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(5));
            drop(held);
        });
        let mut p = Prometheus::new(&format!("http://{addr}"), Duration::from_millis(500), "t")
            .expect("client");
        let started = std::time::Instant::now();
        let e = p.query("up", None).expect_err("no answer");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        assert!(e.message.contains("no answer within"), "{e}");
    }

    #[test]
    fn points_and_labels_are_read() {
        let v: Value = serde_json::json!([1700000000.5, "0.25"]);
        assert_eq!(point(&v), Some((1700000000.5, 0.25)));
        let l = labels(&serde_json::json!({"job": "api"}));
        assert_eq!(l.get("job").map(String::as_str), Some("api"));
    }
}
