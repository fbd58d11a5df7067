//! Reading Django's declarative pieces from the syntax tree: model options
//! (`Meta` or a migration's `options={...}`), `models.Index`,
//! `CheckConstraint`, `UniqueConstraint` and `Q` objects. Shared by the
//! migration interpreter and the models reader.

use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::field::{keyword, Resolve};
use crate::state::{ConstraintKind, ConstraintSpec, IndexExpression, IndexSpec, Options, QValue, Q};

/// The last name of a callee: `models.Index` → `Index`.
pub use dbveto_python_semantic::last_name as callee_name;

/// `NAME = value` or `NAME: T = value`: the name and the value.
pub fn assignment(stmt: &Stmt) -> Option<(&str, &Expr)> {
    match stmt {
        Stmt::Assign(a) => match &a.targets[..] {
            [Expr::Name(n)] => Some((n.id.as_str(), a.value.as_ref())),
            _ => None,
        },
        Stmt::AnnAssign(a) => match (a.target.as_ref(), a.value.as_deref()) {
            (Expr::Name(n), Some(v)) => Some((n.id.as_str(), v)),
            _ => None,
        },
        _ => None,
    }
}

/// `A = B = value` (one name or several) or `NAME: T = value`: the names
/// and the value.
pub fn assigned_names(stmt: &Stmt) -> Option<(Vec<&str>, &Expr)> {
    match stmt {
        Stmt::Assign(a) => {
            let names: Option<Vec<&str>> = a.targets.iter().map(|t| t.as_name_expr().map(|n| n.id.as_str())).collect();
            Some((names?, a.value.as_ref()))
        }
        other => assignment(other).map(|(name, value)| (vec![name], value)),
    }
}

/// The value a class body assigns to `name`.
pub fn class_attribute<'a>(class: &'a ast::StmtClassDef, name: &str) -> Option<&'a Expr> {
    class.body.iter().filter_map(assignment).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// The elements of a list, tuple or set display (`set()` is empty).
pub fn elements(expr: &Expr) -> Option<&[Expr]> {
    match expr {
        Expr::List(l) => Some(&l.elts),
        Expr::Tuple(t) => Some(&t.elts),
        Expr::Set(s) => Some(&s.elts),
        Expr::Call(c) if c.arguments.is_empty() && matches!(callee_name(&c.func), Some("set" | "list" | "tuple")) => Some(&[]),
        _ => None,
    }
}

/// A list of strings (`['a', 'b']`); `None` if any element is not known.
pub fn strings<'a>(expr: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Option<Vec<String>> {
    elements(expr)?
        .iter()
        .map(|e| match resolve.literal(e) {
            Some(Literal::Str(s)) => Some(s),
            _ => None,
        })
        .collect()
}

/// `unique_together`: `[('a', 'b')]`, `{('a', 'b')}` or just `('a', 'b')`.
fn together<'a>(expr: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Option<Vec<Vec<String>>> {
    let items = elements(expr)?;
    if items.is_empty() {
        return Some(Vec::new());
    }
    if items.iter().all(|e| elements(e).is_none()) {
        return Some(vec![strings(expr, resolve)?]).filter(|v| !v[0].is_empty());
    }
    items.iter().map(|e| strings(e, resolve)).collect()
}

