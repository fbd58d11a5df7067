//! What the ORM sends: `create()`, `get_or_create()`, `update_or_create()`,
//! `bulk_create()`, `Model(...).save()` and `QuerySet.update()` turned into
//! the INSERT and UPDATE statements Django runs (`Model._save_table`,
//! `QuerySet._extract_model_params`).

use dbveto_python_semantic::{bind_arguments, method_in_mro, method_kind, Binding, Evaluator, MethodKind, ModuleId, ModuleIndex, ProjectIndex, Scope, ScopeKind, Source, Value};
use dbveto_source::Location;
use dbveto_writes::{Arg, Literal, TableRef, Write, WriteKind};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::FxHashSet;

use crate::apps::migration_app_dir;
use crate::callers::{self, CallSites, Callers, ParamKey, Passed};
use crate::field::OrmDefault;
use crate::models::{Model, Models};
use crate::read::{callee_name, class_attribute};

const MAX_DEPTH: u32 = 200;

/// How many times the project is walked to type parameters by their
/// callers: a parameter passed on to another function is typed one walk
/// later than its own.
const MAX_ROUNDS: u32 = 4;

pub fn writes(index: &ProjectIndex<'_>, models: &Models) -> Vec<Write> {
    if models.models.is_empty() {
        return Vec::new();
    }
    let names = CallNames { callable: callers::callable_names(index), shared_methods: callers::shared_method_names(index) };
    let modules: Vec<&ModuleIndex<'_>> = index.modules.iter().filter(|m| migration_app_dir(&m.file.path).is_none()).collect();
    let mut table = Callers::default();
    // What each module gives, in the order of `modules`.
    let mut walked = walk(index, models, &table, &names, &modules);
    // Read only once some call passes a loaded object: most projects need no second walk.
    let mut used_as_values = None;
    for _ in 1..MAX_ROUNDS {
        if table.is_empty() && walked.iter().all(|(_, sites)| sites.passed.iter().all(|p| p.model.is_none())) {
            break;
        }
        // A module too deep to read whole may call anything: no parameter is typed.
        let Some(used_as_values) = used_as_values.get_or_insert_with(|| callers::used_as_values(index)) else { break };
        let next = Callers::new(walked.iter().map(|(_, sites)| sites), used_as_values);
        // A module's writes and call sites depend on the types of its own
        // functions' parameters only: the others stay as they were.
        let changed = next.modules_changed_from(&table);
        if changed.is_empty() {
            break;
        }
        table = next;
        let again: Vec<&ModuleIndex<'_>> = modules.iter().copied().filter(|m| changed.contains(&m.id)).collect();
        let mut redone = walk(index, models, &table, &names, &again).into_iter();
        for (module, slot) in modules.iter().zip(walked.iter_mut()) {
            if changed.contains(&module.id) {
                if let Some(result) = redone.next() {
                    *slot = result;
                }
            }
        }
    }
    walked.into_iter().flat_map(|(writes, _)| writes).collect()
}

/// One walk over `modules` with parameters typed by `callers`: for each
/// module in order, its writes and what its call sites pass.
fn walk<'p>(
    index: &'p ProjectIndex<'_>,
    models: &'p Models,
    callers: &Callers<'p>,
    names: &CallNames<'_>,
    modules: &[&'p ModuleIndex<'_>],
) -> Vec<(Vec<Write>, CallSites<'p>)> {
    use rayon::prelude::*;
    modules
        .par_iter()
        .map(|module| {
            let mut walker = Walker {
                ev: Evaluator::new(index),
                module,
                models,
                callers,
                names,
                scopes: Vec::new(),
                bodies: vec![module.body],
                containers: Vec::new(),
                depth: 0,
                out: Vec::new(),
                sites: CallSites::default(),
            };
            walker.body(module.body);
            (walker.out, walker.sites)
        })
        .collect()
}

/// What the project's definitions tell of its calls.
struct CallNames<'a> {
    /// The names a function of the repository may be called by.
    callable: FxHashSet<&'a str>,
    /// Method names more than one class defines.
    shared_methods: FxHashSet<String>,
}

/// A class or function being walked.
#[derive(Clone, Copy)]
enum Container<'a> {
    Class(&'a ast::StmtClassDef),
    Function(&'a ast::StmtFunctionDef),
}

struct Walker<'t, 'p, 'a> {
    ev: Evaluator<'p, 'a>,
    module: &'p ModuleIndex<'a>,
    models: &'p Models,
    /// Parameters typed by their callers (the previous walk's call sites).
    callers: &'t Callers<'p>,
    names: &'t CallNames<'t>,
    scopes: Vec<Scope<'a>>,
    /// The bodies of the module and the functions being walked, innermost
    /// last: where attribute assignments before a `save()` are looked for.
    bodies: Vec<&'a [Stmt]>,
    /// The classes and functions being walked, innermost last; one for
    /// each scope that is not hidden.
    containers: Vec<Container<'a>>,
    depth: u32,
    out: Vec<Write>,
    sites: CallSites<'p>,
}

