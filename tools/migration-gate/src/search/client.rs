//! A small typed client for the Typesense 0.24 HTTP API over the workspace's blocking ureq.
//!
//! The `typesense` crate 0.4.0 was checked and not used: it is generated from Typesense
//! v30's OpenAPI document (synonym sets, curation sets, conversations are v30-only
//! endpoints), async over reqwest (a second HTTP stack and runtime in this tool), and the
//! gate needs eleven endpoints whose 0.24 shapes are pinned by our tests against a real
//! 0.24.1 server.

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The header Typesense reads the key from.
const KEY_HEADER: &str = "X-TYPESENSE-API-KEY";
/// The largest answer read (an export of a big collection is one answer).
const BODY_LIMIT: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Clone)]
pub(crate) struct Client {
    base: String,
    key: String,
    agent: ureq::Agent,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

/// One line of an import answer that Typesense refused.
#[derive(Debug, Clone)]
pub(crate) struct Rejected {
    pub(crate) id: String,
    pub(crate) error: String,
}

impl Client {
    /// A client for `url` (`http://host:port`), every request bounded by `timeout`.
    pub(crate) fn new(url: &str, key: &str, timeout: Duration) -> Result<Client> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() < 10 {
            return Err(Error::Usage {
                flag: "--typesense-url",
                message: format!("{url:?} is not an http:// or https:// URL"),
            });
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(10))))
            .http_status_as_error(false)
            .user_agent(concat!("migration-gate/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            base,
            key: key.to_owned(),
            agent: config.into(),
        })
    }

    /// A client for the same server with another key (a scoped or search-only key).
    pub(crate) fn with_key(&self, key: &str) -> Client {
        Client {
            base: self.base.clone(),
            key: key.to_owned(),
            agent: self.agent.clone(),
        }
    }

    pub(crate) fn error(&self, what: impl Into<String>, message: impl Into<String>) -> Error {
        Error::Search {
            server: self.base.clone(),
            what: what.into(),
            message: message.into(),
        }
    }

    /// One request: the status and body. Transport failures are `Unreachable`.
    pub(crate) fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<(u16, String)> {
        let url = format!("{}{path}", self.base);
        let sent = match (method, body) {
            ("GET", _) => self.agent.get(&url).header(KEY_HEADER, &self.key).call(),
            ("DELETE", _) => self.agent.delete(&url).header(KEY_HEADER, &self.key).call(),
            ("POST", b) => self
                .agent
                .post(&url)
                .header(KEY_HEADER, &self.key)
                .send(b.unwrap_or("")),
            ("PUT", b) => self
                .agent
                .put(&url)
                .header(KEY_HEADER, &self.key)
                .send(b.unwrap_or("")),
            (_, b) => self
                .agent
                .patch(&url)
                .header(KEY_HEADER, &self.key)
                .send(b.unwrap_or("")),
        };
        let mut resp = sent.map_err(|e| Error::Unreachable {
            server: self.base.clone(),
            message: e.to_string(),
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_string()
            .map_err(|e| Error::Lost {
                server: self.base.clone(),
                what: format!("{method} {}", path_only(path)),
                message: e.to_string(),
            })?;
        if status == 401 {
            return Err(Error::SearchAuth {
                server: self.base.clone(),
                message: message_of(&text),
            });
        }
        Ok((status, text))
    }

    /// A JSON answer; `None` on 404; any other non-2xx is an error naming the call.
    fn json(&self, method: &str, path: &str, body: Option<&str>) -> Result<Option<Value>> {
        let (status, text) = self.raw(method, path, body)?;
        if status == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&status) {
            return Err(self.error(
                format!("{method} {}", path_only(path)),
                format!("{status}: {}", message_of(&text)),
            ));
        }
        serde_json::from_str(&text).map(Some).map_err(|e| {
            self.error(
                format!("{method} {}", path_only(path)),
                format!("answer is not JSON: {e}"),
            )
        })
    }

    fn must(&self, method: &str, path: &str, body: Option<&str>) -> Result<Value> {
        self.json(method, path, body)?
            .ok_or_else(|| self.error(format!("{method} {}", path_only(path)), "404: Not Found"))
    }

    /// `GET /health` then `GET /collections`: reachable, and the key is an admin key that
    /// may list collections.
    pub(crate) fn ping(&self) -> Result<()> {
        self.collections().map(|_| ())
    }

    pub(crate) fn collections(&self) -> Result<Vec<Value>> {
        let v = self.must("GET", "/collections", None)?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    pub(crate) fn collection(&self, name: &str) -> Result<Option<Value>> {
        self.json("GET", &format!("/collections/{}", enc(name)), None)
    }

    pub(crate) fn create_collection(&self, schema: &Value) -> Result<Value> {
        self.must("POST", "/collections", Some(&schema.to_string()))
    }

    pub(crate) fn delete_collection(&self, name: &str) -> Result<()> {
        self.json("DELETE", &format!("/collections/{}", enc(name)), None)
            .map(|_| ())
    }

    /// One document by id, `None` when there is none.
    pub(crate) fn document(&self, collection: &str, id: &str) -> Result<Option<Value>> {
        self.json(
            "GET",
            &format!("/collections/{}/documents/{}", enc(collection), enc(id)),
            None,
        )
    }

    /// The collection an alias points to, `None` when there is no such alias.
    pub(crate) fn alias(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .json("GET", &format!("/aliases/{}", enc(name)), None)?
            .and_then(|v| v["collection_name"].as_str().map(str::to_owned)))
    }

    /// `PUT /aliases/NAME`: one atomic switch of every search through the alias.
    pub(crate) fn upsert_alias(&self, name: &str, collection: &str) -> Result<()> {
        let body = json!({ "collection_name": collection }).to_string();
        self.must("PUT", &format!("/aliases/{}", enc(name)), Some(&body))
            .map(|_| ())
    }

    /// Every document as JSON Lines, optionally only those matching `filter_by`.
    pub(crate) fn export(&self, collection: &str, filter_by: Option<&str>) -> Result<String> {
        let mut path = format!("/collections/{}/documents/export", enc(collection));
        if let Some(f) = filter_by {
            path.push_str("?filter_by=");
            path.push_str(&enc(f));
        }
        let (status, text) = self.raw("GET", &path, None)?;
        if !(200..300).contains(&status) {
            return Err(self.error(
                format!("export {collection}"),
                format!("{status}: {}", message_of(&text)),
            ));
        }
        Ok(text)
    }

    /// Imports JSON Lines with `action` (`create`, `upsert`); the lines Typesense refused.
    pub(crate) fn import(
        &self,
        collection: &str,
        jsonl: &str,
        action: &str,
    ) -> Result<Vec<Rejected>> {
        if jsonl.trim().is_empty() {
            return Ok(Vec::new());
        }
        let path = format!(
            "/collections/{}/documents/import?action={action}",
            enc(collection)
        );
        let (status, text) = self.raw("POST", &path, Some(jsonl))?;
        if !(200..300).contains(&status) {
            return Err(self.error(
                format!("import into {collection}"),
                format!("{status}: {}", message_of(&text)),
            ));
        }
        let mut rejected = Vec::new();
        for (answer, doc) in text.lines().zip(jsonl.lines()) {
            let v: Value = serde_json::from_str(answer).unwrap_or(Value::Null);
            if v["success"] != Value::Bool(true) {
                let id = serde_json::from_str::<Value>(doc)
                    .ok()
                    .and_then(|d| d["id"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                rejected.push(Rejected {
                    id,
                    error: v["error"].as_str().unwrap_or("refused").to_owned(),
                });
            }
        }
        Ok(rejected)
    }

    /// `GET /collections/C/documents/search` with `params`: the answer, or `Err` with
    /// Typesense's message for a 4xx (a bad query, a key that may not search).
    pub(crate) fn search(
        &self,
        collection: &str,
        params: &[(&str, &str)],
    ) -> Result<std::result::Result<Value, String>> {
        let mut path = format!("/collections/{}/documents/search", enc(collection));
        for (i, (k, v)) in params.iter().enumerate() {
            path.push(if i == 0 { '?' } else { '&' });
            path.push_str(k);
            path.push('=');
            path.push_str(&enc(v));
        }
        let (status, text) = match self.raw("GET", &path, None) {
            Ok(answer) => answer,
            Err(Error::SearchAuth { message, .. }) => return Ok(Err(format!("401: {message}"))),
            Err(e) => return Err(e),
        };
        if !(200..300).contains(&status) {
            return Ok(Err(format!("{status}: {}", message_of(&text))));
        }
        serde_json::from_str(&text)
            .map(Ok)
            .map_err(|e| self.error(format!("search {collection}"), e.to_string()))
    }

    /// `GET /keys`: every key's id, description, actions, collections, value prefix.
    pub(crate) fn keys(&self) -> Result<Vec<Value>> {
        let v = self.must("GET", "/keys", None)?;
        Ok(v["keys"].as_array().cloned().unwrap_or_default())
    }
}

/// Typesense's `{"message": ...}`, or the start of the body.
fn message_of(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| text.chars().take(200).collect::<String>().trim().to_owned())
}

fn path_only(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

fn enc(s: &str) -> String {
    gatehouse::percent::encode(s)
}