/// Applies one option (`db_table = ...`) to `options`.
pub fn option<'a>(options: &mut Options, key: &str, value: &'a Expr, resolve: &mut dyn Resolve<'a>) {
    let flag = |resolve: &mut dyn Resolve<'a>, uncertain: &mut bool| match resolve.literal(value) {
        Some(Literal::Bool(b)) => Some(b),
        _ => {
            *uncertain = true;
            None
        }
    };
    match key {
        "db_table" => match resolve.literal(value) {
            Some(Literal::Str(s)) => options.db_table = Some(s),
            _ => options.uncertain = true,
        },
        "managed" => options.managed = flag(resolve, &mut options.uncertain).unwrap_or(true),
        "proxy" => options.proxy = flag(resolve, &mut options.uncertain).unwrap_or(false),
        "abstract" => options.abstract_ = flag(resolve, &mut options.uncertain).unwrap_or(false),
        "swappable" => {
            if let Some(Literal::Str(setting)) = resolve.literal(value) {
                options.swappable = Some(setting);
            }
        }
        "unique_together" => match together(value, resolve) {
            Some(t) => options.unique_together = t,
            None => options.uncertain = true,
        },
        "index_together" => match together(value, resolve) {
            Some(t) => options.index_together = t,
            None => options.uncertain = true,
        },
        "indexes" => match elements(value) {
            Some(items) => {
                options.indexes = items
                    .iter()
                    .filter_map(|e| match e {
                        Expr::Call(c) => index(c, resolve),
                        _ => None,
                    })
                    .collect();
            }
            None => options.uncertain = true,
        },
        "constraints" => match elements(value) {
            Some(items) => {
                options.constraints = items
                    .iter()
                    .filter_map(|e| match e {
                        Expr::Call(c) => constraint(c, resolve),
                        _ => None,
                    })
                    .collect();
            }
            None => options.uncertain = true,
        },
        _ => {}
    }
}

/// `models.Index(fields=[...], name=...)`.
pub fn index<'a>(call: &'a ast::ExprCall, resolve: &mut dyn Resolve<'a>) -> Option<IndexSpec> {
    if callee_name(&call.func)? != "Index" && !callee_name(&call.func)?.ends_with("Index") {
        return None;
    }
    let name = match keyword(call, "name").map(|e| resolve.literal(e)) {
        Some(Some(Literal::Str(s))) => Some(s),
        _ => None,
    };
    let fields = keyword(call, "fields").and_then(|e| strings(e, resolve)).unwrap_or_default();
    let partial = !call.arguments.args.is_empty()
        || ["condition", "opclasses", "include"].iter().any(|k| keyword(call, k).is_some())
        || callee_name(&call.func) != Some("Index");
    Some(IndexSpec { name, fields, partial, location: resolve.location(&call.func) })
}

/// `CheckConstraint(condition=Q(...) | check=Q(...), name=...)` or
/// `UniqueConstraint(fields=[...], name=...)`.
pub fn constraint<'a>(call: &'a ast::ExprCall, resolve: &mut dyn Resolve<'a>) -> Option<ConstraintSpec> {
    let name = match keyword(call, "name").map(|e| resolve.literal(e)) {
        Some(Some(Literal::Str(s))) => Some(s),
        _ => None,
    };
    let kind = match callee_name(&call.func)? {
        "CheckConstraint" => {
            let condition = keyword(call, "condition").or_else(|| keyword(call, "check"));
            ConstraintKind::Check(condition.and_then(|c| q(c, resolve)))
        }
        "UniqueConstraint" => {
            let fields = keyword(call, "fields").and_then(|e| strings(e, resolve));
            let partial = fields.is_none()
                || !call.arguments.args.is_empty()
                || ["condition", "opclasses", "include", "nulls_distinct"].iter().any(|k| keyword(call, k).is_some());
            let deferrable = keyword(call, "deferrable").and_then(callee_name).map(|d| d.to_uppercase());
            let expressions = call.arguments.args.iter().map(|e| index_expression(e, resolve)).collect();
            let condition = keyword(call, "condition").and_then(|c| q(c, resolve));
            ConstraintKind::Unique { fields: fields.unwrap_or_default(), partial, deferrable, expressions, condition }
        }
        _ => return None,
    };
    Some(ConstraintSpec { name, kind, location: resolve.location(&call.func) })
}

