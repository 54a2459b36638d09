//! sample-service's integration tests: the real binary against a real PostgreSQL and Redis
//! from testkit (and a real Prometheus where scraping is the point). Waits are bounded polls
//! on a condition, never fixed sleeps used as assertions.

mod api;
mod faults;
mod ingest;
mod metrics;
mod realtime;
mod start;

use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Postgres, Redis, SampleService, ServiceOptions};

pub const BIN: &str = env!("CARGO_BIN_EXE_sample-service");

/// How long a condition may take to become true on a loaded machine.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A PostgreSQL, a Redis and the service on them.
pub struct Env {
    pub svc: SampleService,
    pub redis: Redis,
    pub pg: Postgres,
}

impl Env {
    pub fn start() -> Env {
        Env::start_with(|o| o)
    }

    /// `configure` adds flags/env to the defaults (binary, a fast `--claim-idle`).
    pub fn start_with(configure: impl FnOnce(ServiceOptions) -> ServiceOptions) -> Env {
        let pg = Postgres::start();
        let redis = Redis::start();
        let svc = start_service(&pg, &redis, configure);
        Env { svc, redis, pg }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.svc.url())
    }

    pub fn admin(&self) -> Client {
        Client::new(&self.svc.admin_url())
    }

    pub fn sql(&self, sql: &str) -> String {
        self.pg.psql("postgres", sql)
    }
}

pub fn options() -> ServiceOptions {
    ServiceOptions::default()
        .binary(BIN)
        .arg("--claim-idle")
        .arg("300ms")
}

pub fn start_service(
    pg: &Postgres,
    redis: &Redis,
    configure: impl FnOnce(ServiceOptions) -> ServiceOptions,
) -> SampleService {
    SampleService::start_with(&pg.url("postgres"), &redis.url(), configure(options()))
}

/// A response: status, the headers we look at, body.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    pub cache: Option<String>,
    pub version: Option<String>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A small blocking HTTP client (ureq) that returns every status instead of failing on 4xx/5xx.
#[derive(Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Client {
            base: base.to_owned(),
            agent: ureq::Agent::new_with_config(config),
        }
    }

    pub fn get(&self, path: &str, tenant: &str) -> Resp {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("x-tenant", tenant)
            .call();
        read(r, path)
    }

    pub fn send(&self, method: &str, path: &str, tenant: &str, body: &Value) -> Resp {
        let url = format!("{}{path}", self.base);
        let body = body.to_string();
        let r = match method {
            "POST" => self
                .agent
                .post(&url)
                .header("x-tenant", tenant)
                .header("content-type", "application/json")
                .send(&body),
            "PUT" => self
                .agent
                .put(&url)
                .header("x-tenant", tenant)
                .header("content-type", "application/json")
                .send(&body),
            "DELETE" => self.agent.delete(&url).header("x-tenant", tenant).call(),
            other => panic!("unsupported method {other}"),
        };
        read(r, path)
    }

    pub fn post(&self, path: &str, tenant: &str, body: &Value) -> Resp {
        self.send("POST", path, tenant, body)
    }

    /// Sets fault knobs on the admin port; panics unless accepted.
    pub fn faults(&self, body: Value) -> Value {
        let r = self.send("PUT", "/admin/faults", "default", &body);
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()
    }
}

fn read(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>, path: &str) -> Resp {
    let mut r = r.unwrap_or_else(|e| panic!("request {path} failed: {e}"));
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let cache = header("x-cache");
    let version = header("x-service-version");
    let status = r.status().as_u16();
    let body = r
        .body_mut()
        .read_to_string()
        .unwrap_or_else(|e| panic!("reading the body of {path}: {e}"));
    Resp {
        status,
        body,
        cache,
        version,
    }
}

/// Polls `f` until it returns Some, for at most [`PATIENCE`]; panics with `what` otherwise.
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "waited {}s for {what}",
            PATIENCE.as_secs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A customer and an order of `tenant`; returns the order document.
pub fn place_order(c: &Client, tenant: &str, customer_id: i64) -> Value {
    let r = c.post(
        "/orders",
        tenant,
        &serde_json::json!({
            "customer_id": customer_id,
            "items": [{"sku": "SKU-1", "quantity": 2, "price_cents": 250}],
        }),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()
}

pub fn new_customer(c: &Client, email: &str) -> i64 {
    let r = c.post(
        "/customers",
        "default",
        &serde_json::json!({"email": email, "name": "Test"}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_i64().expect("an id")
}

/// The value of one series in a /metrics exposition, by name and label fragments; 0 if absent.
pub fn metric(exposition: &str, name: &str, labels: &[&str]) -> f64 {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.split(['{', ' ']).next() == Some(name) && labels.iter().all(|f| l.contains(f))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Whether stream id `a` comes before `b` (`""` comes before everything).
pub fn stream_id_lt(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> (u64, u64) {
        let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
        (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
    };
    a.is_empty() || parse(a) < parse(b)
}
