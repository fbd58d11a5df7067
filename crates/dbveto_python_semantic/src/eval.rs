//! Static evaluation of an expression to the constant it stands for:
//! literals, names bound once (locals, module constants, imports from the
//! repository), class attributes, `+` of strings, and SQLAlchemy's
//! `text()`. Anything else is unknown; nothing is guessed.

use std::collections::BTreeMap;

use dbveto_source::{Location, SourceFile};
use dbveto_writes::{Arg, Literal};
use ruff_python_ast::{self as ast, Expr};
use ruff_text_size::Ranged;

use crate::bindings::{Binding, Import, ModulePath, Scope, ScopeKind};
use crate::index::{ModuleId, ProjectIndex};
use crate::text::{string_expr_text, Text};

/// Bounds the recursion through names, attributes and operands, so that
/// cycles (`A = B`, `B = A`) and deep expressions stop.
const MAX_EVAL_DEPTH: u32 = 64;

/// Bounds the work of one evaluation: without it, `B = A + A`, `C = B + B`,
/// ... would take exponential time.
const FUEL: u32 = 10_000;

/// What an expression evaluates to, when it is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Const(Const),
    Module(ModuleRef),
    Class {
        module: ModuleId,
        class: &'a ast::StmtClassDef,
    },
    /// A function of the repository, defined once in its scope.
    Function {
        module: ModuleId,
        def: &'a ast::StmtFunctionDef,
    },
    /// SQLAlchemy's `text("...")`, maybe with `.bindparams(...)`.
    Text(TextClause),
}

/// A constant and where it is spelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Const {
    pub value: ConstValue,
    pub origin: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConstValue {
    Str(Text),
    /// Never `Literal::Str`.
    Other(Literal),
}

impl Const {
    pub fn literal(&self) -> Literal {
        match &self.value {
            ConstValue::Str(text) => Literal::Str(text.value()),
            ConstValue::Other(literal) => literal.clone(),
        }
    }
}

/// A module as an import statement named it, and where; it may be outside
/// the repository (`sqlalchemy.text`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleRef {
    pub path: ModulePath,
    pub importer: ModuleId,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TextClause {
    pub sql: Text,
    pub binds: Binds,
    /// The `text(...)` call.
    pub call: Location,
}

/// The values `.bindparams(...)` gives a text clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Binds {
    None,
    Named(BTreeMap<String, Arg>),
    Unknown,
}

impl Binds {
    fn then(self, later: Binds) -> Binds {
        match (self, later) {
            (Binds::Unknown, _) | (_, Binds::Unknown) => Binds::Unknown,
            (Binds::None, later) => later,
            (earlier, Binds::None) => earlier,
            (Binds::Named(mut earlier), Binds::Named(later)) => {
                earlier.extend(later);
                Binds::Named(earlier)
            }
        }
    }
}

enum Found<'p, 'a> {
    Binding(ModuleId, &'p Binding<'a>),
    Unbound,
}

/// Evaluates expressions of the project's modules.
pub struct Evaluator<'p, 'a> {
    project: &'p ProjectIndex<'a>,
    fuel: u32,
}

impl<'p, 'a> Evaluator<'p, 'a> {
    pub fn new(project: &'p ProjectIndex<'a>) -> Self {
        Evaluator { project, fuel: FUEL }
    }

    pub fn project(&self) -> &'p ProjectIndex<'a> {
        self.project
    }

    /// The value of `expr`, written in `module` inside `scopes` (innermost
    /// last; empty at module level), if it is known statically.
    pub fn eval(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> Option<Value<'a>> {
        self.fuel = FUEL;
        self.expr(module, scopes, expr, 0)
    }

