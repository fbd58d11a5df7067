//! Alembic: the revision files of `versions/`, ordered by their
//! `down_revision` chain (branches and merge points included) as `alembic
//! upgrade heads` applies them, and the DDL each `op.*` call of
//! `upgrade()` runs on PostgreSQL, replayed with the call as provenance.

use std::collections::{BTreeMap, HashMap};

use dbveto_python_semantic::{ModuleId, ProjectIndex, Scope, Value};
use dbveto_schema::Schema;
use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::ddl::{self, column_definition, qualified, Generated, Given};
use crate::models::TableReader;
use crate::names::{argument, keyword, quote};
use crate::naming::{Conventions, Subject};

/// The result of applying every revision.
pub struct Applied {
    pub schema: Schema,
    /// The revision files, in the order they were applied.
    pub files: Vec<SourceFile>,
    /// Each revision and what it did to the database, in the same order.
    pub revisions: Vec<AppliedRevision>,
    /// The folder holding `versions/`.
    pub dir: String,
    /// Tables that an operation dbveto could not read (or did not follow
    /// into) may have changed: what they hold is not known for certain.
    pub unread_tables: Vec<String>,
    /// Constraint and index names sent as written and over 63 bytes.
    pub long_names: Vec<dbveto_schema::LongName>,
}

/// One revision as `alembic upgrade heads` applied it.
#[derive(Debug, Clone)]
pub struct AppliedRevision {
    pub id: String,
    /// `down_revision`: one parent, several for a merge, none for a root.
    pub down: Vec<String>,
    /// `depends_on`: revisions that must be applied first.
    pub depends_on: Vec<String>,
    pub file: SourceFile,
    pub changes: Vec<Change>,
}

/// One change an `upgrade()` makes to the database, in the order it runs.
#[derive(Debug, Clone)]
pub struct Change {
    /// `None`: code dbveto could not read (an `op.execute` of SQL not
    /// known statically, a connection's `execute`, control flow), whose
    /// effect on the data is not known.
    step: Option<ddl::Step>,
    pub location: Location,
    pub action: String,
}

impl Change {
    /// The SQL it runs, when that is known.
    pub fn sql(&self) -> Option<&str> {
        match &self.step {
            Some(ddl::Step::Sql(sql)) => Some(sql),
            _ => None,
        }
    }

    /// Whether it is code dbveto could not read.
    pub fn is_unread(&self) -> bool {
        self.step.is_none()
    }

    /// Applies the change to `schema`, as the interpreter did.
    pub fn replay(&self, schema: &mut Schema, diagnostics: &mut Vec<Diagnostic>) {
        if let Some(step) = &self.step {
            ddl::apply(schema, step.clone(), &self.location, &self.action, diagnostics);
        }
    }
}

/// Whether a file is an Alembic revision: a `.py` file in a `versions/`
/// folder (or a folder below it: one per dialect, for instance).
pub fn is_revision_path(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    file.ends_with(".py") && file != "__init__.py" && parts.any(|p| p == "versions")
}

/// The Alembic environments of the repository: each folder that holds an
/// `env.py` and a `versions/` folder of revisions.
pub fn script_dirs(index: &ProjectIndex<'_>) -> Vec<String> {
    let mut dirs: Vec<String> = index
        .modules
        .iter()
        .filter(|m| is_revision_path(&m.file.path))
        .filter_map(|m| {
            let path = format!("/{}", m.file.path);
            let (dir, _) = path.rsplit_once("/versions/")?;
            Some(dir.trim_start_matches('/').to_string())
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    let has_env = |dir: &str| {
        let env = if dir.is_empty() { "env.py".to_string() } else { format!("{dir}/env.py") };
        index.modules.iter().any(|m| *m.file.path == *env)
    };
    dirs.retain(|d| has_env(d));
    dirs
}

/// Whether a module is part of an Alembic environment (`env.py`, its
/// revisions and the helpers beside them): code that runs against the
/// schema of its own revision, not the application's models or writes.
pub fn is_migration_code(script_dirs: &[String], path: &str) -> bool {
    is_revision_path(path) || script_dirs.iter().any(|d| d.is_empty() && path == "env.py" || path.strip_prefix(d.as_str()).is_some_and(|rest| rest.starts_with('/')))
}

struct Revision<'a> {
    module: ModuleId,
    id: String,
    down: Vec<String>,
    depends_on: Vec<String>,
    upgrade: Option<&'a ast::StmtFunctionDef>,
}

/// `"abc"`, `("a", "b")`, `None`.
fn revision_ids(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::NoneLiteral(_) => Some(Vec::new()),
        Expr::StringLiteral(s) => Some(vec![s.value.to_str().to_string()]),
        Expr::Tuple(t) => t.elts.iter().map(|e| revision_ids(e).and_then(|v| v.into_iter().next())).collect(),
        Expr::List(l) => l.elts.iter().map(|e| revision_ids(e).and_then(|v| v.into_iter().next())).collect(),
        _ => None,
    }
}

fn module_value<'a>(body: &'a [Stmt], name: &str) -> Option<&'a Expr> {
    body.iter().find_map(|s| match s {
        Stmt::Assign(a) if matches!(&a.targets[..], [Expr::Name(n)] if n.id.as_str() == name) => Some(a.value.as_ref()),
        Stmt::AnnAssign(a) if matches!(a.target.as_ref(), Expr::Name(n) if n.id.as_str() == name) => a.value.as_deref(),
        _ => None,
    })
}

