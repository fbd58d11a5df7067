//! Who writes what, from where: the entry points of a Python repository
//! (HTTP views, Celery tasks, RQ jobs, scheduled jobs, management
//! commands, signal handlers) and of its Go code (HTTP handlers, cron and
//! ticker jobs, goroutines), the calls between its functions, and for
//! every write the entry points that reach it and whether it is atomic.
//!
//! Built on the Python frontend's trees and names; facts for the job rules
//! come out of [`facts`]. Invariant: a call, a decorator or a model that
//! cannot be resolved statically adds nothing; nothing is guessed.

mod defs;
mod go;
mod graph;
mod resolve;
mod routes;
mod saves;
mod scan;
mod transactions;
mod views;

use std::collections::HashMap;

use dbveto_django::Models;
use dbveto_python_semantic::ProjectIndex;
use dbveto_facts::{
    Atomicity, ColumnWriters, EntryKind, EntryPoint, Framework, JobFacts, JobSystem, JobUse, Related, ScheduledJob, WriterSite,
};
use dbveto_source::Location;
use dbveto_writes::{Arg, Write, WriteKind};
use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};

pub use graph::Graph;
pub use saves::SaveSite;

/// What the Python code of a repository says about where it runs.
#[derive(Debug, Default)]
pub struct Jobs {
    pub graph: Graph,
    pub schedules: Vec<Schedule>,
    /// Where each framework is configured.
    pub configs: Vec<(Framework, Related)>,
    /// Fields of loaded objects saved.
    pub saves: Vec<SaveSite>,
    /// Signal handlers: function, signal name, the sender's model, how
    /// they are connected.
    pub signal_receivers: Vec<(usize, String, Option<String>, String)>,
}

/// A scheduler entry, its job resolved to a function when it is one of the repository.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub scheduler: &'static str,
    /// `None` for Go's schedulers, which are no job framework of their own.
    pub framework: Option<Framework>,
    pub entry: String,
    pub function: Option<usize>,
    pub every: Option<u64>,
    pub interval: String,
    pub args: Option<String>,
    pub location: Location,
}