/// `F("f")`, `Lower("f")`, `Upper(F("f"))`: the expressions of a unique
/// index dbveto compiles.
fn index_expression<'a>(e: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Option<IndexExpression> {
    let Expr::Call(call) = e else { return None };
    let [arg] = &call.arguments.args[..] else { return None };
    if !call.arguments.keywords.is_empty() {
        return None;
    }
    let field = |resolve: &mut dyn Resolve<'a>| match arg {
        Expr::Call(inner) if callee_name(&inner.func) == Some("F") => match &inner.arguments.args[..] {
            [name] => match resolve.literal(name) {
                Some(Literal::Str(s)) => Some(s),
                _ => None,
            },
            _ => None,
        },
        other => match resolve.literal(other) {
            Some(Literal::Str(s)) => Some(s),
            _ => None,
        },
    };
    match callee_name(&call.func)? {
        "F" => field(resolve).map(IndexExpression::Field),
        "Lower" => field(resolve).map(IndexExpression::Lower),
        "Upper" => field(resolve).map(IndexExpression::Upper),
        _ => None,
    }
}

const LOOKUPS: &[&str] = &[
    "exact", "iexact", "in", "gt", "gte", "lt", "lte", "isnull", "range", "contains", "icontains", "startswith",
    "istartswith", "endswith", "iendswith", "regex", "iregex",
];

fn lookup<'a>(key: &str, value: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Option<Q> {
    let (field, lookup) = match key.rsplit_once("__") {
        Some((field, lookup)) if LOOKUPS.contains(&lookup) => (field, lookup),
        _ => (key, "exact"),
    };
    let value = match value {
        Expr::Call(c) if callee_name(&c.func) == Some("F") => match c.arguments.args.first().map(|a| resolve.literal(a)) {
            Some(Some(Literal::Str(s))) => QValue::Field(s),
            _ => return None,
        },
        other => match elements(other) {
            Some(items) => QValue::List(items.iter().map(|e| resolve.literal(e)).collect::<Option<Vec<_>>>()?),
            None => QValue::Literal(resolve.literal(other)?),
        },
    };
    Some(Q::Lookup { field: field.to_string(), lookup: lookup.to_string(), value })
}

/// A `Q` expression; `None` when any part of it is not understood.
pub fn q<'a>(expr: &'a Expr, resolve: &mut dyn Resolve<'a>) -> Option<Q> {
    match expr {
        Expr::BinOp(b) => {
            let (l, r) = (q(&b.left, resolve)?, q(&b.right, resolve)?);
            match b.op {
                ast::Operator::BitOr => Some(Q::Or(vec![l, r])),
                ast::Operator::BitAnd => Some(Q::And(vec![l, r])),
                _ => None,
            }
        }
        Expr::UnaryOp(u) if u.op == ast::UnaryOp::Invert => Some(Q::Not(Box::new(q(&u.operand, resolve)?))),
        Expr::Call(c) if callee_name(&c.func) == Some("Q") => {
            let mut children = Vec::new();
            for arg in c.arguments.args.iter() {
                match arg {
                    Expr::Tuple(t) if t.elts.len() == 2 => match resolve.literal(&t.elts[0]) {
                        Some(Literal::Str(key)) => children.push(lookup(&key, &t.elts[1], resolve)?),
                        _ => return None,
                    },
                    other => children.push(q(other, resolve)?),
                }
            }
            let mut connector = "AND".to_string();
            let mut negated = false;
            for kw in c.arguments.keywords.iter() {
                let key = kw.arg.as_ref()?.as_str();
                match key {
                    "_connector" => match resolve.literal(&kw.value) {
                        Some(Literal::Str(s)) => connector = s,
                        Some(Literal::Null) => {}
                        _ => return None,
                    },
                    "_negated" => negated = matches!(resolve.literal(&kw.value)?, Literal::Bool(true)),
                    _ => children.push(lookup(key, &kw.value, resolve)?),
                }
            }
            let combined = match connector.as_str() {
                "AND" => Q::And(children),
                "OR" => Q::Or(children),
                _ => return None,
            };
            Some(if negated { Q::Not(Box::new(combined)) } else { combined })
        }
        _ => None,
    }
}
