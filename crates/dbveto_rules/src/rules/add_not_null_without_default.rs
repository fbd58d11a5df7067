use dbveto_source::Severity;

use crate::{Check, Finding, ProjectFacts, Related, Rule};

pub const RULE: Rule = Rule {
    id: "add-not-null-without-default",
    summary: "A migration adds a NOT NULL column without a default to a table that already exists",
    docs: r#"## What it does
Finds migrations that add a `NOT NULL` column with no default to a table an
earlier migration created.

## Why is this bad?
On a table that has rows, PostgreSQL has no value for the new column and the
migration fails with SQLSTATE 23502:

```
ERROR:  column "managed_file_path" of relation "fleetsync_managedresource" contains null values
```

A Django `AddField` without `default=` on a field that is neither `null=True`
nor a blank-able string emits exactly that DDL. With `default=`, Django
fills existing rows and then drops the default again, so the migration
passes but code that does not send the column fails afterwards (see
`not-null-omitted`).

## Example
```python
migrations.AddField(
    model_name="managedresource",
    name="managed_file_path",
    field=models.CharField(max_length=500),
)
```

## Use instead
Give the field a default (`default=""`), or add it with `null=True`,
backfill, then make it NOT NULL in a later migration; or give it a
database default with `db_default=` (Django 5.0+).
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    for added in &facts.added_columns {
        let mut related = Vec::new();
        if let Some(created) = &added.table_created {
            related.push(Related { location: created.clone(), message: format!("`{}` is created here, earlier", added.table) });
        }
        out.push(Finding {
            rule: RULE.id,
            message: format!(
                "{} adds `{}` to `{}` NOT NULL without a default: the migration fails if the table has rows",
                added.operation, added.column, added.table
            ),
            location: added.location.clone(),
            table: added.table.clone(),
            column: Some(added.column.clone()),
            constraint: None,
            value: None,
            related,
            help: (!added.fixes.is_empty()).then(|| added.fixes.join("; or ")),
            sqlstate: Some("23502"),
            severity: Severity::Error,
            verification: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AddedColumn;
    use dbveto_source::Location;

    #[test]
    fn added_column_is_reported_with_its_fixes() {
        let at = |line| Location { path: "app/migrations/0004.py".into(), line, column: 9 };
        let facts = ProjectFacts {
            added_columns: vec![AddedColumn {
                table: "shop_item".into(),
                column: "label".into(),
                operation: "AddField".into(),
                location: at(13),
                table_created: Some(at(1)),
                fixes: vec!["give it `default=''`".into(), "add it with `null=True`".into()],
            }],
            ..Default::default()
        };
        let mut out = Vec::new();
        check(&facts, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].message, "AddField adds `label` to `shop_item` NOT NULL without a default: the migration fails if the table has rows");
        assert_eq!(out[0].help.as_deref(), Some("give it `default=''`; or add it with `null=True`"));
        let mut none = Vec::new();
        check(&ProjectFacts::default(), &mut none);
        assert!(none.is_empty());
    }
}
