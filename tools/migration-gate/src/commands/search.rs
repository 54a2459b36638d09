//! `migration-gate search plan|reindex|flip|gc|keys`: checks the flags and input files
//! (before anything is created on the server), connects, and hands over to `search/`.

use gatehouse::{Check, Report, Section};
use serde_json::json;

use crate::AGENT;
use crate::checks::CheckId;
use crate::cli::{
    ParityFlags, SearchArgs, SearchCommand, SearchFlipArgs, SearchGcArgs, SearchKeysArgs,
    SearchPlanArgs, SearchReindexArgs, TypesenseArgs,
};
use crate::error::{Error, Result};
use crate::search::client::Client;
use crate::search::reindex::{FlipOptions, ReindexOptions, Verify};
use crate::search::{flip, keys, parity, plan, schema};

pub(crate) async fn run(args: &SearchArgs) -> Report {
    match &args.command {
        SearchCommand::Plan(a) => plan_cmd(a),
        SearchCommand::Reindex(a) => {
            // A PostgreSQL source is read first (async), then the reindex runs on it.
            let pg = match (&a.source_query, &a.source_database_url) {
                (Some(q), Some(url)) => Some(
                    crate::search::source::rows_as_jsonl(url, q, a.source_timeouts.into()).await,
                ),
                _ => None,
            };
            reindex_cmd(a, pg)
        }
        SearchCommand::Flip(a) => flip_cmd(a),
        SearchCommand::Gc(a) => gc_cmd(a),
        SearchCommand::Keys(a) => keys_cmd(a),
    }
}

/// The admin key from its environment variable, and a client that has answered once.
fn connect(t: &TypesenseArgs) -> Result<(Client, String)> {
    let key = std::env::var(&t.api_key_env).map_err(|_| Error::Usage {
        flag: "--api-key-env",
        message: format!("environment variable {} is not set", t.api_key_env),
    })?;
    if key.is_empty() {
        return Err(Error::Usage {
            flag: "--api-key-env",
            message: format!("environment variable {} is empty", t.api_key_env),
        });
    }
    let client = Client::new(&t.typesense_url, &key, t.request_timeout)?;
    client.ping()?;
    Ok((client, key))
}

fn verify(p: &ParityFlags) -> Result<Verify> {
    Ok(Verify {
        canaries: p
            .canaries
            .as_deref()
            .map(parity::load_canaries)
            .transpose()?,
        updated_field: p.updated_field.clone(),
        sample: p.sample.max(1),
    })
}

fn plan_cmd(a: &SearchPlanArgs) -> Report {
    Report::judge(AGENT, "search-plan", |b| {
        let schemas = schema::load_all(&a.schemas)?;
        let (client, _) = connect(&a.typesense)?;
        let plans = plan::plan(&client, &schemas)?;
        plan::report(&plans, b);
        Ok::<(), Error>(())
    })
}

fn reindex_cmd(a: &SearchReindexArgs, pg: Option<Result<(String, String)>>) -> Report {
    Report::judge(AGENT, "search-reindex", |b| {
        let pg = pg.transpose()?;
        let schema = schema::load(&a.to)?;
        if schema.alias != a.alias {
            return Err(Error::Usage {
                flag: "--to",
                message: format!(
                    "{} is a version of {:?}, not of --alias {:?}",
                    schema.file, schema.alias, a.alias
                ),
            });
        }
        if !(a.probe_rate >= 0.0 && a.probe_rate <= 1000.0) {
            return Err(Error::Usage {
                flag: "--probe-rate",
                message: "must be between 0 and 1000 searches per second".into(),
            });
        }
        if pg.is_some() && a.parity.updated_field.is_some() {
            return Err(Error::Usage {
                flag: "--updated-field",
                message: "follows writes to the live collection; a --source-query has none".into(),
            });
        }
        let source = match &a.source {
            None if pg.is_some() => pg,
            Some(path) => {
                if a.parity.updated_field.is_some() {
                    return Err(Error::Usage {
                        flag: "--updated-field",
                        message: "follows writes to the live collection; a --source file has none"
                            .into(),
                    });
                }
                let input = gatehouse::input::read_limited(&gatehouse::Source::new(path), 4 << 30)?;
                let text = input.text()?.to_owned();
                for (i, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let ok = serde_json::from_str::<serde_json::Value>(line)
                        .ok()
                        .is_some_and(|v| v["id"].is_string());
                    if !ok {
                        return Err(Error::Layout {
                            path: format!("{}:{}", input.label(), i + 1),
                            message: "not a JSON object with a string \"id\"".into(),
                        });
                    }
                }
                Some((input.label(), text))
            }
            None => None,
        };
        let opts = ReindexOptions {
            alias: a.alias.clone(),
            schema,
            source,
            verify: verify(&a.parity)?,
            max_lag: a.max_lag,
            max_rounds: a.max_rounds,
            batch: a.batch.max(1),
            flip: a.flip,
            probe_rate: a.probe_rate,
        };
        let (client, _) = connect(&a.typesense)?;
        crate::search::reindex::reindex(&client, &opts, b)
    })
}

fn flip_cmd(a: &SearchFlipArgs) -> Report {
    Report::judge(AGENT, "search-flip", |b| {
        let opts = FlipOptions {
            alias: a.alias.clone(),
            to: a.to.clone(),
            rollback: a.rollback,
            verify: verify(&a.parity)?,
            check_parity: !a.no_parity,
        };
        let (client, _) = connect(&a.typesense)?;
        crate::search::reindex::flip_cmd(&client, &opts, b)
    })
}

fn gc_cmd(a: &SearchGcArgs) -> Report {
    Report::judge(AGENT, "search-gc", |b| {
        let (client, _) = connect(&a.typesense)?;
        let entries = flip::gc(&client, &a.alias, a.retention, a.dry_run)?;
        let mut table = Section::new("Versioned collections", &["collection", "state", "why"]);
        for e in &entries {
            table.row(vec![e.collection.clone(), e.state.into(), e.reason.clone()]);
        }
        b.section(table);
        let deleted = entries
            .iter()
            .filter(|e| matches!(e.state, "deleted" | "would_delete"))
            .count();
        b.check(Check::ok(CheckId::SearchFlip).with_message(format!(
            "{deleted} collection(s) of alias {} past retention {}",
            a.alias,
            if a.dry_run {
                "would be deleted"
            } else {
                "deleted"
            }
        )));
        b.data(json!({"search": {"gc": {
            "alias": a.alias,
            "dry_run": a.dry_run,
            "collections": entries.iter().map(|e| json!({
                "collection": e.collection, "state": e.state, "reason": e.reason,
            })).collect::<Vec<_>>(),
        }}}));
        b.summary(format!(
            "{deleted} old version(s) of {} past retention",
            a.alias
        ));
        Ok::<(), Error>(())
    })
}

fn keys_cmd(a: &SearchKeysArgs) -> Report {
    Report::judge(AGENT, "search-keys", |b| {
        let (policy, dir, label) = keys::load_policy(&a.policy)?;
        let (client, admin) = connect(&a.typesense)?;
        keys::judge(&client, &admin, &policy, &dir, b)?;
        b.summary(format!("API keys judged against {label}"));
        Ok::<(), Error>(())
    })
}
