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

use dbveto_rules::{InsertOrder, SwallowedError};
use dbveto_schema::{ConstraintKind, Schema};
use dbveto_source::Location;
use dbveto_writes::Literal;

use crate::models::{Models, TableItem};
use crate::orm::{FnKey, Flow, Row, Step};

/// How deep helper calls are followed.
const MAX_CALL_DEPTH: u32 = 6;
/// Bounds the events of one function with everything it calls.
const MAX_EVENTS: usize = 20_000;

#[derive(Debug, Clone)]
enum Event {
    IsSession(String),
    Add { session: String, row: Row },
    Flush { session: String, commit: bool, at: Location, site: Option<Location> },
    Recover { session: String },
    Use { session: String, at: Location, site: Option<Location> },
    Swallow { session: String, handler: Location, work: Location },
}

struct Context {
    /// Callee parameter → the caller's expression.
    renames: HashMap<String, String>,
    /// Called on `self`: `self.x` is the caller's `self.x`.
    keeps_self: bool,
    /// Names local to the callee get this prefix.
    prefix: String,
    /// The call in the function being followed that leads here.
    site: Option<Location>,
}

impl Context {
    fn root() -> Self {
        Context { renames: HashMap::new(), keeps_self: true, prefix: String::new(), site: None }
    }

    fn rename(&self, key: &str) -> String {
        let (root, rest) = match key.split_once('.') {
            Some((r, rest)) => (r, Some(rest)),
            None => (key, None),
        };
        if let Some(outer) = self.renames.get(root) {
            return match rest {
                Some(rest) => format!("{outer}.{rest}"),
                None => outer.clone(),
            };
        }
        if root == "self" && self.keeps_self {
            return key.to_string();
        }
        format!("{}{key}", self.prefix)
    }
}

struct Linearizer<'f> {
    flows: &'f HashMap<FnKey, Flow>,
    loop_iterations: usize,
    stack: Vec<FnKey>,
    events: usize,
}

