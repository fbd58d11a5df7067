//! The one model of the program that frontends write and rules read:
//! what the Django, SQLAlchemy, SQL and job frontends learn about a
//! repository beyond single writes (names given, columns added, models
//! drifting from their tables, insert order, swallowed errors, entry points
//! and schedules). Nothing here parses and nothing here judges.

mod jobs;
mod project;

pub use jobs::{
    Atomicity, ColumnWriters, EntryKind, EntryPoint, Framework, JobFacts, JobFunction, JobSystem, JobUse, ScheduledJob,
    WriterSite,
};
pub use project::{AddedColumn, GivenName, InsertOrder, ModelDrift, NameLimit, ProjectFacts, SwallowedError};

use dbveto_source::Location;
use serde::Serialize;

/// Another place that explains a finding: the migration that made the
/// constraint, the call that runs the statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    pub location: Location,
    pub message: String,
}
