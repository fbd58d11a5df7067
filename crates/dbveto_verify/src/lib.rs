//! `dbveto verify`: static analysis is a claim, the database is the judge.
//!
//! Each database of a repository is built on a real PostgreSQL (a
//! throwaway server this crate starts, see `server`) from the repository's
//! own migrations, or from the DDL dbveto derives when they are not SQL.
//! Then the catalog is compared with dbveto's replayed schema (`compare`),
//! and every finding is turned into the statement that should fail and run
//! in a transaction that is always rolled back (`prove`).
//!
//! A live database (`live`) is only ever read: its catalog can serve as the
//! schema, migrations it has not applied yet are checked against its rows
//! (`pending`), and findings are proven on a copy of its schema built on
//! the throwaway server (`copy`).
//!
//! Invariant: nothing here writes outside a rolled-back transaction, except
//! the migrations applied to the throwaway server this process owns.

pub mod apply;
pub mod catalog;
pub mod compare;
pub mod copy;
pub mod ddl;
pub mod error;
pub mod live;
pub mod pending;
pub mod prove;
pub mod rows;
pub mod server;
pub mod sql;
pub mod tls;

use dbveto_rules::Finding;
use dbveto_schema::Schema;
use dbveto_source::{Diagnostic, Location, Severity};

pub use apply::Step;
pub use compare::{Difference, Scope};
pub use postgres::Client;
pub use server::{Binaries, Server};

/// One database of the repository, as dbveto sees it.
pub struct DatabaseInput<'a> {
    /// Its folder, relative to the checked root (`.` for the root).
    pub name: &'a str,
    /// The schema dbveto replayed.
    pub schema: &'a Schema,
    /// The statements that build it.
    pub steps: Vec<Step>,
    /// Whether `steps` is DDL that dbveto derived rather than the
    /// repository's own SQL.
    pub derived: bool,
}

/// What one database's verification found.
pub struct DatabaseOutcome {
    /// Migrations that failed, and the schema self-check's differences.
    pub diagnostics: Vec<Diagnostic>,
    pub differences: Vec<Difference>,
    /// The catalog PostgreSQL built.
    pub catalog: Schema,
}

/// Builds `input` in a new database of `server`, compares the catalog with
/// dbveto's schema, and (unless `findings` is empty) proves the findings.
pub fn verify_database(server: &Server, index: usize, input: &DatabaseInput, findings: &mut [&mut Finding]) -> Result<DatabaseOutcome, String> {
    let db = format!("dbveto_{index}");
    server.create_database(&db)?;
    let mut client = server.connect(&db)?;
    let mut diagnostics = apply::apply(&mut client, &input.steps);
    let catalog = catalog::read_schema(&mut client, "PostgreSQL")?;
    let differences = compare::compare(input.schema, &catalog, Scope::BUILT);
    let fallback = Location { path: input.name.into(), line: 1, column: 1 };
    for d in &differences {
        diagnostics.push(difference_diagnostic(d, &fallback));
    }
    if !findings.is_empty() {
        prove::prove_all(&mut client, &catalog, findings)?;
    }
    Ok(DatabaseOutcome { diagnostics, differences, catalog })
}

/// A schema difference as a warning at dbveto's side of it.
pub fn difference_diagnostic(d: &Difference, fallback: &Location) -> Diagnostic {
    Diagnostic {
        location: d.location.clone().unwrap_or_else(|| fallback.clone()),
        severity: Severity::Warning,
        message: format!("schema self-check: {}", d.message),
    }
}
