//! Putting findings to the server: each finding becomes a row PostgreSQL
//! accepts (the baseline) and the one change the finding is about (the
//! offending value, or the column left out). The finding is confirmed only
//! when the server accepts the baseline and refuses the change with the
//! finding's SQLSTATE (and constraint or column, when both name one).
//! Everything runs in one transaction that is always rolled back, each
//! finding in its own savepoint.

use dbveto_rules::{Finding, Verification, VerificationStatus};
use dbveto_schema::{QualifiedName, Schema, Table};
use postgres::Client;

use crate::apply::one_line;
use crate::ddl::type_sql;
use crate::error::describe;
use crate::rows::{Builder, Shape};
use crate::sql::{ident, qualified};

/// Proves every finding on `client` against the catalog `schema` the
/// server has, and records the outcome on the finding.
pub fn prove_all(client: &mut Client, schema: &Schema, findings: &mut [&mut Finding]) -> Result<(), String> {
    client
        .batch_execute("BEGIN; SET CONSTRAINTS ALL IMMEDIATE; SET LOCAL statement_timeout = '30s'")
        .map_err(|e| format!("could not start a transaction: {}", describe(&e)))?;
    let mut builder = Builder::new(client, schema);
    for (i, finding) in findings.iter_mut().enumerate() {
        let sp = format!("dbveto_finding_{i}");
        let v = match builder.exec(&format!("SAVEPOINT {sp}")) {
            Ok(()) => {
                let v = prove(&mut builder, schema, finding);
                if let Err(e) = builder.exec(&format!("ROLLBACK TO SAVEPOINT {sp}")) {
                    let _ = builder.exec("ROLLBACK");
                    return Err(format!("could not roll back: {e}"));
                }
                v
            }
            Err(e) => skipped(format!("could not open a savepoint: {e}")),
        };
        finding.verification = Some(v);
    }
    builder.exec("ROLLBACK").map_err(|e| format!("could not roll back: {e}"))
}

fn skipped(message: impl Into<String>) -> Verification {
    Verification { status: VerificationStatus::Skipped, sqlstate: None, message: message.into(), statement: None }
}

fn not_reproduced(message: impl Into<String>, statement: Option<String>) -> Verification {
    Verification { status: VerificationStatus::NotReproduced, sqlstate: None, message: message.into(), statement }
}

/// Why a rule's findings are not statements to run, if they are not.
pub fn not_a_statement(finding: &Finding) -> Option<String> {
    match (finding.rule, finding.sqlstate) {
        ("model-drift", _) => Some("drift between a model and its table is not one statement; the writes it breaks are verified as not-null-omitted".into()),
        ("identifier-too-long", None) => Some("a framework's check refuses the name before any SQL runs; there is no statement for PostgreSQL to refuse".into()),
        ("identifier-too-long", Some(_)) => Some("PostgreSQL truncates a long name with a notice; the finding is about the name, not a row".into()),
        (_, None) => Some("not a database error; nothing for PostgreSQL to refuse".into()),
        _ => None,
    }
}

/// The table a finding names: `name` in `public`, or `schema.name`.
pub fn table_name(finding: &Finding) -> QualifiedName {
    match finding.table.split_once('.') {
        Some((schema, name)) => QualifiedName::new(schema, name),
        None => QualifiedName::public(finding.table.clone()),
    }
}

fn prove(builder: &mut Builder, schema: &Schema, finding: &Finding) -> Verification {
    if let Some(reason) = not_a_statement(finding) {
        return skipped(reason);
    }
    let name = table_name(finding);
    let Some(table) = schema.tables.get(&name) else {
        return not_reproduced(format!("PostgreSQL has no table `{name}`"), None);
    };
    let Some(column) = finding.column.as_deref() else {
        return skipped("the finding names no column to write");
    };
    if table.column(column).is_none() {
        return not_reproduced(format!("PostgreSQL's `{name}` has no column `{column}`"), None);
    }
    if finding.rule == "add-not-null-without-default" {
        return prove_added_column(builder, table, column, finding);
    }
    if finding.rule == "fk-insert-order" {
        return prove_missing_parent(builder, schema, table, column, finding);
    }
    // The baseline gives the column a valid value when it can, so that the
    // offending row differs from an accepted one in that column alone.
    let baseline = match builder.valid_row(table, &Shape { include: vec![column], exclude: None }) {
        Ok(row) => row,
        Err(first) => match builder.valid_row(table, &Shape::default()) {
            Ok(row) => row,
            Err(_) => return skipped(format!("dbveto could not build a row PostgreSQL accepts: {first}")),
        },
    };
    let offending = match &finding.value {
        Some(value) => baseline.with(column, value.to_sql()),
        None => baseline.without(column),
    };
    let (sql, _) = offending.insert();
    judge(builder, finding, &sql)
}

