//! The rules: pure functions of a schema and the writes that return
//! findings. One rule per file in `rules/`, with its docs and tests.
//!
//! Invariant: a rule never parses and never guesses. A value that is not
//! known statically, a table or column the schema does not have, is not a
//! finding.

mod finding;
pub mod rules;

// The facts rules read are written by the frontends (`dbveto_facts`).
pub use dbveto_facts::{
    AddedColumn, Atomicity, ColumnWriters, EntryKind, EntryPoint, Framework, GivenName, InsertOrder, JobFacts,
    JobFunction, JobSystem, JobUse, ModelDrift, NameLimit, ProjectFacts, Related, ScheduledJob, SwallowedError,
    WriterSite,
};
pub use finding::{Finding, Verification, VerificationStatus};

use dbveto_schema::{Schema, Table};
use dbveto_writes::Write;

/// A rule: its id, a one-line summary, its documentation, and its check.
pub struct Rule {
    pub id: &'static str,
    pub summary: &'static str,
    /// Markdown with the headings *What it does*, *Why is this bad?*,
    /// *Example*, *Use instead*.
    pub docs: &'static str,
    pub check: Check,
}

/// What a rule looks at.
pub enum Check {
    /// One write at a time, against the schema of its database.
    Write(fn(&Table, &Schema, &Write, &mut Vec<Finding>)),
    /// The project as a whole: migrations, models, names.
    Project(fn(&ProjectFacts, &mut Vec<Finding>)),
}

/// Every rule, in the order `dbveto rules` lists them.
pub fn all() -> &'static [Rule] {
    rules::ALL
}

pub fn by_id(id: &str) -> Option<&'static Rule> {
    all().iter().find(|r| r.id == id)
}

/// Runs `rules` on one write against the schema of its database.
pub fn check_write(rules: &[&Rule], schema: &Schema, write: &Write) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(table) = schema.table(write.table.schema.as_deref(), &write.table.name) else {
        return findings;
    };
    for rule in rules {
        if let Check::Write(check) = rule.check {
            check(table, schema, write, &mut findings);
        }
    }
    findings
}

/// Runs the project rules among `rules`.
pub fn check_project(rules: &[&Rule], facts: &ProjectFacts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in rules {
        if let Check::Project(check) = rule.check {
            check(facts, &mut findings);
        }
    }
    findings
}

/// The table's columns that a write targets, in order, or `None` when a
/// target is not a column of the table (the schema dbveto sees is then not
/// the one the code was written for, and judging would be guessing).
pub fn target_columns<'t>(table: &'t Table, write: &Write) -> Option<Vec<&'t dbveto_schema::Column>> {
    match &write.columns {
        Some(names) => names.iter().map(|n| table.column(&dbveto_schema::truncate_identifier(n))).collect(),
        None => {
            if write.values.len() > table.columns.len() {
                return None;
            }
            Some(table.columns.iter().take(write.values.len()).collect())
        }
    }
}

#[cfg(test)]
pub(crate) mod test_support;
