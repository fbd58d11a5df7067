//! The models as the code declares them (`models.py`, `models/`): what the
//! ORM sends is decided by these classes at run time, not by migrations.

use std::collections::HashMap;

use dbveto_python_semantic::{Environment, Evaluator, LibraryClass, ModuleId, ProjectIndex, Value};
use rustc_hash::FxHashMap;
use dbveto_source::Location;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::apps::{migration_app_dir, Apps};
use crate::field::{is_known_class, Field, FieldClass, Relation, RelationKind};
use crate::read::{assigned_names, assignment, option};
use crate::resolver::Resolver;
use crate::external::{class_name, known_base};
use crate::state::{ModelKey, ModelState, Options, ProjectState};
use dbveto_writes::KnownOmission;

/// An external base that cannot be resolved, in [`Model::external`].
const UNRESOLVED: &str = "?";

/// How deep a chain of model base classes is followed.
const MAX_BASES: u32 = 16;

/// A model class of the repository.
#[derive(Debug, Clone)]
pub struct Model {
    /// The fields of this class's own table: inherited abstract fields
    /// included, a concrete parent's left out (it has its own table).
    pub state: ModelState,
    /// The table holding the rows: the model's own, or for a proxy, the
    /// concrete model's.
    pub table: String,
    /// A field class or a base class dbveto does not know (third-party):
    /// the model may have columns not listed in `state.fields`.
    pub incomplete: bool,
    /// Fields set when the object is saved, not by the caller: assigned by
    /// an overridden `save()`, or an `ImageField`'s `width_field` and
    /// `height_field`.
    pub set_on_save: Vec<String>,
    /// The concrete parent of multi-table inheritance: its row is inserted
    /// first, from the same keyword arguments.
    pub parent: Option<Box<Model>>,
    /// Base classes from outside the repository (dotted import paths, or
    /// [`UNRESOLVED`] for a base that cannot be resolved), directly or
    /// through the class's bases in the repository.
    pub external: Vec<String>,
    /// Every name the class body and its bases in the repository assign:
    /// fields of classes dbveto does not know included.
    pub declared: Vec<String>,
    /// `GenericForeignKey`s: no column of their own, they stand for two.
    pub generic_keys: Vec<GenericKey>,
    /// The columns of a model with an external base that its writes are
    /// known not to send (see [`judge_external_bases`]).
    pub known_omitted: Vec<KnownOmission>,
}

/// `content_object = GenericForeignKey("content_type", "object_id")`.
#[derive(Debug, Clone)]
pub struct GenericKey {
    pub name: String,
    pub ct_field: String,
    pub fk_field: String,
}

/// Every model class, by (module, class offset).
#[derive(Debug, Default)]
pub struct Models {
    pub models: Vec<Model>,
    pub by_class: HashMap<(ModuleId, u32), usize>,
}

impl Models {
    pub fn of_class(&self, module: ModuleId, class: &ast::StmtClassDef) -> Option<&Model> {
        self.by_class.get(&(module, class.start().to_u32())).map(|&i| &self.models[i])
    }
}

/// What a class is, as far as Django models go.
#[derive(Debug, Clone)]
enum Kind {
    NotAModel,
    Model(Box<Model>),
    /// A class built on bases from outside the repository that is not
    /// known to be a model itself: its fields still count for a subclass
    /// the migrations show to be one.
    Candidate(Box<Model>),
}

struct Reader<'r, 'p, 'a> {
    eval: Evaluator<'p, 'a>,
    apps: &'r Apps,
    index: &'p ProjectIndex<'a>,
    /// The models this repository's migrations create.
    migrated: Option<&'r ProjectState>,
    memo: HashMap<(ModuleId, u32), Kind>,
}

