//! ALTER TABLE: each subcommand's lock, rewrite, scan and contract-step rules, and what it
//! changes in the catalog.

use std::collections::HashSet;

use pg_query::NodeEnum;
use pg_query::protobuf::{
    AlterTableCmd, AlterTableType, ColumnDef, ConstrType, Constraint, ObjectType,
};

use super::context::Ctx;
use super::expr::{Volatility, volatility};
use super::statement::{Effects, column_type, concurrently_outside_tx, constraints_of, is};
use crate::catalog::{Catalog, CheckConstraint, ColType, not_null_check_column, range_var_name};
use crate::checks::CheckId;

/// What one ALTER TABLE has seen so far, across its subcommands.
struct Alter {
    table: String,
    /// Created by this migration: locks on it block nobody.
    new: bool,
    /// Columns added so far (a second ADD of one is a duplicate).
    added: HashSet<String>,
    /// The first write-blocking subcommand, for the lock-timeout message.
    blocking: Option<&'static str>,
}

pub(super) fn alter_table(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    a: &pg_query::protobuf::AlterTableStmt,
    fx: &mut Effects,
) {
    let Some(rel) = &a.relation else { return };
    let table = range_var_name(rel);
    if a.objtype != ObjectType::ObjectTable as i32 && a.objtype != ObjectType::ObjectMatview as i32
    {
        return;
    }
    let new = catalog.is_new(&table, ctx.idx);
    let mut st = Alter {
        table,
        new,
        added: HashSet::new(),
        blocking: None,
    };
    let mut weak_only = true;
    for c in &a.cmds {
        let Some(NodeEnum::AlterTableCmd(cmd)) = c.node.as_ref() else {
            continue;
        };
        let sub = AlterTableType::try_from(cmd.subtype).unwrap_or(AlterTableType::Undefined);
        let weak = is_weak(sub, cmd);
        if !weak {
            weak_only = false;
        }
        subcommand(ctx, catalog, &mut st, cmd, sub, weak, fx);
    }
    if !new {
        fx.tables.push(st.table.clone());
    }
    if !new && !weak_only {
        if let Some(what) = st.blocking {
            ctx.blocking_lock(&st.table, what);
        } else {
            ctx.blocking_lock(&st.table, "ALTER TABLE");
        }
    }
}

/// Subcommands that take less than a write-blocking lock.
fn is_weak(sub: AlterTableType, cmd: &AlterTableCmd) -> bool {
    matches!(
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
    ) || (sub == AlterTableType::AtDetachPartition && detach_concurrent(cmd))
}

/// One subcommand's rules; the longer ones are the `at_*` functions below.
fn subcommand(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    st: &mut Alter,
    cmd: &AlterTableCmd,
    sub: AlterTableType,
    weak: bool,
    fx: &mut Effects,
) {
    let (table, new) = (st.table.as_str(), st.new);
    match sub {
        AlterTableType::AtAddColumn => at_add_column(ctx, catalog, st, cmd, fx),
        AlterTableType::AtAlterColumnType => {
            if let Some(d) = column_def(cmd) {
                at_alter_column_type(ctx, catalog, st, &cmd.name, d, fx);
            }
        }
        AlterTableType::AtSetNotNull => at_set_not_null(ctx, catalog, st, cmd, fx),
        AlterTableType::AtDropNotNull => {
            if !new {
                ctx.hit(
                    CheckId::ColumnDropNotNull,
                    format!(
                        "DROP NOT NULL on {table}.{}: readers may not expect NULLs",
                        cmd.name
                    ),
                );
                st.blocking.get_or_insert("ALTER COLUMN DROP NOT NULL");
            }
        }
        AlterTableType::AtDropColumn => at_drop_column(ctx, catalog, st, cmd),
        AlterTableType::AtAddConstraint => at_add_constraint(ctx, catalog, st, cmd, weak, fx),
        AlterTableType::AtValidateConstraint => at_validate_constraint(ctx, catalog, st, cmd),
        AlterTableType::AtAddIndexConstraint => {
            // ADD CONSTRAINT ... USING INDEX: the safe form.
        }
        AlterTableType::AtDetachPartition => {
            if detach_concurrent(cmd) {
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
                st.blocking.get_or_insert("ALTER COLUMN SET DEFAULT");
            }
        }
        AlterTableType::AtAddIdentity
        | AlterTableType::AtSetIdentity
        | AlterTableType::AtDropIdentity => {
            if !new {
                st.blocking.get_or_insert("ALTER COLUMN IDENTITY");
            }
        }
        _ => {
            if !new && !weak {
                st.blocking.get_or_insert("ALTER TABLE");
            }
        }
    }
}

/// `ADD COLUMN`: a duplicate, its type, idempotence; on an existing table its default and
/// constraints (`add_column`).
fn at_add_column(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    st: &mut Alter,
    cmd: &AlterTableCmd,
    fx: &mut Effects,
) {
    let Some(d) = column_def(cmd) else { return };
    let (table, new) = (st.table.as_str(), st.new);
    if !st.added.insert(d.colname.clone()) {
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
            .table_mut(table)
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
        return;
    }
    st.blocking.get_or_insert("ALTER TABLE ADD COLUMN");
    add_column(ctx, table, d, fx);
}

