//! Objects written back as SQL by PostgreSQL's own deparser (through
//! pg_query), for the DDL dbveto derives from a schema: what an exclusion
//! constraint or an expression or partial index is cannot be said with a
//! list of column names.

use pg_query::protobuf::node::Node as N;
use dbveto_schema::QualifiedName;
use pg_query::protobuf::{AlterTableCmd, AlterTableStmt, AlterTableType, Constraint, DropBehavior, IndexElem, IndexStmt, Node, ObjectType, RangeVar, SortByDir, SortByNulls};

/// `EXCLUDE USING gist (room WITH =, during WITH &&)` of an exclusion
/// constraint: what follows `CONSTRAINT name` in `ALTER TABLE ... ADD`.
pub(crate) fn constraint_definition(k: &Constraint) -> Option<String> {
    const TABLE: &str = "ALTER TABLE t ADD ";
    let mut k = k.clone();
    k.conname.clear();
    let cmd = AlterTableCmd {
        subtype: AlterTableType::AtAddConstraint as i32,
        def: Some(Box::new(Node { node: Some(N::Constraint(Box::new(k))) })),
        behavior: DropBehavior::DropRestrict as i32,
        ..Default::default()
    };
    let relation = RangeVar { relname: "t".into(), inh: true, relpersistence: "p".into(), ..Default::default() };
    let stmt = AlterTableStmt {
        relation: Some(relation),
        cmds: vec![Node { node: Some(N::AlterTableCmd(Box::new(cmd))) }],
        objtype: ObjectType::ObjectTable as i32,
        missing_ok: false,
    };
    let sql = N::AlterTableStmt(stmt).deparse(Default::default()).ok()?;
    sql.strip_prefix(TABLE).map(str::to_string)
}

/// The constraint that `definition` (what follows `ALTER TABLE t ADD`)
/// describes, as the parser reads it.
pub(crate) fn parse_constraint(definition: &str) -> Option<Box<Constraint>> {
    let parsed = pg_query::parse(&format!("ALTER TABLE t ADD {definition}"), 0).ok()?;
    let Some(N::AlterTableStmt(a)) = parsed.protobuf.stmts.into_iter().next()?.stmt?.node else { return None };
    let Some(N::AlterTableCmd(cmd)) = a.cmds.into_iter().next()?.node else { return None };
    let Some(N::Constraint(k)) = cmd.def?.node else { return None };
    Some(k)
}

/// An exclusion constraint's definition after `RENAME COLUMN old TO new`.
pub fn constraint_renaming_column(definition: &str, old: &str, new: &str) -> Option<String> {
    let mut k = parse_constraint(definition)?;
    for pair in &mut k.exclusions {
        // `(element, operator)` lists.
        let Some(N::List(l)) = &mut pair.node else { continue };
        if let Some(Node { node: Some(N::IndexElem(e)) }) = l.items.first_mut() {
            rename_in_element(e, old, new);
        }
    }
    if let Some(w) = k.where_clause.as_deref_mut() {
        rename_columns(w, old, new);
    }
    constraint_definition(&k)
}

/// A CHECK's expression after `RENAME COLUMN old TO new`, as PostgreSQL's
/// deparser writes it.
pub fn check_renaming_column(expression: &str, old: &str, new: &str) -> Option<String> {
    let mut k = parse_constraint(&format!("CHECK ({expression})"))?;
    rename_columns(k.raw_expr.as_deref_mut()?, old, new);
    constraint_definition(&k)?.strip_prefix("CHECK (")?.strip_suffix(')').map(str::to_string)
}

/// Renames the column an index element names or its expression reads.
fn rename_in_element(e: &mut IndexElem, old: &str, new: &str) {
    if e.name == old {
        e.name = new.to_string();
    }
    if let Some(expr) = e.expr.as_deref_mut() {
        rename_columns(expr, old, new);
    }
}

/// The `CREATE INDEX` statement of an index, with the name it got; `None`
/// when a list of its columns says all (a plain B-tree index on columns,
/// which renames keep up to date as names).
pub(crate) fn index_definition(i: &IndexStmt, name: &str) -> Option<String> {
    if is_plain(i) {
        return None;
    }
    let mut i = i.clone();
    i.idxname = name.to_string();
    i.if_not_exists = false;
    i.concurrent = false;
    deparse_index(i)
}

