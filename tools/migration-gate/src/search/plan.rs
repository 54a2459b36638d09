//! `search plan`: each alias's newest schema version against the collection live behind the
//! alias, change by change: what Typesense applies in place (the schema update API adds and
//! drops fields), what needs a new collection and a reindex, and what is a hazard.

use gatehouse::{Check, ReportBuilder, Section};
use serde_json::{Value, json};

use super::client::Client;
use super::schema::{Field, Schema};
use crate::checks::CheckId;
use crate::error::Result;

/// How a change can be rolled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// `PATCH /collections/NAME`: Typesense adds or drops the field on the live collection.
    InPlace,
    /// A new versioned collection, a reindex and an alias flip.
    Reindex,
    /// Something still uses what the change removes.
    Hazard,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::InPlace => "in_place",
            Action::Reindex => "reindex",
            Action::Hazard => "hazard",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub(crate) field: String,
    /// `add`, `drop`, `type`, `facet`, `index`, `sort`, `optional`, `infix`, `locale`,
    /// `default_sorting_field`, `token_separators`, `symbols_to_index`.
    pub(crate) kind: &'static str,
    pub(crate) from: Value,
    pub(crate) to: Value,
    pub(crate) action: Action,
    pub(crate) message: String,
    pub(crate) line: u64,
}

/// The plan for one alias.
#[derive(Debug)]
pub(crate) struct AliasPlan {
    pub(crate) alias: String,
    pub(crate) live: Option<String>,
    pub(crate) target: String,
    pub(crate) file: String,
    pub(crate) changes: Vec<Change>,
}

impl AliasPlan {
    /// `create`, `none`, `in_place`, `reindex` (a hazard is reported beside it).
    pub(crate) fn rollout(&self) -> &'static str {
        if self.live.is_none() {
            "create"
        } else if self.changes.iter().any(|c| c.action == Action::Reindex) {
            "reindex"
        } else if self.changes.is_empty() {
            "none"
        } else {
            "in_place"
        }
    }
}

