//! Owns the SLOs: reading them from an alert catalog (`services[].slos[]`, the file
//! `alert-lint catalog` compiles, with its `defaults.windows`) or a Sloth `prometheus/v1`
//! spec, the burn-rate windows (the catalog's defaults: page 1h/5m ×14.4 and 6h/30m ×6,
//! ticket 1d/2h ×3 and 3d/6h ×1), the arithmetic, and judging each SLO against Prometheus.

use std::time::Duration;

use gatehouse::yaml::Spanned;
use gatehouse::{Check, InputError, Location, ReportBuilder, Section, Status};
use serde::Deserialize;
use serde_json::json;

use crate::checks::CheckId;
use crate::error::Error;
use crate::prom::Client;
use crate::promql::{exact_bucket_selectors, fill_window, metric_names, prom_duration};

/// One SLO, whichever file it came from.
#[derive(Debug, Clone)]
pub(crate) struct Slo {
    pub service: String,
    pub name: String,
    /// `file:line` of its name.
    pub location: String,
    /// Percent, e.g. 99.9.
    pub objective: f64,
    /// Bad events per second over `{{.window}}`.
    pub errors: String,
    /// All events per second over `{{.window}}`.
    pub total: String,
}

/// A page or ticket pair: both windows must burn faster than `factor` (the catalog's
/// `defaults.windows`, read by the one parser alert-lint uses too).
pub(crate) type Pair = gatehouse::slo::BurnWindow;

