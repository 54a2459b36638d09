//! The engine of `alert-lint noise`: reads the `ALERTS{alertstate="firing"}` history over a
//! window, cuts each alert series into firing episodes, and ranks alerts by how noisy they
//! were — episodes, flaps (re-firing within `flap_gap` of resolving), median episode length
//! and the share of episodes shorter than the alert's `for` (at least one minute) — failing
//! those over the configured budget.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use gatehouse::{Check, Section};
use serde_json::json;

use crate::checks::CheckId;
use crate::config::{Config, Noise};
use crate::error::Error;
use crate::prom::Client;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Stats {
    pub alert: String,
    pub series: usize,
    pub episodes: u64,
    pub flaps: u64,
    pub median_s: f64,
    pub firing_s: f64,
    pub short: u64,
    pub for_s: f64,
}

impl Stats {
    pub fn short_share(&self) -> f64 {
        if self.episodes == 0 {
            0.0
        } else {
            self.short as f64 / self.episodes as f64
        }
    }
    /// Flaps weigh double: they are the pages people learn to ignore.
    pub fn score(&self) -> u64 {
        self.episodes + 2 * self.flaps + self.short
    }
}

/// What `noise` judges: checked by the command (defaults from the config applied).
pub(crate) struct Options {
    /// Prometheus base URL.
    pub prometheus: String,
    /// How far back to look.
    pub window: Duration,
    /// Resolution of the ALERTS history.
    pub step: Duration,
    /// Deadline of each request.
    pub timeout: Duration,
    /// How many alerts the ranking shows.
    pub top: usize,
}

impl Options {
    /// The step when none is given: window/10000, at least one second.
    pub fn default_step(window: Duration) -> Duration {
        (window / 10_000).max(Duration::from_secs(1))
    }
}

/// Ranks the alerts that fired over the window and fails those over `config`'s budget.
pub(crate) fn judge(
    opts: &Options,
    config: &Config,
    b: &mut gatehouse::ReportBuilder,
) -> Result<(), Error> {
    let budget = &config.noise;
    let stats = history(opts, budget)?;
    let over = judge_budget(b, &stats, budget, opts.window);
    b.section(ranking(&stats, opts.top));
    let episodes: u64 = stats.iter().map(|s| s.episodes).sum();
    b.summary(format!(
        "{} {} fired {} {} over {}; {} over budget",
        stats.len(),
        gatehouse::plural(stats.len(), "alert", "alerts"),
        episodes,
        gatehouse::plural(episodes as usize, "time", "times"),
        fmt_s(opts.window.as_secs_f64()),
        over
    ));
    b.data(data(opts, budget, &stats));
    Ok(())
}

fn fmt_s(s: f64) -> String {
    gatehouse::duration::format_duration(Duration::from_secs_f64(s.max(0.0)))
}

/// The firing history of every alert not ignored, summarized, noisiest first.
fn history(opts: &Options, budget: &Noise) -> Result<Vec<Stats>, Error> {
    let (window, step) = (opts.window, opts.step);
    let mut client = Client::new(&opts.prometheus, opts.timeout)?;
    let end = client.now()?;
    let start = end - window.as_secs_f64();
    let fors = alert_fors(&mut client)?;
    let matrix = {
        let _s = gatehouse::trace::step("query ALERTS");
        client.query_range("ALERTS{alertstate=\"firing\"}", start, end, step)?
    };
    let mut by_alert: BTreeMap<String, Vec<Vec<(f64, f64)>>> = BTreeMap::new();
    for (labels, points) in matrix {
        let name = labels.get("alertname").cloned().unwrap_or_default();
        by_alert
            .entry(name)
            .or_default()
            .push(episodes(&points, step.as_secs_f64()));
    }
    let mut stats: Vec<Stats> = by_alert
        .into_iter()
        .filter(|(name, _)| !budget.ignore.contains(name))
        .map(|(name, series)| {
            let for_s = fors.get(&name).copied().unwrap_or(0.0);
            summarize(
                &name,
                &series,
                for_s,
                budget.flap_gap.as_secs_f64(),
                step.as_secs_f64(),
            )
        })
        .collect();
    stats.sort_by(|a, b| {
        b.score()
            .cmp(&a.score())
            .then_with(|| a.alert.cmp(&b.alert))
    });
    Ok(stats)
}

/// One `noise.budget` failure per alert over the budget, or one `ok` when none is; returns
/// how many are over.
fn judge_budget(
    b: &mut gatehouse::ReportBuilder,
    stats: &[Stats],
    budget: &Noise,
    window: Duration,
) -> usize {
    let mut over = 0;
    for s in stats {
        let mut reasons = Vec::new();
        if s.episodes > budget.max_episodes {
            reasons.push(format!(
                "{} episodes (budget {})",
                s.episodes, budget.max_episodes
            ));
        }
        if s.flaps > budget.max_flaps {
            reasons.push(format!("{} flaps (budget {})", s.flaps, budget.max_flaps));
        }
        if s.episodes >= 3 && s.short_share() > budget.max_short_share {
            reasons.push(format!(
                "{:.0}% of episodes shorter than {} (budget {:.0}%)",
                s.short_share() * 100.0,
                fmt_s(s.for_s.max(60.0)),
                budget.max_short_share * 100.0
            ));
        }
        if !reasons.is_empty() {
            over += 1;
            b.check(
                Check::fail(
                    CheckId::NoiseBudget.as_str(),
                    format!("{}: {}", s.alert, reasons.join(", ")),
                )
                .with_observed(s.episodes)
                .with_limit(budget.max_episodes),
            );
        }
    }
    if over == 0 {
        b.check(
            Check::ok(CheckId::NoiseBudget.as_str()).with_message(format!(
                "{} alerts fired within budget over {}",
                stats.len(),
                fmt_s(window.as_secs_f64())
            )),
        );
    }
    over
}

