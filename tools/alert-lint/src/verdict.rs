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
use crate::finding::{FileState, LiveInfo};
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
    let mut located: Vec<(String, u64, u64, CheckId, Check)> = Vec::new();
    let mut fired: BTreeSet<CheckId> = BTreeSet::new();
    let mut per_file: Vec<serde_json::Value> = Vec::new();
    let mut by_id: BTreeMap<CheckId, (usize, usize, usize)> = BTreeMap::new();
    let (mut alerts, mut records, mut groups) = (0usize, 0usize, 0usize);
    let mut file_rows: Vec<Vec<String>> = Vec::new();
    for f in files {
        let spans = &f.spans;
        let (mut fail, mut warn, mut skip) = (0usize, 0usize, 0usize);
        for d in &f.disables {
            for u in &d.unknown {
                tracing::warn!(
                    "{}:{}: disable comment names no check: {u:?}",
                    f.label,
                    d.line
                );
            }
        }
        for finding in &f.findings {
            let Some(status) = config.level(finding.id, finding.status) else {
                continue;
            };
            fired.insert(finding.id);
            let line = finding.pos.map_or(0, |p| p.line);
            let column = finding.pos.map_or(0, |p| p.column);
            let location = match finding.pos {
                Some(p) => Location::at(f.label.clone(), p.line, p.column),
                None => Location::file(f.label.clone()),
            };
            let rule_lines = spans
                .iter()
                .find(|(_, start, end)| line >= *start && line <= *end)
                .copied();
            let mut check = Check::new(finding.id.as_str(), status)
                .with_message(finding.message.clone())
                .with_location(location);
            let entry = by_id.entry(finding.id).or_default();
            if let Some(d) = suppress::covering(&f.disables, finding.id, rule_lines) {
                check = check.with_status(Status::Skip).with_message(format!(
                    "{} (disabled by the comment on line {})",
                    finding.message, d.line
                ));
                skip += 1;
                entry.2 += 1;
            } else if status == Status::Fail {
                fail += 1;
                entry.0 += 1;
            } else {
                warn += 1;
                entry.1 += 1;
            }
            located.push((f.label.clone(), line, column, finding.id, check));
        }
        let rule_count = f.alerts + f.records;
        alerts += f.alerts;
        records += f.records;
        groups += f.groups;
        per_file.push(json!({
            "file": f.label,
            "kind": if f.kubernetes { "PrometheusRule" } else { "rules" },
            "groups": f.groups,
            "alerts": f.alerts,
            "records": f.records,
            "fail": fail,
            "warn": warn,
            "skip": skip,
        }));
        if fail + warn + skip > 0 {
            file_rows.push(vec![
                f.label.clone(),
                rule_count.to_string(),
                fail.to_string(),
                warn.to_string(),
                skip.to_string(),
            ]);
        }
    }
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
    located.sort_by(|a, b| (&a.0, a.1, a.2, a.3).cmp(&(&b.0, b.1, b.2, b.3)));
    let total_rules = alerts + records;
    for (.., c) in located {
        b.check(c);
    }
    for id in CheckId::for_check() {
        if fired.contains(&id) && by_id.get(&id).is_some_and(|(f, w, _)| f + w > 0) {
            continue;
        }
        if !config.enabled(id) {
            b.check(Check::skip(id.as_str(), "turned off in the config"));
            continue;
        }
        if id.is_live() && live.is_none() {
            b.check(Check::skip(id.as_str(), "needs --prometheus"));
            continue;
        }
        if by_id.contains_key(&id) {
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

    let (fail, warn, skip) = by_id
        .values()
        .fold((0, 0, 0), |acc, v| (acc.0 + v.0, acc.1 + v.1, acc.2 + v.2));
    let problem_files = file_rows.len();
    let mut summary = format!(
        "{} {} ({} alerting, {} recording) in {} {}",
        total_rules,
        gatehouse::plural(total_rules, "rule", "rules"),
        alerts,
        records,
        files.len(),
        gatehouse::plural(files.len(), "file", "files"),
    );
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
    b.summary(summary);

    if !file_rows.is_empty() {
        let mut s = Section::new(
            "Files with findings",
            &["file", "rules", "failed", "warned", "silenced"],
        )
        .with_max_rows(50);
        for r in file_rows {
            s.row(r);
        }
        b.section(s);
        let mut s = Section::new(
            "Findings by check",
            &["check", "failed", "warned", "how to fix"],
        );
        for (id, (f, w, _)) in &by_id {
            if f + w > 0 {
                s.row(vec![
                    id.as_str().to_owned(),
                    f.to_string(),
                    w.to_string(),
                    id.fix_line(),
                ]);
            }
        }
        b.section(s);
    }

    b.data(json!({
        "files": per_file,
        "totals": {
            "files": files.len(),
            "groups": groups,
            "rules": total_rules,
            "alerts": alerts,
            "records": records,
            "fail": fail,
            "warn": warn,
            "skip": skip,
        },
        "config": config_path.map(|p| p.display().to_string()),
        "prometheus": live.as_ref().map(|l| json!({
            "url": gatehouse::redact::redact(&l.url),
            "scrape_interval": l.scrape_interval,
            "queries": l.queries,
        })),
        "scrape_interval": gatehouse::duration::format_duration(config.scrape_interval),
    }));
}
