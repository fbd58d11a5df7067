//! What a migration statement does to the rows already in a table: the
//! pre-flight of pending migrations counts today's rows against a new
//! constraint, and that count only means something when no statement
//! before the constraint changes those rows (a backfill `UPDATE`, a
//! cleanup `DELETE`).

use dbveto_schema::QualifiedName;

use crate::replay::qualified;
use pg_query::protobuf::node::Node as N;
use pg_query::protobuf::{AlterTableType, Node, NullTestType, RangeVar, UpdateStmt, WithClause};

/// One change to existing rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowChange {
    /// Rows of `table` are added, removed or replaced (`INSERT`, `DELETE`,
    /// `TRUNCATE`, `MERGE`, `COPY ... FROM`), or, with `columns`, only
    /// those columns get new values (`UPDATE ... SET`, `ALTER COLUMN
    /// ... TYPE ... USING`).
    Table { table: QualifiedName, columns: Option<Vec<String>> },
    /// `UPDATE t SET c = <a constant or a function call> WHERE c IS NULL`:
    /// no row of `table` keeps a NULL in `column` (the backfill that comes
    /// before `SET NOT NULL`, and Django's own for a field with a default).
    FillsNulls { table: QualifiedName, column: String },
    /// Code runs whose effect is not known (`DO`, `CALL`, or text that
    /// does not parse).
    Unknown,
}

/// The changes to existing rows that `sql` (one or more statements)
/// makes. DDL changes none; a `SELECT` is taken to change none either,
/// unless a data-modifying `WITH` is part of it.
pub fn row_changes(sql: &str) -> Vec<RowChange> {
    let Ok(parsed) = pg_query::parse(sql, 0) else { return vec![RowChange::Unknown] };
    let mut out = Vec::new();
    for raw in &parsed.protobuf.stmts {
        if let Some(stmt) = raw.stmt.as_deref() {
            statement(stmt, &mut out);
        }
    }
    out
}

fn whole(rv: Option<&RangeVar>, out: &mut Vec<RowChange>) {
    match rv {
        Some(rv) => out.push(RowChange::Table { table: qualified(rv), columns: None }),
        None => out.push(RowChange::Unknown),
    }
}

fn with(clause: Option<&WithClause>, out: &mut Vec<RowChange>) {
    for cte in clause.map(|w| w.ctes.as_slice()).unwrap_or_default() {
        if let Some(N::CommonTableExpr(c)) = &cte.node {
            if let Some(query) = c.ctequery.as_deref() {
                statement(query, out);
            }
        }
    }
}

/// The column an `UPDATE` fills where it is NULL, with a value that is not.
fn fills_nulls(s: &UpdateStmt) -> Option<String> {
    let [target] = s.target_list.as_slice() else { return None };
    let Some(N::ResTarget(target)) = &target.node else { return None };
    if !s.from_clause.is_empty() || !target.indirection.is_empty() || !not_null_value(target.val.as_deref()?) {
        return None;
    }
    let Some(N::NullTest(test)) = s.where_clause.as_deref()?.node.as_ref() else { return None };
    let Some(N::ColumnRef(column)) = test.arg.as_deref()?.node.as_ref() else { return None };
    let is_null = test.nulltesttype() == NullTestType::IsNull;
    let [field] = column.fields.as_slice() else { return None };
    let Some(N::String(field)) = &field.node else { return None };
    (is_null && field.sval == target.name).then(|| target.name.clone())
}

/// A constant other than NULL, or a function's result (a default's).
fn not_null_value(node: &Node) -> bool {
    match &node.node {
        Some(N::AConst(c)) => !c.isnull,
        Some(N::TypeCast(c)) => c.arg.as_deref().is_some_and(not_null_value),
        Some(N::FuncCall(_)) | Some(N::SqlvalueFunction(_)) => true,
        _ => false,
    }
}

