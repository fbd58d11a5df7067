use dbveto_source::{Location, Severity};
use dbveto_writes::Literal;
use serde::Serialize;

/// Another place that explains a finding: the migration that made the
/// constraint, the call that runs the statement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    pub location: Location,
    pub message: String,
}

/// A write that the database will reject, with both ends of the drift.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub message: String,
    /// The code: where the offending value or statement is written.
    pub location: Location,
    pub table: String,
    pub column: Option<String>,
    pub constraint: Option<String>,
    pub value: Option<Literal>,
    /// At least the schema provenance of the constraint.
    pub related: Vec<Related>,
    /// What to do about it.
    pub help: Option<String>,
    /// The SQLSTATE PostgreSQL answers with; `None` when the failure is
    /// not a database error (a framework's start-up check).
    pub sqlstate: Option<&'static str>,
    /// `Error` for what the database (or framework) will refuse; `Warning`
    /// for drift that is likely to become one.
    pub severity: Severity,
}