fn deparse_index(i: IndexStmt) -> Option<String> {
    N::IndexStmt(Box::new(i)).deparse(Default::default()).ok()
}

/// An index on columns only, in B-tree order, of the whole table.
fn is_plain(i: &IndexStmt) -> bool {
    let plain_element = |n: &Node| match &n.node {
        Some(N::IndexElem(e)) => {
            // Ascending with NULLs last is B-tree's own order.
            let ascending = !matches!(e.ordering(), SortByDir::SortbyDesc | SortByDir::SortbyUsing);
            let nulls_last = !matches!(e.nulls_ordering(), SortByNulls::SortbyNullsFirst);
            !e.name.is_empty() && e.expr.is_none() && e.collation.is_empty() && e.opclass.is_empty() && ascending && nulls_last
        }
        _ => false,
    };
    (i.access_method.is_empty() || i.access_method == "btree")
        && i.where_clause.is_none()
        && i.index_including_params.is_empty()
        && !i.nulls_not_distinct
        && i.index_params.iter().all(plain_element)
}

/// The index a `CREATE INDEX` statement makes, changed by `change`, and
/// written back; `None` when the text is not one.
fn rewrite_index(definition: &str, change: impl FnOnce(&mut IndexStmt)) -> Option<String> {
    let parsed = pg_query::parse(definition, 0).ok()?;
    let Some(N::IndexStmt(i)) = parsed.protobuf.stmts.first()?.stmt.as_ref()?.node.clone() else { return None };
    let mut i = *i;
    change(&mut i);
    deparse_index(i)
}

/// The definition after `ALTER TABLE ... RENAME COLUMN old TO new`.
pub fn index_renaming_column(definition: &str, old: &str, new: &str) -> Option<String> {
    rewrite_index(definition, |i| {
        for p in &mut i.index_params {
            if let Some(N::IndexElem(e)) = &mut p.node {
                rename_in_element(e, old, new);
            }
        }
        if let Some(w) = i.where_clause.as_deref_mut() {
            rename_columns(w, old, new);
        }
    })
}

/// The definition of the index under a new name, on a table of a new name.
pub fn index_renamed(definition: &str, name: &str, table: &QualifiedName) -> Option<String> {
    rewrite_index(definition, |i| {
        i.idxname = name.to_string();
        if let Some(rv) = &mut i.relation {
            rv.schemaname = table.schema.clone();
            rv.relname = table.name.clone();
        }
    })
}

/// Every column an index reads: its key columns, and those its
/// expressions and WHERE clause name. Dropping any drops the index.
pub fn index_columns(definition: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(parsed) = pg_query::parse(definition, 0) else { return out };
    let Some(N::IndexStmt(i)) = parsed.protobuf.stmts.first().and_then(|s| s.stmt.as_ref()).and_then(|s| s.node.as_ref()) else { return out };
    for p in &i.index_params {
        if let Some(N::IndexElem(e)) = &p.node {
            if !e.name.is_empty() {
                out.push(e.name.clone());
            }
            if let Some(expr) = e.expr.as_deref() {
                crate::expr::columns_read(expr, &mut out);
            }
        }
    }
    if let Some(w) = i.where_clause.as_deref() {
        crate::expr::columns_read(w, &mut out);
    }
    out
}

