//! Rule tests over small histories: each hazard fires, and its safe rewrite does not.

use super::*;
use crate::cli::{MigrationArgs, TransactionMode};

pub(crate) fn lint_files(files: &[(&str, &str)], opts: Options) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("tmp");
    for (name, sql) in files {
        let p = dir.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, sql).expect("write");
    }
    let args = MigrationArgs {
        paths: vec![dir.path().to_path_buf()],
        template_var: Vec::new(),
        transaction: TransactionMode::Auto,
        since: None,
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
