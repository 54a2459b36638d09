//! The state of one file while its statements are judged: transaction state, timeouts set
//! so far, NOT VALID constraints and enum values added in the open transaction, ignore
//! directives, and the hits collected. The rules in `statement.rs` and `alter.rs` read and
//! update it.

use std::collections::HashSet;

use gatehouse::Status;

use super::Options;
use crate::checks::CheckId;
use crate::source::{Phase, SqlFile};
use crate::sql::Statement;

pub struct Hit {
    pub id: CheckId,
    pub status: Option<Status>,
    pub offset: usize,
    pub message: String,
}

/// The state of one file as its statements run.
pub struct Ctx<'a> {
    pub(super) idx: usize,
    pub(super) file: &'a SqlFile,
    pub(super) judge: bool,
    pub(super) runner_tx: bool,
    pub(super) in_tx: bool,
    /// Where an explicit BEGIN opened the current transaction.
    pub(super) explicit_begin: Option<usize>,
    pub(super) one_query: bool,
    pub(super) n_statements: usize,
    pub(super) phase: Phase,
    pub(super) phase_source: &'static str,
    pub(super) pg_version: u32,
    pub(super) assume_timeouts: bool,
    pub(super) phase_policy: bool,
    pub(super) lock_timeout: bool,
    pub(super) statement_timeout: bool,
    pub(super) lock_reported: bool,
    pub(super) statement_reported: bool,
    pub(super) not_valid_in_tx: HashSet<String>,
    pub(super) enum_values_in_tx: Vec<String>,
    /// Existing tables a statement of the open transaction locked against writes, with the
    /// offset of that statement: held until COMMIT.
    pub(super) locked_in_tx: Vec<(String, usize)>,
    pub(super) ignore_file: HashSet<String>,
    /// Ignore directives before the current statement: (id, offset, used).
    pub(super) ignore_next: Vec<(String, usize, bool)>,
    pub(super) unused_ignores: Vec<(String, usize)>,
    pub(super) hits: Vec<Hit>,
    pub(super) long_idents: &'a [(usize, String)],
    pub contract_objects: Vec<String>,
    /// Offset and text of the statement being analysed.
    pub(super) at: usize,
    pub(super) text: String,
}