/// The "Noisiest alerts" table, `top` rows shown.
fn ranking(stats: &[Stats], top: usize) -> Section {
    let mut sec = Section::new(
        "Noisiest alerts",
        &[
            "rank", "alert", "episodes", "flaps", "median", "short", "for", "firing",
        ],
    )
    .with_max_rows(top);
    for (i, s) in stats.iter().enumerate() {
        sec.row(vec![
            (i + 1).to_string(),
            s.alert.clone(),
            s.episodes.to_string(),
            s.flaps.to_string(),
            fmt_s(s.median_s),
            format!("{:.0}%", s.short_share() * 100.0),
            fmt_s(s.for_s),
            fmt_s(s.firing_s),
        ]);
    }
    sec
}

/// `data` of a noise report (schemas/alert-lint.schema.json).
fn data(opts: &Options, budget: &Noise, stats: &[Stats]) -> serde_json::Value {
    json!({
        "prometheus": gatehouse::redact::redact(&opts.prometheus),
        "window": fmt_s(opts.window.as_secs_f64()),
        "step": fmt_s(opts.step.as_secs_f64()),
        "budget": {
            "max_episodes": budget.max_episodes,
            "max_flaps": budget.max_flaps,
            "flap_gap": fmt_s(budget.flap_gap.as_secs_f64()),
            "max_short_share": budget.max_short_share,
        },
        "alerts": stats.iter().enumerate().map(|(i, s)| json!({
            "rank": i + 1,
            "alert": s.alert,
            "series": s.series,
            "episodes": s.episodes,
            "flaps": s.flaps,
            "median_seconds": s.median_s,
            "firing_seconds": s.firing_s,
            "short_episodes": s.short,
            "for_seconds": s.for_s,
            "score": s.score(),
        })).collect::<Vec<_>>(),
    })
}

/// `for` of every alerting rule the server runs, in seconds.
fn alert_fors(client: &mut Client) -> Result<HashMap<String, f64>, Error> {
    let mut out = HashMap::new();
    // Read the rules list; older servers without the endpoint simply give no `for`s.
    if let Ok(groups) = client.rules() {
        for g in groups {
            for r in g["rules"].as_array().into_iter().flatten() {
                if r["type"] == "alerting"
                    && let (Some(n), Some(d)) = (r["name"].as_str(), r["duration"].as_f64())
                {
                    out.insert(n.to_owned(), d);
                }
            }
        }
    }
    Ok(out)
}

/// Cuts one series' points into (start, end) episodes: a gap longer than 1.5 steps ends one.
pub(crate) fn episodes(points: &[(f64, f64)], step: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for &(t, _) in points {
        match out.last_mut() {
            Some((_, end)) if t - *end <= step * 1.5 => *end = t,
            _ => out.push((t, t)),
        }
    }
    out
}

pub(crate) fn summarize(
    name: &str,
    series: &[Vec<(f64, f64)>],
    for_s: f64,
    flap_gap: f64,
    step: f64,
) -> Stats {
    let mut durations = Vec::new();
    let mut flaps = 0;
    for eps in series {
        for (i, (s, e)) in eps.iter().enumerate() {
            durations.push(e - s + step);
            if i > 0 && s - eps[i - 1].1 <= flap_gap {
                flaps += 1;
            }
        }
    }
    durations.sort_by(f64::total_cmp);
    let median = durations.get(durations.len() / 2).copied().unwrap_or(0.0);
    let short_limit = for_s.max(60.0);
    Stats {
        alert: name.to_owned(),
        series: series.len(),
        episodes: durations.len() as u64,
        flaps,
        median_s: median,
        firing_s: durations.iter().sum(),
        short: durations.iter().filter(|d| **d < short_limit).count() as u64,
        for_s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episodes_split_on_gaps_and_flaps_count_quick_refires() {
        let pts: Vec<(f64, f64)> = [0.0, 1.0, 2.0, 10.0, 11.0, 100.0]
            .iter()
            .map(|t| (*t, 1.0))
            .collect();
        let eps = episodes(&pts, 1.0);
        assert_eq!(eps, vec![(0.0, 2.0), (10.0, 11.0), (100.0, 100.0)]);
        let s = summarize("A", &[eps], 0.0, 30.0, 1.0);
        assert_eq!((s.episodes, s.flaps, s.short), (3, 1, 3));
        assert_eq!(s.median_s, 2.0);
    }
}
