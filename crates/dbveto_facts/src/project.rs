//! What project rules read: facts about a repository's migrations and
//! models that are not single writes. Frontends produce them.

use dbveto_source::Location;

use crate::Related;

#[derive(Debug, Default)]
pub struct ProjectFacts {
    pub names: Vec<GivenName>,
    pub added_columns: Vec<AddedColumn>,
    pub drifts: Vec<ModelDrift>,
    pub insert_orders: Vec<InsertOrder>,
    pub swallowed_errors: Vec<SwallowedError>,
    /// Job systems, schedules and the writers of each column.
    pub jobs: crate::JobFacts,
}

impl ProjectFacts {
    /// Adds another frontend's facts.
    pub fn extend(&mut self, other: ProjectFacts) {
        self.names.extend(other.names);
        self.added_columns.extend(other.added_columns);
        self.drifts.extend(other.drifts);
        self.insert_orders.extend(other.insert_orders);
        self.swallowed_errors.extend(other.swallowed_errors);
        // Job facts come from one frontend only (`dbveto_jobs`).
        let _ = other.jobs;
    }
}

/// A limit a framework puts on a name, below the database's own.
#[derive(Debug, Clone, PartialEq)]
pub struct NameLimit {
    pub max: usize,
    /// What the limit is: `Django's Index.max_name_length`.
    pub by: &'static str,
    /// Who refuses the name: `Django`, `SQLAlchemy`.
    pub reporter: &'static str,
    /// What the user sees, as the framework prints it.
    pub error: String,
}

/// A name the user wrote for a table, index or constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenName {
    pub name: String,
    /// `index`, `constraint`, `table`, `column`.
    pub what: &'static str,
    pub table: String,
    pub location: Location,
    pub limit: Option<NameLimit>,
    /// Other places the same name is written (the migration of a model's index).
    pub related: Vec<Related>,
}

/// A NOT NULL column without a database default, added to a table that an
/// earlier migration created: the migration fails once the table has rows.
#[derive(Debug, Clone, PartialEq)]
pub struct AddedColumn {
    pub table: String,
    pub column: String,
    /// What adds it, for messages: `AddField` of `CharField(max_length=500)`.
    pub operation: String,
    pub location: Location,
    /// Where the table was created.
    pub table_created: Option<Location>,
    /// The ways out, most recommended first.
    pub fixes: Vec<String>,
}

/// The columns of a model's table that the model does not declare, and
/// the declared fields the table does not have.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDrift {
    /// `app_label.Model`.
    pub model: String,
    pub table: String,
    pub location: Location,
    /// Columns in the database only, with where each was added and
    /// whether an INSERT that leaves it out fails.
    pub database_only: Vec<(String, Location, bool)>,
    /// Fields of the model whose column the database lacks, with where
    /// each is declared.
    pub model_only: Vec<(String, Location)>,
}

/// A row whose foreign key names a parent, sent to the database before the
/// parent row is: the parent is added later in the same flow of code, or
/// in the same flush but ordered after the child.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertOrder {
    pub child_table: String,
    pub child_model: String,
    pub column: String,
    pub parent_table: String,
    pub parent_model: String,
    /// Where the child row is built (or added).
    pub child_at: Location,
    /// The flush or commit that sends the child; `None` when both rows go
    /// in the same flush, in the wrong order.
    pub flushed_at: Option<Location>,
    /// Where the parent row is added.
    pub parent_at: Location,
    /// The foreign key: its name as PostgreSQL gives it, and where it is declared.
    pub constraint: Option<String>,
    pub foreign_key_at: Location,
}

/// An `except` handler around session work that neither re-raises nor
/// rolls back, while the same session is used again afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct SwallowedError {
    /// The session as the code spells it where it is used again.
    pub session: String,
    pub handler: Location,
    /// The session work inside the `try`.
    pub work: Location,
    /// The next use of the session after the handler.
    pub reused: Location,
}
