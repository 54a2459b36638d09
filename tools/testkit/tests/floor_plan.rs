//! The floor plan of `docs/architecture.md`, checked over every tool's sources: the files a
//! tool has, where reports are started, who names the clap types, and that a check id is
//! spelled only in the checks table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    testkit::cli::root()
}

/// Every tool: a crate under tools/ with a binary (`src/main.rs`).
fn tools() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("tools"))
        .expect("tools/")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("src/main.rs").is_file())
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            (name.unwrap_or_default(), p)
        })
        .collect();
    out.sort();
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The file's code before its unit tests (`#[cfg(test)]` modules close a file by convention).
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The ids declared in a checks table: the `= "id"` literals of `checks!`.
fn declared_ids(checks_rs: &str) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for line in checks_rs.lines() {
        let line = line.trim();
        if line.starts_with("//") {
            continue;
        }
        if let Some((_, rest)) = line.split_once("= \"")
            && let Some((id, _)) = rest.split_once('"')
        {
            ids.insert(id.to_owned());
        }
    }
    ids
}

#[test]
fn every_tool_follows_the_floor_plan() {
    let tools = tools();
    assert!(tools.len() >= 4, "found only {tools:?}");
    let mut problems = Vec::new();
    for (name, dir) in &tools {
        let src = dir.join("src");
        for f in [
            "main.rs",
            "lib.rs",
            "cli.rs",
            "checks.rs",
            "error.rs",
            "commands/mod.rs",
        ] {
            if !src.join(f).is_file() {
                problems.push(format!("{name}: no src/{f}"));
            }
        }
        if !root().join(format!("docs/{name}.md")).is_file() {
            problems.push(format!("{name}: no docs/{name}.md"));
        }
        let main = std::fs::read_to_string(src.join("main.rs")).unwrap_or_default();
        let lines = main.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > 15 {
            problems.push(format!(
                "{name}: src/main.rs has {lines} lines; it only parses, runs and emits"
            ));
        }
        let checks = std::fs::read_to_string(src.join("checks.rs")).unwrap_or_default();
        if !checks.contains("gatehouse::checks!") {
            problems.push(format!(
                "{name}: src/checks.rs does not declare its ids with gatehouse::checks!"
            ));
        }
        let ids = declared_ids(&checks);
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        files.sort();
        for f in files {
            let rel = f
                .strip_prefix(&src)
                .unwrap_or(&f)
                .to_string_lossy()
                .into_owned();
            if rel == "tests.rs" || rel.ends_with("/tests.rs") {
                continue; // a unit-test module in a file of its own
            }
            let in_commands = rel.starts_with("commands/");
            let code = code_of(&f);
            if !in_commands && (code.contains("Report::start(") || code.contains("Report::judge("))
            {
                problems.push(format!(
                    "{name}: src/{rel} starts a report; only src/commands/ does (docs/architecture.md)"
                ));
            }
            let may_name_clap =
                in_commands || matches!(rel.as_str(), "main.rs" | "lib.rs" | "cli.rs");
            if !may_name_clap && code.contains("crate::cli") {
                problems.push(format!(
                    "{name}: src/{rel} names the clap types (crate::cli); engines take checked options"
                ));
            }
            if rel != "checks.rs" {
                for id in &ids {
                    if code.contains(&format!("\"{id}\"")) {
                        problems.push(format!(
                            "{name}: src/{rel} spells the check id \"{id}\"; use CheckId"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "floor plan broken:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn declared_ids_are_read_from_the_macro_lines() {
    let table = "gatehouse::checks! {\n    /// Doc = \"not an id\".\n    SqlParse = \"sql.parse\", Fail;\n    Other = \"x.y\";\n}\n";
    assert_eq!(
        declared_ids(table).into_iter().collect::<Vec<_>>(),
        ["sql.parse", "x.y"]
    );
}
