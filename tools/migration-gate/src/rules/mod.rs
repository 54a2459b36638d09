//! The lint engine: walks the history migration by migration, statement by statement,
//! keeping the catalog, the transaction state and the timeouts set so far, and collects
//! findings (check id, status, file:line:col, message). The per-statement rules live in
//! `statement.rs` and `alter.rs`, the file's state in `context.rs`, default-expression
//! volatility in `expr.rs`.

mod alter;
mod context;
mod expr;
mod history;
pub(crate) mod report;
mod statement;

use std::collections::{BTreeSet, HashSet};

use gatehouse::Status;
use serde::Serialize;

use crate::catalog::Catalog;
use crate::checks::{CheckId, Severity};
use crate::source::{Layout, Migration, Phase, SqlFile};
use crate::sql::{ParseResult, Parsed};

pub(crate) use history::{Linted, lint_history};

/// What the user chose about the rules.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub pg_version: u32,
    pub assume_timeouts: bool,
    pub disabled: HashSet<CheckId>,
    pub enabled: HashSet<CheckId>,
    pub warn: HashSet<CheckId>,
    /// `--phase-policy`: drops and renames in contract migrations are judged by the policy.
    pub phase_policy: bool,
}

/// One hazard found.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: CheckId,
    pub status: Status,
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
    #[serde(skip)]
    pub migration: usize,
}

/// What the dry run needs to know about a statement.
#[derive(Debug, Clone)]
pub struct StatementFacts {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub sql: String,
    /// Tables that existed before this migration and that the statement locks.
    pub tables: Vec<String>,
    /// Does work that grows with the table (rewrite, index build, validation scan) while
    /// holding a lock that blocks writes.
    pub heavy: bool,
    /// BEGIN/COMMIT/ROLLBACK written in the file.
    pub transaction_control: bool,
}

/// The linted shape of one migration file.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    pub file: String,
    pub statements: usize,
    #[serde(skip)]
    pub facts: Vec<StatementFacts>,
    #[serde(skip)]
    pub syntax_error: Option<(u64, u64, String)>,
}

/// The linted shape of one migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationOutcome {
    pub phase: Phase,
    /// `directive` or `inferred`.
    pub phase_source: &'static str,
    /// `table.column` / `table` names a contract step drops or renames.
    pub contract_objects: Vec<String>,
    pub up: Option<FileOutcome>,
    pub down: Option<FileOutcome>,
}

pub struct Linter {
    opts: Options,
    catalog: Catalog,
    findings: Vec<Finding>,
}

impl Linter {
    pub fn new(opts: Options) -> Self {
        Linter {
            opts,
            catalog: Catalog::default(),
            findings: Vec::new(),
        }
    }

    /// Starts a new history: forgets every table the previous one created.
    pub fn new_history(&mut self) {
        self.catalog = Catalog::default();
    }

    pub fn into_findings(self) -> Vec<Finding> {
        self.findings
    }

    /// Whether a check is on at all.
    pub fn is_active(&self, id: CheckId) -> bool {
        if self.opts.disabled.contains(&id) {
            return false;
        }
        id.default_severity() != Severity::OptIn || self.opts.enabled.contains(&id)
    }

    /// A finding about the history as a whole (versions, layouts), placed at a file's start.
    pub fn history_finding(&mut self, id: CheckId, file: &str, message: String, migration: usize) {
        self.push(id, None, file, 1, 1, message, migration);
    }

    /// Lints migration `idx` of the history, updating the catalog with its up file. The down
    /// file is parsed (it must be valid SQL) but leaves the catalog alone.
    #[cfg(test)]
    pub fn migration(&mut self, idx: usize, m: &Migration) -> MigrationOutcome {
        let parse = |f: &SqlFile| crate::sql::parse_file(&f.rendered.text);
        let up = m.up.as_ref().map(parse);
        let down = m.down.as_ref().map(parse);
        self.parsed_migration(idx, m, up.as_ref(), down.as_ref())
    }

