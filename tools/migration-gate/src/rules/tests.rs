//! Rule tests over small histories. Each hazard has a fixture directory
//! `tests/fixtures/hazards/<check id>/` with `bad.sql` (fires the check) and `good.sql` (its
//! safe rewrite, which does not); both run after `_base.sql`, the schema "earlier migrations"
//! created. `-- next migration` splits a fixture into consecutive migrations, and a
//! `-- test-options: enable=ID pg_version=N` line changes the options.

use std::path::{Path, PathBuf};

use super::*;
use crate::source::{Selection, Transaction};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hazards")
}

/// Lints `_base.sql` (history only) followed by `sql`, split on `-- next migration`.
pub(crate) fn lint_after_base(sql: &str) -> Vec<Finding> {
    let base = std::fs::read_to_string(fixtures().join("_base.sql")).expect("base fixture");
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("0001_base.up.sql"), base).expect("write");
    for (i, part) in sql.split("-- next migration\n").enumerate() {
        std::fs::write(dir.path().join(format!("{:04}_step.up.sql", i + 2)), part).expect("write");
    }
    let mut opts = Options {
        pg_version: 15,
        ..Options::default()
    };
    for line in sql
        .lines()
        .filter_map(|l| l.strip_prefix("-- test-options:"))
    {
        for word in line.split_whitespace() {
            match word.split_once('=') {
                Some(("enable", id)) => {
                    opts.enabled.insert(CheckId::from_id(id).expect("known id"));
                }
                Some(("pg_version", v)) => opts.pg_version = v.parse().expect("number"),
                _ => panic!("unknown test option {word}"),
            }
        }
    }
    let args = Selection {
        paths: vec![dir.path().to_path_buf()],
        vars: Vec::new(),
        transaction: Transaction::Auto,
        since: Some("2".to_owned()),
        require_down: false,
    };
    let migrations = crate::source::discover(&args).expect("discover");
    let mut l = Linter::new(opts);
    for (i, m) in migrations.iter().enumerate() {
        let o = l.migration(i, m);
        if let Some(up) = &o.up {
            assert!(up.syntax_error.is_none(), "{:?}", up.syntax_error);
        }
    }
    l.into_findings()
}