fn statement(node: &Node, out: &mut Vec<RowChange>) {
    match &node.node {
        Some(N::InsertStmt(s)) => {
            with(s.with_clause.as_ref(), out);
            whole(s.relation.as_ref(), out);
        }
        Some(N::DeleteStmt(s)) => {
            with(s.with_clause.as_ref(), out);
            whole(s.relation.as_ref(), out);
        }
        Some(N::MergeStmt(s)) => {
            with(s.with_clause.as_ref(), out);
            whole(s.relation.as_ref(), out);
        }
        Some(N::UpdateStmt(s)) => {
            with(s.with_clause.as_ref(), out);
            let columns: Vec<String> = s
                .target_list
                .iter()
                .filter_map(|t| match &t.node {
                    Some(N::ResTarget(r)) => Some(r.name.clone()),
                    _ => None,
                })
                .collect();
            match &s.relation {
                Some(rv) => match fills_nulls(s) {
                    Some(column) => out.push(RowChange::FillsNulls { table: qualified(rv), column }),
                    None => out.push(RowChange::Table { table: qualified(rv), columns: Some(columns) }),
                },
                None => out.push(RowChange::Unknown),
            }
        }
        Some(N::SelectStmt(s)) => with(s.with_clause.as_ref(), out),
        Some(N::TruncateStmt(s)) => {
            for r in &s.relations {
                if let Some(N::RangeVar(rv)) = &r.node {
                    whole(Some(rv), out);
                }
            }
        }
        Some(N::CopyStmt(s)) if s.is_from => whole(s.relation.as_ref(), out),
        Some(N::AlterTableStmt(s)) => {
            let columns: Vec<String> = s
                .cmds
                .iter()
                .filter_map(|c| match &c.node {
                    Some(N::AlterTableCmd(cmd)) if cmd.subtype() == AlterTableType::AtAlterColumnType => Some(cmd.name.clone()),
                    _ => None,
                })
                .collect();
            if let (false, Some(rv)) = (columns.is_empty(), &s.relation) {
                out.push(RowChange::Table { table: qualified(rv), columns: Some(columns) });
            }
        }
        Some(N::DoStmt(_)) | Some(N::CallStmt(_)) => out.push(RowChange::Unknown),
        Some(N::ExplainStmt(s)) => {
            if let Some(query) = s.query.as_deref() {
                statement(query, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(sql: &str) -> Vec<String> {
        row_changes(sql)
            .into_iter()
            .map(|c| match c {
                RowChange::Table { table, columns: None } => format!("{table}"),
                RowChange::Table { table, columns: Some(c) } => format!("{table}({})", c.join(", ")),
                RowChange::FillsNulls { table, column } => format!("{table}: {column} filled"),
                RowChange::Unknown => "?".into(),
            })
            .collect()
    }

    #[test]
    fn data_statements_change_rows() {
        assert_eq!(show("UPDATE orders SET state = 'new', note = NULL WHERE state IS NULL"), ["orders(state, note)"]);
        assert_eq!(show("DELETE FROM billing.orders WHERE state IS NULL; INSERT INTO customers VALUES (1)"), ["billing.orders", "customers"]);
        assert_eq!(show("TRUNCATE a, b"), ["a", "b"]);
        assert_eq!(show("WITH gone AS (DELETE FROM a RETURNING id) SELECT count(*) FROM gone"), ["a"]);
        assert_eq!(show("ALTER TABLE orders ALTER COLUMN total TYPE numeric USING total / 100"), ["orders(total)"]);
        assert_eq!(show("DO $$ BEGIN PERFORM 1; END $$"), ["?"]);
        assert_eq!(show("UPDATE orders SET state = 'new' WHERE state IS NULL"), ["orders: state filled"]);
        assert_eq!(show("UPDATE orders SET state = now()::text WHERE state IS NULL"), ["orders: state filled"]);
        // A value that may itself be NULL, or another condition, fills nothing for sure.
        assert_eq!(show("UPDATE orders SET state = note WHERE state IS NULL"), ["orders(state)"]);
        assert_eq!(show("UPDATE orders SET state = NULL WHERE state IS NULL"), ["orders(state)"]);
        assert_eq!(show("UPDATE orders SET state = 'new' WHERE note IS NULL"), ["orders(state)"]);
        assert_eq!(show("UPDATE orders SET state = 'new' WHERE state IS NOT NULL"), ["orders(state)"]);
        assert_eq!(show("not sql at all"), ["?"]);
    }

    #[test]
    fn ddl_and_reads_change_none() {
        assert_eq!(show("ALTER TABLE orders ALTER COLUMN state SET NOT NULL"), Vec::<String>::new());
        assert_eq!(show("ALTER TABLE orders ADD COLUMN total int NOT NULL DEFAULT 0"), Vec::<String>::new());
        assert_eq!(show("CREATE INDEX ON orders (state); SELECT 1"), Vec::<String>::new());
        assert_eq!(show("COPY orders TO STDOUT"), Vec::<String>::new());
    }
}
