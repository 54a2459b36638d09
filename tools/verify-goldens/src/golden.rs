//! Owns `golden_paths.yaml`: its serde model (schemas/verify-goldens.golden-paths.schema.json)
//! and the checked plan a run executes. Everything that can be wrong with the file is found
//! here, before the first request, as one `file:line:col: …` line: unknown keys, an
//! environment that does not exist, `${env:NAME}` unset, a JSONPath that is not RFC 9535,
//! a regex that does not compile, a `{{variable}}` no earlier step captures.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use gatehouse::InputError;
use gatehouse::yaml::Spanned;
use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;

use crate::http::Target;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    environments: BTreeMap<String, Spanned<Environment>>,
    paths: Vec<PathDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Environment {
    base_url: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathDef {
    name: Spanned<String>,
    steps: Vec<Spanned<StepDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepDef {
    #[serde(default)]
    name: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<Spanned<String>>,
    #[serde(default)]
    realtime: Option<Spanned<RealtimeDef>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    json: Option<Spanned<Value>>,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
    #[serde(default)]
    expect: Expect,
    #[serde(default)]
    capture: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    retry: Option<Spanned<RetryDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RealtimeDef {
    transport: Spanned<String>,
    path: Spanned<String>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    #[serde(default = "default_events")]
    events: u32,
    trigger: Box<Spanned<StepDef>>,
    #[serde(default)]
    lag: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    resume: u32,
    #[serde(default)]
    timeout: Option<Spanned<String>>,
}

fn default_events() -> u32 {
    10
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    #[serde(default)]
    status: Option<StatusDef>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    latency: Option<Spanned<String>>,
    #[serde(default)]
    json: Vec<Spanned<JsonAssertDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum StatusDef {
    One(u16),
    Many(Vec<u16>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonAssertDef {
    path: Spanned<String>,
    #[serde(default)]
    equals: Option<Value>,
    #[serde(default)]
    exists: Option<bool>,
    #[serde(default)]
    matches: Option<Spanned<String>>,
    #[serde(default)]
    length: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryDef {
    attempts: u32,
    #[serde(default)]
    backoff: Option<String>,
}

/// A string with `{{variable}}` placeholders filled at run time (`${env:…}` is already in).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template(pub String);

impl Template {
    /// The variables it uses.
    pub fn vars(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(i) = rest.find("{{") {
            let after = &rest[i + 2..];
            let Some(j) = after.find("}}") else { break };
            out.push(after[..j].trim().to_owned());
            rest = &after[j + 2..];
        }
        out
    }

    /// Fills the placeholders; every one was checked to be captured before.
    pub fn fill(&self, vars: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = self.0.as_str();
        while let Some(i) = rest.find("{{") {
            let after = &rest[i + 2..];
            let Some(j) = after.find("}}") else { break };
            out.push_str(&rest[..i]);
            let name = after[..j].trim();
            out.push_str(vars.get(name).map_or("", String::as_str));
            rest = &after[j + 2..];
        }
        out.push_str(rest);
        out
    }
}

/// What one `expect.json` entry asserts about the nodes its path selects.
#[derive(Debug, Clone)]
pub(crate) enum JsonOp {
    Equals(Value),
    Exists(bool),
    Matches(regex::Regex),
    Length(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct JsonAssert {
    pub path_text: String,
    pub path: JsonPath,
    pub op: JsonOp,
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub name: String,
    /// 1-based line of the step in the file.
    pub line: u64,
    pub method: String,
    pub path: Template,
    pub headers: Vec<(String, Template)>,
    /// The JSON body; its strings may hold `{{variables}}`.
    pub json: Option<Value>,
    pub timeout: Duration,
    pub status: Vec<u16>,
    /// Header name (lower case), anchored regex, its source text.
    pub expect_headers: Vec<(String, regex::Regex, String)>,
    pub latency: Option<Duration>,
    pub json_asserts: Vec<JsonAssert>,
    pub captures: Vec<(String, String, JsonPath)>,
    /// (attempts in all, first backoff), only where the step declares it.
    pub retry: Option<(u32, Duration)>,
    pub realtime: Option<Box<Realtime>>,
}

/// A realtime step: subscribe, trigger `events` events, measure delivery lag, optionally
/// disconnect and resume.
#[derive(Debug, Clone)]
pub(crate) struct Realtime {
    pub websocket: bool,
    pub headers: Vec<(String, Template)>,
    pub events: u32,
    /// The HTTP step that makes one event; `{{n}}` is its number (1-based).
    pub trigger: Step,
    /// Budgets: ("p50" | "p95" | "max", duration).
    pub lag: Vec<(String, Duration)>,
    /// Events triggered while disconnected, then read after resuming (0: no resume).
    pub resume: u32,
    /// How long to wait for the events after the last trigger.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub(crate) struct GoldenPath {
    pub name: String,
    pub line: u64,
    pub steps: Vec<Step>,
}

/// The checked plan of a run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    /// The file as the user named it, for locations.
    pub file: String,
    pub environment: String,
    pub base_url: String,
    pub base: Target,
    pub headers: Vec<(String, Template)>,
    pub paths: Vec<GoldenPath>,
}

/// The variables every path starts with.
pub(crate) const BUILTIN_VARS: &[&str] = &["run_id"];

struct Ctx<'a> {
    file: &'a str,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Ctx<'_> {
    fn err(&self, loc: &serde_saphyr::Location, message: impl Into<String>) -> InputError {
        InputError::Parse {
            path: self.file.to_owned(),
            line: loc.line().max(1),
            column: loc.column().max(1),
            message: message.into(),
        }
    }

    /// Replaces `${env:NAME}` with the variable's value; unset is an error at `loc`.
    fn env_subst(&self, s: &Spanned<String>) -> Result<String, InputError> {
        let mut out = String::new();
        let mut rest = s.value.as_str();
        while let Some(i) = rest.find("${env:") {
            let after = &rest[i + 6..];
            let Some(j) = after.find('}') else {
                return Err(self.err(&s.referenced, "unclosed ${env:"));
            };
            let name = &after[..j];
            let value = (self.env)(name).ok_or_else(|| {
                self.err(
                    &s.referenced,
                    format!("environment variable {name} is not set"),
                )
            })?;
            out.push_str(&rest[..i]);
            out.push_str(&value);
            rest = &after[j + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn duration(&self, s: &Spanned<String>) -> Result<Duration, InputError> {
        gatehouse::duration::parse_duration(&s.value)
            .map_err(|e| self.err(&s.referenced, e.to_string()))
            .and_then(|d| {
                if d.is_zero() {
                    Err(self.err(&s.referenced, "a duration must be more than 0"))
                } else {
                    Ok(d)
                }
            })
    }

    /// Compiles an RFC 9535 JSONPath; an error names `who` (path and step).
    fn json_path(&self, s: &Spanned<String>, who: &str) -> Result<JsonPath, InputError> {
        JsonPath::parse(&s.value).map_err(|e| {
            let one_line = e
                .to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            self.err(
                &s.referenced,
                format!(
                    "{who}: JSONPath {:?} is not valid RFC 9535: {one_line}",
                    s.value
                ),
            )
        })
    }
}

/// Reads and checks `golden_paths.yaml` for environment `env` (optional when the file has
/// one); `lookup` reads environment variables (std::env in the tool, a map in tests).
pub(crate) fn load(
    label: &str,
    text: &str,
    env: Option<&str>,
    only: &[String],
    default_timeout: Duration,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, InputError> {
    let file: File = gatehouse::yaml::from_str(label, text)?;
    let cx = Ctx {
        file: label,
        env: lookup,
    };
    let (env_name, environment) = match env {
        Some(name) => file.environments.get_key_value(name).ok_or_else(|| {
            InputError::invalid(
                label,
                format!(
                    "no environment {name:?}; the file has {}",
                    file.environments
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
        None if file.environments.len() == 1 => file
            .environments
            .iter()
            .next()
            .ok_or_else(|| InputError::invalid(label, "no environments"))?,
        None => {
            return Err(InputError::invalid(
                label,
                format!(
                    "name the environment with --env (one of {})",
                    file.environments
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    };
    let base_url = cx.env_subst(&environment.value.base_url)?;
    let base_url = base_url.trim_end_matches('/').to_owned();
    let base =
        Target::parse(&base_url).map_err(|m| cx.err(&environment.value.base_url.referenced, m))?;
    let mut headers = Vec::new();
    for (k, v) in &environment.value.headers {
        headers.push((k.clone(), Template(cx.env_subst(v)?)));
    }
    for name in only {
        if !file.paths.iter().any(|p| &p.name.value == name) {
            return Err(InputError::invalid(
                label,
                format!("--path {name:?}: no such path"),
            ));
        }
    }
    let mut paths = Vec::new();
    for p in &file.paths {
        if !only.is_empty() && !only.contains(&p.name.value) {
            continue;
        }
        let mut known: BTreeSet<String> = BUILTIN_VARS.iter().map(|s| (*s).to_owned()).collect();
        let mut steps = Vec::new();
        for s in &p.steps {
            if s.value.name.trim().is_empty() {
                return Err(cx.err(&s.referenced, "a step needs a name"));
            }
            let step = compile_step(&cx, s, &p.name.value, &known, default_timeout)?;
            known.extend(step.captures.iter().map(|(n, _, _)| n.clone()));
            steps.push(step);
        }
        if steps.is_empty() {
            return Err(cx.err(
                &p.name.referenced,
                format!("path {:?} has no steps", p.name.value),
            ));
        }
        paths.push(GoldenPath {
            name: p.name.value.clone(),
            line: p.name.referenced.line(),
            steps,
        });
    }
    if paths.is_empty() {
        return Err(InputError::invalid(label, "no paths to probe"));
    }
    Ok(Plan {
        file: label.to_owned(),
        environment: env_name.clone(),
        base_url,
        base,
        headers,
        paths,
    })
}

fn compile_step(
    cx: &Ctx<'_>,
    s: &Spanned<StepDef>,
    path_name: &str,
    known: &BTreeSet<String>,
    default_timeout: Duration,
) -> Result<Step, InputError> {
    let d = &s.value;
    let who = format!("path {path_name:?}, step {:?}", d.name);
    let used = |t: &Template, at: &serde_saphyr::Location| -> Result<(), InputError> {
        for v in t.vars() {
            if !known.contains(&v) {
                return Err(cx.err(
                    at,
                    format!(
                        "path {path_name:?}, step {:?}: variable {{{{{v}}}}} is never captured by an earlier step",
                        d.name
                    ),
                ));
            }
        }
        Ok(())
    };
    let (path_src, realtime) = match (&d.path, &d.realtime) {
        (Some(p), None) => (p.clone(), None),
        (None, Some(r)) => (
            r.value.path.clone(),
            Some(compile_realtime(
                cx,
                r,
                path_name,
                &d.name,
                known,
                default_timeout,
            )?),
        ),
        _ => {
            return Err(cx.err(
                &s.referenced,
                format!(
                    "step {:?}: give exactly one of path (an HTTP step) or realtime",
                    d.name
                ),
            ));
        }
    };
    let method = d.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(cx.err(
            &s.referenced,
            format!("step {:?}: {method:?} is not an HTTP method", d.name),
        ));
    }
    let path = Template(cx.env_subst(&path_src)?);
    if !path.0.starts_with('/') {
        return Err(cx.err(&path_src.referenced, "a step's path starts with /"));
    }
    used(&path, &path_src.referenced)?;
    let mut headers = Vec::new();
    for (k, v) in &d.headers {
        let t = Template(cx.env_subst(v)?);
        used(&t, &v.referenced)?;
        headers.push((k.clone(), t));
    }
    if let Some(j) = &d.json {
        let mut strings = Vec::new();
        collect_strings(&j.value, &mut strings);
        for st in strings {
            used(&Template(st), &j.referenced)?;
        }
    }
    let timeout = match &d.timeout {
        Some(t) => cx.duration(t)?,
        None => default_timeout,
    };
    let status = match &d.expect.status {
        None => Vec::new(),
        Some(StatusDef::One(c)) => vec![*c],
        Some(StatusDef::Many(v)) => v.clone(),
    };
    let mut expect_headers = Vec::new();
    for (k, v) in &d.expect.headers {
        let re = regex::Regex::new(&format!("^(?:{})$", v.value)).map_err(|e| {
            cx.err(
                &v.referenced,
                format!("header {k:?}: bad regex: {}", first_line(&e.to_string())),
            )
        })?;
        expect_headers.push((k.to_ascii_lowercase(), re, v.value.clone()));
    }
    let latency = d
        .expect
        .latency
        .as_ref()
        .map(|l| cx.duration(l))
        .transpose()?;
    let mut json_asserts = Vec::new();
    for a in &d.expect.json {
        let path = cx.json_path(&a.value.path, &who)?;
        if let Some(want) = &a.value.equals {
            let mut strings = Vec::new();
            collect_strings(want, &mut strings);
            for st in strings {
                used(&Template(st), &a.referenced)?;
            }
        }
        let ops = [
            a.value.equals.clone().map(JsonOp::Equals),
            a.value.exists.map(JsonOp::Exists),
            a.value
                .matches
                .as_ref()
                .map(|m| {
                    regex::Regex::new(&m.value)
                        .map(JsonOp::Matches)
                        .map_err(|e| {
                            cx.err(
                                &m.referenced,
                                format!("bad regex: {}", first_line(&e.to_string())),
                            )
                        })
                })
                .transpose()?,
            a.value.length.map(JsonOp::Length),
        ];
        let mut ops: Vec<JsonOp> = ops.into_iter().flatten().collect();
        if ops.len() != 1 {
            return Err(cx.err(
                &a.referenced,
                "a JSON assertion has a path and exactly one of equals, exists, matches, length",
            ));
        }
        json_asserts.push(JsonAssert {
            path_text: a.value.path.value.clone(),
            path,
            op: ops.remove(0),
        });
    }
    let mut captures = Vec::new();
    for (name, p) in &d.capture {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(cx.err(
                &p.referenced,
                format!("capture name {name:?}: use letters, digits and _"),
            ));
        }
        captures.push((name.clone(), p.value.clone(), cx.json_path(p, &who)?));
    }
    let retry = match &d.retry {
        None => None,
        Some(r) => {
            if r.value.attempts < 1 || r.value.attempts > 20 {
                return Err(cx.err(&r.referenced, "retry.attempts is 1 to 20"));
            }
            let backoff = match &r.value.backoff {
                Some(b) => cx.duration(&Spanned::new(b.clone(), r.referenced, r.defined))?,
                None => Duration::from_millis(200),
            };
            Some((r.value.attempts, backoff))
        }
    };
    Ok(Step {
        name: d.name.clone(),
        line: s.referenced.line(),
        method,
        path,
        headers,
        json: d.json.as_ref().map(|j| j.value.clone()),
        timeout,
        status,
        expect_headers,
        latency,
        json_asserts,
        captures,
        retry,
        realtime,
    })
}

fn compile_realtime(
    cx: &Ctx<'_>,
    r: &Spanned<RealtimeDef>,
    path_name: &str,
    step_name: &str,
    known: &BTreeSet<String>,
    default_timeout: Duration,
) -> Result<Box<Realtime>, InputError> {
    let d = &r.value;
    let websocket = match d.transport.value.as_str() {
        "sse" => false,
        "websocket" | "ws" => true,
        other => {
            return Err(cx.err(
                &d.transport.referenced,
                format!("transport {other:?}: sse or websocket"),
            ));
        }
    };
    if d.events == 0 || d.events > 10_000 || d.resume > 10_000 {
        return Err(cx.err(&r.referenced, "events is 1 to 10000, resume 0 to 10000"));
    }
    let mut headers = Vec::new();
    for (k, v) in &d.headers {
        let t = Template(cx.env_subst(v)?);
        for var in t.vars() {
            if !known.contains(&var) {
                return Err(cx.err(&v.referenced, format!("path {path_name:?}, step {step_name:?}: variable {{{{{var}}}}} is never captured by an earlier step")));
            }
        }
        headers.push((k.clone(), t));
    }
    let mut with_n = known.clone();
    with_n.insert("n".to_owned());
    let trigger_def = &d.trigger;
    if trigger_def.value.realtime.is_some() {
        return Err(cx.err(&trigger_def.referenced, "a trigger is an HTTP step"));
    }
    let mut trigger = compile_step(cx, trigger_def, path_name, &with_n, default_timeout)?;
    if trigger.name.is_empty() {
        trigger.name = format!("{step_name} (trigger)");
    }
    let mut lag = Vec::new();
    for (k, v) in &d.lag {
        if !matches!(k.as_str(), "p50" | "p95" | "p99" | "max") {
            return Err(cx.err(
                &v.referenced,
                format!("lag budget {k:?}: p50, p95, p99 or max"),
            ));
        }
        lag.push((k.clone(), cx.duration(v)?));
    }
    let timeout = match &d.timeout {
        Some(t) => cx.duration(t)?,
        None => default_timeout,
    };
    Ok(Box::new(Realtime {
        websocket,
        headers,
        events: d.events,
        trigger,
        lag,
        resume: d.resume,
        timeout,
    }))
}

fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn collect_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        _ => {}
    }
}

/// The JSON body with `{{variables}}` filled in its strings. A string that is exactly one
/// placeholder of a captured number stays a number (`"{{customer_id}}"` → `42`).
pub(crate) fn fill_json(v: &Value, vars: &BTreeMap<String, Value>) -> Value {
    match v {
        Value::String(s) => {
            let t = Template(s.clone());
            let names = t.vars();
            if names.len() == 1
                && s.trim() == format!("{{{{{}}}}}", names[0])
                && let Some(v) = vars.get(&names[0])
            {
                return v.clone();
            }
            let text: BTreeMap<String, String> = vars
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect();
            Value::String(t.fill(&text))
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| fill_json(x, vars)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), fill_json(x, vars)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A captured value as text in a path or header: strings bare, the rest as JSON.
pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "\
environments:
  local:
    base_url: ${env:SVC}
    headers:
      X-Tenant: acme
paths:
  - name: checkout
    steps:
      - name: create
        method: POST
        path: /customers
        json: {email: \"a-{{run_id}}@x\"}
        expect:
          status: 201
          json:
            - path: $.id
              exists: true
        capture:
          customer_id: $.id
      - name: read
        path: /customers/{{customer_id}}
        expect:
          status: [200]
";

    fn env(name: &str) -> Option<String> {
        (name == "SVC").then(|| "http://127.0.0.1:1".to_owned())
    }

    fn load_text(text: &str) -> Result<Plan, InputError> {
        load("g.yaml", text, None, &[], Duration::from_secs(5), &env)
    }

    #[test]
    fn a_good_file_becomes_a_plan_with_step_lines() {
        let plan = load_text(OK).expect("plan");
        assert_eq!(plan.base_url, "http://127.0.0.1:1");
        let steps = &plan.paths[0].steps;
        assert_eq!((steps[0].line, steps[1].line), (9, 20));
        assert_eq!(steps[0].captures[0].0, "customer_id");
        assert_eq!(steps[1].status, [200]);
    }

    #[test]
    fn a_variable_never_captured_names_its_line() {
        let text = OK.replace("/customers/{{customer_id}}", "/customers/{{order_id}}");
        let e = load_text(&text).expect_err("uncaptured").to_string();
        assert!(e.starts_with("g.yaml:21:"), "{e}");
        assert!(e.contains("{{order_id}} is never captured"), "{e}");
    }

    #[test]
    fn a_jsonpath_syntax_error_names_its_line() {
        let text = OK.replace("path: $.id", "path: $.id[");
        let e = load_text(&text).expect_err("bad path").to_string();
        assert!(e.starts_with("g.yaml:16:"), "{e}");
        assert!(e.contains("not valid RFC 9535"), "{e}");
        assert_eq!(e.lines().count(), 1);
    }

    #[test]
    fn an_unset_environment_variable_is_an_error() {
        let e = load("g.yaml", OK, None, &[], Duration::from_secs(1), &|_| None)
            .expect_err("unset")
            .to_string();
        assert!(e.contains("SVC is not set"), "{e}");
    }

    #[test]
    fn whole_placeholders_keep_their_json_type() {
        let vars = BTreeMap::from([("id".to_owned(), serde_json::json!(42))]);
        let v = fill_json(&serde_json::json!({"a": "{{id}}", "b": "x{{id}}"}), &vars);
        assert_eq!(v, serde_json::json!({"a": 42, "b": "x42"}));
    }
}
