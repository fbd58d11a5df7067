//! The SQLAlchemy and Alembic frontend, on the Python frontend's trees and
//! evaluator: the schema the models make (`metadata.create_all()`) and the
//! one Alembic's revisions build, what the ORM and Core send for each
//! write, and the order in which the unit of work flushes them.
//!
//! Invariant: nothing here guesses. A column type, value or option that is
//! not known statically stays unknown; a model that cannot be read
//! completely is never reported as drift.

mod alembic;
mod alembic_env;
mod ddl;
mod drift;
mod flow;
mod models;
mod names;
mod naming;
mod orm;
mod types;

pub use alembic::{is_revision_path, Applied, AppliedRevision, Change};
pub use models::{ClientDefault, MappedColumn, MappedTable, Models};

use dbveto_python_semantic::ProjectIndex;
use dbveto_schema::Schema;
use dbveto_source::{Diagnostic, SourceFile};
use dbveto_writes::Write;

/// What the SQLAlchemy side of a repository holds.
#[derive(Default)]
pub struct SqlAlchemy {
    pub models: Models,
    /// What `metadata.create_all()` builds from the models; `None`
    /// without models.
    pub model_schema: Option<Schema>,
    /// Where the models are: the deepest folder holding every model file.
    pub model_dir: String,
    /// The files that declare the models.
    pub model_files: Vec<SourceFile>,
    /// What Alembic's revisions build; `None` without revisions.
    pub alembic: Option<alembic::Applied>,
    /// What the code sends through the ORM and Core.
    pub writes: Vec<Write>,
    pub facts: dbveto_facts::ProjectFacts,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads the SQLAlchemy models, Alembic revisions and ORM writes of an
/// indexed Python project.
pub fn analyze(index: &ProjectIndex<'_>) -> SqlAlchemy {
    let models = models::read(index);
    let mut diagnostics = Vec::new();
    let mut long_names = Vec::new();
    let model_schema = (!models.tables.is_empty()).then(|| {
        let mut schema = Schema::default();
        let mut generated = ddl::create_all(&models);
        long_names = std::mem::take(&mut generated.long_names);
        generated.replay(&mut schema, &mut diagnostics);
        schema
    });
    let model_dir = common_dir(models.tables.iter().map(|t| t.location.path.as_ref()));
    let mut model_files: Vec<SourceFile> = Vec::new();
    for table in &models.tables {
        if let Some(m) = index.modules.iter().find(|m| m.file.path == table.location.path) {
            if !model_files.iter().any(|f| f.path == m.file.path) {
                model_files.push(m.file.clone());
            }
        }
    }
    let extracted = orm::extract(index, &models);
    let alembic = alembic::apply(index, &mut diagnostics);
    let database = alembic.as_ref().map(|a| &a.schema).or(model_schema.as_ref());
    let (insert_orders, swallowed_errors) = flow::facts(&extracted.flows, &models, database);
    let drifts = alembic.as_ref().map(|a| drift::drifts(&models, &a.schema, &a.unread_tables)).unwrap_or_default();
    let names = given_names(long_names, alembic.as_ref().map_or(&[][..], |a| &a.long_names));
    let facts = dbveto_facts::ProjectFacts { insert_orders, swallowed_errors, drifts, names, ..Default::default() };
    SqlAlchemy { models, model_schema, model_dir, model_files, alembic, writes: extracted.writes, facts, diagnostics }
}

/// The long names SQLAlchemy sends as written, for `identifier-too-long`:
/// each model's, with the revisions that create the same name as related
/// places, then the names only a revision gives.
fn given_names(in_models: Vec<dbveto_schema::LongName>, in_revisions: &[dbveto_schema::LongName]) -> Vec<dbveto_facts::GivenName> {
    let given = |long: &dbveto_schema::LongName, related: Vec<dbveto_facts::Related>| dbveto_facts::GivenName {
        name: long.name.clone(),
        what: long.what,
        table: long.table.clone(),
        location: long.location.clone(),
        limit: Some(dbveto_facts::NameLimit {
            max: naming::POSTGRES_MAX_NAME,
            by: "SQLAlchemy's max_identifier_length for PostgreSQL",
            reporter: "SQLAlchemy",
            error: format!("sqlalchemy.exc.IdentifierError: Identifier '{}' exceeds maximum length of {} characters", long.name, naming::POSTGRES_MAX_NAME),
        }),
        related,
    };
    let mut names: Vec<dbveto_facts::GivenName> = in_models
        .iter()
        .map(|long| {
            let related = in_revisions
                .iter()
                .filter(|r| r.name == long.name)
                .map(|r| dbveto_facts::Related { location: r.location.clone(), message: format!("the revision creates `{}` here", r.name) })
                .collect();
            given(long, related)
        })
        .collect();
    names.extend(in_revisions.iter().filter(|r| !in_models.iter().any(|m| m.name == r.name)).map(|r| given(r, Vec::new())));
    names
}

/// The deepest folder that holds every path (`.` for the root).
fn common_dir<'s>(paths: impl Iterator<Item = &'s str>) -> String {
    let mut dir: Option<Vec<&str>> = None;
    for path in paths {
        let parts: Vec<&str> = path.split('/').collect();
        let parts = &parts[..parts.len().saturating_sub(1)];
        dir = Some(match dir {
            None => parts.to_vec(),
            Some(d) => d.iter().zip(parts).take_while(|(a, b)| a == b).map(|(a, _)| *a).collect(),
        });
    }
    dir.map(|d| d.join("/")).filter(|d| !d.is_empty()).unwrap_or_else(|| ".".to_string())
}

#[cfg(test)]
mod tests;
