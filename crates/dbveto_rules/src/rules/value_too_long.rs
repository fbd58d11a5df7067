use dbveto_schema::{Column, DataType, Schema, Table};
use dbveto_source::Severity;
use dbveto_writes::{Literal, Write};

use super::{schema_related, value_site};
use crate::{target_columns, Check, Finding, Rule};

pub const RULE: Rule = Rule {
    id: "value-too-long",
    summary: "A known string is longer than the column's varchar(n) or char(n)",
    docs: r#"## What it does
Finds statically known strings written to a `varchar(n)` or `char(n)`
column (or a domain over one) that are longer than `n` characters.

## Why is this bad?
The statement fails with SQLSTATE 22001:

```
ERROR:  value too long for type character varying(20)
```

PostgreSQL trims trailing spaces beyond the limit silently, so only the
string without them counts.

## Example
```sql
status varchar(8) NOT NULL
```
```python
cur.execute("UPDATE jobs SET status = %s", ("cancelled_by_user",))
```

## Use instead
Widen the column in a new migration (`ALTER COLUMN status TYPE varchar(32)`)
or write a shorter value.
"#,
    check: Check::Write(check),
};

/// The length of a string too long for `column` (trailing spaces do not
/// count, as PostgreSQL trims them), with the column's limit and type.
pub(crate) fn too_long<'s>(schema: &'s Schema, column: &'s Column, literal: &Literal) -> Option<(usize, u32, &'s DataType)> {
    let data_type = schema.domain(&column.data_type).map(|d| &d.base).unwrap_or(&column.data_type);
    let (Some(limit), true) = (data_type.length, matches!(data_type.name.as_str(), "character varying" | "character")) else { return None };
    let Literal::Str(s) = literal else { return None };
    let length = s.trim_end_matches(' ').chars().count();
    (data_type.array_dims == 0 && length > limit as usize).then_some((length, limit, data_type))
}

fn check(table: &Table, schema: &Schema, write: &Write, out: &mut Vec<Finding>) {
    let Some(targets) = target_columns(table, write) else { return };
    for (column, arg) in targets.iter().zip(&write.values) {
        for value in &arg.known {
            let Some((length, limit, data_type)) = too_long(schema, column, &value.literal) else { continue };
            let (location, mut related) = value_site(write, value);
            related.push(schema_related(&column.provenance.current, format!("`{}` is {} here", column.name, data_type.display())));
            out.push(Finding {
                rule: RULE.id,
                message: format!(
                    "{} ({length} characters) is too long for `{}.{}` of type {}",
                    value.literal.to_sql(),
                    table.name,
                    column.name,
                    data_type.display()
                ),
                location,
                table: table.name.to_string(),
                column: Some(column.name.clone()),
                constraint: None,
                value: Some(value.literal.clone()),
                related,
                help: Some(format!("widen `{}` in a new migration, or write at most {limit} characters", column.name)),
                sqlstate: Some("22001"),
                severity: Severity::Error,
                verification: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RULE;
    use crate::test_support::{check, messages};

    const JOBS: &str = "CREATE TABLE jobs (status varchar(8), code char(2), body text);";

    #[test]
    fn long_string_is_reported() {
        let f = check(&RULE, JOBS, "UPDATE jobs SET status = $1", &[Some("cancelled_by_user")]);
        assert_eq!(messages(&f), ["'cancelled_by_user' (17 characters) is too long for `jobs.status` of type character varying(8)"]);
    }

    #[test]
    fn fitting_strings_trailing_spaces_and_text_are_fine() {
        assert!(check(&RULE, JOBS, "INSERT INTO jobs (status, code, body) VALUES ('done', 'ab', $1)", &[Some(&"x".repeat(500))]).is_empty());
        assert!(check(&RULE, JOBS, "INSERT INTO jobs (status) VALUES ('done        ')", &[]).is_empty());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(check(&RULE, JOBS, "INSERT INTO jobs (code) VALUES ('éé')", &[]).is_empty());
        assert_eq!(check(&RULE, JOBS, "INSERT INTO jobs (code) VALUES ('ééé')", &[]).len(), 1);
    }
}