#[derive(Debug, Deserialize)]
struct Probe {
    #[serde(default)]
    version: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Catalog {
    #[serde(default)]
    defaults: CatalogDefaults,
    services: Vec<CatalogService>,
}

#[derive(Debug, Default, Deserialize)]
struct CatalogDefaults {
    #[serde(default)]
    windows: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CatalogService {
    name: String,
    #[serde(default)]
    slos: Vec<CatalogSlo>,
}

#[derive(Debug, Deserialize)]
struct CatalogSlo {
    name: Spanned<String>,
    objective: f64,
    sli: CatalogSli,
}

#[derive(Debug, Deserialize)]
struct CatalogSli {
    errors: String,
    total: String,
}

#[derive(Debug, Deserialize)]
struct Sloth {
    service: String,
    slos: Vec<SlothSlo>,
}

#[derive(Debug, Deserialize)]
struct SlothSlo {
    name: Spanned<String>,
    objective: f64,
    sli: SlothSli,
}

#[derive(Debug, Deserialize)]
struct SlothSli {
    #[serde(default)]
    events: Option<SlothEvents>,
}

#[derive(Debug, Deserialize)]
struct SlothEvents {
    error_query: String,
    total_query: String,
}

/// Reads the SLOs and the window pairs from a catalog or a Sloth spec.
pub(crate) fn load(label: &str, text: &str) -> Result<(Vec<Slo>, Vec<Pair>), InputError> {
    let probe: Probe = gatehouse::yaml::from_str(label, text)?;
    let loc = |s: &Spanned<String>| Location::line(label, s.referenced.line()).to_string();
    let mut slos = Vec::new();
    let windows = if probe.version.as_deref() == Some("prometheus/v1") {
        let spec: Sloth = gatehouse::yaml::from_str(label, text)?;
        for s in spec.slos {
            let Some(ev) = s.sli.events else {
                return Err(InputError::invalid(
                    loc(&s.name),
                    format!(
                        "SLO {}: only sli.events (error_query, total_query) is supported",
                        s.name.value
                    ),
                ));
            };
            slos.push(Slo {
                service: spec.service.clone(),
                name: s.name.value.clone(),
                location: loc(&s.name),
                objective: s.objective,
                errors: ev.error_query,
                total: ev.total_query,
            });
        }
        None
    } else {
        let cat: Catalog = gatehouse::yaml::from_str(label, text)?;
        for svc in cat.services {
            for s in svc.slos {
                slos.push(Slo {
                    service: svc.name.clone(),
                    name: s.name.value.clone(),
                    location: loc(&s.name),
                    objective: s.objective,
                    errors: s.sli.errors,
                    total: s.sli.total,
                });
            }
        }
        cat.defaults.windows
    };
    for s in &slos {
        if !(s.objective > 0.0 && s.objective < 100.0) {
            return Err(InputError::invalid(
                s.location.clone(),
                format!(
                    "SLO {}: objective {} is not a percentage between 0 and 100",
                    s.name, s.objective
                ),
            ));
        }
    }
    if slos.is_empty() {
        return Err(InputError::invalid(label, "no SLOs"));
    }
    let pairs = parse_pairs(windows.as_deref().unwrap_or("sloth"))
        .map_err(|m| InputError::invalid(label, format!("defaults.windows: {m}")))?;
    Ok((slos, pairs))
}

/// `sloth` (the default), `workbook`, or `severity:long/short:factor,...` — the spelling of
/// the catalog's `defaults.windows`, read as alert-lint reads it.
pub(crate) fn parse_pairs(spec: &str) -> Result<Vec<Pair>, String> {
    gatehouse::slo::parse_burn_windows(spec)
}

/// How many times faster than sustainable the budget burns: error ratio ÷ (1 − objective).
pub(crate) fn burn_rate(error_ratio: f64, objective_percent: f64) -> f64 {
    error_ratio / (1.0 - objective_percent / 100.0)
}

/// The share of the period's budget a burn rate spends over `window`.
#[cfg(test)]
pub(crate) fn budget_spent(burn_rate: f64, window: Duration, period: Duration) -> f64 {
    burn_rate * window.as_secs_f64() / period.as_secs_f64()
}

/// What a `slo` run needs.
pub(crate) struct Options {
    pub client: Client,
    pub slos: Vec<Slo>,
    pub pairs: Vec<Pair>,
    /// Unix seconds.
    pub at: f64,
    pub period: Duration,
}

/// Errors ÷ total over `window`, both evaluated at `at`. No series for the total, or for
/// the errors when their metric does not exist at all, is an error naming the query.
pub(crate) fn error_ratio(
    client: &Client,
    slo: &Slo,
    window: &str,
    at: f64,
) -> Result<(f64, f64, f64), Error> {
    let total_q = fill_window(&slo.total, window);
    let errors_q = fill_window(&slo.errors, window);
    let no_series = |q: &str| Error::NoSeries {
        location: slo.location.clone(),
        slo: format!("{}/{}", slo.service, slo.name),
        query: q.to_owned(),
    };
    let totals = client.query(&total_q, at)?;
    if totals.is_empty() {
        return Err(no_series(&total_q));
    }
    let total: f64 = totals.iter().map(|s| s.1).sum();
    let errs = client.query(&errors_q, at)?;
    let errors = if errs.is_empty() {
        // No error series is normal when nothing failed, but only if the metric exists.
        let names = metric_names(&errors_q).map_err(|e| {
            Error::Input(InputError::invalid(
                slo.location.clone(),
                format!("SLO {}: errors query: {e}", slo.name),
            ))
        })?;
        let re = names
            .iter()
            .map(|n| regex_escape(n))
            .collect::<Vec<_>>()
            .join("|");
        let probe = format!("count(last_over_time({{__name__=~\"{re}\"}}[{window}]))");
        if names.is_empty() || client.query(&probe, at)?.is_empty() {
            return Err(no_series(&errors_q));
        }
        // A histogram bound the metric does not have empties the whole expression.
        for sel in exact_bucket_selectors(&errors_q) {
            let q = format!("count(last_over_time({sel}[{window}]))");
            if client.query(&q, at)?.is_empty() {
                return Err(no_series(&sel));
            }
        }
        0.0
    } else {
        errs.iter().map(|s| s.1).sum()
    };
    let ratio = if total > 0.0 { errors / total } else { 0.0 };
    Ok((errors, total, ratio))
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
                vec![c]
            } else {
                vec!['\\', '\\', c]
            }
        })
        .collect()
}

