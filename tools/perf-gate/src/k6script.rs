//! The k6 import: a k6 script's `export const options = {…}` and the literal
//! `http.get/post/put/patch/del/request` calls of its default function, read with a real
//! JavaScript parser (oxc), become a scenario. What cannot be translated — loops, computed
//! URLs, other modules, custom metrics, think time — is listed, each with `file:line`, in one
//! error; nothing is silently skipped. Each translated call is one request of the scenario's
//! mix (weight: how often the script makes it per iteration).

use std::collections::BTreeMap;

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    Argument, ArrayExpressionElement, Declaration, ExportDefaultDeclarationKind, Expression,
    ImportDeclarationSpecifier, ObjectExpression, ObjectPropertyKind, Statement,
};
use oxc_span::{GetSpan, SourceType, Span};
use serde_json::{Map, Value, json};

use crate::threshold;

/// What could not be translated, one `file:line:col: why` per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<String>);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The first item leads (file:line: what), the rest follow on the same line.
        write!(f, "{}", self.0.join("; "))?;
        if self.0.len() > 1 {
            write!(
                f,
                " ({} things in this k6 script cannot be translated)",
                self.0.len()
            )?;
        }
        Ok(())
    }
}

struct Cx<'s> {
    label: &'s str,
    src: &'s str,
    refused: Vec<String>,
    /// Top-level constants with a literal (or `__ENV.X || literal`) value.
    consts: BTreeMap<String, Value>,
    http: Option<String>,
    k6_names: Vec<String>,
    requests: Vec<Req>,
    options: Option<Value>,
    /// Where each options key is: `vus`, `scenarios.NAME.FIELD`, `thresholds.KEY`.
    option_spans: BTreeMap<String, Span>,
    env: &'s dyn Fn(&str) -> Option<String>,
}

#[derive(Debug, Clone)]
struct Req {
    method: String,
    url: String,
    body: Option<Value>,
    headers: Map<String, Value>,
    name: Option<String>,
    status: Option<u64>,
    line: u64,
}

