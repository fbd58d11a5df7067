//! The order in which session work reaches the database, through the
//! repository's helper functions: each function is followed from its
//! start with the helpers it calls inlined (sessions passed as arguments
//! renamed to the caller's), as one sequence of events. Two facts come
//! out of it: rows flushed before the parent their foreign key names
//! (`fk-insert-order`), and errors swallowed without `rollback()` before
//! the session is used again (`missing-rollback`).
//!
//! The sequence is an over-approximation of one run: both arms of an
//! `if` are taken one after the other, a loop body once (twice when
//! looking for a session reused after an error).

use std::collections::{HashMap, HashSet};

use dbveto_facts::{InsertOrder, SwallowedError};
use dbveto_schema::{ConstraintKind, Schema};
use dbveto_source::Location;
use dbveto_writes::Literal;

use crate::models::{Models, TableItem};
use dbveto_python_semantic::Catches;

use crate::orm::{FnKey, Flow, Row, Step};

/// How deep helper calls are followed.
const MAX_CALL_DEPTH: u32 = 6;
/// Bounds the events of one function with everything it calls.
const MAX_EVENTS: usize = 20_000;
/// How deeply handlers that leave (inside handlers that leave) are followed.
const MAX_SIDE_PATHS: u32 = 32;

#[derive(Debug, Clone)]
enum Event {
    IsSession(String),
    Fresh(String),
    Add { session: String, row: Row },
    Flush { session: String, commit: bool, pending: bool, read: bool, at: Location, site: Option<Location> },
    Recover { session: String },
    Use { session: String, at: Location, site: Option<Location>, pends: bool },
    /// A block whose context manager rolls the session back when an error
    /// leaves it opens, and closes.
    ScopeStart(String),
    ScopeEnd(String),
    Swallow { session: String, handler: Location, work: Location },
    /// What a handler that leaves the function (raises, returns) does: a
    /// path of its own, after which the function does not go on.
    SidePath(Vec<Event>),
}

struct Context<'f> {
    /// Callee parameter → the caller's expression.
    renames: HashMap<String, String>,
    /// Called on `self`: `self.x` is the caller's `self.x`.
    keeps_self: bool,
    /// Names local to the callee get this prefix: one of its own per call.
    prefix: String,
    /// Module-level names the function reads, by what they are bound to.
    globals: Option<&'f HashMap<String, String>>,
    /// The call in the function being followed that leads here.
    site: Option<Location>,
}

impl<'f> Context<'f> {
    fn root(globals: Option<&'f HashMap<String, String>>) -> Self {
        Context { renames: HashMap::new(), keeps_self: true, prefix: String::new(), globals, site: None }
    }

    fn rename(&self, key: &str) -> String {
        let (root, rest) = match key.split_once('.') {
            Some((r, rest)) => (r, Some(rest)),
            None => (key, None),
        };
        let joined = |outer: &str| match rest {
            Some(rest) => format!("{outer}.{rest}"),
            None => outer.to_string(),
        };
        if let Some(outer) = self.renames.get(root) {
            return joined(outer);
        }
        if root == "self" && self.keeps_self {
            return key.to_string();
        }
        // One object in every function: `db.session`, a module's `Session`.
        if let Some(dotted) = self.globals.and_then(|g| g.get(root)) {
            return joined(&format!("={dotted}"));
        }
        format!("{}{key}", self.prefix)
    }
}

struct Linearizer<'f> {
    flows: &'f HashMap<FnKey, Flow>,
    loop_iterations: usize,
    stack: Vec<FnKey>,
    events: usize,
    /// Calls followed so far: each gets locals of its own.
    calls: usize,
    /// How each session key was first spelled in the code.
    spelled: HashMap<String, String>,
}

impl<'f> Linearizer<'f> {
    fn function(&mut self, key: FnKey, context: &Context<'f>, out: &mut Vec<Event>) {
        let Some(flow) = self.flows.get(&key) else { return };
        if self.stack.contains(&key) || self.stack.len() as u32 > MAX_CALL_DEPTH {
            return;
        }
        self.stack.push(key);
        let mut deferred = Vec::new();
        self.steps(&flow.steps, context, out, &mut deferred);
        out.extend(deferred);
        self.stack.pop();
    }