/// Reads and applies the revisions of every `versions/` folder (the one
/// with the most revisions when there are several).
pub fn apply(index: &ProjectIndex<'_>, diagnostics: &mut Vec<Diagnostic>) -> Option<Applied> {
    let mut by_dir: BTreeMap<String, Vec<Revision<'_>>> = BTreeMap::new();
    for module in &index.modules {
        if !is_revision_path(&module.file.path) {
            continue;
        }
        let Some(revision) = module_value(module.body, "revision").and_then(revision_ids).and_then(|v| v.into_iter().next()) else { continue };
        let down = match module_value(module.body, "down_revision").map(revision_ids) {
            Some(Some(ids)) => ids,
            _ => {
                diagnostics.push(module.file.diagnostic(0, Severity::Warning, "Alembic revision without a readable `down_revision`; taken as a root"));
                Vec::new()
            }
        };
        let depends_on = module_value(module.body, "depends_on").and_then(revision_ids).unwrap_or_default();
        let upgrade = module.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if f.name.as_str() == "upgrade" => Some(f),
            _ => None,
        });
        // One set of revisions per folder.
        let folder = module.file.path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        by_dir.entry(folder).or_default().push(Revision { module: module.id, id: revision, down, depends_on, upgrade });
    }
    // Several sets: PostgreSQL's (one folder per dialect), else those
    // directly in a `versions/` folder, which Alembic reads without
    // `recursive_version_locations` (not `versions/legacy/`), else the largest.
    let direct = |folder: &str| folder == "versions" || folder.ends_with("/versions");
    let (folder, revisions) = by_dir.into_iter().max_by_key(|(folder, r)| (folder.contains("postgres"), direct(folder), r.len()))?;
    let dir = match folder.rsplit_once("/versions") {
        Some((d, _)) => d.to_string(),
        None if folder.starts_with("versions") => ".".to_string(),
        None => folder.clone(),
    };
    let first_diagnostic = diagnostics.len();
    let order = plan(index, &revisions, diagnostics);
    let mut reader = TableReader::new(index);
    let conventions = crate::alembic_env::conventions(index, &mut reader, &dir, diagnostics);
    let mut interpreter = Interpreter { reader, index, schema: Schema::default(), diagnostics, conventions, scopes: Vec::new(), changes: Vec::new(), unread: 0, unread_tables: Vec::new(), long_names: Vec::new() };
    let mut files = Vec::new();
    let mut applied = Vec::new();
    for i in order {
        let revision = &revisions[i];
        if let Some(upgrade) = revision.upgrade {
            interpreter.scopes = index.module(revision.module).map(|m| m.function_scope(upgrade)).into_iter().collect();
            interpreter.body(revision.module, &upgrade.body, None);
        }
        let changes = std::mem::take(&mut interpreter.changes);
        if let Some(m) = index.module(revision.module) {
            files.push(m.file.clone());
            applied.push(AppliedRevision {
                id: revision.id.clone(),
                down: revision.down.clone(),
                depends_on: revision.depends_on.clone(),
                file: m.file.clone(),
                changes,
            });
        }
    }
    collapse_missing_tables(interpreter.diagnostics, first_diagnostic);
    let mut unread_tables = interpreter.unread_tables;
    unread_tables.sort();
    unread_tables.dedup();
    Some(Applied { schema: interpreter.schema, files, revisions: applied, dir, unread_tables, long_names: interpreter.long_names })
}

/// The operations on a table no revision creates each give a warning;
/// they become one per table, at the first, saying why and what to do.
fn collapse_missing_tables(diagnostics: &mut Vec<Diagnostic>, from: usize) {
    const MISSING: &str = ", which no earlier migration creates; statement skipped";
    let table_of = |message: &str| -> Option<String> {
        let head = message.strip_suffix(MISSING)?;
        let start = head.rfind(" `")? + 2;
        Some(head[start..].trim_end_matches('`').to_string())
    };
    let applied: Vec<Diagnostic> = diagnostics.drain(from.min(diagnostics.len())..).collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for d in &applied {
        if let Some(table) = table_of(&d.message) {
            *counts.entry(table).or_default() += 1;
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut kept = Vec::new();
    for mut d in applied {
        let Some(table) = table_of(&d.message) else {
            kept.push(d);
            continue;
        };
        if seen.contains(&table) {
            continue;
        }
        let more = counts.get(&table).copied().unwrap_or(1) - 1;
        let action = d.message.split(':').next().unwrap_or_default().to_string();
        let later = if more > 0 { format!(" (and {more} more operations of the revisions)") } else { String::new() };
        d.message = format!(
            "{action}: no revision creates `{table}`, which this changes{later}: the revisions start from tables made outside them (an older history that was removed, or `create_all()`), so these changes are skipped; check against a migrated database with `--database-url`"
        );
        seen.push(table);
        kept.push(d);
    }
    diagnostics.extend(kept);
}

/// Parents before children; among revisions ready at once, the one whose
/// file sorts first. Cycles and missing parents are diagnostics.
fn plan(index: &ProjectIndex<'_>, revisions: &[Revision<'_>], diagnostics: &mut Vec<Diagnostic>) -> Vec<usize> {
    let by_id: HashMap<&str, usize> = revisions.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    let path = |i: usize| index.module(revisions[i].module).map(|m| m.file.path.to_string()).unwrap_or_default();
    for r in revisions {
        for d in &r.down {
            if !by_id.contains_key(d.as_str()) {
                if let Some(m) = index.module(r.module) {
                    diagnostics.push(m.file.diagnostic(0, Severity::Warning, format!("Alembic revision `{}` follows `{d}`, which no revision file defines", r.id)));
                }
            }
        }
    }
    let mut done = vec![false; revisions.len()];
    let mut order = Vec::new();
    loop {
        let mut ready: Vec<usize> = (0..revisions.len())
            .filter(|&i| !done[i] && revisions[i].down.iter().all(|d| by_id.get(d.as_str()).is_none_or(|&p| done[p])))
            .collect();
        if ready.is_empty() {
            break;
        }
        ready.sort_by_key(|&i| path(i));
        let next = ready[0];
        done[next] = true;
        order.push(next);
    }
    for (i, r) in revisions.iter().enumerate() {
        if !done[i] {
            if let Some(m) = index.module(r.module) {
                diagnostics.push(m.file.diagnostic(0, Severity::Warning, format!("Alembic revision `{}` is in a cycle of `down_revision`s; not applied", r.id)));
            }
        }
    }
    order
}

/// How many elements of a loop in `upgrade()` are unrolled.
const MAX_UNROLLED: usize = 256;
/// How deeply loops nest in one `upgrade()`.
const MAX_NESTED_LOOPS: usize = 8;

/// The calls in a statement, at any depth, at most [`MAX_UNROLLED`].
fn calls_in(stmt: &Stmt) -> Vec<&ast::ExprCall> {
    struct Calls<'a>(Vec<&'a ast::ExprCall>, dbveto_python_semantic::DepthGuard);
    impl<'a> ruff_python_ast::visitor::Visitor<'a> for Calls<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.1.enter() {
                ruff_python_ast::visitor::walk_stmt(self, stmt);
                self.1.leave();
            }
        }

        fn visit_expr(&mut self, expr: &'a Expr) {
            if !self.1.enter() {
                return;
            }
            if let Expr::Call(c) = expr {
                if self.0.len() < MAX_UNROLLED {
                    self.0.push(c);
                }
            }
            ruff_python_ast::visitor::walk_expr(self, expr);
            self.1.leave();
        }
    }
    let mut calls = Calls(Vec::new(), Default::default());
    ruff_python_ast::visitor::Visitor::visit_stmt(&mut calls, stmt);
    calls.0
}