pub fn read(index: &ProjectIndex<'_>, apps: &Apps, migrated: Option<&ProjectState>, environment: &Environment) -> Models {
    let mut reader = Reader { eval: Evaluator::new(index), apps, index, migrated, memo: HashMap::new() };
    let mut models = Models::default();
    let mut swaps = Swaps::new(index);
    for module in &index.modules {
        if migration_app_dir(&module.file.path).is_some() || apps.app_of(&module.file.path).is_none() {
            continue;
        }
        for stmt in module.body {
            let Stmt::ClassDef(class) = stmt else { continue };
            // Abstract models have no rows of their own: only their children do.
            if let Kind::Model(model) = reader.class(module.id, class, 0) {
                if !model.state.options.abstract_ && !swaps.is_swapped(&model) {
                    models.by_class.insert((module.id, class.start().to_u32()), models.models.len());
                    models.models.push(*model);
                }
            }
        }
    }
    if let Some(state) = migrated {
        let library = library_bases(&models.models, environment);
        judge_external_bases(&mut models.models, state, &Library { classes: library, environment: &environment.name });
    }
    models
}

/// Which models are swapped out: a `swappable` model whose setting names
/// another model in the project's settings (`AUTH_USER_MODEL =
/// "accounts.Member"`) has no table, and its manager raises before any
/// statement. A setting not found, or given different values by different
/// settings modules, keeps the model.
struct Swaps<'p, 'a> {
    settings: Vec<ModuleId>,
    eval: Evaluator<'p, 'a>,
}

impl<'p, 'a> Swaps<'p, 'a> {
    fn new(index: &'p ProjectIndex<'a>) -> Self {
        let settings = index.modules.iter().filter(|m| is_settings_module(&m.file.path)).map(|m| m.id).collect();
        Swaps { settings, eval: Evaluator::new(index) }
    }

    fn is_swapped(&mut self, model: &Model) -> bool {
        let Some(setting) = &model.state.options.swappable else { return false };
        let mut values = Vec::new();
        for &id in &self.settings {
            if let Some(Value::Const(c)) = self.eval.global(id, setting) {
                if let dbveto_writes::Literal::Str(s) = c.literal() {
                    values.push(s.to_lowercase());
                }
            }
        }
        let label = format!("{}.{}", model.state.app_label, model.state.name).to_lowercase();
        values.first().is_some_and(|first| values.iter().all(|v| v == first) && *first != label)
    }
}

/// `settings.py`, `settings/base.py`, `config/settings/production.py`.
fn is_settings_module(path: &str) -> bool {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    let dir = parts.next().unwrap_or_default();
    (file.starts_with("settings") && file.ends_with(".py")) || dir == "settings"
}

/// The external bases of the models, read from the project's environment
/// where it has them.
fn library_bases(models: &[Model], environment: &Environment) -> FxHashMap<String, LibraryClass> {
    let mut bases: Vec<String> = models.iter().flat_map(|m| m.external.iter()).filter(|b| *b != UNRESOLVED).cloned().collect();
    bases.sort();
    bases.dedup();
    // Django's `Model` adds no field of its own (the automatic `id` is the
    // concrete model's).
    environment.classes(&bases, &|dotted| matches!(dotted, "django.db.models.Model" | "django.db.models.base.Model"))
}

/// External bases as the project's environment declares them.
struct Library<'e> {
    classes: FxHashMap<String, LibraryClass>,
    environment: &'e str,
}

fn auto_pk(location: Location) -> Field {
    let class = FieldClass::new("BigAutoField", "BigAutoField");
    let mut field = Field::new(class, location);
    field.primary_key = true;
    field.blank = true;
    field
}

impl<'a> Reader<'_, '_, 'a> {
    fn class(&mut self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32) -> Kind {
        let key = (module, class.start().to_u32());
        if let Some(kind) = self.memo.get(&key) {
            return kind.clone();
        }
        // Stops cycles (`class A(B)`, `class B(A)`) too.
        self.memo.insert(key, Kind::NotAModel);
        let kind = if depth > MAX_BASES { Kind::NotAModel } else { self.read_class(module, class, depth) };
        self.memo.insert(key, kind.clone());
        kind
    }

