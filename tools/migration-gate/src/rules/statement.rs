//! The per-statement rules: what each DDL statement locks, whether that lock lands on a
//! table that already has data, and what it does while holding it; plus the transaction,
//! timeout and ignore-directive bookkeeping of one file.

use std::collections::HashSet;

use gatehouse::Status;
use pg_query::NodeEnum;
use pg_query::protobuf::{
    AlterTableCmd, AlterTableType, ColumnDef, ConstrType, Constraint, DropBehavior, Node,
    ObjectType, TransactionStmtKind, VariableSetKind,
};

use super::expr::{Volatility, volatility};
use super::{Options, StatementFacts};
use crate::catalog::{
    Catalog, CheckConstraint, ColType, names_of, node_str, not_null_check_column, range_var_name,
};
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
    idx: usize,
    file: &'a SqlFile,
    judge: bool,
    runner_tx: bool,
    in_tx: bool,
    /// Where an explicit BEGIN opened the current transaction.
    explicit_begin: Option<usize>,
    one_query: bool,
    n_statements: usize,
    phase: Phase,
    phase_source: &'static str,
    pg_version: u32,
    assume_timeouts: bool,
    phase_policy: bool,
    lock_timeout: bool,
    statement_timeout: bool,
    lock_reported: bool,
    statement_reported: bool,
    not_valid_in_tx: HashSet<String>,
    enum_values_in_tx: Vec<String>,
    ignore_file: HashSet<String>,
    /// Ignore directives before the current statement: (id, offset, used).
    ignore_next: Vec<(String, usize, bool)>,
    unused_ignores: Vec<(String, usize)>,
    hits: Vec<Hit>,
    long_idents: Vec<(usize, String)>,
    pub contract_objects: Vec<String>,
    /// Offset and text of the statement being analysed.
    at: usize,
    text: String,
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
            ignore_file: file.directives.ignore_file.iter().cloned().collect(),
            ignore_next: Vec::new(),
            unused_ignores: Vec::new(),
            hits: Vec::new(),
            long_idents: crate::sql::long_identifiers(&file.rendered.text),
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

    fn flush_ignores(&mut self) {
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

    fn hit(&mut self, id: CheckId, message: String) {
        self.hit_at(id, None, self.at, message);
    }

    fn hit_status(&mut self, id: CheckId, status: Status, message: String) {
        self.hit_at(id, Some(status), self.at, message);
    }

    fn hit_at(&mut self, id: CheckId, status: Option<Status>, offset: usize, message: String) {
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
    fn blocking_lock(&mut self, table: &str, what: &str) {
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
    fn contract_step(&mut self, id: CheckId, object: String, what: String) {
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

/// Is this statement a drop or rename of something that existed before migration `idx`?
pub fn is_contract_step(node: &NodeEnum, catalog: &Catalog, idx: usize) -> bool {
    match node {
        NodeEnum::AlterTableStmt(a) => {
            let Some(rel) = &a.relation else { return false };
            let table = range_var_name(rel);
            !catalog.is_new(&table, idx)
                && a.cmds.iter().any(|c| {
                    matches!(c.node.as_ref(), Some(NodeEnum::AlterTableCmd(c)) if c.subtype == AlterTableType::AtDropColumn as i32)
                })
        }
        NodeEnum::DropStmt(d) => {
            d.remove_type == ObjectType::ObjectTable as i32
                && d.objects
                    .iter()
                    .any(|o| !catalog.is_new(&object_name(o), idx))
        }
        NodeEnum::RenameStmt(r) => {
            (r.rename_type == ObjectType::ObjectTable as i32
                || r.rename_type == ObjectType::ObjectColumn as i32)
                && r.relation
                    .as_ref()
                    .is_some_and(|rel| !catalog.is_new(&range_var_name(rel), idx))
        }
        _ => false,
    }
}

fn object_name(o: &Node) -> String {
    match o.node.as_ref() {
        Some(NodeEnum::List(l)) => names_of(&l.items),
        Some(NodeEnum::String(s)) => s.sval.clone(),
        Some(NodeEnum::TypeName(t)) => names_of(&t.names),
        _ => String::new(),
    }
}

fn has_def(params: &[Node], name: &str) -> bool {
    params.iter().any(|p| {
        matches!(p.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name))
    })
}

fn constraints_of(col: &ColumnDef) -> impl Iterator<Item = &Constraint> {
    col.constraints
        .iter()
        .filter_map(|c| match c.node.as_ref() {
            Some(NodeEnum::Constraint(c)) => Some(c.as_ref()),
            _ => None,
        })
}

fn is(c: &Constraint, t: ConstrType) -> bool {
    c.contype == t as i32
}

/// The statement's effects, for the dry run.
#[derive(Default)]
struct Effects {
    tables: Vec<String>,
    heavy: bool,
    no_tx: bool,
}

/// Judges one statement and applies it to the catalog (for up files).
pub fn analyze(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    s: &Statement,
    apply: bool,
) -> StatementFacts {
    let mut fx = Effects::default();
    if apply {
        long_identifiers(ctx, s.end);
        judge(ctx, catalog, &s.node, &mut fx);
    }
    let (line, column) = ctx.file.rendered.line_col(s.start);
    StatementFacts {
        file: ctx.file.label.clone(),
        line,
        column,
        sql: ctx.text.clone(),
        tables: fx.tables,
        heavy: fx.heavy,
        no_transaction: fx.no_tx,
        transaction_control: matches!(s.node, NodeEnum::TransactionStmt(_)),
    }
}

fn long_identifiers(ctx: &mut Ctx<'_>, end: usize) {
    let here: Vec<(usize, String)> = ctx
        .long_idents
        .iter()
        .filter(|(o, _)| *o >= ctx.at && *o < end)
        .cloned()
        .collect();
    for (offset, name) in here {
        ctx.hit_at(
            CheckId::IdentifierTooLong,
            None,
            offset,
            format!(
                "identifier {name:?} is {} bytes; PostgreSQL truncates it to 63",
                name.len()
            ),
        );
    }
}

fn qualified(ctx: &mut Ctx<'_>, schema: &str, name: &str) {
    if schema.is_empty() {
        ctx.hit(
            CheckId::SchemaQualified,
            format!("{name} has no schema; it lands wherever search_path points"),
        );
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "one match over statement kinds reads best in one place"
)]
fn judge(ctx: &mut Ctx<'_>, catalog: &mut Catalog, node: &NodeEnum, fx: &mut Effects) {
    let idx = ctx.idx;
    match node {
        NodeEnum::TransactionStmt(t) => transaction(ctx, t.kind),
        NodeEnum::VariableSetStmt(v) => {
            let disabled = v.kind != VariableSetKind::VarSetValue as i32
                || v.args.iter().any(|a| {
                    matches!(a.node.as_ref(), Some(NodeEnum::AConst(c))
                        if matches!(&c.val, Some(pg_query::protobuf::a_const::Val::Ival(i)) if i.ival == 0)
                        || matches!(&c.val, Some(pg_query::protobuf::a_const::Val::Sval(s)) if s.sval.trim() == "0"))
                });
            match v.name.as_str() {
                "lock_timeout" => ctx.lock_timeout = !disabled,
                "statement_timeout" => ctx.statement_timeout = !disabled,
                _ => {}
            }
        }
        NodeEnum::CreateStmt(c) => {
            let Some(rel) = &c.relation else { return };
            let name = range_var_name(rel);
            qualified(ctx, &rel.schemaname, &rel.relname);
            if c.if_not_exists && catalog.lookup(&name).is_some() {
                return;
            }
            if !ctx.in_tx && !c.if_not_exists {
                ctx.hit(
                    CheckId::StatementIdempotent,
                    format!("CREATE TABLE {name} without IF NOT EXISTS outside a transaction"),
                );
            }
            let mut pk_cols: HashSet<String> = HashSet::new();
            for e in &c.table_elts {
                if let Some(NodeEnum::Constraint(k)) = e.node.as_ref()
                    && is(k, ConstrType::ConstrPrimary)
                {
                    pk_cols.extend(k.keys.iter().filter_map(node_str).map(str::to_owned));
                }
            }
            let table = catalog.create_table(&name, idx);
            let mut seen = HashSet::new();
            let mut dups = Vec::new();
            let mut defs = Vec::new();
            for e in &c.table_elts {
                match e.node.as_ref() {
                    Some(NodeEnum::ColumnDef(d)) => {
                        if !seen.insert(d.colname.clone()) {
                            dups.push(d.colname.clone());
                        }
                        if let Some(t) = &d.type_name {
                            table.columns.insert(d.colname.clone(), ColType::from_type_name(t));
                        }
                        for k in constraints_of(d) {
                            if is(k, ConstrType::ConstrCheck) {
                                table.checks.push(CheckConstraint {
                                    name: k.conname.clone(),
                                    not_null_of: not_null_check_column(k.raw_expr.as_deref()),
                                    validated: true,
                                });
                            }
                        }
                        defs.push(d.clone());
                    }
                    Some(NodeEnum::Constraint(k)) if is(k, ConstrType::ConstrCheck) => {
                        table.checks.push(CheckConstraint {
                            name: k.conname.clone(),
                            not_null_of: not_null_check_column(k.raw_expr.as_deref()),
                            validated: !k.skip_validation,
                        });
                    }
                    _ => {}
                }
            }
            for d in &defs {
                let pk = pk_cols.contains(&d.colname)
                    || constraints_of(d).any(|k| is(k, ConstrType::ConstrPrimary));
                column_type(ctx, d, pk);
            }
            for d in dups {
                ctx.hit(
                    CheckId::ColumnDuplicate,
                    format!("column {d} is declared twice in CREATE TABLE {name}"),
                );
            }
        }
        NodeEnum::CreateTableAsStmt(c) => {
            if let Some(into) = c.into.as_ref()
                && let Some(rel) = into.rel.as_ref()
            {
                catalog.create_table(&range_var_name(rel), idx).filled = !into.skip_data;
            }
        }
        NodeEnum::InsertStmt(i) => {
            if let Some(rel) = &i.relation {
                let name = range_var_name(rel);
                if catalog.is_new(&name, idx) {
                    catalog.table_mut(&name).filled = true;
                }
            }
            enum_value_use(ctx);
        }
        NodeEnum::IndexStmt(i) => {
            let Some(rel) = &i.relation else { return };
            let table = range_var_name(rel);
            let new = catalog.is_new(&table, idx);
            catalog.add_index(&i.idxname, &table, idx);
            if !new {
                fx.tables.push(table.clone());
            }
            if i.concurrent {
                fx.no_tx = true;
                concurrently_outside_tx(ctx, "CREATE INDEX CONCURRENTLY");
                if !ctx.in_tx && !i.if_not_exists {
                    ctx.hit(
                        CheckId::StatementIdempotent,
                        format!("CREATE INDEX CONCURRENTLY {} without IF NOT EXISTS: a failed build leaves an INVALID index that makes the re-run fail", i.idxname),
                    );
                }
                return;
            }
            if new {
                return;
            }
            fx.heavy = true;
            ctx.hit(
                CheckId::IndexCreateBlocking,
                format!(
                    "CREATE {}INDEX {} on existing table {table} without CONCURRENTLY blocks writes for the whole build",
                    if i.unique { "UNIQUE " } else { "" },
                    if i.idxname.is_empty() { "(unnamed)" } else { &i.idxname },
                ),
            );
            ctx.blocking_lock(&table, "CREATE INDEX");
        }
        NodeEnum::DropStmt(d) => drop(ctx, catalog, d, fx),
        NodeEnum::RenameStmt(r) => {
            let Some(rel) = &r.relation else { return };
            let table = range_var_name(rel);
            let new = catalog.is_new(&table, idx);
            if r.rename_type == ObjectType::ObjectTable as i32 {
                if !new {
                    fx.tables.push(table.clone());
                    ctx.contract_step(
                        CheckId::TableRename,
                        table.clone(),
                        format!("RENAME of table {table} to {}", r.newname),
                    );
                    ctx.blocking_lock(&table, "ALTER TABLE RENAME");
                }
                catalog.rename_table(&table, &r.newname);
            } else if r.rename_type == ObjectType::ObjectColumn as i32 {
                if !new {
                    fx.tables.push(table.clone());
                    ctx.contract_step(
                        CheckId::ColumnRename,
                        format!("{table}.{}", r.subname),
                        format!("RENAME of column {table}.{} to {}", r.subname, r.newname),
                    );
                    ctx.blocking_lock(&table, "ALTER TABLE RENAME COLUMN");
                }
                let t = catalog.table_mut(&table);
                if let Some(ty) = t.columns.remove(&r.subname) {
                    t.columns.insert(r.newname.clone(), ty);
                }
            }
        }
        NodeEnum::AlterTableStmt(a) => alter_table(ctx, catalog, a, fx),
        NodeEnum::AlterEnumStmt(e) => {
            let name = names_of(&e.type_name);
            if e.new_val.is_empty() {
                return; // RENAME VALUE
            }
            if ctx.in_tx && ctx.pg_version < 12 {
                fx.no_tx = true;
                ctx.hit(
                    CheckId::EnumAddValueInTransaction,
                    format!("ALTER TYPE {name} ADD VALUE inside a transaction fails before PostgreSQL 12 (--pg-version {})", ctx.pg_version),
                );
            }
            if ctx.in_tx {
                ctx.enum_values_in_tx.push(e.new_val.clone());
            }
            if e.new_val_neighbor.is_empty() && !catalog.enum_is_new(&name, idx) {
                ctx.hit(
                    CheckId::EnumValueOrder,
                    format!("ALTER TYPE {name} ADD VALUE '{}' without BEFORE/AFTER appends it, changing what < and ORDER BY mean", e.new_val),
                );
            }
        }
        NodeEnum::CreateEnumStmt(e) => catalog.add_enum(&names_of(&e.type_name), idx),
        NodeEnum::CreateDomainStmt(d)
            if d.constraints.iter().any(|c| {
                matches!(c.node.as_ref(), Some(NodeEnum::Constraint(k)) if is(k, ConstrType::ConstrCheck))
            }) =>
        {
            {
                ctx.hit_status(
                    CheckId::DomainConstraint,
                    Status::Warn,
                    format!("CREATE DOMAIN {} with a CHECK: changing it later validates every column of the domain", names_of(&d.domainname)),
                );
            }
        }
        NodeEnum::AlterDomainStmt(d)
            if d.subtype == "C"
                && !matches!(d.def.as_ref().and_then(|n| n.node.as_ref()), Some(NodeEnum::Constraint(k)) if k.skip_validation) =>
        {
            {
                ctx.hit(
                    CheckId::DomainConstraint,
                    format!("ALTER DOMAIN {} ADD CONSTRAINT without NOT VALID scans every column using the domain", names_of(&d.type_name)),
                );
            }
        }
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && has_def(&v.options, "full") => {
            {
                fx.heavy = true;
                ctx.hit(
                    CheckId::TableRewriteMaintenance,
                    "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE".to_owned(),
                );
            }
        }
        NodeEnum::ClusterStmt(c) => {
            fx.heavy = true;
            let t = c.relation.as_ref().map(range_var_name).unwrap_or_default();
            if !c.relation.as_ref().is_some_and(|r| catalog.is_new(&range_var_name(r), idx)) {
                ctx.hit(
                    CheckId::TableRewriteMaintenance,
                    format!("CLUSTER {t} rewrites the table under ACCESS EXCLUSIVE"),
                );
            }
        }
        NodeEnum::ReindexStmt(r) => {
            if has_def(&r.params, "concurrently") {
                fx.no_tx = true;
                concurrently_outside_tx(ctx, "REINDEX CONCURRENTLY");
                return;
            }
            let target = r.relation.as_ref().map_or_else(|| r.name.clone(), range_var_name);
            let new = r.relation.as_ref().is_some_and(|rv| catalog.is_new(&range_var_name(rv), idx))
                || catalog.index(&target).is_some_and(|i| i.created_in == Some(idx));
            if !new {
                fx.heavy = true;
                ctx.hit(
                    CheckId::IndexReindexBlocking,
                    format!("REINDEX {target} without CONCURRENTLY blocks writes until it finishes"),
                );
            }
        }
        NodeEnum::TruncateStmt(t) if t.behavior == DropBehavior::DropCascade as i32 => {
            {
                ctx.hit(
                    CheckId::TableTruncateCascade,
                    "TRUNCATE ... CASCADE also empties every table that references these".to_owned(),
                );
            }
        }
        NodeEnum::DropdbStmt(d) => ctx.hit(
            CheckId::DatabaseDrop,
            format!("DROP DATABASE {} in a migration", d.dbname),
        ),
        NodeEnum::UpdateStmt(u) => {
            let mut seen = HashSet::new();
            for t in &u.target_list {
                if let Some(NodeEnum::ResTarget(r)) = t.node.as_ref()
                    && !seen.insert(r.name.clone())
                {
                    ctx.hit(
                        CheckId::ColumnDuplicate,
                        format!("column {} is assigned twice in one UPDATE", r.name),
                    );
                }
            }
            enum_value_use(ctx);
        }
        NodeEnum::SelectStmt(_) | NodeEnum::DeleteStmt(_) => {
            enum_value_use(ctx);
        }
        NodeEnum::AlterObjectSchemaStmt(o) => {
            if o.object_type == ObjectType::ObjectTable as i32
                && let Some(rel) = &o.relation
            {
                let from = range_var_name(rel);
                let to = crate::catalog::qual(&o.newschema, &rel.relname);
                catalog.rename_table(&from, &to);
            }
        }
        _ => {}
    }
}

/// A new enum value used by a later statement in the transaction that added it.
fn enum_value_use(ctx: &mut Ctx<'_>) {
    let used: Vec<String> = ctx
        .enum_values_in_tx
        .iter()
        .filter(|v| ctx.text.contains(&format!("'{v}'")))
        .cloned()
        .collect();
    for v in used {
        ctx.hit(
            CheckId::EnumAddValueInTransaction,
            format!("enum value '{v}' is used in the transaction that added it: PostgreSQL refuses (unsafe use of new value); commit first"),
        );
    }
}

fn transaction(ctx: &mut Ctx<'_>, kind: i32) {
    let begin = kind == TransactionStmtKind::TransStmtBegin as i32
        || kind == TransactionStmtKind::TransStmtStart as i32;
    let end = kind == TransactionStmtKind::TransStmtCommit as i32
        || kind == TransactionStmtKind::TransStmtRollback as i32;
    if begin {
        if ctx.in_tx {
            ctx.hit(
                CheckId::TransactionNesting,
                if ctx.runner_tx {
                    "BEGIN in a migration the runner already wraps in a transaction".to_owned()
                } else {
                    "BEGIN inside an open transaction".to_owned()
                },
            );
        }
        ctx.in_tx = true;
        ctx.explicit_begin = Some(ctx.at);
    } else if end {
        if ctx.explicit_begin.is_none() && ctx.runner_tx {
            ctx.hit(
                CheckId::TransactionNesting,
                "COMMIT ends the runner's transaction early: later statements run outside it"
                    .to_owned(),
            );
        }
        ctx.in_tx = false;
        ctx.explicit_begin = None;
        ctx.not_valid_in_tx.clear();
        ctx.enum_values_in_tx.clear();
    }
}

fn concurrently_outside_tx(ctx: &mut Ctx<'_>, what: &str) {
    if ctx.in_tx {
        ctx.hit(
            CheckId::IndexConcurrentlyInTransaction,
            format!("{what} inside a transaction: PostgreSQL refuses it; mark the migration no-transaction"),
        );
    } else if ctx.one_query && ctx.n_statements > 1 {
        ctx.hit_status(
            CheckId::IndexConcurrentlyInTransaction,
            Status::Warn,
            format!("{what} in a file with {} statements: runners that send a file as one query (diesel, sqlx, golang-migrate) run it as an implicit transaction, which PostgreSQL refuses; keep it alone in its migration", ctx.n_statements),
        );
    }
}

fn drop(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    d: &pg_query::protobuf::DropStmt,
    fx: &mut Effects,
) {
    let idx = ctx.idx;
    let names: Vec<String> = d.objects.iter().map(object_name).collect();
    if d.remove_type == ObjectType::ObjectTable as i32 {
        for name in names {
            if !catalog.is_new(&name, idx) {
                fx.tables.push(name.clone());
                ctx.contract_step(
                    CheckId::TableDrop,
                    name.clone(),
                    format!("DROP TABLE {name}"),
                );
                ctx.blocking_lock(&name, "DROP TABLE");
            }
            catalog.drop_table(&name);
        }
        if !ctx.in_tx && !d.missing_ok {
            ctx.hit(
                CheckId::StatementIdempotent,
                "DROP TABLE without IF EXISTS outside a transaction".to_owned(),
            );
        }
    } else if d.remove_type == ObjectType::ObjectIndex as i32 {
        if d.concurrent {
            fx.no_tx = true;
            concurrently_outside_tx(ctx, "DROP INDEX CONCURRENTLY");
        }
        for name in names {
            let index = catalog.index(&name).cloned();
            let new = index.as_ref().is_some_and(|i| i.created_in == Some(idx))
                || index
                    .as_ref()
                    .is_some_and(|i| catalog.is_new(&i.table, idx));
            if !d.concurrent && !new {
                let table = index.map_or_else(|| "its table".to_owned(), |i| i.table);
                if table != "its table" {
                    fx.tables.push(table.clone());
                }
                ctx.hit(
                    CheckId::IndexDropBlocking,
                    format!(
                        "DROP INDEX {name} without CONCURRENTLY takes ACCESS EXCLUSIVE on {table}"
                    ),
                );
                ctx.blocking_lock(&table, "DROP INDEX");
            }
            catalog.drop_index(&name);
        }
        if !ctx.in_tx && !d.missing_ok {
            ctx.hit(
                CheckId::StatementIdempotent,
                "DROP INDEX without IF EXISTS outside a transaction".to_owned(),
            );
        }
    }
}

fn column_type(ctx: &mut Ctx<'_>, d: &ColumnDef, pk: bool) {
    let Some(t) = &d.type_name else { return };
    let ty = ColType::from_type_name(t);
    let col = &d.colname;
    // Point at the type itself when the parser knows where it is.
    let at = usize::try_from(t.location)
        .ok()
        .filter(|&l| l > 0 && l >= ctx.at)
        .unwrap_or(ctx.at);
    let hit = |ctx: &mut Ctx<'_>, id: CheckId, message: String| ctx.hit_at(id, None, at, message);
    match ty.name.as_str() {
        "bpchar" => hit(
            ctx,
            CheckId::TypeChar,
            format!("column {col} is {}: use text", ty.display()),
        ),
        "varchar" if !ty.mods.is_empty() => hit(
            ctx,
            CheckId::TypeVarchar,
            format!(
                "column {col} is {}: use text with a CHECK on length",
                ty.display()
            ),
        ),
        "timestamp" => hit(
            ctx,
            CheckId::TypeTimestamp,
            format!("column {col} is timestamp without time zone: use timestamptz"),
        ),
        "json" => hit(
            ctx,
            CheckId::TypeJson,
            format!("column {col} is json: use jsonb"),
        ),
        _ => {}
    }
    if ty.is_serial() {
        hit(
            ctx,
            CheckId::TypeSerial,
            format!(
                "column {col} is {}: use bigint GENERATED BY DEFAULT AS IDENTITY",
                ty.name
            ),
        );
    }
    let key_like = pk || col == "id" || col.ends_with("_id");
    if key_like && ty.is_small_int() {
        hit(
            ctx,
            CheckId::TypeIntKey,
            format!(
                "{} {col} is {}: use bigint",
                if pk { "primary key" } else { "key column" },
                ty.display()
            ),
        );
    }
}

#[expect(clippy::too_many_lines, reason = "one arm per ALTER TABLE subcommand")]
fn alter_table(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    a: &pg_query::protobuf::AlterTableStmt,
    fx: &mut Effects,
) {
    let idx = ctx.idx;
    let Some(rel) = &a.relation else { return };
    let table = range_var_name(rel);
    if a.objtype != ObjectType::ObjectTable as i32 && a.objtype != ObjectType::ObjectMatview as i32
    {
        return;
    }
    let new = catalog.is_new(&table, idx);
    let mut added = HashSet::new();
    let mut blocking: Option<&'static str> = None;
    let mut weak_only = true;
    for c in &a.cmds {
        let Some(NodeEnum::AlterTableCmd(cmd)) = c.node.as_ref() else {
            continue;
        };
        let sub = AlterTableType::try_from(cmd.subtype).unwrap_or(AlterTableType::Undefined);
        // Subcommands that take less than a write-blocking lock.
        let weak = matches!(
            sub,
            AlterTableType::AtValidateConstraint
                | AlterTableType::AtSetStatistics
                | AlterTableType::AtSetOptions
                | AlterTableType::AtResetOptions
                | AlterTableType::AtClusterOn
                | AlterTableType::AtDropCluster
                | AlterTableType::AtSetRelOptions
                | AlterTableType::AtResetRelOptions
                | AlterTableType::AtAttachPartition
                | AlterTableType::AtDetachPartitionFinalize
        ) || (sub == AlterTableType::AtDetachPartition && detach_concurrent(cmd));
        if !weak {
            weak_only = false;
        }
        match sub {
            AlterTableType::AtAddColumn => {
                let Some(NodeEnum::ColumnDef(d)) = cmd.def.as_ref().and_then(|n| n.node.as_ref())
                else {
                    continue;
                };
                if !added.insert(d.colname.clone()) {
                    ctx.hit(
                        CheckId::ColumnDuplicate,
                        format!(
                            "column {} is added twice in one ALTER TABLE {table}",
                            d.colname
                        ),
                    );
                }
                let pk = constraints_of(d).any(|k| is(k, ConstrType::ConstrPrimary));
                column_type(ctx, d, pk);
                if let Some(t) = &d.type_name {
                    catalog
                        .table_mut(&table)
                        .columns
                        .insert(d.colname.clone(), ColType::from_type_name(t));
                }
                if !ctx.in_tx && !cmd.missing_ok {
                    ctx.hit(
                        CheckId::StatementIdempotent,
                        format!(
                            "ADD COLUMN {} without IF NOT EXISTS outside a transaction",
                            d.colname
                        ),
                    );
                }
                if new {
                    continue;
                }
                blocking.get_or_insert("ALTER TABLE ADD COLUMN");
                add_column(ctx, &table, d, fx);
            }
            AlterTableType::AtAlterColumnType => {
                let Some(NodeEnum::ColumnDef(d)) = cmd.def.as_ref().and_then(|n| n.node.as_ref())
                else {
                    continue;
                };
                let Some(t) = &d.type_name else { continue };
                let to = ColType::from_type_name(t);
                let col = cmd.name.clone();
                let from = catalog
                    .lookup(&table)
                    .and_then(|t| t.columns.get(&col))
                    .cloned();
                column_type(
                    ctx,
                    &ColumnDef {
                        colname: col.clone(),
                        ..(**d).clone()
                    },
                    false,
                );
                catalog
                    .table_mut(&table)
                    .columns
                    .insert(col.clone(), to.clone());
                if new {
                    continue;
                }
                blocking.get_or_insert("ALTER COLUMN TYPE");
                match from {
                    Some(f) if f.changes_without_rewrite(&to) && d.raw_default.is_none() => {}
                    Some(f) => {
                        fx.heavy = true;
                        ctx.hit(
                            CheckId::ColumnTypeChange,
                            format!("ALTER COLUMN {col} TYPE {} (from {}) rewrites {table} and its indexes under ACCESS EXCLUSIVE", to.display(), f.display()),
                        );
                    }
                    None => {
                        fx.heavy = true;
                        ctx.hit(
                            CheckId::ColumnTypeChange,
                            format!("ALTER COLUMN {col} TYPE {} on {table}: the current type is not in the linted history, so assume a rewrite under ACCESS EXCLUSIVE", to.display()),
                        );
                    }
                }
            }
            AlterTableType::AtSetNotNull => {
                if new {
                    continue;
                }
                blocking.get_or_insert("ALTER COLUMN SET NOT NULL");
                let col = &cmd.name;
                let proven = ctx.pg_version >= 12
                    && catalog.lookup(&table).is_some_and(|t| {
                        t.checks
                            .iter()
                            .any(|c| c.validated && c.not_null_of.as_deref() == Some(col.as_str()))
                    });
                if !proven {
                    fx.heavy = true;
                    ctx.hit(
                        CheckId::ColumnSetNotNull,
                        format!("SET NOT NULL on {table}.{col} scans the whole table under ACCESS EXCLUSIVE; add and validate CHECK ({col} IS NOT NULL) NOT VALID first"),
                    );
                }
            }
            AlterTableType::AtDropNotNull => {
                if !new {
                    ctx.hit(
                        CheckId::ColumnDropNotNull,
                        format!(
                            "DROP NOT NULL on {table}.{}: readers may not expect NULLs",
                            cmd.name
                        ),
                    );
                    blocking.get_or_insert("ALTER COLUMN DROP NOT NULL");
                }
            }
            AlterTableType::AtDropColumn => {
                if !ctx.in_tx && !cmd.missing_ok {
                    ctx.hit(
                        CheckId::StatementIdempotent,
                        format!(
                            "DROP COLUMN {} without IF EXISTS outside a transaction",
                            cmd.name
                        ),
                    );
                }
                catalog.table_mut(&table).columns.remove(&cmd.name);
                if new {
                    continue;
                }
                blocking.get_or_insert("ALTER TABLE DROP COLUMN");
                ctx.contract_step(
                    CheckId::ColumnDrop,
                    format!("{table}.{}", cmd.name),
                    format!("DROP COLUMN {table}.{}", cmd.name),
                );
            }
            AlterTableType::AtAddConstraint => {
                let Some(NodeEnum::Constraint(k)) = cmd.def.as_ref().and_then(|n| n.node.as_ref())
                else {
                    continue;
                };
                if is(k, ConstrType::ConstrCheck) {
                    catalog.table_mut(&table).checks.push(CheckConstraint {
                        name: k.conname.clone(),
                        not_null_of: not_null_check_column(k.raw_expr.as_deref()),
                        validated: !k.skip_validation,
                    });
                }
                if k.skip_validation && ctx.in_tx {
                    ctx.not_valid_in_tx.insert(k.conname.clone());
                }
                if new {
                    filled_table_foreign_key(ctx, catalog, &table, k);
                    continue;
                }
                if !weak {
                    blocking.get_or_insert("ALTER TABLE ADD CONSTRAINT");
                }
                add_constraint(ctx, &table, k, fx);
            }
            AlterTableType::AtValidateConstraint => {
                if ctx.not_valid_in_tx.contains(&cmd.name) {
                    ctx.hit(
                        CheckId::ConstraintValidateSameTransaction,
                        format!("VALIDATE CONSTRAINT {} in the transaction that added it NOT VALID: the ADD's ACCESS EXCLUSIVE lock is held during the scan", cmd.name),
                    );
                }
                for c in &mut catalog.table_mut(&table).checks {
                    if c.name == cmd.name {
                        c.validated = true;
                    }
                }
            }
            AlterTableType::AtAddIndexConstraint => {
                // ADD CONSTRAINT ... USING INDEX: the safe form.
            }
            AlterTableType::AtDetachPartition => {
                if detach_concurrent(cmd) {
                    fx.no_tx = true;
                    concurrently_outside_tx(ctx, "DETACH PARTITION CONCURRENTLY");
                } else if !new {
                    ctx.hit(
                        CheckId::PartitionDetachBlocking,
                        format!("DETACH PARTITION on {table} without CONCURRENTLY takes ACCESS EXCLUSIVE on the parent"),
                    );
                }
            }
            AlterTableType::AtColumnDefault => {
                // SET/DROP DEFAULT only changes the catalog.
                if !new {
                    blocking.get_or_insert("ALTER COLUMN SET DEFAULT");
                }
            }
            AlterTableType::AtAddIdentity
            | AlterTableType::AtSetIdentity
            | AlterTableType::AtDropIdentity => {
                if !new {
                    blocking.get_or_insert("ALTER COLUMN IDENTITY");
                }
            }
            _ => {
                if !new && !weak {
                    blocking.get_or_insert("ALTER TABLE");
                }
            }
        }
    }
    if !new {
        fx.tables.push(table.clone());
    }
    if !new && !weak_only {
        if let Some(what) = blocking {
            ctx.blocking_lock(&table, what);
        } else {
            ctx.blocking_lock(&table, "ALTER TABLE");
        }
    }
}

fn detach_concurrent(cmd: &AlterTableCmd) -> bool {
    matches!(cmd.def.as_ref().and_then(|n| n.node.as_ref()), Some(NodeEnum::PartitionCmd(p)) if p.concurrent)
}

fn add_column(ctx: &mut Ctx<'_>, table: &str, d: &ColumnDef, fx: &mut Effects) {
    let col = &d.colname;
    let ty = d.type_name.as_ref().map(ColType::from_type_name);
    let mut default = d.raw_default.as_deref().map(volatility);
    let mut not_null = d.is_not_null;
    let mut generated_stored = false;
    let mut identity = !d.identity.is_empty();
    for k in constraints_of(d) {
        if is(k, ConstrType::ConstrDefault) {
            default = k.raw_expr.as_deref().map(volatility);
        } else if is(k, ConstrType::ConstrNotnull) || is(k, ConstrType::ConstrPrimary) {
            not_null = true;
        } else if is(k, ConstrType::ConstrGenerated) {
            generated_stored = true;
        } else if is(k, ConstrType::ConstrIdentity) {
            identity = true;
        }
        if is(k, ConstrType::ConstrForeign) && !k.skip_validation {
            fx.heavy = true;
            ctx.hit(
                CheckId::ConstraintValidating,
                format!("ADD COLUMN {col} REFERENCES {} validates under SHARE ROW EXCLUSIVE on both tables; add the column, then the FOREIGN KEY NOT VALID, then VALIDATE", k.pktable.as_ref().map(range_var_name).unwrap_or_default()),
            );
        }
        if is(k, ConstrType::ConstrPrimary) || is(k, ConstrType::ConstrUnique) {
            fx.heavy = true;
            ctx.hit(
                CheckId::ConstraintUniqueWithoutIndex,
                format!(
                    "ADD COLUMN {col} {} builds a unique index on {table} under ACCESS EXCLUSIVE",
                    if is(k, ConstrType::ConstrPrimary) {
                        "PRIMARY KEY"
                    } else {
                        "UNIQUE"
                    }
                ),
            );
        }
    }
    if ty.as_ref().is_some_and(ColType::is_serial) {
        default = Some(Volatility::Volatile(format!(
            "{} (nextval())",
            ty.as_ref().map_or("", |t| t.name.as_str())
        )));
        not_null = true;
    }
    let rewrite_reason = if generated_stored {
        Some("GENERATED ... STORED computes every row".to_owned())
    } else if identity {
        Some("an identity column fills every row".to_owned())
    } else {
        match &default {
            Some(Volatility::Volatile(what)) => {
                Some(format!("the default {what} is evaluated per row"))
            }
            Some(Volatility::Stable) if ctx.pg_version < 11 => Some(format!(
                "any DEFAULT rewrites the table before PostgreSQL 11 (--pg-version {})",
                ctx.pg_version
            )),
            _ => None,
        }
    };
    if let Some(why) = rewrite_reason {
        fx.heavy = true;
        ctx.hit(
            CheckId::ColumnAddVolatileDefault,
            format!("ADD COLUMN {col} rewrites {table} under ACCESS EXCLUSIVE: {why}; add it without the default, then backfill in batches"),
        );
    } else if not_null && default.is_none() {
        ctx.hit(
            CheckId::ColumnAddRequired,
            format!("ADD COLUMN {col} NOT NULL without a DEFAULT fails on {table} as soon as it has rows"),
        );
    }
}

/// A foreign key added to a table this migration created *and filled* (CREATE TABLE AS, or
/// INSERT ... SELECT): validating it reads every copied row while holding SHARE ROW EXCLUSIVE
/// on the referenced, existing table, whose writers wait until the migration commits.
fn filled_table_foreign_key(ctx: &mut Ctx<'_>, catalog: &Catalog, table: &str, k: &Constraint) {
    if !is(k, ConstrType::ConstrForeign) || k.skip_validation {
        return;
    }
    let filled = catalog.lookup(table).is_some_and(|t| t.filled);
    let Some(other) = k.pktable.as_ref().map(range_var_name) else {
        return;
    };
    if filled && !catalog.is_new(&other, ctx.idx) {
        ctx.hit(
            CheckId::ConstraintValidating,
            format!("ADD CONSTRAINT {} FOREIGN KEY validates every row copied into {table} while holding SHARE ROW EXCLUSIVE on existing table {other}: writes to {other} wait until COMMIT; add it NOT VALID and VALIDATE in a later migration", if k.conname.is_empty() { "(unnamed)" } else { &k.conname }),
        );
    }
}

fn add_constraint(ctx: &mut Ctx<'_>, table: &str, k: &Constraint, fx: &mut Effects) {
    let name = if k.conname.is_empty() {
        "(unnamed)".to_owned()
    } else {
        k.conname.clone()
    };
    if is(k, ConstrType::ConstrForeign) && !k.skip_validation {
        fx.heavy = true;
        let other = k.pktable.as_ref().map(range_var_name).unwrap_or_default();
        fx.tables.push(other.clone());
        ctx.hit(
            CheckId::ConstraintValidating,
            format!("ADD CONSTRAINT {name} FOREIGN KEY without NOT VALID scans {table} holding SHARE ROW EXCLUSIVE on {table} and {other}; add it NOT VALID, VALIDATE later"),
        );
    } else if is(k, ConstrType::ConstrCheck) && !k.skip_validation {
        fx.heavy = true;
        ctx.hit(
            CheckId::ConstraintValidating,
            format!("ADD CONSTRAINT {name} CHECK without NOT VALID scans {table} under ACCESS EXCLUSIVE; add it NOT VALID, VALIDATE later"),
        );
    } else if (is(k, ConstrType::ConstrPrimary) || is(k, ConstrType::ConstrUnique))
        && k.indexname.is_empty()
    {
        fx.heavy = true;
        ctx.hit(
            CheckId::ConstraintUniqueWithoutIndex,
            format!("ADD CONSTRAINT {name} {} builds its index on {table} under ACCESS EXCLUSIVE; CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT ... USING INDEX", if is(k, ConstrType::ConstrPrimary) { "PRIMARY KEY" } else { "UNIQUE" }),
        );
    } else if is(k, ConstrType::ConstrExclusion) {
        fx.heavy = true;
        ctx.hit(
            CheckId::ConstraintExclusion,
            format!("ADD CONSTRAINT {name} EXCLUDE on {table} builds and checks under ACCESS EXCLUSIVE (no NOT VALID form)"),
        );
    }
}
