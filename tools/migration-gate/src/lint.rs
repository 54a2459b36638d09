//! The `lint` command: reads the history, runs the rules, applies the phase policy, and
//! turns findings into the report (checks with file:line:col, per-migration data, evidence).

use std::collections::{BTreeMap, HashSet};

use gatehouse::{Check, Evidence, Location, Report, ReportBuilder, Status};
use serde_json::json;

use crate::AGENT;
use crate::checks::CheckId;
use crate::cli::LintArgs;
use crate::error::{Error, Result};
use crate::parse_ahead::parse_ahead;
use crate::rules::{Finding, Linter, MigrationOutcome, Options};
use crate::source::{self, Layout, Migration, Phase, SqlFile, VersionKey};

pub async fn run(args: &LintArgs) -> Report {
    let mut b = Report::start(AGENT, "lint");
    if let Err(e) = lint(args, &mut b).await {
        b.failure(&e);
    }
    b.finish()
}

/// Parses `--disable/--enable/--warn` ids.
pub fn id_set(flag: &'static str, ids: &[String]) -> Result<HashSet<CheckId>> {
    ids.iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
        .map(|s| {
            CheckId::from_id(s.trim()).ok_or_else(|| Error::Usage {
                flag,
                message: format!("unknown check id {s:?} (see docs/migration-gate.md)"),
            })
        })
        .collect()
}

/// The result of linting a history, shared with `dry-run`.
pub struct Linted {
    pub migrations: Vec<Migration>,
    pub outcomes: Vec<MigrationOutcome>,
    pub findings: Vec<Finding>,
    /// Checks that ran (for the ok rows).
    pub active: Vec<CheckId>,
}

/// Lints the history: the rules walk the migrations in order while `parse_ahead` parses
/// the files ahead of them on every core.
pub fn lint_history(migrations: Vec<Migration>, opts: Options) -> Linted {
    let _s = gatehouse::trace::step("lint");
    let texts: Vec<&str> = migrations
        .iter()
        .flat_map(|m| [&m.up, &m.down])
        .flatten()
        .map(|f| f.rendered.text.as_str())
        .collect();
    let mut linter = Linter::new(opts);
    for (id, i, message) in history_conflicts(&migrations) {
        linter.history_finding(id, &migrations[i].label(), message, i);
    }
    let outcomes: Vec<MigrationOutcome> = parse_ahead(&texts, |parsed| {
        let mut next_parsed = |file: &Option<SqlFile>| {
            file.as_ref()
                .map(|_| parsed.next().expect("one parse per file"))
        };
        let mut history = None;
        migrations
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if history.is_some_and(|h| h != m.history) {
                    linter.new_history();
                }
                history = Some(m.history);
                let up = next_parsed(&m.up);
                let down = next_parsed(&m.down);
                linter.parsed_migration(i, m, up.as_deref(), down.as_deref())
            })
            .collect()
    });
    let active = CheckId::ALL
        .iter()
        .copied()
        .filter(|c| c.is_lint_rule() && linter.is_active(*c))
        .collect();
    Linted {
        migrations,
        outcomes,
        findings: linter.into_findings(),
        active,
    }
}

/// How a layout is named in messages.
fn layout_name(l: Layout) -> &'static str {
    match l {
        Layout::Flyway => "Flyway (V1__x.sql)",
        Layout::UpDown => "up/down (0001_x.up.sql)",
        Layout::Directory => "directory (0001_x/up.sql)",
        Layout::Plain => "plain (0001_x.sql)",
    }
}

