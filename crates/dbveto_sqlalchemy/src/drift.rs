//! Where the models and the database Alembic builds disagree: columns
//! the database has that no model maps (the ORM never sends them), and
//! mapped columns no revision creates.

use dbveto_facts::ModelDrift;
use dbveto_schema::Schema;

use crate::models::Models;

pub fn drifts(models: &Models, schema: &Schema, unread_tables: &[String]) -> Vec<ModelDrift> {
    let mut out = Vec::new();
    for model in &models.tables {
        // A model dbveto cannot read completely may map what it does not see.
        let Some(class) = &model.class_name else { continue };
        if model.incomplete {
            continue;
        }
        // A revision dbveto could not read may have changed the table.
        if unread_tables.iter().any(|t| *t == model.name || t.rsplit('.').next() == Some(model.name.as_str())) {
            continue;
        }
        let Some(table) = schema.table(model.schema.as_deref(), &model.name) else { continue };
        let database_only: Vec<_> = table
            .columns
            .iter()
            .filter(|c| !model.columns.iter().any(|m| m.name == c.name))
            .map(|c| (c.name.clone(), c.provenance.created().location.clone(), c.not_null && !c.fills_itself()))
            .collect();
        let model_only: Vec<_> = model.columns.iter().filter(|m| table.column(&m.name).is_none()).map(|m| (m.name.clone(), m.location.clone())).collect();
        if database_only.is_empty() && model_only.is_empty() {
            continue;
        }
        out.push(ModelDrift { model: class.clone(), table: model.name.clone(), location: model.location.clone(), database_only, model_only });
    }
    out
}
