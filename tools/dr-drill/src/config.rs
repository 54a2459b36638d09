//! The drill config (`--config drill.yaml`, schema in `schemas/dr-drill.config.schema.json`):
//! read, checked (allow_destructive, targets, one of postgres/redis), durations parsed.
//! Nothing is touched before this has passed.

use std::path::PathBuf;
use std::time::Duration;

use gatehouse::InputError;
use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: String,
    #[serde(default)]
    allow_destructive: Option<bool>,
    #[serde(default)]
    targets: Option<RawTargets>,
    #[serde(default)]
    postgres: Option<RawPostgres>,
    #[serde(default)]
    redis: Option<RawRedis>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTargets {
    rto: String,
    rpo: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPostgres {
    method: String,
    primary: RawNode,
    replica: RawNode,
    #[serde(default)]
    heartbeat: Option<RawHeartbeat>,
    #[serde(default)]
    bin_dir: Option<PathBuf>,
    #[serde(default)]
    service_url: Option<String>,
    #[serde(default)]
    patroni: Option<RawPatroni>,
    #[serde(default)]
    commands: Option<RawCommands>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommands {
    cut: String,
    promote: String,
    #[serde(default)]
    cutback: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatroni {
    url: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    url: String,
    #[serde(default)]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeartbeat {
    #[serde(default)]
    table: Option<String>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    interval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedis {
    primary: RawRedisNode,
    replica: RawRedisNode,
    #[serde(default)]
    heartbeat: Option<RawHeartbeat>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRedisNode {
    url: String,
}

/// A checked drill config.
#[derive(Debug, Clone)]
pub struct Drill {
    pub path: String,
    pub name: String,
    pub rto: Duration,
    pub rpo: Duration,
    pub target: Target,
}

#[derive(Debug, Clone)]
pub enum Target {
    Postgres(PgDrill),
    Redis(RedisDrill),
}

#[derive(Debug, Clone)]
pub struct PgDrill {
    pub primary_url: String,
    pub primary_data: PathBuf,
    pub replica_url: String,
    pub replica_data: PathBuf,
    pub service_url: Option<String>,
    pub table: String,
    pub interval: Duration,
    pub bin_dir: Option<PathBuf>,
    /// method patroni: a member's REST API (`http://host:8008`).
    pub patroni_url: Option<String>,
    /// method commands: shell commands (`sh -c`) for each step.
    pub commands: Option<Commands>,
}

#[derive(Debug, Clone)]
pub struct Commands {
    pub cut: String,
    pub promote: String,
    pub cutback: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RedisDrill {
    pub primary_url: String,
    pub replica_url: String,
    pub key: String,
    pub interval: Duration,
}

/// Reads and checks the config; `rto`/`rpo` flags override its targets.
pub fn load(path: &std::path::Path, rto: Option<Duration>, rpo: Option<Duration>) -> Result<Drill> {
    let input = gatehouse::input::read(&gatehouse::input::Source::new(path))?;
    let label = input.label();
    let raw: Raw = gatehouse::yaml::from_input(&input)?;
    let refuse = |message: &str| Error::Refused {
        path: label.clone(),
        message: message.to_owned(),
    };
    if raw.allow_destructive != Some(true) {
        return Err(refuse(
            "allow_destructive: true is required (a drill stops and promotes servers)",
        ));
    }
    let dur = |key: &str, v: &str| {
        gatehouse::duration::parse_duration(v)
            .map_err(|e| Error::Input(InputError::invalid(label.clone(), format!("{key}: {e}"))))
    };
    let (rto, rpo) = match (&raw.targets, rto, rpo) {
        (_, Some(a), Some(b)) => (a, b),
        (Some(t), a, b) => (
            a.map_or_else(|| dur("targets.rto", &t.rto), Ok)?,
            b.map_or_else(|| dur("targets.rpo", &t.rpo), Ok)?,
        ),
        (None, _, _) => {
            return Err(refuse(
                "targets: {rto, rpo} is required (or --rto and --rpo): a drill without targets judges nothing",
            ));
        }
    };
    let interval = |hb: &Option<RawHeartbeat>| -> Result<Duration> {
        match hb.as_ref().and_then(|h| h.interval.as_deref()) {
            Some(v) => {
                let d = dur("heartbeat.interval", v)?;
                if d < Duration::from_millis(10) {
                    return Err(Error::Input(InputError::invalid(
                        label.clone(),
                        "heartbeat.interval: at least 10ms",
                    )));
                }
                Ok(d)
            }
            None => Ok(Duration::from_millis(100)),
        }
    };
    let target = match (raw.postgres, raw.redis) {
        (Some(pg), None) => {
            let patroni_url = match (pg.method.as_str(), &pg.patroni) {
                ("local", _) => None,
                ("patroni", Some(p)) => Some(p.url.trim_end_matches('/').to_owned()),
                ("patroni", None) => {
                    return Err(Error::Input(InputError::invalid(
                        label.clone(),
                        "postgres.patroni.url (a member's REST API) is required with method patroni",
                    )));
                }
                ("commands", _) if pg.commands.is_some() => None,
                ("commands", _) => {
                    return Err(Error::Input(InputError::invalid(
                        label.clone(),
                        "postgres.commands {cut, promote, cutback} is required with method commands",
                    )));
                }
                (m, _) => {
                    return Err(Error::Input(InputError::invalid(
                        label.clone(),
                        format!("postgres.method: {m:?} is none of local, patroni, commands"),
                    )));
                }
            };
            let local = pg.method == "local";
            let commands = pg
                .commands
                .filter(|_| pg.method == "commands")
                .map(|c| Commands {
                    cut: c.cut,
                    promote: c.promote,
                    cutback: c.cutback,
                });
            let need_dir = |node: &RawNode, key: &str| match (&node.data_dir, local) {
                (Some(d), _) => Ok(d.clone()),
                (None, false) => Ok(PathBuf::new()),
                (None, true) => Err(Error::Input(InputError::invalid(
                    label.clone(),
                    format!("postgres.{key}.data_dir is required with method local"),
                ))),
            };
            Target::Postgres(PgDrill {
                primary_data: need_dir(&pg.primary, "primary")?,
                replica_data: need_dir(&pg.replica, "replica")?,
                primary_url: pg.primary.url,
                replica_url: pg.replica.url,
                service_url: pg.service_url,
                interval: interval(&pg.heartbeat)?,
                table: pg
                    .heartbeat
                    .and_then(|h| h.table)
                    .unwrap_or_else(|| "dr_drill_heartbeat".to_owned()),
                bin_dir: pg.bin_dir,
                patroni_url,
                commands,
            })
        }
        (None, Some(r)) => Target::Redis(RedisDrill {
            interval: interval(&r.heartbeat)?,
            key: r
                .heartbeat
                .and_then(|h| h.key)
                .unwrap_or_else(|| "dr-drill:heartbeat".to_owned()),
            primary_url: r.primary.url,
            replica_url: r.replica.url,
        }),
        (Some(_), Some(_)) => {
            return Err(Error::Input(InputError::invalid(
                label,
                "postgres and redis: one drill per config; write two configs",
            )));
        }
        (None, None) => {
            return Err(Error::Input(InputError::invalid(
                label,
                "neither postgres nor redis: nothing to drill",
            )));
        }
    };
    Ok(Drill {
        path: label,
        name: raw.name,
        rto,
        rpo,
        target,
    })
}