impl Cx<'_> {
    fn at(&self, span: Span) -> String {
        let (line, col) = gatehouse::input::line_col(self.src.as_bytes(), span.start as usize);
        format!("{}:{line}:{col}", self.label)
    }

    fn refuse(&mut self, span: Span, why: impl Into<String>) {
        let at = self.at(span);
        self.refused.push(format!("{at}: {}", why.into()));
    }

    fn line(&self, span: Span) -> u64 {
        gatehouse::input::line_col(self.src.as_bytes(), span.start as usize).0
    }

    /// A literal value: strings, numbers, booleans, null, arrays, objects, template strings
    /// without holes, known constants, `__ENV.X || literal`, `a + b` of strings.
    fn literal(&mut self, e: &Expression<'_>) -> Option<Value> {
        match e.get_inner_expression() {
            Expression::StringLiteral(s) => Some(json!(s.value.as_str())),
            Expression::NumericLiteral(n) => Some(gatehouse::report::number(n.value)),
            Expression::BooleanLiteral(b) => Some(json!(b.value)),
            Expression::NullLiteral(_) => Some(Value::Null),
            Expression::UnaryExpression(u)
                if u.operator == oxc_ast::ast::UnaryOperator::UnaryNegation =>
            {
                match self.literal(&u.argument)? {
                    Value::Number(n) => n.as_f64().map(|v| gatehouse::report::number(-v)),
                    _ => None,
                }
            }
            Expression::TemplateLiteral(t) => {
                let mut out = String::new();
                for (i, q) in t.quasis.iter().enumerate() {
                    out.push_str(
                        q.value
                            .cooked
                            .as_ref()
                            .map_or(q.value.raw.as_str(), |c| c.as_str()),
                    );
                    if let Some(x) = t.expressions.get(i) {
                        match self.literal(x)? {
                            Value::String(s) => out.push_str(&s),
                            Value::Number(n) => out.push_str(&n.to_string()),
                            _ => return None,
                        }
                    }
                }
                Some(json!(out))
            }
            Expression::Identifier(id) => self.consts.get(id.name.as_str()).cloned(),
            Expression::BinaryExpression(b)
                if b.operator == oxc_ast::ast::BinaryOperator::Addition =>
            {
                let (l, r) = (self.literal(&b.left)?, self.literal(&b.right)?);
                let s = |v: &Value| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                };
                Some(json!(format!("{}{}", s(&l)?, s(&r)?)))
            }
            Expression::LogicalExpression(l) if l.operator == oxc_ast::ast::LogicalOperator::Or => {
                if let Some(var) = env_var(&l.left)
                    && let Some(v) = (self.env)(&var).filter(|v| !v.is_empty())
                {
                    return Some(json!(v));
                }
                if env_var(&l.left).is_some() {
                    return self.literal(&l.right);
                }
                None
            }
            Expression::ArrayExpression(a) => {
                let mut out = Vec::new();
                for el in &a.elements {
                    match el {
                        ArrayExpressionElement::SpreadElement(_)
                        | ArrayExpressionElement::Elision(_) => {
                            return None;
                        }
                        other => out.push(self.literal(other.as_expression()?)?),
                    }
                }
                Some(Value::Array(out))
            }
            Expression::ObjectExpression(o) => self.object(o).map(Value::Object),
            Expression::CallExpression(c)
                if c.callee.is_specific_member_access("JSON", "stringify")
                    && c.arguments.len() == 1 =>
            {
                let v = self.literal(c.arguments[0].as_expression()?)?;
                Some(json!(serde_json::to_string(&v).unwrap_or_default()))
            }
            _ => None,
        }
    }

    fn object(&mut self, o: &ObjectExpression<'_>) -> Option<Map<String, Value>> {
        let mut m = Map::new();
        for p in &o.properties {
            let ObjectPropertyKind::ObjectProperty(p) = p else {
                return None;
            };
            if p.computed || p.method {
                return None;
            }
            let key = p.key.static_name()?.to_string();
            let v = self.literal(&p.value)?;
            m.insert(key, v);
        }
        Some(m)
    }
}

/// `__ENV.NAME` → NAME.
fn env_var(e: &Expression<'_>) -> Option<String> {
    match e.get_inner_expression() {
        Expression::StaticMemberExpression(m) => match &m.object {
            Expression::Identifier(id) if id.name == "__ENV" => Some(m.property.name.to_string()),
            _ => None,
        },
        _ => None,
    }
}

const OPTION_KEYS: &[&str] = &[
    "scenarios",
    "thresholds",
    "stages",
    "vus",
    "duration",
    "iterations",
];
const SCENARIO_KEYS: &[&str] = &[
    "executor",
    "startTime",
    "gracefulStop",
    "rate",
    "timeUnit",
    "duration",
    "preAllocatedVUs",
    "maxVUs",
    "startRate",
    "stages",
    "vus",
    "startVUs",
    "iterations",
    "maxDuration",
    "gracefulRampDown",
];

/// Reads a k6 script and translates it into scenario text (JSON, which is YAML).
pub fn scenario_text(input: &gatehouse::Input) -> Result<String, crate::error::Error> {
    let label = input.label();
    let src = input.text()?;
    let env = |k: &str| std::env::var(k).ok();
    let v = translate(&label, src, &env).map_err(crate::error::Error::K6)?;
    let mut text =
        format!("# perf-gate scenario translated from the k6 script {label} (perf-gate convert)\n");
    text.push_str(&serde_json::to_string_pretty(&v).unwrap_or_default());
    text.push('\n');
    Ok(text)
}

