//! Building the schema on a real server: a repository's SQL migrations as
//! they are, statement by statement in the order the tool applies them, or
//! the DDL dbveto derives for sources that are not SQL (Django, ORMs). A
//! statement that fails is a diagnostic at its file and line, with the
//! server's message; the others still run.

use std::ops::Range;

use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use postgres::error::ErrorPosition;
use postgres::Client;

use crate::error::describe;

/// One statement to run, and where it comes from.
#[derive(Debug, Clone)]
pub struct Step {
    pub sql: String,
    /// Where the statement starts: a migration's line, or for derived DDL
    /// the line that made the object.
    pub location: Location,
    /// The file the statement is in, to point at the error's own line.
    pub file: Option<SourceFile>,
    /// Its byte offset in `file`.
    pub offset: usize,
    /// DDL that dbveto wrote from its schema, not the repository's text.
    pub derived: bool,
}

/// The statements of a migration's up sections.
pub fn migration_steps(file: &SourceFile, up: &[Range<usize>]) -> Vec<Step> {
    let mut out = Vec::new();
    for range in up {
        let Some(text) = file.text.get(range.clone()) else { continue };
        for r in dbveto_sql::split_statements(text) {
            let offset = range.start + r.start;
            out.push(Step { sql: text[r].to_string(), location: file.location(offset), file: Some(file.clone()), offset, derived: false });
        }
    }
    out
}

/// Runs every step in autocommit, as migration tools do. Returns one
/// diagnostic per failed step.
pub fn apply(client: &mut Client, steps: &[Step]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for step in steps {
        if let Err(e) = client.batch_execute(&step.sql) {
            diagnostics.push(failure(step, &e));
            // A failure inside an explicit BEGIN leaves the transaction
            // aborted; the next statements deserve a clean session.
            let _ = client.batch_execute("ROLLBACK");
        }
    }
    diagnostics
}

fn failure(step: &Step, e: &postgres::Error) -> Diagnostic {
    let what = if step.derived { "DDL derived by dbveto" } else { "migration" };
    let location = match (e.as_db_error().and_then(|d| d.position()), &step.file) {
        (Some(ErrorPosition::Original(p)), Some(file)) => {
            // The position counts characters from 1.
            let bytes: usize = step.sql.chars().take((*p as usize).saturating_sub(1)).map(char::len_utf8).sum();
            file.location(step.offset + bytes)
        }
        _ => step.location.clone(),
    };
    let mut message = format!("{what} failed on PostgreSQL: {}", describe(e));
    if step.derived {
        message.push_str(&format!("; statement: {}", one_line(&step.sql)));
    }
    Diagnostic { location, severity: Severity::Error, message }
}

/// A statement on one line, cut at 160 characters.
pub fn one_line(sql: &str) -> String {
    let s: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 160 {
        format!("{}...", s.chars().take(157).collect::<String>())
    } else {
        s
    }
}
