//! What the ORM and Core send, function by function: `Model(...)` objects
//! given to `session.add()` / `add_all()` / `merge()`,
//! `bulk_save_objects()`, `bulk_insert_mappings()`, and `insert(...)
//! .values(...)` become the INSERT SQLAlchemy runs
//! (`persistence._collect_insert_commands`, `Mapper._insert_cols_as_none`);
//! and each function's session work is kept, in order, as [`Step`]s for
//! the flow rules.

use std::collections::HashMap;

use dbveto_python_semantic::{Catches, DepthGuard, ModuleId, ModuleIndex, ProjectIndex, Scope};
use dbveto_source::Location;
use dbveto_writes::{Arg, Literal, TableRef, Write, WriteKind};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::models::{ClientDefault, MappedTable, Models};
use crate::names::{path, Names};

const MAX_DEPTH: u32 = 200;
/// How many imports are followed to the module that binds a name.
const MAX_IMPORT_HOPS: usize = 16;
/// How many links of a method chain (`select(M).where(...).limit(1)`) are read.
const MAX_CHAIN: usize = 32;

/// A function of the repository: (module, offset of its `def`).
pub type FnKey = (ModuleId, u32);

/// A row the code builds: the mapped table and the attributes given.
#[derive(Debug, Clone)]
pub struct Row {
    pub table: usize,
    /// By column name.
    pub given: Vec<(String, Arg)>,
    /// Other attributes may be set (`**kwargs`, positional arguments, a
    /// custom `__init__`).
    pub rest: bool,
    pub at: Location,
}

/// What a function does with sessions, in the order it is written.
#[derive(Debug, Clone)]
pub enum Step {
    /// The key is known to be a session (annotation, factory, ORM call).
    IsSession(String),
    /// A new session is bound to the key (`s = Session()`, `with
    /// factory() as s`): what happened to the one it held before is over.
    Fresh(String),
    /// Work on the session inside a block whose context manager rolls it
    /// back when an error leaves the block (`with s.begin_nested():`,
    /// `with s.begin():`, `with Session() as s:`).
    Scoped { session: String, body: Vec<Step> },
    Add { session: String, row: Row },
    /// `pending`: it sends only what is pending (`flush()`, `commit()`),
    /// not a statement of its own. `read`: a read (`query()`, `get()`,
    /// `execute(select(...))`), which sends pending objects first
    /// (autoflush) and else fails only as a read.
    Flush { session: String, commit: bool, pending: bool, read: bool, at: Location },
    /// `rollback()` or `close()`.
    Recover { session: String },
    /// `pends`: it leaves work for the next flush (`add()` of an object
    /// dbveto does not read, `delete()`).
    Use { session: String, at: Location, pends: bool },
    /// `closure`: the callee is a function nested in this one, whose free
    /// names are this function's.
    Call { callee: FnKey, args: Vec<(String, String)>, self_receiver: bool, closure: bool, at: Location },
    /// `orelse` runs only when the body raised nothing.
    Try { body: Vec<Step>, handlers: Vec<Handler>, orelse: Vec<Step>, finally: Vec<Step> },
    Loop(Vec<Step>),
    Branch(Vec<Vec<Step>>),
}

#[derive(Debug, Clone)]
pub struct Handler {
    pub steps: Vec<Step>,
    /// How much of the errors a flush raises its `except` clause catches.
    pub catches: Catches,
    /// Its types name a database error: a failed read is what it expects.
    pub expects_database_error: bool,
    /// Every path of the handler raises (re-raises, or raises another
    /// exception).
    pub raises: bool,
    /// The handler leaves the function (`return`).
    pub returns: bool,
    pub at: Location,
}

/// A function's steps and its parameters, in order.
#[derive(Debug, Clone)]
pub struct Flow {
    pub params: Vec<String>,
    pub steps: Vec<Step>,
    /// Names the function reads from its module (or imports), by the
    /// dotted name of what they are bound to: `db` of `db.session` is
    /// `app.models.db` in every function that imports it.
    pub globals: HashMap<String, String>,
    /// Names the function reads that neither it nor its module binds: an
    /// enclosing function's, when it is nested.
    pub free: Vec<String>,
}

#[derive(Default)]
pub struct Extracted {
    pub writes: Vec<Write>,
    pub flows: HashMap<FnKey, Flow>,
}

pub fn extract(index: &ProjectIndex<'_>, models: &Models) -> Extracted {
    use rayon::prelude::*;
    if models.tables.is_empty() {
        return Extracted::default();
    }
    let migrations = crate::alembic::script_dirs(index);
    let parts: Vec<Extracted> = index
        .modules
        .par_iter()
        .filter(|m| !crate::alembic::is_migration_code(&migrations, &m.file.path) && !dbveto_python_semantic::is_test_or_generated(&m.file.path, &m.file.text))
        .map(|module| {
            let mut out = Extracted::default();
            let mut names = Names::new(index);
            walk_body(&mut names, module, models, module.body, None, &mut out);
            out
        })
        .collect();
    let mut all = Extracted::default();
    for p in parts {
        all.writes.extend(p.writes);
        all.flows.extend(p.flows);
    }
    all
}

/// Finds the functions of a body (module, class), at any depth.
fn walk_body<'a>(names: &mut Names<'_, 'a>, module: &ModuleIndex<'a>, models: &Models, body: &'a [Stmt], class: Option<&'a ast::StmtClassDef>, out: &mut Extracted) {
    for stmt in body {
        match stmt {
            Stmt::FunctionDef(f) => {
                let mut walker = Walker::new(names, module, models, f, class);
                let steps = walker.block(&f.body);
                let writes = std::mem::take(&mut walker.writes);
                let flow = walker.flow(steps);
                out.writes.extend(writes);
                out.flows.insert((module.id, f.start().to_u32()), flow);
                walk_body(names, module, models, &f.body, None, out);
            }
            Stmt::ClassDef(c) => walk_body(names, module, models, &c.body, Some(c), out),
            Stmt::If(s) => {
                walk_body(names, module, models, &s.body, class, out);
                for clause in &s.elif_else_clauses {
                    walk_body(names, module, models, &clause.body, class, out);
                }
            }
            _ => {}
        }
    }
}

