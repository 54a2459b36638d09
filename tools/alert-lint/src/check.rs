//! Owns `alert-lint check`: finds the rule files (files, directories recursed for
//! `*.yml`/`*.yaml`, `-` for stdin), loads and lints each, runs the live checks when asked,
//! applies config levels and disable comments, and shapes the report.
//!
//! Report shape (documented in docs/alert-lint.md): one check per finding (`fail`/`warn`,
//! located at file:line:column), one `skip` per finding silenced by a comment, then one
//! summary check per check id — `ok` when it ran and found nothing ("412 rules"), `skip`
//! when it was turned off or needs `--prometheus`. Findings are sorted by file and line, so
//! the text and markdown lists read file by file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use gatehouse::{Check, Evidence, Location, Report, Section, Source, Status};
use serde_json::json;

use crate::checks::CheckId;
use crate::cli::CheckArgs;
use crate::config::Config;
use crate::error::Error;
use crate::finding::Finding;
use crate::lint::{self, Parsed};
use crate::rules::{self, Group, RuleKind};
use crate::suppress::{self, Disable};
use crate::yamltree;

/// One input file after loading and linting.
pub(crate) struct FileState {
    pub label: String,
    pub text: String,
    pub groups: Vec<Group>,
    pub parsed: Vec<Vec<Option<Parsed>>>,
    pub findings: Vec<Finding>,
    pub disables: Vec<Disable>,
    pub kubernetes: bool,
    /// Set when the file could not be read or parsed as YAML.
    pub broken: Option<String>,
}

pub(crate) fn run(args: &CheckArgs) -> Report {
    let mut b = Report::start("alert-lint", "check");
    let config = match &args.config {
        Some(p) => match Config::load(p) {
            Ok(c) => c,
            Err(e) => {
                b.failure(&e);
                return b.finish();
            }
        },
        None => Config::default(),
    };
    let sources = match collect(&args.paths) {
        Ok(s) => s,
        Err(e) => {
            b.failure(&e);
            return b.finish();
        }
    };
    let root = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut files: Vec<FileState> = {
        let _s = gatehouse::trace::step("lint");
        lint_all(&sources, &config, &root, &mut b)
    };

    let live = match &args.prometheus {
        Some(url) => {
            let _s = gatehouse::trace::step("live");
            match crate::live::run(url, args, &config, &mut files) {
                Ok(info) => Some(info),
                Err(e) => {
                    b.failure(&e);
                    None
                }
            }
        }
        None => None,
    };

    let broken: Vec<&String> = files.iter().filter_map(|f| f.broken.as_ref()).collect();
    if let Some(first) = broken.first() {
        let more = if broken.len() > 1 {
            format!(" (and {} more unreadable files)", broken.len() - 1)
        } else {
            String::new()
        };
        b.error("input", format!("{first}{more}"));
    }
    assemble(&mut b, &files, &config, args, live);
    b.finish()
}

/// Expands paths into sources: directories are walked (sorted) for `*.yml`/`*.yaml`.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| {
            Error::Input(gatehouse::InputError::Read {
                path: p.display().to_string(),
                source: e,
            })
        })?;
        if meta.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                tracing::warn!("{}: no *.yml or *.yaml files inside", p.display());
            }
        } else {
            out.push(Source::Path(p.clone()));
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<Source>) -> Result<(), Error> {
    for (p, name) in gatehouse::input::list_dir(dir).map_err(Error::Input)? {
        if p.is_dir() {
            walk(&p, out)?;
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            out.push(Source::Path(p));
        }
    }
    Ok(())
}

/// Loads and lints every source; files are independent, so two threads share the work.
fn lint_all(
    sources: &[Source],
    config: &Config,
    root: &Path,
    b: &mut gatehouse::ReportBuilder,
) -> Vec<FileState> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    let results: Vec<(FileState, Option<Evidence>)> = if sources.len() < 4 || threads == 1 {
        sources
            .iter()
            .map(|s| lint_source(s, config, root))
            .collect()
    } else {
        // Interleave so the one huge file does not leave a thread idle.
        let mut slots: Vec<Option<(FileState, Option<Evidence>)>> = Vec::new();
        slots.resize_with(sources.len(), || None);
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        sources
                            .iter()
                            .enumerate()
                            .skip(t)
                            .step_by(threads)
                            .map(|(i, s)| (i, lint_source(s, config, root)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                if let Ok(v) = h.join() {
                    for (i, r) in v {
                        slots[i] = Some(r);
                    }
                }
            }
        });
        slots.into_iter().flatten().collect()
    };
    let mut files = Vec::with_capacity(results.len());
    for (f, ev) in results {
        if let Some(ev) = ev {
            b.evidence(ev);
        }
        files.push(f);
    }
    files
}

