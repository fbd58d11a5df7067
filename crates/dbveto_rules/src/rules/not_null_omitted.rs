use dbveto_schema::{Schema, Table};
use dbveto_source::Severity;
use dbveto_writes::{Literal, Write, WriteKind};

use super::{schema_related, value_site};
use crate::{target_columns, Check, Finding, Related, Rule};

pub const RULE: Rule = Rule {
    id: "not-null-omitted",
    summary: "An INSERT leaves out a NOT NULL column that has no default, or writes NULL into one",
    docs: r#"## What it does
Finds INSERT statements that leave out a column which is `NOT NULL` and has
no default, identity or generation expression, and writes that send an
explicit `NULL` (or `DEFAULT` without a default) into a `NOT NULL` column.

## Why is this bad?
PostgreSQL fills a left-out column with its default, and with `NULL` when
there is none. The statement fails with SQLSTATE 23502:

```
ERROR:  null value in column "agent_id" of relation "update_logs" violates not-null constraint
```

This happens when a migration adds a `NOT NULL` column (or runs `SET NOT
NULL`) and the code that inserts into the table was not changed with it.

## Example
```sql
-- migrations/004_agent.up.sql
ALTER TABLE update_logs ADD COLUMN agent_id uuid;
ALTER TABLE update_logs ALTER COLUMN agent_id SET NOT NULL;
```
```go
db.Exec(`INSERT INTO update_logs (command_id, result) VALUES ($1, $2)`, id, "success")
```

## Use instead
Send the column, or give it a default in a new migration:
```sql
ALTER TABLE update_logs ALTER COLUMN agent_id SET DEFAULT '00000000-0000-0000-0000-000000000000';
```
"#,
    check: Check::Write(check),
};

fn check(table: &Table, _schema: &Schema, write: &Write, out: &mut Vec<Finding>) {
    let Some(targets) = target_columns(table, write) else { return };
    if write.kind == WriteKind::Insert {
        for column in &table.columns {
            if !column.not_null || column.fills_itself() || targets.iter().any(|t| t.name == column.name) {
                continue;
            }
            // A write whose columns are not all known is judged only on the
            // columns it is known not to send.
            let evidence = match write.known_omitted.iter().find(|o| o.column == column.name) {
                Some(known) => format!(" ({})", known.evidence),
                None if write.partial => continue,
                None => String::new(),
            };
            let (message, help) = match &write.model {
                // The ORM sends the fields the model declares, nothing else.
                Some(model) => (
                    format!(
                        "`{}` never sends `{}`: the model `{model}` does not declare it{evidence}, and `{}.{}` is NOT NULL without a default",
                        write.statement, column.name, table.name, column.name
                    ),
                    format!("declare `{}` on `{model}` (with a default if the code does not set it), or give the column a DEFAULT in a new migration", column.name),
                ),
                None => (
                    format!("INSERT into `{}` leaves out `{}`, which is NOT NULL without a default", table.name, column.name),
                    format!("send `{}`, or give it a DEFAULT in a new migration", column.name),
                ),
            };
            out.push(Finding {
                rule: RULE.id,
                message,
                location: write.location.clone(),
                table: table.name.to_string(),
                column: Some(column.name.clone()),
                constraint: None,
                value: None,
                related: related(write, column),
                help: Some(help),
                sqlstate: Some("23502"),
                severity: Severity::Error,
                verification: None,
            });
        }
    }
    for (column, arg) in targets.iter().zip(&write.values) {
        if !column.not_null {
            continue;
        }
        let default_is_null = arg.default && !column.fills_itself();
        if default_is_null && write.kind == WriteKind::Insert {
            out.push(Finding {
                rule: RULE.id,
                message: format!("`DEFAULT` for `{}.{}` is NULL: the column is NOT NULL without a default", table.name, column.name),
                location: write.location.clone(),
                table: table.name.to_string(),
                column: Some(column.name.clone()),
                constraint: None,
                value: Some(Literal::Null),
                related: related(write, column),
                help: Some(format!("send a value for `{}`, or give it a DEFAULT in a new migration", column.name)),
                sqlstate: Some("23502"),
                severity: Severity::Error,
                verification: None,
            });
        }
        for value in arg.known.iter().filter(|v| v.literal == Literal::Null) {
            let (location, mut rel) = value_site(write, value);
            rel.extend(related(write, column).into_iter().filter(|r| r.location != write.location));
            out.push(Finding {
                rule: RULE.id,
                message: match &value.via {
                    Some(via) if write.model.is_some() => format!("NULL written to `{}.{}`, which is NOT NULL: {via}", table.name, column.name),
                    _ => format!("NULL written to `{}.{}`, which is NOT NULL", table.name, column.name),
                },
                location,
                table: table.name.to_string(),
                column: Some(column.name.clone()),
                constraint: None,
                value: Some(Literal::Null),
                related: rel,
                help: Some(format!("send a value for `{}`, or drop NOT NULL in a new migration", column.name)),
                sqlstate: Some("23502"),
                severity: Severity::Error,
                verification: None,
            });
        }
    }
}