/// `op.get_bind().dialect.name`, `bind.dialect.name`, `dialect_name`,
/// `dialect`: an expression that names the dialect.
fn is_dialect_name(expr: &Expr) -> bool {
    match expr {
        Expr::Attribute(a) => a.attr.as_str() == "name" && matches!(a.value.as_ref(), Expr::Attribute(d) if d.attr.as_str() == "dialect"),
        Expr::Name(n) => matches!(n.id.as_str(), "dialect" | "dialect_name" | "db_dialect" | "engine_name"),
        _ => false,
    }
}

struct Interpreter<'i, 'p, 'a> {
    reader: TableReader<'p, 'a>,
    index: &'p ProjectIndex<'a>,
    schema: Schema,
    diagnostics: &'i mut Vec<Diagnostic>,
    /// The naming convention of `env.py`'s `target_metadata`.
    conventions: Conventions,
    /// The scope of the `upgrade()` being applied, then those of the
    /// loops unrolled in it.
    scopes: Vec<Scope<'a>>,
    /// The changes of the revision being applied.
    changes: Vec<Change>,
    /// Operations that could not be read so far.
    unread: usize,
    unread_tables: Vec<String>,
    long_names: Vec<dbveto_schema::LongName>,
}

/// The name argument of a constraint or index operation.
enum Name {
    Unnamed,
    Written(String),
    /// `op.f("name")`: no convention applies to it.
    Final(String),
    Unknown,
}

/// What a convention's tokens are filled from: a table and its columns.
fn subject<'s>(table: &'s str, columns: &'s [String]) -> Subject<'s> {
    Subject { table, columns, referred_table: None, referred_columns: &[], constraint_name: None }
}

