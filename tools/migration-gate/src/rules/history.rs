//! Linting a history: the rules walk the migrations in order (`lint_history`), with the
//! findings about the history as a whole (shared versions, mixed layouts). `lint` and
//! `dry-run` both start here.

use std::collections::BTreeMap;

use super::{Finding, Linter, MigrationOutcome, Options};
use crate::checks::CheckId;
use crate::parse_ahead::parse_ahead;
use crate::source::{Layout, Migration, SqlFile, VersionKey};

/// The result of linting a history, shared with `dry-run`.
pub(crate) struct Linted {
    pub(crate) migrations: Vec<Migration>,
    pub(crate) outcomes: Vec<MigrationOutcome>,
    pub(crate) findings: Vec<Finding>,
    /// Checks that ran (for the ok rows).
    pub(crate) active: Vec<CheckId>,
}

/// Lints the history: the rules walk the migrations in order while `parse_ahead` parses
/// the files ahead of them on every core.
pub(crate) fn lint_history(migrations: Vec<Migration>, opts: Options) -> Linted {
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