    fn session(&mut self, cx: &Context<'f>, key: &str) -> String {
        let renamed = cx.rename(key);
        self.spelled.entry(renamed.clone()).or_insert_with(|| key.to_string());
        renamed
    }

    fn steps(&mut self, steps: &'f [Step], cx: &Context<'f>, out: &mut Vec<Event>, deferred: &mut Vec<Event>) {
        for step in steps {
            if self.events > MAX_EVENTS {
                return;
            }
            self.events += 1;
            match step {
                Step::IsSession(k) => out.push(Event::IsSession(self.session(cx, k))),
                Step::Fresh(k) => out.push(Event::Fresh(self.session(cx, k))),
                Step::Add { session, row, .. } => out.push(Event::Add { session: self.session(cx, session), row: row.clone() }),
                Step::Flush { session, commit, pending, read, at } => out.push(Event::Flush {
                    session: self.session(cx, session),
                    commit: *commit,
                    pending: *pending,
                    read: *read,
                    at: at.clone(),
                    site: cx.site.clone(),
                }),
                Step::Recover { session, .. } => out.push(Event::Recover { session: self.session(cx, session) }),
                Step::Use { session, at, pends } => out.push(Event::Use { session: self.session(cx, session), at: at.clone(), site: cx.site.clone(), pends: *pends }),
                Step::Scoped { session, body } => {
                    let session = self.session(cx, session);
                    out.push(Event::ScopeStart(session.clone()));
                    self.steps(body, cx, out, deferred);
                    out.push(Event::ScopeEnd(session));
                }
                Step::Call { callee, args, self_receiver, closure, at } => {
                    let Some(flow) = self.flows.get(callee) else { continue };
                    let mut renames = HashMap::new();
                    // A nested function's free names are the enclosing call's.
                    if *closure {
                        for name in &flow.free {
                            renames.insert(name.clone(), cx.rename(name));
                        }
                    }
                    for (param, expr) in args {
                        let name = match param.strip_prefix('#') {
                            Some(i) => i.parse::<usize>().ok().and_then(|i| flow.params.get(i)).cloned(),
                            None => Some(param.clone()),
                        };
                        if let Some(name) = name {
                            renames.insert(name, cx.rename(expr));
                        }
                    }
                    self.calls += 1;
                    let inner = Context {
                        renames,
                        keeps_self: *self_receiver && cx.keeps_self,
                        prefix: format!("{}{}:{}#{}:", cx.prefix, callee.0, callee.1, self.calls),
                        globals: Some(&flow.globals),
                        site: cx.site.clone().or_else(|| Some(at.clone())),
                    };
                    self.function(*callee, &inner, out);
                }
                Step::Try { body, handlers, orelse, finally } => {
                    let start = out.len();
                    self.steps(body, cx, out, deferred);
                    let (before, body) = out.split_at(start);
                    // Reads count too for a handler that names a database error.
                    let reads_too = handlers.iter().any(|h| h.expects_database_error).then(|| work_that_may_fail(body, before, true));
                    let writes = work_that_may_fail(body, before, false);
                    // The body raised nothing.
                    self.steps(orelse, cx, out, deferred);
                    for handler in handlers {
                        let worked = match &reads_too {
                            Some(reads_too) if handler.expects_database_error => reads_too,
                            _ => &writes,
                        };
                        let swallows = handler.catches >= Catches::Some && !handler.raises;
                        let leaves = handler.raises || handler.returns;
                        let mut side = Vec::new();
                        let path = if leaves { &mut side } else { &mut *out };
                        if swallows {
                            for (session, work) in worked {
                                path.push(Event::Swallow { session: session.clone(), handler: handler.at.clone(), work: work.clone() });
                            }
                        }
                        let handled = path.len();
                        self.steps(&handler.steps, cx, path, deferred);
                        if !leaves {
                            continue;
                        }
                        // Returning leaves the failed session to the caller.
                        let recovered: HashSet<&String> = side[handled..].iter().filter_map(|e| match e {
                            Event::Recover { session } => Some(session),
                            _ => None,
                        }).collect();
                        if swallows && handler.returns {
                            for (session, work) in worked.iter().filter(|(s, _)| !recovered.contains(s)) {
                                deferred.push(Event::Swallow { session: session.clone(), handler: handler.at.clone(), work: work.clone() });
                            }
                        }
                        out.push(Event::SidePath(side));
                    }
                    self.steps(finally, cx, out, deferred);
                }
                Step::Loop(body) => {
                    for _ in 0..self.loop_iterations {
                        self.steps(body, cx, out, deferred);
                    }
                }
                Step::Branch(arms) => {
                    for arm in arms {
                        self.steps(arm, cx, out, deferred);
                    }
                }
            }
        }
    }
}