/// `ALTER COLUMN ... TYPE`: a rewrite unless the change is binary-coercible.
fn at_alter_column_type(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    st: &mut Alter,
    col: &str,
    d: &ColumnDef,
    fx: &mut Effects,
) {
    let (table, new) = (st.table.as_str(), st.new);
    let Some(t) = &d.type_name else { return };
    let to = ColType::from_type_name(t);
    let col = col.to_owned();
    let from = catalog
        .lookup(table)
        .and_then(|t| t.columns.get(&col))
        .cloned();
    column_type(
        ctx,
        &ColumnDef {
            colname: col.clone(),
            ..d.clone()
        },
        false,
    );
    catalog
        .table_mut(table)
        .columns
        .insert(col.clone(), to.clone());
    if new {
        return;
    }
    st.blocking.get_or_insert("ALTER COLUMN TYPE");
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

/// `SET NOT NULL`: a full scan unless a validated `CHECK (col IS NOT NULL)` proves it (12+).
fn at_set_not_null(
    ctx: &mut Ctx<'_>,
    catalog: &Catalog,
    st: &mut Alter,
    cmd: &AlterTableCmd,
    fx: &mut Effects,
) {
    let (table, new) = (st.table.as_str(), st.new);
    if new {
        return;
    }
    st.blocking.get_or_insert("ALTER COLUMN SET NOT NULL");
    let col = &cmd.name;
    let proven = ctx.pg_version >= 12
        && catalog.lookup(table).is_some_and(|t| {
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

/// `DROP COLUMN`: a contract step on an existing table.
fn at_drop_column(ctx: &mut Ctx<'_>, catalog: &mut Catalog, st: &mut Alter, cmd: &AlterTableCmd) {
    let (table, new) = (st.table.as_str(), st.new);
    if !ctx.in_tx && !cmd.missing_ok {
        ctx.hit(
            CheckId::StatementIdempotent,
            format!(
                "DROP COLUMN {} without IF EXISTS outside a transaction",
                cmd.name
            ),
        );
    }
    catalog.table_mut(table).columns.remove(&cmd.name);
    if new {
        return;
    }
    st.blocking.get_or_insert("ALTER TABLE DROP COLUMN");
    ctx.contract_step(
        CheckId::ColumnDrop,
        format!("{table}.{}", cmd.name),
        format!("DROP COLUMN {table}.{}", cmd.name),
    );
}

/// `ADD CONSTRAINT`: CHECKs into the catalog, NOT VALID noted; on an existing table the
/// constraint's own rules (`add_constraint`).
fn at_add_constraint(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    st: &mut Alter,
    cmd: &AlterTableCmd,
    weak: bool,
    fx: &mut Effects,
) {
    let (table, new) = (st.table.as_str(), st.new);
    let Some(NodeEnum::Constraint(k)) = cmd.def.as_ref().and_then(|n| n.node.as_ref()) else {
        return;
    };
    if is(k, ConstrType::ConstrCheck) {
        catalog.table_mut(table).checks.push(CheckConstraint {
            name: k.conname.clone(),
            not_null_of: not_null_check_column(k.raw_expr.as_deref()),
            validated: !k.skip_validation,
        });
    }
    if k.skip_validation && ctx.in_tx {
        ctx.not_valid_in_tx.insert(k.conname.clone());
    }
    if new {
        filled_table_foreign_key(ctx, catalog, table, k);
        return;
    }
    if !weak {
        st.blocking.get_or_insert("ALTER TABLE ADD CONSTRAINT");
    }
    add_constraint(ctx, table, k, fx);
}

/// `VALIDATE CONSTRAINT`: not in the transaction that added it NOT VALID.
fn at_validate_constraint(
    ctx: &mut Ctx<'_>,
    catalog: &mut Catalog,
    st: &Alter,
    cmd: &AlterTableCmd,
) {
    let table = st.table.as_str();
    if ctx.not_valid_in_tx.contains(&cmd.name) {
        ctx.hit(
            CheckId::ConstraintValidateSameTransaction,
            format!("VALIDATE CONSTRAINT {} in the transaction that added it NOT VALID: the ADD's ACCESS EXCLUSIVE lock is held during the scan", cmd.name),
        );
    }
    for c in &mut catalog.table_mut(table).checks {
        if c.name == cmd.name {
            c.validated = true;
        }
    }
}

/// The column an `ADD COLUMN` / `ALTER COLUMN ... TYPE` defines.
fn column_def(cmd: &AlterTableCmd) -> Option<&ColumnDef> {
    match cmd.def.as_ref().and_then(|n| n.node.as_ref()) {
        Some(NodeEnum::ColumnDef(d)) => Some(d),
        _ => None,
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
