//! The scenario file (`schemas/perf-gate.scenario.schema.json`): k6's `options` in YAML —
//! scenarios with k6's executors and fields, thresholds in k6's syntax — plus the requests a
//! k6 script would make. Loading checks everything once, naming `file:line` for what is
//! wrong, and yields a [`Scenario`] the engine runs without further questions.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use gatehouse::Location;
use gatehouse::input::Input;
use gatehouse::yaml::Spanned;
use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use crate::error::{Error, at, invalid};
use crate::threshold::{self, Threshold};

/// Scenario files are small; a larger file is not a scenario.
pub const SIZE_LIMIT: u64 = 4 << 20;

/// k6's default request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// k6's default gracefulStop.
pub const DEFAULT_GRACEFUL_STOP: Duration = Duration::from_secs(30);

/// Where the load goes: `http://host:port/base`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path prefix without a trailing slash ("" for none).
    pub base: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let uri: hyper::Uri = url
            .trim()
            .parse()
            .map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            Some(s) => return Err(format!("{url:?}: scheme {s:?} is not http or https")),
            None => return Err(format!("{url:?}: give the scheme, e.g. http://{url}")),
        };
        let host = uri
            .host()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{url:?} has no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if uri.query().is_some() {
            return Err(format!(
                "{url:?}: a target has no query; put it in a request's path"
            ));
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Target {
            tls,
            host,
            port,
            base: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    /// `host:port` for connecting and the Host header.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "https" } else { "http" };
        write!(f, "{scheme}://{}{}", self.authority(), self.base)
    }
}

/// A piece of a templated value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// `{{seq}}`: a number unique within the run.
    Seq,
    /// `{{uuid}}`: a random UUID v4.
    Uuid,
}

/// A value with `{{seq}}` / `{{uuid}}` placeholders (`{{env.X}}` is resolved at load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template(pub Vec<Part>);

impl Template {
    fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            lit.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("{text:?}: '{{{{' without '}}}}'"))?;
            let name = after[..close].trim();
            match name {
                "seq" => {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                    parts.push(Part::Seq);
                }
                "uuid" => {
                    parts.push(Part::Lit(std::mem::take(&mut lit)));
                    parts.push(Part::Uuid);
                }
                _ => match name.strip_prefix("env.") {
                    Some(var) => lit.push_str(&env(var).ok_or_else(|| {
                        format!("{{{{env.{var}}}}}: the environment variable {var} is not set")
                    })?),
                    None => {
                        return Err(format!(
                            "unknown placeholder {{{{{name}}}}} (seq, uuid, env.NAME)"
                        ));
                    }
                },
            }
            rest = &after[close + 2..];
        }
        lit.push_str(rest);
        parts.push(Part::Lit(lit));
        parts.retain(|p| !matches!(p, Part::Lit(s) if s.is_empty()));
        Ok(Template(parts))
    }

    /// The text when there is no per-request placeholder.
    pub fn fixed(&self) -> Option<String> {
        match self.0.as_slice() {
            [] => Some(String::new()),
            [Part::Lit(s)] => Some(s.clone()),
            _ => None,
        }
    }

    pub fn render(&self, seq: u64, out: &mut String) {
        use std::fmt::Write;
        for p in &self.0 {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Seq => {
                    let _ = write!(out, "{seq}");
                }
                Part::Uuid => {
                    let v = fastrand::u128(..);
                    let v = (v & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
                    let h = format!("{v:032x}");
                    let _ = write!(
                        out,
                        "{}-{}-{}-{}-{}",
                        &h[..8],
                        &h[8..12],
                        &h[12..16],
                        &h[16..20],
                        &h[20..]
                    );
                }
            }
        }
    }
}

/// k6-style checks on a response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResponseChecks {
    pub status: Option<u16>,
    pub body_contains: Option<String>,
    /// Dotted JSON path → expected value.
    pub json: Vec<(String, serde_json::Value)>,
}