impl Linearizer<'_> {
    fn function(&mut self, key: FnKey, context: &Context, out: &mut Vec<Event>) {
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

    fn steps(&mut self, steps: &[Step], cx: &Context, out: &mut Vec<Event>, deferred: &mut Vec<Event>) {
        for step in steps {
            if self.events > MAX_EVENTS {
                return;
            }
            self.events += 1;
            match step {
                Step::IsSession(k) => out.push(Event::IsSession(cx.rename(k))),
                Step::Add { session, row, .. } => out.push(Event::Add { session: cx.rename(session), row: row.clone() }),
                Step::Flush { session, commit, at } => out.push(Event::Flush { session: cx.rename(session), commit: *commit, at: at.clone(), site: cx.site.clone() }),
                Step::Recover { session, .. } => out.push(Event::Recover { session: cx.rename(session) }),
                Step::Use { session, at } => out.push(Event::Use { session: cx.rename(session), at: at.clone(), site: cx.site.clone() }),
                Step::Call { callee, args, self_receiver, at } => {
                    let Some(flow) = self.flows.get(callee) else { continue };
                    let mut renames = HashMap::new();
                    for (param, expr) in args {
                        let name = match param.strip_prefix('#') {
                            Some(i) => i.parse::<usize>().ok().and_then(|i| flow.params.get(i)).cloned(),
                            None => Some(param.clone()),
                        };
                        if let Some(name) = name {
                            renames.insert(name, cx.rename(expr));
                        }
                    }
                    let inner = Context {
                        renames,
                        keeps_self: *self_receiver && cx.keeps_self,
                        prefix: format!("{}{}:{}:", cx.prefix, callee.0, callee.1),
                        site: cx.site.clone().or_else(|| Some(at.clone())),
                    };
                    self.function(*callee, &inner, out);
                }
                Step::Try { body, handlers, after } => {
                    let start = out.len();
                    self.steps(body, cx, out, deferred);
                    // Per session, the work that may fail: the last flush, else the first work.
                    let mut worked: Vec<(String, Location, bool)> = Vec::new();
                    for e in &out[start..] {
                        let (session, at, flush) = match e {
                            Event::Add { session, row } => (session, &row.at, false),
                            Event::Flush { session, at, .. } => (session, at, true),
                            Event::Use { session, at, .. } => (session, at, false),
                            _ => continue,
                        };
                        match worked.iter_mut().find(|(s, _, _)| s == session) {
                            Some(found) if flush => *found = (session.clone(), at.clone(), true),
                            Some(_) => {}
                            None => worked.push((session.clone(), at.clone(), flush)),
                        }
                    }
                    for handler in handlers {
                        let mut handled = Vec::new();
                        let mut handler_deferred = Vec::new();
                        self.steps(&handler.steps, cx, &mut handled, &mut handler_deferred);
                        if handler.raises {
                            continue;
                        }
                        let recovered: HashSet<&String> = handled.iter().filter_map(|e| match e {
                            Event::Recover { session } => Some(session),
                            _ => None,
                        }).collect();
                        for (session, work, _) in &worked {
                            if recovered.contains(session) {
                                continue;
                            }
                            let swallow = Event::Swallow { session: session.clone(), handler: handler.at.clone(), work: work.clone() };
                            if handler.returns {
                                deferred.push(swallow);
                            } else {
                                out.push(swallow);
                            }
                        }
                    }
                    self.steps(after, cx, out, deferred);
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

fn linearize(flows: &HashMap<FnKey, Flow>, root: FnKey, loop_iterations: usize) -> Vec<Event> {
    let mut linearizer = Linearizer { flows, loop_iterations, stack: Vec::new(), events: 0 };
    let mut out = Vec::new();
    linearizer.function(root, &Context::root(), &mut out);
    out
}

/// Both flow facts for every function of the project.
pub fn facts(flows: &HashMap<FnKey, Flow>, models: &Models, schema: Option<&Schema>) -> (Vec<InsertOrder>, Vec<SwallowedError>) {
    let mut roots: Vec<FnKey> = flows.keys().copied().collect();
    roots.sort();
    let mut orders: Vec<InsertOrder> = Vec::new();
    let mut swallowed: Vec<SwallowedError> = Vec::new();
    for root in roots {
        for order in insert_orders(&linearize(flows, root, 1), models, schema) {
            if !orders.iter().any(|o| o.child_at == order.child_at && o.parent_at == order.parent_at && o.column == order.column) {
                orders.push(order);
            }
        }
        for s in swallowed_errors(&linearize(flows, root, 2)) {
            if !swallowed.iter().any(|o| o.handler == s.handler) {
                swallowed.push(s);
            }
        }
    }
    (orders, swallowed)
}

fn swallowed_errors(events: &[Event]) -> Vec<SwallowedError> {
    let sessions: HashSet<&String> = events.iter().filter_map(|e| match e {
        Event::IsSession(s) => Some(s),
        _ => None,
    }).collect();
    let mut failed: HashMap<String, (Location, Location)> = HashMap::new();
    let mut out = Vec::new();
    for event in events {
        let (session, at) = match event {
            Event::Swallow { session, handler, work } => {
                if sessions.contains(session) {
                    failed.entry(session.clone()).or_insert((handler.clone(), work.clone()));
                }
                continue;
            }
            Event::Recover { session } => {
                failed.remove(session);
                continue;
            }
            Event::Add { session, row } => (session, row.at.clone()),
            Event::Flush { session, at, site, .. } => (session, site.clone().unwrap_or_else(|| at.clone())),
            Event::Use { session, at, site } => (session, site.clone().unwrap_or_else(|| at.clone())),
            Event::IsSession(_) => continue,
        };
        if let Some((handler, work)) = failed.remove(session) {
            let shown = session.rsplit(':').next().unwrap_or(session).to_string();
            out.push(SwallowedError { session: shown, handler, work, reused: at });
        }
    }
    out
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
