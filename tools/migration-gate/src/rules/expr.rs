//! Judges default expressions: constant, non-volatile (evaluated once per ALTER), or
//! volatile (evaluated per row: the table is rewritten).

use pg_query::NodeEnum;
use pg_query::protobuf::Node;

use crate::catalog::node_str;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Volatility {
    /// Evaluated once: PostgreSQL 11+ stores it in the catalog, no rewrite.
    Stable,
    /// Evaluated per row, or a function we cannot vouch for: the name says which.
    Volatile(String),
}

/// Functions that are STABLE or IMMUTABLE in PostgreSQL and common in defaults.
const NON_VOLATILE: &[&str] = &[
    "now",
    "transaction_timestamp",
    "statement_timestamp",
    "current_timestamp",
    "current_date",
    "localtimestamp",
    "lower",
    "upper",
    "btrim",
    "ltrim",
    "rtrim",
    "concat",
    "concat_ws",
    "length",
    "replace",
    "substring",
    "substr",
    "md5",
    "to_json",
    "to_jsonb",
    "json_build_object",
    "jsonb_build_object",
    "json_build_array",
    "jsonb_build_array",
    "array_fill",
    "make_interval",
    "make_date",
    "date_trunc",
    "timezone",
    "to_timestamp",
    "to_char",
    "current_setting",
    "current_schema",
    "current_user",
    "session_user",
    "inet_client_addr",
    "abs",
    "round",
    "floor",
    "ceil",
    "least",
    "greatest",
    "nullif",
    "coalesce",
    "extract",
    "date_part",
    "jsonb",
    "int4",
    "int8",
    "text",
];

/// Functions whose per-row evaluation forces a rewrite.
const VOLATILE: &[&str] = &[
    "random",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "txid_current",
    "setseed",
];

pub fn volatility(expr: &Node) -> Volatility {
    let mut worst = Volatility::Stable;
    walk(expr, &mut worst);
    worst
}

fn walk(n: &Node, worst: &mut Volatility) {
    if matches!(worst, Volatility::Volatile(_)) {
        return;
    }
    let Some(node) = n.node.as_ref() else {
        return;
    };
    match node {
        NodeEnum::AConst(_) | NodeEnum::SqlvalueFunction(_) | NodeEnum::ParamRef(_) => {}
        NodeEnum::TypeCast(c) => {
            if let Some(a) = &c.arg {
                walk(a, worst);
            }
        }
        NodeEnum::FuncCall(f) => {
            let name = f
                .funcname
                .iter()
                .filter_map(node_str)
                .next_back()
                .unwrap_or("")
                .to_ascii_lowercase();
            if VOLATILE.contains(&name.as_str()) || !NON_VOLATILE.contains(&name.as_str()) {
                *worst = Volatility::Volatile(format!("{name}()"));
                return;
            }
            for a in &f.args {
                walk(a, worst);
            }
        }
        NodeEnum::AExpr(e) => {
            for side in [&e.lexpr, &e.rexpr].into_iter().flatten() {
                walk(side, worst);
            }
        }
        NodeEnum::BoolExpr(b) => b.args.iter().for_each(|a| walk(a, worst)),
        NodeEnum::CoalesceExpr(c) => c.args.iter().for_each(|a| walk(a, worst)),
        NodeEnum::MinMaxExpr(m) => m.args.iter().for_each(|a| walk(a, worst)),
        NodeEnum::AArrayExpr(a) => a.elements.iter().for_each(|e| walk(e, worst)),
        NodeEnum::List(l) => l.items.iter().for_each(|e| walk(e, worst)),
        NodeEnum::CaseExpr(c) => {
            for a in c.args.iter().chain(c.defresult.iter().map(AsRef::as_ref)) {
                walk(a, worst);
            }
        }
        NodeEnum::CaseWhen(w) => {
            for a in [&w.expr, &w.result].into_iter().flatten() {
                walk(a, worst);
            }
        }
        NodeEnum::ColumnRef(_) => {}
        NodeEnum::SubLink(_) => *worst = Volatility::Volatile("a subquery".to_owned()),
        other => {
            // Anything else we cannot vouch for is treated as per-row.
            let name = format!("{other:?}");
            let kind = name
                .split(['(', ' '])
                .next()
                .unwrap_or("expression")
                .to_owned();
            *worst = Volatility::Volatile(kind);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_of(expr: &str) -> Volatility {
        let sql = format!("SELECT {expr}");
        let parsed = pg_query::parse(&sql, 0).expect("parses");
        let Some(NodeEnum::SelectStmt(s)) = parsed.protobuf.stmts[0]
            .stmt
            .as_ref()
            .and_then(|n| n.node.as_ref())
        else {
            panic!("select")
        };
        let Some(NodeEnum::ResTarget(t)) = s.target_list[0].node.as_ref() else {
            panic!("target")
        };
        volatility(t.val.as_ref().expect("val"))
    }

    #[test]
    fn constants_and_stable_functions_do_not_rewrite() {
        for e in [
            "0",
            "'x'",
            "now()",
            "CURRENT_TIMESTAMP",
            "'{}'::jsonb",
            "ARRAY[]::text[]",
            "-1",
            "true",
        ] {
            assert_eq!(default_of(e), Volatility::Stable, "{e}");
        }
    }

    #[test]
    fn volatile_and_unknown_functions_do() {
        assert_eq!(
            default_of("gen_random_uuid()"),
            Volatility::Volatile("gen_random_uuid()".into())
        );
        assert!(matches!(default_of("my_func(1)"), Volatility::Volatile(_)));
        assert!(matches!(
            default_of("nextval('s'::regclass)"),
            Volatility::Volatile(_)
        ));
    }
}
