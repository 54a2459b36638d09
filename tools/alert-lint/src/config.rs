//! Owns the policy file (`--config`, schemas/alert-lint.config.schema.json): which labels and
//! annotations alerts need, which severities page, the scrape and evaluation intervals the
//! PromQL checks assume, per-check severity overrides, and the live and noise budgets. Every
//! field has a default, so the tool is useful with no file at all.

use std::collections::BTreeMap;
use std::time::Duration;

use gatehouse::Status;
use serde::Deserialize;

use crate::checks::CheckId;
use crate::error::Error;
use crate::selector;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How often targets are scraped; `range_too_short` wants ranges ≥ 2× this.
    #[serde(with = "dur")]
    pub scrape_interval: Duration,
    /// The global evaluation interval, used for groups without `interval:`.
    #[serde(with = "dur")]
    pub evaluation_interval: Duration,
    /// `legacy` (Prometheus 2.x names, the default) or `utf8` (Prometheus 3.x).
    pub name_validation: NameValidation,
    /// Label rules for alerts: `required` and allowed `values`.
    pub labels: BTreeMap<String, LabelPolicy>,
    /// Any one of these labels names the owner.
    pub owner_labels: Vec<String>,
    /// Annotations every alert needs.
    pub required_annotations: Vec<String>,
    /// The annotation that holds the runbook link.
    pub runbook_annotation: String,
    /// The label whose values decide paging, and the values that page.
    pub paging: Paging,
    /// Per-check overrides: a check id, a family (`promql`) or `all` → `on`, `off`, `warn`, `fail`.
    pub checks: BTreeMap<String, Level>,
    pub live: Live,
    pub noise: Noise,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum NameValidation {
    #[default]
    Legacy,
    Utf8,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct LabelPolicy {
    pub required: bool,
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paging {
    pub label: String,
    pub values: Vec<String>,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            label: "severity".into(),
            values: vec!["critical".into(), "page".into()],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// The check's own status (what it would be without an override).
    On,
    Off,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Live {
    /// How far back `live.series_present` looks for a selector's series.
    #[serde(with = "dur")]
    pub lookback: Duration,
    /// `live.query_cost` warns above this many series touched by one rule.
    pub max_series: u64,
    /// Per-request timeout.
    #[serde(with = "dur")]
    pub timeout: Duration,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            lookback: Duration::from_secs(7 * 86_400),
            max_series: 10_000,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Noise {
    /// The window `noise` looks at unless `--window` says otherwise.
    #[serde(with = "dur")]
    pub window: Duration,
    /// An alert with more firing episodes than this fails.
    pub max_episodes: u64,
    /// An alert that flapped (re-fired within `flap_gap` of resolving) more than this fails.
    pub max_flaps: u64,
    /// Re-firing within this long of resolving counts as a flap.
    #[serde(with = "dur")]
    pub flap_gap: Duration,
    /// The share of episodes shorter than twice the alert's `for` above which it fails.
    pub max_short_share: f64,
    /// Alerts never judged (e.g. `Watchdog`).
    pub ignore: Vec<String>,
}

impl Default for Noise {
    fn default() -> Self {
        Noise {
            window: Duration::from_secs(7 * 86_400),
            max_episodes: 20,
            max_flaps: 5,
            flap_gap: Duration::from_secs(15 * 60),
            max_short_share: 0.5,
            ignore: vec!["Watchdog".into(), "InfoInhibitor".into()],
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let mut labels = BTreeMap::new();
        labels.insert(
            "severity".to_owned(),
            LabelPolicy {
                required: true,
                values: [
                    "critical", "page", "high", "warning", "ticket", "info", "none",
                ]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            },
        );
        Config {
            scrape_interval: Duration::from_secs(60),
            evaluation_interval: Duration::from_secs(60),
            name_validation: NameValidation::Legacy,
            labels,
            owner_labels: vec!["team".into(), "owner".into()],
            required_annotations: vec!["summary".into(), "description".into()],
            runbook_annotation: "runbook_url".into(),
            paging: Paging::default(),
            checks: BTreeMap::new(),
            live: Live::default(),
            noise: Noise::default(),
        }
    }
}

impl Config {
    /// The policy in `path`, or the defaults when no file is given.
    pub fn load_or_default(path: Option<&std::path::Path>) -> Result<Config, Error> {
        path.map_or_else(|| Ok(Config::default()), Config::load)
    }

    /// Reads a policy file; unknown keys and unknown check ids are errors naming the line.
    pub fn load(path: &std::path::Path) -> Result<Config, Error> {
        let input = gatehouse::input::read(&gatehouse::Source::new(path))?;
        let text = input.text()?;
        let cfg: Config = gatehouse::yaml::from_str(&input.label(), text)?;
        for sel in cfg.checks.keys() {
            if selector::matching(sel).is_empty() {
                return Err(Error::Config {
                    path: input.label(),
                    message: format!(
                        "checks: {sel:?} is not a check id or family (see `alert-lint checks`)"
                    ),
                });
            }
        }
        Ok(cfg)
    }

    /// The status a finding of `id` gets when its natural status is `natural`; `None` when
    /// the check is turned off. The most specific selector wins (exact id over family over
    /// `all`).
    pub fn level(&self, id: CheckId, natural: Status) -> Option<Status> {
        let mut best: Option<(usize, Level)> = None;
        for (sel, level) in &self.checks {
            if selector::matching(sel).contains(&id) {
                let specificity = selector::specificity(sel);
                if best.is_none_or(|(s, _)| specificity >= s) {
                    best = Some((specificity, *level));
                }
            }
        }
        match best {
            None => Some(natural),
            Some((_, Level::On)) => Some(natural),
            Some((_, Level::Off)) => None,
            Some((_, Level::Warn)) => Some(Status::Warn),
            Some((_, Level::Fail)) => Some(Status::Fail),
        }
    }

    pub fn enabled(&self, id: CheckId) -> bool {
        self.level(id, Status::Fail).is_some()
    }

    pub fn is_paging(&self, labels: &[(String, String)]) -> bool {
        labels
            .iter()
            .any(|(k, v)| *k == self.paging.label && self.paging.values.iter().any(|p| p == v))
    }
}

/// Durations in the config are strings such as `30s`, `5m`, `7d`.
mod dur {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        gatehouse::duration::parse_duration(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_severity_summary_and_runbooks() {
        let c = Config::default();
        assert!(c.labels["severity"].required);
        assert_eq!(c.scrape_interval, Duration::from_secs(60));
        assert!(c.is_paging(&[("severity".into(), "critical".into())]));
        assert!(!c.is_paging(&[("severity".into(), "warning".into())]));
    }

    #[test]
    fn the_most_specific_override_wins() {
        let c: Config = gatehouse::yaml::from_str(
            "c.yaml",
            "checks:\n  promql: off\n  promql.range_too_short: warn\n",
        )
        .expect("valid");
        assert_eq!(c.level(CheckId::PromqlRateOnGauge, Status::Fail), None);
        assert_eq!(
            c.level(CheckId::PromqlRangeTooShort, Status::Fail),
            Some(Status::Warn)
        );
        assert_eq!(
            c.level(CheckId::PolicyRunbook, Status::Fail),
            Some(Status::Fail)
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_line() {
        let e =
            gatehouse::yaml::from_str::<Config>("c.yaml", "scrape_interval: 15s\nsevirity: x\n")
                .expect_err("unknown key");
        assert!(e.to_string().starts_with("c.yaml:2:"), "{e}");
    }
}
