//! `search keys`: judges the API keys against a policy file: client keys are search-only on
//! named collections or aliases, no client configuration holds the admin key, and a
//! tenant's scoped key (the client key with `filter_by: tenant_id:=X` embedded) cannot read
//! another tenant's documents — proven with real searches.

use std::path::{Path, PathBuf};

use base64ct::{Base64, Encoding as _};
use gatehouse::{Check, ReportBuilder};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::client::Client;
use crate::checks::CheckId;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Policy {
    pub(crate) clients: Vec<ClientPolicy>,
    pub(crate) tenants: Option<Tenants>,
}

/// One client application's key, found on the server by its description.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ClientPolicy {
    pub(crate) name: String,
    /// The key's `description` on the server.
    pub(crate) description: String,
    /// Collections or aliases the key may search.
    pub(crate) collections: Vec<String>,
    /// The environment variable holding the key's value (for the tenant proof).
    pub(crate) key_env: Option<String>,
    /// The client's configuration files (relative to the policy file): none may hold the
    /// admin key.
    #[serde(default)]
    pub(crate) config: Vec<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tenants {
    /// The client whose key the scoped keys derive from.
    pub(crate) client: String,
    /// The collection or alias searched.
    pub(crate) collection: String,
    /// The tenant field (`tenant_id`).
    pub(crate) field: String,
    /// The field searched with `q=*`.
    pub(crate) query_by: String,
    pub(crate) ids: Vec<String>,
}

