//! Turns what `check` found in every file into the report: config levels and disable
//! comments applied, one check per finding (`fail`/`warn`, located at file:line:column), one
//! `skip` per finding silenced by a comment, then one summary check per check id — `ok` when
//! it ran and found nothing ("412 rules"), `skip` when it was turned off, needs
//! `--prometheus`, or could not run everywhere. Findings are sorted by file and line, so the
//! text and markdown lists read file by file. The sections and `data` are documented in
//! docs/alert-lint.md and schemas/alert-lint.schema.json.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use gatehouse::{Check, Location, ReportBuilder, Section, Status};
use serde_json::json;

use crate::checks::CheckId;
use crate::config::Config;
use crate::finding::{FileState, Finding, LiveInfo};
use crate::suppress;

/// Marks the run as unable to judge when a file could not be read or parsed, or a rule was
/// too large to judge: the first such problem, and how many more there are.
pub(crate) fn not_judged(b: &mut ReportBuilder, files: &[FileState]) {
    let broken: Vec<&String> = files.iter().filter_map(|f| f.broken.as_ref()).collect();
    let unjudged: Vec<&String> = files.iter().flat_map(|f| &f.unjudged).collect();
    if let Some(first) = broken.first() {
        let more = if broken.len() > 1 {
            format!(" (and {} more unreadable files)", broken.len() - 1)
        } else {
            String::new()
        };
        b.error("input", format!("{first}{more}"));
    } else if let Some(first) = unjudged.first() {
        let more = if unjudged.len() > 1 {
            format!(
                " (and {} more rules too large to judge)",
                unjudged.len() - 1
            )
        } else {
            String::new()
        };
        b.error("limit", format!("{first}{more}"));
    }
}

/// The checks, summary, sections and `data` of a `check` run over `files`, judged under
/// `config` (read from `config_path`, when one was given), with what the live checks saw.
pub(crate) fn assemble(
    b: &mut ReportBuilder,
    files: &[FileState],
    config: &Config,
    config_path: Option<&Path>,
    live: Option<LiveInfo>,
) {
    let mut judged = judge_findings(files, config);
    b.checks(std::mem::take(&mut judged.checks));
    per_id_checks(b, &judged, files, config, live.is_some());
    let totals = judged.by_id.values().fold(Counts::default(), Counts::plus);
    let problem_files = judged.by_file.iter().filter(|c| c.any()).count();
    b.summary(summary_line(files, totals, problem_files));
    if problem_files > 0 {
        sections(b, files, &judged);
    }
    b.data(data(
        files,
        &judged,
        totals,
        config,
        config_path,
        live.as_ref(),
    ));
}

/// How many findings failed, warned, or were silenced by a disable comment.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    fail: usize,
    warn: usize,
    skip: usize,
}

impl Counts {
    fn count(&mut self, silenced: bool, status: Status) {
        if silenced {
            self.skip += 1;
        } else if status == Status::Fail {
            self.fail += 1;
        } else {
            self.warn += 1;
        }
    }

    fn plus(self, o: &Counts) -> Counts {
        Counts {
            fail: self.fail + o.fail,
            warn: self.warn + o.warn,
            skip: self.skip + o.skip,
        }
    }

    fn any(&self) -> bool {
        self.fail + self.warn + self.skip > 0
    }
}

/// The findings of every file as report checks, counted.
struct Judged {
    /// One check per finding the config leaves on, sorted by file, line, column and id.
    checks: Vec<Check>,
    /// The ids that found something the config leaves on.
    fired: BTreeSet<CheckId>,
    by_id: BTreeMap<CheckId, Counts>,
    /// Indexed like the files.
    by_file: Vec<Counts>,
}

