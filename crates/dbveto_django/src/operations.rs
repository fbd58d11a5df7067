//! Interpreting migration operations in plan order: each changes Django's
//! model state the way `state_forwards` does, and the database the way
//! `database_forwards` does (through the schema editor's SQL).

use dbveto_python_semantic::{Evaluator, ModuleId, ProjectIndex, Scope, Value};
use dbveto_schema::{Constraint, ConstraintKind as DbConstraint, History, Predicate, Provenance, Schema};
use dbveto_source::{Diagnostic, Location, SourceFile};
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use crate::apps::Apps;
use crate::field::{keyword, Field, FieldClass, Resolve};
use crate::graph::{Key, MigrationModule};
use crate::read::{callee_name, class_attribute, constraint, elements, index, option, strings};
use crate::resolver::Resolver;
use crate::run_python;
use crate::schema_editor::{Editor, Step};
use crate::state::{ModelKey, ModelState, Options, ProjectState};

/// A field added to a table that an earlier migration created: the table
/// may hold rows, so the new column needs a value for each of them.
#[derive(Debug, Clone)]
pub struct AddedField {
    pub model: ModelKey,
    pub table: String,
    pub name: String,
    pub field: Field,
    pub location: Location,
}

/// A name a migration gives an index or constraint, as written.
#[derive(Debug, Clone)]
pub struct GivenName {
    pub model: ModelKey,
    pub name: String,
    pub what: &'static str,
    pub location: Location,
}

/// The result of applying every migration.
pub struct Applied {
    pub schema: Schema,
    pub state: ProjectState,
    pub added_fields: Vec<AddedField>,
    pub names: Vec<GivenName>,
    /// The migration files, in the order they were applied.
    pub files: Vec<SourceFile>,
    /// Each migration and what it did to the database, in the same order.
    pub migrations: Vec<AppliedMigration>,
}

/// One migration as `migrate` applied it: its key in `django_migrations`,
/// the migrations it stands in for, and its changes to the database.
#[derive(Debug, Clone)]
pub struct AppliedMigration {
    pub app: String,
    pub name: String,
    /// `replaces` of a squashed migration.
    pub replaces: Vec<(String, String)>,
    pub file: SourceFile,
    pub changes: Vec<Change>,
}

/// One change a migration makes to the database, in the order it runs.
#[derive(Debug, Clone)]
pub enum Change {
    /// SQL the schema editor generates, or a `RunSQL`'s.
    Sql { sql: String, origin: Provenance },
    /// A CHECK whose condition dbveto cannot compile.
    OpaqueCheck { table: String, name: String, origin: Provenance },
    /// Code that runs against the data, whose effect is not known: a
    /// `RunPython`, or a `RunSQL` whose SQL is not known statically.
    Code { origin: Provenance },
}

impl Change {
    /// Applies the change to `schema`, as the interpreter did.
    pub fn replay(&self, schema: &mut Schema, diagnostics: &mut Vec<Diagnostic>) {
        match self {
            Change::Sql { sql, origin } => dbveto_sql::replay_generated(schema, sql, &origin.location, &origin.action, diagnostics),
            Change::OpaqueCheck { table, name, origin } => {
                if let Some(t) = schema.tables.get_mut(&dbveto_schema::QualifiedName::public(table.clone())) {
                    t.constraints.push(Constraint {
                        name: name.clone(),
                        kind: DbConstraint::Check { expression: "(a condition dbveto does not compile)".into(), predicate: Predicate::Opaque },
                        columns: Vec::new(),
                        validated: true,
                        provenance: History::new(origin.clone()),
                    });
                }
            }
            Change::Code { .. } => {}
        }
    }

    pub fn origin(&self) -> &Provenance {
        match self {
            Change::Sql { origin, .. } | Change::OpaqueCheck { origin, .. } | Change::Code { origin } => origin,
        }
    }
}

struct Interpreter<'i, 'p, 'a> {
    eval: Evaluator<'p, 'a>,
    apps: &'i Apps,
    schema: Schema,
    state: ProjectState,
    diagnostics: &'i mut Vec<Diagnostic>,
    deferred: Vec<(Step, Provenance)>,
    added_fields: Vec<AddedField>,
    names: Vec<GivenName>,
    /// Tables created, or emptied by a `RunPython`, by the migration being
    /// applied: rows added to them later in it are the only rows.
    empty_now: Vec<String>,
    /// A `RunPython` changed the schema through its `schema_editor`.
    code_changed_schema: bool,
    /// The changes of the migration being applied.
    changes: Vec<Change>,
    /// The `Migration` class being applied.
    class: Option<&'a ast::StmtClassDef>,
    /// Tables created by an initial migration, and by which.
    created_initially: Vec<(String, Key)>,
    /// The migration being applied: its key, whether it is initial, and
    /// its dependencies.
    current: (Key, bool, Vec<Key>),
    module: ModuleId,
    app: String,
    /// The scopes of the comprehensions that build the operation being
    /// applied (`*[AddField(model_name=m, ...) for m in MODELS]`).
    scopes: Vec<Scope<'a>>,
    /// The migration being applied replaces others (a squash).
    squash: bool,
}

