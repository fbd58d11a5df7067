//! [`Resolve`] over the Python frontend's evaluator: literals and names
//! across modules, field classes through subclasses in the repository, and
//! model references.

use dbveto_python_semantic::{ConstValue, Evaluator, ModuleId, Scope, Value};
use dbveto_source::Location;
use dbveto_writes::Literal;
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;

use crate::apps::Apps;
use crate::field::{is_known_class, FieldClass, Resolve};
use crate::init::init_rules;

/// How deep a chain of field subclasses is followed.
const MAX_BASES: u32 = 16;

pub struct Resolver<'e, 'p, 'a> {
    pub eval: &'e mut Evaluator<'p, 'a>,
    pub module: ModuleId,
    pub apps: &'e Apps,
    /// Scopes around the expressions read (a comprehension's), innermost last.
    pub scopes: &'e [Scope<'a>],
}

impl<'a> Resolver<'_, '_, 'a> {
    fn value(&mut self, expr: &'a Expr) -> Option<Value<'a>> {
        let scopes: Vec<&Scope<'a>> = self.scopes.iter().collect();
        self.eval.eval(self.module, &scopes, expr)
    }

    /// A class Django ships, by its dotted path (`django.db.models.CharField`).
    fn django_class(dotted: &str) -> Option<String> {
        let last = dotted.rsplit('.').next()?;
        (dotted.starts_with("django.") || is_known_class(last)).then(|| last.to_string())
    }

    fn class_of(&mut self, module: ModuleId, class: &'a ast::StmtClassDef, depth: u32) -> Option<FieldClass> {
        if depth > MAX_BASES {
            return None;
        }
        let custom = class.body.iter().any(|s| matches!(s, Stmt::FunctionDef(f) if f.name.as_str() == "db_type"));
        for base in class.bases() {
            let found = match self.eval.eval(module, &[], base) {
                Some(Value::Module(m)) => Self::django_class(&m.path.dotted)
                    .filter(|c| is_known_class(c))
                    .map(|base| FieldClass::new(base, "")),
                Some(Value::Class { module, class }) => self.class_of(module, class, depth + 1),
                _ => None,
            };
            if let Some(mut found) = found {
                found.written = class.name.to_string();
                found.custom_db_type |= custom;
                // This class's `__init__` runs before its base's.
                let mut init = init_rules(class);
                init.append(&mut found.init);
                found.init = init;
                return Some(found);
            }
        }
        None
    }
}

impl<'a> Resolve<'a> for Resolver<'_, '_, 'a> {
    fn literal(&mut self, expr: &'a Expr) -> Option<Literal> {
        match self.value(expr)? {
            Value::Const(c) => Some(match c.value {
                ConstValue::Str(text) => Literal::Str(text.value()),
                ConstValue::Other(l) => l,
            }),
            _ => None,
        }
    }

    fn field_class(&mut self, callee: &'a Expr) -> Option<FieldClass> {
        match self.value(callee)? {
            Value::Module(m) => {
                let dotted = &m.path.dotted;
                let last = dotted.rsplit('.').next()?.to_string();
                let base = Self::django_class(dotted).unwrap_or_else(|| last.clone());
                Some(FieldClass::new(base, last))
            }
            Value::Class { module, class } => self.class_of(module, class, 0),
            _ => None,
        }
    }

    fn model_ref(&mut self, expr: &'a Expr) -> Option<String> {
        match self.value(expr)? {
            Value::Const(c) => match c.value {
                ConstValue::Str(text) => Some(text.value()),
                ConstValue::Other(_) => None,
            },
            Value::Class { module, class } => {
                let path = self.eval.project().module(module)?.file.path.clone();
                let app = self.apps.app_of(&path)?;
                Some(format!("{}.{}", app.label, class.name))
            }
            Value::Module(m) if m.path.dotted.ends_with("AUTH_USER_MODEL") => Some("auth.User".to_string()),
            _ => None,
        }
    }

    fn location(&self, expr: &Expr) -> Location {
        match self.eval.project().module(self.module) {
            Some(m) => m.file.location(expr.start().to_usize()),
            None => Location { path: "".into(), line: 1, column: 1 },
        }
    }
}