    /// The value a module-level name of `module` is bound to.
    pub fn global(&mut self, module: ModuleId, name: &str) -> Option<Value<'a>> {
        self.fuel = FUEL;
        self.name(module, &[], name, 0)
    }

    /// What is known about a value sent to the database; `position` says
    /// how it reaches the statement (`parameter 2 of execute()`).
    pub fn arg(&mut self, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, position: &str) -> Arg {
        self.fuel = FUEL;
        self.arg_at(module, scopes, expr, position, 0)
    }

    fn arg_at(
        &mut self,
        module: ModuleId,
        scopes: &[&Scope<'a>],
        expr: &'a Expr,
        position: &str,
        depth: u32,
    ) -> Arg {
        let project = self.project;
        match (self.expr(module, scopes, expr, depth), project.module(module)) {
            (Some(Value::Const(constant)), Some(index)) => {
                let via = describe(index.file, expr, position);
                Arg::known(constant.literal(), Some(constant.origin), Some(via))
            }
            _ => Arg::unknown(),
        }
    }

    fn expr(&mut self, m: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, depth: u32) -> Option<Value<'a>> {
        if depth > MAX_EVAL_DEPTH || self.fuel == 0 {
            return None;
        }
        self.fuel -= 1;
        let file = self.project.module(m)?.file;
        let constant =
            |value| Some(Value::Const(Const { value, origin: file.location(expr.start().to_usize()) }));
        match expr {
            Expr::StringLiteral(_) | Expr::FString(_) => {
                constant(ConstValue::Str(string_expr_text(file, m, expr)?))
            }
            Expr::NumberLiteral(number) => constant(ConstValue::Other(number_literal(&file.text, number)?)),
            Expr::BooleanLiteral(b) => constant(ConstValue::Other(Literal::Bool(b.value))),
            Expr::NoneLiteral(_) => constant(ConstValue::Other(Literal::Null)),
            Expr::UnaryOp(unary) => {
                let Value::Const(Const { value: ConstValue::Other(operand), .. }) =
                    self.expr(m, scopes, &unary.operand, depth + 1)?
                else {
                    return None;
                };
                let literal = match unary.op {
                    ast::UnaryOp::USub => negate(operand)?,
                    ast::UnaryOp::UAdd if matches!(operand, Literal::Int(_) | Literal::Num(_)) => operand,
                    _ => return None,
                };
                constant(ConstValue::Other(literal))
            }
            Expr::BinOp(binary) if binary.op == ast::Operator::Add => {
                let text = self.concatenation(m, scopes, expr, depth)?;
                constant(ConstValue::Str(text))
            }
            Expr::Name(name) => self.name(m, scopes, name.id.as_str(), depth),
            Expr::Attribute(attribute) => self.attribute(m, scopes, attribute, depth),
            Expr::Call(call) => self.call(m, scopes, call, depth),
            _ => None,
        }
    }

    /// `a + b + c` of strings. The left spine is walked in a loop: long
    /// chains are common in SQL built over many lines.
    fn concatenation(
        &mut self,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        expr: &'a Expr,
        depth: u32,
    ) -> Option<Text> {
        let mut operands = Vec::new();
        let mut left = expr;
        while let Expr::BinOp(binary) = left {
            if binary.op != ast::Operator::Add {
                break;
            }
            operands.push(binary.right.as_ref());
            left = &binary.left;
        }
        operands.push(left);
        let mut result: Option<Text> = None;
        for operand in operands.into_iter().rev() {
            let text = self.string(m, scopes, operand, depth + 1)?;
            match &mut result {
                Some(result) => result.append(text)?,
                None => result = Some(text),
            }
        }
        result
    }

    /// Whether `name`, read in `module` inside `scopes`, is bound nowhere
    /// in the repository: a builtin (`Exception`, `KeyError`). Unknown
    /// (an opaque scope, a star import dbveto cannot follow) is `false`.
    pub fn is_builtin(&mut self, m: ModuleId, scopes: &[&Scope<'a>], name: &str) -> bool {
        self.fuel = FUEL;
        for scope in scopes.iter().rev() {
            if scope.bindings.incomplete || scope.bindings.get(name).is_some() {
                return false;
            }
        }
        matches!(self.find(m, name, 0), Some(Found::Unbound))
    }

    fn name(&mut self, m: ModuleId, scopes: &[&Scope<'a>], name: &str, depth: u32) -> Option<Value<'a>> {
        let innermost = scopes.len().checked_sub(1);
        for (k, scope) in scopes.iter().enumerate().rev() {
            // A class body's names are not visible in the functions nested in it.
            if scope.kind == ScopeKind::Class && Some(k) != innermost {
                continue;
            }
            if scope.bindings.incomplete {
                return None;
            }
            match scope.bindings.get(name) {
                None => {}
                Some(Binding::Global) => break,
                Some(binding) => return self.binding(m, &scopes[..=k], binding, depth),
            }
        }
        match self.find(m, name, depth)? {
            Found::Binding(owner, binding) => self.binding(owner, &[], binding, depth),
            Found::Unbound => None,
        }
    }

    fn binding(
        &mut self,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        binding: &Binding<'a>,
        depth: u32,
    ) -> Option<Value<'a>> {
        match binding {
            Binding::Value(value) => self.expr(m, scopes, value, depth + 1),
            Binding::Class(class) => Some(Value::Class { module: m, class }),
            Binding::Function(def) => Some(Value::Function { module: m, def }),
            Binding::Import(Import::Module(path)) => {
                Some(Value::Module(ModuleRef { path: path.clone(), importer: m }))
            }
            Binding::Import(Import::From { module, name }) => {
                self.member(&ModuleRef { path: module.clone(), importer: m }, name, depth + 1)
            }
            Binding::Global | Binding::Opaque => None,
        }
    }

    /// Looks `name` up among a module's globals, then its star imports.
    /// `None` when it cannot be told (a star import from outside the
    /// repository may bind anything).
    fn find(&mut self, m: ModuleId, name: &str, depth: u32) -> Option<Found<'p, 'a>> {
        if depth > MAX_EVAL_DEPTH || self.fuel == 0 {
            return None;
        }
        self.fuel -= 1;
        let project = self.project;
        let module = project.module(m)?;
        if module.bindings.incomplete {
            return None;
        }
        if let Some(binding) = module.bindings.get(name) {
            return Some(Found::Binding(m, binding));
        }
        for star in module.bindings.star_imports.iter().rev() {
            let target = project.table.lookup(&star.dotted, star.exact, m)?;
            match self.find(target, name, depth + 1)? {
                Found::Unbound => {}
                found => return Some(found),
            }
        }
        Some(Found::Unbound)
    }

    /// `module.name`: a global of the module, else a submodule.
    fn member(&mut self, module: &ModuleRef, name: &str, depth: u32) -> Option<Value<'a>> {
        let project = self.project;
        if let Some(target) = project.table.lookup(&module.path.dotted, module.path.exact, module.importer) {
            if let Found::Binding(owner, binding) = self.find(target, name, depth + 1)? {
                return self.binding(owner, &[], binding, depth + 1);
            }
        }
        Some(Value::Module(ModuleRef { path: module.path.child(name), importer: module.importer }))
    }

    fn attribute(
        &mut self,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        attribute: &'a ast::ExprAttribute,
        depth: u32,
    ) -> Option<Value<'a>> {
        let name = attribute.attr.as_str();
        // `Status.ACTIVE.value` of an enum is the literal `Status.ACTIVE` is assigned.
        if name == "value" {
            if let Expr::Attribute(member) = attribute.value.as_ref() {
                if let Some(Value::Class { module, class }) = self.expr(m, scopes, &member.value, depth + 1) {
                    if !is_enum(class) {
                        return None;
                    }
                    return self.class_attribute(module, class, member.attr.as_str(), depth);
                }
            }
        }
        match self.expr(m, scopes, &attribute.value, depth + 1)? {
            Value::Module(module) => self.member(&module, name, depth),
            Value::Class { module, class } => self.class_attribute(module, class, name, depth),
            Value::Const(_) | Value::Text(_) | Value::Function { .. } => None,
        }
    }

    /// `Class.ATTR` where the class body assigns `ATTR` once and nothing at
    /// module level reassigns it. Base classes are not followed.
    fn class_attribute(
        &mut self,
        m: ModuleId,
        class: &'a ast::StmtClassDef,
        name: &str,
        depth: u32,
    ) -> Option<Value<'a>> {
        let project = self.project;
        let module = project.module(m)?;
        if module.bindings.assigned_attributes.contains(&(class.name.as_str(), name)) {
            return None;
        }
        let scope = module.class_scope(class)?;
        if scope.bindings.incomplete {
            return None;
        }
        let binding = scope.bindings.get(name)?;
        self.binding(m, &[scope], binding, depth + 1)
    }

    fn call(
        &mut self,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        call: &'a ast::ExprCall,
        depth: u32,
    ) -> Option<Value<'a>> {
        let arguments = &call.arguments;
        if let Expr::Attribute(method) = call.func.as_ref() {
            match method.attr.as_str() {
                "bindparams" => {
                    let Value::Text(mut clause) = self.expr(m, scopes, &method.value, depth + 1)? else {
                        return None;
                    };
                    let binds = self.bindparams(m, scopes, arguments, depth + 1);
                    clause.binds = std::mem::replace(&mut clause.binds, Binds::None).then(binds);
                    return Some(Value::Text(clause));
                }
                // Leaves the statement as it is.
                "execution_options" => {
                    let value = self.expr(m, scopes, &method.value, depth + 1)?;
                    return matches!(value, Value::Text(_)).then_some(value);
                }
                "strip" | "lstrip" | "rstrip" if arguments.is_empty() => {
                    let text = self.string(m, scopes, &method.value, depth + 1)?;
                    let name = method.attr.as_str();
                    let stripped = text.strip(name != "rstrip", name != "lstrip")?;
                    return self.string_value(m, call, stripped);
                }
                _ => {}
            }
        }
        let Value::Module(function) = self.expr(m, scopes, &call.func, depth + 1)? else {
            return None;
        };
        let [argument] = &arguments.args[..] else {
            return None;
        };
        if !arguments.keywords.is_empty() {
            return None;
        }
        if function.path.dotted == "textwrap.dedent" {
            let dedented = self.string(m, scopes, argument, depth + 1)?.dedent()?;
            return self.string_value(m, call, dedented);
        }
        if !is_sqlalchemy_text(&function.path.dotted) {
            return None;
        }
        let sql = self.string(m, scopes, argument, depth + 1)?;
        let file = self.project.module(m)?.file;
        Some(Value::Text(TextClause {
            sql,
            binds: Binds::None,
            call: file.location(call.start().to_usize()),
        }))
    }

    fn string(&mut self, m: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr, depth: u32) -> Option<Text> {
        match self.expr(m, scopes, expr, depth)? {
            Value::Const(Const { value: ConstValue::Str(text), .. }) => Some(text),
            _ => None,
        }
    }

    /// A string computed by `call`, which is where it is spelled.
    fn string_value(&self, m: ModuleId, call: &ast::ExprCall, text: Text) -> Option<Value<'a>> {
        let origin = self.project.module(m)?.file.location(call.start().to_usize());
        Some(Value::Const(Const { value: ConstValue::Str(text), origin }))
    }

    fn bindparams(
        &mut self,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        arguments: &'a ast::Arguments,
        depth: u32,
    ) -> Binds {
        // Positional arguments are `bindparam()` objects, not followed.
        if !arguments.args.is_empty() {
            return Binds::Unknown;
        }
        let mut named = BTreeMap::new();
        for keyword in &arguments.keywords {
            let Some(name) = &keyword.arg else {
                return Binds::Unknown;
            };
            let position = format!("argument {name} of bindparams()");
            named.insert(name.to_string(), self.arg_at(m, scopes, &keyword.value, &position, depth));
        }
        Binds::Named(named)
    }
}