pub(crate) fn load_policy(path: &Path) -> Result<(Policy, PathBuf, String)> {
    let input = gatehouse::input::read(&gatehouse::Source::new(path))?;
    let p: Policy = gatehouse::yaml::from_input(&input)?;
    let label = input.label();
    if let Some(t) = &p.tenants {
        if !p.clients.iter().any(|c| c.name == t.client) {
            return Err(Error::Layout {
                path: label,
                message: format!("tenants.client {:?} is not one of clients[].name", t.client),
            });
        }
        if t.ids.len() < 2 {
            return Err(Error::Layout {
                path: label,
                message: "tenants.ids: name at least two tenants to prove isolation".into(),
            });
        }
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((p, dir, label))
}

/// Typesense's scoped search key: base64(base64(HMAC-SHA256(key, params)) + key[..4] + params).
pub(crate) fn scoped_key(parent: &str, params: &Value) -> String {
    let params = params.to_string();
    let mut mac =
        Hmac::<Sha256>::new_from_slice(parent.as_bytes()).expect("HMAC takes any key length");
    mac.update(params.as_bytes());
    let digest = Base64::encode_string(&mac.finalize().into_bytes());
    let prefix: String = parent.chars().take(4).collect();
    Base64::encode_string(format!("{digest}{prefix}{params}").as_bytes())
}

pub(crate) fn judge(
    client: &Client,
    admin_key: &str,
    policy: &Policy,
    dir: &Path,
    b: &mut ReportBuilder,
) -> Result<()> {
    let keys = client.keys()?;
    let mut out = Vec::new();
    for c in &policy.clients {
        let mine: Vec<&Value> = keys
            .iter()
            .filter(|k| k["description"] == c.description.as_str())
            .collect();
        if mine.is_empty() {
            b.check(Check::fail(
                CheckId::SearchKeysSearchOnly,
                format!(
                    "{}: no key with description {:?} on the server",
                    c.name, c.description
                ),
            ));
        }
        for k in &mine {
            let id = k["id"].as_i64().unwrap_or(-1);
            let prefix = k["value_prefix"].as_str().unwrap_or("");
            let actions: Vec<&str> = k["actions"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let colls: Vec<&str> = k["collections"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let extra: Vec<&&str> = actions
                .iter()
                .filter(|a| **a != "documents:search")
                .collect();
            b.check(if extra.is_empty() && !actions.is_empty() {
                Check::ok(CheckId::SearchKeysSearchOnly).with_message(format!("{}: key {id} ({prefix}…) may only search", c.name))
            } else {
                Check::fail(
                    CheckId::SearchKeysSearchOnly,
                    format!("{}: key {id} ({prefix}…) allows {}; a client key must allow only documents:search", c.name, actions.join(", ")),
                )
            });
            let outside: Vec<&&str> = colls
                .iter()
                .filter(|x| !c.collections.iter().any(|a| a == **x))
                .collect();
            b.check(if outside.is_empty() && !colls.is_empty() {
                Check::ok(CheckId::SearchKeysCollections)
            } else {
                Check::fail(
                    CheckId::SearchKeysCollections,
                    format!(
                        "{}: key {id} ({prefix}…) reaches {}; the policy allows {}",
                        c.name,
                        outside
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        c.collections.join(", ")
                    ),
                )
            });
            out.push(json!({"client": c.name, "id": id, "value_prefix": prefix, "actions": actions, "collections": colls}));
        }
        // The admin key must not be in the client's hands.
        let value = c.key_env.as_deref().and_then(|e| std::env::var(e).ok());
        if value.as_deref() == Some(admin_key) {
            b.check(Check::fail(
                CheckId::SearchKeysAdminInClient,
                format!(
                    "{}: ${} holds the admin key",
                    c.name,
                    c.key_env.as_deref().unwrap_or("")
                ),
            ));
        }
        for f in &c.config {
            let path = dir.join(f);
            let input = gatehouse::input::read(&gatehouse::Source::new(&path))?;
            let text = input.text()?;
            if let Some(line) = text.lines().position(|l| l.contains(admin_key)) {
                b.check(
                    Check::fail(
                        CheckId::SearchKeysAdminInClient,
                        format!("{}: the admin key is in {}", c.name, input.label()),
                    )
                    .with_location(gatehouse::Location::line(input.label(), line as u64 + 1)),
                );
            } else {
                b.check(
                    Check::ok(CheckId::SearchKeysAdminInClient).with_message(format!(
                        "{}: {}",
                        c.name,
                        input.label()
                    )),
                );
            }
        }
    }
    let tenants = match &policy.tenants {
        Some(t) => Some(tenant_proof(client, policy, t, b)?),
        None => None,
    };
    b.data(json!({"search": {"keys": {"keys": out, "tenants": tenants}}}));
    Ok(())
}

/// For each tenant: its scoped key sees only its documents, and filtering for another
/// tenant's documents with it finds none.
fn tenant_proof(
    client: &Client,
    policy: &Policy,
    t: &Tenants,
    b: &mut ReportBuilder,
) -> Result<Value> {
    let c = policy
        .clients
        .iter()
        .find(|c| c.name == t.client)
        .expect("checked when loaded");
    let Some(env) = &c.key_env else {
        b.check(Check::skip(
            CheckId::SearchKeysTenantIsolation,
            format!("{}: no key_env, so no scoped key can be derived", c.name),
        ));
        return Ok(Value::Null);
    };
    let Ok(parent) = std::env::var(env) else {
        return Err(Error::Usage {
            flag: "--policy",
            message: format!("{}: key_env {env} is not set", c.name),
        });
    };
    let mut rows = Vec::new();
    for me in &t.ids {
        let key = scoped_key(
            &parent,
            &json!({"filter_by": format!("{}:={}", t.field, me)}),
        );
        let scoped = client.with_key(&key);
        let base = [
            ("q", "*"),
            ("query_by", t.query_by.as_str()),
            ("per_page", "250"),
        ];
        let own = match scoped.search(&t.collection, &base)? {
            Ok(v) => v,
            Err(e) => {
                b.check(Check::fail(
                    CheckId::SearchKeysTenantIsolation,
                    format!(
                        "tenant {me}: its scoped key cannot search {}: {e}",
                        t.collection
                    ),
                ));
                continue;
            }
        };
        let found = own["found"].as_u64().unwrap_or(0);
        let foreign: Vec<String> = own["hits"]
            .as_array()
            .map(|h| {
                h.iter()
                    .filter(|h| h["document"][&t.field] != me.as_str())
                    .map(|h| {
                        format!(
                            "{} ({}={})",
                            h["document"]["id"].as_str().unwrap_or("?"),
                            t.field,
                            h["document"][&t.field]
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut leaked = foreign.clone();
        for other in t.ids.iter().filter(|o| *o != me) {
            let filter = format!("{}:={}", t.field, other);
            let mut p = base.to_vec();
            p.push(("filter_by", &filter));
            if let Ok(v) = scoped.search(&t.collection, &p)?
                && let Some(hits) = v["hits"].as_array()
            {
                leaked.extend(
                    hits.iter()
                        .filter(|h| h["document"][&t.field] != me.as_str())
                        .map(|h| {
                            format!(
                                "{} ({}={})",
                                h["document"]["id"].as_str().unwrap_or("?"),
                                t.field,
                                other
                            )
                        }),
                );
            }
        }
        b.check(if leaked.is_empty() && found > 0 {
            Check::ok(CheckId::SearchKeysTenantIsolation).with_message(format!(
                "tenant {me}: its scoped key sees its {found} documents and none of {}",
                t.ids.iter().filter(|o| *o != me).cloned().collect::<Vec<_>>().join(", ")
            ))
        } else if leaked.is_empty() {
            Check::fail(
                CheckId::SearchKeysTenantIsolation,
                format!("tenant {me}: its scoped key finds no documents at all: the proof proves nothing"),
            )
        } else {
            Check::fail(
                CheckId::SearchKeysTenantIsolation,
                format!("tenant {me}: its scoped key reads other tenants' documents: {}", leaked.iter().take(10).cloned().collect::<Vec<_>>().join(", ")),
            )
        });
        rows.push(json!({"tenant": me, "found": found, "leaked": leaked.len()}));
    }
    Ok(json!(rows))
}
