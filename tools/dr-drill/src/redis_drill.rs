//! Redis: `INFO` for freshness, and the failover drill — a heartbeat `RPUSH` every interval
//! to whichever of primary and replica takes writes, the cut (`SHUTDOWN NOSAVE` on the
//! primary) at T0, `REPLICAOF NO ONE` on the replica, RTO to the first acknowledged push on
//! it and RPO from the acknowledged pushes it lacks.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use gatehouse::ReportBuilder;
use redis::aio::MultiplexedConnection;
use serde_json::json;

use crate::config::{Drill, RedisDrill};
use crate::drill::{self, Ack, Pace, Shared, Writer};
use crate::error::{Error, Result};
use crate::timeline::Timeline;

fn server_of(url: &str) -> Result<String> {
    let info: redis::ConnectionInfo = redis::IntoConnectionInfo::into_connection_info(url)
        .map_err(|e| {
            Error::Input(gatehouse::InputError::invalid(
                gatehouse::redact::redact(url).into_owned(),
                e.to_string(),
            ))
        })?;
    Ok(match info.addr() {
        redis::ConnectionAddr::Tcp(h, p)
        | redis::ConnectionAddr::TcpTls {
            host: h, port: p, ..
        } => {
            format!("redis {h}:{p}")
        }
        redis::ConnectionAddr::Unix(p) => format!("redis {}", p.display()),
        _ => "redis".to_owned(),
    })
}

/// Connects within `timeout`; returns the server's name for messages.
pub async fn connect(url: &str, timeout: Duration) -> Result<(String, MultiplexedConnection)> {
    let server = server_of(url)?;
    let client = redis::Client::open(url).map_err(|e| Error::Unreachable {
        server: server.clone(),
        message: e.to_string(),
    })?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    let conn = tokio::time::timeout(
        timeout * 2,
        client.get_multiplexed_async_connection_with_config(&config),
    )
    .await
    .map_err(|_| Error::Unreachable {
        server: server.clone(),
        message: "no answer in time".to_owned(),
    })?
    .map_err(|e| Error::Unreachable {
        server: server.clone(),
        message: e.to_string(),
    })?;
    Ok((server, conn))
}

/// `INFO section` as key/value pairs.
pub async fn info(
    server: &str,
    conn: &mut MultiplexedConnection,
    section: &str,
) -> Result<HashMap<String, String>> {
    let text: String = redis::cmd("INFO")
        .arg(section)
        .query_async(conn)
        .await
        .map_err(|e| Error::Redis {
            server: server.to_owned(),
            what: format!("INFO {section}"),
            message: e.to_string(),
        })?;
    Ok(text
        .lines()
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// The writer: tries the primary, then the replica, each tick, until one acknowledges.
fn writer(urls: [String; 2], key: String, interval: Duration) -> Writer {
    let ports = [port_of(&urls[0]), port_of(&urls[1])];
    let beats: Shared = std::sync::Arc::default();
    let shared = beats.clone();
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut conns: [Option<MultiplexedConnection>; 2] = [None, None];
        let mut seq: i64 = 0;
        loop {
            tick.tick().await;
            seq += 1;
            if let Ok(mut b) = shared.lock() {
                b.attempted = seq;
            }
            let mut acked = false;
            for (i, url) in urls.iter().enumerate() {
                if conns[i].is_none() {
                    conns[i] = connect(url, Duration::from_millis(500))
                        .await
                        .ok()
                        .map(|(_, c)| c);
                }
                let Some(c) = conns[i].as_mut() else { continue };
                let r: redis::RedisResult<i64> =
                    redis::cmd("RPUSH").arg(&key).arg(seq).query_async(c).await;
                match r {
                    Ok(_) => {
                        if let Ok(mut b) = shared.lock() {
                            b.acks.push(Ack {
                                seq,
                                port: ports[i],
                                at: Instant::now(),
                                wall: SystemTime::now(),
                            });
                        }
                        acked = true;
                        break;
                    }
                    Err(e) => {
                        if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                            conns[i] = None;
                        }
                        drill::note_failure(&shared, e.to_string());
                    }
                }
            }
            let _ = acked;
        }
    });
    Writer::new(beats, task)
}

