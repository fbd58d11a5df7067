//! What a name in the code stands for, over the Python frontend's
//! evaluator: SQLAlchemy's own objects (`Column`, `sa.String`,
//! Flask-SQLAlchemy's `db.Column`), classes of the repository, constants,
//! and the expressions module-level names are bound to.

use dbveto_python_semantic::{Binding, ConstValue, Evaluator, Import, ModuleId, ProjectIndex, Scope, Value};
use dbveto_source::Location;
use dbveto_writes::{Arg, Literal};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

/// A double-quoted SQL identifier.
pub use dbveto_schema::quote_ident as quote;

/// How many imports and assignments are followed to find what a name is
/// bound to.
const MAX_HOPS: u32 = 16;

pub struct Names<'p, 'a> {
    pub eval: Evaluator<'p, 'a>,
    pub index: &'p ProjectIndex<'a>,
}

/// A class of the repository.
pub type ClassRef<'a> = (ModuleId, &'a ast::StmtClassDef);

impl<'p, 'a> Names<'p, 'a> {
    pub fn new(index: &'p ProjectIndex<'a>) -> Self {
        Names { eval: Evaluator::new(index), index }
    }

    pub fn location(&self, module: ModuleId, node: &impl Ranged) -> Location {
        match self.index.module(module) {
            Some(m) => m.file.location(node.start().to_usize()),
            None => Location { path: "".into(), line: 1, column: 1 },
        }
    }

    pub fn value(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<Value<'a>> {
        self.eval.eval(module, scopes, expr)
    }

    /// The dotted path of something outside the repository that `expr`
    /// names (`sqlalchemy.orm.mapped_column`).
    pub fn external(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<String> {
        match self.value(module, scopes, expr)? {
            Value::Module(m) => Some(m.path.dotted),
            _ => None,
        }
    }

    /// The name of the SQLAlchemy object `expr` stands for (`Column`,
    /// `String`, `ForeignKey`), whichever way it is imported; Flask-
    /// SQLAlchemy's `db.Column` counts too.
    pub fn sqlalchemy(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<String> {
        if let Some(dotted) = self.external(module, scopes, expr) {
            let mut parts = dotted.split('.');
            let first = parts.next()?;
            let last = dotted.rsplit('.').next()?;
            return matches!(first, "sqlalchemy" | "sqlmodel" | "flask_sqlalchemy").then(|| last.to_string());
        }
        // `db.Column` where `db = SQLAlchemy(app)`.
        let Expr::Attribute(attribute) = expr else { return None };
        let Expr::Name(base) = attribute.value.as_ref() else { return None };
        let (owner, bound) = self.bound(module, scopes, base.id.as_str())?;
        let Expr::Call(call) = bound else { return None };
        let factory = self.external(owner, &[], &call.func)?;
        (factory.starts_with("flask_sqlalchemy") && factory.ends_with("SQLAlchemy")).then(|| attribute.attr.to_string())
    }

    /// The expression a name is bound to, once, in a function's scopes or
    /// at module level (imports followed).
    pub fn bound(&mut self, module: ModuleId, scopes: &[&Scope<'a>], name: &str) -> Option<(ModuleId, &'a Expr)> {
        for scope in scopes.iter().rev() {
            match scope.bindings.get(name) {
                Some(Binding::Value(expr)) => return Some((module, expr)),
                Some(_) => return None,
                None => {}
            }
        }
        self.module_binding(module, name, 0)
    }

    fn module_binding(&self, module: ModuleId, name: &str, hops: u32) -> Option<(ModuleId, &'a Expr)> {
        if hops > MAX_HOPS {
            return None;
        }
        let index = self.index.module(module)?;
        match index.bindings.get(name)? {
            Binding::Value(expr) => Some((module, expr)),
            Binding::Import(Import::From { module: path, name }) => {
                let target = self.index.table.lookup(&path.dotted, path.exact, module)?;
                self.module_binding(target, name, hops + 1)
            }
            _ => None,
        }
    }

    /// A module-level function of `module` by name, imports followed;
    /// not one defined twice (`if ...: def f` / `else: def f`).
    pub fn function(&mut self, module: ModuleId, name: &str) -> Option<(ModuleId, &'a ast::StmtFunctionDef)> {
        match self.eval.global(module, name)? {
            Value::Function { module, def } => Some((module, def)),
            _ => None,
        }
    }

    /// The class `expr` names in the repository.
    pub fn class(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<ClassRef<'a>> {
        match self.value(module, scopes, expr)? {
            Value::Class { module, class } => Some((module, class)),
            _ => None,
        }
    }

    pub fn literal(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<Literal> {
        match self.value(module, scopes, expr)? {
            Value::Const(c) => Some(match c.value {
                ConstValue::Str(text) => Literal::Str(text.value()),
                ConstValue::Other(l) => l,
            }),
            _ => None,
        }
    }

    pub fn string(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<String> {
        match self.literal(module, scopes, expr)? {
            Literal::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A name marked as final: Alembic's `op.f("name")`, SQLAlchemy's
    /// `conv("name")`. No naming convention applies to it.
    pub fn final_name(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<String> {
        let Expr::Call(call) = expr else { return None };
        let marked = match call.func.as_ref() {
            Expr::Attribute(a) if a.attr.as_str() == "f" => self.external(module, scopes, &a.value).as_deref() == Some("alembic.op"),
            func => self.sqlalchemy(module, scopes, func).as_deref() == Some("conv"),
        };
        if !marked {
            return None;
        }
        self.string(module, scopes, argument(call, 0, "name")?)
    }

    pub fn arg(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, position: &str) -> Arg {
        self.eval.arg(module, scopes, expr, position)
    }

    /// A method defined in a class body (not in its bases).
    pub fn method(class: &'a ast::StmtClassDef, name: &str) -> Option<&'a ast::StmtFunctionDef> {
        class.body.iter().find_map(|s| match s {
            Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
            _ => None,
        })
    }

    /// The dotted module name of a module (`app.models.device`).
    pub fn module_name(&self, module: ModuleId) -> String {
        self.index.table.name(module).map(|n| n.parts.join(".")).unwrap_or_default()
    }
}

/// Keyword argument `name` of a call.
pub fn keyword<'a>(call: &'a ast::ExprCall, name: &str) -> Option<&'a Expr> {
    call.arguments.keywords.iter().find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == name)).map(|k| &k.value)
}

/// Positional argument `i`, else keyword `name`.
pub fn argument<'a>(call: &'a ast::ExprCall, i: usize, name: &str) -> Option<&'a Expr> {
    keyword(call, name).or_else(|| call.arguments.args.get(i))
}

/// A SQL string literal.
pub fn sql_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `a.b.c` of names and attributes: how a session is spelled
/// (`db`, `self.session`).
pub fn path(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", path(&a.value)?, a.attr)),
        _ => None,
    }
}