    /// `migration`, with its up and down files already parsed (`lint` parses them ahead, on
    /// every core).
    pub fn parsed_migration(
        &mut self,
        idx: usize,
        m: &Migration,
        up: Option<&ParseResult>,
        down: Option<&ParseResult>,
    ) -> MigrationOutcome {
        let judge = !m.history_only;
        let up_stmts = m.up.as_ref().zip(up);
        let (phase, phase_source) = match m.up.as_ref().and_then(|f| f.directives.phase) {
            Some(p) => (p, "directive"),
            None => {
                let contract = up_stmts
                    .as_ref()
                    .and_then(|(_, r)| r.as_ref().ok())
                    .is_some_and(|parsed| {
                        parsed
                            .statements
                            .iter()
                            .any(|s| statement::is_contract_step(&s.node, &self.catalog, idx))
                    });
                (
                    if contract {
                        Phase::Contract
                    } else {
                        Phase::Expand
                    },
                    "inferred",
                )
            }
        };
        let mut contract_objects = BTreeSet::new();
        let up = up_stmts.map(|(file, parsed)| {
            self.file(
                idx,
                m,
                file,
                parsed,
                judge,
                phase,
                phase_source,
                true,
                &mut contract_objects,
            )
        });
        let down = m.down.as_ref().zip(down).map(|(file, parsed)| {
            // Down files are checked for syntax only: their hazards matter when rolling back,
            // which the dry run exercises for real.
            let mut scratch = BTreeSet::new();
            let mut shadow = Linter::new(self.opts.clone());
            shadow.file(
                idx,
                m,
                file,
                parsed,
                false,
                phase,
                phase_source,
                false,
                &mut scratch,
            )
        });
        MigrationOutcome {
            phase,
            phase_source,
            contract_objects: contract_objects.into_iter().collect(),
            up,
            down,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site per file kind; a struct would only rename them"
    )]
    fn file(
        &mut self,
        idx: usize,
        m: &Migration,
        file: &SqlFile,
        parsed: &ParseResult,
        judge: bool,
        phase: Phase,
        phase_source: &'static str,
        is_up: bool,
        contract_objects: &mut BTreeSet<String>,
    ) -> FileOutcome {
        let label = file.label.clone();
        let Parsed {
            statements: stmts,
            long_identifiers,
        } = match parsed {
            Ok(p) => p,
            Err(e) => {
                let (line, column) = file.rendered.line_col(e.offset);
                return FileOutcome {
                    file: label,
                    statements: 0,
                    facts: Vec::new(),
                    syntax_error: Some((line, column, e.message.clone())),
                };
            }
        };
        if judge && file.rendered.is_templated() && is_up {
            let p = file.rendered.placeholders.first().map_or(0, |p| p.offset);
            let (line, column) = gatehouse::input::line_col(file.rendered.original.as_bytes(), p);
            let unrendered = file.rendered.unrendered().count();
            if unrendered > 0 {
                self.push(
                    CheckId::InputTemplate,
                    None,
                    &label,
                    line,
                    column,
                    format!(
                        "{unrendered} Go template placeholder(s) such as {} linted as a same-width identifier; pass --template-var to render them",
                        file.rendered.placeholders.first().map_or("", |p| p.text.as_str())
                    ),
                    idx,
                );
            }
        }
        let mut ctx = context::Ctx::new(
            idx,
            file,
            judge && is_up,
            m.in_transaction,
            matches!(m.layout, Layout::Directory | Layout::UpDown | Layout::Plain),
            stmts.len(),
            phase,
            phase_source,
            &self.opts,
            long_identifiers,
        );
        let mut facts = Vec::with_capacity(stmts.len());
        for s in stmts {
            ctx.begin_statement(s);
            let f = statement::analyze(&mut ctx, &mut self.catalog, s, is_up);
            facts.push(f);
        }
        ctx.finish();
        contract_objects.extend(ctx.contract_objects.iter().cloned());
        for h in ctx.take_hits() {
            let (line, column) = file.rendered.line_col(h.offset);
            self.push(h.id, h.status, &label, line, column, h.message, idx);
        }
        FileOutcome {
            file: label,
            statements: stmts.len(),
            facts,
            syntax_error: None,
        }
    }

    #[expect(clippy::too_many_arguments, reason = "a finding is these seven facts")]
    fn push(
        &mut self,
        id: CheckId,
        status: Option<Status>,
        file: &str,
        line: u64,
        column: u64,
        message: String,
        migration: usize,
    ) {
        if !self.is_active(id) {
            return;
        }
        let mut status = status.unwrap_or(match id.default_severity() {
            Severity::Warn => Status::Warn,
            Severity::Fail | Severity::OptIn => Status::Fail,
        });
        if self.opts.warn.contains(&id) && status == Status::Fail {
            status = Status::Warn;
        }
        self.findings.push(Finding {
            id,
            status,
            file: file.to_owned(),
            line,
            column,
            message,
            migration,
        });
    }
}

#[cfg(test)]
mod tests;