/// Reads the functions, entry points, schedules and object saves of an
/// indexed Python project; `models` are the Django models it declares.
pub fn analyze(index: &ProjectIndex<'_>, models: &Models) -> Jobs {
    let defs = defs::Defs::collect(index);
    let class_names = index.modules.iter().flat_map(|m| m.body.iter().filter_map(|s| s.as_class_def_stmt()).map(|c| c.name.as_str())).collect();
    let resolver = resolve::Resolver { index, defs: &defs, models, class_names };
    let scans: Vec<(dbveto_python_semantic::ModuleId, scan::ModuleScan)> = index
        .modules
        .par_iter()
        // Test helpers and generated code are no entry points of the application.
        .filter(|m| !is_migration(&m.file.path) && !dbveto_python_semantic::is_test_or_generated(&m.file.path, &m.file.text))
        .map(|module| (module.id, scan::Walker::new(&resolver, module).run()))
        .collect();
    let mut graph = Graph::new(&defs);
    let mut explicit: HashMap<String, usize> = HashMap::new();
    let mut task_classes: HashMap<(dbveto_python_semantic::ModuleId, u32), usize> = HashMap::new();
    for (_, s) in &scans {
        explicit.extend(s.task_names.iter().cloned());
        task_classes.extend(s.task_classes.iter().copied());
    }
    // A Celery task by name: given explicitly, else the dotted path of a
    // function or of a registered task class.
    let task = |name: &str, module| {
        explicit.get(name).copied().or_else(|| match resolver.dotted(name, module)? {
            resolve::Target::Function(id) => Some(id),
            resolve::Target::Class(m, c) => task_classes.get(&(m, ruff_text_size::Ranged::start(c).to_u32())).copied(),
            _ => None,
        })
    };
    let mut routes = Vec::new();
    let mut queues = Vec::new();
    let mut jobs = Jobs::default();
    let mut flows = Vec::new();
    let mut transactions = transactions::Transactions::default();
    let unrouted = views::unrouted(&scans);
    for (module, s) in scans {
        flows.extend(s.flows);
        transactions.atomic_requests.extend(s.atomic_requests);
        transactions.atomic_functions.extend(s.atomic_functions);
        transactions.django_views.extend(s.django_views);
        transactions.non_atomic_views.extend(s.non_atomic_views);
        transactions.calls_outside.extend(s.calls_outside_transaction);
        for (caller, callee) in s.calls {
            graph.call(caller, callee);
        }
        for (id, kind, detail) in s.entries {
            if !unrouted.contains(&id) {
                graph.entry(id, kind, detail);
            }
        }
        for (id, framework, location) in s.decorated {
            graph.decorated(id, framework, location);
        }
        for (id, framework, location, how) in s.uses {
            graph.used(id, JobUse { framework, location, how });
        }
        for (caller, task, _) in s.dispatches {
            if let Some(caller) = caller {
                graph.dispatch(caller, task);
            }
        }
        for (caller, name) in s.sent_by_name {
            if let (Some(caller), Some(id)) = (caller, task(&name, module)) {
                graph.dispatch(caller, id);
            }
        }
        for (id, call) in s.bare_dispatches {
            graph.dispatched_bare(id, call);
        }
        for (name, queue, location) in s.routes {
            if routes::is_pattern(&name) {
                routes.push((name, queue));
                continue;
            }
            if let Some(id) = task(&name, module) {
                if let Some(queue) = &queue {
                    queues.push((id, format!("Celery queue `{queue}` (task_routes)")));
                }
                graph.used(id, JobUse { framework: Framework::Celery, location, how: format!("Celery `task_routes` entry `{name}`") });
            }
        }
        for raw in s.schedules {
            let mut function = raw.function;
            if let Some(name) = &raw.task_name {
                function = task(name, module);
                if let Some(id) = function {
                    let detail = format!("{} (Celery beat `{}`)", raw.interval, raw.entry);
                    graph.entry(id, EntryKind::ScheduledJob, Some(detail));
                    let how = format!("Celery beat entry `{}`", raw.entry);
                    graph.used(id, JobUse { framework: Framework::Celery, location: raw.location.clone(), how });
                }
            }
            jobs.schedules.push(Schedule {
                scheduler: raw.scheduler,
                framework: Some(raw.framework),
                entry: raw.entry,
                function,
                every: raw.every,
                interval: raw.interval,
                args: raw.args,
                location: raw.location,
            });
        }
        jobs.configs.extend(s.configs);
        jobs.saves.extend(s.saves);
        jobs.signal_receivers.extend(s.signal_receivers);
    }
    // A route gives a Celery task its queue; it does not make a function one.
    for (id, queue) in queues {
        if graph.entry_kinds(id).any(|k| k == EntryKind::CeleryTask) {
            graph.entry(id, EntryKind::CeleryTask, Some(queue));
        }
    }
    routes::route_patterns(&mut graph, &routes, &explicit, index, &defs);
    jobs.graph = graph;
    judge_passed_objects(&mut jobs.saves, &flows);
    transactions.judge(&mut jobs.saves, &jobs.graph);
    jobs
}

impl Jobs {
    /// A handler of `pre_save`/`post_save` of a model runs inside each
    /// function that saves or creates one (`obj.save()`, `create()`,
    /// `get_or_create()`; not `bulk_create()` nor `update()`, which send no
    /// signal): a call from there, so it belongs to that function's entry
    /// points. A handler none of whose senders dbveto sees (another
    /// signal, a save of an object whose model is not known, a sender
    /// outside the repository) counts as an entry point of its own.
    pub fn connect_signals(&mut self, writes: &[Write]) {
        let mut edges = Vec::new();
        for (handler, signal, model, detail) in &self.signal_receivers {
            let before = edges.len();
            if let (true, Some(model)) = (matches!(signal.as_str(), "pre_save" | "post_save"), model) {
                for save in self.saves.iter().filter(|s| s.model == *model) {
                    edges.extend(save.function.filter(|f| f != handler).map(|f| (f, *handler)));
                }
                let creates = writes.iter().filter(|w| w.kind == WriteKind::Insert && w.model.as_ref() == Some(model) && !w.statement.contains("bulk_create"));
                for write in creates {
                    let at = write.call.as_ref().unwrap_or(&write.location);
                    edges.extend(self.graph.enclosing(&at.path, at.line).filter(|f| f != handler).map(|f| (f, *handler)));
                }
            }
            if edges.len() == before {
                self.graph.entry(*handler, EntryKind::SignalHandler, Some(detail.clone()));
            }
        }
        for (caller, handler) in edges {
            self.graph.call(caller, handler);
        }
    }
}

