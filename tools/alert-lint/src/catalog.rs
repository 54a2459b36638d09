//! The engine of `alert-lint catalog`: compiles an alert catalog (services with owners,
//! runbooks, SLOs and hand-written alerts) into PrometheusRule objects — per SLO the SLI
//! error-ratio recording rules for every window, and multi-window multi-burn-rate alerts —
//! then lints its own output with `check`'s rules, so what it writes passes `alert-lint
//! check` and `promtool check rules`.
//!
//! Windows: Sloth's four by default (page 1h/5m ×14.4, 6h/30m ×6; ticket 1d/2h ×3,
//! 3d/6h ×1), the SRE workbook's three (`workbook`, no 1d/2h), or a custom list
//! `severity:long/short:factor,...`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gatehouse::yaml::Spanned;
use gatehouse::{Check, Evidence, Location, Status};
use serde::Deserialize;
use serde_json::json;

use crate::checks::CheckId;
use crate::config::Config;
use crate::error::Error;
use crate::yamlout::{Y, render, render_all};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    #[serde(default)]
    defaults: Defaults,
    services: Vec<Service>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Defaults {
    namespace: Option<String>,
    windows: Option<String>,
    /// Extra labels on every PrometheusRule object (e.g. the `release` label the operator
    /// selects on).
    rule_labels: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Service {
    name: Spanned<String>,
    team: String,
    #[serde(default)]
    owner: Option<String>,
    runbook: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    slos: Vec<Slo>,
    #[serde(default)]
    alerts: Vec<Alert>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Slo {
    name: Spanned<String>,
    /// Percent, e.g. 99.9.
    objective: Spanned<f64>,
    #[serde(default)]
    description: Option<String>,
    sli: Sli,
    /// Overrides the service runbook for this SLO's alerts.
    #[serde(default)]
    runbook: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sli {
    /// Bad events per second over `{{.window}}`.
    errors: Spanned<String>,
    /// All events per second over `{{.window}}`.
    total: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Alert {
    name: String,
    expr: Spanned<String>,
    #[serde(default, rename = "for")]
    for_: Option<String>,
    severity: String,
    summary: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    runbook: Option<String>,
}

/// One burn-rate window pair of the catalog (gatehouse's reading, shared with
/// verify-goldens).
pub(crate) type Window = gatehouse::slo::BurnWindow;

/// Parses `sloth`, `workbook`, or `severity:long/short:factor,...`.
pub(crate) fn parse_windows(spec: &str) -> Result<Vec<Window>, String> {
    gatehouse::slo::parse_burn_windows(spec)
}

/// What `catalog` compiles and how: checked by the command.
pub(crate) struct Options {
    /// The alert catalog.
    pub catalog: PathBuf,
    /// Burn-rate windows as given: `sloth` (the default: the catalog's `defaults.windows`
    /// when it has one), `workbook`, or `severity:long/short:factor,...`.
    pub windows: String,
    pub form: Form,
    /// Where the rules will be written (for `data`); `None`: stdout.
    pub output: Option<PathBuf>,
}

/// The shape of the compiled rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// Kubernetes PrometheusRule objects, one per service.
    PrometheusRule,
    /// A plain Prometheus rule file (`groups:`).
    Rules,
}

/// Compiles the catalog into the rules text, adding a `catalog.slo` check per SLO, the
/// self-check of the output, the evidence of the catalog, `data` and the summary to `b`.
pub(crate) fn compile(opts: &Options, b: &mut gatehouse::ReportBuilder) -> Result<String, Error> {
    let source = gatehouse::Source::new(&opts.catalog);
    let input = gatehouse::input::read(&source)?;
    let label = input.label();
    let cat: Catalog = gatehouse::yaml::from_str(&label, input.text()?)?;
    b.evidence(Evidence::of_bytes(label.clone(), &input.bytes));
    // `sloth` is --windows's default: the catalog's own choice wins over it.
    let spec = if opts.windows == "sloth" {
        cat.defaults
            .windows
            .clone()
            .unwrap_or_else(|| "sloth".into())
    } else {
        opts.windows.clone()
    };
    let windows = parse_windows(&spec).map_err(|m| Error::Usage {
        message: format!("--windows: {m}"),
    })?;
    let mut docs = Vec::new();
    let mut all_groups = Vec::new();
    let mut slo_rows = Vec::new();
    for svc in &cat.services {
        let groups = service_groups(&label, svc, &windows, &mut slo_rows, b)?;
        if groups.is_empty() {
            continue;
        }
        all_groups.extend(groups.iter().cloned());
        docs.push(rule_object(svc, &cat.defaults, groups));
    }
    let header = format!(
        "# Generated by `alert-lint catalog {}` (windows: {}). Do not edit; edit the catalog.\n",
        opts.catalog.display(),
        spec
    );
    let body = match opts.form {
        Form::PrometheusRule => render_all(&docs),
        Form::Rules => render(&Y::map(vec![("groups", Y::List(all_groups))])),
    };
    let text = format!("{header}{body}");
    self_check(&text, b);
    b.data(json!({
        "catalog": label,
        "windows": windows.iter().map(|w| json!({
            "severity": w.severity,
            "long": gatehouse::duration::format_duration(w.long),
            "short": gatehouse::duration::format_duration(w.short),
            "factor": w.factor,
        })).collect::<Vec<_>>(),
        "emit": match opts.form { Form::PrometheusRule => "PrometheusRule", Form::Rules => "rules" },
        "objects": docs.len(),
        "slos": slo_rows,
        "output": opts.output.as_ref().map(|p| p.display().to_string()),
    }));
    b.summary(format!(
        "{} {} from {} {} ({} windows)",
        slo_rows.len(),
        gatehouse::plural(slo_rows.len(), "SLO", "SLOs"),
        cat.services.len(),
        gatehouse::plural(cat.services.len(), "service", "services"),
        windows.len()
    ));
    Ok(text)
}

/// The rule groups of one service: per SLO its recording and alert groups (each SLO a
/// `catalog.slo` check and a row of `slo_rows`), then its hand-written alerts.
fn service_groups(
    label: &str,
    svc: &Service,
    windows: &[Window],
    slo_rows: &mut Vec<serde_json::Value>,
    b: &mut gatehouse::ReportBuilder,
) -> Result<Vec<Y>, Error> {
    let sname = &svc.name.value;
    if !is_slug(sname) {
        return Err(located(
            label,
            &svc.name.referenced,
            format!("service name {sname:?} must be lower-case letters, digits and dashes"),
        ));
    }
    let mut groups = Vec::new();
    for slo in &svc.slos {
        check_slo(label, sname, slo)?;
        let (rec, alerts) = slo_groups(svc, slo, windows);
        let (rules, alert_rules) = (count_rules(&rec), count_rules(&alerts));
        slo_rows.push(json!({
            "service": sname,
            "slo": slo.name.value,
            "objective": slo.objective.value,
            "recording_rules": rules,
            "alerts": alert_rules,
        }));
        b.check(
            Check::ok(CheckId::CatalogSlo.as_str())
                .with_message(format!(
                    "{sname}/{}: {}% over 30d → {rules} recording rules, {alert_rules} burn-rate alerts",
                    slo.name.value, slo.objective.value,
                ))
                .with_location(Location::at(
                    label.to_owned(),
                    slo.name.referenced.line(),
                    slo.name.referenced.column(),
                )),
        );
        groups.push(rec);
        groups.push(alerts);
    }
    if !svc.alerts.is_empty() {
        let rules = svc.alerts.iter().map(|a| custom_alert(svc, a)).collect();
        groups.push(Y::map(vec![
            ("name", Y::s(format!("{sname}-alerts"))),
            ("rules", Y::List(rules)),
        ]));
    }
    Ok(groups)
}

/// An error at a place in the catalog.
fn located(label: &str, at: &serde_saphyr::Location, message: String) -> Error {
    Error::Input(gatehouse::InputError::Parse {
        path: label.to_owned(),
        line: at.line(),
        column: at.column(),
        message,
    })
}

/// An SLO compiles when its objective is a percentage and both SLI queries use
/// `{{.window}}` as their range and parse.
fn check_slo(label: &str, sname: &str, slo: &Slo) -> Result<(), Error> {
    let obj = slo.objective.value;
    if !(obj > 0.0 && obj < 100.0) {
        return Err(located(
            label,
            &slo.objective.referenced,
            format!(
                "{sname}/{}: objective {obj} must be a percentage between 0 and 100 (e.g. 99.9)",
                slo.name.value
            ),
        ));
    }
    for q in [&slo.sli.errors, &slo.sli.total] {
        if !q.value.contains("{{.window}}") {
            return Err(located(
                label,
                &q.referenced,
                format!(
                    "{sname}/{}: the SLI query must use {{{{.window}}}} as its range",
                    slo.name.value
                ),
            ));
        }
        let probe = q.value.replace("{{.window}}", "5m");
        if let Err(e) = crate::promql::parse(&probe) {
            return Err(located(
                label,
                &q.referenced,
                format!(
                    "{sname}/{}: SLI query: {} (at character {})",
                    slo.name.value,
                    e.message,
                    e.offset + 1
                ),
            ));
        }
    }
    Ok(())
}

/// The PrometheusRule object of one service, holding its groups.
fn rule_object(svc: &Service, defaults: &Defaults, groups: Vec<Y>) -> Y {
    let mut meta_labels: Vec<(String, Y)> = vec![
        ("app.kubernetes.io/managed-by".into(), Y::s("alert-lint")),
        ("team".into(), Y::s(svc.team.clone())),
    ];
    for (k, v) in &defaults.rule_labels {
        meta_labels.push((k.clone(), Y::s(v.clone())));
    }
    let mut metadata = vec![("name", Y::s(format!("{}-slos", svc.name.value)))];
    if let Some(ns) = svc.namespace.as_ref().or(defaults.namespace.as_ref()) {
        metadata.push(("namespace", Y::s(ns.clone())));
    }
    metadata.push(("labels", Y::Map(meta_labels)));
    Y::map(vec![
        ("apiVersion", Y::s("monitoring.coreos.com/v1")),
        ("kind", Y::s("PrometheusRule")),
        ("metadata", Y::map(metadata)),
        ("spec", Y::map(vec![("groups", Y::List(groups))])),
    ])
}

/// Lints the generated text with `check`'s defaults; any finding is a bug in the catalog
/// compiler or in the catalog, and shows up as a failed check.
fn self_check(text: &str, b: &mut gatehouse::ReportBuilder) {
    let docs = match crate::yamltree::parse_documents("<catalog output>", text) {
        Ok(d) => d,
        Err(e) => {
            b.check(Check::fail(
                CheckId::SyntaxYaml.as_str(),
                format!("generated YAML does not parse: {e}"),
            ));
            return;
        }
    };
    let config = Config::default();
    let loaded = crate::rules::load(&docs, config.name_validation);
    let mut findings = loaded.findings;
    let cx = crate::lint::Context {
        text,
        config: &config,
        root: Path::new("."),
    };
    crate::lint::lint_groups(&cx, &loaded.groups, &mut findings);
    for f in findings {
        if f.status == Status::Fail || f.status == Status::Warn {
            let mut c = Check::new(f.id.as_str(), f.status)
                .with_message(format!("in the generated rules: {}", f.message));
            if let Some(p) = f.pos {
                c = c.with_location(Location::at("<catalog output>", p.line, p.column));
            }
            b.check(c);
        }
    }
}

fn count_rules(group: &Y) -> usize {
    match group {
        Y::Map(entries) => entries
            .iter()
            .find(|(k, _)| k == "rules")
            .map_or(0, |(_, v)| if let Y::List(l) = v { l.len() } else { 0 }),
        _ => 0,
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn camel(s: &str) -> String {
    s.split(['-', '_', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}

fn dur(d: Duration) -> String {
    gatehouse::duration::format_duration(d)
}

/// The recording-rule group and the alert group of one SLO.
fn slo_groups(svc: &Service, slo: &Slo, windows: &[Window]) -> (Y, Y) {
    let sname = &svc.name.value;
    let slo_name = &slo.name.value;
    let budget_s = trim_float(1.0 - slo.objective.value / 100.0);
    let recs = recording_rules(svc, slo, windows, &budget_s);
    let mut alerts = Vec::new();
    for sev in ["page", "ticket"] {
        let ws: Vec<&Window> = windows.iter().filter(|w| w.severity == sev).collect();
        if !ws.is_empty() {
            alerts.push(burn_rate_alert(svc, slo, sev, &ws, &budget_s));
        }
    }
    (
        Y::map(vec![
            ("name", Y::s(format!("{sname}-{slo_name}-sli"))),
            ("rules", Y::List(recs)),
        ]),
        Y::map(vec![
            ("name", Y::s(format!("{sname}-{slo_name}-burn-rate"))),
            ("rules", Y::List(alerts)),
        ]),
    )
}

/// The `service` and `slo` labels of every rule an SLO compiles to.
fn slo_labels(svc: &Service, slo: &Slo) -> Vec<(&'static str, Y)> {
    vec![
        ("service", Y::s(svc.name.value.clone())),
        ("slo", Y::s(slo.name.value.clone())),
    ]
}

/// The SLI error ratio over every window any burn-rate pair uses, then the objective and
/// the error budget (`budget_s`) as constant series.
fn recording_rules(svc: &Service, slo: &Slo, windows: &[Window], budget_s: &str) -> Vec<Y> {
    let ranges: BTreeSet<Duration> = windows.iter().flat_map(|w| [w.short, w.long]).collect();
    let mut recs: Vec<Y> = ranges
        .iter()
        .map(|r| {
            let w = dur(*r);
            let errors = slo
                .sli
                .errors
                .value
                .trim()
                .replace("{{.window}}", &w)
                .replace('\n', "\n  ");
            let total = slo
                .sli
                .total
                .value
                .trim()
                .replace("{{.window}}", &w)
                .replace('\n', "\n  ");
            Y::map(vec![
                ("record", Y::s(format!("slo:sli_error:ratio_rate{w}"))),
                (
                    "expr",
                    Y::s(format!("(\n  {errors}\n)\n/\n(\n  {total}\n)")),
                ),
                ("labels", Y::map(slo_labels(svc, slo))),
            ])
        })
        .collect();
    recs.push(Y::map(vec![
        ("record", Y::s("slo:objective:ratio")),
        (
            "expr",
            Y::s(format!(
                "vector({})",
                trim_float(slo.objective.value / 100.0)
            )),
        ),
        ("labels", Y::map(slo_labels(svc, slo))),
    ]));
    recs.push(Y::map(vec![
        ("record", Y::s("slo:error_budget:ratio")),
        ("expr", Y::s(format!("vector({budget_s})"))),
        ("labels", Y::map(slo_labels(svc, slo))),
    ]));
    recs
}

/// The alert of one severity (`page`: critical, fast burn; `ticket`: warning, slow burn):
/// the `or` of its window pairs, each `long > factor × budget and short > factor × budget`.
fn burn_rate_alert(svc: &Service, slo: &Slo, sev: &str, ws: &[&Window], budget_s: &str) -> Y {
    let sname = &svc.name.value;
    let slo_name = &slo.name.value;
    let sel = format!("{{service=\"{sname}\", slo=\"{slo_name}\"}}");
    let clauses: Vec<String> = ws
        .iter()
        .map(|w| {
            let f = trim_float(w.factor);
            format!(
                "(\n  slo:sli_error:ratio_rate{}{sel} > ({f} * {budget_s})\n  and\n  slo:sli_error:ratio_rate{}{sel} > ({f} * {budget_s})\n)",
                dur(w.long),
                dur(w.short)
            )
        })
        .collect();
    let (severity, what) = if sev == "page" {
        ("critical", "fast")
    } else {
        ("warning", "slow")
    };
    let windows_txt = ws
        .iter()
        .map(|w| {
            format!(
                "{}/{} at {}x",
                dur(w.long),
                dur(w.short),
                trim_float(w.factor)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut labels = vec![
        ("severity", Y::s(severity)),
        ("team", Y::s(svc.team.clone())),
    ];
    if let Some(o) = &svc.owner {
        labels.push(("owner", Y::s(o.clone())));
    }
    labels.extend(slo_labels(svc, slo));
    let mut lab: Vec<(String, Y)> = labels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    for (k, v) in &svc.labels {
        if !lab.iter().any(|(x, _)| x == k) {
            lab.push((k.clone(), Y::s(v.clone())));
        }
    }
    let description = format!(
        "{} of {sname} is burning its {}% error budget {what}: the error ratio is {{{{ $value | humanizePercentage }}}} (windows {windows_txt}).{}",
        slo_name,
        trim_float(slo.objective.value),
        slo.description
            .as_ref()
            .map(|d| format!(" SLO: {d}"))
            .unwrap_or_default()
    );
    Y::map(vec![
        (
            "alert",
            Y::s(format!(
                "{}{}ErrorBudgetBurn{}",
                camel(sname),
                camel(slo_name),
                if sev == "page" { "" } else { "Slow" }
            )),
        ),
        ("expr", Y::s(clauses.join("\nor\n"))),
        ("labels", Y::Map(lab)),
        (
            "annotations",
            Y::map(vec![
                (
                    "summary",
                    Y::s(format!(
                        "{sname} {slo_name} SLO: error budget burning {what}"
                    )),
                ),
                ("description", Y::s(description)),
                (
                    "runbook_url",
                    Y::s(slo.runbook.clone().unwrap_or_else(|| svc.runbook.clone())),
                ),
            ]),
        ),
    ])
}

fn custom_alert(svc: &Service, a: &Alert) -> Y {
    let mut rule = vec![
        ("alert", Y::s(a.name.clone())),
        ("expr", Y::s(a.expr.value.trim().to_owned())),
    ];
    if let Some(f) = &a.for_ {
        rule.push(("for", Y::s(f.clone())));
    }
    let mut labels = vec![
        ("severity", Y::s(a.severity.clone())),
        ("team", Y::s(svc.team.clone())),
    ];
    if let Some(o) = &svc.owner {
        labels.push(("owner", Y::s(o.clone())));
    }
    labels.push(("service", Y::s(svc.name.value.clone())));
    rule.push(("labels", Y::map(labels)));
    rule.push((
        "annotations",
        Y::map(vec![
            ("summary", Y::s(a.summary.clone())),
            (
                "description",
                Y::s(a.description.clone().unwrap_or_else(|| a.summary.clone())),
            ),
            (
                "runbook_url",
                Y::s(a.runbook.clone().unwrap_or_else(|| svc.runbook.clone())),
            ),
        ]),
    ));
    Y::map(rule)
}

/// `0.0010000000000000009` → `0.001`: the shortest decimal that reads back the same at
/// 12 significant digits, so generated thresholds are what a person would write.
fn trim_float(x: f64) -> String {
    let s = format!("{:.12}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_tables() {
        assert_eq!(parse_windows("sloth").expect("sloth").len(), 4);
        let w = parse_windows("workbook").expect("workbook");
        assert_eq!(w.len(), 3);
        assert!(!w.iter().any(|w| w.long == Duration::from_secs(86_400)));
        let c = parse_windows("page:2h/10m:10").expect("custom");
        assert_eq!(c[0].factor, 10.0);
        assert!(parse_windows("page:5m/1h:10").is_err());
        assert!(parse_windows("urgent:1h/5m:1").is_err());
        assert!(parse_windows("nonsense").is_err());
    }

    #[test]
    fn floats_print_as_written() {
        assert_eq!(trim_float(1.0 - 0.999), "0.001");
        assert_eq!(trim_float(14.4), "14.4");
        assert_eq!(trim_float(6.0), "6");
    }
}
