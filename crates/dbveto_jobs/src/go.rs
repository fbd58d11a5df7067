//! The Go frontend's entry points, calls and schedules, in the same graph
//! as Python's functions: a column written from Go and from Python has
//! one list of writers.

use dbveto_facts::EntryKind;
use dbveto_source::{Location, SourceFile};
use dbveto_writes::Write;

use crate::{Jobs, Schedule};

impl Jobs {
    /// Adds the Go code that reaches `writes` (every write of the
    /// repository; those of Go files count) from `files` and `go_mods`,
    /// and what the Go frontend kept of them (`outline`, may be empty).
    pub fn add_go(&mut self, files: &[SourceFile], go_mods: &[SourceFile], outline: &dbveto_go::GoOutline, writes: &[Write]) {
        let at: Vec<Location> = writes
            .iter()
            .map(|w| w.call.as_ref().unwrap_or(&w.location))
            .filter(|l| l.path.ends_with(".go"))
            .cloned()
            .collect();
        let program = dbveto_go::program(files, go_mods, &at, outline);
        let ids: Vec<usize> =
            program.functions.into_iter().map(|f| self.graph.add(f.name, f.location, f.last_line)).collect();
        let id = |f: usize| ids.get(f).copied();
        for (caller, callee) in program.calls {
            if let (Some(a), Some(b)) = (id(caller), id(callee)) {
                self.graph.call(a, b);
            }
        }
        for entry in program.entries {
            let kind = match entry.kind {
                dbveto_go::GoEntryKind::Http => EntryKind::HttpHandler,
                dbveto_go::GoEntryKind::Scheduled => EntryKind::ScheduledJob,
                dbveto_go::GoEntryKind::Goroutine => EntryKind::Goroutine,
            };
            if let Some(f) = id(entry.function) {
                self.graph.entry(f, kind, entry.detail);
            }
        }
        for s in program.schedules {
            self.schedules.push(Schedule {
                scheduler: s.scheduler,
                framework: None,
                entry: s.entry,
                function: id(s.function),
                every: s.every,
                interval: s.interval,
                args: None,
                location: s.location,
            });
        }
    }
}