impl ResponseChecks {
    pub fn count(&self) -> u64 {
        u64::from(self.status.is_some())
            + u64::from(self.body_contains.is_some())
            + self.json.len() as u64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub name: String,
    pub method: hyper::Method,
    pub path: Template,
    pub headers: Vec<(hyper::header::HeaderName, Template)>,
    pub body: Option<Template>,
    pub json_body: bool,
    pub weight: u32,
    pub checks: ResponseChecks,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub target: f64,
    pub duration: Duration,
}

/// k6's executors, with their fields checked and rates per second.
#[derive(Debug, Clone, PartialEq)]
pub enum Executor {
    ConstantArrivalRate {
        rate: f64,
        duration: Duration,
        pre_allocated: u64,
        max_vus: u64,
    },
    RampingArrivalRate {
        start_rate: f64,
        stages: Vec<Stage>,
        pre_allocated: u64,
        max_vus: u64,
    },
    ConstantVus {
        vus: u64,
        duration: Duration,
    },
    RampingVus {
        start_vus: u64,
        stages: Vec<Stage>,
    },
    PerVuIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
    SharedIterations {
        vus: u64,
        iterations: u64,
        max_duration: Duration,
    },
}

impl Executor {
    pub fn is_open(&self) -> bool {
        matches!(
            self,
            Executor::ConstantArrivalRate { .. } | Executor::RampingArrivalRate { .. }
        )
    }

    /// How long the executor schedules work (iteration-based ones: their maxDuration).
    pub fn duration(&self) -> Duration {
        match self {
            Executor::ConstantArrivalRate { duration, .. }
            | Executor::ConstantVus { duration, .. } => *duration,
            Executor::RampingArrivalRate { stages, .. } | Executor::RampingVus { stages, .. } => {
                stages.iter().map(|s| s.duration).sum()
            }
            Executor::PerVuIterations { max_duration, .. }
            | Executor::SharedIterations { max_duration, .. } => *max_duration,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSpec {
    pub name: String,
    pub start_time: Duration,
    pub graceful_stop: Duration,
    pub executor: Executor,
}

/// `regression:` budget against a baseline: relative for latencies, absolute for errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regression {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub error_rate: f64,
}

impl Default for Regression {
    fn default() -> Self {
        Regression {
            p50: 0.10,
            p95: 0.10,
            p99: 0.20,
            error_rate: 0.005,
        }
    }
}

/// A checked scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub path: String,
    pub target: Option<Target>,
    pub requests: Vec<Request>,
    pub scenarios: Vec<ScenarioSpec>,
    pub thresholds: Vec<Threshold>,
    pub regression: Regression,
    pub timeout: Duration,
    /// HTTP/2: h2c with prior knowledge for http, ALPN h2 for https.
    pub http2: bool,
}

impl Scenario {
    pub fn request_names(&self) -> Vec<String> {
        self.requests.iter().map(|r| r.name.clone()).collect()
    }

    pub fn scenario_names(&self) -> Vec<String> {
        self.scenarios.iter().map(|s| s.name.clone()).collect()
    }

