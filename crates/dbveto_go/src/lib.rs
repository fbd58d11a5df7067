//! The Go frontend: finds the SQL a Go module sends and what is known
//! statically about the values bound to it.
//!
//! A quick lexical look at every file (`skim`) finds what cannot matter:
//! function declarations with nothing the analysis uses, the fields of
//! types sqlx cannot bind, comments. Every file is then parsed once by
//! `cst` (whose tree is tree-sitter-go's), without those parts. Pass 1 (`index`, then `lower`)
//! turns each file's tree into owned facts (`facts`) and drops the tree, so
//! files are parsed and indexed in parallel and no syntax tree outlives its
//! file. The facts are merged into packages (`resolve`) so that pass 2
//! (`calls`) can evaluate constants of other packages (`eval`) and bind the
//! `db` tags of struct types to the values the whole module gives their
//! fields.

mod calls;
mod cst;
mod eval;
mod facts;
mod gomod;
mod index;
mod lower;
mod program;
mod resolve;
mod scope;
mod skim;
mod strings;

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use dbveto_source::{Diagnostic, Severity, SourceFile};
use dbveto_writes::EmbeddedQuery;
use rayon::prelude::*;

use crate::cst::{Node, Tree};
use crate::facts::{FileFacts, Key};

pub use program::{program, GoEntry, GoEntryKind, GoFunction, GoOutline, GoProgram, GoSchedule};

/// What the Go frontend found in a repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoExtraction {
    /// Write-like SQL run by exec-like calls (`call: Some`) and the other
    /// write-like string constants and literals (`call: None`), file by
    /// file in the order given, each file's in source order.
    pub queries: Vec<EmbeddedQuery>,
    /// Files that could not be (fully) parsed, or were too large to analyse.
    pub diagnostics: Vec<Diagnostic>,
    /// What [`program`] needs of each file, kept from the one lexing of it.
    pub outline: GoOutline,
}

/// Larger files are not analysed: no hand-written Go file is this big.
const MAX_FILE_BYTES: usize = 32 << 20;
/// Large generated files (embedded assets) produce no queries and are not
/// worth indexing.
const MAX_GENERATED_BYTES: usize = 1 << 20;

/// Extracts the SQL writes of a Go repository.
///
/// `files`: every .go file of the repository (path relative to the repo
/// root, `/` separators), already read. `go_mods`: every go.mod file of the
/// repository (same form), whose module paths map import paths to
/// directories; an import that maps to no directory falls back to the only
/// package of that name, if there is exactly one.
///
/// Emits, for each call of `Exec`, `NamedExecContext`, `QueryRow`, `Get`, …
/// (and sqlx's package functions) whose query resolves to a constant
/// write-like string, an [`EmbeddedQuery`] with `call: Some` and its
/// parameters: positional arguments, or for `Named*` calls the `db` tags of
/// the argument's struct type (or the keys of a map literal). Every other
/// write-like string constant or literal gives a query with unknown
/// parameters and `call: None`. Files with a `// Code generated ... DO NOT
/// EDIT.` header give no queries. Never panics; values that cannot be
/// determined statically are unknown.
pub fn extract(files: &[SourceFile], go_mods: &[SourceFile]) -> GoExtraction {
    extract_with(files, go_mods, true)
}