/// Applies config levels and disable comments to every finding: one located check each.
fn judge_findings(files: &[FileState], config: &Config) -> Judged {
    let mut located: Vec<(&str, u64, u64, CheckId, Check)> = Vec::new();
    let mut fired = BTreeSet::new();
    let mut by_id: BTreeMap<CheckId, Counts> = BTreeMap::new();
    let mut by_file = Vec::with_capacity(files.len());
    for f in files {
        for d in &f.disables {
            for u in &d.unknown {
                tracing::warn!(
                    "{}:{}: disable comment names no check: {u:?}",
                    f.label,
                    d.line
                );
            }
        }
        let mut counts = Counts::default();
        for finding in &f.findings {
            let Some(status) = config.level(finding.id, finding.status) else {
                continue;
            };
            fired.insert(finding.id);
            let (check, silenced) = finding_check(f, finding, status);
            counts.count(silenced, status);
            by_id.entry(finding.id).or_default().count(silenced, status);
            let (line, column) = finding.pos.map_or((0, 0), |p| (p.line, p.column));
            located.push((&f.label, line, column, finding.id, check));
        }
        by_file.push(counts);
    }
    located.sort_by(|a, b| (a.0, a.1, a.2, a.3).cmp(&(b.0, b.1, b.2, b.3)));
    Judged {
        checks: located.into_iter().map(|(.., c)| c).collect(),
        fired,
        by_id,
        by_file,
    }
}

/// The check of one finding at `status`, and whether a disable comment silenced it (then
/// it is a `skip` saying which comment).
fn finding_check(f: &FileState, finding: &Finding, status: Status) -> (Check, bool) {
    let location = match finding.pos {
        Some(p) => Location::at(f.label.clone(), p.line, p.column),
        None => Location::file(f.label.clone()),
    };
    let line = finding.pos.map_or(0, |p| p.line);
    let rule_lines = f
        .spans
        .iter()
        .find(|(_, start, end)| line >= *start && line <= *end)
        .copied();
    let check = Check::new(finding.id.as_str(), status)
        .with_message(finding.message.clone())
        .with_location(location);
    match suppress::covering(&f.disables, finding.id, rule_lines) {
        Some(d) => (
            check.with_status(Status::Skip).with_message(format!(
                "{} (disabled by the comment on line {})",
                finding.message, d.line
            )),
            true,
        ),
        None => (check, false),
    }
}

/// One check per id `check` runs that found nothing: `ok` over what was judged, or `skip`
/// when it was turned off, needs `--prometheus`, or could not run on every file.
fn per_id_checks(
    b: &mut ReportBuilder,
    judged: &Judged,
    files: &[FileState],
    config: &Config,
    live: bool,
) {
    let broken = files.iter().filter(|f| f.broken.is_some()).count();
    let unjudged: usize = files.iter().map(|f| f.unjudged.len()).sum();
    let judged_files = files.len() - broken;
    let not_judged = match (broken, unjudged) {
        (0, 0) => None,
        (0, n) => Some(format!(
            "not judged on {n} {} too large to judge",
            gatehouse::plural(n, "rule", "rules")
        )),
        (n, _) => Some(format!(
            "not judged on {n} {} that could not be read or parsed",
            gatehouse::plural(n, "file", "files")
        )),
    };
    let total_rules = rules_in(files);
    for id in CheckId::for_check() {
        let counts = judged.by_id.get(&id);
        if judged.fired.contains(&id) && counts.is_some_and(|c| c.fail + c.warn > 0) {
            continue;
        }
        if !config.enabled(id) {
            b.check(Check::skip(id.as_str(), "turned off in the config"));
            continue;
        }
        if id.is_live() && !live {
            b.check(Check::skip(id.as_str(), "needs --prometheus"));
            continue;
        }
        if counts.is_some() {
            // Everything it found was silenced by comments; the skips already say so.
            continue;
        }
        let judged = format!(
            "{} {} in {} {}",
            total_rules,
            gatehouse::plural(total_rules, "rule", "rules"),
            judged_files,
            gatehouse::plural(judged_files, "file", "files")
        );
        // Passing only what was judged: with an unreadable file or an unjudged rule the
        // check did not run everywhere, so it is a skip, not an ok.
        b.check(match &not_judged {
            None => Check::ok(id.as_str()).with_message(judged),
            Some(why) => Check::skip(id.as_str(), format!("{why}; found nothing in {judged}")),
        });
    }
}

