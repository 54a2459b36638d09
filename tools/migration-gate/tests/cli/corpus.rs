//! The shared corpus (lemmy, crates.io, supabase/auth, squawk's example): a real PostgreSQL
//! proves which files are valid, lint must parse every one of those (and reject only what
//! PostgreSQL rejects), and squawk runs over the same files to list where the two disagree.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use testkit::Postgres;

use crate::{corpus, path_str, root, run};

/// (project directory under corpus/migrations, extra lint args).
const PROJECTS: &[(&str, &[&str])] = &[
    ("lemmy", &[]),
    ("crates.io", &[]),
    ("supabase-auth", &["--template-var", "Namespace=auth"]),
    ("squawk", &[]),
];

fn migrations_dir() -> PathBuf {
    corpus().join("migrations")
}

/// Every `.sql` file of a project, in apply order (paths sort like the tools apply them).
fn sql_files(project: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("corpus directory")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "sql") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&migrations_dir().join(project), &mut out);
    out
}

fn render(project: &str, text: &str) -> String {
    if project == "supabase-auth" {
        text.replace("{{ index .Options \"Namespace\" }}", "auth")
            .replace("{{index .Options \"Namespace\" }}", "auth")
    } else {
        text.to_owned()
    }
}

/// Lints one project; (file relative to corpus/migrations → findings (id, result)).
fn lint_project(
    project: &str,
    extra: &[&str],
) -> (crate::Run, BTreeMap<String, Vec<(String, String)>>) {
    let dir = migrations_dir().join(project);
    let mut args = vec!["lint"];
    args.extend_from_slice(extra);
    let dir_s = path_str(&dir).to_owned();
    args.push(&dir_s);
    let r = run(&args);
    let prefix = format!("{}/", path_str(&migrations_dir()));
    let mut by_file: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for c in r.json["checks"].as_array().expect("checks") {
        if let Some(file) = c["location"]["file"].as_str() {
            let rel = file.strip_prefix(&prefix).unwrap_or(file).to_owned();
            by_file.entry(rel).or_default().push((
                c["id"].as_str().unwrap_or("").to_owned(),
                c["result"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    (r, by_file)
}

fn rejected_by_lint(by_file: &BTreeMap<String, Vec<(String, String)>>) -> BTreeSet<String> {
    by_file
        .iter()
        .filter(|(_, f)| f.iter().any(|(id, res)| id == "sql.parse" && res == "fail"))
        .map(|(k, _)| k.clone())
        .collect()
}

fn rel(p: &Path) -> String {
    p.strip_prefix(migrations_dir())
        .expect("under corpus")
        .display()
        .to_string()
}

#[test]
fn postgresql_and_lint_agree_on_which_corpus_files_are_sql() {
    let pg = Postgres::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut total = 0usize;
    let mut report = Vec::new();
    for (project, extra) in PROJECTS {
        let (_, by_file) = lint_project(project, extra);
        let lint_rejects = rejected_by_lint(&by_file);
        let db = format!("parse_{}", project.replace(['.', '-'], "_"));
        pg.create_db(&db);
        let files = sql_files(project);
        total += files.len();
        // The server parses a whole simple-query string before executing any of it, so a
        // syntax error (42601) means PostgreSQL's grammar rejects the file; anything else
        // (missing tables in this empty database) means it parsed. Each file runs in a
        // transaction that is rolled back.
        let pg_rejects: BTreeSet<String> = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&pg.url(&db), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            let mut rejects = BTreeSet::new();
            for f in &files {
                let sql = render(project, &std::fs::read_to_string(f).expect("read"));
                client.batch_execute("BEGIN").await.expect("begin");
                if let Err(e) = client.batch_execute(&sql).await
                    && e.code() == Some(&tokio_postgres::error::SqlState::SYNTAX_ERROR)
                {
                    rejects.insert(rel(f));
                }
                let _ = client.batch_execute("ROLLBACK").await;
            }
            rejects
        });
        // Everything lint rejects, this PostgreSQL rejects too.
        let wrongly_rejected: Vec<&String> = lint_rejects.difference(&pg_rejects).collect();
        assert!(
            wrongly_rejected.is_empty(),
            "{project}: lint rejects files PostgreSQL parses: {wrongly_rejected:?}"
        );
        // The other way round only newer grammar may differ: lint parses with PostgreSQL 18's
        // grammar (libpg_query 18), the test server may be older (15 here): named NOT NULL
        // constraints (18), FROM subqueries without an alias (16). dry-run on the real
        // server catches those.
        let newer: Vec<&String> = pg_rejects.difference(&lint_rejects).collect();
        report.push(format!(
            "{project}: {} files; both reject {:?}; only this server's older grammar rejects {newer:?}",
            files.len(),
            lint_rejects
        ));
    }
    assert!(total > 1300, "the corpus shrank: {total} files");
    #[expect(
        clippy::print_stderr,
        reason = "the figures are the test's output for humans (nextest shows them with --no-capture)"
    )]
    {
        eprintln!("{}", report.join("\n"));
    }
}

#[test]
fn applying_the_corpus_migrations_in_order_proves_which_are_valid_and_lint_parses_them_all() {
    let pg = Postgres::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut summary = Vec::new();
    for (project, extra) in PROJECTS.iter().filter(|(p, _)| *p != "squawk") {
        let db = format!("apply_{}", project.replace(['.', '-'], "_"));
        pg.create_db(&db);
        if *project == "supabase-auth" {
            pg.psql(&db, "CREATE SCHEMA auth");
        }
        let ups: Vec<PathBuf> = sql_files(project)
            .into_iter()
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name == "up.sql" || name.ends_with(".up.sql")
            })
            .collect();
        let applied: Vec<String> = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&pg.url(&db), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            let mut ok = Vec::new();
            for f in &ups {
                let sql = render(project, &std::fs::read_to_string(f).expect("read"));
                let no_tx = f.parent().is_some_and(|d| {
                    std::fs::read_to_string(d.join("metadata.toml"))
                        .is_ok_and(|m| m.contains("run_in_transaction = false"))
                });
                let result = if no_tx {
                    client.batch_execute(&sql).await
                } else {
                    client.batch_execute("BEGIN").await.expect("begin");
                    let r = client.batch_execute(&sql).await;
                    let end = if r.is_ok() { "COMMIT" } else { "ROLLBACK" };
                    let _ = client.batch_execute(end).await;
                    r
                };
                if result.is_ok() {
                    ok.push(rel(f));
                }
            }
            ok
        });
        let (_, by_file) = lint_project(project, extra);
        let lint_rejects = rejected_by_lint(&by_file);
        let unparsed: Vec<&String> = applied
            .iter()
            .filter(|f| lint_rejects.contains(*f))
            .collect();
        assert!(
            unparsed.is_empty(),
            "{project}: PostgreSQL applied these but lint could not parse them: {unparsed:?}"
        );
        // Most of each history must apply, or the proof proves little.
        assert!(
            applied.len() * 10 >= ups.len() * 9,
            "{project}: only {} of {} applied",
            applied.len(),
            ups.len()
        );
        summary.push(format!(
            "{project}: {} of {} up migrations applied by PostgreSQL, all parsed by lint",
            applied.len(),
            ups.len()
        ));
    }
    #[expect(
        clippy::print_stderr,
        reason = "the figures are the test's output for humans (nextest shows them with --no-capture)"
    )]
    {
        eprintln!("{}", summary.join("\n"));
    }
}