    fn read_class(&mut self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32) -> Kind {
        let Some(file) = self.index.module(module).map(|m| m.file) else { return Kind::NotAModel };
        let location = file.location(class.start().to_usize());
        let mut is_model = false;
        let mut inherited: Vec<(String, Field)> = Vec::new();
        let mut inherited_options: Option<Options> = None;
        let mut concrete_parent: Option<Model> = None;
        let mut incomplete = false;
        let mut set_on_save: Vec<String> = Vec::new();
        let mut inherited_parent: Option<Box<Model>> = None;
        let mut external: Vec<String> = Vec::new();
        let mut declared: Vec<String> = Vec::new();
        let mut generic_keys: Vec<GenericKey> = Vec::new();
        for base in class.bases() {
            let parent = match self.eval.eval(module, &[], base) {
                Some(Value::Module(m)) if m.path.dotted.ends_with(".Model") && m.path.dotted.starts_with("django.") => {
                    is_model = true;
                    continue;
                }
                Some(Value::Class { module: base_module, class: base_class }) => self.class(base_module, base_class, depth + 1),
                // A class from outside the repository (or one that cannot be
                // resolved) may be an abstract model with fields of its own.
                Some(Value::Module(m)) => {
                    incomplete = true;
                    external.push(m.path.dotted.clone());
                    continue;
                }
                // A base that cannot be resolved (`Base = make_base()`) has no
                // identity: nothing can be said of what it declares.
                _ => {
                    incomplete = true;
                    external.push(UNRESOLVED.to_string());
                    continue;
                }
            };
            let (parent, candidate) = match parent {
                Kind::Model(parent) => (parent, false),
                Kind::Candidate(parent) => (parent, true),
                Kind::NotAModel => continue,
            };
            is_model |= !candidate;
            incomplete |= parent.incomplete;
            set_on_save.extend(parent.set_on_save.iter().cloned());
            external.extend(parent.external.iter().filter(|e| !external.contains(e)).cloned().collect::<Vec<_>>());
            declared.extend(parent.declared.iter().cloned());
            if candidate || parent.state.options.abstract_ {
                generic_keys.extend(parent.generic_keys.iter().cloned());
                // An abstract model may itself extend a concrete one.
                if inherited_parent.is_none() {
                    inherited_parent = parent.parent.clone();
                }
                for (n, f) in parent.state.fields {
                    if !inherited.iter().any(|(m, _)| *m == n) {
                        inherited.push((n, f));
                    }
                }
                if inherited_options.is_none() && !candidate {
                    inherited_options = Some(parent.state.options.clone());
                }
            } else if concrete_parent.is_none() {
                concrete_parent = Some(*parent);
            }
        }
        // A class on bases from outside the repository may be a model: read
        // it, and decide once its `Meta` is known.
        let candidate = !is_model && !external.is_empty();
        if !is_model && !candidate {
            return Kind::NotAModel;
        }
        let app_label = self.apps.app_of(&file.path).map(|a| a.label.clone()).unwrap_or_default();
        let mut resolver = Resolver { eval: &mut self.eval, module, apps: self.apps, scopes: &[] };
        let mut own: Vec<(String, Field)> = Vec::new();
        let mut meta: Option<Options> = None;
        for stmt in &class.body {
            if let Stmt::ClassDef(c) = stmt {
                if c.name.as_str() == "Meta" {
                    // `class Meta(Base.Meta)` starts from the base's options.
                    let mut options = match (c.bases().is_empty(), &inherited_options) {
                        (false, Some(parent)) => Options { abstract_: false, ..parent.clone() },
                        _ => Options::default(),
                    };
                    for (key, value) in c.body.iter().filter_map(assignment) {
                        option(&mut options, key, value, &mut resolver);
                    }
                    meta = Some(options);
                }
                continue;
            }
            if let Stmt::FunctionDef(f) = stmt {
                if f.name.as_str() == "save" {
                    set_on_save.extend(self_assignments(class, f));
                }
                continue;
            }
            // `a = b = Field()`: one field object, a field under each name.
            let Some((targets, value)) = assigned_names(stmt) else { continue };
            for target in targets {
                declared.push(target.to_string());
                let Expr::Call(call) = value else { continue };
                match Field::from_call(call, &mut resolver) {
                    Some(field) if field.class.base == "GenericForeignKey" => generic_keys.push(GenericKey::of(target, call)),
                    // A reverse generic relation has no column.
                    Some(field) if field.class.base == "GenericRelation" => {}
                    Some(field) if is_known_class(&field.class.base) => {
                        if field.class.base == "ImageField" {
                            set_on_save.extend(["width_field", "height_field"].iter().filter_map(|k| keyword_str(call, k)));
                        }
                        own.retain(|(n, _)| n != target);
                        own.push((target.to_string(), field));
                    }
                    Some(field) => incomplete |= may_be_field(&field.class.written),
                    None => {}
                }
            }
        }
        // A child without `Meta` inherits its abstract parent's.
        let mut options = match (meta, inherited_options) {
            (Some(m), _) => m,
            (None, Some(mut parent)) => {
                parent.abstract_ = false;
                parent
            }
            (None, None) => Options::default(),
        };
        let mut fields = inherited;
        for (n, f) in own {
            fields.retain(|(m, _)| *m != n);
            fields.push((n, f));
        }
        let mut table_of_rows = None;
        let mut parent_row = inherited_parent;
        if let Some(parent) = concrete_parent {
            if options.proxy {
                // A proxy writes the rows of its concrete model.
                table_of_rows = Some(parent.table.clone());
                fields = parent.state.fields.clone();
                incomplete |= parent.incomplete;
                parent_row = parent.parent.clone();
            } else if !fields.iter().any(|(_, f)| f.primary_key) {
                let ptr = format!("{}_ptr", parent.state.name.to_lowercase());
                let mut field = auto_pk(location.clone());
                field.class = FieldClass::new("OneToOneField", "OneToOneField");
                field.unique = true;
                // Django sets the parent link from the parent's INSERT.
                field.uncertain = true;
                field.relation = Some(Relation {
                    kind: RelationKind::OneToOne,
                    to: Some(format!("{}.{}", parent.state.app_label, parent.state.name)),
                    to_field: None,
                    db_constraint: true,
                    through: false,
                    db_table: None,
                });
                fields.insert(0, (ptr, field));
            }
            if !options.proxy {
                parent_row = Some(Box::new(parent));
            }
        } else if !options.abstract_ && !fields.iter().any(|(_, f)| f.primary_key) {
            fields.insert(0, ("id".to_string(), auto_pk(location.clone())));
        }
        if options.proxy && table_of_rows.is_none() {
            options.uncertain = true;
        }
        // A class on external bases is a model when the app's migrations
        // create a model of its name (in a models module), or an abstract
        // one when its `Meta` says so.
        let migrated = || {
            let in_models_module = file.path.ends_with("models.py") || file.path.contains("/models/");
            in_models_module && self.migrated.is_some_and(|s| s.get(&ModelKey::new(&app_label, class.name.as_str())).is_some())
        };
        let candidate = candidate && !options.abstract_ && !migrated();
        // A concrete model's index and constraint names are formatted with
        // its own app label and class (`Options._format_names`).
        if !options.abstract_ {
            format_names(&mut options, &app_label, class.name.as_str());
        }
        let state = ModelState { app_label, name: class.name.to_string(), fields, options, location };
        let table = table_of_rows.unwrap_or_else(|| state.db_table());
        let model = Box::new(Model {
            state,
            table,
            incomplete,
            set_on_save,
            parent: parent_row,
            external,
            declared,
            generic_keys,
            known_omitted: Vec::new(),
        });
        if candidate {
            Kind::Candidate(model)
        } else {
            Kind::Model(model)
        }
    }
}

