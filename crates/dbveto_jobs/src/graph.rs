//! The call graph of the repository's functions and the entry points
//! that start them: a write in a helper runs under every entry point
//! from which a chain of calls reaches the helper.

use std::collections::VecDeque;
use std::sync::Arc;

use dbveto_facts::{EntryKind, EntryPoint, Framework, JobFunction, JobUse, Related};
use dbveto_source::Location;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::defs::Defs;

/// Owned: it outlives the syntax trees.
#[derive(Debug, Default)]
pub struct Graph {
    names: Vec<String>,
    locations: Vec<Location>,
    last_lines: Vec<u32>,
    by_path: FxHashMap<Arc<str>, Vec<usize>>,
    callees: Vec<Vec<usize>>,
    callers: Vec<Vec<usize>>,
    /// Functions sent to a worker (`task.delay()`, `queue.enqueue(f)`):
    /// they run in another entry point, but what a job does includes them.
    dispatched: Vec<Vec<usize>>,
    entries: Vec<Vec<(EntryKind, Option<String>)>>,
    decorated: Vec<Vec<(Framework, Location)>>,
    used: Vec<Vec<JobUse>>,
    /// Calls of a task's methods (`.delay()`) on functions without decorators.
    bare: Vec<Vec<Related>>,
}

impl Graph {
    pub fn new(defs: &Defs<'_>) -> Self {
        let n = defs.functions.len();
        let mut graph = Graph {
            names: defs.functions.iter().map(|f| f.qualname.clone()).collect(),
            locations: defs.functions.iter().map(|f| f.location.clone()).collect(),
            last_lines: defs.functions.iter().map(|f| f.last_line).collect(),
            by_path: FxHashMap::default(),
            callees: vec![Vec::new(); n],
            callers: vec![Vec::new(); n],
            dispatched: vec![Vec::new(); n],
            entries: vec![Vec::new(); n],
            decorated: vec![Vec::new(); n],
            used: vec![Vec::new(); n],
            bare: vec![Vec::new(); n],
        };
        for (id, f) in defs.functions.iter().enumerate() {
            graph.by_path.entry(f.location.path.clone()).or_default().push(id);
        }
        graph
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, f: usize) -> &str {
        self.names.get(f).map_or("", String::as_str)
    }

    pub fn location(&self, f: usize) -> &Location {
        &self.locations[f]
    }

    /// A function of another language's code (Go): its id.
    pub fn add(&mut self, name: String, location: Location, last_line: u32) -> usize {
        let id = self.names.len();
        self.by_path.entry(location.path.clone()).or_default().push(id);
        self.names.push(name);
        self.locations.push(location);
        self.last_lines.push(last_line);
        self.callees.push(Vec::new());
        self.callers.push(Vec::new());
        self.dispatched.push(Vec::new());
        self.entries.push(Vec::new());
        self.decorated.push(Vec::new());
        self.used.push(Vec::new());
        self.bare.push(Vec::new());
        id
    }

    pub fn call(&mut self, caller: usize, callee: usize) {
        if caller < self.len() && callee < self.len() && !self.callees[caller].contains(&callee) {
            self.callees[caller].push(callee);
            self.callers[callee].push(caller);
        }
    }

    /// `caller` sends `task` to a worker.
    pub fn dispatch(&mut self, caller: usize, task: usize) {
        if caller < self.len() && task < self.len() && !self.dispatched[caller].contains(&task) {
            self.dispatched[caller].push(task);
        }
    }

