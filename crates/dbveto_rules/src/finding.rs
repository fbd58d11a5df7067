use dbveto_source::{Location, Severity};
use crate::Related;
use dbveto_writes::Literal;
use serde::Serialize;

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
    /// What a real PostgreSQL said when the finding was put to it
    /// (`dbveto verify`); `None` when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// The outcome of running a finding's statement on a real database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: VerificationStatus,
    /// The SQLSTATE the server answered with, if it refused.
    pub sqlstate: Option<String>,
    /// The server's message, or why the finding was not put to it.
    pub message: String,
    /// The statement that was run, when one was.
    pub statement: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerificationStatus {
    /// The server refused with the finding's SQLSTATE.
    Confirmed,
    /// The server accepted the statement, or refused it for another reason:
    /// the finding is wrong.
    NotReproduced,
    /// The finding is not about a statement, or no valid row could be built.
    Skipped,
}

impl VerificationStatus {
    pub fn label(self) -> &'static str {
        match self {
            VerificationStatus::Confirmed => "confirmed",
            VerificationStatus::NotReproduced => "not-reproduced",
            VerificationStatus::Skipped => "skipped",
        }
    }
}