/// A save of an object that came in as a parameter is a read-modify-write
/// when some caller passes an object loaded from the database (locked
/// when every such caller locked it); otherwise it is not judged.
fn judge_passed_objects(saves: &mut [SaveSite], flows: &[(usize, usize, resolve::Origin, bool)]) {
    use resolve::Origin;
    // (function, position) → (passed loaded unlocked, passed loaded locked)
    let mut state: HashMap<(usize, usize), (bool, bool)> = HashMap::new();
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds <= flows.len() {
        changed = false;
        rounds += 1;
        for &(callee, position, origin, locked) in flows {
            let (unlocked, locked) = match origin {
                Origin::Loaded { .. } => (!locked, locked),
                Origin::Param(f, p) => match state.get(&(f, p)) {
                    Some(&(u, l)) => (u && !locked, l || (u && locked)),
                    None => continue,
                },
                Origin::New => continue,
            };
            let entry = state.entry((callee, position)).or_default();
            let next = (entry.0 || unlocked, entry.1 || locked);
            if next != *entry {
                *entry = next;
                changed = true;
            }
        }
    }
    for save in saves {
        let Some(parameter) = save.parameter else { continue };
        match state.get(&parameter) {
            Some((true, _)) => {}
            Some((false, true)) if save.atomicity == Atomicity::ReadModifyWrite => save.atomicity = Atomicity::Locked,
            Some(_) => {}
            None if save.atomicity == Atomicity::ReadModifyWrite => save.atomicity = Atomicity::PassedIn,
            None => {}
        }
    }
}

fn is_migration(path: &str) -> bool {
    path.rsplit_once('/').is_some_and(|(dir, _)| dir == "migrations" || dir.ends_with("/migrations"))
}

/// The writers of each column, filled in the order writes are found.
#[derive(Default)]
struct ColumnTable<'w> {
    columns: Vec<ColumnWriters>,
    /// Table → index in `slots`.
    tables: FxHashMap<String, usize>,
    /// Per table: column → index in `columns`.
    slots: Vec<FxHashMap<&'w str, usize>>,
}

impl<'w> ColumnTable<'w> {
    /// The columns of `table`, looked up once for all the columns of a write.
    fn table<'t>(&'t mut self, table: &'t str) -> TableColumns<'t, 'w> {
        let slot = match self.tables.get(table) {
            Some(&slot) => slot,
            None => {
                self.slots.push(FxHashMap::default());
                self.tables.insert(table.to_string(), self.slots.len() - 1);
                self.slots.len() - 1
            }
        };
        TableColumns { table, by_column: &mut self.slots[slot], columns: &mut self.columns }
    }

    /// By table and column, each column's sites by location.
    fn into_sorted(mut self) -> Vec<ColumnWriters> {
        self.columns.par_sort_unstable_by(|a, b| (&a.table, &a.column).cmp(&(&b.table, &b.column)));
        self.columns.par_iter_mut().for_each(|c| {
            c.sites.sort_by(|a, b| a.location.cmp(&b.location));
            c.sites.dedup_by(|a, b| a.location == b.location && a.statement == b.statement);
        });
        self.columns
    }
}

/// The columns of one table in a [`ColumnTable`].
struct TableColumns<'t, 'w> {
    table: &'t str,
    by_column: &'t mut FxHashMap<&'w str, usize>,
    columns: &'t mut Vec<ColumnWriters>,
}