/// Judges every SLO: burn rate per window, the pairs, the budget.
pub(crate) fn judge(opts: &Options, b: &mut ReportBuilder) -> Result<(), Error> {
    let mut windows: Vec<Duration> = opts.pairs.iter().flat_map(|p| [p.long, p.short]).collect();
    windows.sort();
    windows.dedup();
    let mut table = Section::new(
        "Burn rates",
        &[
            "service", "SLO", "pair", "long", "short", "factor", "result",
        ],
    );
    let mut out = Vec::new();
    let (mut pages, mut tickets) = (0, 0);
    for slo in &opts.slos {
        let mut rates = Vec::new();
        let mut wdata = Vec::new();
        for w in &windows {
            let ws = prom_duration(*w);
            let (_, _, ratio) = error_ratio(&opts.client, slo, &ws, opts.at)?;
            let br = burn_rate(ratio, slo.objective);
            rates.push((*w, br));
            wdata.push(json!({"window": ws, "error_ratio": ratio, "burn_rate": br}));
        }
        let rate_of = |d: Duration| rates.iter().find(|(w, _)| *w == d).map_or(0.0, |r| r.1);
        let mut pdata = Vec::new();
        for p in &opts.pairs {
            let (l, s) = (rate_of(p.long), rate_of(p.short));
            let firing = l > p.factor && s > p.factor;
            let (id, bad) = if p.severity == "page" {
                (CheckId::SloPage, Status::Fail)
            } else {
                (CheckId::SloTicket, Status::Warn)
            };
            if firing {
                if p.severity == "page" {
                    pages += 1
                } else {
                    tickets += 1
                }
            }
            let label = format!("{}/{}", prom_duration(p.long), prom_duration(p.short));
            b.check(
                Check::new(id, if firing { bad } else { Status::Ok })
                    .with_observed(gatehouse::report::number(l.min(s)))
                    .with_limit(gatehouse::report::number(p.factor))
                    .with_message(format!(
                        "{}/{}: burn rate {l:.2} over {} and {s:.2} over {}, {} {} (objective {}%)",
                        slo.service,
                        slo.name,
                        prom_duration(p.long),
                        prom_duration(p.short),
                        if firing {
                            "both above"
                        } else {
                            "not both above"
                        },
                        p.factor,
                        slo.objective
                    ))
                    .with_location(location(&slo.location)),
            );
            table.row(vec![
                slo.service.clone(),
                slo.name.clone(),
                format!("{} {label}", p.severity),
                format!("{l:.2}"),
                format!("{s:.2}"),
                format!("{}", p.factor),
                if firing { "firing" } else { "ok" }.into(),
            ]);
            pdata.push(json!({
                "severity": p.severity, "long": prom_duration(p.long), "short": prom_duration(p.short),
                "factor": p.factor, "firing": firing,
            }));
        }
        let period = prom_duration(opts.period);
        let (_, _, ratio) = error_ratio(&opts.client, slo, &period, opts.at)?;
        let remaining = 1.0 - burn_rate(ratio, slo.objective);
        b.check(
            Check::new(
                CheckId::SloBudget,
                if remaining < 0.0 {
                    Status::Warn
                } else {
                    Status::Ok
                },
            )
            .with_observed(gatehouse::report::number(remaining))
            .with_limit(0)
            .with_message(format!(
                "{}/{}: {:.1}% of the {period} error budget left",
                slo.service,
                slo.name,
                remaining * 100.0
            ))
            .with_location(location(&slo.location)),
        );
        out.push(json!({
            "service": slo.service, "name": slo.name, "objective": slo.objective,
            "windows": wdata, "pairs": pdata, "budget_remaining": remaining,
        }));
    }
    b.summary(format!(
        "{} SLOs: {pages} page pair{} firing, {tickets} ticket pair{} firing",
        opts.slos.len(),
        if pages == 1 { "" } else { "s" },
        if tickets == 1 { "" } else { "s" }
    ))
    .section(table)
    .data(json!({
        "prometheus": opts.client.url(),
        "at": gatehouse::time::Timestamp::from_unix_millis((opts.at * 1000.0) as i64).to_rfc3339(),
        "period": prom_duration(opts.period),
        "slos": out,
    }));
    Ok(())
}

fn location(s: &str) -> Location {
    match s
        .rsplit_once(':')
        .and_then(|(f, l)| l.parse().ok().map(|l| (f, l)))
    {
        Some((f, l)) => Location::line(f, l),
        None => Location::file(s),
    }
}

