//! What the project rules need from a Django project: the names models and
//! migrations give, the columns migrations add to tables that may hold
//! rows, and where models and tables disagree.

use dbveto_facts::{AddedColumn, GivenName, ModelDrift, NameLimit, ProjectFacts, Related};
use dbveto_schema::Schema;

use crate::naming::INDEX_MAX_NAME;
use crate::Django;

pub fn facts(django: &Django) -> ProjectFacts {
    let mut facts = ProjectFacts::default();
    let schema = django.migrations.as_ref().map(|m| &m.schema);
    let given = django.migrations.as_ref().map(|m| &m.names[..]).unwrap_or(&[]);
    // Tables a migration gives a field of a class dbveto does not know: it
    // has a column dbveto cannot name (`import_string(settings.DEFAULT_AUTO_FIELD)`).
    let unknown_columns: std::collections::HashSet<String> = django
        .migrations
        .iter()
        .flat_map(|m| m.state.models.values())
        .filter(|m| m.has_table() && m.fields.iter().any(|(_, f)| !crate::field::is_known_class(&f.class.base)))
        .map(|m| m.db_table())
        .collect();
    for model in &django.models.models {
        let table = model.table.clone();
        for index in &model.state.options.indexes {
            let Some(name) = &index.name else { continue };
            let related = given
                .iter()
                .filter(|g| g.name == *name)
                .map(|g| Related { location: g.location.clone(), message: format!("the migration creates `{name}` here") })
                .collect();
            facts.names.push(GivenName {
                name: name.clone(),
                what: "index",
                table: table.clone(),
                location: index.location.clone(),
                limit: Some(NameLimit {
                    max: INDEX_MAX_NAME,
                    by: "Django's Index.max_name_length",
                    reporter: "Django",
                    error: format!(
                        "{}.{}: (models.E034) The index name '{name}' cannot be longer than {INDEX_MAX_NAME} characters.",
                        model.state.app_label, model.state.name
                    ),
                }),
                related,
            });
        }
        for constraint in &model.state.options.constraints {
            if let Some(name) = &constraint.name {
                facts.names.push(GivenName {
                    name: name.clone(),
                    what: "constraint",
                    table: table.clone(),
                    location: constraint.location.clone(),
                    limit: None,
                    related: Vec::new(),
                });
            }
        }
        if let Some(schema) = schema {
            if let Some(drift) = drift(model, schema, &unknown_columns) {
                facts.drifts.push(drift);
            }
        }
    }
    // Names only a migration gives (the model no longer has them): only
    // the database's limit applies.
    let in_models: Vec<&str> = facts.names.iter().map(|n| n.name.as_str()).collect();
    let extra: Vec<GivenName> = given
        .iter()
        .filter(|g| !in_models.contains(&g.name.as_str()))
        .map(|g| GivenName {
            name: g.name.clone(),
            what: g.what,
            table: String::new(),
            location: g.location.clone(),
            limit: None,
            related: Vec::new(),
        })
        .collect();
    facts.names.extend(extra);
    if let Some(applied) = &django.migrations {
        for added in &applied.added_fields {
            let f = &added.field;
            let fills = f.null
                || f.db_default.is_some()
                || f.default.is_some()
                || (f.blank && f.empty_strings_allowed())
                || f.auto_now
                || f.is_many_to_many()
                || f.is_generated();
            if fills {
                continue;
            }
            let Some(column) = f.column(&added.name) else { continue };
            let table_created = applied
                .schema
                .table(None, &added.table)
                .map(|t| t.provenance.created().location.clone());
            facts.added_columns.push(AddedColumn {
                table: added.table.clone(),
                column,
                operation: format!("`AddField` of `{}`", f.class.written),
                location: added.location.clone(),
                table_created,
                fixes: vec![
                    format!("give `{}` a `default=` (Django fills existing rows, then drops it)", added.name),
                    "add it with `null=True`, fill the rows, then make it NOT NULL in a later migration".into(),
                    "use `db_default=` (Django 5.0+) to keep a database default".into(),
                ],
            });
        }
    }
    facts
}

fn drift(model: &crate::Model, schema: &Schema, unknown_columns: &std::collections::HashSet<String>) -> Option<ModelDrift> {
    if model.incomplete || model.state.options.uncertain || !model.state.has_table() || unknown_columns.contains(&model.table) {
        return None;
    }
    let table = schema.table(None, &model.table)?;
    let declared: Vec<(String, &crate::Field)> =
        model.state.fields.iter().filter_map(|(n, f)| Some((f.column(n)?, f))).collect();
    let database_only = table
        .columns
        .iter()
        .filter(|c| !declared.iter().any(|(d, _)| *d == c.name))
        .map(|c| (c.name.clone(), c.provenance.created().location.clone(), c.not_null && !c.fills_itself()))
        .collect::<Vec<_>>();
    let model_only = declared
        .iter()
        .filter(|(column, _)| table.column(column).is_none())
        .map(|(column, f)| (column.clone(), f.location.clone()))
        .collect::<Vec<_>>();
    if database_only.is_empty() && model_only.is_empty() {
        return None;
    }
    Some(ModelDrift {
        model: format!("{}.{}", model.state.app_label, model.state.name),
        table: model.table.clone(),
        location: model.state.location.clone(),
        database_only,
        model_only,
    })
}