/// How deep lists of operations built by comprehensions are read.
const MAX_OPERATION_NESTING: u32 = 8;

/// The operations the interpreter applies.
const KNOWN_OPERATIONS: &[&str] = &[
    "CreateModel", "DeleteModel", "RenameModel", "AlterModelTable", "AlterModelOptions", "AddField", "RemoveField",
    "AlterField", "RenameField", "AlterUniqueTogether", "AlterIndexTogether", "AddIndex", "RemoveIndex", "RenameIndex",
    "AddConstraint", "RemoveConstraint", "RunSQL", "SeparateDatabaseAndState", "AddIndexConcurrently",
    "AddConstraintNotValid", "RemoveIndexConcurrently",
];

/// Operations that change nothing dbveto models: data, managers, comments,
/// extensions and collations, validation of what already holds.
const NO_SCHEMA_EFFECT: &[&str] = &[
    "RunPython", "AlterModelManagers", "AlterModelTableComment", "CreateExtension", "BloomExtension",
    "BtreeGinExtension", "BtreeGistExtension", "CITextExtension", "CryptoExtension", "HStoreExtension",
    "TrigramExtension", "UnaccentExtension", "CreateCollation", "RemoveCollation", "ValidateConstraint",
];

/// How deep a chain of operation subclasses is followed.
const MAX_OPERATION_BASES: u32 = 8;

/// Positional argument `i` or keyword `name`.
fn arg<'a>(call: &'a ast::ExprCall, i: usize, name: &str) -> Option<&'a Expr> {
    keyword(call, name).or_else(|| call.arguments.args.get(i))
}

pub fn apply<'a>(
    index: &ProjectIndex<'a>,
    apps: &Apps,
    migrations: &[MigrationModule<'a>],
    order: &[usize],
    diagnostics: &mut Vec<Diagnostic>,
) -> Applied {
    let mut interpreter = Interpreter {
        eval: Evaluator::new(index),
        apps,
        schema: Schema::default(),
        state: ProjectState::default(),
        diagnostics,
        deferred: Vec::new(),
        added_fields: Vec::new(),
        names: Vec::new(),
        empty_now: Vec::new(),
        changes: Vec::new(),
        class: None,
        created_initially: Vec::new(),
        current: Default::default(),
        module: 0,
        app: String::new(),
        scopes: Vec::new(),
        squash: false,
        code_changed_schema: false,
    };
    let mut files = Vec::new();
    let mut applied = Vec::new();
    for &i in order {
        let Some(m) = migrations.get(i) else { continue };
        interpreter.module = m.module;
        interpreter.class = Some(m.class);
        interpreter.app = m.key.0.clone();
        interpreter.empty_now.clear();
        interpreter.squash = !m.replaces.is_empty();
        interpreter.current = (m.key.clone(), m.initial, m.dependencies.clone());
        interpreter.operations(m.operations, true, 0);
        for (step, origin) in std::mem::take(&mut interpreter.deferred) {
            interpreter.run(step, &origin);
        }
        files.push(m.file.clone());
        applied.push(AppliedMigration {
            app: m.key.0.clone(),
            name: m.key.1.clone(),
            replaces: m.replaces.clone(),
            file: m.file.clone(),
            changes: std::mem::take(&mut interpreter.changes),
        });
    }
    Applied {
        schema: interpreter.schema,
        state: interpreter.state,
        added_fields: interpreter.added_fields,
        names: interpreter.names,
        files,
        migrations: applied,
    }
}

