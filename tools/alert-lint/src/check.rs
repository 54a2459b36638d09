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
use crate::lint;
use crate::live::LiveRule;
use crate::promql;
use crate::rules::{self, Group, RuleKind};
use crate::suppress::{self, Disable};
use crate::yamltree;

/// What is kept of one input file once it is judged: its findings and the few figures the
/// report needs. The text, the YAML tree and the PromQL ASTs are dropped as soon as the file
/// is linted, so memory follows the largest file, not the sum of all (the live checks keep
/// the text and the selectors they query, nothing more).
pub(crate) struct FileState {
    pub label: String,
    pub findings: Vec<Finding>,
    pub disables: Vec<Disable>,
    /// Line spans of the rules, for disable comments ([`rule_spans`]).
    pub spans: Vec<(u64, u64, u64)>,
    pub groups: usize,
    pub alerts: usize,
    pub records: usize,
    pub kubernetes: bool,
    /// Set when the file could not be read or parsed as YAML.
    pub broken: Option<String>,
    /// `file:line:col: what` of each rule alert-lint refused to judge (PromQL over the
    /// limits in `promql`).
    pub unjudged: Vec<String>,
    /// With `--prometheus`: the file's text and what the live checks query.
    pub live: Option<LiveFile>,
}

/// What the live checks need of one file.
pub(crate) struct LiveFile {
    pub text: String,
    pub rules: Vec<LiveRule>,
}

impl FileState {
    fn new(label: String) -> Self {
        FileState {
            label,
            findings: Vec::new(),
            disables: Vec::new(),
            spans: Vec::new(),
            groups: 0,
            alerts: 0,
            records: 0,
            kubernetes: false,
            broken: None,
            unjudged: Vec::new(),
            live: None,
        }
    }
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
        lint_all(&sources, &config, &root, args.prometheus.is_some(), &mut b)
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
    assemble(&mut b, &files, &config, args, live);
    b.finish()
}

/// Expands paths into sources: directories are walked (sorted) for `*.yml`/`*.yaml`, each
/// directory and each file once however many links lead to it; a path given by name is
/// read whatever it is (a FIFO is read like stdin). Finding no rule file at all is an error:
/// an empty input judges nothing.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<Source>, Error> {
    let mut out = Vec::new();
    let mut seen = Seen::default();
    let mut empty_dirs = Vec::new();
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
            walk(p, &meta, &mut seen, &mut out)?;
            if out.len() == before {
                empty_dirs.push(p.display().to_string());
            }
        } else if seen.first_visit(&meta) {
            out.push(Source::Path(p.clone()));
        }
    }
    if !out.is_empty() {
        for d in &empty_dirs {
            tracing::warn!("{d}: no *.yml or *.yaml files inside");
        }
    } else if let Some(first) = empty_dirs.first() {
        let message = if empty_dirs.len() == 1 {
            "no rule files (*.yml or *.yaml) found in this directory; nothing to judge".to_owned()
        } else {
            format!(
                "no rule files (*.yml or *.yaml) found in it or the {} other directories given; nothing to judge",
                empty_dirs.len() - 1
            )
        };
        return Err(Error::Input(gatehouse::InputError::invalid(
            first.clone(),
            message,
        )));
    }
    Ok(out)
}

/// Directories and files already met, by device and inode, so a symlink loop (`sub/up ->
/// ..`) ends and a file reached by two paths is linted once.
#[derive(Default)]
struct Seen(std::collections::HashSet<(u64, u64)>);

impl Seen {
    fn first_visit(&mut self, meta: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt as _;
        self.0.insert((meta.dev(), meta.ino()))
    }
}

fn walk(
    dir: &Path,
    meta: &std::fs::Metadata,
    seen: &mut Seen,
    out: &mut Vec<Source>,
) -> Result<(), Error> {
    if !seen.first_visit(meta) {
        tracing::debug!(
            "skipping {}: already walked (a symlink loop?)",
            dir.display()
        );
        return Ok(());
    }
    for (p, name) in gatehouse::input::list_dir(dir).map_err(Error::Input)? {
        // list_dir keeps regular files, directories and dangling links only.
        let Ok(meta) = std::fs::metadata(&p) else {
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                out.push(Source::Path(p)); // reading it names the problem
            }
            continue;
        };
        if meta.is_dir() {
            walk(&p, &meta, seen, out)?;
        } else if !meta.is_file() {
            tracing::debug!("skipping {}: not a regular file", p.display());
        } else if (name.ends_with(".yml") || name.ends_with(".yaml")) && seen.first_visit(&meta) {
            out.push(Source::Path(p));
        }
    }
    Ok(())
}