/// Values given for fields, by field (or attname) name; `rest` is set when
/// `**kwargs` may give any other field.
#[derive(Default)]
struct Given {
    values: Vec<(String, Arg)>,
    rest: bool,
}

impl<'p, 'a> Walker<'_, 'p, 'a> {
    fn body(&mut self, body: &'a [Stmt]) {
        for stmt in body {
            self.visit_stmt(stmt);
        }
    }

    fn id(&self) -> ModuleId {
        self.module.id
    }

    fn location(&self, node: &impl Ranged) -> Location {
        self.module.file.location(node.start().to_usize())
    }

    /// The model a class expression names.
    fn model_of(&mut self, expr: &'a Expr) -> Option<&'p Model> {
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        match self.ev.eval(self.id(), &chain, expr)? {
            Value::Class { module, class } => self.models.of_class(module, class),
            _ => None,
        }
    }

    /// `Model.<manager>` possibly followed by queryset methods
    /// (`.filter(...)`, `.using(...)`): the model.
    fn manager_model(&mut self, receiver: &'a Expr) -> Option<&'p Model> {
        let mut current = receiver;
        let mut hops = 0;
        loop {
            hops += 1;
            if hops > 32 {
                return None;
            }
            match current {
                Expr::Call(call) => match call.func.as_ref() {
                    Expr::Attribute(a) => current = &a.value,
                    _ => return None,
                },
                Expr::Attribute(a) => {
                    if let Some(model) = self.model_of(&a.value) {
                        return Some(model);
                    }
                    current = &a.value;
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self, expr: &'a Expr, position: &str) -> Arg {
        if let Some(arg) = self.choices_member(expr, position) {
            return arg;
        }
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        self.ev.arg(self.id(), &chain, expr, position)
    }

    /// `Status.ACTIVE` or `Status.ACTIVE.value` of a `TextChoices` or
    /// `IntegerChoices` class: the value before the label.
    fn choices_member(&mut self, expr: &'a Expr, position: &str) -> Option<Arg> {
        let expr = match expr {
            Expr::Attribute(a) if a.attr.as_str() == "value" && matches!(a.value.as_ref(), Expr::Attribute(_)) => &a.value,
            other => other,
        };
        let Expr::Attribute(member) = expr else { return None };
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        let Some(Value::Class { module, class }) = self.ev.eval(self.id(), &chain, &member.value) else { return None };
        let is_choices = class.bases().iter().any(|b| match b {
            Expr::Name(n) => n.id.as_str().ends_with("Choices"),
            Expr::Attribute(a) => a.attr.as_str().ends_with("Choices"),
            _ => false,
        });
        if !is_choices {
            return None;
        }
        let assigned = class_attribute(class, member.attr.as_str())?;
        let value = match assigned {
            Expr::Tuple(t) => t.elts.first()?,
            other => other,
        };
        let mut arg = self.ev.arg(module, &[], value, position);
        let via = format!("{}.{}", class.name, member.attr);
        for known in arg.known.iter_mut() {
            known.via = Some(via.clone());
        }
        if arg.known.is_empty() {
            arg = Arg::unknown();
        }
        Some(arg)
    }

    fn keywords(&mut self, call: &'a ast::ExprCall, skip: &[&str]) -> Given {
        let mut given = Given::default();
        for kw in call.arguments.keywords.iter() {
            match &kw.arg {
                // `**fields` of a dict built here: its entries, as they are at the call.
                None => self.splatted(&kw.value, call, &mut given),
                Some(name) if skip.contains(&name.as_str()) => {}
                // A lookup (`name__iexact=`) is not a value given to a field.
                Some(name) if name.as_str().contains("__") => {}
                Some(name) => {
                    let position = format!("`{name}=`");
                    let arg = self.value(&kw.value, &position);
                    given.values.push((name.to_string(), arg));
                }
            }
        }
        given
    }

    /// The entries of a dict built in the innermost body, as they are when
    /// `call` runs, added to `given`; anything else may give any field.
    fn splatted(&mut self, dict: &'a Expr, call: &'a ast::ExprCall, given: &mut Given) {
        let Expr::Name(name) = dict else {
            given.rest = true;
            return;
        };
        let Some(entries) = self.bodies.last().and_then(|body| dbveto_python_semantic::dict_entries(body, name.id.as_str(), call.start())) else {
            given.rest = true;
            return;
        };
        given.rest |= entries.rest;
        for (key, values) in entries.attributes {
            let position = format!("`{key}` in `{}`", name.id);
            let Some(mut arg) = self.possible_values(&values, &position).or_else(|| (!values.is_empty()).then(Arg::unknown)) else { continue };
            // Absent on some path: the field's default is sent there.
            arg.unknown |= entries.maybe_absent.contains(&key);
            given.values.retain(|(k, _)| k != key);
            given.values.push((key.to_string(), arg));
        }
    }

    /// One `Arg` for the values a member may hold at a point; `None` when
    /// there are none, or one is a change that is not a plain assignment.
    fn possible_values(&mut self, values: &[Option<&'a Expr>], position: &str) -> Option<Arg> {
        let mut arg: Option<Arg> = None;
        for value in values {
            let one = self.value((*value)?, position);
            match arg.as_mut() {
                Some(a) => a.merge(one),
                None => arg = Some(one),
            }
        }
        arg
    }

    /// `defaults={...}`: a dict display adds its entries, a dict built in
    /// the function its entries at the call; anything else may give any
    /// field.
    fn dict(&mut self, expr: Option<&'a Expr>, call: &'a ast::ExprCall, given: &mut Given) {
        let Some(expr) = expr else { return };
        if let Expr::Name(_) = expr {
            return self.splatted(expr, call, given);
        }
        let Expr::Dict(dict) = expr else {
            if !matches!(expr, Expr::NoneLiteral(_)) {
                given.rest = true;
            }
            return;
        };
        for item in dict.items.iter() {
            let key = match &item.key {
                Some(Expr::StringLiteral(s)) => s.value.to_str().to_string(),
                _ => {
                    given.rest = true;
                    continue;
                }
            };
            let position = format!("`{key}` in defaults");
            let arg = self.value(&item.value, &position);
            given.values.retain(|(k, _)| *k != key);
            given.values.push((key, arg));
        }
    }

    /// The INSERTs Django runs for a new object of `model` given `given`:
    /// with multi-table inheritance, the parents' rows first.
    fn inserts(&self, model: &Model, given: &Given, location: Location, statement: String) -> Vec<Write> {
        let mut chain = vec![model];
        while let Some(parent) = chain.last().and_then(|m| m.parent.as_deref()) {
            if chain.len() > 16 {
                break;
            }
            chain.push(parent);
        }
        // `content_object=` of a generic foreign key sets the two fields it
        // stands for, to values not known here.
        let mut given_generic = Given { values: Vec::new(), rest: given.rest };
        for (key, arg) in &given.values {
            match chain.iter().find_map(|m| m.generic_keys.iter().find(|g| g.name == *key)) {
                Some(generic) => {
                    given_generic.values.push((generic.ct_field.clone(), Arg::unknown()));
                    given_generic.values.push((generic.fk_field.clone(), Arg::unknown()));
                }
                None => given_generic.values.push((key.clone(), arg.clone())),
            }
        }
        let given = &given_generic;
        // A keyword that is not a field (a property's setter) may set any field.
        let unknown_keyword = given.values.iter().any(|(key, _)| chain.iter().all(|m| m.state.column_of(key).is_none()));
        chain.iter().rev().map(|m| self.insert(m, given, unknown_keyword, location.clone(), statement.clone())).collect()
    }

    /// The INSERT into `model`'s own table.
    fn insert(&self, model: &Model, given: &Given, unknown_keyword: bool, location: Location, statement: String) -> Write {
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (name, field) in &model.state.fields {
            let Some(column) = field.column(name) else { continue };
            if field.is_generated() {
                continue;
            }
            let value = given.values.iter().find(|(k, _)| k == name || *k == column);
            let arg = match value {
                Some((_, arg)) => arg.clone(),
                // The auto key is left out when no value is set.
                None if field.is_auto() => continue,
                None if given.rest || unknown_keyword || field.uncertain || set_on_save(model, name, field) => Arg::unknown(),
                None => match field.orm_default() {
                    OrmDefault::Value(literal) => {
                        let via = match (&literal, &field.default) {
                            (_, Some(_)) => format!("default of `{}.{name}`", model.state.name),
                            (Literal::Null, None) => format!("`{}.{name}` not given and without a default: Django sends NULL", model.state.name),
                            _ => format!("`{}.{name}` not given: Django sends ''", model.state.name),
                        };
                        Arg::known(literal, None, Some(via))
                    }
                    OrmDefault::Dynamic => Arg::unknown(),
                    OrmDefault::DatabaseDefault => Arg::default_keyword(),
                },
            };
            columns.push(column);
            values.push(arg);
        }
        let mut insert = write(model, WriteKind::Insert, columns, values, location, statement);
        // A keyword naming a column the model was judged not to declare
        // means dbveto misread the model: that column is not judged.
        insert.known_omitted.retain(|o| !given.values.iter().any(|(k, _)| *k == o.column || format!("{k}_id") == o.column));
        insert
    }

    fn update(&self, model: &Model, given: &Given, location: Location, statement: String) -> Option<Write> {
        let mut columns = Vec::new();
        let mut values = Vec::new();
        for (key, arg) in &given.values {
            let Some(column) = model.state.column_of(key) else { continue };
            columns.push(column);
            values.push(arg.clone());
        }
        (!columns.is_empty()).then(|| write(model, WriteKind::Update, columns, values, location, statement))
    }

    /// `Model(...).save()`, `obj = Model(...)` ... `obj.save()` (an INSERT),
    /// and `obj = Model.objects.get(...)` ... `obj.f = v` ... `obj.save()`
    /// (an UPDATE of what was set, or of `update_fields`).
    fn save(&mut self, call: &'a ast::ExprCall, receiver: &'a Expr, location: Location) {
        let (bound, name) = match receiver {
            Expr::Call(c) => (c, None),
            Expr::Name(n) => match self.constructed(n.id.as_str()) {
                Some(c) => (c, Some(n.id.as_str())),
                None => {
                    if let Some(model) = self.loaded_model(n.id.as_str()) {
                        self.save_loaded(call, model, n.id.as_str(), location);
                    }
                    return;
                }
            },
            // `self.host.save()` of an object `__init__` loaded.
            Expr::Attribute(member) => {
                if let Some(model) = self.member_model(member) {
                    let path = format!("self.{}", member.attr);
                    let set = self.attributes_set(&path, call.start());
                    self.save_loaded_with(call, model, &path, set, location);
                }
                return;
            }
            _ => return,
        };
        let set = match name {
            Some(name) => self.attributes_set(name, call.start()),
            None => Given::default(),
        };
        let update_fields = crate::field::keyword(call, "update_fields");
        if let Some(model) = self.model_of(&bound.func) {
            if update_fields.is_some() {
                return;
            }
            let mut given = self.keywords(bound, &[]);
            given.rest |= set.rest || !bound.arguments.args.is_empty();
            for (key, arg) in set.values {
                match given.values.iter_mut().find(|(k, _)| *k == key) {
                    // The constructor's value or the assigned one, by path.
                    Some((_, old)) => old.merge(arg),
                    None => given.values.push((key, arg)),
                }
            }
            let statement = format!("{}(...).save()", model.state.name);
            self.out.extend(self.inserts(model, &given, location, statement));
            return;
        }
        // An object loaded from the database: `save()` updates its row.
        let Some(model) = self.loaded_by(bound) else { return };
        self.save_loaded_with(call, model, name.unwrap_or("obj"), set, location);
    }

    /// `obj.save()` of an object loaded from the database: an UPDATE of
    /// what was set on it before (or of `update_fields`).
    fn save_loaded(&mut self, call: &'a ast::ExprCall, model: &'p Model, name: &'a str, location: Location) {
        let set = self.attributes_set(name, call.start());
        self.save_loaded_with(call, model, name, set, location);
    }

    fn save_loaded_with(&mut self, call: &'a ast::ExprCall, model: &'p Model, name: &str, set: Given, location: Location) {
        let update_fields = crate::field::keyword(call, "update_fields");
        // `obj.pk = None` makes the save an INSERT of a copy, whose other
        // fields dbveto does not know.
        let primary_key = model.state.primary_key().map(|(n, _)| n);
        if set.values.iter().any(|(k, _)| k == "pk" || Some(k.as_str()) == primary_key) {
            return;
        }
        let mut set = set;
        // What the model's own `save()` sets is not what was assigned.
        set.values.retain(|(k, _)| !model.state.fields.iter().any(|(n, f)| (n == k || f.column(n).as_deref() == Some(k.as_str())) && set_on_save(model, n, f)));
        if let Some(fields) = update_fields {
            // Names not all written as strings: what is saved is not known.
            let names: Option<Vec<&str>> = crate::read::elements(fields)
                .and_then(|items| items.iter().map(|e| e.as_string_literal_expr().map(|s| s.value.to_str())).collect());
            let Some(names) = names else { return };
            set.values.retain(|(k, _)| names.iter().any(|n| n == k));
        }
        let statement = format!("{name}.save()");
        if let Some(w) = self.update(model, &set, location, statement) {
            self.out.push(w);
        }
    }

    /// The values set on an object before it is saved at `before`, as the
    /// paths through the innermost body bring them there (a later
    /// assignment replaces an earlier one; branches join). Any other change
    /// (`setattr`, `name.attr += 1`) makes `rest` true for that object.
    fn attributes_set(&mut self, name: &str, before: ruff_text_size::TextSize) -> Given {
        let mut given = Given::default();
        let Some(values) = self.bodies.last().and_then(|body| dbveto_python_semantic::attribute_values(body, name, before)) else { return given };
        given.rest = values.rest;
        for (attr, assigned) in values.attributes {
            // `name.attr += 1`: the object may hold anything.
            given.rest |= assigned.iter().any(Option::is_none);
            if let Some(mut arg) = self.possible_values(&assigned, &format!("`{name}.{attr} =`")) {
                // Not set on some path: what it held before is sent there.
                arg.unknown |= values.maybe_absent.contains(&attr);
                given.values.push((attr.to_string(), arg));
            }
        }
        given
    }

    /// `order.lines` when `order` is bound to an `Order` (constructed,
    /// created or loaded) and exactly one model has a foreign key to
    /// `Order` whose `related_name` is `lines` (or, without one, whose
    /// model is `Line`: `line_set`): that model, the manager as written,
    /// and the foreign key the manager sets.
    fn related_manager(&mut self, receiver: &'a Expr) -> Option<(&'p Model, String, String)> {
        let Expr::Attribute(manager) = receiver else { return None };
        let Expr::Name(object) = manager.value.as_ref() else { return None };
        let bound = self.constructed(object.id.as_str())?;
        let parent = match self.model_of(&bound.func) {
            Some(model) => model,
            None => {
                let Expr::Attribute(loader) = bound.func.as_ref() else { return None };
                if !LOADERS.contains(&loader.attr.as_str()) && loader.attr.as_str() != "create" {
                    return None;
                }
                self.manager_model(&loader.value)?
            }
        };
        let label = format!("{}.{}", parent.state.app_label, parent.state.name).to_lowercase();
        let mut found = None;
        for model in &self.models.models {
            for (name, field) in &model.state.fields {
                let Some(to) = field.relation.as_ref().filter(|_| field.is_foreign_key()).and_then(|r| r.to.as_deref()) else { continue };
                let to = to.to_lowercase();
                let same_app = model.state.app_label.eq_ignore_ascii_case(&parent.state.app_label);
                let points_at_parent = to == label || (same_app && to == parent.state.name.to_lowercase());
                let accessor = field.related_name.clone().unwrap_or_else(|| format!("{}_set", model.state.name.to_lowercase()));
                if points_at_parent && accessor == manager.attr.as_str() {
                    if found.is_some() {
                        return None;
                    }
                    found = Some((model, format!("{}.{}", object.id, manager.attr), name.clone()));
                }
            }
        }
        found
    }

    /// The model of the objects a name holds when every value it may hold
    /// in the innermost scope that binds it is one loaded from the database
    /// (`get_object_or_404(M, ...)`, `M.objects.get(...)`, an element of
    /// `M.objects.filter(...)`, a parameter annotated `M`), all of one model.
    fn loaded_model(&mut self, name: &str) -> Option<&'p Model> {
        let (scope, sources) = self.scopes.iter().enumerate().rev().map(|(i, s)| (i, s.bindings.sources(name))).find(|(_, s)| !s.is_empty())?;
        let sources: Vec<Source<'a>> = sources.to_vec();
        let mut found: Option<&'p Model> = None;
        for source in sources {
            let model = match source {
                Source::Value(Expr::Call(call)) => self.loaded_by(call)?,
                Source::Value(Expr::Await(awaited)) => match awaited.value.as_ref() {
                    Expr::Call(call) => self.loaded_by(call)?,
                    _ => return None,
                },
                Source::Element(iterable) => self.queryset_model(iterable)?,
                Source::Annotated(annotation) => self.model_of(annotation)?,
                Source::Parameter => match self.signal_sender().filter(|_| name == "instance") {
                    Some(model) => model,
                    None => self.callers.model(&self.parameter(scope, name)?)?,
                },
                _ => return None,
            };
            if found.is_some_and(|f| !std::ptr::eq(f, model)) {
                return None;
            }
            found = Some(model);
        }
        found
    }

    /// The parameter `name` of the function whose scope is `self.scopes[scope]`.
    fn parameter(&self, scope: usize, name: &str) -> Option<ParamKey> {
        let containers = self.scopes.get(..=scope)?.iter().filter(|s| s.kind != ScopeKind::Hidden).count();
        match self.containers.get(containers.checked_sub(1)?)? {
            Container::Function(def) => Some((self.id(), def.start().to_u32(), name.to_string())),
            Container::Class(_) => None,
        }
    }

    /// The innermost function being walked.
    fn function(&self) -> Option<&'a ast::StmtFunctionDef> {
        self.containers.iter().rev().find_map(|c| match c {
            Container::Function(f) => Some(*f),
            Container::Class(_) => None,
        })
    }

    /// The class whose method is being walked, when the innermost function
    /// is one of its methods (what `self` and `cls` are bound to there).
    fn enclosing_class(&self) -> Option<&'a ast::StmtClassDef> {
        match self.containers.as_slice() {
            [.., Container::Class(class), Container::Function(_)] => Some(*class),
            _ => None,
        }
    }

    /// What a call of one of the repository's functions passes to each of
    /// its parameters, for the next walk's [`Callers`].
    fn record_call(&mut self, call: &'a ast::ExprCall) {
        let Some((module, def, bound_first)) = self.callee(call) else { return };
        for (param, arg) in bind_arguments(def, call, bound_first) {
            let model = arg.and_then(|arg| self.object_model(arg));
            let param = (module, def.start().to_u32(), param.to_string());
            self.sites.passed.push(Passed { param, function: def.name.to_string(), model });
        }
    }

    /// The function of the repository a call runs, where dbveto can tell,
    /// and whether its first parameter is bound to the receiver. A method
    /// called on something else is recorded as unresolved.
    fn callee(&mut self, call: &'a ast::ExprCall) -> Option<(ModuleId, &'a ast::StmtFunctionDef, bool)> {
        // Most calls are of libraries: not worth evaluating.
        if !dbveto_python_semantic::last_name(&call.func).is_some_and(|name| self.names.callable.contains(name)) {
            return None;
        }
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        let module = self.id();
        match call.func.as_ref() {
            Expr::Name(_) => match self.ev.eval(module, &chain, &call.func)? {
                Value::Function { module, def } => Some((module, def, false)),
                _ => None,
            },
            Expr::Attribute(method) => {
                let name = method.attr.as_str();
                let found = match method.value.as_ref() {
                    Expr::Name(receiver) if matches!(receiver.id.as_str(), "self" | "cls") => self
                        .enclosing_class()
                        .filter(|_| !self.names.shared_methods.contains(name))
                        .and_then(|class| method_in_mro(&mut self.ev, module, class, name))
                        .map(|(m, def)| (m, def, method_kind(def) != MethodKind::Static)),
                    receiver => match self.ev.eval(module, &chain, receiver) {
                        Some(Value::Class { module: owner, class }) if !self.names.shared_methods.contains(name) => {
                            method_in_mro(&mut self.ev, owner, class, name).map(|(m, def)| (m, def, method_kind(def) == MethodKind::Class))
                        }
                        Some(Value::Module(_)) => match self.ev.eval(module, &chain, &call.func) {
                            Some(Value::Function { module, def }) => Some((module, def, false)),
                            _ => None,
                        },
                        _ => None,
                    },
                };
                if found.is_none() {
                    self.sites.unresolved.insert(name.to_string());
                }
                found
            }
            _ => None,
        }
    }

    /// The model of the object an argument is, when it is one loaded from
    /// the database.
    fn object_model(&mut self, arg: &'a Expr) -> Option<&'p Model> {
        match arg {
            Expr::Name(name) => self.loaded_model(name.id.as_str()),
            Expr::Call(call) => self.loaded_by(call),
            Expr::Await(awaited) => match awaited.value.as_ref() {
                Expr::Call(call) => self.loaded_by(call),
                _ => None,
            },
            _ => None,
        }
    }

    /// `self.host` in a method, when its class's own `__init__` assigns it
    /// an object loaded from the database and no other method of the class
    /// assigns it: that object's model.
    fn member_model(&mut self, member: &'a ast::ExprAttribute) -> Option<&'p Model> {
        if !matches!(member.value.as_ref(), Expr::Name(receiver) if receiver.id.as_str() == "self") {
            return None;
        }
        let class = self.enclosing_class()?;
        let attr = member.attr.as_str();
        let init = class.body.iter().filter_map(Stmt::as_function_def_stmt).find(|f| f.name.as_str() == "__init__")?;
        let mut values = Vec::new();
        for method in class.body.iter().filter_map(Stmt::as_function_def_stmt) {
            let assigned = dbveto_python_semantic::member_assignments(&method.body, "self", attr)?;
            if !std::ptr::eq(method, init) && !assigned.is_empty() {
                return None;
            }
            if std::ptr::eq(method, init) {
                values = assigned;
            }
        }
        if values.is_empty() {
            return None;
        }
        // The values are read where `__init__` runs: its own scope.
        let scopes = std::mem::replace(&mut self.scopes, vec![self.module.class_body_scope(class), self.module.function_scope(init)]);
        let containers = std::mem::replace(&mut self.containers, vec![Container::Class(class), Container::Function(init)]);
        let mut found: Option<&'p Model> = None;
        let mut all = true;
        for value in values {
            match self.object_model(value) {
                Some(model) if found.is_none_or(|f| std::ptr::eq(f, model)) => found = Some(model),
                _ => all = false,
            }
        }
        self.scopes = scopes;
        self.containers = containers;
        found.filter(|_| all)
    }

    /// The `sender=` model of a `@receiver(signal, sender=Model)` on the
    /// innermost function: its `instance` is an object of that model, saved
    /// already (`post_save`) or about to be.
    fn signal_sender(&mut self) -> Option<&'p Model> {
        let function = self.function()?;
        for decorator in &function.decorator_list {
            let Expr::Call(call) = &decorator.expression else { continue };
            let is_receiver = callee_name(&call.func) == Some("receiver");
            if let (true, Some(sender)) = (is_receiver, crate::field::keyword(call, "sender")) {
                return self.model_of(sender);
            }
        }
        None
    }

    /// The model of the object a call loads: a manager's or queryset's
    /// loader, or `get_object_or_404(Model or queryset, ...)`.
    fn loaded_by(&mut self, call: &'a ast::ExprCall) -> Option<&'p Model> {
        match call.func.as_ref() {
            Expr::Attribute(loader) if LOADERS.contains(&loader.attr.as_str()) => self.manager_model(&loader.value),
            func if callee_name(func) == Some("get_object_or_404") => {
                let first = call.arguments.args.first()?;
                self.model_of(first).or_else(|| self.queryset_model(first))
            }
            _ => None,
        }
    }

    /// The model of a queryset of model instances (`M.objects.filter(...)`,
    /// `M.objects.all()`); not of `values()` or `values_list()` rows.
    fn queryset_model(&mut self, expr: &'a Expr) -> Option<&'p Model> {
        let mut current = expr;
        for _ in 0..32 {
            match current {
                Expr::Call(call) => match call.func.as_ref() {
                    Expr::Attribute(a) if ROW_QUERIES.contains(&a.attr.as_str()) => return None,
                    Expr::Attribute(a) => current = &a.value,
                    _ => return None,
                },
                Expr::Attribute(_) => return self.manager_model(current),
                _ => return None,
            }
        }
        None
    }

    /// A variable bound once, in the innermost scope that binds it, to
    /// a call (`Model(...)`, `Model.objects.get(...)`): that call.
    fn constructed(&self, name: &str) -> Option<&'a ast::ExprCall> {
        for scope in self.scopes.iter().rev() {
            match scope.bindings.get(name) {
                Some(Binding::Value(Expr::Call(call))) => return Some(call),
                Some(_) => return None,
                None => {}
            }
        }
        None
    }

    fn call(&mut self, call: &'a ast::ExprCall) {
        self.record_call(call);
        // `obj.save` passed as a callable: `asyncio.to_thread(obj.save,
        // ...)` calls it with the rest of the arguments,
        // `sync_to_async(obj.save)(...)` with those of the outer call;
        // `on_commit(lambda: obj.save())` runs the lambda's body.
        match passed_save_or_lambda(call) {
            Some(PassedCallable::Save(receiver, arguments)) => {
                let location = self.location(call);
                return self.save(arguments, receiver, location);
            }
            Some(PassedCallable::Lambda(body)) => self.visit_expr(body),
            None => {}
        }
        let Expr::Attribute(method) = call.func.as_ref() else { return };
        let location = self.location(call);
        // The async ORM (`acreate`, `aupdate`, `asave`, ...) sends what its
        // sync twin sends.
        let name = ASYNC_TWINS.iter().find(|(a, _)| *a == method.attr.as_str()).map_or(method.attr.as_str(), |(_, sync)| *sync);
        match name {
            "create" | "get_or_create" | "update_or_create" | "bulk_create" | "update" => {
                let creates = matches!(name, "create" | "get_or_create" | "update_or_create");
                let (model, statement, set_by_manager) = match self.manager_model(&method.value) {
                    Some(model) => (model, format!("{}.objects.{name}(...)", model.state.name), None),
                    None if creates => match self.related_manager(&method.value) {
                        Some((model, manager, key)) => (model, format!("{manager}.{name}(...)"), Some(key)),
                        None => return,
                    },
                    None => return,
                };
                // A related manager sets the foreign key to its object.
                let by_manager = |given: &mut Given| {
                    if let Some(key) = &set_by_manager {
                        given.values.push((key.clone(), Arg::unknown()));
                    }
                };
                match name {
                    "create" => {
                        let mut given = self.keywords(call, &[]);
                        by_manager(&mut given);
                        self.out.extend(self.inserts(model, &given, location, statement));
                    }
                    "get_or_create" | "update_or_create" => {
                        let mut given = self.keywords(call, &["defaults", "create_defaults"]);
                        by_manager(&mut given);
                        let defaults = crate::field::keyword(call, "create_defaults").or_else(|| crate::field::keyword(call, "defaults"));
                        self.dict(defaults, call, &mut given);
                        self.out.extend(self.inserts(model, &given, location.clone(), statement.clone()));
                        if name == "update_or_create" {
                            let mut updated = Given::default();
                            self.dict(crate::field::keyword(call, "defaults"), call, &mut updated);
                            if let Some(w) = self.update(model, &updated, location, statement) {
                                self.out.push(w);
                            }
                        }
                    }
                    "bulk_create" => {
                        // `[Model(...), ...]`, or `[Model(...) for x in xs]` whose
                        // loop variables are not known.
                        let (objects, loop_names): (&[Expr], Vec<&str>) = match call.arguments.args.first() {
                            Some(Expr::List(l)) => (&l.elts[..], Vec::new()),
                            Some(Expr::Tuple(t)) => (&t.elts[..], Vec::new()),
                            Some(Expr::ListComp(ast::ExprListComp { elt, generators, .. }))
                            | Some(Expr::Generator(ast::ExprGenerator { elt, generators, .. })) => {
                                let mut names = Vec::new();
                                for generator in generators {
                                    dbveto_python_semantic::target_names(&generator.target, &mut names);
                                }
                                (std::slice::from_ref(elt.as_ref()), names)
                            }
                            _ => (&[], Vec::new()),
                        };
                        self.scopes.push(Scope::hidden(loop_names));
                        for object in objects {
                            if let Expr::Call(ctor) = object {
                                if self.model_of(&ctor.func).is_some_and(|m| std::ptr::eq(m, model)) {
                                    let given = self.keywords(ctor, &[]);
                                    let at = self.location(ctor);
                                    self.out.extend(self.inserts(model, &given, at, statement.clone()));
                                }
                            }
                        }
                        self.scopes.pop();
                    }
                    _ => {
                        let given = self.keywords(call, &[]);
                        if let Some(w) = self.update(model, &given, location, statement) {
                            self.out.push(w);
                        }
                    }
                }
            }
            "save" => self.save(call, &method.value, location),
            _ => {}
        }
    }
}

/// Whether `save()` sets the field, by its name or (a relation) by its
/// attname: `self.organizer_id = ...`.
fn set_on_save(model: &Model, name: &str, field: &crate::Field) -> bool {
    model.set_on_save.iter().any(|s| s == name || (field.is_foreign_key() && *s == format!("{name}_id")))
}

fn write(model: &Model, kind: WriteKind, columns: Vec<String>, values: Vec<Arg>, location: Location, statement: String) -> Write {
    Write {
        kind,
        table: TableRef { schema: None, name: model.table.clone() },
        columns: Some(columns),
        values,
        location,
        call: None,
        statement,
        model: Some(model.state.name.clone()),
        partial: model.incomplete,
        known_omitted: model.known_omitted.clone(),
    }
}

impl<'a> Visitor<'a> for Walker<'_, '_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match stmt {
            Stmt::FunctionDef(function) => {
                let scope = self.module.function_scope(function);
                self.scopes.push(scope);
                self.bodies.push(&function.body);
                self.containers.push(Container::Function(function));
                self.body(&function.body);
                self.containers.pop();
                self.bodies.pop();
                self.scopes.pop();
            }
            Stmt::ClassDef(class) => {
                let scope = self.module.class_body_scope(class);
                self.scopes.push(scope);
                self.containers.push(Container::Class(class));
                self.body(&class.body);
                self.containers.pop();
                self.scopes.pop();
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        if let Expr::Call(call) = expr {
            self.call(call);
        }
        match expr {
            // Their own scopes: names inside are not the function's.
            Expr::Lambda(_) | Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {}
            _ => visitor::walk_expr(self, expr),
        }
        self.depth -= 1;
    }
}

/// `obj.save` or a lambda without parameters passed as a callable
/// (`asyncio.to_thread(obj.save, ...)`, `sync_to_async(obj.save)(...)`,
/// `transaction.on_commit(lambda: obj.save())`).
fn passed_save_or_lambda(call: &ast::ExprCall) -> Option<PassedCallable<'_>> {
    match dbveto_python_semantic::passed_callable(call)? {
        (Expr::Attribute(a), arguments) if a.attr.as_str() == "save" => Some(PassedCallable::Save(&a.value, arguments.unwrap_or(call))),
        (Expr::Lambda(lambda), _) if lambda.parameters.is_none() => Some(PassedCallable::Lambda(&lambda.body)),
        _ => None,
    }
}

enum PassedCallable<'a> {
    /// `obj`, and the call whose keywords are the save's.
    Save(&'a Expr, &'a ast::ExprCall),
    /// The body, run in the caller's scope.
    Lambda(&'a Expr),
}

/// QuerySet methods whose results are not model instances.
const ROW_QUERIES: &[&str] = &["values", "values_list", "dates", "datetimes", "count", "exists", "aggregate", "in_bulk", "raw"];

/// QuerySet methods that return one object loaded from the database.
const LOADERS: &[&str] = &["get", "first", "last", "latest", "earliest", "select_for_update", "aget", "afirst", "alast", "alatest", "aearliest"];

/// Async ORM methods and the sync ones whose statements they send.
const ASYNC_TWINS: &[(&str, &str)] = &[
    ("acreate", "create"),
    ("aget_or_create", "get_or_create"),
    ("aupdate_or_create", "update_or_create"),
    ("abulk_create", "bulk_create"),
    ("aupdate", "update"),
    ("asave", "save"),
];