/// Per session, the work of a `try` body that may fail with a database
/// error and reach its handlers: its last flush (a commit, a statement, a
/// read that autoflushes objects added and not yet sent; `add()` and
/// `delete()` send nothing, and a read with nothing to send fails only as
/// a read, counted only when `reads_fail`: the handler expects a database
/// error by name). Work inside a block that rolls its session back when
/// the error leaves it (a savepoint, a `with` of its own) has been
/// recovered before any handler runs. `before` is what ran before the
/// `try`, where objects may have been added and not yet sent.
fn work_that_may_fail(events: &[Event], before: &[Event], reads_fail: bool) -> Vec<(String, Location)> {
    // Sessions with objects added and not yet sent, as the body leaves
    // them; a session it has not touched yet is as `before` left it.
    let mut unflushed: HashMap<&String, bool> = HashMap::new();
    let mut worked: Vec<(String, Location)> = Vec::new();
    let mut scopes: HashMap<&String, u32> = HashMap::new();
    // Sessions whose pending objects a block just flushed: a `commit()`
    // right after it sends no row.
    let mut flushed: HashSet<&String> = HashSet::new();
    for e in events {
        let (session, at) = match e {
            Event::ScopeStart(s) => {
                *scopes.entry(s).or_default() += 1;
                continue;
            }
            Event::ScopeEnd(s) => {
                if let Some(n) = scopes.get_mut(s) {
                    *n = n.saturating_sub(1);
                }
                flushed.insert(s);
                unflushed.insert(s, false);
                continue;
            }
            Event::Add { session, .. } => {
                flushed.remove(session);
                unflushed.insert(session, true);
                continue;
            }
            Event::Use { session, pends, .. } => {
                flushed.remove(session);
                if *pends {
                    unflushed.insert(session, true);
                }
                continue;
            }
            Event::Recover { session } | Event::Fresh(session) => {
                unflushed.insert(session, false);
                continue;
            }
            Event::Flush { session, read: true, .. } if !reads_fail && !*unflushed.entry(session).or_insert_with(|| pending_at_end(before, session)) => continue,
            Event::Flush { session, pending: true, .. } if flushed.contains(session) => continue,
            Event::Flush { session, at, .. } => {
                unflushed.insert(session, false);
                (session, at)
            }
            _ => continue,
        };
        if scopes.get(session).is_some_and(|&n| n > 0) {
            continue;
        }
        match worked.iter_mut().find(|(s, _)| s == session) {
            Some(found) => found.1 = at.clone(),
            None => worked.push((session.clone(), at.clone())),
        }
    }
    worked
}

/// Whether `session` holds objects added and not yet sent at the end of
/// `events`: the last event that adds to it or sends, recovers, replaces
/// or closes it decides.
fn pending_at_end(events: &[Event], session: &str) -> bool {
    for e in events.iter().rev() {
        match e {
            Event::Add { session: s, .. } | Event::Use { session: s, pends: true, .. } if s == session => return true,
            Event::Flush { session: s, .. } | Event::Recover { session: s } | Event::Fresh(s) | Event::ScopeEnd(s) if s == session => return false,
            _ => {}
        }
    }
    false
}

fn linearize(flows: &HashMap<FnKey, Flow>, root: FnKey, loop_iterations: usize) -> (Vec<Event>, HashMap<String, String>) {
    let mut linearizer = Linearizer { flows, loop_iterations, stack: Vec::new(), events: 0, calls: 0, spelled: HashMap::new() };
    let mut out = Vec::new();
    let globals = flows.get(&root).map(|f| &f.globals);
    linearizer.function(root, &Context::root(globals), &mut out);
    (out, linearizer.spelled)
}

