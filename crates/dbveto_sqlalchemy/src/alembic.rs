//! Alembic: the revision files of `versions/`, ordered by their
//! `down_revision` chain (branches and merge points included) as `alembic
//! upgrade heads` applies them, and the DDL each `op.*` call of
//! `upgrade()` runs on PostgreSQL, replayed with the call as provenance.

use std::collections::{BTreeMap, HashMap};

use dbveto_python::{ModuleId, ProjectIndex, Scope, Value};
use dbveto_schema::Schema;
use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::ddl::{self, column_definition, constraint_name, qualified, Generated};
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
    // Several sets (one per dialect): PostgreSQL's, else the largest.
    let (folder, revisions) = by_dir.into_iter().max_by_key(|(folder, r)| (folder.contains("postgres"), r.len()))?;
    let dir = match folder.rsplit_once("/versions") {
        Some((d, _)) => d.to_string(),
        None if folder.starts_with("versions") => ".".to_string(),
        None => folder.clone(),
    };
    let order = plan(index, &revisions, diagnostics);
    let mut reader = TableReader::new(index);
    let conventions = crate::alembic_env::conventions(index, &mut reader, &dir, diagnostics);
    let mut interpreter = Interpreter { reader, index, schema: Schema::default(), diagnostics, conventions, scope: None, changes: Vec::new() };
    let mut files = Vec::new();
    let mut applied = Vec::new();
    for i in order {
        let revision = &revisions[i];
        if let Some(upgrade) = revision.upgrade {
            interpreter.scope = index.module(revision.module).map(|m| m.function_scope(upgrade));
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
    Some(Applied { schema: interpreter.schema, files, revisions: applied, dir })
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

struct Interpreter<'i, 'p, 'a> {
    reader: TableReader<'p, 'a>,
    index: &'p ProjectIndex<'a>,
    schema: Schema,
    diagnostics: &'i mut Vec<Diagnostic>,
    /// The naming convention of `env.py`'s `target_metadata`.
    conventions: Conventions,
    /// The scope of the `upgrade()` being applied.
    scope: Option<Scope<'a>>,
    /// The changes of the revision being applied.
    changes: Vec<Change>,
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
        let scopes: Vec<&Scope<'a>> = self.scope.iter().collect();
        self.reader.names().string(module, &scopes, expr)
    }

    /// The value of an expression of `upgrade()` (its local names included).
    fn value(&mut self, module: ModuleId, expr: &'a Expr) -> Option<Value<'a>> {
        let scopes: Vec<&Scope<'a>> = self.scope.iter().collect();
        self.reader.names().value(module, &scopes, expr)
    }

    fn literal(&mut self, module: ModuleId, expr: &'a Expr) -> Option<Literal> {
        let scopes: Vec<&Scope<'a>> = self.scope.iter().collect();
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
    fn final_name(&self, name: Name, key: &str, subject: Subject<'_>) -> Result<Option<String>, ()> {
        match name {
            Name::Unknown => Err(()),
            Name::Final(n) => Ok(Some(n)),
            Name::Written(n) => Ok(constraint_name(&self.conventions, key, Some(&n), subject)),
            Name::Unnamed => Ok(constraint_name(&self.conventions, key, None, subject)),
        }
    }

    fn strings(&mut self, module: ModuleId, expr: Option<&'a Expr>) -> Option<Vec<String>> {
        match expr? {
            Expr::List(l) => l.elts.iter().map(|e| self.text(module, Some(e))).collect(),
            Expr::Tuple(t) => t.elts.iter().map(|e| self.text(module, Some(e))).collect(),
            other => Some(vec![self.text(module, Some(other))?]),
        }
    }

    fn body(&mut self, module: ModuleId, body: &'a [Stmt], batch: Option<(&str, String)>) {
        for stmt in body {
            match stmt {
                Stmt::Expr(e) => {
                    if let Expr::Call(call) = e.value.as_ref() {
                        self.operation(module, call, batch.as_ref().map(|(v, t)| (*v, t.as_str())));
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
                            self.body(module, &w.body, Some((var, table)));
                        }
                    }
                }
                Stmt::If(_) | Stmt::For(_) | Stmt::Try(_) => {
                    let at = self.location(module, stmt);
                    self.code(&at, "control flow");
                    self.diagnostics.push(Diagnostic {
                        location: at,
                        severity: Severity::Warning,
                        message: "Alembic `upgrade()` has control flow dbveto does not follow; the operations inside are not applied".into(),
                    });
                }
                _ => {}
            }
        }
    }

    fn run(&mut self, generated: Generated) {
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
        let mut g = Generated { steps: Vec::new() };
        g.sql(sql, at, action);
        self.run(g);
    }

    /// One `op.<name>(...)` (or `batch_op.<name>(...)` for `batch`'s table).
    fn operation(&mut self, module: ModuleId, call: &'a ast::ExprCall, batch: Option<(&str, &str)>) {
        let Expr::Attribute(method) = call.func.as_ref() else { return };
        let name = method.attr.as_str();
        let at = self.location(module, call);
        let Expr::Name(receiver) = method.value.as_ref() else {
            // `op.get_bind().execute(...)`: SQL dbveto does not follow.
            if matches!(name, "execute" | "exec_driver_sql") {
                self.code(&at, &format!("`{name}`"));
            }
            return;
        };
        let action = format!("`op.{name}`");
        // In a batch, the table is implicit: positional arguments shift by one.
        let (table, shift) = match batch {
            Some((var, table)) if receiver.id.as_str() == var => (Some(table.to_string()), 0),
            Some(_) | None if receiver.id.as_str() == "op" => (None, 1),
            // `op.get_bind().execute(...)` through a variable: SQL dbveto does not follow.
            _ if matches!(name, "execute" | "exec_driver_sql") => return self.code(&at, &format!("`{}.{name}`", receiver.id)),
            _ => return,
        };
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
                let mut g = Generated { steps: Vec::new() };
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
                let Some((column, final_names)) = self.reader.column(module, column_call) else { return self.unreadable(&at, name) };
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
                let mut g = Generated { steps: Vec::new() };
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
                let Ok(cname) = self.final_name(given, "ck", subject(&t, &[])) else { return self.unreadable(&at, name) };
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
                let Ok(cname) = self.final_name(given, key, subject(&t, &columns)) else { return self.unreadable(&at, name) };
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
                let Ok(cname) = self.final_name(given, "fk", subject) else { return self.unreadable(&at, name) };
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
                let Ok(Some(cname)) = self.final_name(given, key, subject(&t, &[])) else { return self.unreadable(&at, name) };
                self.sql(format!("ALTER TABLE {} DROP CONSTRAINT {}", q(&t), quote(&cname)), &at, &action);
            }
            "create_index" => {
                let Some(t) = table_arg(self, 1, "table_name") else { return self.unreadable(&at, name) };
                match self.create_index(module, call, &t, shift, schema.as_deref()) {
                    Some(sql) => self.sql(sql, &at, &action),
                    None => self.unreadable(&at, name),
                }
            }
            "drop_index" => {
                let given = self.name(module, argument(call, 0, "index_name"));
                let t = table_arg(self, 1, "table_name").unwrap_or_default();
                let Ok(Some(iname)) = self.final_name(given, "ix", subject(&t, &[])) else { return self.unreadable(&at, name) };
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
    fn create_index(&mut self, module: ModuleId, call: &'a ast::ExprCall, table: &str, shift: usize, schema: Option<&str>) -> Option<String> {
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
        let index = self.final_name(given, "ix", subject(table, &columns)).ok()??;
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

    fn unreadable(&mut self, at: &Location, name: &str) {
        self.diagnostics.push(Diagnostic {
            location: at.clone(),
            severity: Severity::Warning,
            message: format!("Alembic `op.{name}` could not be read statically; the schema may differ from what it builds"),
        });
    }
}