/// Replays the migration on a table that has a row: drop the column, insert
/// a valid row, add the column back NOT NULL without a default.
fn prove_added_column(builder: &mut Builder, table: &Table, column: &str, finding: &Finding) -> Verification {
    let Some(c) = table.column(column) else { return skipped("no such column") };
    let target = qualified(&table.name.schema, &table.name.name);
    if let Err(e) = builder.exec(&format!("ALTER TABLE {target} DROP COLUMN {} CASCADE", ident(column))) {
        return skipped(format!("could not set the table back to before the migration: {e}"));
    }
    let row = match builder.valid_row(table, &Shape { include: Vec::new(), exclude: Some(column) }) {
        Ok(row) => row,
        Err(e) => return skipped(format!("dbveto could not build a row PostgreSQL accepts: {e}")),
    };
    if let Err(e) = builder.exec(&row.insert().0) {
        return skipped(format!("could not insert the existing row: {e}"));
    }
    let sql = format!("ALTER TABLE {target} ADD COLUMN {} {} NOT NULL", ident(column), type_sql(&c.data_type));
    judge(builder, finding, &sql)
}

/// A child row sent before its parent: a row the server accepts, with
/// its foreign key changed to a key no parent row has (yet), checked at
/// once even when the constraint is deferrable.
fn prove_missing_parent(builder: &mut Builder, schema: &Schema, table: &Table, column: &str, finding: &Finding) -> Verification {
    let Some(c) = table.column(column) else { return skipped("no such column") };
    let baseline = match builder.valid_row(table, &Shape { include: vec![column], exclude: None }) {
        Ok(row) => row,
        Err(e) => return skipped(format!("dbveto could not build a row PostgreSQL accepts: {e}")),
    };
    let parent_key = baseline.values.iter().find(|(k, _)| k == column).map(|(_, v)| v.clone());
    let Some(orphan) = crate::rows::candidates_for(schema, table, column, &c.data_type).into_iter().find(|v| Some(v) != parent_key.as_ref()) else {
        return skipped(format!("dbveto found no value of `{column}` that no parent row has"));
    };
    let sql = format!("SET CONSTRAINTS ALL IMMEDIATE; {}", baseline.with(column, orphan).insert().0);
    judge(builder, finding, &sql)
}

/// Runs `sql` in a savepoint and compares the server's answer with the
/// finding's claim.
fn judge(builder: &mut Builder, finding: &Finding, sql: &str) -> Verification {
    let statement = Some(one_line(sql));
    if let Err(e) = builder.exec("SAVEPOINT dbveto_judge") {
        return skipped(format!("could not open a savepoint: {e}"));
    }
    let result = builder.client().batch_execute(sql);
    let _ = builder.exec("ROLLBACK TO SAVEPOINT dbveto_judge");
    let error = match result {
        Ok(()) => return not_reproduced("PostgreSQL accepted the statement", statement),
        Err(e) => e,
    };
    let Some(db) = error.as_db_error() else {
        return skipped(format!("the statement did not reach a verdict: {}", describe(&error)));
    };
    let code = db.code().code().to_string();
    let expected = finding.sqlstate.unwrap_or_default();
    let mut status = if code == expected { VerificationStatus::Confirmed } else { VerificationStatus::NotReproduced };
    let mut message = db.message().to_string();
    if status == VerificationStatus::Confirmed {
        // Another constraint or column than the finding's is another failure.
        if let (Some(theirs), Some(ours)) = (db.constraint(), finding.constraint.as_deref()) {
            if theirs != ours && matches!(expected, "23514" | "23503" | "23505") {
                status = VerificationStatus::NotReproduced;
                message = format!("{message} (the finding names `{ours}`)");
            }
        }
        if let (Some(theirs), Some(ours)) = (db.column(), finding.column.as_deref()) {
            if theirs != ours && expected == "23502" {
                status = VerificationStatus::NotReproduced;
                message = format!("{message} (the finding names `{ours}`)");
            }
        }
    } else {
        message = format!("{message} (SQLSTATE {code}, the finding expects {expected})");
    }
    Verification { status, sqlstate: Some(code), message, statement }
}