fn rules_in(files: &[FileState]) -> usize {
    files.iter().map(|f| f.alerts + f.records).sum()
}

/// "8 rules (6 alerting, 2 recording) in 3 files: 2 failed, 0 warned in 1 file".
fn summary_line(files: &[FileState], totals: Counts, problem_files: usize) -> String {
    let total_rules = rules_in(files);
    let alerts: usize = files.iter().map(|f| f.alerts).sum();
    let records: usize = files.iter().map(|f| f.records).sum();
    let mut summary = format!(
        "{} {} ({} alerting, {} recording) in {} {}",
        total_rules,
        gatehouse::plural(total_rules, "rule", "rules"),
        alerts,
        records,
        files.len(),
        gatehouse::plural(files.len(), "file", "files"),
    );
    let Counts { fail, warn, skip } = totals;
    if fail + warn == 0 {
        summary.push_str(": no problems");
    } else {
        summary.push_str(&format!(
            ": {fail} failed, {warn} warned in {problem_files} {}",
            gatehouse::plural(problem_files, "file", "files")
        ));
    }
    if skip > 0 {
        summary.push_str(&format!(", {skip} silenced"));
    }
    summary
}

/// The tables for text and markdown: the files with findings, and the findings by check.
fn sections(b: &mut ReportBuilder, files: &[FileState], judged: &Judged) {
    let mut s = Section::new(
        "Files with findings",
        &["file", "rules", "failed", "warned", "silenced"],
    )
    .with_max_rows(50);
    for (f, c) in files.iter().zip(&judged.by_file).filter(|(_, c)| c.any()) {
        s.row(vec![
            f.label.clone(),
            (f.alerts + f.records).to_string(),
            c.fail.to_string(),
            c.warn.to_string(),
            c.skip.to_string(),
        ]);
    }
    b.section(s);
    let mut s = Section::new(
        "Findings by check",
        &["check", "failed", "warned", "how to fix"],
    );
    for (id, c) in &judged.by_id {
        if c.fail + c.warn > 0 {
            s.row(vec![
                id.as_str().to_owned(),
                c.fail.to_string(),
                c.warn.to_string(),
                id.fix_line(),
            ]);
        }
    }
    b.section(s);
}

/// `data`: per file and in total, the config and the server (schemas/alert-lint.schema.json).
fn data(
    files: &[FileState],
    judged: &Judged,
    totals: Counts,
    config: &Config,
    config_path: Option<&Path>,
    live: Option<&LiveInfo>,
) -> serde_json::Value {
    let per_file: Vec<serde_json::Value> = files
        .iter()
        .zip(&judged.by_file)
        .map(|(f, c)| {
            json!({
                "file": f.label,
                "kind": if f.kubernetes { "PrometheusRule" } else { "rules" },
                "groups": f.groups,
                "alerts": f.alerts,
                "records": f.records,
                "fail": c.fail,
                "warn": c.warn,
                "skip": c.skip,
            })
        })
        .collect();
    json!({
        "files": per_file,
        "totals": {
            "files": files.len(),
            "groups": files.iter().map(|f| f.groups).sum::<usize>(),
            "rules": rules_in(files),
            "alerts": files.iter().map(|f| f.alerts).sum::<usize>(),
            "records": files.iter().map(|f| f.records).sum::<usize>(),
            "fail": totals.fail,
            "warn": totals.warn,
            "skip": totals.skip,
        },
        "config": config_path.map(|p| p.display().to_string()),
        "prometheus": live.map(|l| json!({
            "url": gatehouse::redact::redact(&l.url),
            "scrape_interval": l.scrape_interval,
            "queries": l.queries,
        })),
        "scrape_interval": gatehouse::duration::format_duration(config.scrape_interval),
    })
}