fn lint_source(source: &Source, config: &Config, root: &Path) -> (FileState, Option<Evidence>) {
    let label = source.label();
    let mut state = FileState {
        label: label.clone(),
        text: String::new(),
        groups: Vec::new(),
        parsed: Vec::new(),
        findings: Vec::new(),
        disables: Vec::new(),
        kubernetes: false,
        broken: None,
    };
    let input = match gatehouse::input::read(source) {
        Ok(i) => i,
        Err(e) => {
            state.broken = Some(e.to_string());
            state.findings.push(yaml_finding(&e));
            return (state, None);
        }
    };
    let evidence = Evidence::of_bytes(label.clone(), &input.bytes);
    let text = match input.text() {
        Ok(t) => t.to_owned(),
        Err(e) => {
            state.broken = Some(e.to_string());
            state.findings.push(yaml_finding(&e));
            return (state, Some(evidence));
        }
    };
    let docs = match yamltree::parse_documents(&label, &text) {
        Ok(d) => d,
        Err(e) => {
            state.broken = Some(e.to_string());
            state.findings.push(yaml_finding(&e));
            state.text = text;
            return (state, Some(evidence));
        }
    };
    if docs.is_empty() && !has_content(&text) {
        let e = gatehouse::InputError::Parse {
            path: label,
            line: 1,
            column: 1,
            message: "empty file: no YAML document (write `groups: []` for a deliberately empty rule file)".into(),
        };
        state.broken = Some(e.to_string());
        state.findings.push(yaml_finding(&e));
        return (state, Some(evidence));
    }
    let loaded = rules::load(&docs, config.name_validation);
    drop(docs);
    state.findings = loaded.findings;
    state.kubernetes = loaded.kubernetes;
    state.disables = suppress::scan(&text);
    let cx = lint::Context {
        text: &text,
        config,
        root,
    };
    state.parsed = lint::lint_groups(&cx, &loaded.groups, &mut state.findings);
    state.groups = loaded.groups;
    state.text = text;
    (state, Some(evidence))
}

/// Whether the text holds anything but blank lines, comments and document markers (a file
/// holding just `null` parses to no documents, yet promtool accepts it as "0 rules").
fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !(t.is_empty() || t.starts_with('#') || t == "---" || t == "...")
    })
}

fn yaml_finding(e: &gatehouse::InputError) -> Finding {
    let (pos, message) = match e {
        gatehouse::InputError::Parse {
            line,
            column,
            message,
            ..
        } => (
            Some(yamltree::Pos {
                line: *line,
                column: *column,
                offset: 0,
            }),
            message.clone(),
        ),
        other => (None, other.to_string()),
    };
    Finding {
        id: CheckId::SyntaxYaml,
        status: Status::Fail,
        pos,
        message,
        rule: None,
    }
}

/// What the live checks saw, for `data`.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveInfo {
    pub url: String,
    pub scrape_interval: Option<String>,
    pub queries: u64,
}

fn assemble(
    b: &mut gatehouse::ReportBuilder,
    files: &[FileState],
    config: &Config,
    args: &CheckArgs,
    live: Option<LiveInfo>,
) {
    let mut located: Vec<(String, u64, u64, CheckId, Check)> = Vec::new();
    let mut fired: BTreeSet<CheckId> = BTreeSet::new();
    let mut per_file: Vec<serde_json::Value> = Vec::new();
    let mut by_id: BTreeMap<CheckId, (usize, usize, usize)> = BTreeMap::new();
    let (mut alerts, mut records, mut groups) = (0usize, 0usize, 0usize);
    let mut file_rows: Vec<Vec<String>> = Vec::new();
    for f in files {
        let spans = rule_spans(&f.groups);
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
        let rule_count: usize = f.groups.iter().map(|g| g.rules.len()).sum();
        let file_alerts: usize = f
            .groups
            .iter()
            .flat_map(|g| &g.rules)
            .filter(|r| r.kind == RuleKind::Alert)
            .count();
        alerts += file_alerts;
        records += rule_count - file_alerts;
        groups += f.groups.len();
        per_file.push(json!({
            "file": f.label,
            "kind": if f.kubernetes { "PrometheusRule" } else { "rules" },
            "groups": f.groups.len(),
            "alerts": file_alerts,
            "records": rule_count - file_alerts,
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
        b.check(Check::ok(id.as_str()).with_message(format!(
            "{} {} in {} {}",
            total_rules,
            gatehouse::plural(total_rules, "rule", "rules"),
            files.len(),
            gatehouse::plural(files.len(), "file", "files")
        )));
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
                    id.fix().to_owned(),
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
        "config": args.config.as_ref().map(|p| p.display().to_string()),
        "prometheus": live.as_ref().map(|l| json!({
            "url": gatehouse::redact::redact(&l.url),
            "scrape_interval": l.scrape_interval,
            "queries": l.queries,
        })),
        "scrape_interval": gatehouse::duration::format_duration(config.scrape_interval),
    }));
}

/// (previous rule's last line, first line, last line) of every rule, in file order.
fn rule_spans(groups: &[Group]) -> Vec<(u64, u64, u64)> {
    let mut spans: Vec<(u64, u64)> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .map(|r| (r.pos.line, r.last_line))
        .collect();
    spans.sort_unstable();
    let mut out = Vec::with_capacity(spans.len());
    let mut prev_end = 0;
    for (start, end) in spans {
        // A disable comment above the rule belongs to it: extend the rule up to the line
        // after the previous rule.
        out.push((prev_end, prev_end + 1, end.max(start)));
        prev_end = end.max(start);
    }
    out
}
