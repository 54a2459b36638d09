//! Owns `PrometheusHistory`: a private Prometheus whose TSDB starts with history the test
//! wrote — an OpenMetrics file backfilled with `promtool tsdb create-blocks-from
//! openmetrics` into its data dir before it starts — so burn rates over hours and days are
//! real PromQL over real blocks, in seconds. (A Prometheus started empty only loads blocks
//! dropped into its data dir at its next reload cycle, which a test cannot wait for.)

use std::process::Command;

use crate::http;
use crate::process::{self, ServerProcess};

/// A running Prometheus over backfilled history; dropping it stops it and deletes its
/// directory. It scrapes nothing unless the config asks.
#[derive(Debug)]
pub struct PrometheusHistory {
    // Field order matters: the server is stopped before its directory is removed.
    process: ServerProcess,
    dir: tempfile::TempDir,
    port: u16,
}

impl PrometheusHistory {
    /// Backfills `openmetrics` (samples with timestamps in seconds, ending in `# EOF`), then
    /// starts Prometheus on it with `config_yaml` and returns once `/-/ready` answers. Panics
    /// with one line (and the log's tail) if promtool refuses the file or Prometheus does
    /// not start.
    pub fn start(config_yaml: &str, openmetrics: &str) -> Self {
        let binary = process::find_binary("prometheus");
        let promtool = process::find_binary("promtool");
        let dir = process::temp_dir("prometheus-history");
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text)
                .unwrap_or_else(|e| panic!("testkit: cannot write {name}: {e}"));
        };
        write("prometheus.yml", config_yaml);
        write("history.om", openmetrics);
        let log = dir.path().join("prometheus.log");
        let mut backfill = Command::new(&promtool);
        backfill
            .args([
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "history.om",
                "data",
            ])
            .current_dir(dir.path());
        process::run(
            "promtool tsdb create-blocks-from openmetrics",
            backfill,
            &log,
            None,
        );
        let (process, port) = process::start_on_free_port(
            "prometheus",
            "GET /-/ready with 200",
            &log,
            |port| {
                let mut cmd = Command::new(&binary);
                cmd.arg("--config.file=prometheus.yml")
                    .arg("--storage.tsdb.path=data")
                    .arg("--storage.tsdb.retention.time=60d")
                    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                    .current_dir(dir.path());
                ServerProcess::spawn(cmd, &log, None, libc::SIGTERM)
            },
            |port| matches!(http::request("GET", port, "/-/ready"), Ok((200, _))),
        );
        Self { process, dir, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The working directory (config, the OpenMetrics file, the TSDB in `data/`).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}