/// squawk rule → the migration-gate checks that cover the same hazard.
const SQUAWK_MAP: &[(&str, &[&str])] = &[
    (
        "adding-field-with-default",
        &["column.add_volatile_default"],
    ),
    ("adding-foreign-key-constraint", &["constraint.validating"]),
    ("adding-not-nullable-field", &["column.set_not_null"]),
    ("adding-required-field", &["column.add_required"]),
    (
        "adding-serial-primary-key-field",
        &[
            "constraint.unique_without_index",
            "column.add_volatile_default",
        ],
    ),
    (
        "ban-alter-domain-with-add-constraint",
        &["domain.constraint"],
    ),
    ("ban-char-field", &["type.char"]),
    (
        "ban-concurrent-index-creation-in-transaction",
        &["index.concurrently_in_transaction"],
    ),
    ("ban-create-domain-with-constraint", &["domain.constraint"]),
    ("ban-drop-column", &["column.drop"]),
    ("ban-drop-database", &["database.drop"]),
    ("ban-drop-not-null", &["column.drop_not_null"]),
    ("ban-drop-table", &["table.drop"]),
    ("ban-duplicate-column-assignments", &["column.duplicate"]),
    ("ban-truncate-cascade", &["table.truncate_cascade"]),
    ("ban-uncommitted-transaction", &["transaction.uncommitted"]),
    ("changing-column-type", &["column.type_change"]),
    (
        "constraint-missing-not-valid",
        &[
            "constraint.validating",
            "constraint.validate_same_transaction",
        ],
    ),
    (
        "disallowed-unique-constraint",
        &["constraint.unique_without_index"],
    ),
    ("identifier-too-long", &["identifier.too_long"]),
    ("prefer-bigint-over-int", &["type.int_key"]),
    ("prefer-bigint-over-smallint", &["type.int_key"]),
    ("prefer-identity", &["type.serial"]),
    ("prefer-repack", &["table.rewrite_maintenance"]),
    ("prefer-robust-stmts", &["statement.idempotent"]),
    ("prefer-text-field", &["type.varchar"]),
    ("prefer-timestamp-tz", &["type.timestamp"]),
    ("renaming-column", &["column.rename"]),
    ("renaming-table", &["table.rename"]),
    (
        "require-concurrent-index-creation",
        &["index.create_blocking"],
    ),
    (
        "require-concurrent-index-deletion",
        &["index.drop_blocking"],
    ),
    (
        "require-concurrent-partition-detach",
        &["partition.detach_blocking"],
    ),
    ("require-concurrent-reindex", &["index.reindex_blocking"]),
    ("require-enum-value-ordering", &["enum.value_order"]),
    ("require-lock-timeout", &["timeout.lock"]),
    ("require-statement-timeout", &["timeout.statement"]),
    ("require-table-schema", &["schema.qualified"]),
    (
        "require-timeout-settings",
        &["timeout.lock", "timeout.statement"],
    ),
    ("syntax-error", &["sql.parse", "input.template"]),
    ("transaction-nesting", &["transaction.nesting"]),
    ("unused-ignore", &["ignore.unused"]),
];

