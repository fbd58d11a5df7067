//! What a migration statement does to the rows already in a table: the
//! pre-flight of pending migrations counts today's rows against a new
//! constraint, and that count only means something when no statement
//! before the constraint changes those rows (a backfill `UPDATE`, a
//! cleanup `DELETE`).

use dbveto_schema::QualifiedName;

use crate::replay::qualified;
use crate::statements::parse_sql;
use pg_raw_parse::nodes::{AlterTableType, NullTestType, RangeVar, UpdateStmt, WithClause};
use pg_raw_parse::Node;

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
    let Ok(parsed) = parse_sql(sql) else { return vec![RowChange::Unknown] };
    let mut out = Vec::new();
    for raw in parsed.iter() {
        statement(raw.stmt(), &mut out);
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
    for cte in clause.into_iter().flat_map(|w| w.ctes()) {
        statement(cte.ctequery(), out);
    }
}

/// The column an `UPDATE` fills where it is NULL, with a value that is not.
fn fills_nulls(s: &UpdateStmt) -> Option<String> {
    let mut targets = s.target_list().iter();
    let (Some(target), None) = (targets.next(), targets.next()) else { return None };
    if !s.from_clause().is_empty() || !target.indirection().is_empty() || !not_null_value(target.val()) {
        return None;
    }
    let Node::NullTest(test) = s.where_clause() else { return None };
    let Node::ColumnRef(column) = test.arg() else { return None };
    let is_null = test.nulltesttype == NullTestType::IS_NULL;
    let mut fields = column.fields().iter();
    let (Some(field), None) = (fields.next(), fields.next()) else { return None };
    let name = target.name()?;
    (is_null && field.as_str() == Some(name)).then(|| name.to_string())
}

/// A constant other than NULL, or a function's result (a default's).
fn not_null_value(node: Node<'_>) -> bool {
    match node {
        Node::A_Const(c) => !c.isnull,
        Node::TypeCast(c) => not_null_value(c.arg()),
        Node::FuncCall(_) | Node::SQLValueFunction(_) => true,
        _ => false,
    }
}

fn statement(node: Node<'_>, out: &mut Vec<RowChange>) {
    match node {
        Node::InsertStmt(s) => {
            with(s.with_clause(), out);
            whole(s.relation(), out);
        }
        Node::DeleteStmt(s) => {
            with(s.with_clause(), out);
            whole(s.relation(), out);
        }
        Node::MergeStmt(s) => {
            with(s.with_clause(), out);
            whole(s.relation(), out);
        }
        Node::UpdateStmt(s) => {
            with(s.with_clause(), out);
            let columns: Vec<String> = s.target_list().iter().map(|r| r.name().unwrap_or("").to_string()).collect();
            match s.relation() {
                Some(rv) => match fills_nulls(s) {
                    Some(column) => out.push(RowChange::FillsNulls { table: qualified(rv), column }),
                    None => out.push(RowChange::Table { table: qualified(rv), columns: Some(columns) }),
                },
                None => out.push(RowChange::Unknown),
            }
        }
        Node::SelectStmt(s) => with(s.with_clause(), out),
        Node::TruncateStmt(s) => {
            for r in s.relations() {
                if let Node::RangeVar(rv) = r {
                    whole(Some(rv), out);
                }
            }
        }
        Node::CopyStmt(s) if s.is_from => whole(s.relation(), out),
        Node::AlterTableStmt(s) => {
            let columns: Vec<String> = s
                .cmds()
                .iter()
                .filter_map(|c| match c {
                    Node::AlterTableCmd(cmd) if cmd.subtype == AlterTableType::AT_AlterColumnType => Some(cmd.name().unwrap_or("").to_string()),
                    _ => None,
                })
                .collect();
            if let (false, Some(rv)) = (columns.is_empty(), s.relation()) {
                out.push(RowChange::Table { table: qualified(rv), columns: Some(columns) });
            }
        }
        Node::DoStmt(_) | Node::CallStmt(_) => out.push(RowChange::Unknown),
        Node::ExplainStmt(s) => statement(s.query(), out),
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