/// Translates a k6 script into a scenario (as JSON, which is YAML).
pub fn translate(
    label: &str,
    src: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Value, Refused> {
    let alloc = Allocator::default();
    let ret = oxc_parser::Parser::new(&alloc, src, SourceType::mjs()).parse();
    if let Some(e) = ret.errors.first() {
        let at = e
            .labels
            .as_ref()
            .and_then(|l| l.first())
            .map(|l| {
                let (line, col) = gatehouse::input::line_col(src.as_bytes(), l.offset());
                format!("{label}:{line}:{col}")
            })
            .unwrap_or_else(|| label.to_owned());
        return Err(Refused(vec![format!(
            "{at}: not JavaScript: {}",
            e.message
        )]));
    }
    let mut cx = Cx {
        label,
        src,
        refused: Vec::new(),
        consts: BTreeMap::new(),
        http: None,
        k6_names: Vec::new(),
        requests: Vec::new(),
        options: None,
        option_spans: BTreeMap::new(),
        env,
    };
    let mut default_fn = None;
    for st in &ret.program.body {
        match st {
            Statement::ImportDeclaration(i) => {
                let from = i.source.value.as_str();
                for s in i.specifiers.iter().flatten() {
                    let local = match s {
                        ImportDeclarationSpecifier::ImportSpecifier(x) => x.local.name.to_string(),
                        ImportDeclarationSpecifier::ImportDefaultSpecifier(x) => {
                            x.local.name.to_string()
                        }
                        ImportDeclarationSpecifier::ImportNamespaceSpecifier(x) => {
                            x.local.name.to_string()
                        }
                    };
                    match from {
                        "k6/http" => cx.http = Some(local),
                        "k6" => cx.k6_names.push(local),
                        _ => {}
                    }
                }
                if from != "k6/http" && from != "k6" {
                    cx.refuse(i.span, format!("imports {from:?}: only k6/http and k6 (check, group, sleep) are translated"));
                }
            }
            Statement::VariableDeclaration(v) => top_const(&mut cx, v),
            Statement::ExportNamedDeclaration(e) => match &e.declaration {
                Some(Declaration::VariableDeclaration(v)) => {
                    for d in &v.declarations {
                        let name = d.id.get_identifier_name().map(|n| n.to_string());
                        if name.as_deref() == Some("options") {
                            if let Some(Expression::ObjectExpression(o)) =
                                d.init.as_ref().map(Expression::get_inner_expression)
                            {
                                record_spans(&mut cx.option_spans, "", o, 0);
                            }
                            match d.init.as_ref().and_then(|i| cx.literal(i)) {
                                Some(o) => cx.options = Some(o),
                                None => cx.refuse(d.span, "options is not a literal object (computed values are not translated)"),
                            }
                        } else {
                            cx.refuse(d.span, format!("exports {}: only `options` and the default function are translated", name.unwrap_or_default()));
                        }
                    }
                }
                Some(Declaration::FunctionDeclaration(f)) => {
                    let name =
                        f.id.as_ref()
                            .map(|i| i.name.to_string())
                            .unwrap_or_default();
                    cx.refuse(f.span, format!("exports function {name}: setup, teardown, handleSummary and scenario `exec` functions are not translated"));
                }
                _ => cx.refuse(e.span, "this export is not translated"),
            },
            Statement::ExportDefaultDeclaration(d) => match &d.declaration {
                ExportDefaultDeclarationKind::FunctionDeclaration(f) => default_fn = Some(f),
                _ => cx.refuse(d.span, "the default export is not a function"),
            },
            Statement::FunctionDeclaration(f) => {
                let name =
                    f.id.as_ref()
                        .map(|i| i.name.to_string())
                        .unwrap_or_default();
                cx.refuse(f.span, format!("function {name}: helper functions are not translated (write the requests in the default function)"));
            }
            Statement::EmptyStatement(_) => {}
            other => cx.refuse(
                other.span(),
                "top-level code other than imports, constants and exports is not translated",
            ),
        }
    }
    match default_fn.and_then(|f| f.body.as_ref()) {
        Some(body) => {
            for st in &body.statements {
                iteration_statement(&mut cx, st);
            }
        }
        None => cx.refused.push(format!(
            "{label}:1:1: no `export default function`: nothing to run"
        )),
    }
    if cx.requests.is_empty() && cx.refused.is_empty() {
        cx.refused.push(format!(
            "{label}:1:1: the default function makes no http request"
        ));
    }
    let scenario = build(&mut cx);
    if cx.refused.is_empty() {
        Ok(scenario)
    } else {
        Err(Refused(cx.refused))
    }
}

/// Remembers where each key of the options object (two levels under `scenarios`) is.
fn record_spans(
    out: &mut BTreeMap<String, Span>,
    prefix: &str,
    o: &ObjectExpression<'_>,
    depth: u8,
) {
    for p in &o.properties {
        let ObjectPropertyKind::ObjectProperty(p) = p else {
            continue;
        };
        let Some(k) = p.key.static_name() else {
            continue;
        };
        let key = format!("{prefix}{k}");
        out.insert(key.clone(), p.span);
        let deeper = (depth == 0 && (k == "scenarios" || k == "thresholds"))
            || (depth == 1 && prefix.starts_with("scenarios."));
        if deeper && let Expression::ObjectExpression(inner) = p.value.get_inner_expression() {
            record_spans(out, &format!("{key}."), inner, depth + 1);
        }
    }
}

fn top_const(cx: &mut Cx<'_>, v: &oxc_ast::ast::VariableDeclaration<'_>) {
    for d in &v.declarations {
        let Some(name) = d.id.get_identifier_name().map(|n| n.to_string()) else {
            cx.refuse(d.span, "destructuring is not translated");
            continue;
        };
        match d.init.as_ref().map(|i| cx.literal(i)) {
            Some(Some(val)) => {
                cx.consts.insert(name, val);
            }
            _ => cx.refuse(d.span, format!("{name}: only constants with literal values are translated (SharedArray, open() and computed values are not)")),
        }
    }
}

fn is_call_to(cx: &Cx<'_>, e: &Expression<'_>, name: &str) -> bool {
    matches!(e.get_inner_expression(), Expression::Identifier(id) if id.name == name && cx.k6_names.iter().any(|n| n == name))
}

fn iteration_statement(cx: &mut Cx<'_>, st: &Statement<'_>) {
    match st {
        Statement::ExpressionStatement(e) => iteration_expression(cx, &e.expression, None),
        Statement::VariableDeclaration(v) => {
            for d in &v.declarations {
                let name = d.id.get_identifier_name().map(|n| n.to_string());
                match &d.init {
                    // A local constant with a literal value (a request body, say).
                    Some(init) if !matches!(init.get_inner_expression(), Expression::CallExpression(c) if !c.callee.is_specific_member_access("JSON", "stringify")) => {
                        match (name, cx.literal(init)) {
                            (Some(n), Some(v)) => {
                                cx.consts.insert(n, v);
                            }
                            _ => cx.refuse(
                                d.span,
                                "only local constants with literal values are translated",
                            ),
                        }
                    }
                    Some(init) => iteration_expression(cx, init, name),
                    None => cx.refuse(d.span, "a variable without a value is not translated"),
                }
            }
        }
        Statement::EmptyStatement(_) => {}
        Statement::ForStatement(_)
        | Statement::ForInStatement(_)
        | Statement::ForOfStatement(_)
        | Statement::WhileStatement(_)
        | Statement::DoWhileStatement(_) => {
            cx.refuse(
                st.span(),
                "a loop is not translated (one iteration is a fixed list of requests)",
            );
        }
        Statement::IfStatement(_) | Statement::SwitchStatement(_) => {
            cx.refuse(
                st.span(),
                "a condition is not translated (requests must not depend on responses)",
            );
        }
        other => cx.refuse(
            other.span(),
            "this statement is not translated (only http calls, check, group and constants)",
        ),
    }
}

fn iteration_expression(cx: &mut Cx<'_>, e: &Expression<'_>, bound: Option<String>) {
    let Expression::CallExpression(c) = e.get_inner_expression() else {
        cx.refuse(e.span(), "only calls (http.*, check, group) are translated");
        return;
    };
    let http = cx.http.clone().unwrap_or_else(|| "http".to_owned());
    if let Expression::StaticMemberExpression(m) = c.callee.get_inner_expression()
        && matches!(&m.object, Expression::Identifier(id) if id.name == http.as_str())
    {
        http_call(cx, m.property.name.as_str(), c, bound);
        return;
    }
    if is_call_to(cx, &c.callee, "group") {
        // group("name", function () { … }): its body is part of the iteration.
        match c
            .arguments
            .get(1)
            .and_then(Argument::as_expression)
            .map(Expression::get_inner_expression)
        {
            Some(Expression::FunctionExpression(f)) => {
                for st in f.body.iter().flat_map(|b| b.statements.iter()) {
                    iteration_statement(cx, st);
                }
            }
            Some(Expression::ArrowFunctionExpression(f)) => {
                for st in &f.body.statements {
                    iteration_statement(cx, st);
                }
            }
            _ => cx.refuse(
                c.span,
                "group(name, fn): the second argument is not a function",
            ),
        }
        return;
    }
    if is_call_to(cx, &c.callee, "check") {
        check_call(cx, c);
        return;
    }
    if is_call_to(cx, &c.callee, "sleep") {
        cx.refuse(c.span, "sleep(): think time is not translated (an arrival-rate scenario paces requests itself)");
        return;
    }
    cx.refuse(
        c.span,
        "this call is not translated (only http.*, check and group)",
    );
}

fn check_call(cx: &mut Cx<'_>, c: &oxc_ast::ast::CallExpression<'_>) {
    let target = match c.arguments.first().and_then(Argument::as_expression) {
        Some(Expression::Identifier(id)) => id.name.to_string(),
        _ => {
            cx.refuse(
                c.span,
                "check(res, …): the first argument is not a response variable",
            );
            return;
        }
    };
    let Some(Expression::ObjectExpression(o)) =
        c.arguments.get(1).and_then(Argument::as_expression)
    else {
        cx.refuse(
            c.span,
            "check(res, {…}): the checks are not an object literal",
        );
        return;
    };
    for p in &o.properties {
        let ObjectPropertyKind::ObjectProperty(p) = p else {
            cx.refuse(c.span, "a spread in check() is not translated");
            continue;
        };
        let name = p
            .key
            .static_name()
            .map(|n| n.to_string())
            .unwrap_or_default();
        match status_check(&p.value) {
            Some(code) => {
                let line = cx.line(c.span);
                // The check belongs to the request whose response it reads: the last one.
                match cx.requests.iter_mut().rev().find(|r| r.line <= line) {
                    Some(r) => r.status = Some(code),
                    None => cx.refuse(
                        p.span,
                        format!("check {name:?} on {target}: no request before it"),
                    ),
                }
            }
            None => cx.refuse(
                p.span,
                format!("check {name:?}: only `(r) => r.status === N` checks are translated"),
            ),
        }
    }
}

/// `(r) => r.status === 200` or `function (r) { return r.status == 200; }` → 200.
fn status_check(e: &Expression<'_>) -> Option<u64> {
    let body = match e.get_inner_expression() {
        Expression::ArrowFunctionExpression(f) if f.expression => {
            match f.body.statements.first()? {
                Statement::ExpressionStatement(s) => &s.expression,
                _ => return None,
            }
        }
        _ => return None,
    };
    let Expression::BinaryExpression(b) = body.get_inner_expression() else {
        return None;
    };
    use oxc_ast::ast::BinaryOperator as B;
    if !matches!(b.operator, B::StrictEquality | B::Equality) {
        return None;
    }
    let is_status = |x: &Expression<'_>| matches!(x.get_inner_expression(), Expression::StaticMemberExpression(m) if m.property.name == "status");
    let num = |x: &Expression<'_>| match x.get_inner_expression() {
        Expression::NumericLiteral(n)
            if n.value.fract() == 0.0 && (100.0..600.0).contains(&n.value) =>
        {
            Some(n.value as u64)
        }
        _ => None,
    };
    if is_status(&b.left) {
        num(&b.right)
    } else if is_status(&b.right) {
        num(&b.left)
    } else {
        None
    }
}

