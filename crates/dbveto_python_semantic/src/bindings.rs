//! What the names of a scope are bound to, as far as it is known
//! statically. A name bound exactly once, by a plain assignment, a class
//! or an import, can be followed; a name bound more than once or in a way
//! that is not followed (loop target, unpacking, parameter, `del`, walrus)
//! is opaque: its value is unknown.

use std::collections::hash_map::Entry;

use rustc_hash::{FxHashMap, FxHashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};

use crate::modules::ModuleName;

/// Deeper statements and expressions are not read (no unbounded recursion
/// on generated code); a scope that has some is `incomplete`.
pub const MAX_DEPTH: u32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    Class,
    Function,
    /// Lambdas and comprehensions: their names hide outer ones.
    Hidden,
}

/// A scope inside a module and its bindings. Scopes are passed innermost
/// last; the module's own bindings are in its [`crate::ModuleIndex`].
#[derive(Debug)]
pub struct Scope<'a> {
    pub kind: ScopeKind,
    pub bindings: Bindings<'a>,
}

impl<'a> Scope<'a> {
    /// A lambda's or a comprehension's scope: `names` hide outer ones and
    /// their values are unknown.
    pub fn hidden(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names = names.into_iter().map(|n| (n, Binding::Opaque)).collect();
        Scope { kind: ScopeKind::Hidden, bindings: Bindings { names, ..Bindings::default() } }
    }

    /// A comprehension's scope in which `name` holds one known value (an
    /// element of the constant sequence it iterates over).
    pub fn bound(name: &'a str, value: &'a Expr) -> Self {
        let names = std::iter::once((name, Binding::Value(value))).collect();
        Scope { kind: ScopeKind::Hidden, bindings: Bindings { names, ..Bindings::default() } }
    }
}

/// What binds a name, when it is bound exactly once.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding<'a> {
    /// `NAME = value`, `NAME: T = value`.
    Value(&'a Expr),
    Class(&'a ast::StmtClassDef),
    /// `def NAME`, bound once in its scope.
    Function(&'a ast::StmtFunctionDef),
    Import(Import),
    /// `global NAME` in a function: the module's binding applies.
    Global,
    Opaque,
}

/// One of the values a name may hold in its scope, whatever the order of
/// the statements that bind it (a name bound in several branches has
/// several).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source<'a> {
    /// `NAME = value`.
    Value(&'a Expr),
    /// `for NAME in iterable`: an element of it.
    Element(&'a Expr),
    /// A parameter annotated `NAME: T`: an instance of `T`.
    Annotated(&'a Expr),
    /// A parameter without an annotation: what its callers pass.
    Parameter,
    /// Anything else: an import, `except ... as`, a `with ... as`.
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Import {
    /// `import a.b` binds `a` to module `a`; `import a.b as c` binds `c` to `a.b`.
    Module(ModulePath),
    /// `from module import name`.
    From { module: ModulePath, name: String },
}

/// A module as an import statement names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModulePath {
    pub dotted: String,
    /// The full name from the repository root (a resolved relative import).
    pub exact: bool,
}

impl ModulePath {
    pub fn child(&self, name: &str) -> ModulePath {
        ModulePath { dotted: format!("{}.{name}", self.dotted), exact: self.exact }
    }
}

#[derive(Debug, Default)]
pub struct Bindings<'a> {
    names: FxHashMap<&'a str, Binding<'a>>,
    /// Every value each name may hold.
    sources: FxHashMap<&'a str, Vec<Source<'a>>>,
    /// `from module import *`, in order.
    pub star_imports: Vec<ModulePath>,
    /// `X.attr = ...` in this scope: `X.attr` is not what the class says.
    pub assigned_attributes: FxHashSet<(&'a str, &'a str)>,
    /// Names whose value is changed in place (`params["id"] = 1`,
    /// `params.update(...)`): the value they were bound to is not what
    /// they hold later.
    pub mutated: FxHashSet<&'a str>,
    /// Too deeply nested to be read entirely: no name can be trusted.
    pub incomplete: bool,
}

impl<'a> Bindings<'a> {
    pub fn get(&self, name: &str) -> Option<&Binding<'a>> {
        self.names.get(name)
    }

    /// Every value `name` may hold in this scope (empty if it binds no such name).
    pub fn sources(&self, name: &str) -> &[Source<'a>] {
        self.sources.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn values(&self) -> impl Iterator<Item = &Binding<'a>> {
        self.names.values()
    }

    /// Every name this scope binds.
    pub fn names(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.names.keys().copied()
    }

    /// Names changed from elsewhere (`global`, `nonlocal` in a nested function).
    pub fn make_opaque<'n>(&mut self, names: impl IntoIterator<Item = &'n str>) {
        for name in names {
            if let Some(binding) = self.names.get_mut(name) {
                *binding = Binding::Opaque;
            }
        }
    }

    /// The bindings of a module's or a class's body.
    pub fn of_body(body: &'a [Stmt], importer: Option<&ModuleName>) -> Self {
        let mut collector = Collector::new(importer);
        collector.visit_body(body);
        collector.finish()
    }

    /// The bindings of a function: its parameters and its body.
    pub fn of_function(function: &'a ast::StmtFunctionDef, importer: Option<&ModuleName>) -> Self {
        let mut collector = Collector::new(importer);
        for parameter in function.parameters.iter() {
            let source = parameter.annotation().map_or(Source::Parameter, Source::Annotated);
            collector.bind_from(parameter.name().as_str(), Binding::Opaque, source);
        }
        collector.visit_body(&function.body);
        collector.finish()
    }
}

/// The names bound by assignment targets (`a`, `(a, *b)`, `[a, b]`);
/// attributes and subscripts bind no name.
pub fn target_names<'a>(target: &'a Expr, names: &mut Vec<&'a str>) {
    let mut stack = vec![target];
    while let Some(expr) = stack.pop() {
        match expr {
            Expr::Name(name) => names.push(name.id.as_str()),
            Expr::Tuple(t) => stack.extend(&t.elts),
            Expr::List(l) => stack.extend(&l.elts),
            Expr::Starred(s) => stack.push(&s.value),
            _ => {}
        }
    }
}