/// Compares `want` with the live collection described by `live` (`GET /collections/X`).
pub(crate) fn diff(want: &Schema, live: &Value) -> Vec<Change> {
    let live_fields: Vec<Field> = live["fields"]
        .as_array()
        .map(|a| a.iter().map(Field::from_live).collect())
        .unwrap_or_default();
    let docs = live["num_documents"].as_u64().unwrap_or(0);
    let used = |field: &str| -> Vec<String> {
        want.used_by
            .iter()
            .filter(|u| u.fields.iter().any(|f| f == field))
            .map(|u| format!("{} ({})", u.name, u.kind))
            .collect()
    };
    let mut out = Vec::new();
    for f in &want.fields {
        let Some(l) = live_fields.iter().find(|l| l.name == f.name) else {
            let (action, message) = if f.optional || docs == 0 {
                (
                    Action::InPlace,
                    format!(
                        "add field `{}` ({}) with the schema update API",
                        f.name, f.kind
                    ),
                )
            } else {
                (
                    Action::Reindex,
                    format!(
                        "add required field `{}`: the {docs} existing documents lack it, so Typesense refuses it in place; make it optional or reindex",
                        f.name
                    ),
                )
            };
            out.push(Change {
                field: f.name.clone(),
                kind: "add",
                from: Value::Null,
                to: json!(f.kind),
                action,
                message,
                line: f.line,
            });
            continue;
        };
        if l.kind != f.kind {
            out.push(Change {
                field: f.name.clone(),
                kind: "type",
                from: json!(l.kind),
                to: json!(f.kind),
                action: Action::Reindex,
                message: format!(
                    "`{}` changes type {} -> {}: every document is re-validated; Typesense 0.24 can only drop and re-add it in place, which blocks writes while it rebuilds and clears a default_sorting_field on it",
                    f.name, l.kind, f.kind
                ),
                line: f.line,
            });
            continue;
        }
        let flags: [(&'static str, bool, bool); 4] = [
            ("facet", l.facet, f.facet),
            ("index", l.index, f.index),
            ("sort", l.sort, f.sort),
            ("infix", l.infix, f.infix),
        ];
        for (kind, from, to) in flags {
            if from != to {
                out.push(Change {
                    field: f.name.clone(),
                    kind,
                    from: json!(from),
                    to: json!(to),
                    action: Action::Reindex,
                    message: format!(
                        "`{}`: {kind} {from} -> {to} on existing data needs the field rebuilt for every document",
                        f.name
                    ),
                    line: f.line,
                });
            }
        }
        if l.optional != f.optional {
            out.push(Change {
                field: f.name.clone(),
                kind: "optional",
                from: json!(l.optional),
                to: json!(f.optional),
                action: Action::Reindex,
                message: format!("`{}`: optional {} -> {}", f.name, l.optional, f.optional),
                line: f.line,
            });
        }
        if l.locale != f.locale {
            out.push(Change {
                field: f.name.clone(),
                kind: "locale",
                from: json!(l.locale),
                to: json!(f.locale),
                action: Action::Reindex,
                message: format!("`{}`: locale changes the tokenizer of indexed text", f.name),
                line: f.line,
            });
        }
    }
    for l in &live_fields {
        if want.field(&l.name).is_some() {
            continue;
        }
        let users = used(&l.name);
        let (action, message) = if users.is_empty() {
            (
                Action::InPlace,
                format!("drop field `{}` with the schema update API", l.name),
            )
        } else {
            (
                Action::Hazard,
                format!("drop field `{}` still used by {}", l.name, users.join(", ")),
            )
        };
        out.push(Change {
            field: l.name.clone(),
            kind: "drop",
            from: json!(l.kind),
            to: Value::Null,
            action,
            message,
            line: 0,
        });
    }
    let live_dsf = live["default_sorting_field"].as_str().unwrap_or("");
    if live_dsf != want.default_sorting_field {
        out.push(Change {
            field: want.default_sorting_field.clone(),
            kind: "default_sorting_field",
            from: json!(live_dsf),
            to: json!(want.default_sorting_field),
            action: Action::Reindex,
            message: format!(
                "default_sorting_field {live_dsf:?} -> {:?}: fixed when a collection is created",
                want.default_sorting_field
            ),
            line: 0,
        });
    }
    for (kind, key, want_v) in [
        (
            "token_separators",
            "token_separators",
            &want.token_separators,
        ),
        (
            "symbols_to_index",
            "symbols_to_index",
            &want.symbols_to_index,
        ),
    ] {
        let live_v: Vec<String> = live[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if &live_v != want_v {
            out.push(Change {
                field: String::new(),
                kind,
                from: json!(live_v),
                to: json!(want_v),
                action: Action::Reindex,
                message: format!("{kind} changes how every document is tokenized"),
                line: 0,
            });
        }
    }
    // A field the new version still has but a consumer needs and the schema no longer indexes.
    for u in &want.used_by {
        for name in &u.fields {
            if want.field(name).is_none() && live_fields.iter().all(|l| &l.name != name) {
                out.push(Change {
                    field: name.clone(),
                    kind: "drop",
                    from: Value::Null,
                    to: Value::Null,
                    action: Action::Hazard,
                    message: format!(
                        "`{name}` is used by {} ({}) but is in neither the live collection nor this version",
                        u.name, u.kind
                    ),
                    line: 0,
                });
            }
        }
    }
    out
}

/// Plans every alias (the newest version of each) against what is live.
pub(crate) fn plan(client: &Client, schemas: &[Schema]) -> Result<Vec<AliasPlan>> {
    let mut out = Vec::new();
    let mut aliases: Vec<&str> = schemas.iter().map(|s| s.alias.as_str()).collect();
    aliases.dedup();
    for alias in aliases {
        let Some(want) = schemas.iter().rev().find(|s| s.alias == alias) else {
            continue;
        };
        let live_name = client.alias(alias)?;
        let (live, changes) = match &live_name {
            None => (None, Vec::new()),
            Some(name) => {
                let Some(live) = client.collection(name)? else {
                    return Err(client.error(
                        format!("alias {alias}"),
                        format!("points to collection {name}, which does not exist"),
                    ));
                };
                (Some(name.clone()), diff(want, &live))
            }
        };
        out.push(AliasPlan {
            alias: alias.to_owned(),
            live,
            target: want.collection(),
            file: want.file.clone(),
            changes,
        });
    }
    Ok(out)
}

/// Adds the plan's checks, table and data.
pub(crate) fn report(plans: &[AliasPlan], b: &mut ReportBuilder) {
    let mut table = Section::new(
        "Search schema changes",
        &["alias", "field", "change", "from", "to", "rollout"],
    );
    let mut data = Vec::new();
    let (mut hazards, mut reindex) = (0, 0);
    for p in plans {
        for c in &p.changes {
            table.row(vec![
                p.alias.clone(),
                c.field.clone(),
                c.kind.to_owned(),
                c.from.to_string(),
                c.to.to_string(),
                c.action.as_str().to_owned(),
            ]);
            let loc = if c.line > 0 {
                gatehouse::Location::line(p.file.clone(), c.line)
            } else {
                gatehouse::Location::file(p.file.clone())
            };
            match c.action {
                Action::Hazard => {
                    hazards += 1;
                    b.check(
                        Check::fail(
                            CheckId::SearchPlanHazard,
                            format!("{}: {}", p.alias, c.message),
                        )
                        .with_location(loc),
                    );
                }
                Action::Reindex => {
                    reindex += 1;
                    b.check(
                        Check::warn(
                            CheckId::SearchPlanReindex,
                            format!("{}: {}", p.alias, c.message),
                        )
                        .with_location(loc),
                    );
                }
                Action::InPlace => {}
            }
        }
        data.push(json!({
            "alias": p.alias, "live": p.live, "target": p.target, "file": p.file,
            "rollout": p.rollout(),
            "changes": p.changes.iter().map(|c| json!({
                "field": c.field, "kind": c.kind, "from": c.from, "to": c.to,
                "action": c.action.as_str(), "message": c.message,
            })).collect::<Vec<_>>(),
        }));
    }
    if hazards == 0 {
        b.check(Check::ok(CheckId::SearchPlanHazard));
    }
    b.section(table);
    b.data(json!({ "search": { "plan": data } }));
    let rollouts: Vec<String> = plans
        .iter()
        .map(|p| format!("{}: {} ({})", p.alias, p.rollout(), p.target))
        .collect();
    b.summary(format!(
        "{}; {hazards} hazard(s), {reindex} change(s) need a reindex",
        rollouts.join(", ")
    ));
}