/// Versions two migrations of one history share, and histories that mix layouts:
/// (check, migration index to point at, message). Unversioned files (`schema.sql`) take part
/// in neither; a conflict only among `--since` history is not judged again.
fn history_conflicts(migrations: &[Migration]) -> Vec<(CheckId, usize, String)> {
    let mut histories: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, m) in migrations.iter().enumerate() {
        if !m.version.is_empty() {
            histories.entry(m.history).or_default().push(i);
        }
    }
    let mut out = Vec::new();
    for members in histories.values() {
        // `discover` orders a history by version, so equal versions are neighbours.
        let mut group: Vec<usize> = Vec::new();
        let mut flush = |group: &mut Vec<usize>| {
            if group.len() > 1 && group.iter().any(|&i| !migrations[i].history_only) {
                let names: Vec<String> = group.iter().map(|&i| migrations[i].label()).collect();
                out.push((
                    CheckId::MigrationVersionUnique,
                    group[1],
                    format!(
                        "version {} is shared by {} migrations: {}; a runner applies one and skips the others",
                        migrations[group[0]].version,
                        group.len(),
                        names.join(", ")
                    ),
                ));
            }
            group.clear();
        };
        for &i in members {
            if let Some(&last) = group.last()
                && VersionKey::new(&migrations[last].version)
                    != VersionKey::new(&migrations[i].version)
            {
                flush(&mut group);
            }
            group.push(i);
        }
        flush(&mut group);

        let first = migrations[members[0]].layout;
        let odd: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&i| migrations[i].layout != first)
            .collect();
        if let Some(&at) = odd.first()
            && members.iter().any(|&i| !migrations[i].history_only)
        {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for &i in members {
                *counts.entry(layout_name(migrations[i].layout)).or_default() += 1;
            }
            out.push((
                CheckId::MigrationLayoutMixed,
                at,
                format!(
                    "{} is a {} migration in a folder of {} migrations ({}): each runner applies only its own layout",
                    migrations[at].label(),
                    layout_name(migrations[at].layout),
                    layout_name(first),
                    counts
                        .iter()
                        .map(|(l, n)| format!("{n} {l}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    out
}

async fn lint(args: &LintArgs, b: &mut ReportBuilder) -> Result<()> {
    let opts = Options {
        pg_version: args.pg_version,
        assume_timeouts: args.assume_timeouts,
        disabled: id_set("--disable", &args.disable)?,
        enabled: id_set("--enable", &args.enable)?,
        warn: id_set("--warn", &args.warn)?,
        phase_policy: args.phase.phase_policy,
    };
    let migrations = source::discover(&args.migrations)?;
    let linted = lint_history(migrations, opts);
    let syntax = add_syntax_checks(&linted, b);
    let policy_checks = if args.phase.phase_policy {
        crate::phase::judge(&args.phase, &linted).await?
    } else {
        Vec::new()
    };
    add_findings(&linted, args.migrations.require_down, b);
    b.checks(policy_checks);
    add_evidence(&linted, b);
    b.data(data(&linted));
    b.summary(summary(&linted));
    if let Some(e) = syntax {
        return Err(e);
    }
    Ok(())
}

/// One `sql.parse` check per file PostgreSQL's parser rejects; the first becomes the error.
pub fn add_syntax_checks(linted: &Linted, b: &mut ReportBuilder) -> Option<Error> {
    let mut first = None;
    let mut count = 0usize;
    for o in &linted.outcomes {
        for f in [&o.up, &o.down].into_iter().flatten() {
            if let Some((line, column, message)) = &f.syntax_error {
                count += 1;
                b.check(
                    Check::fail(CheckId::SqlParse.as_str(), message.clone())
                        .with_location(Location::at(f.file.clone(), *line, *column)),
                );
                first.get_or_insert_with(|| (f.file.clone(), *line, *column, message.clone()));
            }
        }
    }
    let statements: usize = linted
        .outcomes
        .iter()
        .flat_map(|o| [&o.up, &o.down])
        .flatten()
        .map(|f| f.statements)
        .sum();
    if count == 0 {
        let files = linted
            .outcomes
            .iter()
            .flat_map(|o| [&o.up, &o.down])
            .flatten()
            .count();
        b.check(
            Check::ok(CheckId::SqlParse.as_str())
                .with_observed(statements as u64)
                .with_message(format!(
                    "{statements} statements in {files} {} parsed by PostgreSQL's parser",
                    gatehouse::plural(files, "file", "files")
                )),
        );
    }
    first.map(|(file, line, column, message)| Error::Syntax {
        file,
        line,
        column,
        message: if count > 1 {
            format!(
                "{message} (and {} more files PostgreSQL's parser rejects)",
                count - 1
            )
        } else {
            message
        },
    })
}

/// The findings, then one `ok` row per rule that found nothing: only when every file parsed
/// (a file that did not parse was not judged, so "ok" would overclaim).
pub fn add_findings(linted: &Linted, require_down: bool, b: &mut ReportBuilder) {
    let mut fired = HashSet::new();
    for f in &linted.findings {
        fired.insert(f.id);
        b.check(
            gatehouse::Check::new(f.id.as_str(), f.status)
                .with_message(f.message.clone())
                .with_location(Location::at(f.file.clone(), f.line, f.column)),
        );
    }
    let all_parsed = linted
        .outcomes
        .iter()
        .flat_map(|o| [&o.up, &o.down])
        .flatten()
        .all(|f| f.syntax_error.is_none());
    if !all_parsed {
        return;
    }
    for id in &linted.active {
        let judged_elsewhere = matches!(id, CheckId::SqlParse | CheckId::PhasePolicy)
            || (*id == CheckId::MigrationDown && !require_down);
        if !fired.contains(id) && !judged_elsewhere {
            let c = Check::ok(id.as_str());
            b.check(if *id == CheckId::MigrationDown {
                c.with_message("every up migration has a down migration")
            } else {
                c
            });
        }
    }
}

pub fn add_evidence(linted: &Linted, b: &mut ReportBuilder) {
    for m in &linted.migrations {
        for f in [&m.up, &m.down].into_iter().flatten() {
            b.evidence(Evidence {
                path: f.label.clone(),
                sha256: f.sha256.clone(),
                bytes: f.bytes,
            });
        }
    }
}

pub fn summary(linted: &Linted) -> String {
    let fails = linted
        .findings
        .iter()
        .filter(|f| f.status == Status::Fail)
        .count();
    let warns = linted
        .findings
        .iter()
        .filter(|f| f.status == Status::Warn)
        .count();
    let judged = linted.migrations.iter().filter(|m| !m.history_only).count();
    let statements: usize = linted
        .outcomes
        .iter()
        .filter_map(|o| o.up.as_ref())
        .map(|f| f.statements)
        .sum();
    format!(
        "{judged} {} ({statements} statements): {fails} {}, {warns} {}",
        gatehouse::plural(judged, "migration", "migrations"),
        gatehouse::plural(fails, "hazard", "hazards"),
        gatehouse::plural(warns, "warning", "warnings"),
    )
}

pub fn data(linted: &Linted) -> serde_json::Value {
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &linted.findings {
        *by_rule.entry(f.id.as_str()).or_default() += 1;
    }
    let mut per_migration: BTreeMap<usize, Vec<&Finding>> = BTreeMap::new();
    for f in &linted.findings {
        per_migration.entry(f.migration).or_default().push(f);
    }
    let migrations: Vec<serde_json::Value> = linted
        .migrations
        .iter()
        .zip(&linted.outcomes)
        .enumerate()
        .map(|(i, (m, o))| {
            let findings = per_migration.get(&i).map_or(0, Vec::len);
            json!({
                "name": m.name,
                "version": m.version,
                "layout": m.layout,
                "up": m.up.as_ref().map(|f| f.label.clone()),
                "down": m.down.as_ref().map(|f| f.label.clone()),
                "in_transaction": m.in_transaction,
                "judged": !m.history_only,
                "templated": m.up.as_ref().is_some_and(|f| f.rendered.is_templated()),
                "phase": o.phase,
                "phase_source": o.phase_source,
                "contract_objects": o.contract_objects,
                "statements": o.up.as_ref().map_or(0, |f| f.statements),
                "findings": findings,
            })
        })
        .collect();
    let contract = linted
        .outcomes
        .iter()
        .zip(&linted.migrations)
        .filter(|(o, m)| o.phase == Phase::Contract && !m.history_only)
        .count();
    json!({
        "migrations": migrations,
        "counts": {
            "migrations": linted.migrations.len(),
            "judged": linted.migrations.iter().filter(|m| !m.history_only).count(),
            "contract": contract,
            "fail": linted.findings.iter().filter(|f| f.status == Status::Fail).count(),
            "warn": linted.findings.iter().filter(|f| f.status == Status::Warn).count(),
        },
        "findings_by_check": by_rule,
    })
}