/// A class from outside the repository assigned in a model body may be a
/// field (`ParentalKey`, `TaggableManager`) unless it is clearly a manager.
fn may_be_field(class_name: &str) -> bool {
    !["Manager", "QuerySet", "Descriptor"].iter().any(|suffix| class_name.ends_with(suffix))
}

/// `name="value"` among a call's keywords.
fn keyword_str(call: &ast::ExprCall, name: &str) -> Option<String> {
    match crate::field::keyword(call, name) {
        Some(Expr::StringLiteral(s)) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

/// The attributes `save()` assigns on `self` (`self.created_at = now()`),
/// directly or in the methods of the class it calls on `self`.
fn self_assignments(class: &ast::StmtClassDef, save: &ast::StmtFunctionDef) -> Vec<String> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Collect<'c> {
        assigned: Vec<String>,
        called: Vec<&'c str>,
    }
    impl<'c> Visitor<'c> for Collect<'c> {
        fn visit_expr(&mut self, expr: &'c Expr) {
            if let Expr::Call(call) = expr {
                if let Expr::Attribute(a) = call.func.as_ref() {
                    if is_self(&a.value) {
                        self.called.push(a.attr.as_str());
                    }
                }
            }
            visitor::walk_expr(self, expr);
        }
        fn visit_stmt(&mut self, stmt: &'c Stmt) {
            let targets: Vec<&Expr> = match stmt {
                Stmt::Assign(a) => a.targets.iter().collect(),
                Stmt::AugAssign(a) => vec![a.target.as_ref()],
                Stmt::AnnAssign(a) => vec![a.target.as_ref()],
                _ => Vec::new(),
            };
            for target in targets {
                if let Expr::Attribute(a) = target {
                    if is_self(&a.value) {
                        self.assigned.push(a.attr.to_string());
                    }
                }
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    fn is_self(expr: &Expr) -> bool {
        matches!(expr, Expr::Name(n) if n.id.as_str() == "self")
    }
    let mut collect = Collect { assigned: Vec::new(), called: Vec::new() };
    let mut seen: Vec<&str> = vec!["save"];
    collect.visit_body(&save.body);
    while let Some(name) = collect.called.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name);
        let method = class.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
            _ => None,
        });
        if let Some(method) = method {
            collect.visit_body(&method.body);
        }
    }
    collect.assigned
}

