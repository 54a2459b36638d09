//! The parts of a report built from a linted history: parse errors, findings, evidence,
//! the summary line and `data`.

use std::collections::{BTreeMap, HashSet};

use gatehouse::{Check, Evidence, Location, ReportBuilder, Status};
use serde_json::json;

use super::Finding;
use super::history::Linted;
use crate::checks::CheckId;
use crate::error::Error;
use crate::source::Phase;

/// One `sql.parse` check per file PostgreSQL's parser rejects; the first becomes the error.
pub(crate) fn add_syntax_checks(linted: &Linted, b: &mut ReportBuilder) -> Option<Error> {
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
pub(crate) fn add_findings(linted: &Linted, require_down: bool, b: &mut ReportBuilder) {
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

pub(crate) fn add_evidence(linted: &Linted, b: &mut ReportBuilder) {
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

pub(crate) fn summary(linted: &Linted) -> String {
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

pub(crate) fn data(linted: &Linted) -> serde_json::Value {
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

/// The findings about the history as a whole (shared versions, mixed layouts): they make
/// "what is pending" ambiguous, so `dry-run` reports them too.
pub(crate) fn add_history_findings(linted: &Linted, b: &mut ReportBuilder) {
    for f in linted.findings.iter().filter(|f| {
        matches!(
            f.id,
            CheckId::MigrationVersionUnique | CheckId::MigrationLayoutMixed
        )
    }) {
        b.check(
            Check::new(f.id.as_str(), f.status)
                .with_message(f.message.clone())
                .with_location(Location::at(f.file.clone(), f.line, f.column)),
        );
    }
}