    pub fn entry(&mut self, f: usize, kind: EntryKind, detail: Option<String>) {
        let Some(entries) = self.entries.get_mut(f) else { return };
        match entries.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, existing)) => {
                if existing.is_none() {
                    *existing = detail;
                }
            }
            None => entries.push((kind, detail)),
        }
    }

    pub fn decorated(&mut self, f: usize, framework: Framework, location: Location) {
        if let Some(d) = self.decorated.get_mut(f) {
            d.push((framework, location));
        }
    }

    pub fn used(&mut self, f: usize, used: JobUse) {
        if let Some(u) = self.used.get_mut(f) {
            u.push(used);
        }
    }

    pub fn dispatched_bare(&mut self, f: usize, call: Related) {
        if let Some(b) = self.bare.get_mut(f) {
            b.push(call);
        }
    }

    /// The innermost function whose lines hold `line` of `path`.
    pub fn enclosing(&self, path: &str, line: u32) -> Option<usize> {
        self.by_path
            .get(path)?
            .iter()
            .copied()
            .filter(|&f| self.locations[f].line <= line && line <= self.last_lines[f])
            .min_by_key(|&f| self.last_lines[f] - self.locations[f].line)
    }

    /// The kinds of entry point `f` is.
    pub fn entry_kinds(&self, f: usize) -> impl Iterator<Item = EntryKind> + '_ {
        self.entries.get(f).into_iter().flatten().map(|(kind, _)| *kind)
    }

    /// The functions `f` calls.
    pub fn callees(&self, f: usize) -> &[usize] {
        self.callees.get(f).map_or(&[], Vec::as_slice)
    }

    /// The entry points that `f` is itself.
    fn own_entry_points(&self, f: usize) -> impl Iterator<Item = EntryPoint> + '_ {
        self.entries[f].iter().map(move |(kind, detail)| EntryPoint {
            kind: *kind,
            name: self.names[f].clone(),
            location: self.locations[f].clone(),
            detail: detail.clone(),
        })
    }

    /// The entry points from which a chain of calls reaches `f`, sorted.
    pub fn entry_points(&self, f: usize) -> Vec<EntryPoint> {
        let mut found: Vec<EntryPoint> =
            walk(f, self.len(), |g| self.callers[g].iter().copied()).into_iter().flat_map(|g| self.own_entry_points(g)).collect();
        found.sort();
        found.dedup();
        found
    }

    /// Every function a chain of calls from `f` reaches, `f` included,
    /// through the tasks it sends to workers too.
    pub fn reachable(&self, f: usize) -> Vec<usize> {
        walk(f, self.len(), |g| self.callees[g].iter().chain(self.dispatched.get(g).into_iter().flatten()).copied())
    }

    /// The functions a framework runs as jobs: decorated, enqueued, scheduled.
    pub fn jobs_of(&self, framework: Framework) -> Vec<usize> {
        (0..self.len())
            .filter(|&f| {
                self.decorated[f].iter().any(|(fw, _)| *fw == framework) || self.used[f].iter().any(|u| u.framework == framework)
            })
            .collect()
    }

    pub fn job_functions(&self) -> Vec<JobFunction> {
        (0..self.len())
            .filter(|&f| !self.decorated[f].is_empty() || !self.used[f].is_empty() || !self.bare[f].is_empty())
            .map(|f| JobFunction {
                name: self.names[f].clone(),
                location: self.locations[f].clone(),
                decorated: self.decorated[f].clone(),
                used: self.used[f].clone(),
                undecorated_dispatch: self.bare[f].clone(),
            })
            .collect()
    }
}

/// Breadth-first from `start` along `next`; each function once, so cycles end.
fn walk<I: IntoIterator<Item = usize>>(start: usize, len: usize, next: impl Fn(usize) -> I) -> Vec<usize> {
    if start >= len {
        return Vec::new();
    }
    // A set, not a flag per function: most walks reach a few functions of
    // a large graph, and clearing a flag for each costs more than the walk.
    let mut seen = FxHashSet::from_iter([start]);
    let mut order = Vec::new();
    let mut queue = VecDeque::from([start]);
    while let Some(f) = queue.pop_front() {
        order.push(f);
        for g in next(f) {
            if seen.insert(g) {
                queue.push_back(g);
            }
        }
    }
    order
}