/// Both flow facts for every function of the project.
pub fn facts(flows: &HashMap<FnKey, Flow>, models: &Models, schema: Option<&Schema>) -> (Vec<InsertOrder>, Vec<SwallowedError>) {
    let mut roots: Vec<FnKey> = flows.keys().copied().collect();
    roots.sort();
    let mut orders: Vec<InsertOrder> = Vec::new();
    let mut swallowed: Vec<SwallowedError> = Vec::new();
    for root in roots {
        for order in insert_orders(&linearize(flows, root, 1).0, models, schema) {
            if !orders.iter().any(|o| o.child_at == order.child_at && o.parent_at == order.parent_at && o.column == order.column) {
                orders.push(order);
            }
        }
        let (events, spelled) = linearize(flows, root, 2);
        for s in swallowed_errors(&events, &spelled) {
            if !swallowed.iter().any(|o| o.handler == s.handler) {
                swallowed.push(s);
            }
        }
    }
    (orders, swallowed)
}

fn swallowed_errors(events: &[Event], spelled: &HashMap<String, String>) -> Vec<SwallowedError> {
    let sessions: HashSet<&String> = events.iter().filter_map(|e| match e {
        Event::IsSession(s) => Some(s),
        _ => None,
    }).collect();
    let mut out = Vec::new();
    follow_swallowed(events, &sessions, spelled, &mut HashMap::new(), &mut out, 0);
    out
}

/// Walks one path: `failed` holds each session whose error was swallowed
/// and not yet recovered.
fn follow_swallowed(
    events: &[Event],
    sessions: &HashSet<&String>,
    spelled: &HashMap<String, String>,
    failed: &mut HashMap<String, (Location, Location)>,
    out: &mut Vec<SwallowedError>,
    depth: u32,
) {
    if depth > MAX_SIDE_PATHS {
        return;
    }
    for event in events {
        let (session, at) = match event {
            Event::Swallow { session, handler, work } => {
                if sessions.contains(session) {
                    failed.entry(session.clone()).or_insert((handler.clone(), work.clone()));
                }
                continue;
            }
            Event::Recover { session } | Event::Fresh(session) => {
                failed.remove(session);
                continue;
            }
            Event::SidePath(side) => {
                // What happens there stays there: the function does not go on after it.
                follow_swallowed(side, sessions, spelled, &mut failed.clone(), out, depth + 1);
                continue;
            }
            Event::Add { session, row } => (session, row.at.clone()),
            Event::Flush { session, at, site, .. } => (session, site.clone().unwrap_or_else(|| at.clone())),
            Event::Use { session, at, site, .. } => (session, site.clone().unwrap_or_else(|| at.clone())),
            Event::IsSession(_) | Event::ScopeStart(_) | Event::ScopeEnd(_) => continue,
        };
        if let Some((handler, work)) = failed.remove(session) {
            let shown = spelled.get(session).cloned().unwrap_or_else(|| session.rsplit(':').next().unwrap_or(session).to_string());
            out.push(SwallowedError { session: shown, handler, work, reused: at });
        }
    }
}

/// The column of `child` that references `parent`'s table, with where
/// the key is declared.
fn foreign_key_to(models: &Models, child: usize, parent: usize) -> Vec<(String, Location)> {
    let c = &models.tables[child];
    let p = &models.tables[parent];
    let mut out = Vec::new();
    for column in &c.columns {
        for fk in &column.foreign_keys {
            if fk.table_column().is_some_and(|(t, _)| t == p.name) {
                out.push((column.name.clone(), fk.location.clone()));
            }
        }
    }
    for (item, at) in &c.items {
        if let TableItem::ForeignKey { columns, targets, .. } = item {
            if let (Some(column), Some(target)) = (columns.first(), targets.first()) {
                let table = target.rsplit_once('.').map(|(t, _)| t.rsplit('.').next().unwrap_or(t));
                if table == Some(p.name.as_str()) {
                    out.push((column.clone(), at.clone()));
                }
            }
        }
    }
    out
}

/// Whether a row gives a column a value that may be a key (not only NULL).
fn gives_key(row: &Row, column: &str) -> bool {
    row.given.iter().any(|(c, arg)| c == column && (arg.unknown || arg.known.iter().any(|k| k.literal != Literal::Null)))
}

/// Whether a relationship() links the two classes: the unit of work
/// then orders their INSERTs parent first within a flush.
fn related(models: &Models, a: usize, b: usize) -> bool {
    let (a, b) = (&models.tables[a], &models.tables[b]);
    let names = |t: &crate::models::MappedTable| t.class_name.clone().unwrap_or_default();
    a.relationships.contains(&names(b)) || b.relationships.contains(&names(a))
}