/// Loads and lints every source, file by file, on worker threads with a known stack
/// ([`promql::STACK_SIZE`]); each file's text, YAML tree and ASTs are dropped once it is
/// judged, so only its [`FileState`] stays.
fn lint_all(
    sources: &[Source],
    config: &Config,
    root: &Path,
    live: bool,
    b: &mut gatehouse::ReportBuilder,
) -> Vec<FileState> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(sources.len().max(1));
    // Interleave so the one huge file does not leave a thread idle.
    let mut slots: Vec<Option<(FileState, Option<Evidence>)>> = Vec::new();
    slots.resize_with(sources.len(), || None);
    let share = |t: usize| {
        sources
            .iter()
            .enumerate()
            .skip(t)
            .step_by(threads)
            .map(|(i, s)| (i, lint_source(s, config, root, live)))
            .collect::<Vec<_>>()
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let h = std::thread::Builder::new()
                    .name(format!("lint-{t}"))
                    .stack_size(promql::STACK_SIZE)
                    .spawn_scoped(scope, move || share(t));
                (t, h)
            })
            .collect();
        for (t, h) in handles {
            let done = match h {
                Ok(h) => h
                    .join()
                    .map_err(|_| tracing::error!("a lint thread panicked")),
                // No thread to be had (a strict memory limit): this one, which `run` gave
                // the same stack, does the share.
                Err(e) => {
                    tracing::debug!("cannot start lint thread {t} ({e}); linting its files here");
                    Ok(share(t))
                }
            };
            for (i, r) in done.unwrap_or_default() {
                slots[i] = Some(r);
            }
        }
    });
    let mut files = Vec::with_capacity(slots.len());
    for (i, slot) in slots.into_iter().enumerate() {
        // A file whose thread could not run or panicked is reported, not dropped.
        let (f, ev) = slot.unwrap_or_else(|| {
            let mut f = FileState::new(sources[i].label());
            f.broken = Some(format!("{}: internal error while linting", f.label));
            (f, None)
        });
        if let Some(ev) = ev {
            b.evidence(ev);
        }
        files.push(f);
    }
    files
}

fn lint_source(
    source: &Source,
    config: &Config,
    root: &Path,
    live: bool,
) -> (FileState, Option<Evidence>) {
    let label = source.label();
    let mut state = FileState::new(label.clone());
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
        Ok(t) => t,
        Err(e) => {
            state.broken = Some(e.to_string());
            state.findings.push(yaml_finding(&e));
            return (state, Some(evidence));
        }
    };
    let docs = match yamltree::parse_documents(&label, text) {
        Ok(d) => d,
        Err(e) => {
            state.broken = Some(e.to_string());
            state.findings.push(yaml_finding(&e));
            return (state, Some(evidence));
        }
    };
    if docs.is_empty() && !has_content(text) {
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
    state.disables = suppress::scan(text);
    let cx = lint::Context { text, config, root };
    let parsed = lint::lint_groups(&cx, &loaded.groups, &mut state.findings);
    for f in &state.findings {
        if f.unjudged {
            let (line, column) = f.pos.map_or((1, 1), |p| (p.line, p.column));
            state
                .unjudged
                .push(format!("{label}:{line}:{column}: {}", f.message));
        }
    }
    state.spans = rule_spans(&loaded.groups);
    state.groups = loaded.groups.len();
    for r in loaded.groups.iter().flat_map(|g| &g.rules) {
        match r.kind {
            RuleKind::Alert => state.alerts += 1,
            RuleKind::Record => state.records += 1,
        }
    }
    if live {
        state.live = Some(LiveFile {
            rules: crate::live::plan(&loaded.groups, parsed),
            text: text.to_owned(),
        });
    }
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
        unjudged: false,
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