/// [`extract`], with or without skimming function bodies first (the
/// results are the same; tests compare them).
fn extract_with(files: &[SourceFile], go_mods: &[SourceFile], skim: bool) -> GoExtraction {
    // What of each file can matter (see `skim`): the rest is not parsed.
    let texts: Vec<&str> = files.iter().map(|f| &*f.text).collect();
    let mut skim = skim.then(|| skim::Skim::new(&texts));
    // Pass 1, file by file in parallel: parse, index, keep the facts and
    // drop the tree. No tree outlives its file's turn.
    let (facts, diagnostics): (Vec<FileFacts<'_>>, Vec<Option<Diagnostic>>) = files
        .par_iter()
        .enumerate()
        .map(|(i, file)| {
            let skipped = skim.as_ref().map(|skim| skim.skipped_spans(i, &file.text)).unwrap_or_default();
            index(file, &skipped)
        })
        .unzip();
    let index = resolve::Index::build(files, facts, go_mods);
    let per_file: Vec<calls::FileQueries> = (0..files.len())
        .into_par_iter()
        .map(|file| match index.files.get(file) {
            Some(facts) if !facts.generated => calls::file_queries(&index, file),
            _ => calls::FileQueries::default(),
        })
        .collect();

    // A string run by a call is reported with that call, not again alone.
    let consumed: HashSet<Key> = per_file.iter().flat_map(|q| q.consumed.iter().copied()).collect();
    let mut queries = Vec::new();
    for file in per_file {
        let mut found = file.found;
        found.extend(
            file.candidates
                .into_iter()
                .filter(|c| !c.keys.iter().all(|k| consumed.contains(k)))
                .map(|c| (c.at, c.query)),
        );
        found.sort_by_key(|(at, _)| *at);
        queries.extend(found.into_iter().map(|(_, q)| q));
    }
    let diagnostics = diagnostics.into_iter().flatten().collect();
    let outline = match skim.as_mut() {
        Some(skim) => std::mem::take(&mut skim.outlines),
        None => files.par_iter().map(|f| program::select::lex_file(&f.text)).collect(),
    };
    let outline = GoOutline(outline);
    GoExtraction { queries, diagnostics, outline }
}

/// Pass 1 over one file: its facts, and a diagnostic if it could not be
/// (fully) parsed or was skipped.
fn index<'t>(file: &'t SourceFile, skipped: &[(usize, usize)]) -> (FileFacts<'t>, Option<Diagnostic>) {
    let generated = is_generated(&file.text);
    let skipped_file = |diagnostic| (FileFacts { generated, ..FileFacts::default() }, Some(diagnostic));
    let size = file.text.len();
    if generated && size > MAX_GENERATED_BYTES {
        let message = format!("generated Go file of {size} bytes not indexed");
        return skipped_file(Diagnostic::file(file.path.clone(), Severity::Info, message));
    }
    if size > MAX_FILE_BYTES {
        let message = format!("Go file too large to analyse ({size} bytes), skipped");
        return skipped_file(Diagnostic::file(file.path.clone(), Severity::Warning, message));
    }
    let tree = parse(&file.text, skipped);
    let diagnostic = tree
        .error_offset()
        .map(|at| file.diagnostic(at.min(file.text.len()), Severity::Warning, "could not parse Go: syntax error"));
    (index::index_file(file, &tree, generated), diagnostic)
}

/// Parses `text` without the `skipped` spans if that parses cleanly, else
/// all of it (so that a syntax error is reported where it is).
fn parse(text: &str, skipped: &[(usize, usize)]) -> Tree {
    if !skipped.is_empty() {
        let tree = cst::parse(text, skipped);
        if tree.error_offset().is_none() {
            return tree;
        }
    }
    cst::parse(text, &[])
}

/// Whether a file is parsed and indexed at all (else it is skipped with a
/// diagnostic).
fn indexed(text: &str) -> bool {
    text.len() <= MAX_FILE_BYTES && !(text.len() > MAX_GENERATED_BYTES && is_generated(text))
}

/// Go's convention: a `// Code generated ... DO NOT EDIT.` line before the
/// package clause.
fn is_generated(text: &str) -> bool {
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("// Code generated ") && line.ends_with(" DO NOT EDIT.") {
            return true;
        }
        if line.trim_start().starts_with("package ") {
            return false;
        }
    }
    false
}

/// The source text of a node; empty if the range is not in the text.
pub(crate) fn text<'t>(src: &'t str, node: Node<'_>) -> &'t str {
    src.get(node.byte_range()).unwrap_or("")
}