fn related(write: &Write, column: &dbveto_schema::Column) -> Vec<Related> {
    let mut out = vec![schema_related(&column.provenance.current, format!("`{}` is NOT NULL since this statement", column.name))];
    if let Some(call) = &write.call {
        if *call != write.location {
            out.push(Related { location: call.clone(), message: "run here".into() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::test_support::{check, messages};

    const LOGS: &str = "CREATE TABLE update_logs (
        id bigserial PRIMARY KEY,
        command_id text NOT NULL,
        agent_id uuid NOT NULL,
        note text,
        created_at timestamptz NOT NULL DEFAULT now(),
        seq int GENERATED ALWAYS AS IDENTITY
    );";

    #[test]
    fn omitted_not_null_column_is_reported() {
        let f = check(&RULE, LOGS, "INSERT INTO update_logs (command_id) VALUES ($1)", &[None]);
        assert_eq!(messages(&f), ["INSERT into `update_logs` leaves out `agent_id`, which is NOT NULL without a default"]);
        assert_eq!(f[0].related[0].location.line, 4);
    }

    #[test]
    fn a_partial_write_is_judged_only_on_the_columns_known_omitted() {
        use dbveto_writes::{KnownOmission, Write, WriteKind, TableRef};
        let schema = crate::test_support::schema("CREATE TABLE r (id bigserial PRIMARY KEY, name text NOT NULL, custom text NOT NULL, path text NOT NULL);");
        let file = dbveto_source::SourceFile::new("app/sync.py", "R.objects.create(name='x')");
        let mut write = Write {
            kind: WriteKind::Insert,
            table: TableRef { schema: None, name: "r".into() },
            columns: Some(vec!["name".into()]),
            values: vec![dbveto_writes::Arg::unknown()],
            location: file.location(0),
            call: None,
            statement: "R.objects.create(...)".into(),
            model: Some("R".into()),
            partial: true,
            known_omitted: Vec::new(),
        };
        // The base class may send `custom` and `path`: nothing is said.
        assert!(crate::check_write(&[&RULE], &schema, &write).is_empty());
        write.known_omitted.push(KnownOmission { column: "path".into(), evidence: "nor does its base `Base`".into() });
        let f = crate::check_write(&[&RULE], &schema, &write);
        assert_eq!(messages(&f), ["`R.objects.create(...)` never sends `path`: the model `R` does not declare it (nor does its base `Base`), and `r.path` is NOT NULL without a default"]);
    }

    #[test]
    fn defaulted_identity_serial_and_nullable_columns_may_be_omitted() {
        let f = check(&RULE, LOGS, "INSERT INTO update_logs (command_id, agent_id) VALUES ($1, $2)", &[None, None]);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn not_null_added_later_by_set_not_null() {
        let ddl = "CREATE TABLE t (a int, b int);\nALTER TABLE t ALTER COLUMN b SET NOT NULL;";
        let f = check(&RULE, ddl, "INSERT INTO t (a) VALUES (1)", &[]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].related[0].location.line, 2);
    }

    #[test]
    fn default_added_later_makes_omission_fine() {
        let ddl = "CREATE TABLE t (a int, b int NOT NULL);\nALTER TABLE t ALTER COLUMN b SET DEFAULT 0;";
        assert!(check(&RULE, ddl, "INSERT INTO t (a) VALUES (1)", &[]).is_empty());
    }

    #[test]
    fn explicit_null_and_default_keyword_are_reported() {
        let ddl = "CREATE TABLE t (a int NOT NULL, b int NOT NULL DEFAULT 1);";
        let f = check(&RULE, ddl, "INSERT INTO t (a, b) VALUES (NULL, DEFAULT)", &[]);
        assert_eq!(messages(&f), ["NULL written to `t.a`, which is NOT NULL"]);
        let f = check(&RULE, ddl, "INSERT INTO t (a, b) VALUES (DEFAULT, 2)", &[]);
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn positional_insert_fills_columns_in_order() {
        let ddl = "CREATE TABLE t (a int NOT NULL, b int NOT NULL);";
        assert_eq!(check(&RULE, ddl, "INSERT INTO t VALUES (1)", &[]).len(), 1);
        assert!(check(&RULE, ddl, "INSERT INTO t VALUES (1, 2)", &[]).is_empty());
    }

    #[test]
    fn unknown_column_means_a_different_schema_and_no_finding() {
        let ddl = "CREATE TABLE t (a int NOT NULL, b int NOT NULL);";
        assert!(check(&RULE, ddl, "INSERT INTO t (a, zzz) VALUES (1, 2)", &[]).is_empty());
    }

    #[test]
    fn insert_select_and_on_conflict_are_understood() {
        let ddl = "CREATE TABLE t (a int NOT NULL, b int NOT NULL);";
        assert_eq!(check(&RULE, ddl, "INSERT INTO t (a) SELECT 1 ON CONFLICT DO NOTHING RETURNING a", &[]).len(), 1);
        assert!(check(&RULE, ddl, "INSERT INTO t (a, b) SELECT x, y FROM s ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b", &[]).is_empty());
    }
}
