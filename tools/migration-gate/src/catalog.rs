//! The schema as the history builds it, statement by statement: which tables exist and which
//! migration created them, their columns' types, CHECK constraints and indexes. This is what
//! tells "an index on a table created earlier in this same migration" (harmless) from "an index
//! on a table an earlier migration created" (a blocking build on live data).

use std::collections::HashMap;

use pg_query::NodeEnum;
use pg_query::protobuf::{Node, RangeVar, TypeName};

/// A relation's name as the catalog keys it: `schema.name`, or `name` for `public`/unqualified.
pub fn qual(schema: &str, name: &str) -> String {
    if schema.is_empty() || schema == "public" {
        name.to_owned()
    } else {
        format!("{schema}.{name}")
    }
}

pub fn range_var_name(rv: &RangeVar) -> String {
    qual(&rv.schemaname, &rv.relname)
}

/// A dotted name list (`[schema, name]`) as the catalog keys it.
pub fn names_of(nodes: &[Node]) -> String {
    let parts: Vec<&str> = nodes.iter().filter_map(node_str).collect();
    match parts.as_slice() {
        [schema, name] => qual(schema, name),
        [.., name] => (*name).to_owned(),
        [] => String::new(),
    }
}

pub fn node_str(n: &Node) -> Option<&str> {
    match n.node.as_ref()? {
        NodeEnum::String(s) => Some(s.sval.as_str()),
        _ => None,
    }
}

/// A column type reduced to what the rules ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColType {
    /// The type's own name, catalog spelling: `int4`, `varchar`, `bpchar`, `timestamp`,
    /// `serial`, `text`, a user type's name.
    pub name: String,
    /// Integer type modifiers (`varchar(20)` → [20], `numeric(10,2)` → [10, 2]).
    pub mods: Vec<i64>,
    pub array: bool,
}