impl<'p, 'a> Interpreter<'_, 'p, 'a> {
    fn resolver(&mut self) -> Resolver<'_, 'p, 'a> {
        Resolver { eval: &mut self.eval, module: self.module, apps: self.apps, scopes: &self.scopes }
    }

    fn literal(&mut self, expr: Option<&'a Expr>) -> Option<Literal> {
        let expr = expr?;
        self.resolver().literal(expr)
    }

    fn string(&mut self, expr: Option<&'a Expr>) -> Option<String> {
        match self.literal(expr)? {
            Literal::Str(s) => Some(s),
            _ => None,
        }
    }

    fn location(&self, node: &impl Ranged) -> Location {
        match self.eval.project().module(self.module) {
            Some(m) => m.file.location(node.start().to_usize()),
            None => Location { path: "".into(), line: 1, column: 1 },
        }
    }

    fn key(&self, model_name: &str) -> ModelKey {
        ModelKey::new(&self.app, model_name)
    }

    /// Applies one generated change, with `origin` as its provenance.
    fn run(&mut self, step: Step, origin: &Provenance) {
        let origin = origin.clone();
        self.change(match step {
            Step::Sql(sql) => Change::Sql { sql, origin },
            Step::OpaqueCheck { table, name } => Change::OpaqueCheck { table, name, origin },
        });
    }

    /// Applies a change and records it for the migration.
    fn change(&mut self, change: Change) {
        change.replay(&mut self.schema, self.diagnostics);
        self.changes.push(change);
    }

    /// Runs what `edit` generates against the current state and schema.
    fn edit(&mut self, origin: Provenance, edit: impl FnOnce(&mut Editor<'_>)) {
        let (steps, deferred) = {
            let mut editor = Editor::new(&self.state, &self.schema);
            edit(&mut editor);
            (editor.steps, editor.deferred)
        };
        for step in steps {
            self.run(step, &origin);
        }
        self.deferred.extend(deferred.into_iter().map(|s| (s, origin.clone())));
    }

    /// The model of this migration's app that an operation names.
    fn named_model(&mut self, name: &str, location: &Location) -> Option<(ModelKey, ModelState)> {
        let key = self.key(name);
        let model = self.model(&key, location)?;
        Some((key, model))
    }

    fn model(&mut self, key: &ModelKey, location: &Location) -> Option<ModelState> {
        let found = self.state.get(key).cloned();
        if found.is_none() {
            self.diagnostics.push(Diagnostic {
                location: location.clone(),
                severity: dbveto_source::Severity::Warning,
                message: format!(
                    "Django migration refers to model `{}.{}`, which no earlier migration creates; operation skipped",
                    key.app_label, key.name
                ),
            });
        }
        found
    }

    /// A field of a migration. A class dbveto cannot resolve
    /// (`import_string(settings.DEFAULT_AUTO_FIELD)(...)`) is still a field,
    /// of a class it does not know.
    fn field(&mut self, expr: Option<&'a Expr>) -> Option<Field> {
        let Expr::Call(call) = expr? else { return None };
        Field::from_call(call, &mut self.resolver()).or_else(|| {
            let written = callee_name(&call.func).unwrap_or("?");
            Some(Field::new(FieldClass::new("", written), self.location(call)))
        })
    }

    /// A list of operations or fields, written in place or named
    /// (`state_operations=state_operations`, a class attribute).
    fn list(&self, expr: Option<&'a Expr>) -> &'a [Expr] {
        match expr {
            Some(Expr::Name(n)) => self.class.and_then(|c| class_attribute(c, n.id.as_str())).and_then(elements).unwrap_or(&[]),
            Some(e) => elements(e).unwrap_or(&[]),
            None => &[],
        }
    }

    /// The Django operation a call makes: `migrations.AddField`, or a
    /// subclass of one in the repository (it does what its base does).
    fn operation_name(&mut self, func: &'a Expr) -> Option<&'a str> {
        let mut current = func;
        for _ in 0..MAX_OPERATION_BASES {
            let name = callee_name(current)?;
            if KNOWN_OPERATIONS.contains(&name) || NO_SCHEMA_EFFECT.contains(&name) {
                return Some(name);
            }
            let Some(Value::Class { module, class }) = self.eval.eval(self.module, &[], current) else { return Some(name) };
            let saved = std::mem::replace(&mut self.module, module);
            let base = class.bases().iter().find(|b| matches!(self.eval.eval(module, &[], b), Some(Value::Class { .. }) | Some(Value::Module(_))));
            self.module = saved;
            match base {
                Some(b) => current = b,
                None => return Some(name),
            }
        }
        None
    }

    /// A list of operations: calls, and lists spliced in with `*`, written
    /// out or built by a comprehension over a constant sequence. Anything
    /// else gets a diagnostic: its changes are not replayed.
    fn operations(&mut self, items: &'a [Expr], database: bool, depth: u32) {
        for item in items {
            match item {
                Expr::Call(call) => self.operation(call, database),
                Expr::Starred(starred) if depth < MAX_OPERATION_NESTING => self.spliced(&starred.value, database, depth + 1),
                other => self.unread_operations(other),
            }
        }
    }

    /// `*[...]`, `*(...)`, or `*[Op(m) for m in NAMES if ...]`.
    fn spliced(&mut self, expr: &'a Expr, database: bool, depth: u32) {
        match expr {
            Expr::List(_) | Expr::Tuple(_) => self.operations(elements(expr).unwrap_or(&[]), database, depth),
            Expr::ListComp(comp) if comp.generators.iter().all(|g| !g.is_async) => {
                if !self.comprehension(comp, 0, database, depth) {
                    self.unread_operations(expr);
                }
            }
            other => self.unread_operations(other),
        }
    }

    /// Applies the operations of `comp` from its `generator`-th `for` on
    /// (the later ones nested in the earlier), each loop name bound to each
    /// constant in turn; false when a sequence or an `if` is not known.
    fn comprehension(&mut self, comp: &'a ast::ExprListComp, generator: usize, database: bool, depth: u32) -> bool {
        let Some(current) = comp.generators.get(generator) else {
            self.operations(std::slice::from_ref(comp.elt.as_ref()), database, depth);
            return true;
        };
        let (Expr::Name(target), Some(values)) = (&current.target, self.constant_sequence(&current.iter)) else { return false };
        for value in values {
            self.scopes.push(Scope::bound(target.id.as_str(), value));
            let tests: Option<Vec<bool>> = current.ifs.iter().map(|c| self.condition(c)).collect();
            let read = match tests {
                Some(tests) if tests.iter().all(|t| *t) => self.comprehension(comp, generator + 1, database, depth),
                Some(_) => true,
                None => false,
            };
            self.scopes.pop();
            if !read {
                return false;
            }
        }
        true
    }

    /// The elements of a list or tuple written in place or bound to a
    /// module-level name, when each is a constant.
    fn constant_sequence(&mut self, expr: &'a Expr) -> Option<&'a [Expr]> {
        let sequence = match expr {
            Expr::Name(name) => match self.eval.project().module(self.module)?.bindings.get(name.id.as_str())? {
                dbveto_python_semantic::Binding::Value(value) => *value,
                _ => return None,
            },
            other => other,
        };
        let items = elements(sequence)?;
        items.iter().all(|item| self.resolver().literal(item).is_some()).then_some(items)
    }

    /// A comprehension's `if`: `==`, `!=`, `in`, `not in` between constants.
    fn condition(&mut self, test: &'a Expr) -> Option<bool> {
        let Expr::Compare(compare) = test else { return None };
        let ([op], [right]) = (&compare.ops[..], &compare.comparators[..]) else { return None };
        let left = self.resolver().literal(&compare.left)?;
        match op {
            ast::CmpOp::Eq | ast::CmpOp::NotEq => {
                let equal = left == self.resolver().literal(right)?;
                Some(equal == matches!(op, ast::CmpOp::Eq))
            }
            ast::CmpOp::In | ast::CmpOp::NotIn => {
                let items = self.constant_sequence(right)?;
                let mut found = false;
                for item in items {
                    found |= self.resolver().literal(item).as_ref() == Some(&left);
                }
                Some(found == matches!(op, ast::CmpOp::In))
            }
            _ => None,
        }
    }

    fn unread_operations(&mut self, expr: &'a Expr) {
        let location = self.location(expr);
        self.diagnostics.push(Diagnostic {
            location,
            severity: dbveto_source::Severity::Warning,
            message: "migration operations built by an expression dbveto cannot read; their schema changes are not replayed".to_string(),
        });
    }

    /// One operation; `database` false applies it to the state only
    /// (`SeparateDatabaseAndState`'s `state_operations`).
    fn operation(&mut self, call: &'a ast::ExprCall, database: bool) {
        let Some(op) = self.operation_name(&call.func) else { return };
        // contrib.postgres variants do what the plain operation does, to the
        // schema (outside a transaction, or NOT VALID, which new rows obey).
        let op = match op {
            "AddIndexConcurrently" => "AddIndex",
            "RemoveIndexConcurrently" => "RemoveIndex",
            "AddConstraintNotValid" => "AddConstraint",
            other => other,
        };
        let location = self.location(call);
        let source = self.eval.project().module(self.module).map(|m| m.file.text.clone());
        let action = source
            .as_deref()
            .and_then(|text| text.get(call.range().start().to_usize()..call.range().end().to_usize()))
            .map(dbveto_sql_summary)
            .unwrap_or_else(|| op.to_string());
        let origin = Provenance { location: location.clone(), action };
        match op {
            "CreateModel" => self.create_model(call, database, origin),
            "DeleteModel" => {
                let Some(name) = self.string(arg(call, 0, "name")) else { return };
                let Some((key, model)) = self.named_model(&name, &location) else { return };
                if database {
                    self.edit(origin, |e| e.delete_model(&model));
                }
                self.state.models.remove(&key);
            }
            "RenameModel" => self.rename_model(call, database, origin),
            "AlterModelTable" => {
                let Some(name) = self.string(arg(call, 0, "name")) else { return };
                let Some((key, mut model)) = self.named_model(&name, &location) else { return };
                let old = model.db_table();
                model.options.db_table = self.string(arg(call, 1, "table"));
                let new = model.db_table();
                if database && model.has_table() {
                    self.edit(origin, |e| e.rename_table(&old, &new));
                }
                self.state.models.insert(key, model);
            }
            "AlterModelOptions" => {
                let Some(name) = self.string(arg(call, 0, "name")) else { return };
                let Some((key, mut model)) = self.named_model(&name, &location) else { return };
                if let Some(Expr::Dict(dict)) = arg(call, 1, "options") {
                    for item in dict.items.iter() {
                        if let Some(Literal::Str(k)) = self.literal(item.key.as_ref()) {
                            if k == "managed" {
                                option(&mut model.options, &k, &item.value, &mut self.resolver());
                            }
                        }
                    }
                }
                self.state.models.insert(key, model);
            }
            "AddField" => self.add_field(call, database, origin),
            "RemoveField" => {
                let (Some(model_name), Some(name)) = (self.string(arg(call, 0, "model_name")), self.string(arg(call, 1, "name"))) else {
                    return;
                };
                let Some((key, mut model)) = self.named_model(&model_name, &location) else { return };
                let Some(field) = model.field(&name).cloned() else { return };
                if database {
                    self.edit(origin, |e| e.remove_field(&model, &name, &field));
                }
                model.fields.retain(|(n, _)| *n != name);
                self.state.models.insert(key, model);
            }
            "AlterField" => {
                let (Some(model_name), Some(name)) = (self.string(arg(call, 0, "model_name")), self.string(arg(call, 1, "name"))) else {
                    return;
                };
                let Some((key, mut model)) = self.named_model(&model_name, &location) else { return };
                let (Some(old), Some(mut new)) = (model.field(&name).cloned(), self.field(arg(call, 2, "field"))) else { return };
                if database {
                    let after = replace_field(&model, &name, &name, new.clone());
                    self.edit(origin, |e| e.alter_field(&after, &name, &old, &name, &new));
                }
                if matches!(self.literal(arg(call, 3, "preserve_default")), Some(Literal::Bool(false))) {
                    new.default = None;
                }
                model = replace_field(&model, &name, &name, new);
                self.state.models.insert(key, model);
            }
            "RenameField" => {
                let (Some(model_name), Some(old_name), Some(new_name)) = (
                    self.string(arg(call, 0, "model_name")),
                    self.string(arg(call, 1, "old_name")),
                    self.string(arg(call, 2, "new_name")),
                ) else {
                    return;
                };
                let Some((key, model)) = self.named_model(&model_name, &location) else { return };
                let Some(field) = model.field(&old_name).cloned() else { return };
                let mut after = replace_field(&model, &old_name, &new_name, field.clone());
                rename_in_options(&mut after.options, &old_name, &new_name);
                if database {
                    self.edit(origin, |e| e.alter_field(&after, &old_name, &field, &new_name, &field));
                }
                self.state.models.insert(key, after);
            }
            "AlterUniqueTogether" | "AlterIndexTogether" => {
                let Some(name) = self.string(arg(call, 0, "name")) else { return };
                let Some((key, mut model)) = self.named_model(&name, &location) else { return };
                let unique = op == "AlterUniqueTogether";
                let option_name = if unique { "unique_together" } else { "index_together" };
                let old = if unique { model.options.unique_together.clone() } else { model.options.index_together.clone() };
                match arg(call, 1, option_name) {
                    Some(value) if !matches!(value, Expr::NoneLiteral(_)) => {
                        option(&mut model.options, option_name, value, &mut self.resolver())
                    }
                    _ if unique => model.options.unique_together.clear(),
                    _ => model.options.index_together.clear(),
                }
                let new = if unique { model.options.unique_together.clone() } else { model.options.index_together.clone() };
                if database {
                    self.edit(origin, |e| {
                        if unique {
                            e.alter_unique_together(&model, &old, &new)
                        } else {
                            e.alter_index_together(&model, &old, &new)
                        }
                    });
                }
                self.state.models.insert(key, model);
            }
            "AddIndex" | "AddConstraint" => {
                let Some(model_name) = self.string(arg(call, 0, "model_name")) else { return };
                let Some((key, mut model)) = self.named_model(&model_name, &location) else { return };
                let Some(Expr::Call(spec)) = arg(call, 1, if op == "AddIndex" { "index" } else { "constraint" }) else { return };
                if op == "AddIndex" {
                    let Some(spec) = index(spec, &mut self.resolver()) else { return };
                    if let Some(name) = &spec.name {
                        self.names.push(GivenName { model: key.clone(), name: name.clone(), what: "index", location: spec.location.clone() });
                    }
                    if database {
                        self.edit(origin, |e| e.add_index(&model, &spec));
                    }
                    model.options.indexes.push(spec);
                } else {
                    let Some(spec) = constraint(spec, &mut self.resolver()) else { return };
                    if let Some(name) = &spec.name {
                        self.names.push(GivenName { model: key.clone(), name: name.clone(), what: "constraint", location: spec.location.clone() });
                    }
                    if database {
                        self.edit(origin, |e| e.add_constraint(&model, &spec));
                    }
                    model.options.constraints.push(spec);
                }
                self.state.models.insert(key, model);
            }
            "RemoveIndex" | "RemoveConstraint" => {
                let (Some(model_name), Some(name)) = (self.string(arg(call, 0, "model_name")), self.string(arg(call, 1, "name"))) else {
                    return;
                };
                let Some((key, mut model)) = self.named_model(&model_name, &location) else { return };
                if op == "RemoveIndex" {
                    if database {
                        self.edit(origin, |e| e.remove_index(&model, &name));
                    }
                    model.options.indexes.retain(|i| i.name.as_deref() != Some(name.as_str()));
                } else {
                    let spec = model.options.constraints.iter().find(|c| c.name.as_deref() == Some(name.as_str())).cloned();
                    if let (true, Some(spec)) = (database, &spec) {
                        self.edit(origin, |e| e.remove_constraint(&model, spec));
                    }
                    model.options.constraints.retain(|c| c.name.as_deref() != Some(name.as_str()));
                }
                self.state.models.insert(key, model);
            }
            "RenameIndex" => {
                let (Some(model_name), Some(new_name)) = (self.string(arg(call, 0, "model_name")), self.string(arg(call, 1, "new_name"))) else {
                    return;
                };
                let Some((key, mut model)) = self.named_model(&model_name, &location) else { return };
                let old_name = match self.string(arg(call, 2, "old_name")) {
                    Some(n) => Some(n),
                    None => {
                        let fields = arg(call, 3, "old_fields").and_then(|e| strings(e, &mut self.resolver()));
                        fields.and_then(|f| {
                            let columns: Option<Vec<String>> = f.iter().map(|f| model.column_of(f)).collect();
                            let columns = columns?;
                            let refs: Vec<&str> = columns.iter().map(String::as_str).collect();
                            Some(crate::naming::create_index_name(&model.db_table(), &refs, "_idx"))
                        })
                    }
                };
                let Some(old_name) = old_name else { return };
                self.names.push(GivenName { model: key.clone(), name: new_name.clone(), what: "index", location: location.clone() });
                if database {
                    self.edit(origin, |e| e.rename_index(&model, &old_name, &new_name));
                }
                for i in model.options.indexes.iter_mut().filter(|i| i.name.as_deref() == Some(old_name.as_str())) {
                    i.name = Some(new_name.clone());
                }
                self.state.models.insert(key, model);
            }
            "RunSQL" => {
                if database {
                    if let Some(sql) = arg(call, 0, "sql") {
                        self.run_sql(sql, &origin);
                    }
                }
                {
                    let items = self.list(keyword(call, "state_operations"));
                    self.operations(items, false, 0);
                }
            }
            "RunPython" => {
                let code = arg(call, 0, "code");
                let noop = matches!(code, Some(Expr::Attribute(a)) if a.attr.as_str() == "noop");
                if database && !noop {
                    self.changes.push(Change::Code { origin });
                    let body = self.eval.project().module(self.module).map(|m| m.body).unwrap_or(&[]);
                    if let Some(function) = code.and_then(|c| run_python::function(body, c)) {
                        let effects = run_python::effects(function);
                        for (app, model) in effects.emptied {
                            if let Some(model) = self.state.get(&ModelKey::new(&app, &model)) {
                                self.empty_now.push(model.db_table());
                            }
                        }
                        self.code_changed_schema |= effects.changes_schema;
                    }
                }
            }
            name if NO_SCHEMA_EFFECT.contains(&name) => {}
            "SeparateDatabaseAndState" => {
                let mut code_changed_schema = false;
                if database {
                    // The database operations run against a state of their own.
                    let saved = self.state.clone();
                    let items = self.list(arg(call, 0, "database_operations"));
                    self.code_changed_schema = false;
                    self.operations(items, true, 0);
                    code_changed_schema = std::mem::take(&mut self.code_changed_schema);
                    self.state = saved;
                }
                // Code that changes the schema itself is taken to make the
                // database what the state operations describe.
                if code_changed_schema {
                    self.diagnostics.push(Diagnostic {
                        location: location.clone(),
                        severity: dbveto_source::Severity::Info,
                        message: "the database operations run code that changes the schema through `schema_editor`; dbveto applies the state operations to the database instead".to_string(),
                    });
                }
                let items = self.list(arg(call, 1, "state_operations"));
                self.operations(items, code_changed_schema, 0);
            }
            other => self.diagnostics.push(Diagnostic {
                location,
                severity: dbveto_source::Severity::Warning,
                message: format!("Django migration operation `{other}` is not known to dbveto; its schema changes are not replayed"),
            }),
        }
    }

    /// `RunSQL(sql)`: a string, or a list of strings and `(sql, params)`.
    fn run_sql(&mut self, sql: &'a Expr, origin: &Provenance) {
        let pieces: Vec<&'a Expr> = match elements(sql) {
            Some(items) => items.iter().map(|i| elements(i).and_then(|t| t.first()).unwrap_or(i)).collect(),
            None => vec![sql],
        };
        for piece in pieces {
            let location = self.location(piece);
            if let Some(Literal::Str(text)) = self.literal(Some(piece)) {
                let origin = Provenance { location, action: dbveto_sql_summary(&text) };
                self.change(Change::Sql { sql: text, origin });
            } else if matches!(piece, Expr::Attribute(a) if a.attr.as_str() == "noop") {
            } else {
                self.changes.push(Change::Code { origin: origin.clone() });
                self.diagnostics.push(Diagnostic {
                    location: origin.location.clone(),
                    severity: dbveto_source::Severity::Info,
                    message: "RunSQL with SQL that is not known statically; its changes are not replayed".into(),
                });
            }
        }
    }

    fn create_model(&mut self, call: &'a ast::ExprCall, database: bool, origin: Provenance) {
        let Some(name) = self.string(arg(call, 0, "name")) else { return };
        let mut model = ModelState {
            app_label: self.app.clone(),
            name,
            fields: Vec::new(),
            options: Options::default(),
            location: origin.location.clone(),
        };
        for item in arg(call, 1, "fields").and_then(elements).unwrap_or(&[]) {
            let Some([field_name, field]) = elements(item) else { continue };
            let Some(Literal::Str(field_name)) = self.literal(Some(field_name)) else { continue };
            if let Some(field) = self.field(Some(field)) {
                if field.class.written.ends_with("Manager") {
                    continue;
                }
                model.fields.push((field_name, field));
            }
        }
        if let Some(Expr::Dict(dict)) = arg(call, 2, "options") {
            for item in dict.items.iter() {
                if let Some(Literal::Str(k)) = self.literal(item.key.as_ref()) {
                    option(&mut model.options, &k, &item.value, &mut self.resolver());
                }
            }
        }
        let key = model.key();
        for spec in &model.options.indexes {
            if let Some(name) = &spec.name {
                self.names.push(GivenName { model: key.clone(), name: name.clone(), what: "index", location: spec.location.clone() });
            }
        }
        if database {
            self.empty_now.push(model.db_table());
            if self.current.1 {
                self.created_initially.push((model.db_table(), self.current.0.clone()));
            }
            let m = model.clone();
            self.edit(origin, |e| e.create_model(&m));
        }
        self.state.models.insert(key, model);
    }

    fn rename_model(&mut self, call: &'a ast::ExprCall, database: bool, origin: Provenance) {
        let (Some(old_name), Some(new_name)) = (self.string(arg(call, 0, "old_name")), self.string(arg(call, 1, "new_name"))) else {
            return;
        };
        let old_key = self.key(&old_name);
        let Some(model) = self.model(&old_key, &origin.location) else { return };
        let (location, action) = (origin.location.clone(), origin.action.clone());
        let mut renamed = model.clone();
        renamed.name = new_name.clone();
        let (old_table, new_table) = (model.db_table(), renamed.db_table());
        if database && model.has_table() {
            self.edit(origin, |e| e.rename_table(&old_table, &new_table));
        }
        self.state.models.remove(&old_key);
        let new_key = renamed.key();
        self.state.models.insert(new_key, renamed);
        // Relations that pointed at the old name now point at the new one,
        // and their constraints are made again for the new target.
        let old_ref = format!("{}.{}", old_key.app_label, old_key.name);
        let mut repointed = Vec::new();
        for (key, m) in self.state.models.iter_mut() {
            let same_app = m.app_label == old_key.app_label;
            for (field_name, f) in m.fields.iter_mut() {
                if let Some(r) = f.relation.as_mut() {
                    let points = r.to.as_deref().is_some_and(|t| {
                        t.to_lowercase() == old_ref || (same_app && !t.contains('.') && t.to_lowercase() == old_key.name)
                    });
                    if points {
                        r.to = Some(format!("{}.{new_name}", old_key.app_label));
                        if r.kind != crate::field::RelationKind::ManyToMany {
                            repointed.push((key.clone(), field_name.clone()));
                        }
                    }
                }
            }
        }
        if database {
            for (key, field_name) in repointed {
                let Some(model) = self.state.get(&key).cloned() else { continue };
                let Some(field) = model.field(&field_name).cloned() else { continue };
                let origin = Provenance { location: location.clone(), action: action.clone() };
                self.edit(origin, |e| e.repoint_foreign_key(&model, &field_name, &field));
            }
        }
    }

    fn add_field(&mut self, call: &'a ast::ExprCall, database: bool, origin: Provenance) {
        let (Some(model_name), Some(name)) = (self.string(arg(call, 0, "model_name")), self.string(arg(call, 1, "name"))) else {
            return;
        };
        let Some((key, mut model)) = self.named_model(&model_name, &origin.location) else { return };
        let Some(mut field) = self.field(arg(call, 2, "field")) else { return };
        if database {
            let table = model.db_table();
            // Foreign keys that `makemigrations` split out of the initial
            // migration into the next one (it splits relations only) are
            // added to tables that are still empty.
            // A squash keeps as `AddField` only the relations it could not
            // put in `CreateModel`, and runs only on a database where none
            // of the migrations it replaces ran: the table is empty too.
            let created_initially = |by: Option<&Key>| self.created_initially.iter().any(|(t, b)| *t == table && by.is_none_or(|by| b == by));
            let split_from_initial = field.is_foreign_key()
                && (self.current.2.iter().any(|by| created_initially(Some(by))) || (self.squash && created_initially(None)));
            let empty = self.empty_now.contains(&table) || split_from_initial;
            if model.has_table() && !empty {
                self.added_fields.push(AddedField {
                    model: key.clone(),
                    table,
                    name: name.clone(),
                    field: field.clone(),
                    location: origin.location.clone(),
                });
            }
            let m = model.clone();
            let (n, f) = (name.clone(), field.clone());
            self.edit(origin, |e| e.add_field(&m, &n, &f));
        }
        if matches!(self.literal(arg(call, 3, "preserve_default")), Some(Literal::Bool(false))) {
            field.default = None;
        }
        model.fields.push((name, field));
        self.state.models.insert(key, model);
    }
}

fn replace_field(model: &ModelState, old_name: &str, new_name: &str, field: Field) -> ModelState {
    let mut after = model.clone();
    if let Some(slot) = after.fields.iter_mut().find(|(n, _)| n == old_name) {
        *slot = (new_name.to_string(), field);
    }
    after
}

fn rename_in_options(options: &mut Options, old: &str, new: &str) {
    let rename = |f: &mut String| {
        let desc = f.starts_with('-');
        if f.trim_start_matches('-') == old {
            *f = if desc { format!("-{new}") } else { new.to_string() };
        }
    };
    for group in options.unique_together.iter_mut().chain(options.index_together.iter_mut()) {
        group.iter_mut().for_each(rename);
    }
    for index in options.indexes.iter_mut() {
        index.fields.iter_mut().for_each(rename);
    }
}

/// The first line of an operation or statement, shortened.
fn dbveto_sql_summary(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(80).collect();
    if line.chars().count() > 80 || text.trim().lines().count() > 1 {
        out.push('…');
    }
    out
}
