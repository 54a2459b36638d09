//! The per-statement rules: what each DDL statement locks, whether that lock lands on a
//! table that already has data, and what it does while holding it. ALTER TABLE lives in
//! `alter.rs`; the file's state in `context.rs`.

use std::collections::HashSet;

use gatehouse::Status;
use pg_query::NodeEnum;
use pg_query::protobuf::{
    AlterEnumStmt, AlterObjectSchemaStmt, AlterTableType, ClusterStmt, ColumnDef, ConstrType,
    Constraint, CreateStmt, CreateTableAsStmt, DropBehavior, IndexStmt, InsertStmt, Node,
    ObjectType, ReindexStmt, RenameStmt, TransactionStmtKind, UpdateStmt, VariableSetKind,
    VariableSetStmt,
};

use super::StatementFacts;
use super::context::Ctx;
use crate::catalog::{
    Catalog, CheckConstraint, ColType, names_of, node_str, not_null_check_column, range_var_name,
};
use crate::checks::CheckId;
use crate::sql::Statement;

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

pub(super) fn has_def(params: &[Node], name: &str) -> bool {
    params.iter().any(|p| {
        matches!(p.node.as_ref(), Some(NodeEnum::DefElem(d)) if d.defname.eq_ignore_ascii_case(name))
    })
}

pub(super) fn constraints_of(col: &ColumnDef) -> impl Iterator<Item = &Constraint> {
    col.constraints
        .iter()
        .filter_map(|c| match c.node.as_ref() {
            Some(NodeEnum::Constraint(c)) => Some(c.as_ref()),
            _ => None,
        })
}

pub(super) fn is(c: &Constraint, t: ConstrType) -> bool {
    c.contype == t as i32
}

/// The statement's effects, for the dry run.
#[derive(Default)]
pub(super) struct Effects {
    pub(super) tables: Vec<String>,
    pub(super) heavy: bool,
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
        transaction_control: matches!(s.node, NodeEnum::TransactionStmt(_)),
    }
}