/// How the Redis drill names its heartbeat in the timeline.
const REDIS_BEAT: drill::Beat = drill::Beat {
    one: "push",
    many: "pushes",
    attempted: "attempted",
};

/// Starts the writer (an `RPUSH` to `key` every interval), waits for the first
/// acknowledged push, then lets ten intervals pass before the cut.
async fn heartbeat(
    tl: &mut Timeline,
    cfg: &RedisDrill,
    key: &str,
    limit: Duration,
) -> Result<Writer> {
    let w = writer(
        [cfg.primary_url.clone(), cfg.replica_url.clone()],
        key.to_owned(),
        cfg.interval,
    );
    tl.step(
        "heartbeat_started",
        format!(
            "RPUSH {key} every {}",
            gatehouse::duration::format_duration(cfg.interval)
        ),
    );
    if !w.warmed_up(limit).await {
        return Err(Error::Drill {
            step: "heartbeat".to_owned(),
            message: "no push acknowledged".to_owned(),
            done: "nothing changed".to_owned(),
        });
    }
    tokio::time::sleep(cfg.interval * 10).await;
    Ok(w)
}

/// The pushes `key` holds on `server`.
async fn pushes(server: &str, conn: &mut MultiplexedConnection, key: &str) -> Result<Vec<i64>> {
    redis::cmd("LRANGE")
        .arg(key)
        .arg(0)
        .arg(-1)
        .query_async(conn)
        .await
        .map_err(|e| Error::Redis {
            server: server.to_owned(),
            what: "LRANGE".to_owned(),
            message: e.to_string(),
        })
}

/// `INFO replication` says: a replica whose link to its primary is up.
fn linked_replica(info: &HashMap<String, String>) -> bool {
    info.get("role").map(String::as_str) == Some("slave")
        && info.get("master_link_status").map(String::as_str) == Some("up")
}

async fn role(url: &str) -> Result<(String, HashMap<String, String>)> {
    let (server, mut c) = connect(url, Duration::from_secs(3)).await?;
    let i = info(&server, &mut c, "replication").await?;
    Ok((server, i))
}