/// Renames the column references of an expression (the node kinds
/// `expr::columns_read` follows).
fn rename_columns(node: &mut Node, old: &str, new: &str) {
    let Some(n) = node.node.as_mut() else { return };
    let each = |nodes: &mut Vec<Node>| nodes.iter_mut().for_each(|n| rename_columns(n, old, new));
    match n {
        N::ColumnRef(c) => {
            if let Some(Node { node: Some(N::String(s)) }) = c.fields.last_mut() {
                if s.sval == old {
                    s.sval = new.to_string();
                }
            }
        }
        N::AExpr(e) => {
            e.lexpr.as_deref_mut().into_iter().chain(e.rexpr.as_deref_mut()).for_each(|n| rename_columns(n, old, new));
        }
        N::BoolExpr(b) => each(&mut b.args),
        N::NullTest(t) => t.arg.as_deref_mut().into_iter().for_each(|n| rename_columns(n, old, new)),
        N::BooleanTest(t) => t.arg.as_deref_mut().into_iter().for_each(|n| rename_columns(n, old, new)),
        N::TypeCast(c) => c.arg.as_deref_mut().into_iter().for_each(|n| rename_columns(n, old, new)),
        N::CollateClause(c) => c.arg.as_deref_mut().into_iter().for_each(|n| rename_columns(n, old, new)),
        N::FuncCall(f) => each(&mut f.args),
        N::List(l) => each(&mut l.items),
        N::AArrayExpr(a) => each(&mut a.elements),
        N::CoalesceExpr(c) => each(&mut c.args),
        N::MinMaxExpr(m) => each(&mut m.args),
        N::CaseExpr(c) => {
            c.arg.as_deref_mut().into_iter().chain(c.defresult.as_deref_mut()).for_each(|n| rename_columns(n, old, new));
            each(&mut c.args);
        }
        N::CaseWhen(w) => w.expr.as_deref_mut().into_iter().chain(w.result.as_deref_mut()).for_each(|n| rename_columns(n, old, new)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(sql: &str) -> N {
        let parsed = pg_query::parse(sql, 0).expect("parse");
        parsed.protobuf.stmts[0].stmt.as_ref().and_then(|s| s.node.clone()).expect("statement")
    }

    #[test]
    fn an_exclusion_constraint_is_written_back() {
        let N::AlterTableStmt(a) = first("ALTER TABLE b ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled)") else {
            panic!("not an ALTER TABLE")
        };
        let Some(N::AlterTableCmd(cmd)) = a.cmds[0].node.as_ref() else { panic!("no command") };
        let Some(N::Constraint(k)) = cmd.def.as_ref().and_then(|d| d.node.as_ref()) else { panic!("no constraint") };
        assert_eq!(constraint_definition(k).as_deref(), Some("EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled)"));
    }

    #[test]
    fn an_index_is_written_back_with_its_name() {
        let N::IndexStmt(i) = first("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS b_email ON b (lower(email::text)) WHERE state <> 'gone'") else {
            panic!("not a CREATE INDEX")
        };
        let definition = index_definition(&i, "b_lower_idx").expect("an expression index has a definition");
        assert_eq!(definition, "CREATE UNIQUE INDEX b_lower_idx ON b USING btree (lower(email::text)) WHERE state <> 'gone'");
        assert_eq!(index_columns(&definition), ["email", "state"]);
        let renamed = index_renaming_column(&definition, "email", "mail").expect("renamed");
        assert_eq!(renamed, "CREATE UNIQUE INDEX b_lower_idx ON b USING btree (lower(mail::text)) WHERE state <> 'gone'");
        let moved = index_renamed(&renamed, "c_mail", &QualifiedName::new("billing", "c")).expect("moved");
        assert_eq!(moved, "CREATE UNIQUE INDEX c_mail ON billing.c USING btree (lower(mail::text)) WHERE state <> 'gone'");
    }

    #[test]
    fn plain_indexes_are_their_columns() {
        let index = |sql: &str| match first(sql) {
            N::IndexStmt(i) => index_definition(&i, "x"),
            _ => panic!("not a CREATE INDEX"),
        };
        assert_eq!(index("CREATE INDEX ON b (a, c)"), None);
        assert_eq!(index("CREATE UNIQUE INDEX ON b USING btree (a ASC)"), None);
        let like = index("CREATE INDEX ON b (a varchar_pattern_ops)").expect("an operator class");
        assert_eq!(index_renaming_column(&like, "a", "z").as_deref(), Some("CREATE INDEX x ON b USING btree (z varchar_pattern_ops)"));
        assert!(index("CREATE INDEX ON b USING gin (tags)").is_some());
        assert!(index("CREATE INDEX ON b (a) INCLUDE (c)").is_some());
        assert!(index("CREATE INDEX ON b (a DESC NULLS LAST)").is_some());
    }
}