/// The operands of a chain of binary operations (`a + b - c`), walked in a
/// loop: generated code chains thousands, which must not cost recursion.
pub fn binary_operands(expr: &Expr) -> Vec<&Expr> {
    let mut operands = Vec::new();
    let mut left = expr;
    while let Expr::BinOp(binary) = left {
        operands.push(binary.right.as_ref());
        left = &binary.left;
    }
    operands.push(left);
    operands.reverse();
    operands
}

/// How many values of one name are kept (see [`Source`]).
const MAX_SOURCES: usize = 16;

/// Methods that change a dict or a list in place.
const MUTATORS: &[&str] =
    &["update", "setdefault", "pop", "popitem", "clear", "append", "extend", "insert", "remove", "__setitem__", "__delitem__"];

/// How deep a walk over one tree is, bounded by [`MAX_DEPTH`]: a walk that
/// reaches the bound reads no further and is incomplete.
#[derive(Debug, Default)]
pub struct DepthGuard {
    depth: u32,
    pub reached_bound: bool,
}

impl DepthGuard {
    /// One level deeper, unless the bound is reached.
    pub fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            self.reached_bound = true;
            return false;
        }
        self.depth += 1;
        true
    }

    pub fn leave(&mut self) {
        self.depth -= 1;
    }
}

struct Collector<'a, 'i> {
    importer: Option<&'i ModuleName>,
    /// What each name is bound to so far: opaque once it is bound twice.
    names: FxHashMap<&'a str, Binding<'a>>,
    sources: FxHashMap<&'a str, Vec<Source<'a>>>,
    globals: FxHashSet<&'a str>,
    star_imports: Vec<ModulePath>,
    assigned_attributes: FxHashSet<(&'a str, &'a str)>,
    mutated: FxHashSet<&'a str>,
    incomplete: bool,
    guard: DepthGuard,
    /// Inside a comprehension, only walrus targets bind in this scope.
    in_comprehension: u32,
}

impl<'a, 'i> Collector<'a, 'i> {
    fn new(importer: Option<&'i ModuleName>) -> Self {
        Collector {
            importer,
            names: FxHashMap::default(),
            sources: FxHashMap::default(),
            globals: FxHashSet::default(),
            star_imports: Vec::new(),
            assigned_attributes: FxHashSet::default(),
            mutated: FxHashSet::default(),
            incomplete: false,
            guard: DepthGuard::default(),
            in_comprehension: 0,
        }
    }

    fn bind(&mut self, name: &'a str, binding: Binding<'a>) {
        let source = match binding {
            Binding::Value(value) => Source::Value(value),
            _ => Source::Other,
        };
        self.bind_from(name, binding, source);
    }

    fn bind_from(&mut self, name: &'a str, binding: Binding<'a>, source: Source<'a>) {
        let sources = self.sources.entry(name).or_default();
        // A bound on every value a name may hold: past it, nothing is known.
        if sources.len() < MAX_SOURCES {
            sources.push(source);
        } else {
            sources[MAX_SOURCES - 1] = Source::Other;
        }
        match self.names.entry(name) {
            Entry::Vacant(entry) => {
                entry.insert(binding);
            }
            // `import a.b` then `import a.c` bind `a` to the same package twice.
            Entry::Occupied(entry) if *entry.get() == binding && matches!(binding, Binding::Import(Import::Module(_))) => {}
            Entry::Occupied(mut entry) => *entry.get_mut() = Binding::Opaque,
        }
    }