fn http_call(
    cx: &mut Cx<'_>,
    verb: &str,
    c: &oxc_ast::ast::CallExpression<'_>,
    _bound: Option<String>,
) {
    let args: Vec<Option<&Expression<'_>>> =
        c.arguments.iter().map(Argument::as_expression).collect();
    let (method, url_at, body_at, params_at) = match verb {
        "get" => ("GET", 0, None, 1),
        "head" => ("HEAD", 0, None, 1),
        "options" => ("OPTIONS", 0, Some(1), 2),
        "del" => ("DELETE", 0, Some(1), 2),
        "post" => ("POST", 0, Some(1), 2),
        "put" => ("PUT", 0, Some(1), 2),
        "patch" => ("PATCH", 0, Some(1), 2),
        "request" => {
            let m = args.first().copied().flatten().and_then(|e| cx.literal(e));
            let Some(Value::String(m)) = m else {
                cx.refuse(c.span, "http.request: the method is not a literal string");
                return;
            };
            return http_request(cx, c, &m.to_ascii_uppercase(), &args, 1, Some(2), 3);
        }
        other => {
            cx.refuse(c.span, format!("http.{other} is not translated (get, post, put, patch, del, head, options, request)"));
            return;
        }
    };
    http_request(cx, c, method, &args, url_at, body_at, params_at);
}