impl GenericKey {
    /// `GenericForeignKey(ct_field="content_type", fk_field="object_id")`,
    /// by position or keyword, with Django's defaults.
    fn of(name: &str, call: &ast::ExprCall) -> GenericKey {
        let arg = |position: usize, keyword: &str, default: &str| {
            let value = call.arguments.args.get(position).or_else(|| crate::field::keyword(call, keyword));
            match value {
                Some(Expr::StringLiteral(s)) => s.value.to_str().to_string(),
                _ => default.to_string(),
            }
        };
        GenericKey { name: name.to_string(), ct_field: arg(0, "ct_field", "content_type"), fk_field: arg(1, "fk_field", "object_id") }
    }
}

/// The fields this repository's migrations gave a model that neither its
/// class nor its bases in the repository declare.
fn undeclared<'s>(model: &Model, state: &'s ProjectState) -> Vec<(&'s str, String)> {
    let Some(migrated) = state.get(&ModelKey::new(&model.state.app_label, &model.state.name)) else { return Vec::new() };
    let declared = |name: &str| model.declared.iter().any(|d| d == name) || model.state.fields.iter().any(|(n, _)| n == name);
    migrated
        .fields
        .iter()
        .filter(|(name, _)| !declared(name))
        .filter_map(|(name, field)| Some((name.as_str(), field.column(name)?)))
        .collect()
}