    fn finish(self) -> Bindings<'a> {
        let mut names = self.names;
        for name in self.globals {
            names.insert(name, Binding::Global);
        }
        Bindings {
            names,
            sources: self.sources,
            star_imports: self.star_imports,
            assigned_attributes: self.assigned_attributes,
            mutated: self.mutated,
            incomplete: self.incomplete || self.guard.reached_bound,
        }
    }

    /// Records `X.attr = ...`.
    fn assigned_attribute(&mut self, target: &'a Expr) {
        if let Expr::Attribute(attribute) = target {
            if let Expr::Name(base) = attribute.value.as_ref() {
                self.assigned_attributes.insert((base.id.as_str(), attribute.attr.as_str()));
            }
        }
    }

    fn import_from(&mut self, import: &'a ast::StmtImportFrom) {
        let module = import.module.as_ref().map(ast::Identifier::as_str);
        let path = if import.level == 0 {
            module.map(|m| ModulePath { dotted: m.to_string(), exact: false })
        } else {
            self.importer
                .and_then(|importer| importer.resolve_relative(import.level, module))
                .map(|dotted| ModulePath { dotted, exact: true })
        };
        for alias in &import.names {
            let name = alias.name.as_str();
            match &path {
                Some(path) if name == "*" => self.star_imports.push(path.clone()),
                // An unresolved star import may bind anything.
                None if name == "*" => self.incomplete = true,
                Some(path) => {
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name).as_str();
                    let from = Import::From { module: path.clone(), name: name.to_string() };
                    self.bind(bound, Binding::Import(from));
                }
                None => self.bind(alias.asname.as_ref().unwrap_or(&alias.name).as_str(), Binding::Opaque),
            }
        }
    }
}

