//! Method `patroni`: the cluster is Patroni's, so the drill asks its REST API — cluster
//! state from `GET /cluster`, the failover (`POST /failover` to the replica) and the cutback
//! (`POST /switchover` back to the original leader) — while the heartbeat and the RTO/RPO
//! measurement are the local method's.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use gatehouse::{Check, ReportBuilder};
use serde_json::{Value, json};

use crate::checks::CheckId;
use crate::config::{Drill, PgDrill};
use crate::drill::{self, Pace};
use crate::error::{Error, Result};
use crate::pgconn::Pg;
use crate::timeline::Timeline;

/// One HTTP/1.0 request to the REST API (plain HTTP on a loopback or private address).
fn http(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, String)> {
    let bad = |m: String| Error::Unreachable {
        server: format!("patroni {base}"),
        message: m,
    };
    let rest = base
        .strip_prefix("http://")
        .ok_or_else(|| bad("postgres.patroni.url: only http:// is supported".to_owned()))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("no address".to_owned()))?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| bad(e.to_string()))?;
    s.set_read_timeout(Some(timeout))
        .map_err(|e| bad(e.to_string()))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| bad(e.to_string()))?;
    let mut out = String::new();
    s.take(1 << 20)
        .read_to_string(&mut out)
        .map_err(|e| bad(e.to_string()))?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The members of `GET /cluster`: (name, role, state, port).
fn members(base: &str) -> Result<Vec<(String, String, String, u16)>> {
    let (status, body) = http(base, "GET", "/cluster", None, Duration::from_secs(5))?;
    let v: Value = serde_json::from_str(&body).map_err(|e| Error::Unreachable {
        server: format!("patroni {base}"),
        message: format!("GET /cluster ({status}): not JSON: {e}"),
    })?;
    Ok(v["members"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_owned(),
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["state"].as_str().unwrap_or_default().to_owned(),
                m["port"]
                    .as_u64()
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(0),
            )
        })
        .collect())
}

fn member_on(
    members: &[(String, String, String, u16)],
    pg: &Pg,
) -> Option<(String, String, String)> {
    let port = pg.port()?;
    members
        .iter()
        .find(|m| m.3 == port)
        .map(|m| (m.0.clone(), m.1.clone(), m.2.clone()))
}

/// `failover` (POST /failover to the config's replica) or `cutback` (POST /switchover from
/// the config's replica back to its primary).
pub async fn drill(
    d: &Drill,
    cfg: &PgDrill,
    pace: Pace,
    cutback: bool,
    b: &mut ReportBuilder,
) -> Result<()> {
    let base = cfg.patroni_url.clone().unwrap_or_default();
    let (primary, replica, service) = drill::endpoints(cfg, &d.path)?;
    // After a failover the roles are swapped: the drill moves leadership from `from` to `to`.
    let (from, to) = if cutback {
        (&replica, &primary)
    } else {
        (&primary, &replica)
    };
    let mut tl = Timeline::new();
    let ms = {
        let b2 = base.clone();
        drill::blocking(move || members(&b2)).await?
    };
    let (Some(leader), Some(candidate)) = (member_on(&ms, from), member_on(&ms, to)) else {
        return Err(Error::Precheck {
            server: format!("patroni {base}"),
            message: format!(
                "no member on the ports of {} and {} in GET /cluster",
                from.server, to.server
            ),
        });
    };
    if leader.1 != "leader"
        || candidate.1 == "leader"
        || candidate.2 != "running" && candidate.2 != "streaming"
    {
        return Err(Error::Precheck {
            server: format!("patroni {base}"),
            message: format!(
                "{} is {} and {} is {} ({}); {}",
                leader.0,
                leader.1,
                candidate.0,
                candidate.1,
                candidate.2,
                if cutback {
                    "cutback follows a failover"
                } else {
                    "failover needs the primary leading and the replica running"
                }
            ),
        });
    }
    tl.step(
        "precheck",
        format!(
            "{} leads ({}), {} is a running replica ({})",
            leader.0, from.server, candidate.0, to.server
        ),
    );
    drill::ensure_table(from, to, &cfg.table, pace.step_timeout).await?;
    let (id, writer) = drill::start_heartbeat(
        &mut tl,
        d,
        cfg,
        service,
        false,
        pace.step_timeout,
        "the heartbeat table was created; nothing else changed",
    )
    .await?;
    let (path, body) = if cutback {
        (
            "/switchover",
            json!({"leader": leader.0, "candidate": candidate.0}),
        )
    } else {
        ("/failover", json!({"candidate": candidate.0}))
    };
    let t0 = tl.t0(format!("POST {path} {body}"));
    let (b2, bd, st) = (base.clone(), body.clone(), pace.step_timeout);
    let (status, answer) = drill::blocking(move || http(&b2, "POST", path, Some(&bd), st)).await?;
    let done = tl.step("patroni_answered", format!("{status}: {}", answer.trim()));
    if status != 200 {
        return Err(Error::Drill {
            step: format!("POST {path}"),
            message: format!("{status}: {}", answer.trim()),
            done: "Patroni refused; nothing changed".to_owned(),
        });
    }
    let _ = done;
    let missing = Error::Drill {
        step: "first write on the new leader".to_owned(),
        message: "none within the step timeout".to_owned(),
        done: format!("Patroni moved leadership to {}", candidate.0),
    };
    let drill::MovedOutcome {
        first,
        stopped,
        old,
        m,
    } = drill::Moved {
        from,
        to,
        table: &cfg.table,
        id: &id,
        first_step: "first_write_new_primary",
    }
    .measure(&mut tl, writer, t0, pace, missing)
    .await?;
    drill::judge(b, d, &m);
    let deadline = Instant::now() + pace.step_timeout;
    let settled = loop {
        let b2 = base.clone();
        let ms = drill::blocking(move || members(&b2)).await?;
        let ok = member_on(&ms, to).is_some_and(|m| m.1 == "leader")
            && member_on(&ms, from)
                .is_some_and(|m| m.1 != "leader" && (m.2 == "running" || m.2 == "streaming"));
        if ok || Instant::now() >= deadline {
            break ok;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tl.step("topology", format!("{} leads: {settled}", candidate.0));
    b.check(if settled {
        Check::ok(CheckId::Topology).with_message(format!(
            "{} leads, {} runs as its replica",
            candidate.0, leader.0
        ))
    } else {
        Check::fail(
            CheckId::Topology,
            format!(
                "GET /cluster did not show {} leading with {} running as a replica",
                candidate.0, leader.0
            ),
        )
    });
    b.summary(format!(
        "{}: patroni {} {} -> {}: RTO {:.3}s, RPO {:.3}s ({} transaction(s))",
        d.name,
        &path[1..],
        leader.0,
        candidate.0,
        m.rto_seconds,
        m.rpo_seconds,
        m.rpo_transactions
    ));
    b.data(drill::data_of(
        d,
        "patroni",
        &id,
        &m,
        &tl,
        json!({
            "old_primary": from.server, "new_primary": to.server,
            "heartbeats": stopped.to_json(old, &first),
        }),
    ));
    Ok(())
}