fn http_request(
    cx: &mut Cx<'_>,
    c: &oxc_ast::ast::CallExpression<'_>,
    method: &str,
    args: &[Option<&Expression<'_>>],
    url_at: usize,
    body_at: Option<usize>,
    params_at: usize,
) {
    let url = match args.get(url_at).copied().flatten().map(|e| cx.literal(e)) {
        Some(Some(Value::String(u))) => u,
        _ => {
            cx.refuse(c.span, "the URL is computed (only literals, constants and __ENV.X || literal are translated)");
            return;
        }
    };
    let mut headers = Map::new();
    let mut name = None;
    if let Some(p) = args.get(params_at).copied().flatten() {
        match cx.literal(p) {
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("headers", Value::Object(h)) => headers = h,
                        ("tags", Value::Object(t)) => {
                            for (tk, tv) in t {
                                match (tk.as_str(), tv) {
                                    ("name", Value::String(n)) => name = Some(n),
                                    _ => cx.refuse(
                                        c.span,
                                        format!("the tag {tk} is not translated (only the name tag is)"),
                                    ),
                                }
                            }
                        }
                        (other, _) => cx.refuse(
                            c.span,
                            format!("the request param {other} is not translated (only headers and tags are)"),
                        ),
                    }
                }
            }
            _ => cx.refuse(c.span, "the request params are not a literal object"),
        }
    }
    let body = match body_at.and_then(|i| args.get(i).copied().flatten()) {
        None => None,
        Some(b) => match cx.literal(b) {
            Some(Value::Null) => None,
            Some(Value::String(s)) => Some(json!(s)),
            Some(Value::Object(form)) => {
                // k6 sends an object body as a form.
                let enc: Vec<String> = form
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        format!(
                            "{}={}",
                            gatehouse::percent::encode(k),
                            gatehouse::percent::encode(&v)
                        )
                    })
                    .collect();
                headers
                    .entry("Content-Type")
                    .or_insert(json!("application/x-www-form-urlencoded"));
                Some(json!(enc.join("&")))
            }
            _ => {
                cx.refuse(c.span, "the body is computed (only literals and JSON.stringify(literal) are translated)");
                return;
            }
        },
    };
    let line = cx.line(c.span);
    cx.requests.push(Req {
        method: method.to_owned(),
        url,
        body,
        headers,
        name,
        status: None,
        line,
    });
}