/// Methods that only an ORM session has. `flush()`, `merge()`, `query()`
/// and `scalars()` are other objects' too (files, data frames, results):
/// they show a session only with a row or a statement of SQLAlchemy's.
const ORM_ONLY: &[&str] = &["add_all", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings", "expunge", "expunge_all", "begin_nested"];
/// Methods of a session whose argument tells it is one.
const ORM_WITH_ARGUMENT: &[&str] = &["query", "scalars"];
/// Other methods of a session: work on it, if the receiver is one.
const SESSION_METHODS: &[&str] = &["delete", "begin", "get", "scalar", "refresh", "execute"];
/// `select(...)`, maybe refined (`select(M).where(...).limit(1)`): a read.
fn is_select(expr: &Expr) -> bool {
    let mut current = expr;
    for _ in 0..32 {
        let Expr::Call(call) = current else { return false };
        match call.func.as_ref() {
            Expr::Name(n) => return n.id.as_str() == "select",
            Expr::Attribute(a) if a.attr.as_str() == "select" => return matches!(a.value.as_ref(), Expr::Name(m) if m.id.as_str() == "sqlalchemy" || m.id.as_str() == "sa"),
            Expr::Attribute(a) => current = &a.value,
            _ => return false,
        }
    }
    false
}

/// Methods that read through a session: they autoflush pending objects.
const AUTOFLUSHING: &[&str] = &["query", "execute", "scalars", "scalar", "get", "refresh"];

struct Walker<'w, 'p, 'a> {
    names: &'w mut Names<'p, 'a>,
    module: &'w ModuleIndex<'a>,
    models: &'w Models,
    function: &'a ast::StmtFunctionDef,
    class: Option<&'a ast::StmtClassDef>,
    scope: Scope<'a>,
    /// Variables holding a row being built.
    rows: HashMap<String, Row>,
    /// Variables holding a list of rows.
    lists: HashMap<String, Vec<Row>>,
    /// Variables holding a savepoint (`sp = s.begin_nested()`), by session.
    savepoints: HashMap<String, String>,
    writes: Vec<Write>,
    depth: u32,
}

impl<'w, 'p, 'a> Walker<'w, 'p, 'a> {
    fn new(names: &'w mut Names<'p, 'a>, module: &'w ModuleIndex<'a>, models: &'w Models, function: &'a ast::StmtFunctionDef, class: Option<&'a ast::StmtClassDef>) -> Self {
        let scope = module.function_scope(function);
        Walker { names, module, models, function, class, scope, rows: HashMap::new(), lists: HashMap::new(), savepoints: HashMap::new(), writes: Vec::new(), depth: 0 }
    }

    fn id(&self) -> ModuleId {
        self.module.id
    }

    fn location(&self, node: &impl Ranged) -> Location {
        self.module.file.location(node.start().to_usize())
    }

    fn flow(&self, mut steps: Vec<Step>) -> Flow {
        let f = self.function;
        let params: Vec<String> = f.parameters.iter().map(|p| p.name().to_string()).collect();
        // Parameters annotated as sessions, or injected (`Depends(get_db)`).
        let mut known = Vec::new();
        for p in f.parameters.iter_non_variadic_params() {
            let annotated = p.parameter.annotation.as_deref().and_then(path_or_subscript).is_some_and(|a| is_session_type(&a));
            let injected = p.default.as_deref().is_some_and(|d| matches!(d, Expr::Call(c) if path(&c.func).is_some_and(|n| n.ends_with("Depends")) && c.arguments.args.first().and_then(path).is_some_and(|n| is_session_factory(&n))));
            if annotated || injected {
                known.push(Step::IsSession(p.parameter.name.to_string()));
            }
        }
        known.append(&mut steps);
        let mut globals = HashMap::new();
        let mut free = Vec::new();
        let mut roots = Vec::new();
        session_roots(&known, &mut roots, 0);
        for root in roots {
            if globals.contains_key(root) || free.iter().any(|f| f == root) || matches!(root, "self" | "cls") || self.scope.bindings.get(root).is_some() {
                continue;
            }
            match self.global_name(root) {
                Some(dotted) => {
                    globals.insert(root.to_string(), dotted);
                }
                None => free.push(root.to_string()),
            }
        }
        Flow { params, steps: known, globals, free }
    }

    /// The dotted name of what a module-level name is bound to, imports
    /// followed to the module that binds it.
    fn global_name(&self, name: &str) -> Option<String> {
        let mut module = self.id();
        let mut name = name.to_string();
        for _ in 0..MAX_IMPORT_HOPS {
            let index = self.names.index.module(module)?;
            match index.bindings.get(&name) {
                Some(dbveto_python_semantic::Binding::Import(dbveto_python_semantic::Import::From { module: from, name: imported })) => {
                    match self.names.index.table.lookup(&from.dotted, from.exact, module) {
                        Some(target) => {
                            module = target;
                            name = imported.to_string();
                        }
                        None => return Some(format!("{}.{imported}", from.dotted)),
                    }
                }
                Some(dbveto_python_semantic::Binding::Import(dbveto_python_semantic::Import::Module(path))) => return Some(path.dotted.clone()),
                Some(_) => return Some(format!("{}.{name}", self.names.module_name(module))),
                None => return None,
            }
        }
        None
    }

    fn block(&mut self, body: &'a [Stmt]) -> Vec<Step> {
        let mut steps = Vec::new();
        for stmt in body {
            self.stmt(stmt, &mut steps);
        }
        steps
    }

