use dbveto_source::Severity;

use crate::{Check, Finding, ProjectFacts, Related, Rule};

pub const RULE: Rule = Rule {
    id: "model-drift",
    summary: "A model and its table disagree: columns the model does not declare, fields the table lacks",
    docs: r#"## What it does
Compares each ORM model with the table its migrations build, once per
model: columns of the table that the model does not declare, and fields of
the model whose column no migration creates.

## Why is this bad?
The ORM writes exactly the fields the model declares. A column the model
does not declare is never sent: if it is `NOT NULL` without a database
default, every insert fails (`not-null-omitted` reports each one). A field
whose column is missing fails every query that reads or writes it:

```
ERROR:  column "sync_attempts" of relation "fleetsync_managedresource" does not exist
```

## Example
A migration adds `managed_file_path` to `fleetsync_managedresource`, but
`ManagedResource` in `models.py` has no such field.

## Use instead
Declare the field on the model (with a default if the code does not set
it), or remove the column in a new migration; for a field without a
column, run `makemigrations`.
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    for drift in &facts.drifts {
        if !drift.database_only.is_empty() {
            let names: Vec<String> = drift.database_only.iter().map(|(c, _, _)| format!("`{c}`")).collect();
            let failing = drift.database_only.iter().filter(|(_, _, fails)| *fails).count();
            let consequence = if failing > 0 {
                format!("{failing} of them NOT NULL without a default, so every insert through the model fails")
            } else {
                "the ORM never writes them".to_string()
            };
            out.push(Finding {
                rule: RULE.id,
                message: format!(
                    "model `{}` does not declare {} column{} of `{}`: {} ({consequence})",
                    drift.model,
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    drift.table,
                    names.join(", ")
                ),
                location: drift.location.clone(),
                table: drift.table.clone(),
                column: drift.database_only.first().map(|(c, _, _)| c.clone()),
                constraint: None,
                value: None,
                related: drift
                    .database_only
                    .iter()
                    .map(|(c, at, _)| Related { location: at.clone(), message: format!("`{c}` is added here") })
                    .collect(),
                help: Some("declare these fields on the model, or drop the columns in a new migration".into()),
                sqlstate: (failing > 0).then_some("23502"),
                severity: Severity::Warning,
                verification: None,
            });
        }
        if !drift.model_only.is_empty() {
            let names: Vec<String> = drift.model_only.iter().map(|(c, _)| format!("`{c}`")).collect();
            out.push(Finding {
                rule: RULE.id,
                message: format!(
                    "model `{}` declares {} field{} that `{}` does not have: {}",
                    drift.model,
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    drift.table,
                    names.join(", ")
                ),
                location: drift.model_only[0].1.clone(),
                table: drift.table.clone(),
                column: drift.model_only.first().map(|(c, _)| c.clone()),
                constraint: None,
                value: None,
                related: drift.model_only.iter().skip(1).map(|(c, at)| Related { location: at.clone(), message: format!("`{c}` is declared here") }).collect(),
                help: Some("create the migration for these fields (`makemigrations`), or remove them from the model".into()),
                sqlstate: Some("42703"),
                severity: Severity::Warning,
                verification: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ModelDrift;
    use dbveto_source::Location;

    #[test]
    fn drift_is_reported_once_per_direction() {
        let at = |line| Location { path: "app/models.py".into(), line, column: 1 };
        let mut drift = ModelDrift {
            model: "app.Item".into(),
            table: "app_item".into(),
            location: at(3),
            database_only: vec![("label".into(), at(40), true), ("note".into(), at(41), false)],
            model_only: vec![("size".into(), at(7))],
        };
        let mut out = Vec::new();
        check(&ProjectFacts { drifts: vec![drift.clone()], ..Default::default() }, &mut out);
        assert_eq!(out.len(), 2);
        assert!(out[0].message.starts_with("model `app.Item` does not declare 2 columns of `app_item`: `label`, `note` (1 of them NOT NULL"));
        assert_eq!(out[1].message, "model `app.Item` declares 1 field that `app_item` does not have: `size`");
        drift.database_only.clear();
        drift.model_only.clear();
        let mut none = Vec::new();
        check(&ProjectFacts { drifts: vec![drift], ..Default::default() }, &mut none);
        assert!(none.is_empty());
    }
}