fn squawk() -> PathBuf {
    let native = root().join(".tools/node/node_modules/@squawk-cli/linux-x64/bin/squawk");
    if native.is_file() {
        return native;
    }
    let shim = root().join(".tools/node/node_modules/.bin/squawk");
    assert!(
        shim.is_file(),
        "squawk not found under .tools; run scripts/setup.sh"
    );
    shim
}

#[test]
fn squawk_and_lint_disagreements_over_the_corpus_are_all_explained_in_the_docs() {
    // squawk, as a user runs it: every file, JSON reporter.
    let files: Vec<String> = PROJECTS
        .iter()
        .flat_map(|(p, _)| sql_files(p))
        .map(|p| rel(&p))
        .collect();
    let out = std::process::Command::new(squawk())
        .arg("--reporter")
        .arg("json")
        .args(&files)
        .current_dir(migrations_dir())
        .output()
        .expect("squawk runs");
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("squawk JSON");
    let mut theirs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in findings.as_array().expect("array") {
        let rule = f["rule_name"].as_str().unwrap_or("").to_owned();
        let file = f["file"].as_str().unwrap_or("").to_owned();
        theirs.entry(rule).or_default().insert(file);
    }
    let mut ours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (project, extra) in PROJECTS {
        let (_, by_file) = lint_project(project, extra);
        for (file, ids) in by_file {
            for (id, result) in ids {
                if result != "ok" {
                    ours.entry(id).or_default().insert(file.clone());
                }
            }
        }
    }
    let docs = std::fs::read_to_string(root().join("docs/migration-gate.md"))
        .expect("docs/migration-gate.md");
    let mut table = vec![
        "| squawk rule | migration-gate | files both | only squawk | only migration-gate |"
            .to_owned(),
        "|---|---|---:|---:|---:|".to_owned(),
    ];
    let mut unexplained = Vec::new();
    let mut details = Vec::new();
    let is_down = |f: &String| f.ends_with("down.sql");
    for (rule, ids) in SQUAWK_MAP {
        let sq = theirs.remove(*rule).unwrap_or_default();
        let mg: BTreeSet<String> = ids
            .iter()
            .flat_map(|id| ours.get(*id).cloned().unwrap_or_default())
            .collect();
        let both = sq.intersection(&mg).count();
        let only_sq_files: Vec<&String> = sq.difference(&mg).collect();
        let only_mg_files: Vec<&String> = mg.difference(&sq).collect();
        let only_sq = only_sq_files.len();
        let only_mg = only_mg_files.len();
        // Down files are parsed but not judged by lint (dry-run applies them): count apart.
        let only_sq_down = only_sq_files.iter().filter(|f| is_down(f)).count();
        table.push(format!(
            "| `{rule}` | {} | {both} | {only_sq} ({only_sq_down} down files) | {only_mg} |",
            ids.iter()
                .map(|i| format!("`{i}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if only_sq > only_sq_down || only_mg > 0 {
            details.push(format!(
                "{rule}:\n  only squawk (up files): {:?}\n  only migration-gate: {:?}",
                only_sq_files
                    .iter()
                    .filter(|f| !is_down(f))
                    .take(6)
                    .collect::<Vec<_>>(),
                only_mg_files.iter().take(6).collect::<Vec<_>>()
            ));
        }
        if !docs.contains(&format!("`{rule}`")) {
            unexplained.push(format!("{rule}: not in the comparison table"));
        }
        if (only_sq > 0 || only_mg > 0) && !docs.contains(&format!("disagree-{rule}")) {
            unexplained.push(format!("{rule}: {only_sq} files only squawk flags, {only_mg} only we flag, and no `disagree-{rule}` explanation"));
        }
    }
    let unknown: Vec<&String> = theirs.keys().collect();
    assert!(
        unknown.is_empty(),
        "squawk rules missing from SQUAWK_MAP: {unknown:?}"
    );
    let table = table.join("\n");
    let out_dir = root().join("target");
    let _ = std::fs::write(
        out_dir.join("migration-gate-vs-squawk.md"),
        format!("{table}\n\n{}\n", details.join("\n")),
    );
    #[expect(
        clippy::print_stderr,
        reason = "the figures are the test's output for humans (nextest shows them with --no-capture)"
    )]
    {
        eprintln!("{table}");
    }
    assert!(
        unexplained.is_empty(),
        "\n{}\n\n{table}",
        unexplained.join("\n")
    );
}