impl<'w> TableColumns<'_, 'w> {
    /// Adds a site; the column's model is the first one given.
    fn push(&mut self, column: &'w str, model: Option<&String>, site: WriterSite) {
        let slot = *self.by_column.entry(column).or_insert_with(|| {
            self.columns.push(ColumnWriters { table: self.table.to_string(), column: column.to_string(), model: None, sites: Vec::new() });
            self.columns.len() - 1
        });
        let writers = &mut self.columns[slot];
        if writers.model.is_none() {
            writers.model = model.cloned();
        }
        writers.sites.push(site);
    }
}

/// The facts the job rules read: `writes` are every write of the
/// repository (ORM and SQL, Python and Go).
pub fn facts(jobs: &Jobs, writes: &[Write]) -> JobFacts {
    let graph = &jobs.graph;
    // An object's `save()` is one of `saves` too, which know whether it is
    // a read-modify-write: the ORM frontend's UPDATE of it does not.
    let saved_at: FxHashSet<&dbveto_source::Location> = jobs.saves.iter().map(|s| &s.save).collect();
    let counted: Vec<(&Write, Option<usize>)> = writes
        .par_iter()
        .filter(|w| w.columns.is_some() && !(w.kind == WriteKind::Update && saved_at.contains(&w.location)))
        .map(|w| {
            let at = w.call.as_ref().unwrap_or(&w.location);
            (w, graph.enclosing(&at.path, at.line))
        })
        .collect();
    let mut functions: Vec<usize> =
        counted.iter().filter_map(|(_, f)| *f).chain(jobs.saves.iter().filter_map(|s| s.function)).collect();
    functions.par_sort_unstable();
    functions.dedup();
    let reach: FxHashMap<usize, Vec<EntryPoint>> = functions.into_par_iter().map(|f| (f, graph.entry_points(f))).collect();
    let entry_points = |f: Option<usize>| f.and_then(|f| reach.get(&f)).cloned().unwrap_or_default();
    // The sites are built in parallel, then filed in the order of the writes.
    let write_sites: Vec<(String, &Write, Vec<WriterSite>)> = counted
        .par_iter()
        .map(|&(write, function)| {
            let atomicity = match write.kind {
                WriteKind::Insert => Atomicity::Insert,
                WriteKind::Update => Atomicity::SingleUpdate,
            };
            let sites = write
                .values
                .iter()
                .take(write.columns.as_ref().map_or(0, Vec::len))
                .map(|value| WriterSite {
                    location: write.location.clone(),
                    statement: write.statement.clone(),
                    statement_location: write.call.clone().filter(|c| *c != write.location),
                    value: shown(value),
                    atomicity,
                    function: function.map(|f| graph.name(f).to_string()),
                    entry_points: entry_points(function),
                    own_row: false,
                })
                .collect();
            (write.table.to_string(), write, sites)
        })
        .collect();
    let save_sites: Vec<WriterSite> = jobs
        .saves
        .par_iter()
        .map(|save| WriterSite {
            location: save.location.clone(),
            statement: save.statement.clone(),
            statement_location: Some(save.save.clone()),
            value: save.value.clone(),
            atomicity: save.atomicity,
            function: save.function.map(|f| graph.name(f).to_string()),
            entry_points: entry_points(save.function),
            own_row: save.own_row,
        })
        .collect();
    let mut columns = ColumnTable::default();
    for (table, write, sites) in write_sites {
        let mut of_table = columns.table(&table);
        for (column, site) in write.columns.iter().flatten().zip(sites) {
            of_table.push(column, write.model.as_ref(), site);
        }
    }
    for (save, site) in jobs.saves.iter().zip(save_sites) {
        columns.table(&save.table).push(&save.column, Some(&save.model), site);
    }
    let written = written_by_function(writes, jobs);
    JobFacts {
        systems: systems(jobs, &written),
        schedules: schedules(jobs, &written),
        functions: graph.job_functions(),
        columns: columns.into_sorted(),
    }
}

/// The value written, as SQL when it is known.
fn shown(arg: &Arg) -> Option<String> {
    if arg.default {
        return Some("DEFAULT".into());
    }
    if arg.unknown || arg.known.is_empty() {
        return None;
    }
    let values: Vec<String> = arg.known.iter().map(|k| k.literal.to_sql()).collect();
    Some(values.join(" or "))
}