fn constraint(schema: Option<&Schema>, table: &crate::models::MappedTable, column: &str) -> (Option<String>, bool) {
    let found = schema.and_then(|s| s.table(table.schema.as_deref(), &table.name)).and_then(|t| {
        t.constraints.iter().find(|k| matches!(k.kind, ConstraintKind::ForeignKey { .. }) && k.columns.len() == 1 && k.columns[0] == column)
    });
    match found {
        Some(k) => (Some(k.name.clone()), matches!(k.kind, ConstraintKind::ForeignKey { initially_deferred: true, .. })),
        None => (None, false),
    }
}

fn insert_orders(events: &[Event], models: &Models, schema: Option<&Schema>) -> Vec<InsertOrder> {
    struct Added {
        row: Row,
        seq: usize,
        /// The flush that sent it, and whether it committed.
        flushed: Option<(Location, bool)>,
    }
    let mut sessions: HashMap<&String, Vec<Added>> = HashMap::new();
    let mut out = Vec::new();
    let class = |t: usize| models.tables[t].class_name.clone().unwrap_or_else(|| models.tables[t].name.clone());
    for (seq, event) in events.iter().enumerate() {
        match event {
            Event::Add { session, row } => {
                let added = sessions.entry(session).or_default();
                for child in added.iter() {
                    let Some((flush_at, committed)) = &child.flushed else { continue };
                    if child.row.table == row.table {
                        continue;
                    }
                    // A parent of the same table added before the child: the key may be its.
                    if added.iter().any(|a| a.row.table == row.table && a.seq < child.seq) {
                        continue;
                    }
                    for (column, fk_at) in foreign_key_to(models, child.row.table, row.table) {
                        if !gives_key(&child.row, &column) {
                            continue;
                        }
                        let child_table = &models.tables[child.row.table];
                        let (name, deferred) = constraint(schema, child_table, &column);
                        if deferred && !committed {
                            continue;
                        }
                        out.push(InsertOrder {
                            child_table: child_table.name.clone(),
                            child_model: class(child.row.table),
                            column,
                            parent_table: models.tables[row.table].name.clone(),
                            parent_model: class(row.table),
                            child_at: child.row.at.clone(),
                            flushed_at: Some(flush_at.clone()),
                            parent_at: row.at.clone(),
                            constraint: name,
                            foreign_key_at: fk_at,
                        });
                    }
                }
                added.push(Added { row: row.clone(), seq, flushed: None });
            }
            Event::Flush { session, commit, at, .. } => {
                let Some(added) = sessions.get_mut(session) else { continue };
                let pending: Vec<usize> = (0..added.len()).filter(|&i| added[i].flushed.is_none()).collect();
                for &c in &pending {
                    for &p in &pending {
                        let (child, parent) = (&added[c], &added[p]);
                        if child.row.table == parent.row.table || related(models, child.row.table, parent.row.table) {
                            continue;
                        }
                        // Without a relationship, mappers flush in order of `<module>.<Class>`.
                        let (child_key, parent_key) = (&models.tables[child.row.table].sort_key, &models.tables[parent.row.table].sort_key);
                        if child_key.is_empty() || parent_key.is_empty() || child_key >= parent_key {
                            continue;
                        }
                        for (column, fk_at) in foreign_key_to(models, child.row.table, parent.row.table) {
                            if !gives_key(&child.row, &column) {
                                continue;
                            }
                            let child_table = &models.tables[child.row.table];
                            let (name, deferred) = constraint(schema, child_table, &column);
                            if deferred {
                                continue;
                            }
                            out.push(InsertOrder {
                                child_table: child_table.name.clone(),
                                child_model: class(child.row.table),
                                column,
                                parent_table: models.tables[parent.row.table].name.clone(),
                                parent_model: class(parent.row.table),
                                child_at: child.row.at.clone(),
                                flushed_at: None,
                                parent_at: parent.row.at.clone(),
                                constraint: name,
                                foreign_key_at: fk_at,
                            });
                        }
                    }
                }
                for &i in &pending {
                    added[i].flushed = Some((at.clone(), *commit));
                }
            }
            _ => {}
        }
    }
    out
}
