//! Where Go code runs: the functions of a Go module that write, the calls
//! between them, and the entry points that start them: HTTP handlers
//! (net/http, gorilla/mux, chi, gin, echo), scheduled jobs (robfig/cron,
//! go-co-op/gocron, `time.Ticker` and `time.Tick` loops) and goroutines
//! started from `main`.
//!
//! Only what can matter is parsed. A look at the tokens of every file
//! (`select`) finds, by name, the functions on a path from something that
//! registers an entry point to a function that writes; their bodies are
//! parsed, with the signatures, types, constants and variables of the
//! files they may need, and the other bodies are left out. Each parsed file
//! gives owned facts (`collect`); `link` resolves names, types and methods
//! across packages into a call graph. Invariant: a call whose target cannot
//! be resolved statically adds no edge; nothing is guessed.

mod collect;
mod link;
pub(crate) mod select;
mod value;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use dbveto_source::{Location, SourceFile};
use rayon::prelude::*;

pub use select::GoOutline;

/// What starts a Go function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GoEntryKind {
    /// Registered with an HTTP router.
    Http,
    /// Run by a scheduler or a ticker loop.
    Scheduled,
    /// Started with `go` by `main`, or by what `main` calls.
    Goroutine,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoFunction {
    /// `handleSync`, `Server.handleSync`, `Server.routes.func1`.
    pub name: String,
    /// Its name (the `func` keyword of a function literal).
    pub location: Location,
    pub last_line: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GoEntry {
    pub function: usize,
    pub kind: GoEntryKind,
    /// `route `POST /sync``, `every 60 s (robfig/cron `s.syncAll`)`.
    pub detail: Option<String>,
}

/// One periodic schedule of a Go job.
#[derive(Debug, Clone, PartialEq)]
pub struct GoSchedule {
    /// `robfig/cron`, `gocron`, `time.Ticker`.
    pub scheduler: &'static str,
    /// The job as the schedule names it: the function expression.
    pub entry: String,
    pub function: usize,
    /// Seconds between runs, when the schedule is a fixed interval known statically.
    pub every: Option<u64>,
    /// `every 60 s`, `cron `0 * * * *``.
    pub interval: String,
    pub location: Location,
}

/// The call graph of a Go module's code that writes, with its entry points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GoProgram {
    pub functions: Vec<GoFunction>,
    /// Caller, callee: indices into `functions`.
    pub calls: Vec<(usize, usize)>,
    pub entries: Vec<GoEntry>,
    pub schedules: Vec<GoSchedule>,
}

/// The entry points of the Go code that reaches the writes at `writes`
/// (where each write's statement runs: its call, else its SQL).
///
/// `files` and `go_mods` are what [`crate::extract`] reads, `outline` what
/// it kept of them (or an empty one: the files are then lexed again). Never panics;
/// files that do not parse give what their parsed parts say.
pub fn program(files: &[SourceFile], go_mods: &[SourceFile], writes: &[Location], outline: &GoOutline) -> GoProgram {
    let mut lines: HashMap<&str, Vec<u32>> = HashMap::new();
    for at in writes {
        lines.entry(&at.path).or_default().push(at.line);
    }
    if lines.is_empty() {
        return GoProgram::default();
    }
    let plans = select::plan(files, &lines, outline);
    let facts: Vec<Option<collect::FileFacts>> = files
        .par_iter()
        .zip(plans)
        .map(|(file, plan)| {
            let skipped = match plan {
                select::Plan::Skip => return None,
                select::Plan::Whole => Vec::new(),
                select::Plan::Without(spans) => spans,
            };
            let tree = crate::parse(&file.text, &skipped);
            Some(collect::collect(file, &tree))
        })
        .collect();
    link::link(files, go_mods, facts)
}
