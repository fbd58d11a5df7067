//! Objects written back as SQL by PostgreSQL's own deparser (through
//! libpg_query), for the DDL dbveto derives from a schema: what an exclusion
//! constraint or an expression or partial index is cannot be said with a
//! list of column names.

use std::ffi::c_char;

use dbveto_schema::QualifiedName;
use pg_raw_parse::make::{owned, MemoryToken, Unique};
use pg_raw_parse::nodes::{
    AlterTableCmd, AlterTableStmt, AlterTableType, Constraint, DropBehavior, IndexElemMut, IndexStmt, IndexStmtMut, ObjectType,
    RangeVar, SortByDir, SortByNulls,
};
use pg_raw_parse::{Node, NodeMut, ParseResult};

use crate::expr::present;
use crate::statements::parse_sql;

/// `EXCLUDE USING gist (room WITH =, during WITH &&)` of an exclusion
/// constraint: what follows `CONSTRAINT name` in `ALTER TABLE ... ADD`.
pub(crate) fn constraint_definition(k: &Constraint) -> Option<String> {
    add_constraint_sql(|mem| mem.make_unique(k))
}

/// What follows `ALTER TABLE t ADD` when PostgreSQL's deparser writes the
/// constraint that `constraint` copies (and changes) into a new tree,
/// without its name.
fn add_constraint_sql<F>(constraint: F) -> Option<String>
where
    F: for<'mem> FnOnce(MemoryToken<'mem>) -> Unique<'mem, &'mem Constraint>,
{
    const TABLE: &str = "ALTER TABLE t ADD ";
    let stmt = owned(|mem| {
        let mut k = constraint(mem);
        k.as_mut().set_conname(None);
        let mut cmd = mem.make_node::<AlterTableCmd>();
        let mut c = cmd.as_mut();
        c.set_subtype(AlterTableType::AT_AddConstraint);
        c.set_def(k.uncast());
        c.set_behavior(DropBehavior::DROP_RESTRICT);
        let mut relation = mem.make_node::<RangeVar>();
        let mut r = relation.as_mut();
        r.set_relname(Some(mem.copy_string("t")));
        r.set_inh(true);
        r.set_relpersistence(b'p' as c_char);
        let mut stmt = mem.make_node::<AlterTableStmt>();
        let mut s = stmt.as_mut();
        s.set_relation(relation.as_option());
        s.set_cmds(mem.make_list(&[cmd.uncast()]));
        s.set_objtype(ObjectType::OBJECT_TABLE);
        stmt
    });
    let sql = pg_raw_parse::deparse(&*stmt).ok()?;
    sql.as_str().strip_prefix(TABLE).map(str::to_string)
}

/// The parse of `ALTER TABLE t ADD {definition}`, when it adds a
/// constraint ([`constraint_of`] reads it).
pub(crate) fn parse_constraint(definition: &str) -> Option<ParseResult> {
    let parsed = parse_sql(&format!("ALTER TABLE t ADD {definition}")).ok()?;
    constraint_of(&parsed)?;
    Some(parsed)
}

/// The constraint of a [`parse_constraint`].
pub(crate) fn constraint_of(parsed: &ParseResult) -> Option<&Constraint> {
    let Node::AlterTableStmt(a) = parsed.first()?.stmt() else { return None };
    let Node::AlterTableCmd(cmd) = a.cmds().first()? else { return None };
    let Node::Constraint(k) = cmd.def() else { return None };
    Some(k)
}

/// An exclusion constraint's definition after `RENAME COLUMN old TO new`.
pub fn constraint_renaming_column(definition: &str, old: &str, new: &str) -> Option<String> {
    let parsed = parse_constraint(definition)?;
    let k = constraint_of(&parsed)?;
    add_constraint_sql(|mem| {
        let mut k = mem.make_unique(k);
        let mut m = k.as_mut();
        for pair in m.exclusions_mut() {
            // `(element, operator)` lists.
            let NodeMut::NodeList(l) = pair else { continue };
            if let Some(NodeMut::IndexElem(e)) = l.into_iter().next() {
                rename_in_element(mem, e, old, new);
            }
        }
        rename_columns(mem, m.where_clause_mut(), old, new);
        k
    })
}

/// A CHECK's expression after `RENAME COLUMN old TO new`, as PostgreSQL's
/// deparser writes it.
pub fn check_renaming_column(expression: &str, old: &str, new: &str) -> Option<String> {
    let parsed = parse_constraint(&format!("CHECK ({expression})"))?;
    let k = constraint_of(&parsed)?;
    let sql = add_constraint_sql(|mem| {
        let mut k = mem.make_unique(k);
        rename_columns(mem, k.as_mut().raw_expr_mut(), old, new);
        k
    })?;
    sql.strip_prefix("CHECK (")?.strip_suffix(')').map(str::to_string)
}