fn long_identifiers(ctx: &mut Ctx<'_>, end: usize) {
    // `long_idents` is in file order: bisect to this statement's span.
    let from = ctx.long_idents.partition_point(|(o, _)| *o < ctx.at);
    let to = ctx.long_idents.partition_point(|(o, _)| *o < end).max(from);
    let here: Vec<(usize, String)> = ctx.long_idents[from..to].to_vec();
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

/// Judges one statement by its kind; the longer rules are the functions below.
fn judge(ctx: &mut Ctx<'_>, catalog: &mut Catalog, node: &NodeEnum, fx: &mut Effects) {
    let idx = ctx.idx;
    match node {
        NodeEnum::TransactionStmt(t) => transaction(ctx, t.kind),
        NodeEnum::VariableSetStmt(v) => set_timeout(ctx, v),
        NodeEnum::CreateStmt(c) => create_table(ctx, catalog, c),
        NodeEnum::CreateTableAsStmt(c) => create_table_as(ctx, catalog, c),
        NodeEnum::InsertStmt(i) => insert(ctx, catalog, i),
        NodeEnum::IndexStmt(i) => create_index(ctx, catalog, i, fx),
        NodeEnum::DropStmt(d) => drop(ctx, catalog, d, fx),
        NodeEnum::RenameStmt(r) => rename(ctx, catalog, r, fx),
        NodeEnum::AlterTableStmt(a) => super::alter::alter_table(ctx, catalog, a, fx),
        NodeEnum::AlterEnumStmt(e) => alter_enum(ctx, catalog, e),
        NodeEnum::CreateEnumStmt(e) => catalog.add_enum(&names_of(&e.type_name), idx),
        NodeEnum::CreateDomainStmt(d)
            if d.constraints.iter().any(|c| {
                matches!(c.node.as_ref(), Some(NodeEnum::Constraint(k)) if is(k, ConstrType::ConstrCheck))
            }) => {
            ctx.hit_status(
                CheckId::DomainConstraint,
                Status::Warn,
                format!("CREATE DOMAIN {} with a CHECK: changing it later validates every column of the domain", names_of(&d.domainname)),
            );
        }
        NodeEnum::AlterDomainStmt(d)
            if d.subtype == "C"
                && !matches!(d.def.as_ref().and_then(|n| n.node.as_ref()), Some(NodeEnum::Constraint(k)) if k.skip_validation) => {
            ctx.hit(
                CheckId::DomainConstraint,
                format!("ALTER DOMAIN {} ADD CONSTRAINT without NOT VALID scans every column using the domain", names_of(&d.type_name)),
            );
        }
        NodeEnum::VacuumStmt(v) if v.is_vacuumcmd && has_def(&v.options, "full") => {
            fx.heavy = true;
            ctx.hit(
                CheckId::TableRewriteMaintenance,
                "VACUUM FULL rewrites the table under ACCESS EXCLUSIVE".to_owned(),
            );
        }
        NodeEnum::ClusterStmt(c) => cluster(ctx, catalog, c, fx),
        NodeEnum::ReindexStmt(r) => reindex(ctx, catalog, r, fx),
        NodeEnum::TruncateStmt(t) if t.behavior == DropBehavior::DropCascade as i32 => {
            ctx.hit(
                CheckId::TableTruncateCascade,
                "TRUNCATE ... CASCADE also empties every table that references these".to_owned(),
            );
        }
        NodeEnum::DropdbStmt(d) => ctx.hit(
            CheckId::DatabaseDrop,
            format!("DROP DATABASE {} in a migration", d.dbname),
        ),
        NodeEnum::UpdateStmt(u) => update(ctx, u),
        NodeEnum::DeleteStmt(d) => {
            enum_value_use(ctx);
            if let Some(rel) = &d.relation {
                backfill_under_lock(ctx, &range_var_name(rel), "DELETE");
            }
        }
        NodeEnum::SelectStmt(_) => {
            enum_value_use(ctx);
        }
        NodeEnum::AlterObjectSchemaStmt(o) => set_schema(catalog, o),
        _ => {}
    }
}

/// `SET lock_timeout` / `SET statement_timeout`: on unless set to 0 or reset.
fn set_timeout(ctx: &mut Ctx<'_>, v: &VariableSetStmt) {
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

/// `CREATE TABLE`: a new table in the catalog (columns, CHECKs), its column types judged.
fn create_table(ctx: &mut Ctx<'_>, catalog: &mut Catalog, c: &CreateStmt) {
    let idx = ctx.idx;
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
                    table
                        .columns
                        .insert(d.colname.clone(), ColType::from_type_name(t));
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

/// `CREATE INDEX`: blocking on an existing table unless CONCURRENTLY (outside a transaction).
fn create_index(ctx: &mut Ctx<'_>, catalog: &mut Catalog, i: &IndexStmt, fx: &mut Effects) {
    let idx = ctx.idx;
    let Some(rel) = &i.relation else { return };
    let table = range_var_name(rel);
    let new = catalog.is_new(&table, idx);
    catalog.add_index(&i.idxname, &table, idx);
    if !new {
        fx.tables.push(table.clone());
    }
    if i.concurrent {
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

/// `ALTER TABLE ... RENAME [COLUMN]`: a contract step on an existing table.
fn rename(ctx: &mut Ctx<'_>, catalog: &mut Catalog, r: &RenameStmt, fx: &mut Effects) {
    let idx = ctx.idx;
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

/// `ALTER TYPE ... ADD VALUE`: in a transaction before 12, and appended to an existing enum.
fn alter_enum(ctx: &mut Ctx<'_>, catalog: &Catalog, e: &AlterEnumStmt) {
    let idx = ctx.idx;
    let name = names_of(&e.type_name);
    if e.new_val.is_empty() {
        return; // RENAME VALUE
    }
    if ctx.in_tx && ctx.pg_version < 12 {
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

/// `CLUSTER`: a rewrite under ACCESS EXCLUSIVE, unless the table is new.
fn cluster(ctx: &mut Ctx<'_>, catalog: &Catalog, c: &ClusterStmt, fx: &mut Effects) {
    let idx = ctx.idx;
    fx.heavy = true;
    let t = c.relation.as_ref().map(range_var_name).unwrap_or_default();
    if !c
        .relation
        .as_ref()
        .is_some_and(|r| catalog.is_new(&range_var_name(r), idx))
    {
        ctx.hit(
            CheckId::TableRewriteMaintenance,
            format!("CLUSTER {t} rewrites the table under ACCESS EXCLUSIVE"),
        );
    }
}

/// `REINDEX`: blocking unless CONCURRENTLY or on something this migration created.
fn reindex(ctx: &mut Ctx<'_>, catalog: &Catalog, r: &ReindexStmt, fx: &mut Effects) {
    let idx = ctx.idx;
    if has_def(&r.params, "concurrently") {
        concurrently_outside_tx(ctx, "REINDEX CONCURRENTLY");
        return;
    }
    let target = r
        .relation
        .as_ref()
        .map_or_else(|| r.name.clone(), range_var_name);
    let new = r
        .relation
        .as_ref()
        .is_some_and(|rv| catalog.is_new(&range_var_name(rv), idx))
        || catalog
            .index(&target)
            .is_some_and(|i| i.created_in == Some(idx));
    if !new {
        fx.heavy = true;
        ctx.hit(
            CheckId::IndexReindexBlocking,
            format!("REINDEX {target} without CONCURRENTLY blocks writes until it finishes"),
        );
    }
}

/// `UPDATE`: a column assigned twice, new enum values used, a backfill under a lock.
fn update(ctx: &mut Ctx<'_>, u: &UpdateStmt) {
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
    if let Some(rel) = &u.relation {
        backfill_under_lock(ctx, &range_var_name(rel), "UPDATE");
    }
}

/// `CREATE TABLE ... AS`: a new table, filled unless `WITH NO DATA`.
fn create_table_as(ctx: &Ctx<'_>, catalog: &mut Catalog, c: &CreateTableAsStmt) {
    let idx = ctx.idx;
    if let Some(into) = c.into.as_ref()
        && let Some(rel) = into.rel.as_ref()
    {
        catalog.create_table(&range_var_name(rel), idx).filled = !into.skip_data;
    }
}

/// `INSERT`: fills a table this migration created; may use new enum values.
fn insert(ctx: &mut Ctx<'_>, catalog: &mut Catalog, i: &InsertStmt) {
    let idx = ctx.idx;
    if let Some(rel) = &i.relation {
        let name = range_var_name(rel);
        if catalog.is_new(&name, idx) {
            catalog.table_mut(&name).filled = true;
        }
    }
    enum_value_use(ctx);
}

/// `ALTER TABLE ... SET SCHEMA`: the table moves in the catalog.
fn set_schema(catalog: &mut Catalog, o: &AlterObjectSchemaStmt) {
    if o.object_type == ObjectType::ObjectTable as i32
        && let Some(rel) = &o.relation
    {
        let from = range_var_name(rel);
        let to = crate::catalog::qual(&o.newschema, &rel.relname);
        catalog.rename_table(&from, &to);
    }
}

/// Rows of an existing table changed in the transaction that already locked it against
/// writes: the lock is held for the whole backfill.
fn backfill_under_lock(ctx: &mut Ctx<'_>, table: &str, what: &str) {
    let Some(pos) = ctx.locked_in_tx.iter().position(|(t, _)| t == table) else {
        return;
    };
    // Once per table and transaction: the next UPDATE adds nothing new to say.
    let (_, at) = ctx.locked_in_tx.remove(pos);
    let (line, _) = ctx.file.rendered.line_col(at);
    ctx.hit(
        CheckId::BackfillUnderLock,
        format!("{what} of {table} in the transaction that locked it at line {line}: the lock is held until COMMIT, for every row; backfill in a later migration, in batches"),
    );
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
        ctx.locked_in_tx.clear();
        ctx.enum_values_in_tx.clear();
    }
}

pub(super) fn concurrently_outside_tx(ctx: &mut Ctx<'_>, what: &str) {
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

pub(super) fn column_type(ctx: &mut Ctx<'_>, d: &ColumnDef, pk: bool) {
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