fn show(f: &[Finding]) -> String {
    f.iter()
        .map(|f| {
            format!(
                "  {} {} {}:{} {}",
                f.id.as_str(),
                f.status.as_str(),
                f.line,
                f.column,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks that are judged elsewhere (parse errors, --require-down, the phase policy, and
/// the history's file names: versions and layouts, in the CLI tests).
const NOT_FIXTURED: &[CheckId] = &[
    CheckId::SqlParse,
    CheckId::MigrationDown,
    CheckId::PhasePolicy,
    CheckId::MigrationVersionUnique,
    CheckId::MigrationLayoutMixed,
];

#[test]
fn every_hazard_fires_on_its_fixture_and_not_on_the_safe_rewrite() {
    let mut failures = Vec::new();
    for id in CheckId::ALL
        .iter()
        .filter(|c| c.is_lint_rule() && !NOT_FIXTURED.contains(c))
    {
        let dir = fixtures().join(id.as_str());
        let bad = std::fs::read_to_string(dir.join("bad.sql"))
            .unwrap_or_else(|_| panic!("{} has no fixture {}", id.as_str(), dir.display()));
        let good = std::fs::read_to_string(dir.join("good.sql")).expect("good.sql");
        let on_bad = lint_after_base(&bad);
        if !on_bad.iter().any(|f| f.id == *id) {
            failures.push(format!(
                "{}: bad.sql did not fire it:\n{}",
                id.as_str(),
                show(&on_bad)
            ));
        }
        let on_good = lint_after_base(&good);
        // A contract step stays visible as a warning once it is declared phase=contract.
        let contract = matches!(id, CheckId::ColumnDrop | CheckId::TableDrop);
        if on_good
            .iter()
            .any(|f| f.id == *id && !(contract && f.status == Status::Warn))
            || on_good.iter().any(|f| f.status == Status::Fail)
        {
            failures.push(format!(
                "{}: good.sql is not clean:\n{}",
                id.as_str(),
                show(&on_good)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn history_tells_new_tables_from_existing_ones() {
    // An index on a table created earlier in the same migration: harmless.
    let same = lint_after_base(
        "CREATE TABLE payments (id bigint PRIMARY KEY, account_id bigint NOT NULL);\nCREATE INDEX payments_account_idx ON payments (account_id);\n",
    );
    assert!(
        !same.iter().any(|f| f.id == CheckId::IndexCreateBlocking),
        "{}",
        show(&same)
    );
    // The same index one migration later: the table exists and may hold data.
    let later = lint_after_base(
        "CREATE TABLE payments (id bigint PRIMARY KEY, account_id bigint NOT NULL);\n-- next migration\nCREATE INDEX payments_account_idx ON payments (account_id);\n",
    );
    assert!(
        later.iter().any(|f| f.id == CheckId::IndexCreateBlocking),
        "{}",
        show(&later)
    );
}

#[test]
fn renamed_and_dropped_tables_are_followed() {
    let f = lint_after_base(
        "CREATE TABLE drafts (id bigint PRIMARY KEY, body text);\nALTER TABLE drafts RENAME TO notes;\nCREATE INDEX notes_body_idx ON notes (body);\nALTER TABLE notes ALTER COLUMN body TYPE varchar(10);\n",
    );
    assert!(
        !f.iter().any(|f| matches!(
            f.id,
            CheckId::IndexCreateBlocking | CheckId::ColumnTypeChange | CheckId::TableRename
        )),
        "{}",
        show(&f)
    );
}

#[test]
fn findings_point_at_the_statement_line_and_column() {
    let f = lint_after_base(
        "SET lock_timeout = '1s';\nSET statement_timeout = '1min';\n\n  CREATE INDEX accounts_email_idx ON accounts (email);\n",
    );
    let hit = f
        .iter()
        .find(|f| f.id == CheckId::IndexCreateBlocking)
        .expect("fires");
    assert_eq!((hit.line, hit.column), (4, 3));
    assert!(hit.file.ends_with("0002_step.up.sql"));
}

#[test]
fn pre_11_servers_rewrite_for_any_default_and_pre_12_refuse_add_value_in_a_transaction() {
    let f = lint_after_base(
        "-- test-options: pg_version=10\nSET lock_timeout = '1s';\nSET statement_timeout = '1min';\nALTER TABLE accounts ADD COLUMN active boolean DEFAULT true;\nALTER TYPE order_state ADD VALUE 'refunded' AFTER 'paid';\n",
    );
    assert!(
        f.iter().any(|f| f.id == CheckId::ColumnAddVolatileDefault),
        "{}",
        show(&f)
    );
    assert!(
        f.iter().any(|f| f.id == CheckId::EnumAddValueInTransaction),
        "{}",
        show(&f)
    );
}

#[test]
fn a_foreign_key_on_a_table_filled_from_existing_data_locks_the_referenced_table() {
    let filled = lint_after_base(
        "SET lock_timeout = '1s';\nSET statement_timeout = '1min';\nCREATE TABLE big_orders AS SELECT id, account_id FROM orders WHERE total > 100;\nALTER TABLE big_orders ADD CONSTRAINT big_orders_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);\n",
    );
    let hit = filled
        .iter()
        .find(|f| f.id == CheckId::ConstraintValidating)
        .expect("fires");
    assert!(
        hit.message.contains("existing table accounts"),
        "{}",
        hit.message
    );
    let empty = lint_after_base(
        "CREATE TABLE notes (id bigint PRIMARY KEY, account_id bigint);\nALTER TABLE notes ADD CONSTRAINT notes_account_fk FOREIGN KEY (account_id) REFERENCES accounts (id);\n",
    );
    assert!(
        !empty.iter().any(|f| f.id == CheckId::ConstraintValidating),
        "{}",
        show(&empty)
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any order of any fixture statements (split across migrations at random) lints
    /// without a panic: the catalog copes with drops before creates, renames of unknown
    /// tables, and so on.
    #[test]
    fn any_mix_of_fixture_statements_lints_without_panicking(
        picks in proptest::collection::vec((0usize..400, proptest::bool::ANY), 1..12)
    ) {
        let mut statements: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(fixtures()).expect("fixtures") {
            let dir = entry.expect("entry").path();
            for name in ["bad.sql", "good.sql"] {
                if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
                    statements.extend(text.split(";\n").map(|s| format!("{};\n", s.trim())).filter(|s| s.len() > 3));
                }
            }
        }
        statements.sort();
        let mut sql = String::new();
        for (i, split) in picks {
            sql.push_str(&statements[i % statements.len()]);
            if split {
                sql.push_str("-- next migration\n");
            }
        }
        // Only syntax is asserted inside; the property is "no panic".
        if crate::sql::parse(&sql.replace("-- next migration\n", "")).is_ok() {
            let _ = lint_after_base(&sql);
        }
    }
}
