//! Alembic's `env.py`: the `target_metadata` it gives `context.configure()`.
//! Alembic's operations build their tables and constraints in a
//! `MetaData` with that one's naming convention (`SchemaObjects.metadata()`),
//! or SQLAlchemy's default one when it has none: the names of the
//! constraints and indexes a revision leaves unnamed come from it.

use dbveto_python_semantic::{Binding, Import, ModuleId, ProjectIndex, Scope};
use dbveto_source::{Diagnostic, Severity};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::models::TableReader;
use crate::names::{keyword, ClassRef, Names};
use crate::naming::Conventions;

/// How many names, imports and properties are followed.
const MAX_HOPS: u32 = 16;

/// The naming convention of the `target_metadata` that the `env.py` of
/// `dir` (the folder holding `versions/`) configures; SQLAlchemy's default
/// one without `env.py` or without `target_metadata`, and with a warning
/// when it cannot be told.
pub fn conventions<'p, 'a>(index: &'p ProjectIndex<'a>, reader: &mut TableReader<'p, 'a>, dir: &str, diagnostics: &mut Vec<Diagnostic>) -> Conventions {
    let path = if dir == "." { "env.py".to_string() } else { format!("{dir}/env.py") };
    let Some(env) = index.modules.iter().find(|m| *m.file.path == *path) else { return Conventions::default() };
    let mut calls = Vec::new();
    configure_calls(reader.names(), env.id, env.body, None, &mut calls, 0);
    // (the expression, the function it is written in)
    let mut targets: Vec<(&'a Expr, Option<&'a ast::StmtFunctionDef>)> = Vec::new();
    let mut spread = None;
    for (call, function) in &calls {
        match keyword(call, "target_metadata") {
            Some(expr) => targets.push((expr, *function)),
            None if call.arguments.keywords.iter().any(|k| k.arg.is_none()) => spread = Some(*call),
            None => {}
        }
    }
    if calls.is_empty() {
        // `configure()` is called elsewhere: the conventional module-level name.
        if let Some(Binding::Value(expr)) = env.bindings.get("target_metadata") {
            targets.push((expr, None));
        }
    }
    let mut found: Option<Conventions> = None;
    for (expr, function) in &targets {
        let scope = function.map(|f| env.function_scope(f));
        let scopes: Vec<&Scope<'a>> = scope.iter().collect();
        let resolved = metadata(index, reader, env.id, &scopes, expr, 0);
        match (resolved, &found) {
            (Some(c), Some(f)) if c != *f => return unknown(env.file.diagnostic(expr.start().to_usize(), Severity::Warning, DIFFERENT), diagnostics),
            (Some(c), _) => found = Some(c),
            (None, _) => return unknown(env.file.diagnostic(expr.start().to_usize(), Severity::Warning, UNRESOLVED), diagnostics),
        }
    }
    if let (None, Some(call)) = (&found, spread) {
        return unknown(env.file.diagnostic(call.start().to_usize(), Severity::Warning, UNRESOLVED), diagnostics);
    }
    found.unwrap_or_default()
}

const UNRESOLVED: &str = "Alembic's `target_metadata` is not known statically: the constraints and indexes revisions leave unnamed get SQLAlchemy's default names, which may not be the ones Alembic gives";
const DIFFERENT: &str = "`context.configure()` is given `target_metadata`s with different naming conventions: the constraints and indexes revisions leave unnamed get SQLAlchemy's default names, which may not be the ones Alembic gives";

fn unknown(diagnostic: Diagnostic, diagnostics: &mut Vec<Diagnostic>) -> Conventions {
    diagnostics.push(diagnostic);
    Conventions::default()
}

/// `context.configure(...)` calls of a body, functions included.
fn configure_calls<'a>(
    names: &mut Names<'_, 'a>,
    module: ModuleId,
    body: &'a [Stmt],
    function: Option<&'a ast::StmtFunctionDef>,
    out: &mut Vec<(&'a ast::ExprCall, Option<&'a ast::StmtFunctionDef>)>,
    depth: u32,
) {
    if depth > MAX_HOPS {
        return;
    }
    for stmt in body {
        let nested = |names: &mut Names<'_, 'a>, body: &'a [Stmt], out: &mut Vec<_>| configure_calls(names, module, body, function, out, depth + 1);
        match stmt {
            Stmt::Expr(e) => {
                let Expr::Call(call) = e.value.as_ref() else { continue };
                let Expr::Attribute(a) = call.func.as_ref() else { continue };
                if a.attr.as_str() == "configure" && names.external(module, &[], &a.value).as_deref() == Some("alembic.context") {
                    out.push((call, function));
                }
            }
            Stmt::FunctionDef(f) => configure_calls(names, module, &f.body, Some(f), out, depth + 1),
            Stmt::With(w) => nested(names, &w.body, out),
            Stmt::If(i) => {
                nested(names, &i.body, out);
                for clause in &i.elif_else_clauses {
                    nested(names, &clause.body, out);
                }
            }
            Stmt::For(f) => nested(names, &f.body, out),
            Stmt::While(w) => nested(names, &w.body, out),
            Stmt::Try(t) => {
                nested(names, &t.body, out);
                for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                    nested(names, &h.body, out);
                }
                nested(names, &t.orelse, out);
                nested(names, &t.finalbody, out);
            }
            _ => {}
        }
    }
}