    pub fn is_open(&self) -> bool {
        self.scenarios.iter().all(|s| s.executor.is_open())
    }
}

// ---- the YAML as written ----

/// A YAML mapping kept in order, with each key's position.
#[derive(Debug)]
struct Ordered<V>(Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Ordered<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = Ordered<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V2(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    target: Option<Spanned<String>>,
    requests: Spanned<Vec<Spanned<RawRequest>>>,
    scenarios: Spanned<Ordered<Spanned<RawScenario>>>,
    #[serde(default)]
    thresholds: Option<Ordered<Spanned<Vec<Spanned<RawThreshold>>>>>,
    regression: Option<Spanned<RawRegression>>,
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    http2: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    name: Option<String>,
    method: Option<Spanned<String>>,
    path: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    body: Option<Spanned<serde_json::Value>>,
    weight: Option<Spanned<u32>>,
    checks: Option<Spanned<RawChecks>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    status: Option<u16>,
    body_contains: Option<String>,
    #[serde(default)]
    json: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawScenario {
    executor: Spanned<String>,
    start_time: Option<Spanned<String>>,
    graceful_stop: Option<Spanned<String>>,
    rate: Option<Spanned<f64>>,
    time_unit: Option<Spanned<String>>,
    duration: Option<Spanned<String>>,
    #[serde(rename = "preAllocatedVUs")]
    pre_allocated_vus: Option<Spanned<u64>>,
    #[serde(rename = "maxVUs")]
    max_vus: Option<Spanned<u64>>,
    start_rate: Option<Spanned<f64>>,
    stages: Option<Spanned<Vec<RawStage>>>,
    vus: Option<Spanned<u64>>,
    #[serde(rename = "startVUs")]
    start_vus: Option<Spanned<u64>>,
    iterations: Option<Spanned<u64>>,
    max_duration: Option<Spanned<String>>,
    graceful_ramp_down: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    target: f64,
    duration: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawThreshold {
    Expr(String),
    Full(RawThresholdObject),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawThresholdObject {
    threshold: String,
    #[serde(default)]
    abort_on_fail: bool,
    delay_abort_eval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegression {
    p50: Option<Spanned<String>>,
    p95: Option<Spanned<String>>,
    p99: Option<Spanned<String>>,
    error_rate: Option<Spanned<f64>>,
}

// ---- checking ----

struct Ctx<'a> {
    path: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, loc: &serde_saphyr::Location, msg: impl Into<String>) -> Result<T, Error> {
        Err(at(self.path, loc.line(), loc.column(), msg))
    }

    fn location(&self, loc: &serde_saphyr::Location) -> Location {
        Location::at(self.path, loc.line(), loc.column().max(1))
    }

    fn duration(&self, s: &Spanned<String>, what: &str) -> Result<Duration, Error> {
        gatehouse::duration::parse_duration(&s.value)
            .or_else(|e| self.err(&s.referenced, format!("{what}: {e}")))
    }
}

/// Reads and checks a scenario file.
pub fn load(input: &Input) -> Result<Scenario, Error> {
    let label = input.label();
    let raw: RawFile = gatehouse::yaml::from_input(input)?;
    let env = |k: &str| std::env::var(k).ok();
    check(&label, raw, &env)
}

/// Parses scenario YAML text (for tests and `convert`).
pub fn parse(label: &str, text: &str) -> Result<Scenario, Error> {
    let raw: RawFile = gatehouse::yaml::from_str(label, text)?;
    let env = |k: &str| std::env::var(k).ok();
    check(label, raw, &env)
}

fn check(
    path: &str,
    raw: RawFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Scenario, Error> {
    let cx = Ctx { path };
    let target = match &raw.target {
        Some(t) => Some(Target::parse(&t.value).or_else(|e| cx.err(&t.referenced, e))?),
        None => None,
    };
    let timeout = match &raw.timeout {
        Some(t) => cx.duration(t, "timeout")?,
        None => DEFAULT_TIMEOUT,
    };
    if raw.requests.value.is_empty() {
        return cx.err(
            &raw.requests.referenced,
            "requests: give at least one request",
        );
    }
    let mut requests = Vec::new();
    for (i, r) in raw.requests.value.into_iter().enumerate() {
        requests.push(check_request(&cx, i, r, env)?);
    }
    let mut seen = std::collections::BTreeSet::new();
    for r in &requests {
        if !seen.insert(r.name.clone()) {
            return Err(invalid(
                path,
                format!("requests: the name {:?} is used twice", r.name),
            ));
        }
    }
    if raw.scenarios.value.0.is_empty() {
        return cx.err(
            &raw.scenarios.referenced,
            "scenarios: give at least one scenario",
        );
    }
    let mut scenarios = Vec::new();
    for (name, s) in raw.scenarios.value.0 {
        scenarios.push(check_scenario(&cx, name, s)?);
    }
    let mut thresholds = Vec::new();
    for (key, list) in raw.thresholds.map(|t| t.0).unwrap_or_default() {
        for entry in list.value {
            let (expr, abort, delay) = match entry.value {
                RawThreshold::Expr(e) => (e, false, None),
                RawThreshold::Full(o) => (o.threshold, o.abort_on_fail, o.delay_abort_eval),
            };
            let mut t = threshold::parse(&key.value, &expr)
                .or_else(|e| cx.err(&entry.referenced, format!("threshold {}: {e}", key.value)))?;
            if let Some(tag) = &t.tag
                && tag.0 == "name"
                && !requests.iter().any(|r| r.name == tag.1)
            {
                return cx.err(
                    &key.referenced,
                    format!("threshold {}: no request is named {:?}", key.value, tag.1),
                );
            }
            if let Some(tag) = &t.tag
                && tag.0 == "scenario"
                && !scenarios.iter().any(|s| s.name == tag.1)
            {
                return cx.err(
                    &key.referenced,
                    format!("threshold {}: no scenario is named {:?}", key.value, tag.1),
                );
            }
            t.abort_on_fail = abort;
            if let Some(d) = delay {
                t.delay_abort_eval = gatehouse::duration::parse_duration(&d).or_else(|e| {
                    cx.err(
                        &entry.referenced,
                        format!("threshold {}: delayAbortEval: {e}", key.value),
                    )
                })?;
            }
            t.location = Some(cx.location(&entry.referenced));
            thresholds.push(t);
        }
    }
    let mut regression = Regression::default();
    if let Some(r) = raw.regression {
        let pct = |s: &Spanned<String>, what: &str| -> Result<f64, Error> {
            parse_percent(&s.value)
                .or_else(|e| cx.err(&s.referenced, format!("regression.{what}: {e}")))
        };
        if let Some(v) = &r.value.p50 {
            regression.p50 = pct(v, "p50")?;
        }
        if let Some(v) = &r.value.p95 {
            regression.p95 = pct(v, "p95")?;
        }
        if let Some(v) = &r.value.p99 {
            regression.p99 = pct(v, "p99")?;
        }
        if let Some(v) = &r.value.error_rate {
            if !(0.0..=1.0).contains(&v.value) {
                return cx.err(
                    &v.referenced,
                    "regression.error_rate: a fraction between 0 and 1",
                );
            }
            regression.error_rate = v.value;
        }
    }
    Ok(Scenario {
        path: path.to_owned(),
        target,
        requests,
        scenarios,
        thresholds,
        regression,
        timeout,
        http2: raw.http2,
    })
}

/// `10%` → 0.10; a bare number is a fraction (`0.1`).
pub fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, scale) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), 100.0),
        None => (t, 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (e.g. 10%)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?}: a percentage is ≥ 0"));
    }
    Ok(v / scale)
}

fn check_request(
    cx: &Ctx<'_>,
    i: usize,
    r: Spanned<RawRequest>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Request, Error> {
    let loc = r.referenced;
    let r = r.value;
    let name = r.name.unwrap_or_else(|| format!("request-{}", i + 1));
    let method = match &r.method {
        Some(m) => {
            hyper::Method::from_bytes(m.value.to_ascii_uppercase().as_bytes()).or_else(|_| {
                cx.err(
                    &m.referenced,
                    format!("{:?} is not an HTTP method", m.value),
                )
            })?
        }
        None => hyper::Method::GET,
    };
    if !r.path.value.starts_with('/') {
        return cx.err(
            &r.path.referenced,
            format!("path {:?} must start with /", r.path.value),
        );
    }
    let path = Template::parse(&r.path.value, env).or_else(|e| cx.err(&r.path.referenced, e))?;
    if let Some(p) = path.fixed()
        && p.parse::<hyper::Uri>().is_err()
    {
        return cx.err(
            &r.path.referenced,
            format!("path {p:?} is not a valid request path"),
        );
    }
    let mut headers = Vec::new();
    for (k, v) in r.headers {
        let at = v.referenced;
        let hn = hyper::header::HeaderName::from_bytes(k.as_bytes())
            .or_else(|_| cx.err(&at, format!("request {name}: {k:?} is not a header name")))?;
        let t = Template::parse(&v.value, env)
            .or_else(|e| cx.err(&at, format!("request {name}: header {k}: {e}")))?;
        if let Some(f) = t.fixed()
            && hyper::header::HeaderValue::from_str(&f).is_err()
        {
            return cx.err(
                &at,
                format!("request {name}: header {k}: not a valid header value"),
            );
        }
        headers.push((hn, t));
    }
    let body_at = r.body.as_ref().map_or(loc, |b| b.referenced);
    let body_err = |e: String| cx.err(&body_at, format!("request {name}: body: {e}"));
    let (body, json_body) = match r.body.map(|b| b.value) {
        None | Some(serde_json::Value::Null) => (None, false),
        Some(serde_json::Value::String(s)) => {
            (Some(Template::parse(&s, env).or_else(body_err)?), false)
        }
        Some(v) => {
            let text = serde_json::to_string(&v).unwrap_or_default();
            (Some(Template::parse(&text, env).or_else(body_err)?), true)
        }
    };
    let weight = match &r.weight {
        Some(w) if w.value == 0 => return cx.err(&w.referenced, "weight must be at least 1"),
        Some(w) => w.value,
        None => 1,
    };
    let checks = match r.checks {
        Some(c) => {
            if let Some(s) = c.value.status
                && !(100..=599).contains(&s)
            {
                return cx.err(
                    &c.referenced,
                    format!("checks.status {s} is not an HTTP status"),
                );
            }
            ResponseChecks {
                status: c.value.status,
                body_contains: c.value.body_contains,
                json: c.value.json.into_iter().collect(),
            }
        }
        None => ResponseChecks::default(),
    };
    Ok(Request {
        name,
        method,
        path,
        headers,
        body,
        json_body,
        weight,
        checks,
    })
}

fn check_scenario(
    cx: &Ctx<'_>,
    name: Spanned<String>,
    s: Spanned<RawScenario>,
) -> Result<ScenarioSpec, Error> {
    let n = &name.value;
    let r = s.value;
    let exec = r.executor.value.as_str();
    // The fields each executor takes besides startTime and gracefulStop, as k6 defines them.
    let allowed: &[&str] = match exec {
        "constant-arrival-rate" => &["rate", "timeUnit", "duration", "preAllocatedVUs", "maxVUs"],
        "ramping-arrival-rate" => &[
            "startRate",
            "timeUnit",
            "stages",
            "preAllocatedVUs",
            "maxVUs",
        ],
        "constant-vus" => &["vus", "duration"],
        "ramping-vus" => &["startVUs", "stages", "gracefulRampDown"],
        "per-vu-iterations" => &["vus", "iterations", "maxDuration"],
        "shared-iterations" => &["vus", "iterations", "maxDuration"],
        "externally-controlled" => {
            return cx.err(
                &r.executor.referenced,
                format!("scenario {n}: externally-controlled needs k6's REST API; perf-gate does not run it"),
            );
        }
        other => {
            return cx.err(
                &r.executor.referenced,
                format!("scenario {n}: unknown executor {other:?} (constant-arrival-rate, ramping-arrival-rate, constant-vus, ramping-vus, per-vu-iterations, shared-iterations)"),
            );
        }
    };
    let present: [(&str, Option<&serde_saphyr::Location>); 12] = [
        ("rate", r.rate.as_ref().map(|v| &v.referenced)),
        ("timeUnit", r.time_unit.as_ref().map(|v| &v.referenced)),
        ("duration", r.duration.as_ref().map(|v| &v.referenced)),
        (
            "preAllocatedVUs",
            r.pre_allocated_vus.as_ref().map(|v| &v.referenced),
        ),
        ("maxVUs", r.max_vus.as_ref().map(|v| &v.referenced)),
        ("startRate", r.start_rate.as_ref().map(|v| &v.referenced)),
        ("stages", r.stages.as_ref().map(|v| &v.referenced)),
        ("vus", r.vus.as_ref().map(|v| &v.referenced)),
        ("startVUs", r.start_vus.as_ref().map(|v| &v.referenced)),
        ("iterations", r.iterations.as_ref().map(|v| &v.referenced)),
        (
            "maxDuration",
            r.max_duration.as_ref().map(|v| &v.referenced),
        ),
        (
            "gracefulRampDown",
            r.graceful_ramp_down.as_ref().map(|v| &v.referenced),
        ),
    ];
    for (field, loc) in present {
        if let Some(loc) = loc
            && !allowed.contains(&field)
        {
            return cx.err(
                loc,
                format!("scenario {n}: {exec} has no field {field} (it takes {}, startTime, gracefulStop)", allowed.join(", ")),
            );
        }
    }
    let need = |field: &str| -> Error {
        at(
            cx.path,
            name.referenced.line(),
            name.referenced.column(),
            format!("scenario {n}: {exec} needs {field}"),
        )
    };
    let time_unit = match &r.time_unit {
        Some(t) => {
            let d = cx.duration(t, &format!("scenario {n}: timeUnit"))?;
            if d.is_zero() {
                return cx.err(
                    &t.referenced,
                    format!("scenario {n}: timeUnit must be longer than 0"),
                );
            }
            d
        }
        None => Duration::from_secs(1),
    };
    let per_s = |v: f64| v / time_unit.as_secs_f64();
    let dur = |f: &Option<Spanned<String>>, field: &str| -> Result<Option<Duration>, Error> {
        f.as_ref()
            .map(|d| cx.duration(d, &format!("scenario {n}: {field}")))
            .transpose()
    };
    let stages = |scale: &dyn Fn(f64) -> f64| -> Result<Vec<Stage>, Error> {
        let Some(st) = &r.stages else {
            return Err(need("stages"));
        };
        if st.value.is_empty() {
            return cx.err(&st.referenced, format!("scenario {n}: stages is empty"));
        }
        st.value
            .iter()
            .map(|s| {
                if !s.target.is_finite() || s.target < 0.0 {
                    return cx.err(
                        &st.referenced,
                        format!("scenario {n}: a stage target is ≥ 0"),
                    );
                }
                Ok(Stage {
                    target: scale(s.target),
                    duration: cx.duration(&s.duration, &format!("scenario {n}: stage duration"))?,
                })
            })
            .collect()
    };
    let vus = |default: u64| r.vus.as_ref().map_or(default, |v| v.value);
    let pre = r.pre_allocated_vus.as_ref().map(|v| v.value);
    let max = r.max_vus.as_ref().map(|v| v.value);
    let (pre_allocated, max_vus) = match (pre, max) {
        (Some(p), Some(m)) if m < p => {
            return cx.err(
                &name.referenced,
                format!("scenario {n}: maxVUs ({m}) is below preAllocatedVUs ({p})"),
            );
        }
        (Some(p), m) => (p, m.unwrap_or(p)),
        (None, Some(m)) => (m, m),
        (None, None) => (100, 100),
    };
    let executor = match exec {
        "constant-arrival-rate" => {
            let Some(rate) = &r.rate else {
                return Err(need("rate"));
            };
            if !rate.value.is_finite() || rate.value <= 0.0 {
                return cx.err(&rate.referenced, format!("scenario {n}: rate must be > 0"));
            }
            let Some(duration) = dur(&r.duration, "duration")? else {
                return Err(need("duration"));
            };
            Executor::ConstantArrivalRate {
                rate: per_s(rate.value),
                duration,
                pre_allocated,
                max_vus,
            }
        }
        "ramping-arrival-rate" => Executor::RampingArrivalRate {
            start_rate: per_s(r.start_rate.as_ref().map_or(0.0, |v| v.value)),
            stages: stages(&per_s)?,
            pre_allocated,
            max_vus,
        },
        "constant-vus" => {
            let Some(duration) = dur(&r.duration, "duration")? else {
                return Err(need("duration"));
            };
            Executor::ConstantVus {
                vus: vus(1),
                duration,
            }
        }
        "ramping-vus" => Executor::RampingVus {
            start_vus: r.start_vus.as_ref().map_or(1, |v| v.value),
            stages: stages(&|v| v)?,
        },
        "per-vu-iterations" => Executor::PerVuIterations {
            vus: vus(1),
            iterations: r.iterations.as_ref().map_or(1, |v| v.value),
            max_duration: dur(&r.max_duration, "maxDuration")?.unwrap_or(Duration::from_secs(600)),
        },
        _ => Executor::SharedIterations {
            vus: vus(1),
            iterations: r.iterations.as_ref().map_or(1, |v| v.value),
            max_duration: dur(&r.max_duration, "maxDuration")?.unwrap_or(Duration::from_secs(600)),
        },
    };
    if executor.duration() > Duration::from_secs(7 * 24 * 3600) {
        return cx.err(
            &name.referenced,
            format!("scenario {n}: longer than 7 days"),
        );
    }
    Ok(ScenarioSpec {
        name: n.clone(),
        start_time: dur(&r.start_time, "startTime")?.unwrap_or_default(),
        graceful_stop: dur(&r.graceful_stop, "gracefulStop")?.unwrap_or(DEFAULT_GRACEFUL_STOP),
        executor,
    })
}

/// Reads and checks the scenario file at `path`.
pub fn read(path: &std::path::Path) -> Result<Scenario, Error> {
    let src = gatehouse::Source::new(path);
    let input = gatehouse::input::read_limited(&src, SIZE_LIMIT).map_err(Error::from)?;
    load(&input)
}