/// Parses `--at`: RFC 3339 or unix seconds.
pub(crate) fn parse_at(text: &str) -> Result<f64, String> {
    if let Ok(s) = text.trim().parse::<f64>() {
        return Ok(s);
    }
    gatehouse::time::Timestamp::parse(text)
        .map(|t| t.unix_millis() as f64 / 1000.0)
        .map_err(|e| format!("--at {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const PERIOD: Duration = Duration::from_secs(30 * 86_400);

    /// The SRE workbook, "Alerting on SLOs", table 5-8 (99.9 % over 30 days): a 14.4 burn
    /// over 1 h spends 2 % of the budget, 6 over 6 h 5 %, 1 over 3 d 10 %.
    #[test]
    fn burn_rates_match_the_sre_workbook() {
        let br = burn_rate(0.0144, 99.9);
        assert!((br - 14.4).abs() < 1e-9, "{br}");
        assert!((budget_spent(14.4, HOUR, PERIOD) - 0.02).abs() < 1e-12);
        assert!((budget_spent(6.0, 6 * HOUR, PERIOD) - 0.05).abs() < 1e-12);
        assert!((budget_spent(1.0, 72 * HOUR, PERIOD) - 0.10).abs() < 1e-12);
        // A 100 % outage of a 99.9 % SLO burns at 1000: the budget lasts 43 minutes.
        let br = burn_rate(1.0, 99.9);
        assert!((br - 1000.0).abs() < 1e-6);
        assert!((PERIOD.as_secs_f64() / br / 60.0 - 43.2).abs() < 1e-6);
    }

    #[test]
    fn at_is_rfc3339_or_unix_seconds() {
        assert_eq!(parse_at("1764584400"), Ok(1_764_584_400.0));
        assert_eq!(parse_at("2025-12-01T10:20:00Z"), Ok(1_764_584_400.0));
        assert!(parse_at("yesterday").is_err());
    }

    #[test]
    fn the_catalogs_window_defaults_are_ours() {
        let p = parse_pairs("sloth").expect("sloth");
        let got: Vec<(String, String, String, f64)> = p
            .iter()
            .map(|p| {
                (
                    p.severity.clone(),
                    prom_duration(p.long),
                    prom_duration(p.short),
                    p.factor,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("page".into(), "1h".into(), "5m".into(), 14.4),
                ("page".into(), "6h".into(), "30m".into(), 6.0),
                ("ticket".into(), "1d".into(), "2h".into(), 3.0),
                ("ticket".into(), "3d".into(), "6h".into(), 1.0),
            ]
        );
        assert_eq!(parse_pairs("workbook").expect("wb").len(), 3);
        assert!(parse_pairs("page:5m/1h:2").is_err());
    }

    #[test]
    fn the_example_catalog_reads_with_its_windows() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/alert-catalog.yaml"
        );
        let text = std::fs::read_to_string(path).expect("catalog");
        let (slos, pairs) = load("alert-catalog.yaml", &text).expect("load");
        assert_eq!(slos[0].service, "checkout-api");
        assert_eq!(slos[0].objective, 99.9);
        assert!(slos[0].location.starts_with("alert-catalog.yaml:"));
        assert_eq!(pairs.len(), 4);
    }

    #[test]
    fn a_sloth_spec_reads_unchanged() {
        let text = "version: prometheus/v1\nservice: myservice\nlabels: {owner: me}\nslos:\n  - name: requests-availability\n    objective: 99.9\n    description: x\n    sli:\n      events:\n        error_query: sum(rate(http_request_duration_seconds_count{job=\"myservice\",code=~\"(5..|429)\"}[{{.window}}]))\n        total_query: sum(rate(http_request_duration_seconds_count{job=\"myservice\"}[{{.window}}]))\n    alerting:\n      name: MyServiceHighErrorRate\n";
        let (slos, pairs) = load("sloth.yaml", text).expect("sloth");
        assert_eq!(
            (slos[0].service.as_str(), slos[0].name.as_str()),
            ("myservice", "requests-availability")
        );
        assert_eq!(slos[0].location, "sloth.yaml:5");
        assert_eq!(pairs.len(), 4);
    }
}
