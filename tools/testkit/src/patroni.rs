//! Owns `PatroniCluster`: a real two-node Patroni cluster on loopback — one `etcd` (v3 API)
//! as the DCS and two `patroni` processes (as `nobody` when root), each running its own
//! PostgreSQL; ready once `GET /cluster` shows a leader and a running replica.
//!
//! Dropping it stops both Patroni processes (SIGTERM: Patroni shuts its PostgreSQL down),
//! then anything still running on either data directory (`pg_ctl stop -m immediate`), then
//! etcd, and removes the directory.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::{self, Account, ServerProcess};

/// Superuser password of both nodes (fixed, so a test can assert it never leaks).
const PASSWORD: &str = "testkit-patroni-secret";

/// A running two-node Patroni cluster and its etcd.
#[derive(Debug)]
pub struct PatroniCluster {
    nodes: Vec<ServerProcess>,
    etcd: Option<ServerProcess>,
    dir: tempfile::TempDir,
    pg_ports: [u16; 2],
    api_ports: [u16; 2],
    bin_dir: PathBuf,
    account: Option<Account>,
}

impl PatroniCluster {
    /// Starts etcd, then node 1 (it bootstraps and leads), then node 2 (it clones and
    /// follows); panics with one line and the log tail if the cluster does not form in 60 s.
    pub fn start() -> Self {
        let etcd_bin = process::find_binary("etcd");
        let patroni_bin = process::find_binary("patroni");
        let bin_dir = crate::postgres::bin_dir().to_path_buf();
        let account = process::unprivileged_account();
        let dir = process::temp_dir("patroni");
        if let Some(Account { uid, gid }) = account {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("testkit: cannot chown the patroni dir: {e}"));
        }
        let etcd_log = dir.path().join("etcd.log");
        let (etcd, etcd_port) = process::start_on_free_port(
            "etcd",
            "GET /version",
            &etcd_log,
            |port| {
                let peer = process::free_port();
                let mut cmd = Command::new(&etcd_bin);
                cmd.args(["--name", "e1", "--data-dir"])
                    .arg(dir.path().join("etcd"))
                    .arg(format!("--listen-client-urls=http://127.0.0.1:{port}"))
                    .arg(format!("--advertise-client-urls=http://127.0.0.1:{port}"))
                    .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer}"))
                    .arg(format!(
                        "--initial-advertise-peer-urls=http://127.0.0.1:{peer}"
                    ))
                    .arg(format!("--initial-cluster=e1=http://127.0.0.1:{peer}"))
                    .current_dir(dir.path());
                ServerProcess::spawn(cmd, &etcd_log, None, libc::SIGTERM)
            },
            |port| get(port, "/version").is_some_and(|b| b.contains("etcdserver")),
        );
        let pg_ports = [process::free_port(), process::free_port()];
        let api_ports = [process::free_port(), process::free_port()];
        let mut nodes = Vec::new();
        for i in 0..2 {
            let conf = dir.path().join(format!("node{}.yml", i + 1));
            let data = dir.path().join(format!("data{}", i + 1));
            std::fs::write(
                &conf,
                format!(
                    "scope: testkit\nname: node{n}\n\
                     restapi: {{listen: '127.0.0.1:{api}', connect_address: '127.0.0.1:{api}'}}\n\
                     etcd3: {{hosts: '127.0.0.1:{etcd_port}'}}\n\
                     bootstrap:\n  dcs: {{ttl: 10, loop_wait: 1, retry_timeout: 5, maximum_lag_on_failover: 1048576, \
                     postgresql: {{use_pg_rewind: true, parameters: {{wal_log_hints: 'on'}}}}}}\n  \
                     initdb: [{{encoding: UTF8}}, {{auth: scram-sha-256}}, no-locale]\n  \
                     pg_hba: ['host all all 127.0.0.1/32 scram-sha-256', 'host replication all 127.0.0.1/32 scram-sha-256', 'local all all trust']\n\
                     postgresql:\n  listen: '127.0.0.1:{pg}'\n  connect_address: '127.0.0.1:{pg}'\n  \
                     data_dir: '{data}'\n  bin_dir: '{bin}'\n  pgpass: '{dir}/pgpass{n}'\n  \
                     authentication:\n    superuser: {{username: postgres, password: '{PASSWORD}'}}\n    \
                     replication: {{username: replicator, password: '{PASSWORD}'}}\n    \
                     rewind: {{username: postgres, password: '{PASSWORD}'}}\n  \
                     parameters: {{unix_socket_directories: '{dir}', fsync: 'off'}}\n",
                    n = i + 1,
                    api = api_ports[i],
                    pg = pg_ports[i],
                    data = data.display(),
                    bin = bin_dir.display(),
                    dir = dir.path().display(),
                ),
            )
            .unwrap_or_else(|e| panic!("testkit: cannot write {}: {e}", conf.display()));
            let log = dir.path().join(format!("node{}.log", i + 1));
            let mut cmd = Command::new(&patroni_bin);
            cmd.arg(&conf)
                .env("HOME", dir.path())
                .current_dir(dir.path());
            nodes.push(ServerProcess::spawn(cmd, &log, account, libc::SIGTERM));
            // Node 1 bootstraps first, so node 2 clones it instead of racing for the lock.
            let want = if i == 0 { 1 } else { 2 };
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if running_members(api_ports[0])
                    .is_some_and(|(leaders, running)| leaders == 1 && running >= want)
                {
                    break;
                }
                if Instant::now() >= deadline {
                    panic!(
                        "testkit: patroni node{} did not join within 60s; last lines of {}:\n{}",
                        i + 1,
                        log.display(),
                        process::log_tail(&log)
                    );
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Self {
            nodes,
            etcd: Some(etcd),
            dir,
            pg_ports,
            api_ports,
            bin_dir,
            account,
        }
    }

    /// `postgres://postgres:PASSWORD@127.0.0.1:PORT/db` of node `i` (0 or 1).
    pub fn url(&self, i: usize, db: &str) -> String {
        format!(
            "postgres://postgres:{PASSWORD}@127.0.0.1:{}/{db}",
            self.pg_ports[i]
        )
    }

    /// `http://127.0.0.1:PORT` of node `i`'s REST API.
    pub fn api(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.api_ports[i])
    }

    /// `GET /cluster` as text, or `None` when the API does not answer.
    pub fn cluster(&self) -> Option<String> {
        get(self.api_ports[0], "/cluster").or_else(|| get(self.api_ports[1], "/cluster"))
    }

    pub fn password(&self) -> &str {
        PASSWORD
    }

    fn stop_data_dir(&self, data: &Path) {
        if !data.join("postmaster.pid").exists() {
            return;
        }
        let mut cmd = Command::new(self.bin_dir.join("pg_ctl"));
        cmd.arg("-D")
            .arg(data)
            .args(["stop", "-m", "immediate", "-w", "-t", "20"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .current_dir(self.dir.path());
        if let Some(Account { uid, gid }) = self.account {
            cmd.uid(uid).gid(gid);
        }
        let _ = cmd.status();
    }
}

impl Drop for PatroniCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        for i in 1..=2 {
            let data = self.dir.path().join(format!("data{i}"));
            self.stop_data_dir(&data);
        }
        self.etcd.take();
    }
}

/// (leaders, running members) from `GET /cluster` on `port`.
fn running_members(port: u16) -> Option<(usize, usize)> {
    let body = get(port, "/cluster")?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    let members = v["members"].as_array()?;
    let leaders = members
        .iter()
        .filter(|m| m["role"] == "leader" && m["state"] == "running")
        .count();
    let running = members
        .iter()
        .filter(|m| m["state"] == "running" || m["state"] == "streaming")
        .count();
    Some((leaders, running))
}

/// A plain HTTP/1.0 GET on 127.0.0.1; the body, or `None` on any failure.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}
