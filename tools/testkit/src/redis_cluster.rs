//! Owns `RedisCluster`: three real `redis-server --cluster-enabled yes` masters on free
//! loopback ports (bus ports chosen free too), joined with `redis-cli --cluster create`, ready
//! once every node says `cluster_state:ok`; and the resharding tests use
//! (`redis-cli --cluster reshard`).

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{self, ServerProcess};

#[derive(Debug)]
struct Node {
    // Field order matters: the server is stopped before its directory is removed.
    _process: ServerProcess,
    _dir: tempfile::TempDir,
    port: u16,
}

/// A running private 3-master Redis Cluster (no replicas); dropping it stops every node and
/// deletes their directories.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Node>,
    cli: PathBuf,
}

impl RedisCluster {
    /// Starts three masters, creates the cluster over them (slots split evenly) and waits
    /// until every node reports `cluster_state:ok`; panics with one line otherwise.
    pub fn start() -> Self {
        let server = process::find_binary("redis-server");
        let cli = process::find_binary("redis-cli");
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let dir = process::temp_dir("redis-cluster");
            let log = dir.path().join("redis.log");
            let (p, port) = process::start_on_free_port(
                "redis-server (cluster node)",
                "PING",
                &log,
                |port| {
                    let mut cmd = Command::new(&server);
                    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                        .args(["--cluster-enabled", "yes"])
                        .args(["--cluster-port", &process::free_port().to_string()])
                        .args(["--cluster-config-file", "nodes.conf"])
                        .args(["--cluster-node-timeout", "5000"])
                        .arg("--dir")
                        .arg(dir.path())
                        .args(["--appendonly", "no", "--save", ""])
                        .args(["--daemonize", "no", "--logfile", ""])
                        .current_dir(dir.path());
                    ServerProcess::spawn(cmd, &log, None, libc::SIGTERM)
                },
                ping,
            );
            nodes.push(Node {
                _process: p,
                _dir: dir,
                port,
            });
        }
        let cluster = RedisCluster { nodes, cli };
        let mut create = Command::new(&cluster.cli);
        create.arg("--cluster").arg("create");
        for n in &cluster.nodes {
            create.arg(format!("127.0.0.1:{}", n.port));
        }
        create.args(["--cluster-replicas", "0", "--cluster-yes"]);
        let out = create
            .output()
            .unwrap_or_else(|e| panic!("testkit: cannot run redis-cli --cluster create: {e}"));
        assert!(
            out.status.success(),
            "testkit: redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        cluster.wait_ok();
        cluster
    }

    /// Waits (up to 30 s) until every node says `cluster_state:ok` and agrees on 3 masters.
    fn wait_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = self.nodes.iter().all(|n| {
                let info = self.node_cli(n.port, &["CLUSTER", "INFO"]);
                info.contains("cluster_state:ok") && info.contains("cluster_known_nodes:3")
            });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "testkit: the Redis Cluster on ports {:?} did not reach cluster_state:ok within 30s",
                self.ports()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The masters' ports.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// `redis://127.0.0.1:PORT` of the first node (a cluster client finds the rest).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.nodes[0].port)
    }

    /// `redis-cli -c` (follows redirects) against the first node: stdout, trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new(&self.cli)
            .args([
                "-c",
                "-h",
                "127.0.0.1",
                "-p",
                &self.nodes[0].port.to_string(),
            ])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("testkit: cannot run {}: {e}", self.cli.display()));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `redis-cli` against one node (no redirects): stdout, trimmed.
    pub fn node_cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new(&self.cli)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("testkit: cannot run {}: {e}", self.cli.display()));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// `CLUSTER KEYSLOT key`.
    pub fn slot_of(&self, key: &str) -> u16 {
        self.cli(&["CLUSTER", "KEYSLOT", key])
            .parse()
            .unwrap_or_else(|e| panic!("testkit: CLUSTER KEYSLOT {key}: {e}"))
    }

    /// The port of the master that serves `slot`, and the first slot it serves in that range.
    pub fn owner_of(&self, slot: u16) -> (u16, u16) {
        let slots = self.cli(&["CLUSTER", "SLOTS"]);
        // redis-cli prints the nested reply one value per line: start, end, host, port, id, …
        let lines: Vec<&str> = slots.lines().map(str::trim).collect();
        let mut i = 0;
        while i + 3 < lines.len() {
            if let (Ok(start), Ok(end), Ok(port)) = (
                lines[i].parse::<u16>(),
                lines[i + 1].parse::<u16>(),
                lines[i + 3].parse::<u16>(),
            ) && lines[i + 2] == "127.0.0.1"
                && (start..=end).contains(&slot)
            {
                return (port, start);
            }
            i += 1;
        }
        panic!("testkit: no master serves slot {slot}:\n{slots}")
    }

    /// `CLUSTER MYID` of the node on `port`.
    pub fn node_id(&self, port: u16) -> String {
        self.node_cli(port, &["CLUSTER", "MYID"])
    }

    /// Moves `slots` slots (the lowest first) from the master on `from` to the master on `to`
    /// with `redis-cli --cluster reshard`, keys included (MIGRATE); returns once it is done.
    pub fn reshard(&self, from: u16, to: u16, slots: u32) {
        let out = Command::new(&self.cli)
            .args(["--cluster", "reshard", &format!("127.0.0.1:{from}")])
            .args(["--cluster-from", &self.node_id(from)])
            .args(["--cluster-to", &self.node_id(to)])
            .args(["--cluster-slots", &slots.to_string()])
            .args(["--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("testkit: cannot run redis-cli --cluster reshard: {e}"));
        assert!(
            out.status.success(),
            "testkit: redis-cli --cluster reshard failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Whether a server on `port` answers `PING` with `+PONG`.
fn ping(port: u16) -> bool {
    use std::io::{Read as _, Write as _};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