/// `sqlalchemy.text`, `sqlalchemy.sql.expression.text`, `sqlmodel.text`.
fn is_sqlalchemy_text(dotted: &str) -> bool {
    let first = dotted.split('.').next().unwrap_or_default();
    matches!(first, "sqlalchemy" | "sqlmodel") && dotted.ends_with(".text")
}

/// A class deriving from something named `*Enum` or `*Choices` (Django).
fn is_enum(class: &ast::StmtClassDef) -> bool {
    let Some(arguments) = &class.arguments else {
        return false;
    };
    arguments.args.iter().any(|base| {
        let name = match base {
            Expr::Name(name) => name.id.as_str(),
            Expr::Attribute(attribute) => attribute.attr.as_str(),
            _ => return false,
        };
        name.ends_with("Enum") || name.ends_with("Choices")
    })
}

fn number_literal(source: &str, number: &ast::ExprNumberLiteral) -> Option<Literal> {
    let as_written = || {
        let text = source.get(number.start().to_usize()..number.end().to_usize())?;
        Some(text.replace('_', ""))
    };
    match &number.value {
        ast::Number::Int(int) => match int.as_i64() {
            Some(value) => Some(Literal::Int(value)),
            None => as_written().map(Literal::Num),
        },
        ast::Number::Float(_) => as_written().map(Literal::Num),
        ast::Number::Complex { .. } => None,
    }
}

