//! The Django frontend: the schema Django's migrations build on
//! PostgreSQL, the models as the code declares them, and what the ORM
//! sends for each write.
//!
//! Migrations are interpreted in the order `migrate` applies them; each
//! operation's DDL is generated as Django's schema editor would and
//! replayed by the SQL replay, so names, types and constraints come out as
//! PostgreSQL makes them. Invariant: nothing here guesses; a field, value
//! or option that is not known statically stays unknown.

mod apps;
mod callers;
mod external;
mod facts;
mod field;
mod graph;
mod init;
mod models;
mod naming;
mod operations;
mod orm;
mod read;
mod resolver;
mod run_python;
mod schema_editor;
mod state;

pub use apps::{App, Apps};
pub use facts::facts;
pub use field::{Field, OrmDefault};
pub use models::{Model, Models};
pub use naming::{INDEX_MAX_NAME, POSTGRES_MAX_NAME};
pub use operations::{AddedField, Applied, AppliedMigration, Change, GivenName};
pub use state::{ModelKey, ModelState, ProjectState};

use dbveto_python_semantic::{Environment, ProjectIndex};
use dbveto_source::Diagnostic;
use dbveto_writes::Write;

/// What the Django side of a repository holds.
pub struct Django {
    pub apps: Apps,
    /// `None` when the repository has no Django migrations.
    pub migrations: Option<Applied>,
    /// The model classes of the code.
    pub models: Models,
    /// What the ORM calls of the code send.
    pub writes: Vec<Write>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads the Django apps of an indexed Python project.
/// Model bases from libraries are read from `environment` where it has them.
pub fn analyze(index: &ProjectIndex<'_>, environment: &Environment) -> Django {
    let apps = Apps::find(index);
    let mut diagnostics = Vec::new();
    let modules = graph::load(index, &apps, &mut diagnostics);
    let migrations = if modules.is_empty() {
        None
    } else {
        let order = graph::plan(&modules, &mut diagnostics);
        Some(operations::apply(index, &apps, &modules, &order, &mut diagnostics))
    };
    let models = models::read(index, &apps, migrations.as_ref().map(|m| &m.state), environment);
    let writes = orm::writes(index, &models);
    Django { apps, migrations, models, writes, diagnostics }
}
