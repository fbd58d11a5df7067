//! The Python frontend: finds the SQL writes of a Python repository that
//! uses raw SQL (DB-API cursors, asyncpg, SQLAlchemy `text()`), with what
//! is known statically about the values they bind.
//!
//! It reads the trees, the index and the evaluator of the semantic model
//! (`dbveto_python_semantic`) that the ORM frontends read too.
//!
//! Invariant: a value that cannot be determined statically is unknown,
//! never guessed; no input makes this crate panic.

mod extract;
mod params;

use dbveto_source::{Diagnostic, SourceFile};
use dbveto_writes::EmbeddedQuery;
use rayon::prelude::*;
use rustc_hash::FxHashSet;

use dbveto_python_semantic::{LiteralKey, ParsedProject, ProjectIndex};

/// What the Python files of a repository send to the database.
#[derive(Debug, Default)]
pub struct PythonExtraction {
    pub queries: Vec<EmbeddedQuery>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Finds the writes in `files`: every `.py` file of the repository (paths
/// relative to its root, `/` separators), already read.
///
/// A statement run by `.execute()`, `.executemany()` or
/// `.exec_driver_sql()` (directly or through SQLAlchemy's `text()`)
/// comes with the call's location and its parameters; any other string
/// literal that looks like a write comes without a call and with unknown
/// parameters. A file that does not parse gives a warning, and what the
/// parser recovered is still read.
pub fn extract(files: &[SourceFile]) -> PythonExtraction {
    let mut project = ParsedProject::parse(files);
    let diagnostics = std::mem::take(&mut project.diagnostics);
    let index = project.index();
    let mut extraction = extract_indexed(&index);
    extraction.diagnostics.splice(0..0, diagnostics);
    extraction
}

/// [`extract`] on a project already parsed and indexed (the ORM frontends
/// read the same trees).
pub fn extract_indexed(index: &ProjectIndex<'_>) -> PythonExtraction {
    let outputs: Vec<extract::ModuleOutput> =
        index.modules.par_iter().map(|module| extract::extract_module(index, module)).collect();
    // A literal run by an execute call, maybe from another module, is not
    // also a statement on its own.
    let consumed: FxHashSet<LiteralKey> = outputs.iter().flat_map(|o| o.consumed.iter().copied()).collect();
    let mut queries = Vec::new();
    for output in outputs {
        let mut found = output.queries;
        found.extend(
            output
                .candidates
                .into_iter()
                .filter(|c| !c.keys.iter().any(|key| consumed.contains(key)))
                .map(|c| (c.offset, c.query)),
        );
        found.sort_by_key(|(offset, _)| *offset);
        queries.extend(found.into_iter().map(|(_, query)| query));
    }
    PythonExtraction { queries, diagnostics: Vec::new() }
}

#[cfg(test)]
mod tests;