impl<'p, 'a> Interpreter<'_, 'p, 'a> {
    fn location(&self, module: ModuleId, node: &impl Ranged) -> Location {
        match self.index.module(module) {
            Some(m) => m.file.location(node.start().to_usize()),
            None => Location { path: "".into(), line: 1, column: 1 },
        }
    }

    /// A string, `op.f("name")` or `None`.
    fn text(&mut self, module: ModuleId, expr: Option<&'a Expr>) -> Option<String> {
        let expr = expr?;
        if let Expr::Call(call) = expr {
            if matches!(call.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "f") {
                return self.text(module, call.arguments.args.first());
            }
        }
        let scopes: Vec<&Scope<'a>> = self.scopes.iter().collect();
        self.reader.names().string(module, &scopes, expr)
    }

    /// The value of an expression of `upgrade()` (its local names included).
    fn value(&mut self, module: ModuleId, expr: &'a Expr) -> Option<Value<'a>> {
        let scopes: Vec<&Scope<'a>> = self.scopes.iter().collect();
        self.reader.names().value(module, &scopes, expr)
    }

    fn literal(&mut self, module: ModuleId, expr: &'a Expr) -> Option<Literal> {
        let scopes: Vec<&Scope<'a>> = self.scopes.iter().collect();
        self.reader.names().literal(module, &scopes, expr)
    }

    fn name(&mut self, module: ModuleId, expr: Option<&'a Expr>) -> Name {
        match expr {
            None | Some(Expr::NoneLiteral(_)) => Name::Unnamed,
            Some(Expr::Call(call)) if matches!(call.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "f") => {
                self.text(module, argument(call, 0, "name")).map_or(Name::Unknown, Name::Final)
            }
            Some(e) => self.text(module, Some(e)).map_or(Name::Unknown, Name::Written),
        }
    }

    /// The name Alembic gives a constraint or index of kind `key` (`None`
    /// when the database names it); `Err` when the name is not known.
    /// `created_at`: where the operation creating it is, to judge its
    /// length there (a drop names what a creation judged already).
    fn final_name(&mut self, name: Name, key: &str, subject: Subject<'_>, created_at: Option<&Location>) -> Result<Option<String>, ()> {
        let given = match &name {
            Name::Unknown => return Err(()),
            Name::Final(n) => Given::Final(n),
            Name::Written(n) => Given::Written(n),
            Name::Unnamed => Given::Unnamed,
        };
        let table = subject.table;
        let sent = ddl::sent_name(&self.conventions, key, given, subject);
        if let Some(at) = created_at {
            self.long_names.extend(ddl::long_name(&self.conventions, key, given, sent.as_deref(), table, at));
        }
        Ok(sent)
    }

    fn strings(&mut self, module: ModuleId, expr: Option<&'a Expr>) -> Option<Vec<String>> {
        match expr? {
            Expr::List(l) => l.elts.iter().map(|e| self.text(module, Some(e))).collect(),
            Expr::Tuple(t) => t.elts.iter().map(|e| self.text(module, Some(e))).collect(),
            other => Some(vec![self.text(module, Some(other))?]),
        }
    }

    /// Applies the operations of a block; `true` when it returns.
    fn body(&mut self, module: ModuleId, body: &'a [Stmt], batch: Option<(&str, String)>) -> bool {
        if self.scopes.len() > MAX_NESTED_LOOPS {
            return false;
        }
        for stmt in body {
            match stmt {
                Stmt::Return(_) => return true,
                // `if op.get_bind().dialect.name == "sqlite":` — the branch PostgreSQL takes.
                Stmt::If(i) if self.dialect_branch(module, i).is_some() => {
                    let Some(branch) = self.dialect_branch(module, i) else { continue };
                    if self.body(module, branch, batch.clone()) {
                        return true;
                    }
                }
                // `for table in ["a", "b"]:` — once per element.
                Stmt::For(f) if self.constant_elements(module, f).is_some() => {
                    let (Expr::Name(var), Some(elements)) = (f.target.as_ref(), self.constant_elements(module, f)) else { continue };
                    for element in elements {
                        self.scopes.push(Scope::bound(var.id.as_str(), element));
                        let returned = self.body(module, &f.body, batch.clone());
                        self.scopes.pop();
                        if returned {
                            return true;
                        }
                    }
                }
                Stmt::Expr(e) => {
                    if let Expr::Call(call) = e.value.as_ref() {
                        let unread = self.unread;
                        self.operation(module, call, batch.as_ref().map(|(v, t)| (*v, t.as_str())));
                        if self.unread > unread {
                            self.tables_of(module, stmt, batch.as_ref().map(|(_, t)| t.as_str()));
                        }
                    }
                }
                // `with op.batch_alter_table("t") as batch_op:` runs plain ALTERs on PostgreSQL.
                Stmt::With(w) => {
                    for item in &w.items {
                        let Expr::Call(c) = &item.context_expr else { continue };
                        let is_batch = matches!(c.func.as_ref(), Expr::Attribute(a) if a.attr.as_str() == "batch_alter_table");
                        let var = item.optional_vars.as_deref().and_then(|v| match v {
                            Expr::Name(n) => Some(n.id.as_str()),
                            _ => None,
                        });
                        let table = self.text(module, argument(c, 0, "table_name"));
                        if let (true, Some(var), Some(table)) = (is_batch, var, table) {
                            if self.body(module, &w.body, Some((var, table))) {
                                return true;
                            }
                        }
                    }
                }
                // The path without errors: what a fresh database runs.
                Stmt::Try(t) => {
                    let before = self.diagnostics.len();
                    let returned = self.body(module, &t.body, batch.clone());
                    // `try: op.add_column(...) except ...: pass`: the revision expects the
                    // operation may fail on a database that has it already, as the replay does.
                    if !t.handlers.is_empty() {
                        let mut i = before;
                        while i < self.diagnostics.len() {
                            let message = &self.diagnostics[i].message;
                            if message.ends_with("already exists; statement skipped") || message.ends_with("does not exist; statement skipped") {
                                self.diagnostics.remove(i);
                            } else {
                                i += 1;
                            }
                        }
                    }
                    if returned {
                        return true;
                    }
                    for block in [&t.orelse, &t.finalbody] {
                        if self.body(module, block, batch.clone()) {
                            return true;
                        }
                    }
                }
                Stmt::If(_) | Stmt::For(_) | Stmt::While(_) => {
                    let at = self.location(module, stmt);
                    // Rows changed in a loop over a query: data, not the schema.
                    if !self.may_change_schema(module, stmt, batch.as_ref().map(|(v, _)| *v)) {
                        self.code(&at, "control flow");
                        continue;
                    }
                    self.tables_of(module, stmt, batch.as_ref().map(|(_, t)| t.as_str()));
                    self.code(&at, "control flow");
                    self.diagnostics.push(Diagnostic {
                        location: at,
                        severity: Severity::Warning,
                        message: "Alembic `upgrade()` has control flow dbveto does not follow (only a test of the dialect's name and a loop over constants are); the operations inside are not applied".into(),
                    });
                }
                _ => {}
            }
        }
        false
    }

    /// `sa.Column(...)`, or a call without arguments to a function of the
    /// repository that returns one (`op.add_column("t", _workspace_column())`).
    fn column(&mut self, module: ModuleId, call: &'a ast::ExprCall) -> Option<(crate::MappedColumn, Vec<String>)> {
        if let Some(found) = self.reader.column(module, call) {
            return Some(found);
        }
        let Expr::Name(helper) = call.func.as_ref() else { return None };
        if !call.arguments.is_empty() {
            return None;
        }
        let (owner, function) = self.reader.names().function(module, helper.id.as_str())?;
        if function.parameters.iter().any(|p| p.default().is_none()) {
            return None;
        }
        let Some(Stmt::Return(ast::StmtReturn { value: Some(returned), .. })) = function.body.last() else { return None };
        let Expr::Call(column) = returned.as_ref() else { return None };
        self.reader.column(owner, column)
    }

    /// The block PostgreSQL runs of an `if` that tests the dialect's name
    /// (`dialect.name == "sqlite"`, `dialect_name in ("mysql", "mariadb")`,
    /// `elif` and `else` included); `None` when a test is about anything else.
    fn dialect_branch(&mut self, module: ModuleId, i: &'a ast::StmtIf) -> Option<&'a [Stmt]> {
        if self.on_postgres(module, &i.test)? {
            return Some(&i.body);
        }
        for clause in &i.elif_else_clauses {
            match &clause.test {
                None => return Some(&clause.body),
                Some(test) if self.on_postgres(module, test)? => return Some(&clause.body),
                Some(_) => {}
            }
        }
        Some(&[])
    }

    /// Whether a test of the dialect's name holds on PostgreSQL.
    fn on_postgres(&mut self, module: ModuleId, test: &'a Expr) -> Option<bool> {
        match test {
            Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not => self.on_postgres(module, &u.operand).map(|b| !b),
            Expr::BoolOp(b) => {
                let values: Option<Vec<bool>> = b.values.iter().map(|v| self.on_postgres(module, v)).collect();
                let values = values?;
                Some(match b.op {
                    ast::BoolOp::And => values.iter().all(|v| *v),
                    ast::BoolOp::Or => values.iter().any(|v| *v),
                })
            }
            Expr::Compare(c) => {
                let ([op], [right]) = (&c.ops[..], &c.comparators[..]) else { return None };
                let (subject, names) = if is_dialect_name(&c.left) {
                    (true, right)
                } else if is_dialect_name(right) {
                    (true, c.left.as_ref())
                } else {
                    (false, right)
                };
                if !subject {
                    return None;
                }
                let listed: Vec<String> = match names {
                    Expr::Tuple(t) => t.elts.iter().map(|e| self.text(module, Some(e))).collect::<Option<_>>()?,
                    Expr::List(l) => l.elts.iter().map(|e| self.text(module, Some(e))).collect::<Option<_>>()?,
                    Expr::Set(l) => l.elts.iter().map(|e| self.text(module, Some(e))).collect::<Option<_>>()?,
                    one => vec![self.text(module, Some(one))?],
                };
                let postgres = listed.iter().any(|n| n == "postgresql" || n == "postgres");
                match op {
                    ast::CmpOp::Eq | ast::CmpOp::In => Some(postgres),
                    ast::CmpOp::NotEq | ast::CmpOp::NotIn => Some(!postgres),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The elements of a loop over a constant list or tuple (written in
    /// the loop or bound to a name), at most [`MAX_UNROLLED`].
    fn constant_elements(&mut self, module: ModuleId, f: &'a ast::StmtFor) -> Option<Vec<&'a Expr>> {
        if !matches!(f.target.as_ref(), Expr::Name(_)) || !f.orelse.is_empty() {
            return None;
        }
        let mut iter = f.iter.as_ref();
        if let Expr::Name(n) = iter {
            let scopes: Vec<&Scope<'a>> = self.scopes.iter().collect();
            iter = self.reader.names().bound(module, &scopes, n.id.as_str()).filter(|(owner, _)| *owner == module)?.1;
        }
        let elements: Vec<&'a Expr> = match iter {
            Expr::List(l) => l.elts.iter().collect(),
            Expr::Tuple(t) => t.elts.iter().collect(),
            _ => return None,
        };
        (elements.len() <= MAX_UNROLLED && elements.iter().all(|e| !matches!(e, Expr::Starred(_)))).then_some(elements)
    }

    fn run(&mut self, generated: Generated) {
        self.long_names.extend(generated.long_names);
        for (step, location, action) in generated.steps {
            ddl::apply(&mut self.schema, step.clone(), &location, &action, self.diagnostics);
            self.changes.push(Change { step: Some(step), location, action });
        }
    }

    /// Code whose effect on the data is not known.
    fn code(&mut self, at: &Location, action: &str) {
        self.changes.push(Change { step: None, location: at.clone(), action: action.to_string() });
    }

    fn sql(&mut self, sql: String, at: &Location, action: &str) {
        let mut g = Generated::default();
        g.sql(sql, at, action);
        self.run(g);
    }

    /// One `op.<name>(...)` (or `batch_op.<name>(...)` for `batch`'s table).
    fn operation(&mut self, module: ModuleId, call: &'a ast::ExprCall, batch: Option<(&str, &str)>) {
        let at = self.location(module, call);
        // `create_table("t", ...)`: a helper of the repository that hands its arguments to `op.create_table`.
        if let Some(forwarded) = self.forwarded_operation(module, call) {
            return self.op(module, call, forwarded, None, 1, at);
        }
        let Expr::Attribute(method) = call.func.as_ref() else { return };
        let name = method.attr.as_str();
        let Expr::Name(receiver) = method.value.as_ref() else {
            // `op.get_bind().execute(...)`: SQL dbveto does not follow.
            if matches!(name, "execute" | "exec_driver_sql") {
                self.code(&at, &format!("`{name}`"));
            }
            return;
        };
        // In a batch, the table is implicit: positional arguments shift by one.
        let (table, shift) = match batch {
            Some((var, table)) if receiver.id.as_str() == var => (Some(table.to_string()), 0),
            Some(_) | None if receiver.id.as_str() == "op" => (None, 1),
            // `op.get_bind().execute(...)` through a variable: SQL dbveto does not follow.
            _ if matches!(name, "execute" | "exec_driver_sql") => return self.code(&at, &format!("`{}.{name}`", receiver.id)),
            _ => return,
        };
        self.op(module, call, name, table, shift, at);
    }

    /// The `op.<name>` a call of a repository function stands for: one
    /// whose body hands its parameters, in order, to that operation
    /// (`def create_table(table_name, *columns, **kw): ... op.create_table(table_name, *columns, **kw)`),
    /// whatever guards surround it.
    fn forwarded_operation(&mut self, module: ModuleId, call: &'a ast::ExprCall) -> Option<&'a str> {
        let Expr::Name(helper) = call.func.as_ref() else { return None };
        let (_, function) = self.reader.names().function(module, helper.id.as_str())?;
        let params = &function.parameters;
        let on_op = |c: &&ast::ExprCall| matches!(c.func.as_ref(), Expr::Attribute(a) if matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "op"));
        let found: Vec<&ast::ExprCall> = function.body.iter().flat_map(calls_in).filter(on_op).collect();
        let named = |e: &Expr, name: &str| matches!(e, Expr::Name(n) if n.id.as_str() == name);
        let positional: Vec<&str> = params.args.iter().map(|p| p.parameter.name.as_str()).collect();
        let forwards = |inner: &ast::ExprCall| {
            let args = &inner.arguments.args;
            let mut ok = args.len() == positional.len() + usize::from(params.vararg.is_some()) && positional.iter().zip(args.iter()).all(|(p, a)| named(a, p));
            if let Some(vararg) = &params.vararg {
                ok &= matches!(args.last(), Some(Expr::Starred(s)) if named(&s.value, vararg.name.as_str()));
            }
            let keywords = &inner.arguments.keywords;
            ok && keywords.len() == usize::from(params.kwarg.is_some())
                && params.kwarg.as_ref().is_none_or(|k| keywords.first().is_some_and(|kw| kw.arg.is_none() && named(&kw.value, k.name.as_str())))
        };
        let mut forwarded = found.into_iter().filter(|c| forwards(c));
        let inner = forwarded.next()?;
        if forwarded.next().is_some() {
            return None;
        }
        let Expr::Attribute(method) = inner.func.as_ref() else { return None };
        Some(method.attr.as_str())
    }

    fn op(&mut self, module: ModuleId, call: &'a ast::ExprCall, name: &str, table: Option<String>, shift: usize, at: Location) {
        let action = format!("`op.{name}`");
        let args = &call.arguments.args;
        let table_arg = |this: &mut Self, i: usize, kw: &str| -> Option<String> {
            match &table {
                Some(t) => Some(t.clone()),
                None => this.text(module, argument(call, i, kw)),
            }
        };
        let schema = self.text(module, keyword(call, "schema"));
        let q = |t: &str| qualified(schema.as_deref(), t);
        match name {
            "create_table" => {
                let Some(table) = self.text(module, args.first()) else { return self.unreadable(&at, name) };
                let mapped = self.reader.table(module, table, &args[1..], schema.clone(), at.clone(), self.conventions.clone());
                let mut g = Generated::default();
                let mut enums: Vec<String> = self.schema.enums.keys().map(|k| k.name.clone()).collect();
                ddl::create_table(&mapped, &mut enums, &mut g);
                ddl::foreign_keys(&mapped, false, &mut g);
                self.run(g);
            }
            "drop_table" => {
                let Some(table) = self.text(module, args.first()) else { return };
                self.sql(format!("DROP TABLE {}", q(&table)), &at, &action);
            }
            "rename_table" => {
                let (Some(old), Some(new)) = (self.text(module, args.first()), self.text(module, args.get(1))) else { return };
                self.sql(format!("ALTER TABLE {} RENAME TO {}", q(&old), quote(&new)), &at, &action);
            }
            "add_column" => {
                let Some(t) = table_arg(self, 0, "table_name") else { return self.unreadable(&at, name) };
                let Some(Expr::Call(column_call)) = argument(call, shift, "column") else { return self.unreadable(&at, name) };
                let Some((column, final_names)) = self.column(module, column_call) else { return self.unreadable(&at, name) };
                let mut holder = self.reader.table(module, t.clone(), &[], schema.clone(), at.clone(), self.conventions.clone());
                holder.final_names = final_names;
                holder.columns.push(column.clone());
                let mut definition = column_definition(&holder, &column);
                // A column added later is never SERIAL.
                if column.primary_key {
                    definition = definition.replace(" SERIAL", " INTEGER");
                }
                self.sql(format!("ALTER TABLE {} ADD COLUMN {definition}", q(&t)), &at, &action);
                // Then the column's constraints but its primary key, and its index.
                let mut g = Generated::default();
                ddl::constraints_and_indexes(&holder, &mut g);
                ddl::foreign_keys(&holder, true, &mut g);
                self.run(g);
            }
            "drop_column" => {
                let (Some(t), Some(c)) = (table_arg(self, 0, "table_name"), self.text(module, argument(call, shift, "column_name"))) else { return self.unreadable(&at, name) };
                self.sql(format!("ALTER TABLE {} DROP COLUMN {}", q(&t), quote(&c)), &at, &action);
            }
            "alter_column" => {
                let t = table_arg(self, 0, "table_name");
                self.alter_column(module, call, t, shift, &at, schema.as_deref())
            }
            "create_check_constraint" => {
                let given = self.name(module, argument(call, 0, "constraint_name"));
                let Some(t) = table_arg(self, 1, "table_name") else { return self.unreadable(&at, name) };
                let Ok(cname) = self.final_name(given, "ck", subject(&t, &[]), Some(&at)) else { return self.unreadable(&at, name) };
                let condition = argument(call, 1 + shift, "condition");
                let sql = match condition.and_then(|c| self.value(module, c)) {
                    Some(Value::Text(text)) => Some(text.sql.value()),
                    Some(Value::Const(_)) => self.text(module, condition),
                    _ => None,
                };
                let Some(sql) = sql else { return self.unreadable(&at, name) };
                let named = cname.map(|n| format!("CONSTRAINT {} ", quote(&n))).unwrap_or_default();
                self.sql(format!("ALTER TABLE {} ADD {named}CHECK ({sql})", q(&t)), &at, &action);
            }
            "create_unique_constraint" | "create_primary_key" => {
                let given = self.name(module, argument(call, 0, "constraint_name"));
                let Some(t) = table_arg(self, 1, "table_name") else { return self.unreadable(&at, name) };
                let Some(columns) = self.strings(module, argument(call, 1 + shift, "columns")) else { return self.unreadable(&at, name) };
                let (kind, key) = if name == "create_primary_key" { ("PRIMARY KEY", "pk") } else { ("UNIQUE", "uq") };
                let Ok(cname) = self.final_name(given, key, subject(&t, &columns), Some(&at)) else { return self.unreadable(&at, name) };
                let named = cname.map(|n| format!("CONSTRAINT {} ", quote(&n))).unwrap_or_default();
                let list: Vec<String> = columns.iter().map(|c| quote(c)).collect();
                self.sql(format!("ALTER TABLE {} ADD {named}{kind} ({})", q(&t), list.join(", ")), &at, &action);
            }
            "create_foreign_key" => {
                let given = self.name(module, argument(call, 0, "constraint_name"));
                let Some(t) = table_arg(self, 1, "source_table") else { return self.unreadable(&at, name) };
                let referent = self.text(module, argument(call, 1 + shift, "referent_table"));
                let local = self.strings(module, argument(call, 2 + shift, "local_cols"));
                let remote = self.strings(module, argument(call, 3 + shift, "remote_cols"));
                let (Some(referent), Some(local), Some(remote)) = (referent, local, remote) else { return self.unreadable(&at, name) };
                let subject = Subject { table: &t, columns: &local, referred_table: Some(&referent), referred_columns: &remote, constraint_name: None };
                let Ok(cname) = self.final_name(given, "fk", subject, Some(&at)) else { return self.unreadable(&at, name) };
                let named = cname.map(|n| format!("CONSTRAINT {} ", quote(&n))).unwrap_or_default();
                let list = |cols: &[String]| cols.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
                let referent_schema = self.text(module, keyword(call, "referent_schema"));
                let mut sql = format!("ALTER TABLE {} ADD {named}FOREIGN KEY ({}) REFERENCES {} ({})", q(&t), list(&local), qualified(referent_schema.as_deref(), &referent), list(&remote));
                if let Some(d) = self.text(module, keyword(call, "ondelete")) {
                    sql.push_str(&format!(" ON DELETE {d}"));
                }
                if let Some(u) = self.text(module, keyword(call, "onupdate")) {
                    sql.push_str(&format!(" ON UPDATE {u}"));
                }
                self.sql(sql, &at, &action);
            }
            "drop_constraint" => {
                let given = self.name(module, argument(call, 0, "constraint_name"));
                let Some(t) = table_arg(self, 1, "table_name") else { return self.unreadable(&at, name) };
                // The constraint Alembic builds to drop is named by the convention too.
                let key = match keyword(call, "type_").map(|e| self.text(module, Some(e))) {
                    None | Some(None) => "",
                    Some(Some(kind)) => match kind.as_str() {
                        "foreignkey" => "fk",
                        "primary" => "pk",
                        "unique" => "uq",
                        "check" => "ck",
                        _ => "",
                    },
                };
                let Ok(Some(cname)) = self.final_name(given, key, subject(&t, &[]), None) else { return self.unreadable(&at, name) };
                self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", q(&t), quote(&cname)), &at, &action);
            }
            "create_index" => {
                let Some(t) = table_arg(self, 1, "table_name") else { return self.unreadable(&at, name) };
                match self.create_index(module, call, &t, shift, schema.as_deref(), &at) {
                    Some(sql) => self.sql(sql, &at, &action),
                    None => self.unreadable(&at, name),
                }
            }
            "drop_index" => {
                let given = self.name(module, argument(call, 0, "index_name"));
                let t = table_arg(self, 1, "table_name").unwrap_or_default();
                let Ok(Some(iname)) = self.final_name(given, "ix", subject(&t, &[]), None) else { return self.unreadable(&at, name) };
                self.sql(format!("DROP INDEX {}", qualified(schema.as_deref(), &iname)), &at, &action);
            }
            "execute" => {
                let Some(statement) = argument(call, 0, "sqltext") else { return };
                let sql = match self.value(module, statement) {
                    Some(Value::Text(text)) => Some(text.sql.value()),
                    Some(Value::Const(_)) => self.text(module, Some(statement)),
                    _ => None,
                };
                match sql {
                    Some(sql) => self.sql(sql, &at, "`op.execute`"),
                    None => {
                        self.code(&at, "`op.execute`");
                        self.unreadable(&at, name)
                    }
                }
            }
            "f" | "get_bind" | "get_context" | "inline_literal" => {}
            _ => {
                self.code(&at, &action);
                self.unreadable(&at, name)
            }
        }
    }

    /// `CREATE INDEX` for `op.create_index(name, table, columns, ...)`:
    /// columns as names, `sa.Column`s or `text()` expressions; `None` when
    /// some argument is not understood.
    fn create_index(&mut self, module: ModuleId, call: &'a ast::ExprCall, table: &str, shift: usize, schema: Option<&str>, at: &Location) -> Option<String> {
        let given = self.name(module, argument(call, 0, "index_name"));
        let elements: &'a [Expr] = match argument(call, 1 + shift, "columns")? {
            Expr::List(l) => &l.elts,
            Expr::Tuple(t) => &t.elts,
            single => std::slice::from_ref(single),
        };
        let mut sql_elements = Vec::new();
        let mut columns = Vec::new();
        for element in elements {
            if let Some(column) = self.text(module, Some(element)) {
                sql_elements.push(quote(&column));
                columns.push(column);
                continue;
            }
            match self.value(module, element) {
                // `_textual_index_column`: SQL as written.
                Some(Value::Text(text)) => sql_elements.push(text.sql.value()),
                _ => {
                    let Expr::Call(c) = element else { return None };
                    if self.reader.names().sqlalchemy(module, &[], &c.func).as_deref() != Some("Column") {
                        return None;
                    }
                    let column = self.text(module, argument(c, 0, "name"))?;
                    sql_elements.push(quote(&column));
                    columns.push(column);
                }
            }
        }
        // A convention's column tokens need plain columns only.
        let columns = if columns.len() == elements.len() { columns } else { Vec::new() };
        let index = self.final_name(given, "ix", subject(table, &columns), Some(at)).ok()??;
        let mut unique = false;
        let mut using = String::new();
        let mut include = String::new();
        let mut predicate = String::new();
        let mut if_not_exists = "";
        for k in &call.arguments.keywords {
            let arg = k.arg.as_ref()?;
            match arg.as_str() {
                "index_name" | "table_name" | "columns" | "schema" | "postgresql_concurrently" => {}
                "unique" => match self.literal(module, &k.value)? {
                    Literal::Bool(b) => unique = b,
                    _ => return None,
                },
                "if_not_exists" => match self.literal(module, &k.value)? {
                    Literal::Bool(b) => if_not_exists = if b { "IF NOT EXISTS " } else { "" },
                    Literal::Null => {}
                    _ => return None,
                },
                "postgresql_using" => using = format!(" USING {}", self.text(module, Some(&k.value))?),
                "postgresql_include" => {
                    let names: Vec<String> = self.strings(module, Some(&k.value))?.iter().map(|c| quote(c)).collect();
                    include = format!(" INCLUDE ({})", names.join(", "));
                }
                "postgresql_where" => {
                    let condition = match self.value(module, &k.value)? {
                        Value::Text(text) => text.sql.value(),
                        Value::Const(_) => self.text(module, Some(&k.value))?,
                        _ => return None,
                    };
                    predicate = format!(" WHERE {condition}");
                }
                _ => return None,
            }
        }
        let unique = if unique { "UNIQUE " } else { "" };
        Some(format!("CREATE {unique}INDEX {if_not_exists}{} ON {}{using} ({}){include}{predicate}", quote(&index), qualified(schema, table), sql_elements.join(", ")))
    }

    fn alter_column(&mut self, module: ModuleId, call: &'a ast::ExprCall, table: Option<String>, shift: usize, at: &Location, schema: Option<&str>) {
        let (Some(t), Some(column)) = (table, self.text(module, argument(call, shift, "column_name"))) else { return self.unreadable(at, "alter_column") };
        let action = "`op.alter_column`";
        let prefix = format!("ALTER TABLE {} ALTER COLUMN {}", qualified(schema, &t), quote(&column));
        if let Some(e) = keyword(call, "type_") {
            let ty = crate::types::column_type(self.reader.names(), module, &[], e);
            if let Some(ddl) = ty.ddl() {
                self.sql(format!("{prefix} TYPE {ddl}"), at, action);
            }
        }
        if let Some(e) = keyword(call, "nullable") {
            match self.literal(module, e) {
                Some(Literal::Bool(true)) => self.sql(format!("{prefix} DROP NOT NULL"), at, action),
                Some(Literal::Bool(false)) => self.sql(format!("{prefix} SET NOT NULL"), at, action),
                _ => self.unreadable(at, "alter_column"),
            }
        }
        if let Some(e) = keyword(call, "server_default") {
            match e {
                Expr::NoneLiteral(_) => self.sql(format!("{prefix} DROP DEFAULT"), at, action),
                Expr::BooleanLiteral(b) if !b.value => {}
                _ => {
                    let default = match self.value(module, e) {
                        Some(Value::Text(text)) => text.sql.value(),
                        _ => match self.text(module, Some(e)) {
                            Some(s) => crate::names::sql_string(&s),
                            None => "dbveto_unknown_default()".to_string(),
                        },
                    };
                    self.sql(format!("{prefix} SET DEFAULT {default}"), at, action);
                }
            }
        }
        if let Some(new) = self.text(module, keyword(call, "new_column_name")) {
            self.sql(format!("ALTER TABLE {} RENAME COLUMN {} TO {}", qualified(schema, &t), quote(&column), quote(&new)), at, action);
        }
    }

    /// Whether `stmt` calls an operation (`op.x`, the batch's `batch_op.x`)
    /// or a function of the repository, which may.
    fn may_change_schema(&mut self, module: ModuleId, stmt: &'a Stmt, batch: Option<&str>) -> bool {
        let calls = calls_in(stmt);
        if calls.len() >= MAX_UNROLLED {
            return true;
        }
        calls.into_iter().any(|c| match c.func.as_ref() {
            Expr::Attribute(a) => matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == "op" || Some(n.id.as_str()) == batch),
            Expr::Name(n) => self.reader.names().function(module, n.id.as_str()).is_some(),
            _ => false,
        })
    }

    /// Records the tables the operations in `stmt` name (`op.x("t", ...)`,
    /// `op.batch_alter_table("t")`, the batch's own table) as not known
    /// for certain.
    fn tables_of(&mut self, module: ModuleId, stmt: &'a Stmt, batch: Option<&str>) {
        if let Some(table) = batch {
            self.unread_tables.push(table.to_string());
        }
        for call in calls_in(stmt) {
            let Expr::Attribute(m) = call.func.as_ref() else { continue };
            if !matches!(m.value.as_ref(), Expr::Name(n) if n.id.as_str() == "op") || m.attr.as_str() == "f" {
                continue;
            }
            if let Some(table) = self.text(module, argument(call, 0, "table_name")) {
                self.unread_tables.push(table);
            }
        }
    }

    fn unreadable(&mut self, at: &Location, name: &str) {
        self.unread += 1;
        self.diagnostics.push(Diagnostic {
            location: at.clone(),
            severity: Severity::Warning,
            message: format!("Alembic `op.{name}` could not be read statically; the schema may differ from what it builds"),
        });
    }
}