/// `dr-drill failover` for a Redis primary/replica pair.
pub async fn failover(
    d: &Drill,
    cfg: &RedisDrill,
    pace: Pace,
    b: &mut ReportBuilder,
) -> Result<()> {
    let mut tl = Timeline::new();
    let (pserver, pinfo) = role(&cfg.primary_url).await?;
    if pinfo.get("role").map(String::as_str) != Some("master") {
        return Err(Error::Precheck {
            server: pserver,
            message: "is not a primary (role is not master)".to_owned(),
        });
    }
    let (rserver, rinfo) = role(&cfg.replica_url).await?;
    if !linked_replica(&rinfo) {
        return Err(Error::Precheck {
            server: rserver,
            message: "is not a replica with master_link_status:up".to_owned(),
        });
    }
    tl.step(
        "precheck",
        format!("{pserver} is primary, {rserver} replicates from it"),
    );
    let id = drill::drill_id(&d.name);
    let key = format!("{}:{id}", cfg.key);
    let w = heartbeat(&mut tl, cfg, &key, pace.step_timeout).await?;
    let t0 = tl.t0(format!("SHUTDOWN NOSAVE on {pserver}"));
    {
        let (_, mut c) = connect(&cfg.primary_url, Duration::from_secs(3)).await?;
        // The server closes the connection instead of answering: that is success.
        let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .query_async(&mut c)
            .await;
    }
    // Gone means: no longer answers PING.
    let deadline = Instant::now() + pace.step_timeout;
    while connect(&cfg.primary_url, Duration::from_millis(300))
        .await
        .is_ok()
    {
        if Instant::now() >= deadline {
            return Err(Error::Drill {
                step: "cut".to_owned(),
                message: "the primary still answers after SHUTDOWN".to_owned(),
                done: "nothing changed".to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cut_done = tl.step("primary_stopped", "no longer accepts connections");
    let old = w.acks_until(cut_done);
    let done = "the primary is shut down; the replica is not promoted";
    let (_, mut rc) = connect(&cfg.replica_url, Duration::from_secs(3))
        .await
        .map_err(|e| Error::Drill {
            step: "promote".to_owned(),
            message: e.to_string(),
            done: done.to_owned(),
        })?;
    tl.step("promote", format!("REPLICAOF NO ONE on {rserver}"));
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query_async(&mut rc)
        .await
        .map_err(|e| Error::Drill {
            step: "promote".to_owned(),
            message: e.to_string(),
            done: done.to_owned(),
        })?;
    tl.step("promoted", "the replica is a primary");
    let Some(first) = w.first_ack_after(cut_done, pace.step_timeout).await else {
        return Err(Error::Drill {
            step: "first write on the new primary".to_owned(),
            message: "none within the step timeout".to_owned(),
            done: "the primary is shut down and the replica promoted".to_owned(),
        });
    };
    let stopped = drill::stop_heartbeat(
        &mut tl,
        w,
        &REDIS_BEAT,
        first,
        "first_write_new_primary",
        pace.settle,
    )
    .await;
    let items = pushes(&rserver, &mut rc, &key).await?;
    let m = drill::measure_rpo(&mut tl, &REDIS_BEAT, t0, first, &old, &items);
    drill::judge(b, d, &m);
    b.summary(format!(
        "{}: redis failover {pserver} -> {rserver}: RTO {:.3}s, RPO {:.3}s ({} write(s))",
        d.name, m.rto_seconds, m.rpo_seconds, m.rpo_transactions
    ));
    b.data(drill::data_of(
        d,
        "redis",
        &id,
        &m,
        &tl,
        json!({
            "old_primary": pserver, "new_primary": rserver, "heartbeat_key": key,
            "heartbeats": stopped.to_json(old.len(), &first),
        }),
    ));
    Ok(())
}

fn port_of(url: &str) -> u16 {
    redis::IntoConnectionInfo::into_connection_info(url)
        .ok()
        .and_then(|i| match i.addr() {
            redis::ConnectionAddr::Tcp(_, p) => Some(*p),
            _ => None,
        })
        .unwrap_or(0)
}

fn host_of(url: &str) -> String {
    redis::IntoConnectionInfo::into_connection_info(url)
        .ok()
        .and_then(|i| match i.addr() {
            redis::ConnectionAddr::Tcp(h, _) => Some(h.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

async fn cmd(url: &str, server: &str, what: &str, c: redis::Cmd) -> Result<redis::Value> {
    let (_, mut conn) = connect(url, Duration::from_secs(3)).await?;
    c.query_async(&mut conn).await.map_err(|e| Error::Redis {
        server: server.to_owned(),
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// `dr-drill cutback` for Redis: after a failover the config's replica is the primary and
/// the old primary (restarted by the operator) replicates from it; a planned switch back:
/// `CLIENT PAUSE WRITE` on the serving primary, wait until the old one has every byte,
/// `REPLICAOF NO ONE` on it, `REPLICAOF` it on the other, unpause.
pub async fn cutback(d: &Drill, cfg: &RedisDrill, pace: Pace, b: &mut ReportBuilder) -> Result<()> {
    let mut tl = Timeline::new();
    let (nserver, ninfo) = role(&cfg.replica_url).await?;
    if ninfo.get("role").map(String::as_str) != Some("master") {
        return Err(Error::Precheck {
            server: nserver,
            message: "is not a primary: cutback follows a failover".to_owned(),
        });
    }
    let (oserver, oinfo) = role(&cfg.primary_url).await.map_err(|_| Error::Precheck {
        server: server_of(&cfg.primary_url).unwrap_or_default(),
        message:
            "does not answer: start the old primary as a replica of the new one (REPLICAOF) first"
                .to_owned(),
    })?;
    if !linked_replica(&oinfo) {
        return Err(Error::Precheck {
            server: oserver,
            message: "is not a replica with master_link_status:up: REPLICAOF the new primary first"
                .to_owned(),
        });
    }
    tl.step(
        "precheck",
        format!("{nserver} is primary, {oserver} replicates from it"),
    );
    let id = drill::drill_id(&d.name);
    let key = format!("{}:{id}", cfg.key);
    let w = heartbeat(&mut tl, cfg, &key, pace.step_timeout).await?;
    let pause_ms = pace.step_timeout.as_millis().to_string();
    let t0 = tl.t0(format!("CLIENT PAUSE {pause_ms} WRITE on {nserver}"));
    cmd(
        &cfg.replica_url,
        &nserver,
        "CLIENT PAUSE",
        redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(&pause_ms)
            .arg("WRITE")
            .clone(),
    )
    .await?;
    let done = "writes are paused on the serving primary; unpause it (CLIENT UNPAUSE)";
    let deadline = Instant::now() + pace.step_timeout;
    loop {
        let (_, n) = role(&cfg.replica_url).await?;
        let (_, o) = role(&cfg.primary_url).await?;
        if n.contains_key("master_repl_offset")
            && n.get("master_repl_offset") == o.get("slave_repl_offset")
        {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Error::Drill {
                step: "catch up".to_owned(),
                message: "the old primary did not reach the new one's offset".to_owned(),
                done: done.to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tl.step("caught_up", "replication offsets equal");
    cmd(
        &cfg.primary_url,
        &oserver,
        "REPLICAOF NO ONE",
        redis::cmd("REPLICAOF").arg("NO").arg("ONE").clone(),
    )
    .await?;
    tl.step("promoted", format!("REPLICAOF NO ONE on {oserver}"));
    let op = port_of(&cfg.primary_url);
    cmd(
        &cfg.replica_url,
        &nserver,
        "REPLICAOF",
        redis::cmd("REPLICAOF")
            .arg(host_of(&cfg.primary_url))
            .arg(op)
            .clone(),
    )
    .await?;
    let _ = cmd(
        &cfg.replica_url,
        &nserver,
        "CLIENT UNPAUSE",
        redis::cmd("CLIENT").arg("UNPAUSE").clone(),
    )
    .await;
    tl.step(
        "demoted",
        format!("{nserver} replicates from {oserver} again"),
    );
    let Some(first) = w.first_ack_on(op, t0, pace.step_timeout).await else {
        return Err(Error::Drill {
            step: "first write on the original primary".to_owned(),
            message: "none within the step timeout".to_owned(),
            done: "the roles are switched back".to_owned(),
        });
    };
    let stopped = drill::stop_heartbeat(
        &mut tl,
        w,
        &REDIS_BEAT,
        first,
        "first_write_original_primary",
        pace.settle,
    )
    .await;
    let np = port_of(&cfg.replica_url);
    let old: Vec<Ack> = stopped
        .acks
        .iter()
        .copied()
        .filter(|a| a.port == np)
        .collect();
    let (_, mut oc) = connect(&cfg.primary_url, Duration::from_secs(3)).await?;
    let items = pushes(&oserver, &mut oc, &key).await?;
    let m = drill::measure_rpo(&mut tl, &REDIS_BEAT, t0, first, &old, &items);
    drill::judge(b, d, &m);
    let deadline = Instant::now() + pace.step_timeout;
    let linked = loop {
        let (_, n) = role(&cfg.replica_url).await?;
        let ok = linked_replica(&n);
        if ok || Instant::now() >= deadline {
            break ok;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    b.check(if linked {
        gatehouse::Check::ok(crate::checks::CheckId::Topology).with_message(format!(
            "{oserver} takes writes; {nserver} replicates from it"
        ))
    } else {
        gatehouse::Check::fail(
            crate::checks::CheckId::Topology,
            format!("{nserver} did not link to {oserver}"),
        )
    });
    b.summary(format!(
        "{}: redis cutback {nserver} -> {oserver}: RTO {:.3}s, RPO {:.3}s ({} write(s))",
        d.name, m.rto_seconds, m.rpo_seconds, m.rpo_transactions
    ));
    b.data(drill::data_of(
        d,
        "redis",
        &id,
        &m,
        &tl,
        json!({
            "old_primary": nserver, "new_primary": oserver, "heartbeat_key": key,
            "heartbeats": stopped.to_json(old.len(), &first),
        }),
    ));
    Ok(())
}