impl<'a> Visitor<'a> for Collector<'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !self.guard.enter() {
            return;
        }
        match stmt {
            // Their bodies are scopes of their own.
            Stmt::FunctionDef(function) => self.bind(function.name.as_str(), Binding::Function(function)),
            Stmt::ClassDef(class) => self.bind(class.name.as_str(), Binding::Class(class)),
            Stmt::Assign(assign) => {
                for target in &assign.targets {
                    match target {
                        Expr::Name(name) => self.bind(name.id.as_str(), Binding::Value(&assign.value)),
                        _ => {
                            self.assigned_attribute(target);
                            self.visit_expr(target);
                        }
                    }
                }
                self.visit_expr(&assign.value);
            }
            Stmt::AnnAssign(assign) => {
                if let Some(value) = &assign.value {
                    match assign.target.as_ref() {
                        Expr::Name(name) => self.bind(name.id.as_str(), Binding::Value(value)),
                        target => {
                            self.assigned_attribute(target);
                            self.visit_expr(target);
                        }
                    }
                    self.visit_expr(value);
                }
            }
            Stmt::AugAssign(assign) => {
                self.assigned_attribute(&assign.target);
                self.visit_expr(&assign.target);
                self.visit_expr(&assign.value);
            }
            Stmt::Import(import) => {
                for alias in &import.names {
                    let dotted = alias.name.as_str();
                    let (bound, module) = match &alias.asname {
                        Some(asname) => (asname.as_str(), dotted),
                        None => {
                            let first = dotted.split('.').next().unwrap_or(dotted);
                            (first, first)
                        }
                    };
                    let path = ModulePath { dotted: module.to_string(), exact: false };
                    self.bind(bound, Binding::Import(Import::Module(path)));
                }
            }
            Stmt::ImportFrom(import) => self.import_from(import),
            Stmt::For(for_) if for_.target.is_name_expr() && self.in_comprehension == 0 => {
                if let Expr::Name(target) = for_.target.as_ref() {
                    self.bind_from(target.id.as_str(), Binding::Opaque, Source::Element(&for_.iter));
                }
                self.visit_expr(&for_.iter);
                self.visit_body(&for_.body);
                self.visit_body(&for_.orelse);
            }
            Stmt::Global(global) => self.globals.extend(global.names.iter().map(ast::Identifier::as_str)),
            Stmt::Nonlocal(nonlocal) => {
                for name in &nonlocal.names {
                    self.bind(name.as_str(), Binding::Opaque);
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.guard.leave();
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.guard.enter() {
            return;
        }
        match expr {
            Expr::Name(name) => {
                if matches!(name.ctx, ExprContext::Store | ExprContext::Del) && self.in_comprehension == 0 {
                    self.bind(name.id.as_str(), Binding::Opaque);
                }
            }
            Expr::Named(named) => {
                // A walrus binds in the enclosing function, even from a comprehension.
                let mut names = Vec::new();
                target_names(&named.target, &mut names);
                for name in names {
                    self.bind(name, Binding::Opaque);
                }
                self.visit_expr(&named.value);
            }
            Expr::BinOp(_) => {
                for operand in binary_operands(expr) {
                    self.visit_expr(operand);
                }
            }
            Expr::Subscript(subscript) if !matches!(subscript.ctx, ExprContext::Load) => {
                if let Expr::Name(name) = subscript.value.as_ref() {
                    self.mutated.insert(name.id.as_str());
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Call(call) => {
                if let Expr::Attribute(method) = call.func.as_ref() {
                    if let (Expr::Name(name), true) = (method.value.as_ref(), MUTATORS.contains(&method.attr.as_str())) {
                        self.mutated.insert(name.id.as_str());
                    }
                }
                visitor::walk_expr(self, expr);
            }
            // A lambda is a scope of its own.
            Expr::Lambda(_) => {}
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                self.in_comprehension += 1;
                visitor::walk_expr(self, expr);
                self.in_comprehension -= 1;
            }
            _ => visitor::walk_expr(self, expr),
        }
        self.guard.leave();
    }

    fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
        if !self.guard.enter() {
            return;
        }
        let name = match pattern {
            ast::Pattern::MatchAs(p) => p.name.as_ref(),
            ast::Pattern::MatchStar(p) => p.name.as_ref(),
            ast::Pattern::MatchMapping(p) => p.rest.as_ref(),
            _ => None,
        };
        if let Some(name) = name {
            self.bind(name.as_str(), Binding::Opaque);
        }
        visitor::walk_pattern(self, pattern);
        self.guard.leave();
    }

    fn visit_interpolated_string_element(&mut self, element: &'a ast::InterpolatedStringElement) {
        if !self.guard.enter() {
            return;
        }
        visitor::walk_interpolated_string_element(self, element);
        self.guard.leave();
    }

    fn visit_except_handler(&mut self, handler: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(h) = handler;
        if let Some(name) = &h.name {
            self.bind(name.as_str(), Binding::Opaque);
        }
        visitor::walk_except_handler(self, handler);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings_of(source: &str, f: impl FnOnce(&Bindings<'_>)) {
        let parsed = ruff_python_parser::parse_module(source).unwrap();
        f(&Bindings::of_body(parsed.suite(), None));
    }

    #[test]
    fn names_bound_once_are_followed_others_are_opaque() {
        let source = "A = 'x'\nB = 1\nB = 2\nfor C in []: pass\nD: str = 'y'\nE: str\n(F, G) = 1, 2\n\
                      import a.b\nfrom m import n as o\nif (H := 3): pass\nI.attr = 4\n";
        bindings_of(source, |b| {
            assert!(matches!(b.get("A"), Some(Binding::Value(_))));
            assert_eq!(b.get("B"), Some(&Binding::Opaque));
            assert_eq!(b.get("C"), Some(&Binding::Opaque));
            assert!(matches!(b.get("D"), Some(Binding::Value(_))));
            assert_eq!(b.get("E"), None);
            assert_eq!(b.get("F"), Some(&Binding::Opaque));
            assert!(matches!(b.get("a"), Some(Binding::Import(Import::Module(p))) if p.dotted == "a"));
            assert!(matches!(b.get("o"), Some(Binding::Import(Import::From { name, .. })) if name == "n"));
            assert_eq!(b.get("H"), Some(&Binding::Opaque));
            assert!(b.assigned_attributes.contains(&("I", "attr")));
        });
        bindings_of("def f(): pass\ndef g(): pass\ndef g(): pass\n", |b| {
            assert!(matches!(b.get("f"), Some(Binding::Function(def)) if def.name.as_str() == "f"));
            assert_eq!(b.get("g"), Some(&Binding::Opaque));
        });
        bindings_of("import a.b\nimport a.c\n", |b| {
            assert!(matches!(b.get("a"), Some(Binding::Import(Import::Module(p))) if p.dotted == "a"));
        });
    }

    #[test]
    fn comprehension_targets_and_nested_scopes_bind_nothing_here() {
        let source = "[x for x in y]\ndef f():\n    z = 1\nclass K:\n    w = 2\nlambda v: v\n";
        bindings_of(source, |b| {
            assert_eq!(b.get("x"), None);
            assert_eq!(b.get("z"), None);
            assert_eq!(b.get("w"), None);
            assert_eq!(b.get("v"), None);
            assert!(matches!(b.get("K"), Some(Binding::Class(_))));
        });
    }
}
