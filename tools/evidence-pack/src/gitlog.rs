//! `--git-range A..B`: the commit list (commits.json) and release notes grouped by
//! Conventional Commit type (release-notes.md), from `git log`.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    pub(crate) sha: String,
    pub(crate) author: String,
    pub(crate) date: String,
    pub(crate) subject: String,
    pub(crate) kind: String,
    pub(crate) scope: Option<String>,
    pub(crate) breaking: bool,
    pub(crate) description: String,
}

/// The sections, in the order release notes show them.
const SECTIONS: &[(&str, &str)] = &[
    ("feat", "Features"),
    ("fix", "Bug fixes"),
    ("perf", "Performance"),
    ("revert", "Reverts"),
    ("refactor", "Refactoring"),
    ("docs", "Documentation"),
    ("test", "Tests"),
    ("build", "Build and CI"),
    ("ci", "Build and CI"),
    ("chore", "Chores"),
    ("style", "Chores"),
];

/// Splits `type(scope)!: description`; anything else is type "other".
pub(crate) fn parse_subject(subject: &str, body: &str) -> (String, Option<String>, bool, String) {
    let breaking_footer = body
        .lines()
        .any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
    let other = || {
        (
            "other".to_owned(),
            None,
            breaking_footer,
            subject.trim().to_owned(),
        )
    };
    let Some((head, desc)) = subject.split_once(": ") else {
        return other();
    };
    let (head, bang) = match head.strip_suffix('!') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let (kind, scope) = match head.split_once('(') {
        Some((k, rest)) => match rest.strip_suffix(')') {
            Some(s) if !s.is_empty() => (k, Some(s.to_owned())),
            _ => return other(),
        },
        None => (head, None),
    };
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphabetic()) {
        return other();
    }
    (
        kind.to_ascii_lowercase(),
        scope,
        bang || breaking_footer,
        desc.trim().to_owned(),
    )
}

pub(crate) fn commits(repo: &Path, range: &str) -> Result<Vec<Commit>> {
    let _s = gatehouse::trace::step("git_log");
    if range.starts_with('-') || !range.contains("..") {
        return Err(Error::Usage(format!(
            "--git-range {range:?}: expected A..B (two revisions)"
        )));
    }
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "log",
            "--no-merges",
            "--format=%H%x1f%an%x1f%aI%x1f%s%x1f%b%x1e",
            "--end-of-options",
            range,
        ])
        .output()
        .map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Git(format!(
            "log {range} in {}: {}",
            repo.display(),
            err.lines().next().unwrap_or("failed")
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut commits = Vec::new();
    for rec in text.split('\u{1e}') {
        let rec = rec.trim_start_matches('\n');
        if rec.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = rec.splitn(5, '\u{1f}').collect();
        let [sha, author, date, subject, body] = f[..] else {
            continue;
        };
        let (kind, scope, breaking, description) = parse_subject(subject, body);
        commits.push(Commit {
            sha: sha.to_owned(),
            author: author.to_owned(),
            date: date.to_owned(),
            subject: subject.to_owned(),
            kind,
            scope,
            breaking,
            description,
        });
    }
    Ok(commits)
}

pub(crate) fn commits_json(range: &str, commits: &[Commit]) -> Value {
    json!({
        "range": range,
        "commits": commits.iter().map(|c| json!({
            "sha": c.sha, "author": c.author, "date": c.date, "subject": c.subject,
            "type": c.kind, "scope": c.scope, "breaking": c.breaking,
        })).collect::<Vec<_>>(),
    })
}

fn line(c: &Commit) -> String {
    let scope = c
        .scope
        .as_deref()
        .map(|s| format!("**{s}:** "))
        .unwrap_or_default();
    format!(
        "- {scope}{} ({})\n",
        c.description,
        c.sha.get(..7).unwrap_or(&c.sha)
    )
}

/// Markdown release notes: breaking changes first, then one section per type.
pub(crate) fn release_notes(release: &str, range: &str, commits: &[Commit]) -> String {
    let mut md = format!(
        "## {release}\n\nChanges in `{range}` ({} commits).\n",
        commits.len()
    );
    let breaking: Vec<&Commit> = commits.iter().filter(|c| c.breaking).collect();
    if !breaking.is_empty() {
        md.push_str("\n### ⚠ Breaking changes\n\n");
        for c in breaking {
            md.push_str(&line(c));
        }
    }
    let mut titles: Vec<&str> = Vec::new();
    for (_, title) in SECTIONS {
        if !titles.contains(title) {
            titles.push(title);
        }
    }
    titles.push("Other changes");
    for title in titles {
        let in_section: Vec<&Commit> = commits
            .iter()
            .filter(|c| {
                let t = SECTIONS
                    .iter()
                    .find(|(k, _)| *k == c.kind)
                    .map_or("Other changes", |(_, t)| *t);
                t == title
            })
            .collect();
        if in_section.is_empty() {
            continue;
        }
        md.push_str(&format!("\n### {title}\n\n"));
        for c in in_section {
            md.push_str(&line(c));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_subjects_never_panic(subject in "\\PC{0,80}", body in "\\PC{0,80}") {
            let (kind, _, _, _) = parse_subject(&subject, &body);
            prop_assert!(!kind.is_empty());
        }
    }

    #[test]
    fn conventional_subjects_are_split() {
        assert_eq!(
            parse_subject("feat(api)!: drop v1", ""),
            ("feat".into(), Some("api".into()), true, "drop v1".into())
        );
        assert_eq!(
            parse_subject("fix: null deref", "BREAKING CHANGE: x"),
            ("fix".into(), None, true, "null deref".into())
        );
        assert_eq!(parse_subject("Merge stuff", "").0, "other");
        assert_eq!(parse_subject("weird(: x", "").0, "other");
    }
}