fn negate(literal: Literal) -> Option<Literal> {
    match literal {
        Literal::Int(value) => value.checked_neg().map(Literal::Int),
        Literal::Num(text) => {
            let negated = match text.strip_prefix('-') {
                Some(positive) => positive.to_string(),
                None => format!("-{text}"),
            };
            // `-9223372036854775808` fits once negated.
            Some(negated.parse().map_or(Literal::Num(negated), Literal::Int))
        }
        _ => None,
    }
}

/// How a value reaches the statement, for people: its position, and the
/// expression when it is not the literal itself.
fn describe(file: &SourceFile, expr: &Expr, position: &str) -> String {
    let literal = match expr {
        Expr::UnaryOp(unary) => matches!(unary.operand.as_ref(), Expr::NumberLiteral(_)),
        _ => expr.is_literal_expr() || expr.is_f_string_expr(),
    };
    if literal {
        return position.to_string();
    }
    let source = file.text.get(expr.start().to_usize()..expr.end().to_usize()).unwrap_or_default();
    let mut shown = source.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = shown.char_indices().nth(60) {
        shown.truncate(cut);
        shown.push('…');
    }
    format!("{position} ({shown})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_keeps_numbers_exact() {
        assert_eq!(negate(Literal::Int(5)), Some(Literal::Int(-5)));
        assert_eq!(negate(Literal::Num("1.5".into())), Some(Literal::Num("-1.5".into())));
        assert_eq!(negate(Literal::Num("9223372036854775808".into())), Some(Literal::Int(i64::MIN)));
        assert_eq!(negate(Literal::Bool(true)), None);
    }

    #[test]
    fn sqlalchemy_text_is_recognised_by_module() {
        assert!(is_sqlalchemy_text("sqlalchemy.text"));
        assert!(is_sqlalchemy_text("sqlalchemy.sql.expression.text"));
        assert!(!is_sqlalchemy_text("app.text"));
        assert!(!is_sqlalchemy_text("sqlalchemy.textual"));
    }
}

/// How many bases are followed to find a method.
const MAX_MRO: u32 = 32;

/// The method `name` of a class of the repository, found as Python's MRO
/// finds it: the class's own body, then its bases left to right, depth
/// first (the repository's classes only; a base outside it ends the
/// search there).
pub fn method_in_mro<'a>(eval: &mut Evaluator<'_, 'a>, module: ModuleId, class: &'a ast::StmtClassDef, name: &str) -> Option<(ModuleId, &'a ast::StmtFunctionDef)> {
    mro_at(eval, module, class, name, 0)
}

fn mro_at<'a>(eval: &mut Evaluator<'_, 'a>, module: ModuleId, class: &'a ast::StmtClassDef, name: &str, depth: u32) -> Option<(ModuleId, &'a ast::StmtFunctionDef)> {
    if depth > MAX_MRO {
        return None;
    }
    let own = class.body.iter().find_map(|s| match s {
        ast::Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
        _ => None,
    });
    if let Some(f) = own {
        return Some((module, f));
    }
    for base in class.bases() {
        if let Some(Value::Class { module: owner, class: base }) = eval.eval(module, &[], base) {
            if let Some(found) = mro_at(eval, owner, base, name, depth + 1) {
                return Some(found);
            }
        }
    }
    None
}
