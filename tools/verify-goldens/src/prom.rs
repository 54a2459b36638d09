//! Owns the HTTP conversation with Prometheus: instant queries (`/api/v1/query`, optionally
//! at a past instant) over ureq, blocking, one deadline per request (connect to last byte).
//! An unreachable, slow or erroring Prometheus is an error naming it (credentials redacted).

use std::time::Duration;

use serde_json::Value;

use crate::error::Error;

pub(crate) struct Client {
    base: String,
    agent: ureq::Agent,
    timeout: Duration,
}

/// One sample of an instant vector: its labels and value.
pub(crate) type Sample = (serde_json::Map<String, Value>, f64);

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
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("verify-goldens/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            base,
            agent: config.into(),
            timeout,
        })
    }

    pub fn url(&self) -> String {
        gatehouse::redact::redact(&self.base).into_owned()
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::Prometheus {
            url: self.url(),
            message: gatehouse::redact::redact(&message.into()).into_owned(),
        }
    }

    /// Evaluates `promql` at `at` (unix seconds); the samples of the instant vector (a
    /// scalar is one sample without labels).
    pub fn query(&self, promql: &str, at: f64) -> Result<Vec<Sample>, Error> {
        let url = format!(
            "{}/api/v1/query?query={}&time={at:.3}",
            self.base,
            gatehouse::percent::encode(promql)
        );
        let mut resp = self.agent.get(&url).call().map_err(|e| {
            let text = e.to_string();
            if text.to_ascii_lowercase().contains("timeout") || text.contains("timed out") {
                self.err(format!(
                    "no answer within {} (--timeout) to {promql}",
                    gatehouse::duration::format_duration(self.timeout)
                ))
            } else {
                self.err(format!("cannot reach Prometheus: {text}"))
            }
        })?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| self.err(format!("cannot read the answer to {promql}: {e}")))?;
        let json: Value = serde_json::from_str(&body).map_err(|_| {
            let head: String = body.chars().take(120).collect();
            self.err(format!(
                "answered {status} with something that is not Prometheus JSON: {head:?}"
            ))
        })?;
        if json["status"] != "success" {
            let msg = json["error"].as_str().unwrap_or("unknown error");
            return Err(self.err(format!("{status}: {msg} (query {promql})")));
        }
        let data = &json["data"];
        let point = |v: &Value| {
            v.get(1)
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<f64>().ok())
        };
        Ok(match data["resultType"].as_str() {
            Some("scalar") => point(&data["result"])
                .map(|v| vec![(serde_json::Map::new(), v)])
                .unwrap_or_default(),
            _ => data["result"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| {
                            let labels = s["metric"].as_object().cloned().unwrap_or_default();
                            point(&s["value"]).map(|v| (labels, v))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}
