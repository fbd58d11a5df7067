//! What a custom field's `__init__` does to its keyword arguments before
//! Django's `Field.__init__` sees them (`kwargs["null"] = True` in a
//! `NullCharField`): the options the migration and the model call leave out.

use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};

use crate::field::InitRule;

/// The options that change a column or what the ORM sends.
const OPTIONS: &[&str] = &["null", "blank", "unique", "db_index", "primary_key", "max_length", "default"];

/// The rules of `class.__init__`, in the order its statements run; empty
/// when the class has no `__init__` or no `**kwargs`.
pub fn init_rules(class: &ast::StmtClassDef) -> Vec<InitRule> {
    let init = class.body.iter().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.as_str() == "__init__" => Some(f),
        _ => None,
    });
    let Some(init) = init else { return Vec::new() };
    let Some(kwargs) = init.parameters.kwarg.as_ref().map(|p| p.name.as_str()) else { return Vec::new() };
    let mut rules = Vec::new();
    body(&init.body, kwargs, true, &mut rules);
    rules
}

/// `top` is false inside `if`, loops, `try` and `with`: what runs there
/// may not run, so an option it sets is not known.
fn body(stmts: &[Stmt], kwargs: &str, top: bool, rules: &mut Vec<InitRule>) {
    for stmt in stmts {
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    if let Some(key) = option_key(target, kwargs) {
                        rules.push(match (top, constant(&a.value)) {
                            (true, Some(value)) => InitRule::Set(key, value),
                            _ => InitRule::Opaque,
                        });
                    }
                }
            }
            Stmt::Delete(d) if d.targets.iter().any(|t| option_key(t, kwargs).is_some()) => rules.push(InitRule::Opaque),
            Stmt::Expr(e) => {
                let Expr::Call(call) = e.value.as_ref() else { continue };
                let Expr::Attribute(method) = call.func.as_ref() else { continue };
                if !is_name(&method.value, kwargs) {
                    continue;
                }
                let key = match call.arguments.args.first() {
                    Some(Expr::StringLiteral(s)) => Some(s.value.to_str()),
                    _ => None,
                };
                let relevant = key.is_none_or(|k| OPTIONS.contains(&k));
                match method.attr.as_str() {
                    "setdefault" if relevant => {
                        let value = call.arguments.args.get(1).and_then(constant);
                        rules.push(match (top, key, value) {
                            (true, Some(k), Some(v)) => InitRule::SetDefault(k.to_string(), v),
                            _ => InitRule::Opaque,
                        });
                    }
                    "update" | "clear" => rules.push(InitRule::Opaque),
                    "pop" if relevant => rules.push(InitRule::Opaque),
                    _ => {}
                }
            }
            Stmt::If(s) => {
                body(&s.body, kwargs, false, rules);
                for clause in &s.elif_else_clauses {
                    body(&clause.body, kwargs, false, rules);
                }
            }
            Stmt::For(s) => body(&s.body, kwargs, false, rules),
            Stmt::While(s) => body(&s.body, kwargs, false, rules),
            Stmt::With(s) => body(&s.body, kwargs, false, rules),
            Stmt::Try(s) => {
                body(&s.body, kwargs, false, rules);
                body(&s.finalbody, kwargs, false, rules);
            }
            _ => {}
        }
    }
}

/// `kwargs["null"]` for an option that matters.
fn option_key(target: &Expr, kwargs: &str) -> Option<String> {
    let Expr::Subscript(s) = target else { return None };
    if !is_name(&s.value, kwargs) {
        return None;
    }
    match s.slice.as_ref() {
        Expr::StringLiteral(k) if OPTIONS.contains(&k.value.to_str()) => Some(k.value.to_str().to_string()),
        Expr::StringLiteral(_) => None,
        // A key computed at run time may be any option.
        _ => Some(String::new()),
    }
}

fn is_name(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Name(n) if n.id.as_str() == name)
}

fn constant(expr: &Expr) -> Option<Literal> {
    match expr {
        Expr::BooleanLiteral(b) => Some(Literal::Bool(b.value)),
        Expr::NoneLiteral(_) => Some(Literal::Null),
        Expr::StringLiteral(s) => Some(Literal::Str(s.value.to_str().to_string())),
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64().map(Literal::Int),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(source: &str) -> Vec<InitRule> {
        let parsed = ruff_python_parser::parse_module(source).expect("parse");
        let class = parsed.syntax().body.iter().find_map(|s| s.as_class_def_stmt()).expect("class");
        init_rules(class)
    }

    #[test]
    fn forced_and_default_options_are_read_in_order() {
        let r = rules(
            "class NullCharField(CharField):\n    def __init__(self, *args, **kw):\n        if not kw.get('null', True):\n            raise ValueError\n        kw['null'] = kw['blank'] = True\n        kw.setdefault('max_length', 64)\n        kw['upload_to'] = 'x'\n        super().__init__(*args, **kw)\n",
        );
        assert_eq!(
            r,
            [
                InitRule::Set("null".into(), Literal::Bool(true)),
                InitRule::Set("blank".into(), Literal::Bool(true)),
                InitRule::SetDefault("max_length".into(), Literal::Int(64)),
            ]
        );
    }

    #[test]
    fn what_cannot_be_followed_is_opaque() {
        let r = rules(
            "class F(CharField):\n    def __init__(self, nullable, **kwargs):\n        if nullable:\n            kwargs['null'] = True\n        kwargs.update(EXTRA)\n        kwargs['default'] = make()\n        kwargs.pop('unrelated', None)\n",
        );
        assert_eq!(r, [InitRule::Opaque, InitRule::Opaque, InitRule::Opaque]);
        // No `**kwargs`, or no `__init__`: nothing to follow.
        assert!(rules("class F(CharField):\n    def __init__(self, a):\n        a['null'] = True\n").is_empty());
        assert!(rules("class F(CharField):\n    pass\n").is_empty());
    }
}