    fn stmt(&mut self, stmt: &'a Stmt, steps: &mut Vec<Step>) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match stmt {
            // Their own scopes, walked as functions of their own.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Assign(a) => {
                self.expr(&a.value, steps);
                for target in &a.targets {
                    self.assign(target, &a.value, steps);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    self.expr(value, steps);
                    self.assign(&a.target, value, steps);
                }
            }
            Stmt::Expr(e) => self.expr(&e.value, steps),
            Stmt::Return(r) => {
                if let Some(v) = &r.value {
                    self.expr(v, steps);
                }
            }
            Stmt::If(s) => {
                self.expr(&s.test, steps);
                let mut arms = vec![self.block(&s.body)];
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.expr(test, steps);
                    }
                    arms.push(self.block(&clause.body));
                }
                steps.push(Step::Branch(arms));
            }
            Stmt::For(s) => {
                self.expr(&s.iter, steps);
                let mut body = self.block(&s.body);
                body.extend(self.block(&s.orelse));
                steps.push(Step::Loop(body));
            }
            Stmt::While(s) => {
                self.expr(&s.test, steps);
                let body = self.block(&s.body);
                steps.push(Step::Loop(body));
                let orelse = self.block(&s.orelse);
                steps.extend(orelse);
            }
            Stmt::With(w) => {
                // What each item's context manager rolls back when an error leaves the block.
                let mut scoped = Vec::new();
                let mut closed = Vec::new();
                for item in &w.items {
                    let var = item.optional_vars.as_deref().and_then(path);
                    if let Expr::Call(c) = &item.context_expr {
                        // `with s.begin():`, `with s.begin_nested() as sp:`
                        if let Some((session, nested)) = transaction_of(c) {
                            // Its arguments are read, the call itself is no work that fails.
                            for arg in &c.arguments.args {
                                self.expr(arg, steps);
                            }
                            if let (Some(var), true) = (&var, nested) {
                                self.savepoints.insert(var.clone(), session.clone());
                            }
                            steps.push(Step::IsSession(session.clone()));
                            scoped.push(session);
                            continue;
                        }
                        self.expr(&item.context_expr, steps);
                        if let Some(var) = &var {
                            // `with Session() as s:`, `with create_session() as s:`: a session of its own.
                            if self.is_session_call(c) {
                                steps.push(Step::Fresh(var.clone()));
                                steps.push(Step::IsSession(var.clone()));
                            }
                            scoped.push(var.clone());
                            closed.push(var.clone());
                        }
                    } else {
                        self.expr(&item.context_expr, steps);
                    }
                }
                let mut body = self.block(&w.body);
                for session in scoped.into_iter().rev() {
                    body = vec![Step::Scoped { session, body }];
                }
                steps.extend(body);
                // Leaving `with Session() as s` closes `s`.
                for var in closed {
                    steps.push(Step::Recover { session: var });
                }
            }
            Stmt::Try(t) => {
                let body = self.block(&t.body);
                let clauses = dbveto_python_semantic::handlers_catch(&mut self.names.eval, self.module.id, &[&self.scope], &t.handlers);
                let mut handlers = Vec::new();
                for (h, clause) in t.handlers.iter().zip(clauses) {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let handler_steps = self.block(&h.body);
                    let (catches, expects_database_error) = (clause.catches, clause.names_database_error);
                    handlers.push(Handler { steps: handler_steps, catches, expects_database_error, raises: dbveto_python_semantic::always_raises(&h.body), returns: ends_with_return(&h.body), at: self.location(h) });
                }
                let orelse = self.block(&t.orelse);
                let finally = self.block(&t.finalbody);
                steps.push(Step::Try { body, handlers, orelse, finally });
            }
            _ => {
                // Other statements: calls inside them still count.
                let mut finder = CallFinder { calls: Vec::new(), guard: DepthGuard::default() };
                ruff_python_ast::visitor::walk_stmt(&mut finder, stmt);
                for call in finder.calls {
                    self.call(call, steps);
                }
            }
        }
        self.depth -= 1;
    }

    /// Calls in an expression, innermost first.
    fn expr(&mut self, expr: &'a Expr, steps: &mut Vec<Step>) {
        let mut finder = CallFinder { calls: Vec::new(), guard: DepthGuard::default() };
        ruff_python_ast::visitor::Visitor::visit_expr(&mut finder, expr);
        for call in finder.calls {
            self.call(call, steps);
        }
    }

    fn assign(&mut self, target: &'a Expr, value: &'a Expr, steps: &mut Vec<Step>) {
        match target {
            Expr::Name(n) => {
                let name = n.id.to_string();
                self.rows.remove(&name);
                self.lists.remove(&name);
                self.savepoints.remove(&name);
                if let Some(row) = self.construct(value) {
                    self.rows.insert(name, row);
                } else if let Some(rows) = self.row_list(value) {
                    self.lists.insert(name, rows);
                } else if let Expr::Call(c) = value {
                    // `sp = s.begin_nested()`: `sp.rollback()` recovers `s`.
                    if let Expr::Attribute(m) = c.func.as_ref() {
                        if m.attr.as_str() == "begin_nested" {
                            if let Some(session) = path(&m.value) {
                                self.savepoints.insert(name.clone(), session);
                            }
                        }
                    }
                    let factory = match c.func.as_ref() {
                        // `next(get_db())`
                        Expr::Name(f) if f.id.as_str() == "next" => c.arguments.args.first().and_then(|a| match a {
                            Expr::Call(inner) => Some(inner),
                            _ => None,
                        }),
                        _ => Some(c),
                    };
                    if factory.is_some_and(|f| self.is_session_call(f)) {
                        steps.push(Step::Fresh(name.clone()));
                        steps.push(Step::IsSession(name));
                    }
                }
            }
            // `row.attr = value` on a row being built.
            Expr::Attribute(a) => {
                // `self.session = SessionLocal()`
                if let Expr::Call(c) = value {
                    if self.is_session_call(c) {
                        if let Some(p) = path(target) {
                            steps.push(Step::Fresh(p.clone()));
                            steps.push(Step::IsSession(p));
                        }
                    }
                }
                let Some(var) = path(&a.value) else { return };
                let Some(table) = self.rows.get(&var).map(|r| r.table) else { return };
                let position = format!("`{var}.{}`", a.attr);
                let given = self.member_values(table, a.attr.as_str(), value, &position, None);
                if let Some(row) = self.rows.get_mut(&var) {
                    for (column, arg) in given {
                        row.given.retain(|(c, _)| *c != column);
                        row.given.push((column, arg));
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether a call makes a new SQLAlchemy session: a factory named as
    /// one (`SessionLocal()`, `get_db()`, `create_session()`) that is not
    /// another library's (`requests.Session()`, `aiohttp.ClientSession()`).
    fn is_session_call(&mut self, call: &'a ast::ExprCall) -> bool {
        if !path(&call.func).is_some_and(|n| is_session_factory(&n)) {
            return false;
        }
        match self.names.external(self.id(), &[&self.scope], &call.func) {
            Some(dotted) => matches!(dotted.split('.').next(), Some("sqlalchemy" | "flask_sqlalchemy" | "sqlmodel")),
            None => true,
        }
    }

    /// Whether `expr` is a statement of SQLAlchemy's (`select(...)`,
    /// `update(M).where(...)`, `text("...")`) or a mapped class or
    /// attribute (`Model`, `Model.id`): what only a session's `query()`,
    /// `scalars()` or `execute()` is given.
    fn is_orm_argument(&mut self, expr: &'a Expr) -> bool {
        let mut inner = expr;
        for _ in 0..MAX_CHAIN {
            match inner {
                Expr::Call(c) => {
                    if let Some(name) = self.names.sqlalchemy(self.id(), &[&self.scope], &c.func) {
                        return matches!(name.as_str(), "select" | "insert" | "update" | "delete" | "text" | "func" | "count");
                    }
                    match c.func.as_ref() {
                        Expr::Attribute(a) => inner = &a.value,
                        _ => return false,
                    }
                }
                Expr::Attribute(a) => {
                    if self.model_of(expr).is_some() {
                        return true;
                    }
                    inner = &a.value;
                }
                other => return self.model_of(other).is_some(),
            }
        }
        false
    }

    /// The mapped table a class expression names.
    fn model_of(&mut self, expr: &'a Expr) -> Option<usize> {
        let (module, class) = self.names.class(self.id(), &[&self.scope], expr)?;
        self.models.index_of_class(module, class)
    }

    /// `Model(...)`: the row it builds.
    fn construct(&mut self, expr: &'a Expr) -> Option<Row> {
        let Expr::Call(call) = expr else { return None };
        let table = self.model_of(&call.func)?;
        Some(self.constructor_row(table, call, None))
    }

    /// `Model(attr=value, ...)`: positional arguments and a custom
    /// `__init__` may set any attribute. `hidden` holds names whose values
    /// are not known here (a comprehension's loop variables).
    fn constructor_row(&mut self, table: usize, call: &'a ast::ExprCall, hidden: Option<&Scope<'a>>) -> Row {
        let rest = !call.arguments.args.is_empty() || self.models.tables[table].custom_init;
        let mut row = Row { table, given: Vec::new(), rest, at: self.location(call) };
        self.keyword_values(&mut row, &call.arguments.keywords, hidden);
        row
    }

    /// `attr=value` keywords into `row`'s columns; `**kwargs` may set any.
    fn keyword_values(&mut self, row: &mut Row, keywords: &'a [ast::Keyword], hidden: Option<&Scope<'a>>) {
        for kw in keywords {
            let Some(name) = &kw.arg else {
                row.rest = true;
                continue;
            };
            let position = format!("`{name}=`");
            let given = self.member_values(row.table, name.as_str(), &kw.value, &position, hidden);
            row.given.extend(given);
        }
    }

    /// What setting `attr` of a `table` object to `value` gives its
    /// columns: the column's value (a Python enum member as SQLAlchemy
    /// stores it); for a `relationship()`, its foreign key, filled at flush.
    fn member_values(&mut self, table: usize, attr: &str, value: &'a Expr, position: &str, hidden: Option<&Scope<'a>>) -> Vec<(String, Arg)> {
        let scopes: Vec<&Scope<'a>> = std::iter::once(&self.scope).chain(hidden).collect();
        let scopes = &scopes[..];
        let module = self.module;
        let t = &self.models.tables[table];
        if let Some(column) = t.column_of_attr(attr) {
            let name = column.name.clone();
            let members = match &column.ty {
                Some(crate::types::ColumnType::Enum(e)) => Some(e.members),
                _ => None,
            };
            if let Some(members) = members {
                if let Some(member) = enum_member(self.names, module.id, scopes, value) {
                    let arg = match members {
                        crate::types::Members::Names => Arg::known(Literal::Str(member), Some(module.file.location(value.start().to_usize())), Some(format!("{position}: SQLAlchemy stores the member's name"))),
                        crate::types::Members::Values => self.names.arg(self.module.id, scopes, value, position),
                        crate::types::Members::Unknown => Arg::unknown(),
                    };
                    return vec![(name, arg)];
                }
            }
            return vec![(name, self.names.arg(self.module.id, scopes, value, position))];
        }
        let Some((_, to)) = t.relationship_attrs.iter().find(|(a, _)| a == attr) else { return Vec::new() };
        let Some(target) = self.models.tables.iter().find(|m| m.class_name.as_deref() == Some(to.as_str())) else { return Vec::new() };
        let arg = match value {
            Expr::NoneLiteral(_) => Arg::known(Literal::Null, Some(module.file.location(value.start().to_usize())), Some(format!("{position}: no related object"))),
            _ => Arg::unknown(),
        };
        t.columns
            .iter()
            .filter(|c| c.foreign_keys.iter().any(|fk| fk.table_column().is_some_and(|(tt, _)| tt == target.name)))
            .map(|c| (c.name.clone(), arg.clone()))
            .collect()
    }

    /// The row as the ORM flushes it: each `@validates` hook of an
    /// attribute given has run (it may set other columns, or change the
    /// value it checks).
    fn with_hooks(&self, row: &Row) -> Row {
        let table = &self.models.tables[row.table];
        let mut row = row.clone();
        for validator in &table.validators {
            let ran = validator.attrs.iter().filter_map(|a| table.column_of_attr(a)).any(|c| row.given.iter().any(|(g, _)| *g == c.name));
            if !ran {
                continue;
            }
            if !validator.keeps_value {
                for column in validator.attrs.iter().filter_map(|a| table.column_of_attr(a)) {
                    for (c, arg) in row.given.iter_mut() {
                        if *c == column.name {
                            *arg = Arg::unknown();
                        }
                    }
                }
            }
            for column in validator.sets.iter().filter_map(|a| table.column_of_attr(a)) {
                row.given.retain(|(c, _)| *c != column.name);
                row.given.push((column.name.clone(), Arg::unknown()));
            }
        }
        row
    }

    /// `[Model(...), ...]`, `[Model(...) for ...]`, or a variable holding rows.
    fn row_list(&mut self, expr: &'a Expr) -> Option<Vec<Row>> {
        match expr {
            Expr::List(l) => Some(l.elts.iter().filter_map(|e| self.row_of(e)).collect()),
            Expr::Tuple(t) => Some(t.elts.iter().filter_map(|e| self.row_of(e)).collect()),
            Expr::ListComp(c) => {
                // The comprehension's names are unknown here.
                let mut hidden = Vec::new();
                for g in &c.generators {
                    dbveto_python_semantic::target_names(&g.target, &mut hidden);
                }
                let hidden = Scope::hidden(hidden);
                let Expr::Call(call) = c.elt.as_ref() else { return None };
                let table = self.model_of(&call.func)?;
                Some(vec![self.constructor_row(table, call, Some(&hidden))])
            }
            Expr::Name(n) => self.lists.get(n.id.as_str()).cloned(),
            _ => None,
        }
    }

    fn row_of(&mut self, expr: &'a Expr) -> Option<Row> {
        match expr {
            Expr::Name(n) => self.rows.get(n.id.as_str()).cloned(),
            other => self.construct(other),
        }
    }

    fn call(&mut self, call: &'a ast::ExprCall, steps: &mut Vec<Step>) {
        let at = self.location(call);
        let Expr::Attribute(method) = call.func.as_ref() else {
            self.helper_call(call, None, steps);
            return;
        };
        let name = method.attr.as_str();
        let receiver = path(&method.value);
        // `rows.append(row)`
        if name == "append" {
            if let (Some(list), Some(arg)) = (receiver.clone(), call.arguments.args.first()) {
                if let Some(row) = self.row_of(arg) {
                    if let Some(rows) = self.lists.get_mut(&list) {
                        rows.push(row);
                    } else if self.scope.bindings.get(&list).is_some() {
                        self.lists.insert(list, vec![row]);
                    }
                }
            }
            return;
        }
        if name == "values" {
            self.core_insert(call);
        }
        let Some(session) = receiver else {
            self.helper_call(call, Some(method), steps);
            return;
        };
        // `sp.rollback()` of `sp = s.begin_nested()`
        if let Some(owner) = self.savepoints.get(&session) {
            if name == "rollback" {
                steps.push(Step::Recover { session: owner.clone() });
            }
            return;
        }
        let first = call.arguments.args.first();
        match name {
            "add" => {
                let Some(row) = first.and_then(|a| self.row_of(a)) else {
                    steps.push(Step::Use { session, at, pends: true });
                    self.helper_call(call, Some(method), steps);
                    return;
                };
                self.orm_insert(&row, &at, Mode::Add);
                steps.push(Step::IsSession(session.clone()));
                steps.push(Step::Add { session, row });
            }
            "add_all" | "bulk_save_objects" => {
                let rows = first.and_then(|a| self.row_list(a)).unwrap_or_default();
                let mode = if name == "add_all" { Mode::Add } else { Mode::Bulk };
                steps.push(Step::IsSession(session.clone()));
                for row in rows {
                    self.orm_insert(&row, &at, mode);
                    steps.push(Step::Add { session: session.clone(), row });
                }
                if mode == Mode::Bulk {
                    steps.push(Step::Flush { session, commit: false, pending: false, read: false, at });
                }
            }
            "merge" => {
                if let Some(row) = first.and_then(|a| self.row_of(a)) {
                    self.orm_insert(&row, &at, Mode::Merge);
                    steps.push(Step::IsSession(session.clone()));
                    steps.push(Step::Add { session: session.clone(), row });
                }
            }
            "bulk_insert_mappings" => {
                let table = first.and_then(|m| self.model_of(m));
                let mappings = call.arguments.args.get(1);
                steps.push(Step::IsSession(session.clone()));
                if let (Some(table), Some(Expr::List(list))) = (table, mappings) {
                    for item in &list.elts {
                        if let Some(row) = self.mapping_row(table, item) {
                            self.core_write(&row, &at, "bulk_insert_mappings(...)");
                            steps.push(Step::Add { session: session.clone(), row });
                        }
                    }
                }
                steps.push(Step::Flush { session, commit: false, pending: false, read: false, at });
            }
            "flush" | "commit" => steps.push(Step::Flush { session, commit: name == "commit", pending: true, read: false, at }),
            // Sent at once, as `bulk_save_objects`.
            "bulk_update_mappings" => {
                steps.push(Step::IsSession(session.clone()));
                steps.push(Step::Flush { session, commit: false, pending: false, read: false, at });
            }
            "rollback" | "close" | "remove" => steps.push(Step::Recover { session }),
            "execute" => {
                // `session.execute(insert(Model).values(...))` runs at once.
                if let Some(row) = first.and_then(|a| self.insert_row(a)) {
                    steps.push(Step::Add { session: session.clone(), row });
                }
                let read = first.is_some_and(is_select);
                steps.push(Step::Flush { session, commit: false, pending: false, read, at });
            }
            _ if AUTOFLUSHING.contains(&name) => {
                if ORM_WITH_ARGUMENT.contains(&name) && first.is_some_and(|a| self.is_orm_argument(a)) {
                    steps.push(Step::IsSession(session.clone()));
                }
                steps.push(Step::Flush { session, commit: false, pending: false, read: true, at });
            }
            _ if ORM_ONLY.contains(&name) => {
                steps.push(Step::IsSession(session.clone()));
                steps.push(Step::Use { session, at, pends: false });
            }
            _ => {
                if SESSION_METHODS.contains(&name) {
                    steps.push(Step::Use { session, at, pends: name == "delete" });
                }
                self.helper_call(call, Some(method), steps)
            }
        }
    }

    /// A dict literal of `bulk_insert_mappings` or `.values({...})`.
    fn mapping_row(&mut self, table: usize, item: &'a Expr) -> Option<Row> {
        let Expr::Dict(dict) = item else { return None };
        let mut row = Row { table, given: Vec::new(), rest: false, at: self.location(item) };
        for entry in dict.items.iter() {
            let Some(key) = entry.key.as_ref().and_then(|k| self.names.string(self.id(), &[&self.scope], k)) else {
                row.rest = true;
                continue;
            };
            let Some(column) = self.models.tables[table].column_of_attr(&key).map(|c| c.name.clone()) else { continue };
            let position = format!("`{key}`");
            let arg = self.names.arg(self.module.id, &[&self.scope], &entry.value, &position);
            row.given.push((column, arg));
        }
        Some(row)
    }

    fn insert_row(&mut self, expr: &'a Expr) -> Option<Row> {
        let Expr::Call(values) = expr else { return None };
        self.insert_row_of(values)
    }

    /// `insert(Model).values(...)`: the row.
    fn insert_row_of(&mut self, values: &'a ast::ExprCall) -> Option<Row> {
        let Expr::Attribute(method) = values.func.as_ref() else { return None };
        if method.attr.as_str() != "values" {
            return None;
        }
        let Expr::Call(insert) = method.value.as_ref() else { return None };
        if self.names.sqlalchemy(self.id(), &[&self.scope], &insert.func).as_deref() != Some("insert") {
            return None;
        }
        let target = insert.arguments.args.first()?;
        let table = self.model_of(target).or_else(|| {
            let Expr::Name(n) = target else { return None };
            let (owner, _) = self.names.bound(self.id(), &[&self.scope], n.id.as_str())?;
            self.models.by_table_var.get(&(owner, n.id.to_string())).copied()
        })?;
        if let [single] = &values.arguments.args[..] {
            return self.mapping_row(table, single);
        }
        if !values.arguments.args.is_empty() {
            return None;
        }
        let mut row = Row { table, given: Vec::new(), rest: false, at: self.location(values) };
        self.keyword_values(&mut row, &values.arguments.keywords, None);
        Some(row)
    }

    fn core_insert(&mut self, call: &'a ast::ExprCall) {
        let Some(row) = self.insert_row_of(call) else { return };
        let at = self.location(call);
        // The row's location is the `.values(...)` call.
        let row = Row { at: at.clone(), ..row };
        self.core_write(&row, &at, "insert(...).values(...)");
    }

    /// A call to a function of the repository, with the sessions it is
    /// given.
    fn helper_call(&mut self, call: &'a ast::ExprCall, method: Option<&'a ast::ExprAttribute>, steps: &mut Vec<Step>) {
        let Some((callee, drops_first, self_receiver)) = self.resolve(call, method) else { return };
        let mut args = Vec::new();
        for (i, arg) in call.arguments.args.iter().enumerate() {
            if let Some(p) = path(arg) {
                args.push((format!("#{}", i + usize::from(drops_first)), p));
            }
        }
        for kw in call.arguments.keywords.iter() {
            if let (Some(name), Some(p)) = (&kw.arg, path(&kw.value)) {
                args.push((name.to_string(), p));
            }
        }
        let closure = match (method, call.func.as_ref()) {
            (None, Expr::Name(n)) => nested_function(&self.function.body, n.id.as_str(), 0).is_some(),
            _ => false,
        };
        steps.push(Step::Call { callee, args, self_receiver, closure, at: self.location(call) });
    }

    /// The function a call runs; whether its first parameter is bound
    /// implicitly; whether it is called on `self`.
    fn resolve(&mut self, call: &'a ast::ExprCall, method: Option<&'a ast::ExprAttribute>) -> Option<(FnKey, bool, bool)> {
        let id = self.id();
        let Some(method) = method else {
            let Expr::Name(n) = call.func.as_ref() else { return None };
            if let Some(f) = nested_function(&self.function.body, n.id.as_str(), 0) {
                return Some(((id, f.start().to_u32()), false, false));
            }
            let (m, f) = self.names.function(id, n.id.as_str())?;
            return Some(((m, f.start().to_u32()), false, false));
        };
        let name = method.attr.as_str();
        let is_static = |f: &ast::StmtFunctionDef| f.decorator_list.iter().any(|d| path(&d.expression).is_some_and(|p| p == "staticmethod"));
        if let Expr::Name(receiver) = method.value.as_ref() {
            // A mixin's method (active record: `self.save()`, `cls(...).save()`).
            if matches!(receiver.id.as_str(), "self" | "cls") {
                let class = self.class?;
                let (owner, f) = dbveto_python_semantic::method_in_mro(&mut self.names.eval, id, class, name)?;
                return Some(((owner, f.start().to_u32()), !is_static(f), receiver.id.as_str() == "self"));
            }
            // `host.save()` on an object the function builds.
            if let Some((module, offset)) = self.rows.get(receiver.id.as_str()).and_then(|r| self.models.tables[r.table].class) {
                let class = self.names.index.module(module).and_then(|m| class_at(m.body, offset))?;
                let (owner, f) = dbveto_python_semantic::method_in_mro(&mut self.names.eval, module, class, name)?;
                return Some(((owner, f.start().to_u32()), !is_static(f), false));
            }
        }
        // `cls(**fields).save()`, `Host(...).save()`: a method of the object just built.
        if let Expr::Call(ctor) = method.value.as_ref() {
            let class = match ctor.func.as_ref() {
                Expr::Name(n) if n.id.as_str() == "cls" => self.class.map(|c| (id, c)),
                func => self.names.class(id, &[&self.scope], func),
            };
            let (module, class) = class?;
            let (owner, f) = dbveto_python_semantic::method_in_mro(&mut self.names.eval, module, class, name)?;
            return Some(((owner, f.start().to_u32()), !is_static(f), false));
        }
        match self.names.value(id, &[&self.scope], &method.value) {
            Some(dbveto_python_semantic::Value::Class { module, class }) => {
                let (owner, f) = dbveto_python_semantic::method_in_mro(&mut self.names.eval, module, class, name)?;
                let classmethod = f.decorator_list.iter().any(|d| path(&d.expression).is_some_and(|p| p == "classmethod"));
                return Some(((owner, f.start().to_u32()), classmethod, false));
            }
            Some(dbveto_python_semantic::Value::Module(m)) => {
                let target = self.names.index.table.lookup(&m.path.dotted, m.path.exact, m.importer)?;
                let (owner, f) = self.names.function(target, name)?;
                return Some(((owner, f.start().to_u32()), false, false));
            }
            _ => {}
        }
        // `service.method(...)` where `service = Service()` at module level.
        let Expr::Name(receiver) = method.value.as_ref() else { return None };
        let (owner, bound) = self.names.bound(id, &[&self.scope], receiver.id.as_str())?;
        let Expr::Call(ctor) = bound else { return None };
        let (class_module, class) = self.names.class(owner, &[], &ctor.func)?;
        let (owner, f) = dbveto_python_semantic::method_in_mro(&mut self.names.eval, class_module, class, name)?;
        Some(((owner, f.start().to_u32()), !is_static(f), false))
    }

    /// The INSERT the ORM runs for a new object (`add`, `add_all`, `merge`).
    fn orm_insert(&mut self, row: &Row, call: &Location, mode: Mode) {
        let hooked = self.with_hooks(row);
        let row = &hooked;
        let table = &self.models.tables[row.table];
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for column in &table.columns {
            let given = row.given.iter().find(|(c, _)| *c == column.name).map(|(_, a)| a.clone());
            let has_default = column.default != ClientDefault::None || column.server_default.is_some();
            // `None` for a column with a default is dropped: the default wins.
            let only_none = |a: &Arg| !a.unknown && !a.known.is_empty() && a.known.iter().all(|k| k.literal == Literal::Null);
            let given = given.filter(|a| !(has_default && only_none(a)));
            let arg = match given {
                Some(arg) => arg,
                // The database numbers it: SQLAlchemy leaves it out.
                None if crate::ddl::is_serial(table, column) => continue,
                None if column.primary_key && column.default == ClientDefault::None => Arg::unknown(),
                None if column.server_default.is_some() && !row.rest => continue,
                None if row.rest || mode == Mode::Merge => Arg::unknown(),
                None => match &column.default {
                    ClientDefault::Value(l) => Arg::known(l.clone(), None, Some(format!("default of `{}.{}`", class_name(table), column.attr))),
                    ClientDefault::Dynamic => Arg::unknown(),
                    ClientDefault::None if mode == Mode::Bulk => continue,
                    ClientDefault::None => Arg::known(
                        Literal::Null,
                        None,
                        Some(format!("`{}.{}` not given and without a default: SQLAlchemy sends NULL", class_name(table), column.attr)),
                    ),
                },
            };
            columns.push(column.name.clone());
            values.push(arg);
        }
        let verb = match mode {
            Mode::Add => "session.add",
            Mode::Merge => "session.merge",
            Mode::Bulk => "session.bulk_save_objects",
        };
        // Bulk saves leave out what is not set: only the given columns are sent.
        let model = (mode != Mode::Bulk).then(|| class_name(table).to_string());
        self.writes.push(Write {
            kind: WriteKind::Insert,
            table: table_ref(table),
            columns: Some(columns),
            values,
            location: row.at.clone(),
            call: (row.at != *call).then(|| call.clone()),
            statement: format!("{verb}({}(...))", class_name(table)),
            model,
            // A class dbveto cannot read entirely may declare more columns.
            partial: table.incomplete,
            known_omitted: Vec::new(),
        });
    }

    /// Core `insert().values()` and bulk mappings: the given columns and
    /// those with a Python default; nothing else is sent.
    fn core_write(&mut self, row: &Row, call: &Location, statement: &str) {
        let table = &self.models.tables[row.table];
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for column in &table.columns {
            let arg = match row.given.iter().find(|(c, _)| *c == column.name) {
                Some((_, a)) => a.clone(),
                None if row.rest => Arg::unknown(),
                None => match &column.default {
                    ClientDefault::Value(l) => Arg::known(l.clone(), None, Some(format!("default of `{}`", column.attr))),
                    ClientDefault::Dynamic => Arg::unknown(),
                    ClientDefault::None => continue,
                },
            };
            columns.push(column.name.clone());
            values.push(arg);
        }
        if row.rest {
            return;
        }
        self.writes.push(Write {
            kind: WriteKind::Insert,
            table: table_ref(table),
            columns: Some(columns),
            values,
            location: row.at.clone(),
            call: (row.at != *call).then(|| call.clone()),
            statement: statement.to_string(),
            model: None,
            partial: table.incomplete,
            known_omitted: Vec::new(),
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Add,
    Merge,
    Bulk,
}

fn class_name(table: &MappedTable) -> &str {
    table.class_name.as_deref().unwrap_or(&table.name)
}

fn table_ref(table: &MappedTable) -> TableRef {
    TableRef { schema: table.schema.clone(), name: table.name.clone() }
}

/// The names a comprehension target binds.
/// `Session`, `AsyncSession`, `scoped_session`, `orm.Session`, `Optional[Session]`.
fn is_session_type(annotation: &str) -> bool {
    let last = annotation.rsplit('.').next().unwrap_or(annotation);
    matches!(last, "Session" | "AsyncSession" | "scoped_session" | "async_scoped_session")
}

/// `SessionLocal`, `Session`, `sessionmaker(...)`, `get_db`, `get_session`, `scoped_session`.
fn is_session_factory(callee: &str) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    last.ends_with("Session") || last.ends_with("SessionLocal") || last.ends_with("session") && last.starts_with("get_") || matches!(last, "get_db" | "get_db_session" | "SessionLocal" | "create_session")
}

fn path_or_subscript(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Subscript(s) => path_or_subscript(&s.slice),
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        other => path(other),
    }
}

/// The class of a module's body that starts at `offset`.
fn class_at(body: &[Stmt], offset: u32) -> Option<&ast::StmtClassDef> {
    body.iter().find_map(|s| match s {
        Stmt::ClassDef(c) if c.start().to_u32() == offset => Some(c),
        _ => None,
    })
}

/// A function defined in `body` (in its blocks too), by name.
fn nested_function<'a>(body: &'a [Stmt], name: &str, depth: u32) -> Option<&'a ast::StmtFunctionDef> {
    if depth > MAX_DEPTH {
        return None;
    }
    body.iter().find_map(|stmt| match stmt {
        Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
        Stmt::If(i) => nested_function(&i.body, name, depth + 1).or_else(|| i.elif_else_clauses.iter().find_map(|c| nested_function(&c.body, name, depth + 1))),
        Stmt::With(w) => nested_function(&w.body, name, depth + 1),
        Stmt::Try(t) => nested_function(&t.body, name, depth + 1),
        _ => None,
    })
}

/// `Status.ACTIVE` of a Python enum class of the repository: the member's name.
fn enum_member<'a>(names: &mut Names<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], value: &'a Expr) -> Option<String> {
    let Expr::Attribute(a) = value else { return None };
    let (owner, class) = names.class(module, scopes, &a.value)?;
    crate::types::is_enum_class(names, owner, class).then(|| a.attr.to_string())
}

/// `s.begin()` or `s.begin_nested()` (`true`): the session it begins a
/// transaction of.
fn transaction_of(call: &ast::ExprCall) -> Option<(String, bool)> {
    let Expr::Attribute(m) = call.func.as_ref() else { return None };
    let nested = match m.attr.as_str() {
        "begin" => false,
        "begin_nested" => true,
        _ => return None,
    };
    Some((path(&m.value)?, nested))
}

/// The first names of the sessions steps work on (`db` of `db.session`).
fn session_roots<'s>(steps: &'s [Step], out: &mut Vec<&'s str>, depth: u32) {
    if depth > MAX_DEPTH {
        return;
    }
    let root = |key: &'s str| key.split('.').next().unwrap_or(key);
    for step in steps {
        match step {
            Step::IsSession(k) | Step::Fresh(k) | Step::Recover { session: k } | Step::Flush { session: k, .. } | Step::Use { session: k, .. } | Step::Add { session: k, .. } => out.push(root(k)),
            Step::Scoped { session, body } => {
                out.push(root(session));
                session_roots(body, out, depth + 1);
            }
            Step::Call { args, .. } => out.extend(args.iter().map(|(_, expr)| root(expr))),
            Step::Try { body, handlers, orelse, finally } => {
                session_roots(body, out, depth + 1);
                for h in handlers {
                    session_roots(&h.steps, out, depth + 1);
                }
                session_roots(orelse, out, depth + 1);
                session_roots(finally, out, depth + 1);
            }
            Step::Loop(body) => session_roots(body, out, depth + 1),
            Step::Branch(arms) => {
                for arm in arms {
                    session_roots(arm, out, depth + 1);
                }
            }
        }
    }
}

fn ends_with_return(body: &[Stmt]) -> bool {
    matches!(body.last(), Some(Stmt::Return(_)))
}

/// The calls of an expression, inner calls first; lambdas and
/// comprehensions are scopes of their own and are not entered.
struct CallFinder<'a> {
    calls: Vec<&'a ast::ExprCall>,
    guard: DepthGuard,
}

impl<'a> ruff_python_ast::visitor::Visitor<'a> for CallFinder<'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.guard.enter() {
            return;
        }
        match expr {
            Expr::Lambda(_) | Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {}
            Expr::Call(call) => {
                ruff_python_ast::visitor::walk_expr(self, expr);
                self.calls.push(call);
            }
            _ => ruff_python_ast::visitor::walk_expr(self, expr),
        }
        self.guard.leave();
    }

    fn visit_stmt(&mut self, _: &'a Stmt) {}
}
