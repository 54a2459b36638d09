//! Loads and lints rule files one by one, on worker threads with a known stack: each file is
//! read, parsed as YAML, loaded as rule groups (`rules`), scanned for disable comments
//! (`suppress`) and linted (`lint`); what is kept of it is its [`FileState`] and, with the
//! live checks on, its [`LiveFile`].

use std::path::Path;

use gatehouse::{Evidence, Source, Status};

use crate::checks::CheckId;
use crate::config::Config;
use crate::finding::{FileState, Finding};
use crate::lint;
use crate::live::{self, LiveFile};
use crate::promql;
use crate::rules::{self, Group, RuleKind};
use crate::suppress;
use crate::yamltree;

/// Loads and lints every source, file by file, on worker threads with a known stack
/// ([`promql::STACK_SIZE`]); each file's text, YAML tree and ASTs are dropped once it is
/// judged, so only its [`FileState`] stays (and, when `live`, its [`LiveFile`], indexed like
/// the files). The evidence of every file read goes to `b`.
pub(crate) fn lint_all(
    sources: &[Source],
    config: &Config,
    root: &Path,
    live: bool,
    b: &mut gatehouse::ReportBuilder,
) -> (Vec<FileState>, Vec<Option<LiveFile>>) {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8)
        .min(sources.len().max(1));
    // Interleave so the one huge file does not leave a thread idle.
    let mut slots: Vec<Option<Linted>> = Vec::new();
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
    let mut plans = Vec::with_capacity(slots.len());
    for (i, slot) in slots.into_iter().enumerate() {
        // A file whose thread could not run or panicked is reported, not dropped.
        let linted = slot.unwrap_or_else(|| {
            let mut state = FileState::new(sources[i].label());
            state.broken = Some(format!("{}: internal error while linting", state.label));
            Linted {
                state,
                evidence: None,
                live: None,
            }
        });
        if let Some(ev) = linted.evidence {
            b.evidence(ev);
        }
        files.push(linted.state);
        plans.push(linted.live);
    }
    (files, plans)
}

/// One file, judged: what is kept of it, the evidence that it was read, and with the live
/// checks on what they query.
struct Linted {
    state: FileState,
    evidence: Option<Evidence>,
    live: Option<LiveFile>,
}

/// A file that could not be read or parsed as YAML: broken, with one `syntax.yaml` finding.
fn unreadable(
    mut state: FileState,
    e: &gatehouse::InputError,
    evidence: Option<Evidence>,
) -> Linted {
    state.broken = Some(e.to_string());
    state.findings.push(yaml_finding(e));
    Linted {
        state,
        evidence,
        live: None,
    }
}

fn lint_source(source: &Source, config: &Config, root: &Path, live: bool) -> Linted {
    let label = source.label();
    let mut state = FileState::new(label.clone());
    let input = match gatehouse::input::read(source) {
        Ok(i) => i,
        Err(e) => return unreadable(state, &e, None),
    };
    let evidence = Evidence::of_bytes(label.clone(), &input.bytes);
    let text = match input.text() {
        Ok(t) => t,
        Err(e) => return unreadable(state, &e, Some(evidence)),
    };
    let docs = match yamltree::parse_documents(&label, text) {
        Ok(d) => d,
        Err(e) => return unreadable(state, &e, Some(evidence)),
    };
    if docs.is_empty() && !has_content(text) {
        let e = gatehouse::InputError::Parse {
            path: label,
            line: 1,
            column: 1,
            message: "empty file: no YAML document (write `groups: []` for a deliberately empty rule file)".into(),
        };
        return unreadable(state, &e, Some(evidence));
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
    let live = live.then(|| LiveFile {
        rules: live::plan(&loaded.groups, parsed),
        text: text.to_owned(),
    });
    Linted {
        state,
        evidence: Some(evidence),
        live,
    }
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
