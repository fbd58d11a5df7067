//! What a name or an expression stands for, as far as calls go: a
//! function or method of the repository, a class, an instance of a class,
//! a model's queryset, a module, or something of a library outside the
//! repository, named by its dotted path (`celery.Celery().task`; `()`
//! marks a call). Anything else is unknown.

use dbveto_django::Models;
use dbveto_python_semantic::{Binding, Import, ModuleId, ProjectIndex, Scope, ScopeKind};
use ruff_python_ast::{self as ast, Expr, Stmt};
use rustc_hash::FxHashMap;

use crate::defs::{Defs, FnId};

const MAX_DEPTH: u32 = 24;

/// Where an object of a model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Read from the database (`get()`, `first()`, a loop over a queryset);
    /// `own` when the query filters by the requesting user
    /// (`.get(owner=request.user)`), a key no other entry point holds.
    Loaded { own: bool },
    /// Made in Python (`Model(...)`, `create()`): its save is an insert.
    New,
    /// A parameter of a function (position, `self` being 0): what the
    /// callers pass decides.
    Param(FnId, usize),
}

#[derive(Debug, Clone)]
pub enum Target<'a> {
    Function(FnId),
    Class(ModuleId, &'a ast::StmtClassDef),
    Instance { module: ModuleId, class: &'a ast::StmtClassDef, locked: bool, origin: Origin },
    /// A model's manager or queryset; `locked` after `select_for_update()`.
    QuerySet { module: ModuleId, class: &'a ast::StmtClassDef, locked: bool },
    Module(ModuleId),
    Library(String),
}

impl<'a> Target<'a> {
    /// The dotted path of a library object, without the call markers.
    pub fn library(&self) -> Option<String> {
        match self {
            Target::Library(path) => Some(path.replace("()", "")),
            _ => None,
        }
    }

    pub fn function(&self) -> Option<FnId> {
        match self {
            Target::Function(id) => Some(*id),
            _ => None,
        }
    }
}

/// Where an expression is written: its module, the scopes around it
/// (innermost last), and what the walker knows of the innermost
/// function's names that bindings cannot say (`self`, annotated
/// parameters, loop variables).
pub struct Context<'c, 'a> {
    pub module: ModuleId,
    pub scopes: &'c [&'c Scope<'a>],
    pub locals: &'c FxHashMap<&'a str, Target<'a>>,
}

pub struct Resolver<'p, 'a> {
    pub index: &'p ProjectIndex<'a>,
    pub defs: &'p Defs<'a>,
    pub models: &'p Models,
    /// The names of the project's module-level classes: the only names
    /// worth resolving to tell which classes are used somewhere.
    pub class_names: rustc_hash::FxHashSet<&'a str>,
}

/// Queryset methods that return a queryset of the same model.
const QUERYSET_METHODS: &[&str] = &[
    "all", "filter", "exclude", "order_by", "select_related", "prefetch_related", "using", "only", "defer",
    "annotate", "distinct", "select_for_update", "none", "reverse",
];

/// Queryset methods that return one object of the model.
const OBJECT_METHODS: &[&str] = &["get", "first", "last", "latest", "earliest", "create"];

impl<'p, 'a> Resolver<'p, 'a> {
    pub fn is_model(&self, module: ModuleId, class: &ast::StmtClassDef) -> bool {
        self.models.of_class(module, class).is_some()
    }

    pub fn expr(&self, cx: &Context<'_, 'a>, expr: &'a Expr) -> Option<Target<'a>> {
        self.expr_at(cx, expr, 0)
    }

    fn expr_at(&self, cx: &Context<'_, 'a>, expr: &'a Expr, depth: u32) -> Option<Target<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match expr {
            Expr::Name(name) => self.name(cx, name.id.as_str(), depth + 1),
            Expr::Attribute(attribute) => {
                let base = self.expr_at(cx, &attribute.value, depth + 1)?;
                self.member(base, attribute.attr.as_str(), depth + 1)
            }
            Expr::Call(call) => {
                if let Some(object) = self.queryset_object(cx, call, OBJECT_METHODS, depth) {
                    return Some(object);
                }
                let func = self.expr_at(cx, &call.func, depth + 1)?;
                self.called(cx, func, call, depth + 1)
            }
            // `Fabric.objects.get_or_create(...)[0]`
            Expr::Subscript(subscript) => match subscript.value.as_ref() {
                Expr::Call(call) if matches!(subscript.slice.as_ref(), Expr::NumberLiteral(n) if matches!(&n.value, ast::Number::Int(i) if i.as_u8() == Some(0))) => {
                    self.queryset_object(cx, call, &["get_or_create", "update_or_create"], depth)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn called(&self, cx: &Context<'_, 'a>, func: Target<'a>, call: &'a ast::ExprCall, depth: u32) -> Option<Target<'a>> {
        match func {
            Target::Class(module, class) => Some(Target::Instance { module, class, locked: false, origin: Origin::New }),
            Target::Library(path) => {
                // `get_object_or_404(Model, ...)` returns an object of the model.
                if path.ends_with("get_object_or_404") {
                    if let Some(Target::Class(module, class)) =
                        call.arguments.args.first().and_then(|a| self.expr_at(cx, a, depth + 1))
                    {
                        return Some(Target::Instance { module, class, locked: false, origin: Origin::Loaded { own: filters_by_request_user(call) } });
                    }
                }
                Some(Target::Library(format!("{path}()")))
            }
            // A queryset method called: `QUERYSET_METHODS` were kept as
            // querysets by `member`, objects come from `OBJECT_METHODS`.
            Target::QuerySet { module, class, locked } => Some(Target::QuerySet { module, class, locked }),
            Target::Instance { .. } => None,
            _ => None,
        }
    }

    /// `base.name`.
    pub fn member(&self, base: Target<'a>, name: &str, depth: u32) -> Option<Target<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match base {
            Target::Module(module) => self.global(module, name, depth + 1),
            Target::Library(path) => Some(Target::Library(format!("{path}.{name}"))),
            Target::Class(module, class) => {
                if let Some(method) = self.method(module, class, name, depth + 1) {
                    return Some(Target::Function(method));
                }
                // `Model.objects`, any manager.
                self.is_model(module, class).then_some(Target::QuerySet { module, class, locked: false })
            }
            Target::Instance { module, class, .. } => match self.method(module, class, name, depth + 1) {
                Some(method) => Some(Target::Function(method)),
                None => self.instance_attribute(module, class, name, depth + 1),
            },
            Target::QuerySet { module, class, locked } => {
                if QUERYSET_METHODS.contains(&name) {
                    let locked = locked || name == "select_for_update";
                    Some(Target::QuerySet { module, class, locked })
                } else {
                    None
                }
            }
            Target::Function(_) => None,
        }
    }

    /// `Model.objects.select_for_update().get(...)`: a (locked) object of
    /// `Model`, when the method is one of `methods`.
    fn queryset_object(&self, cx: &Context<'_, 'a>, call: &'a ast::ExprCall, methods: &[&str], depth: u32) -> Option<Target<'a>> {
        let Expr::Attribute(method) = call.func.as_ref() else { return None };
        if !methods.contains(&method.attr.as_str()) {
            return None;
        }
        match self.expr_at(cx, &method.value, depth + 1)? {
            Target::QuerySet { module, class, locked } => {
                let origin = if method.attr.as_str() == "create" { Origin::New } else { Origin::Loaded { own: filters_by_request_user(call) } };
                Some(Target::Instance { module, class, locked, origin })
            }
            _ => None,
        }
    }

    /// `self.name` as `__init__` sets it from an annotated parameter or a
    /// model query (`self.fabric = fabric` with `fabric: Fabric`).
    fn instance_attribute(&self, module: ModuleId, class: &'a ast::StmtClassDef, name: &str, depth: u32) -> Option<Target<'a>> {
        let init = self.defs.method(module, class, "__init__")?;
        let def = self.defs.functions.get(init)?.def;
        let mut params = def.parameters.posonlyargs.iter().chain(&def.parameters.args).map(|p| &p.parameter).enumerate();
        let this = params.next()?.1.name.as_str();
        let value = def.body.iter().find_map(|stmt| {
            let Stmt::Assign(assign) = stmt else { return None };
            let [Expr::Attribute(target)] = &assign.targets[..] else { return None };
            let is_self = matches!(target.value.as_ref(), Expr::Name(n) if n.id.as_str() == this);
            (is_self && target.attr.as_str() == name).then_some(assign.value.as_ref())
        })?;
        let empty = FxHashMap::default();
        let mut locals = FxHashMap::default();
        let positional = def.parameters.posonlyargs.len() + def.parameters.args.len();
        let keyword_only = def.parameters.kwonlyargs.iter().map(|p| &p.parameter).enumerate().map(|(i, p)| (positional + i, p));
        for (position, param) in params.chain(keyword_only) {
            let Some(annotation) = &param.annotation else { continue };
            if let Some(Target::Class(m, c)) = self.expr_at(&Context { module, scopes: &[], locals: &empty }, annotation, depth + 1) {
                let origin = Origin::Param(init, position);
                locals.insert(param.name.as_str(), Target::Instance { module: m, class: c, locked: false, origin });
            }
        }
        let scope = self.index.module(module)?.function_scope(def);
        self.expr_at(&Context { module, scopes: &[&scope], locals: &locals }, value, depth + 1)
    }

    /// A method of a class or of its bases in the repository.
    pub fn method(&self, module: ModuleId, class: &'a ast::StmtClassDef, name: &str, depth: u32) -> Option<FnId> {
        if depth > MAX_DEPTH {
            return None;
        }
        if let Some(id) = self.defs.method(module, class, name) {
            return Some(id);
        }
        class.bases().iter().find_map(|base| {
            let empty = FxHashMap::default();
            let cx = Context { module, scopes: &[], locals: &empty };
            match self.expr_at(&cx, base, depth + 1)? {
                Target::Class(m, c) => self.method(m, c, name, depth + 1),
                _ => None,
            }
        })
    }

    /// The library classes a class derives from, through its bases in the repository.
    pub fn library_bases(&self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32, out: &mut Vec<String>) {
        if depth > MAX_DEPTH {
            return;
        }
        let empty = FxHashMap::default();
        let cx = Context { module, scopes: &[], locals: &empty };
        for base in class.bases() {
            match self.expr_at(&cx, base, depth + 1) {
                Some(Target::Class(m, c)) if !std::ptr::eq(c, class) => self.library_bases(m, c, depth + 1, out),
                Some(target) => out.extend(target.library()),
                None => {}
            }
        }
    }

    /// A class of the repository and the repository classes it derives
    /// from, as (module, offset of the `class` statement).
    pub fn repository_classes(&self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32, out: &mut Vec<(ModuleId, u32)>) {
        let key = (module, ruff_text_size::Ranged::start(class).to_u32());
        if depth > MAX_DEPTH || out.contains(&key) {
            return;
        }
        out.push(key);
        let empty = FxHashMap::default();
        let cx = Context { module, scopes: &[], locals: &empty };
        for base in class.bases() {
            if let Some(Target::Class(m, c)) = self.expr_at(&cx, base, depth + 1) {
                self.repository_classes(m, c, depth + 1, out);
            }
        }
    }

    fn name(&self, cx: &Context<'_, 'a>, name: &str, depth: u32) -> Option<Target<'a>> {
        let innermost = cx.scopes.len().checked_sub(1);
        for (k, scope) in cx.scopes.iter().enumerate().rev() {
            if scope.kind == ScopeKind::Class && Some(k) != innermost {
                continue;
            }
            let binding = scope.bindings.get(name);
            // The walker's knowledge applies to the innermost scope's names that bindings leave open.
            if Some(k) == innermost && matches!(binding, None | Some(Binding::Opaque)) {
                if let Some(known) = cx.locals.get(name) {
                    return Some(known.clone());
                }
            }
            match binding {
                None => {}
                Some(Binding::Global) => break,
                Some(Binding::Value(value)) => {
                    let empty = FxHashMap::default();
                    let outer = Context { module: cx.module, scopes: &cx.scopes[..=k], locals: if k + 1 == cx.scopes.len() { cx.locals } else { &empty } };
                    return self.expr_at(&outer, value, depth + 1);
                }
                Some(Binding::Class(class)) => return Some(Target::Class(cx.module, class)),
                Some(Binding::Function(def)) => return self.defs.of_def(cx.module, def).map(Target::Function),
                Some(Binding::Import(import)) => return self.import(cx.module, import, depth + 1),
                Some(Binding::Opaque) => return None,
            }
        }
        self.global(cx.module, name, depth + 1)
    }

    /// A module-level name of `module`.
    pub fn global(&self, module: ModuleId, name: &str, depth: u32) -> Option<Target<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        let index = self.index.module(module)?;
        match index.bindings.get(name) {
            Some(Binding::Value(value)) => {
                let empty = FxHashMap::default();
                self.expr_at(&Context { module, scopes: &[], locals: &empty }, value, depth + 1)
            }
            Some(Binding::Class(class)) => Some(Target::Class(module, class)),
            Some(Binding::Function(def)) => self.defs.of_def(module, def).map(Target::Function),
            Some(Binding::Import(import)) => self.import(module, import, depth + 1),
            Some(Binding::Opaque) | Some(Binding::Global) => self.defs.module_function(module, name).map(Target::Function),
            None => index.bindings.star_imports.iter().rev().find_map(|star| {
                let target = self.index.table.lookup(&star.dotted, star.exact, module)?;
                (target != module).then(|| self.global(target, name, depth + 1)).flatten()
            }),
        }
    }

    fn import(&self, importer: ModuleId, import: &Import, depth: u32) -> Option<Target<'a>> {
        let table = self.index.table;
        match import {
            Import::Module(path) => match table.lookup(&path.dotted, path.exact, importer) {
                Some(target) if target != importer => Some(Target::Module(target)),
                _ => Some(Target::Library(path.dotted.clone())),
            },
            Import::From { module, name } => {
                if let Some(target) = table.lookup(&module.dotted, module.exact, importer).filter(|t| *t != importer) {
                    if let Some(found) = self.global(target, name, depth + 1) {
                        return Some(found);
                    }
                }
                let child = module.child(name);
                match table.lookup(&child.dotted, child.exact, importer) {
                    Some(target) if target != importer => Some(Target::Module(target)),
                    // A library, or a repository module that shadows one
                    // (`proj/celery.py` importing `celery`).
                    _ => Some(Target::Library(child.dotted)),
                }
            }
        }
    }

    /// The function a task name (`app.tasks.sync_fabric`) names, looked up
    /// from `importer`'s place in the tree.
    pub fn dotted_function(&self, dotted: &str, importer: ModuleId) -> Option<FnId> {
        self.dotted(dotted, importer)?.function()
    }

    /// What a dotted name (`app.tasks.SyncTask`) names, looked up from `importer`'s place.
    pub fn dotted(&self, dotted: &str, importer: ModuleId) -> Option<Target<'a>> {
        let (module, name) = dotted.rsplit_once('.')?;
        let target = self.index.table.lookup(module, false, importer)?;
        self.global(target, name, 0)
    }
}

/// Whether a query, or one it is chained on (`filter(...).get(...)`),
/// filters by the requesting user: a keyword whose value is
/// `request.user` or `self.request.user`, or an attribute of it.
pub fn filters_by_request_user(call: &ast::ExprCall) -> bool {
    let mut call = Some(call);
    let mut bound = 0;
    while let Some(c) = call.filter(|_| bound < 32) {
        bound += 1;
        if c.arguments.keywords.iter().any(|k| is_request_user(&k.value)) {
            return true;
        }
        call = match c.func.as_ref() {
            Expr::Attribute(method) => match method.value.as_ref() {
                Expr::Call(inner) => Some(inner),
                _ => None,
            },
            _ => None,
        };
    }
    false
}

/// `request.user`, `self.request.user`, and their attributes (`.pk`).
fn is_request_user(expr: &Expr) -> bool {
    let mut names = Vec::new();
    let mut at = expr;
    while let Expr::Attribute(a) = at {
        names.push(a.attr.as_str());
        at = &a.value;
        if names.len() > 8 {
            return false;
        }
    }
    let Expr::Name(root) = at else { return false };
    names.push(root.id.as_str());
    names.reverse();
    matches!(names.as_slice(), ["request", "user", ..] | ["self", "request", "user", ..])
}