impl<'a> Ctx<'a> {
    #[expect(
        clippy::too_many_arguments,
        reason = "the file's facts, gathered once by the engine"
    )]
    pub fn new(
        idx: usize,
        file: &'a SqlFile,
        judge: bool,
        runner_tx: bool,
        one_query: bool,
        n_statements: usize,
        phase: Phase,
        phase_source: &'static str,
        opts: &Options,
        long_idents: &'a [(usize, String)],
    ) -> Self {
        Ctx {
            idx,
            file,
            judge,
            runner_tx,
            in_tx: runner_tx,
            explicit_begin: None,
            one_query,
            n_statements,
            phase,
            phase_source,
            pg_version: opts.pg_version,
            assume_timeouts: opts.assume_timeouts,
            phase_policy: opts.phase_policy,
            lock_timeout: false,
            statement_timeout: false,
            lock_reported: false,
            statement_reported: false,
            not_valid_in_tx: HashSet::new(),
            enum_values_in_tx: Vec::new(),
            locked_in_tx: Vec::new(),
            ignore_file: file.directives.ignore_file.iter().cloned().collect(),
            ignore_next: Vec::new(),
            unused_ignores: Vec::new(),
            hits: Vec::new(),
            long_idents,
            contract_objects: Vec::new(),
            at: 0,
            text: String::new(),
        }
    }

    pub fn begin_statement(&mut self, s: &Statement) {
        self.flush_ignores();
        let sql = &self.file.rendered.text;
        self.at = s.start;
        self.text = s.text(sql).to_owned();
        let leading = s.leading(sql);
        let mut offset = s.gap_start;
        for line in leading.split_inclusive('\n') {
            if let Some(pos) = line.find("migration-gate:") {
                for word in line[pos + "migration-gate:".len()..].split_whitespace() {
                    if let Some(ids) = word.strip_prefix("ignore=") {
                        for id in ids.split(',').filter(|i| !i.is_empty()) {
                            self.ignore_next.push((id.to_owned(), offset + pos, false));
                        }
                    }
                }
            }
            offset += line.len();
        }
    }

    pub(super) fn flush_ignores(&mut self) {
        for (id, offset, used) in self.ignore_next.drain(..) {
            if !used {
                self.unused_ignores.push((id, offset));
            }
        }
    }

    /// End of file: unclosed transactions and unused ignores.
    pub fn finish(&mut self) {
        self.flush_ignores();
        if let Some(begin) = self.explicit_begin.take() {
            self.hit_at(
                CheckId::TransactionUncommitted,
                None,
                begin,
                "BEGIN without a COMMIT before the end of the file".to_owned(),
            );
        }
        if self.judge {
            for (id, offset) in std::mem::take(&mut self.unused_ignores) {
                self.hits.push(Hit {
                    id: CheckId::IgnoreUnused,
                    status: None,
                    offset,
                    message: format!("ignore={id} suppressed nothing on the next statement"),
                });
            }
        }
    }

    pub fn take_hits(&mut self) -> Vec<Hit> {
        std::mem::take(&mut self.hits)
    }

    pub(super) fn hit(&mut self, id: CheckId, message: String) {
        self.hit_at(id, None, self.at, message);
    }

    pub(super) fn hit_status(&mut self, id: CheckId, status: Status, message: String) {
        self.hit_at(id, Some(status), self.at, message);
    }

    pub(super) fn hit_at(
        &mut self,
        id: CheckId,
        status: Option<Status>,
        offset: usize,
        message: String,
    ) {
        if !self.judge {
            return;
        }
        if self.ignore_file.contains(id.as_str()) {
            return;
        }
        if let Some(entry) = self
            .ignore_next
            .iter_mut()
            .find(|(i, _, _)| i == id.as_str())
        {
            entry.2 = true;
            return;
        }
        self.hits.push(Hit {
            id,
            status,
            offset,
            message,
        });
    }

    /// A lock that blocks writes (SHARE or stronger) on an existing table: needs timeouts.
    pub(super) fn blocking_lock(&mut self, table: &str, what: &str) {
        if self.in_tx && !self.locked_in_tx.iter().any(|(t, _)| t == table) {
            self.locked_in_tx.push((table.to_owned(), self.at));
        }
        if self.assume_timeouts {
            return;
        }
        if !self.lock_timeout && !self.lock_reported {
            self.lock_reported = true;
            self.hit(
                CheckId::TimeoutLock,
                format!("{what} locks existing table {table} with no SET lock_timeout before it in this migration"),
            );
        }
        if !self.statement_timeout && !self.statement_reported {
            self.statement_reported = true;
            self.hit(
                CheckId::TimeoutStatement,
                format!("{what} on existing table {table} with no SET statement_timeout before it in this migration"),
            );
        }
    }

    /// A drop or rename: a contract step, judged by the migration's phase.
    pub(super) fn contract_step(&mut self, id: CheckId, object: String, what: String) {
        self.contract_objects.push(object);
        match (self.phase, self.phase_source) {
            (Phase::Expand, "directive") => self.hit(
                id,
                format!("{what} in a migration marked phase=expand: drops and renames belong in a contract migration"),
            ),
            (Phase::Contract, "directive") | (Phase::Contract, _) if self.phase_policy => self
                .hit_status(
                    id,
                    Status::Warn,
                    format!("{what}: contract step, judged by phase.policy"),
                ),
            (Phase::Contract, "directive") => self.hit_status(
                id,
                Status::Warn,
                format!("{what}: contract step (phase=contract); ship it only after the expand phase has been live (--phase-policy enforces this)"),
            ),
            _ => self.hit(
                id,
                format!("{what} breaks the running release: a contract step; mark the migration `-- migration-gate: phase=contract` and ship it after the expand phase"),
            ),
        }
    }
}