/// `table.column` written directly by each function (inserts left out:
/// a new row does not compete with another writer).
fn written_by_function(writes: &[Write], jobs: &Jobs) -> HashMap<usize, Vec<String>> {
    let mut out: HashMap<usize, Vec<String>> = HashMap::new();
    for write in writes {
        if write.kind != WriteKind::Update {
            continue;
        }
        let at = write.call.as_ref().unwrap_or(&write.location);
        let Some(f) = jobs.graph.enclosing(&at.path, at.line) else { continue };
        for column in write.columns.iter().flatten() {
            out.entry(f).or_default().push(format!("{}.{column}", write.table));
        }
    }
    for save in &jobs.saves {
        if let Some(f) = save.function {
            out.entry(f).or_default().push(format!("{}.{}", save.table, save.column));
        }
    }
    out
}

/// The columns a job writes through any chain of calls from `function`.
fn columns_reached(graph: &Graph, function: usize, written: &HashMap<usize, Vec<String>>) -> Vec<String> {
    let mut columns: Vec<String> =
        graph.reachable(function).into_iter().flat_map(|f| written.get(&f).into_iter().flatten().cloned()).collect();
    columns.sort();
    columns.dedup();
    columns
}

fn schedules(jobs: &Jobs, written: &HashMap<usize, Vec<String>>) -> Vec<ScheduledJob> {
    jobs.schedules
        .iter()
        .map(|s| ScheduledJob {
            scheduler: s.scheduler,
            entry: s.entry.clone(),
            function: s.function.map(|f| jobs.graph.name(f).to_string()),
            every: s.every,
            interval: s.interval.clone(),
            args: s.args.clone(),
            location: s.location.clone(),
            columns: s.function.map(|f| columns_reached(&jobs.graph, f, written)).unwrap_or_default(),
        })
        .collect()
}

fn systems(jobs: &Jobs, written: &HashMap<usize, Vec<String>>) -> Vec<JobSystem> {
    let mut out = Vec::new();
    for framework in [Framework::Celery, Framework::Rq, Framework::Apscheduler] {
        let mut functions = jobs.graph.jobs_of(framework);
        functions.extend(jobs.schedules.iter().filter(|s| s.framework == Some(framework)).filter_map(|s| s.function));
        functions.sort_unstable();
        functions.dedup();
        let mut config: Vec<Related> =
            jobs.configs.iter().filter(|(f, _)| *f == framework).map(|(_, r)| r.clone()).collect();
        for s in jobs.schedules.iter().filter(|s| s.framework == Some(framework) && s.function.is_some()) {
            config.push(Related { location: s.location.clone(), message: format!("{} entry `{}`", s.scheduler, s.entry) });
        }
        config.sort_by(|a, b| a.location.cmp(&b.location));
        config.dedup();
        if functions.is_empty() && config.is_empty() {
            continue;
        }
        let mut tables: Vec<String> = functions
            .iter()
            .flat_map(|f| columns_reached(&jobs.graph, *f, written))
            .filter_map(|c| c.rsplit_once('.').map(|(t, _)| t.to_string()))
            .collect();
        tables.sort();
        tables.dedup();
        let jobs_list = functions
            .iter()
            .map(|f| Related { location: jobs.graph.location(*f).clone(), message: format!("`{}`", jobs.graph.name(*f)) })
            .collect();
        out.push(JobSystem { framework, config, jobs: jobs_list, tables });
    }
    out
}

/// Every write of `table` (and of `column`, when given), from the facts.
pub fn writers<'f>(facts: &'f JobFacts, table: &str, column: Option<&str>) -> Vec<&'f ColumnWriters> {
    facts
        .columns
        .iter()
        .filter(|c| {
            let table_matches = c.table.eq_ignore_ascii_case(table)
                || c.model.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(table));
            table_matches && column.is_none_or(|col| c.column.eq_ignore_ascii_case(col))
        })
        .collect()
}

#[cfg(test)]
mod tests;