/// The naming convention of the `MetaData` `expr` stands for.
fn metadata<'p, 'a>(index: &'p ProjectIndex<'a>, reader: &mut TableReader<'p, 'a>, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, hops: u32) -> Option<Conventions> {
    if hops > MAX_HOPS {
        return None;
    }
    match expr {
        // Without a `naming_convention` attribute (`None`, a list of
        // `MetaData`s), Alembic uses a plain `MetaData()`.
        Expr::NoneLiteral(_) | Expr::List(_) | Expr::Tuple(_) => Some(Conventions::default()),
        Expr::Name(n) => {
            let (owner, bound) = reader.names().bound(module, scopes, n.id.as_str())?;
            if std::ptr::eq(bound, expr) {
                return None;
            }
            metadata(index, reader, owner, &[], bound, hops + 1)
        }
        Expr::Attribute(a) if a.attr.as_str() == "metadata" => {
            let (owner, class) = class_object(index, reader.names(), module, scopes, &a.value, hops + 1)?;
            reader.class_metadata(owner, class)
        }
        Expr::Call(_) => reader.metadata(module, expr),
        _ => None,
    }
}

/// The class `expr` evaluates to: a class of the repository, or what a
/// property returns (`provide_interface().Base`, where the function's
/// return annotation names the class and the property returns a class).
fn class_object<'p, 'a>(index: &'p ProjectIndex<'a>, names: &mut Names<'p, 'a>, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, hops: u32) -> Option<ClassRef<'a>> {
    if hops > MAX_HOPS {
        return None;
    }
    if let Some(class) = names.class(module, scopes, expr) {
        return Some(class);
    }
    match expr {
        Expr::Name(n) => {
            let (owner, bound) = names.bound(module, scopes, n.id.as_str())?;
            if std::ptr::eq(bound, expr) {
                return None;
            }
            class_object(index, names, owner, &[], bound, hops + 1)
        }
        Expr::Attribute(a) => {
            let (owner, class) = instance_class(index, names, module, scopes, &a.value, hops + 1)?;
            let property = Names::method(class, a.attr.as_str())?;
            let is_property = property.decorator_list.iter().any(|d| matches!(&d.expression, Expr::Name(n) if n.id.as_str() == "property"));
            let returned = single_return(property)?;
            if !is_property {
                return None;
            }
            let scope = index.module(owner)?.function_scope(property);
            names.class(owner, &[&scope], returned)
        }
        _ => None,
    }
}

/// The class of the instance `expr` evaluates to: `Class(...)`, or a call
/// of a function whose return annotation names a class.
fn instance_class<'p, 'a>(index: &'p ProjectIndex<'a>, names: &mut Names<'p, 'a>, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, hops: u32) -> Option<ClassRef<'a>> {
    if hops > MAX_HOPS {
        return None;
    }
    match expr {
        Expr::Name(n) => {
            let (owner, bound) = names.bound(module, scopes, n.id.as_str())?;
            if std::ptr::eq(bound, expr) {
                return None;
            }
            instance_class(index, names, owner, &[], bound, hops + 1)
        }
        Expr::Call(call) => {
            if let Some(class) = names.class(module, scopes, &call.func) {
                return Some(class);
            }
            let Expr::Name(callee) = call.func.as_ref() else { return None };
            let (owner, function) = names.function(module, callee.id.as_str())?;
            match function.returns.as_deref()? {
                Expr::StringLiteral(s) => class_named(index, owner, s.value.to_str(), hops + 1),
                annotation => names.class(owner, &[], annotation),
            }
        }
        _ => None,
    }
}

/// The class a dotted name written in a string annotation names in
/// `module` (`"Interface"`, `"interface.Interface"`), imports followed.
fn class_named<'a>(index: &ProjectIndex<'a>, module: ModuleId, dotted: &str, hops: u32) -> Option<ClassRef<'a>> {
    if hops > MAX_HOPS {
        return None;
    }
    let (first, rest) = match dotted.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (dotted, None),
    };
    match (index.module(module)?.bindings.get(first)?, rest) {
        (Binding::Class(class), None) => Some((module, class)),
        (Binding::Import(Import::From { module: path, name }), _) => {
            let full = match rest {
                Some(rest) => format!("{name}.{rest}"),
                None => name.clone(),
            };
            // `from package import module` names a module, else a global.
            if let (Some(target), Some(rest)) = (index.table.lookup(&path.child(name).dotted, path.exact, module), rest) {
                return class_named(index, target, rest, hops + 1);
            }
            let target = index.table.lookup(&path.dotted, path.exact, module)?;
            class_named(index, target, &full, hops + 1)
        }
        (Binding::Import(Import::Module(path)), Some(rest)) => {
            // `first` is module `path`; the rest names submodules, then the class.
            let (dotted, class) = match rest.rsplit_once('.') {
                Some((submodules, class)) => (format!("{}.{submodules}", path.dotted), class),
                None => (path.dotted.clone(), rest),
            };
            let target = index.table.lookup(&dotted, path.exact, module)?;
            class_named(index, target, class, hops + 1)
        }
        _ => None,
    }
}

/// The expression of a function whose body is one `return` (a docstring aside).
fn single_return(function: &ast::StmtFunctionDef) -> Option<&Expr> {
    let body: Vec<&Stmt> = function
        .body
        .iter()
        .filter(|s| !matches!(s, Stmt::Expr(e) if matches!(e.value.as_ref(), Expr::StringLiteral(_))))
        .collect();
    match body[..] {
        [Stmt::Return(r)] => r.value.as_deref(),
        _ => None,
    }
}