/// Renames the column an index element names or its expression reads.
fn rename_in_element<'mem>(mem: MemoryToken<'mem>, mut e: IndexElemMut<'mem, '_>, old: &str, new: &str) {
    if e.name() == Some(old) {
        e.set_name(Some(mem.copy_string(new)));
    }
    rename_columns(mem, e.expr_mut(), old, new);
}

/// The `CREATE INDEX` statement of an index, with the name it got; `None`
/// when a list of its columns says all (a plain B-tree index on columns,
/// which renames keep up to date as names).
pub(crate) fn index_definition(i: &IndexStmt, name: &str) -> Option<String> {
    if is_plain(i) {
        return None;
    }
    deparse_index(i, |mem, mut i| {
        i.set_idxname(Some(mem.copy_string(name)));
        i.set_if_not_exists(false);
        i.set_concurrent(false);
    })
}

/// Writes back a copy of `i` that `change` changes.
fn deparse_index<F>(i: &IndexStmt, change: F) -> Option<String>
where
    F: for<'mem, 'm> FnOnce(MemoryToken<'mem>, IndexStmtMut<'mem, 'm>),
{
    let copy = owned(|mem| {
        let mut copy = mem.make_unique(i);
        change(mem, copy.as_mut());
        copy
    });
    pg_raw_parse::deparse(&*copy).ok().map(|sql| sql.as_str().to_string())
}

/// An index on columns only, in B-tree order, of the whole table.
fn is_plain(i: &IndexStmt) -> bool {
    let plain_element = |e: &pg_raw_parse::nodes::IndexElem| {
        // Ascending with NULLs last is B-tree's own order.
        let ascending = !matches!(e.ordering, SortByDir::SORTBY_DESC | SortByDir::SORTBY_USING);
        let nulls_last = e.nulls_ordering != SortByNulls::SORTBY_NULLS_FIRST;
        e.name().is_some_and(|n| !n.is_empty())
            && present(e.expr()).is_none()
            && e.collation().is_empty()
            && e.opclass().is_empty()
            && ascending
            && nulls_last
    };
    matches!(i.access_method(), None | Some("" | "btree"))
        && present(i.where_clause()).is_none()
        && i.index_including_params().is_empty()
        && !i.nulls_not_distinct
        && i.index_params().iter().all(plain_element)
}

/// The index a `CREATE INDEX` statement makes, changed by `change`, and
/// written back; `None` when the text is not one.
fn rewrite_index<F>(definition: &str, change: F) -> Option<String>
where
    F: for<'mem, 'm> FnOnce(MemoryToken<'mem>, IndexStmtMut<'mem, 'm>),
{
    let parsed = parse_sql(definition).ok()?;
    let Node::IndexStmt(i) = parsed.first()?.stmt() else { return None };
    deparse_index(i, change)
}

/// The definition after `ALTER TABLE ... RENAME COLUMN old TO new`.
pub fn index_renaming_column(definition: &str, old: &str, new: &str) -> Option<String> {
    rewrite_index(definition, |mem, mut i| {
        for e in i.index_params_mut() {
            rename_in_element(mem, e, old, new);
        }
        rename_columns(mem, i.where_clause_mut(), old, new);
    })
}

/// The definition of the index under a new name, on a table of a new name.
pub fn index_renamed(definition: &str, name: &str, table: &QualifiedName) -> Option<String> {
    rewrite_index(definition, |mem, mut i| {
        i.set_idxname(Some(mem.copy_string(name)));
        if let Some(mut rv) = i.relation_mut() {
            rv.set_schemaname(Some(mem.copy_string(&table.schema)));
            rv.set_relname(Some(mem.copy_string(&table.name)));
        }
    })
}

/// Every column an index reads: its key columns, and those its
/// expressions and WHERE clause name. Dropping any drops the index.
pub fn index_columns(definition: &str) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(parsed) = parse_sql(definition) else { return out };
    let Some(Node::IndexStmt(i)) = parsed.first().map(|s| s.stmt()) else { return out };
    for e in i.index_params() {
        if let Some(name) = e.name().filter(|n| !n.is_empty()) {
            out.push(name.to_string());
        }
        crate::expr::columns_read(e.expr(), &mut out);
    }
    crate::expr::columns_read(i.where_clause(), &mut out);
    out
}

/// Renames the column references of an expression (the node kinds
/// `expr::columns_read` follows).
fn rename_columns<'mem>(mem: MemoryToken<'mem>, node: NodeMut<'mem, '_>, old: &str, new: &str) {
    match node {
        NodeMut::ColumnRef(mut c) => {
            if let Some(NodeMut::String(mut s)) = c.fields_mut().into_iter().last() {
                if s.sval() == Some(old) {
                    s.set_sval(Some(mem.copy_string(new)));
                }
            }
        }
        NodeMut::A_Expr(mut e) => {
            rename_columns(mem, e.lexpr_mut(), old, new);
            rename_columns(mem, e.rexpr_mut(), old, new);
        }
        NodeMut::BoolExpr(mut b) => b.args_mut().into_iter().for_each(|n| rename_columns(mem, n, old, new)),
        NodeMut::NullTest(mut t) => rename_columns(mem, t.arg_mut(), old, new),
        NodeMut::BooleanTest(mut t) => rename_columns(mem, t.arg_mut(), old, new),
        NodeMut::TypeCast(mut c) => rename_columns(mem, c.arg_mut(), old, new),
        NodeMut::CollateClause(mut c) => rename_columns(mem, c.arg_mut(), old, new),
        NodeMut::FuncCall(mut f) => f.args_mut().into_iter().for_each(|n| rename_columns(mem, n, old, new)),
        NodeMut::NodeList(l) => l.into_iter().for_each(|n| rename_columns(mem, n, old, new)),
        NodeMut::A_ArrayExpr(mut a) => a.elements_mut().into_iter().for_each(|n| rename_columns(mem, n, old, new)),
        NodeMut::CoalesceExpr(mut c) => c.args_mut().into_iter().for_each(|n| rename_columns(mem, n, old, new)),
        NodeMut::MinMaxExpr(mut m) => m.args_mut().into_iter().for_each(|n| rename_columns(mem, n, old, new)),
        NodeMut::CaseExpr(mut c) => {
            rename_columns(mem, c.arg_mut(), old, new);
            rename_columns(mem, c.defresult_mut(), old, new);
            c.args_mut().into_iter().for_each(|n| rename_columns(mem, n, old, new));
        }
        NodeMut::CaseWhen(mut w) => {
            rename_columns(mem, w.expr_mut(), old, new);
            rename_columns(mem, w.result_mut(), old, new);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(sql: &str) -> Option<String> {
        let parsed = parse_sql(sql).expect("parse");
        let Node::IndexStmt(i) = parsed.first().expect("a statement").stmt() else { panic!("not a CREATE INDEX") };
        index_definition(i, "x")
    }

    #[test]
    fn an_exclusion_constraint_is_written_back() {
        let parsed = parse_constraint("CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled)").expect("parse");
        let k = constraint_of(&parsed).expect("a constraint");
        assert_eq!(constraint_definition(k).as_deref(), Some("EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled)"));
        let renamed = constraint_renaming_column("EXCLUDE USING gist (room WITH =, during WITH &&) WHERE (NOT cancelled)", "room", "hall");
        assert_eq!(renamed.as_deref(), Some("EXCLUDE USING gist (hall WITH =, during WITH &&) WHERE (NOT cancelled)"));
        assert_eq!(check_renaming_column("(state = ANY (ARRAY['a'::text])) AND (n > 0)", "state", "status").as_deref(), Some("status = ANY(ARRAY['a'::text]) AND n > 0"));
    }

    #[test]
    fn an_index_is_written_back_with_its_name() {
        let parsed = parse_sql("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS b_email ON b (lower(email::text)) WHERE state <> 'gone'").expect("parse");
        let Node::IndexStmt(i) = parsed.first().expect("a statement").stmt() else { panic!("not a CREATE INDEX") };
        let definition = index_definition(i, "b_lower_idx").expect("an expression index has a definition");
        assert_eq!(definition, "CREATE UNIQUE INDEX b_lower_idx ON b USING btree (lower(email::text)) WHERE state <> 'gone'");
        assert_eq!(index_columns(&definition), ["email", "state"]);
        let renamed = index_renaming_column(&definition, "email", "mail").expect("renamed");
        assert_eq!(renamed, "CREATE UNIQUE INDEX b_lower_idx ON b USING btree (lower(mail::text)) WHERE state <> 'gone'");
        let moved = index_renamed(&renamed, "c_mail", &QualifiedName::new("billing", "c")).expect("moved");
        assert_eq!(moved, "CREATE UNIQUE INDEX c_mail ON billing.c USING btree (lower(mail::text)) WHERE state <> 'gone'");
    }

    #[test]
    fn plain_indexes_are_their_columns() {
        assert_eq!(index("CREATE INDEX ON b (a, c)"), None);
        assert_eq!(index("CREATE UNIQUE INDEX ON b USING btree (a ASC)"), None);
        let like = index("CREATE INDEX ON b (a varchar_pattern_ops)").expect("an operator class");
        assert_eq!(index_renaming_column(&like, "a", "z").as_deref(), Some("CREATE INDEX x ON b USING btree (z varchar_pattern_ops)"));
        assert!(index("CREATE INDEX ON b USING gin (tags)").is_some());
        assert!(index("CREATE INDEX ON b (a) INCLUDE (c)").is_some());
        assert!(index("CREATE INDEX ON b (a DESC NULLS LAST)").is_some());
    }
}