/// Judges, column by column, the columns of models with a base class
/// outside the repository: a column the repository's migrations added that
/// the class and its bases in the repository do not declare is never sent,
/// unless an external base declares it. Each base is asked in turn: its
/// fields as the project's environment has its source, else as dbveto
/// ships them ([`known_base`]), else its other subclasses here (a column every one of their tables has may be the base's; one
/// the others lack is not). A base that neither can answer for
/// leaves the column unknown.
fn judge_external_bases(models: &mut [Model], state: &ProjectState, library: &Library<'_>) {
    let missing: Vec<Vec<(&str, String)>> = models.iter().map(|m| if m.external.is_empty() { Vec::new() } else { undeclared(m, state) }).collect();
    let migrated = |m: &Model| state.get(&ModelKey::new(&m.state.app_label, &m.state.name)).is_some();
    let has_field = |m: &Model, name: &str| {
        state.get(&ModelKey::new(&m.state.app_label, &m.state.name)).is_some_and(|s| s.fields.iter().any(|(n, _)| n == name))
    };
    let mut judged: Vec<Vec<KnownOmission>> = vec![Vec::new(); models.len()];
    for (i, model) in models.iter().enumerate() {
        'column: for (name, column) in &missing[i] {
            let mut evidence = Vec::new();
            for base in &model.external {
                if base == UNRESOLVED {
                    continue 'column;
                }
                let class = class_name(base);
                if let Some(read) = library.classes.get(base) {
                    if *name == "id" || read.attributes.iter().any(|a| a == name) {
                        continue 'column;
                    }
                    evidence.push(format!("nor does its base `{class}`, read from `{}` in the project's environment `{}`", read.file, library.environment));
                    continue;
                }
                if let Some(known) = known_base(base) {
                    if known.fields.contains(name) {
                        continue 'column;
                    }
                }
                let siblings: Vec<usize> =
                    (0..models.len()).filter(|&j| j != i && migrated(&models[j]) && models[j].external.contains(base)).collect();
                // A base's field is in the table of every model on it.
                if !siblings.is_empty() && siblings.iter().all(|&j| has_field(&models[j], name)) {
                    continue 'column;
                }
                match known_base(base) {
                    Some(known) => evidence.push(format!("nor does its base `{class}`, whose fields dbveto knows from {}", known.release)),
                    None if !siblings.is_empty() => {
                        let lacking = siblings.iter().filter(|&&j| !has_field(&models[j], name)).count();
                        let others = siblings.len();
                        let s = if others == 1 { "" } else { "s" };
                        evidence.push(format!("nor does its base `{class}`: of the {others} other model{s} on it here, {lacking} {} no such column", if lacking == 1 { "has" } else { "have" }));
                    }
                    // Nothing tells what this base declares.
                    None => continue 'column,
                }
            }
            if !evidence.is_empty() {
                judged[i].push(KnownOmission { column: column.clone(), evidence: evidence.join("; ") });
            }
        }
    }
    for (model, known) in models.iter_mut().zip(judged) {
        model.known_omitted = known;
    }
}

/// `%(app_label)s` and `%(class)s` in the names of `Meta.indexes` and
/// `Meta.constraints` (written on an abstract base), filled in for the
/// concrete model, lowercased, as Django does.
fn format_names(options: &mut Options, app_label: &str, class: &str) {
    let format = |name: &mut String| {
        if name.contains("%(") {
            *name = name.replace("%(app_label)s", &app_label.to_lowercase()).replace("%(class)s", &class.to_lowercase());
        }
    };
    for index in &mut options.indexes {
        if let Some(name) = index.name.as_mut() {
            format(name);
        }
    }
    for constraint in &mut options.constraints {
        if let Some(name) = constraint.name.as_mut() {
            format(name);
        }
    }
}
