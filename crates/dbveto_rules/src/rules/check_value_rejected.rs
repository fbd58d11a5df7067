use dbveto_schema::{ConstraintKind, Schema, Table};
use dbveto_source::Severity;
use dbveto_writes::{KnownValue, Literal, Write};

use super::{schema_related, value_site};
use crate::{target_columns, Check, Finding, Rule};

pub const RULE: Rule = Rule {
    id: "check-value-rejected",
    summary: "A value written to a column is outside its CHECK constraint or enum",
    docs: r#"## What it does
Finds INSERT and UPDATE statements that write a statically known value
which a CHECK constraint of the table (or of the column's domain) rejects,
or which is not a label of the column's enum type. Values come from the SQL
itself, from constants and literal arguments bound to its parameters, and
from struct fields bound to named parameters (`db:"result"` with sqlx).

## Why is this bad?
The statement fails with SQLSTATE 23514 (22P02 for an enum):

```
ERROR:  new row for relation "update_logs" violates check constraint "update_logs_result_check"
```

It happens when code learns a new state (`"timed_out"`) and the migration
that lists the allowed states is not changed with it.

## Example
```sql
-- migrations/001_create_update_logs.up.sql
result varchar(20) NOT NULL CHECK (result IN ('success', 'failed', 'partial'))
```
```go
entry := &models.UpdateLog{CommandID: cmd.ID, Result: "timed_out"}
```

## Use instead
Add the value in a new migration (drop the constraint and add it back with
the new value), or write one of the allowed values:
```sql
ALTER TABLE update_logs DROP CONSTRAINT update_logs_result_check;
ALTER TABLE update_logs ADD CONSTRAINT update_logs_result_check
    CHECK (result IN ('success', 'failed', 'partial', 'timed_out'));
```

A value dbveto cannot know statically is never reported. A CHECK that is
not a value set or comparison is not judged statically.
"#,
    check: Check::Write(check),
};

fn check(table: &Table, schema: &Schema, write: &Write, out: &mut Vec<Finding>) {
    let Some(targets) = target_columns(table, write) else { return };
    for (column, arg) in targets.iter().zip(&write.values) {
        for value in &arg.known {
            // PostgreSQL casts to the column's type before it checks: a string
            // too long fails with 22001 (`value-too-long`), never reaching the CHECK.
            if super::value_too_long::too_long(schema, column, &value.literal).is_some() {
                continue;
            }
            for k in &table.constraints {
                let ConstraintKind::Check { predicate, .. } = &k.kind else { continue };
                if !predicate.columns().contains(&column.name.as_str()) || !predicate.eval(&column.name, &value.literal).surely_false() {
                    continue;
                }
                let allowed = predicate.allowed_values(&column.name);
                out.push(finding(table, &column.name, write, value, Some(&k.name), &k.provenance.current, allowed, "23514"));
            }
            if let Some(domain) = schema.domain(&column.data_type) {
                for k in &domain.checks {
                    let ConstraintKind::Check { predicate, .. } = &k.kind else { continue };
                    if predicate.eval("value", &value.literal).surely_false() {
                        let allowed = predicate.allowed_values("value");
                        out.push(finding(table, &column.name, write, value, Some(&k.name), &k.provenance.current, allowed, "23514"));
                    }
                }
            }
            if let (Some(en), Literal::Str(s)) = (schema.enum_type(&column.data_type), &value.literal) {
                if !en.labels.contains(s) {
                    let labels: Vec<Literal> = en.labels.iter().map(|l| Literal::Str(l.clone())).collect();
                    let mut f = finding(table, &column.name, write, value, None, &en.provenance.current, Some(labels.iter().collect()), "22P02");
                    f.message = format!("{} is not a label of enum `{}` of `{}.{}`", value.literal.to_sql(), en.name, table.name, column.name);
                    if let Some(r) = f.related.last_mut() {
                        r.message = format!("enum `{}` defined here", en.name);
                    }
                    out.push(f);
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    table: &Table,
    column: &str,
    write: &Write,
    value: &KnownValue,
    constraint: Option<&str>,
    provenance: &dbveto_schema::Provenance,
    allowed: Option<Vec<&Literal>>,
    sqlstate: &'static str,
) -> Finding {
    let (location, mut related) = value_site(write, value);
    let name = constraint.unwrap_or_default();
    related.push(schema_related(provenance, format!("check constraint `{name}` defined here")));
    let help = match allowed {
        Some(values) => {
            let list: Vec<String> = values.iter().map(|v| v.to_sql()).collect();
            format!("allowed values: {}; add {} in a new migration or write an allowed value", list.join(", "), value.literal.to_sql())
        }
        None => "change the value, or change the constraint in a new migration".to_string(),
    };
    let via = value.via.as_deref().map(|v| format!(" (via {v})")).unwrap_or_default();
    Finding {
        rule: RULE.id,
        message: format!(
            "{} written to `{}.{column}` violates check constraint `{name}`{via}",
            value.literal.to_sql(),
            table.name
        ),
        location,
        table: table.name.to_string(),
        column: Some(column.to_string()),
        constraint: constraint.map(str::to_string),
        value: Some(value.literal.clone()),
        related,
        help: Some(help),
        sqlstate: Some(sqlstate),
        severity: Severity::Error,
        verification: None,
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::test_support::{check, messages};

    const LOGS: &str = "CREATE TABLE update_logs (
        id bigserial PRIMARY KEY,
        result varchar(20) NOT NULL CHECK (result IN ('success', 'failed', 'partial'))
    );";

    #[test]
    fn value_outside_the_set_is_reported_with_the_postgres_name() {
        let f = check(&RULE, LOGS, "INSERT INTO update_logs (result) VALUES ($1)", &[Some("timed_out")]);
        assert_eq!(messages(&f), ["'timed_out' written to `update_logs.result` violates check constraint `update_logs_result_check`"]);
        assert_eq!(f[0].constraint.as_deref(), Some("update_logs_result_check"));
        assert_eq!(f[0].related.last().unwrap().location.line, 3);
    }

    #[test]
    fn a_value_too_long_for_the_column_fails_its_length_first() {
        // 22001 before any CHECK: `value-too-long` reports it, not this rule.
        assert!(check(&RULE, LOGS, "INSERT INTO update_logs (result) VALUES ($1)", &[Some("timed_out_after_retries")]).is_empty());
    }

    #[test]
    fn allowed_and_unknown_values_are_fine() {
        assert!(check(&RULE, LOGS, "INSERT INTO update_logs (result) VALUES ($1)", &[Some("failed")]).is_empty());
        assert!(check(&RULE, LOGS, "INSERT INTO update_logs (result) VALUES ($1)", &[None]).is_empty());
    }

    #[test]
    fn constraint_dropped_and_re_added_with_the_value_allows_it() {
        let ddl = format!(
            "{LOGS}\nALTER TABLE update_logs DROP CONSTRAINT update_logs_result_check;\n\
             ALTER TABLE update_logs ADD CONSTRAINT update_logs_result_check CHECK (result IN ('success', 'failed', 'partial', 'timed_out'));"
        );
        assert!(check(&RULE, &ddl, "INSERT INTO update_logs (result) VALUES ('timed_out')", &[]).is_empty());
    }

    #[test]
    fn update_set_literal_is_checked() {
        let f = check(&RULE, LOGS, "UPDATE update_logs SET result = 'expired' WHERE id = $1", &[None]);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn any_array_form_and_ranges() {
        let ddl = "CREATE TABLE j (state text CHECK (state = ANY (ARRAY['a'::text, 'b'::text])), qty int CHECK (qty > 0));";
        assert_eq!(check(&RULE, ddl, "INSERT INTO j (state, qty) VALUES ('c', 0)", &[]).len(), 2);
        assert!(check(&RULE, ddl, "INSERT INTO j (state, qty) VALUES ('a', 1)", &[]).is_empty());
    }

    #[test]
    fn enum_labels_and_added_values() {
        let ddl = "CREATE TYPE mood AS ENUM ('sad', 'ok');\nALTER TYPE mood ADD VALUE 'happy';\nCREATE TABLE m (m mood);";
        assert!(check(&RULE, ddl, "INSERT INTO m (m) VALUES ('happy')", &[]).is_empty());
        let f = check(&RULE, ddl, "INSERT INTO m (m) VALUES ('angry')", &[]);
        assert_eq!(messages(&f), ["'angry' is not a label of enum `mood` of `m.m`"]);
        assert_eq!(f[0].sqlstate, Some("22P02"));
    }

    #[test]
    fn domain_checks_apply_to_columns_of_the_domain() {
        let ddl = "CREATE DOMAIN status AS text CHECK (VALUE IN ('on', 'off'));\nCREATE TABLE d (s status);";
        let f = check(&RULE, ddl, "INSERT INTO d (s) VALUES ('dim')", &[]);
        assert_eq!(f[0].constraint.as_deref(), Some("status_check"));
    }

    #[test]
    fn null_passes_a_check() {
        assert!(check(&RULE, "CREATE TABLE n (r text CHECK (r IN ('a')));", "INSERT INTO n (r) VALUES (NULL)", &[]).is_empty());
    }
}