impl ColType {
    pub fn from_type_name(t: &TypeName) -> ColType {
        let name = t
            .names
            .iter()
            .filter_map(node_str)
            .next_back()
            .unwrap_or("")
            .to_owned();
        let mods = t
            .typmods
            .iter()
            .filter_map(|m| match m.node.as_ref()? {
                NodeEnum::AConst(c) => match c.val.as_ref()? {
                    pg_query::protobuf::a_const::Val::Ival(i) => Some(i64::from(i.ival)),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        ColType {
            name,
            mods,
            array: !t.array_bounds.is_empty(),
        }
    }

    pub fn is_small_int(&self) -> bool {
        !self.array
            && matches!(
                self.name.as_str(),
                "int4"
                    | "int2"
                    | "int"
                    | "integer"
                    | "smallint"
                    | "serial"
                    | "serial4"
                    | "smallserial"
                    | "serial2"
            )
    }

    pub fn is_serial(&self) -> bool {
        matches!(
            self.name.as_str(),
            "serial" | "serial4" | "bigserial" | "serial8" | "smallserial" | "serial2"
        )
    }

    /// Whether changing a column from `self` to `to` is binary-coercible (no rewrite, no scan).
    pub fn changes_without_rewrite(&self, to: &ColType) -> bool {
        if self.array != to.array {
            return false;
        }
        let limit = |t: &ColType| t.mods.first().copied();
        match (self.name.as_str(), to.name.as_str()) {
            ("varchar", "varchar") => match (limit(self), limit(to)) {
                (_, None) => true,
                (Some(a), Some(b)) => b >= a,
                (None, Some(_)) => false,
            },
            ("varchar" | "text", "text") => true,
            ("text", "varchar") => limit(to).is_none(),
            ("numeric", "numeric") => match (self.mods.as_slice(), to.mods.as_slice()) {
                (_, []) => true,
                ([p1, s1], [p2, s2]) => s1 == s2 && p2 >= p1,
                ([p1], [p2]) => p2 >= p1,
                _ => false,
            },
            ("cidr", "inet") => true,
            (a, b) => a == b && self.mods == to.mods,
        }
    }

    pub fn display(&self) -> String {
        let base = match self.name.as_str() {
            "int4" => "integer",
            "int2" => "smallint",
            "int8" => "bigint",
            "bpchar" => "char",
            "timestamptz" => "timestamptz",
            other => other,
        };
        let mut s = base.to_owned();
        if !self.mods.is_empty() {
            let m: Vec<String> = self.mods.iter().map(ToString::to_string).collect();
            s.push_str(&format!("({})", m.join(",")));
        }
        if self.array {
            s.push_str("[]");
        }
        s
    }
}

/// A CHECK constraint the rules care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckConstraint {
    pub name: String,
    /// `Some(col)` when the expression is exactly `col IS NOT NULL`.
    pub not_null_of: Option<String>,
    pub validated: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    /// Index of the migration that created it; `None` for tables created outside the history.
    pub created_in: Option<usize>,
    pub columns: HashMap<String, ColType>,
    pub checks: Vec<CheckConstraint>,
    /// Filled with rows by this migration (CREATE TABLE AS, INSERT): new but not empty.
    pub filled: bool,
}

#[derive(Debug, Clone)]
pub struct Index {
    pub table: String,
    pub created_in: Option<usize>,
}

/// Everything the history has created so far.
#[derive(Debug, Default)]
pub struct Catalog {
    tables: HashMap<String, Table>,
    indexes: HashMap<String, Index>,
    /// Enum types and where they were created.
    enums: HashMap<String, Option<usize>>,
}

impl Catalog {
    /// Whether `table` was created by migration `current` (so it is new and empty to the rest
    /// of the world). Unknown tables exist: something outside the history created them.
    pub fn is_new(&self, table: &str, current: usize) -> bool {
        self.lookup(table)
            .is_some_and(|t| t.created_in == Some(current))
    }

    pub fn lookup(&self, table: &str) -> Option<&Table> {
        self.tables.get(table).or_else(|| {
            // An unqualified name may be a qualified table on the search path.
            let suffix = format!(".{table}");
            (!table.contains('.'))
                .then(|| {
                    self.tables
                        .iter()
                        .find(|(k, _)| k.ends_with(&suffix))
                        .map(|(_, t)| t)
                })
                .flatten()
        })
    }

    fn lookup_mut(&mut self, table: &str) -> Option<&mut Table> {
        if self.tables.contains_key(table) {
            return self.tables.get_mut(table);
        }
        if table.contains('.') {
            return None;
        }
        let suffix = format!(".{table}");
        let key = self.tables.keys().find(|k| k.ends_with(&suffix)).cloned()?;
        self.tables.get_mut(&key)
    }

    pub fn create_table(&mut self, name: &str, created_in: usize) -> &mut Table {
        self.tables.insert(
            name.to_owned(),
            Table {
                created_in: Some(created_in),
                ..Table::default()
            },
        );
        self.tables.entry(name.to_owned()).or_default()
    }

    /// The table, remembered as pre-existing when the history never created it.
    pub fn table_mut(&mut self, name: &str) -> &mut Table {
        if self.lookup_mut(name).is_none() {
            self.tables.insert(name.to_owned(), Table::default());
        }
        self.lookup_mut(name).expect("inserted above")
    }

    pub fn drop_table(&mut self, name: &str) {
        if self.tables.remove(name).is_none() {
            let suffix = format!(".{name}");
            self.tables.retain(|k, _| !k.ends_with(&suffix));
        }
        self.indexes.retain(|_, i| i.table != name);
    }

    pub fn rename_table(&mut self, from: &str, to: &str) {
        let schema_of_from = from.rsplit_once('.').map(|(s, _)| s);
        let to = match schema_of_from {
            Some(s) => format!("{s}.{to}"),
            None => to.to_owned(),
        };
        if let Some(t) = self.tables.remove(from) {
            self.tables.insert(to.clone(), t);
        }
        for i in self.indexes.values_mut() {
            if i.table == from {
                i.table.clone_from(&to);
            }
        }
    }

    pub fn add_index(&mut self, name: &str, table: &str, created_in: usize) {
        if !name.is_empty() {
            self.indexes.insert(
                name.to_owned(),
                Index {
                    table: table.to_owned(),
                    created_in: Some(created_in),
                },
            );
        }
    }

    pub fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.get(name).or_else(|| {
            let short = name.rsplit('.').next().unwrap_or(name);
            self.indexes.get(short)
        })
    }

    pub fn drop_index(&mut self, name: &str) {
        let short = name.rsplit('.').next().unwrap_or(name).to_owned();
        self.indexes.remove(name);
        self.indexes.remove(&short);
    }

    pub fn add_enum(&mut self, name: &str, created_in: usize) {
        self.enums.insert(name.to_owned(), Some(created_in));
    }

    pub fn enum_is_new(&self, name: &str, current: usize) -> bool {
        self.enums.get(name).is_some_and(|c| *c == Some(current))
    }
}

/// `col IS NOT NULL` → `Some(col)`.
pub fn not_null_check_column(expr: Option<&Node>) -> Option<String> {
    let NodeEnum::NullTest(t) = expr?.node.as_ref()? else {
        return None;
    };
    if t.nulltesttype != pg_query::protobuf::NullTestType::IsNotNull as i32 {
        return None;
    }
    let NodeEnum::ColumnRef(c) = t.arg.as_ref()?.node.as_ref()? else {
        return None;
    };
    c.fields.last().and_then(node_str).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(sql_type: &str) -> ColType {
        let sql = format!("CREATE TABLE t (c {sql_type})");
        let parsed = pg_query::parse(&sql, 0).expect("parses");
        let stmt = parsed.protobuf.stmts[0]
            .stmt
            .as_ref()
            .and_then(|n| n.node.as_ref())
            .expect("stmt");
        let NodeEnum::CreateStmt(c) = stmt else {
            panic!("not a CREATE TABLE")
        };
        let Some(NodeEnum::ColumnDef(d)) = c.table_elts[0].node.as_ref() else {
            panic!("not a column")
        };
        ColType::from_type_name(d.type_name.as_ref().expect("type"))
    }

    #[test]
    fn knows_which_type_changes_rewrite() {
        assert!(ty("varchar(10)").changes_without_rewrite(&ty("varchar(20)")));
        assert!(ty("varchar(10)").changes_without_rewrite(&ty("text")));
        assert!(!ty("varchar(20)").changes_without_rewrite(&ty("varchar(10)")));
        assert!(!ty("int").changes_without_rewrite(&ty("bigint")));
        assert!(ty("numeric(10,2)").changes_without_rewrite(&ty("numeric(12,2)")));
        assert!(!ty("timestamp").changes_without_rewrite(&ty("timestamptz")));
        assert_eq!(ty("int").display(), "integer");
        assert!(ty("serial").is_serial());
        assert!(ty("integer").is_small_int());
        assert!(!ty("bigint").is_small_int());
        assert_eq!(ty("character(3)").name, "bpchar");
    }

    #[test]
    fn history_tracks_creation_renames_and_drops() {
        let mut c = Catalog::default();
        c.create_table("users", 0);
        assert!(c.is_new("users", 0));
        assert!(!c.is_new("users", 1));
        assert!(!c.is_new("never_created", 1));
        c.rename_table("users", "accounts");
        assert!(c.lookup("accounts").is_some());
        c.create_table("auth.sessions", 2);
        assert!(
            c.is_new("sessions", 2),
            "unqualified finds the qualified table"
        );
        c.drop_table("accounts");
        assert!(c.lookup("accounts").is_none());
    }
}