impl Cx<'_> {
    /// `file:line:col` of an options key (its nearest recorded parent when not recorded).
    fn option_at(&self, key: &str) -> String {
        let mut k = key.to_owned();
        loop {
            if let Some(sp) = self.option_spans.get(&k) {
                return self.at(*sp);
            }
            match k.rfind('.') {
                Some(i) => k.truncate(i),
                None => return format!("{}:1:1", self.label),
            }
        }
    }
}

fn build(cx: &mut Cx<'_>) -> Value {
    // One origin: the target; each request's path is the rest.
    let mut target: Option<String> = None;
    let mut requests: Vec<(String, Map<String, Value>)> = Vec::new();
    for r in cx.requests.clone() {
        let (origin, path) = split_url(&r.url);
        let Some(origin) = origin else {
            cx.refused.push(format!(
                "{}:{}: {:?} is not an absolute http(s) URL",
                cx.label, r.line, r.url
            ));
            continue;
        };
        match &target {
            None => target = Some(origin),
            Some(t) if *t != origin => {
                cx.refused.push(format!(
                    "{}:{}: {origin} is another origin than {t}: a scenario has one target",
                    cx.label, r.line
                ));
                continue;
            }
            Some(_) => {}
        }
        // k6's default name tag is the URL.
        let name = r.name.clone().unwrap_or_else(|| r.url.clone());
        if let Some((_, existing)) = requests
            .iter_mut()
            .find(|(n, m)| *n == name && m["method"] == json!(r.method) && m["path"] == json!(path))
        {
            let w = existing.get("weight").and_then(Value::as_u64).unwrap_or(1);
            existing.insert("weight".into(), json!(w + 1));
            continue;
        }
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m.insert("method".into(), json!(r.method));
        m.insert("path".into(), json!(path));
        if !r.headers.is_empty() {
            m.insert("headers".into(), Value::Object(r.headers.clone()));
        }
        if let Some(b) = &r.body {
            m.insert("body".into(), b.clone());
        }
        if let Some(s) = r.status {
            m.insert("checks".into(), json!({"status": s}));
        }
        requests.push((name, m));
    }
    let opts = cx.options.clone().unwrap_or_else(|| json!({}));
    let mut scenarios = Map::new();
    let mut thresholds = Map::new();
    if let Value::Object(o) = &opts {
        for k in o.keys() {
            if !OPTION_KEYS.contains(&k.as_str()) {
                let at = cx.option_at(k);
                cx.refused.push(format!(
                    "{at}: options.{k} is not translated ({})",
                    OPTION_KEYS.join(", ")
                ));
            }
        }
        if let Some(Value::Object(s)) = o.get("scenarios") {
            for (name, sc) in s {
                if let Value::Object(fields) = sc {
                    for f in fields.keys() {
                        if !SCENARIO_KEYS.contains(&f.as_str()) {
                            let at = cx.option_at(&format!("scenarios.{name}.{f}"));
                            cx.refused.push(format!("{at}: options.scenarios.{name}.{f} is not translated (exec, env, tags and browser options need k6)"));
                        }
                    }
                }
                scenarios.insert(name.clone(), sc.clone());
            }
        } else if let Some(stages) = o.get("stages") {
            scenarios.insert("default".into(), json!({"executor": "ramping-vus", "startVUs": o.get("vus").cloned().unwrap_or(json!(1)), "stages": stages}));
        } else if let Some(d) = o.get("duration") {
            scenarios.insert("default".into(), json!({"executor": "constant-vus", "vus": o.get("vus").cloned().unwrap_or(json!(1)), "duration": d}));
        } else if let Some(i) = o.get("iterations") {
            scenarios.insert("default".into(), json!({"executor": "shared-iterations", "vus": o.get("vus").cloned().unwrap_or(json!(1)), "iterations": i}));
        }
        if let Some(Value::Object(t)) = o.get("thresholds") {
            for (key, list) in t {
                let items: Vec<Value> = match list {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                for item in &items {
                    let expr = match item {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(m) => m
                            .get("threshold")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        _ => None,
                    };
                    match expr {
                        Some(e) => {
                            if let Err(why) = threshold::parse(key, &e) {
                                let at = cx.option_at(&format!("thresholds.{key}"));
                                cx.refused.push(format!("{at}: threshold {key}: {why}"));
                            }
                        }
                        None => {
                            let at = cx.option_at(&format!("thresholds.{key}"));
                            cx.refused
                                .push(format!("{at}: threshold {key}: not a k6 threshold"));
                        }
                    }
                }
                thresholds.insert(key.clone(), Value::Array(items));
            }
        }
    }
    if scenarios.is_empty() {
        // k6 without options: one VU, one iteration.
        scenarios.insert(
            "default".into(),
            json!({"executor": "per-vu-iterations", "vus": 1, "iterations": 1}),
        );
    }
    let mut out = Map::new();
    if let Some(t) = target {
        out.insert("target".into(), json!(t));
    }
    out.insert(
        "requests".into(),
        Value::Array(
            requests
                .into_iter()
                .map(|(_, m)| Value::Object(m))
                .collect(),
        ),
    );
    out.insert("scenarios".into(), Value::Object(scenarios));
    if !thresholds.is_empty() {
        out.insert("thresholds".into(), Value::Object(thresholds));
    }
    Value::Object(out)
}

/// `https://host:port/path?q` → (`https://host:port`, `/path?q`).
fn split_url(url: &str) -> (Option<String>, String) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (None, url.to_owned());
    };
    if scheme != "http" && scheme != "https" {
        return (None, url.to_owned());
    }
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(cut);
    let path = if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    (Some(format!("{scheme}://{host}")), path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn options_and_literal_calls_translate() {
        let js = "import http from 'k6/http';\nimport { check } from 'k6';\nconst BASE = __ENV.BASE_URL || 'http://localhost:3333';\nexport const options = {\n  scenarios: { s: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '5s', preAllocatedVUs: 2 } },\n  thresholds: { http_req_duration: ['p(95)<500'], 'http_req_duration{name:pizza}': [{ threshold: 'p(99)<900', abortOnFail: true }] },\n};\nexport default function () {\n  const res = http.post(`${BASE}/api/pizza`, JSON.stringify({ a: 1 }), { headers: { 'Content-Type': 'application/json' }, tags: { name: 'pizza' } });\n  check(res, { 'ok': (r) => r.status === 200 });\n  http.get(BASE + '/');\n}\n";
        let v = translate("t.js", js, &no_env).expect("translates");
        assert_eq!(v["target"], "http://localhost:3333");
        assert_eq!(v["requests"][0]["name"], "pizza");
        assert_eq!(v["requests"][0]["path"], "/api/pizza");
        assert_eq!(v["requests"][0]["body"], "{\"a\":1}");
        assert_eq!(v["requests"][0]["checks"]["status"], 200);
        assert_eq!(v["requests"][1]["path"], "/");
        assert_eq!(v["scenarios"]["s"]["rate"], 10);
        let text = serde_json::to_string(&v).unwrap_or_default();
        crate::scenario::parse("t.js", &text).expect("a valid scenario");
    }

    #[test]
    fn what_cannot_be_translated_is_listed_with_lines() {
        let js = "import http from 'k6/http';\nimport { Trend } from 'k6/metrics';\nexport default function () {\n  for (let i = 0; i < 3; i++) { http.get('http://a/'); }\n  http.get(`http://a/${Math.random()}`);\n}\n";
        let e = translate("t.js", js, &no_env).expect_err("refused");
        let text = e.to_string();
        assert!(text.contains("t.js:2:1: imports \"k6/metrics\""), "{text}");
        assert!(text.contains("t.js:4:3: a loop"), "{text}");
        assert!(text.contains("t.js:5:3: the URL is computed"), "{text}");
    }
}
