//! What a migration's `RunPython` function does, as far as the schema
//! reading needs: the models whose rows it deletes outright, and whether it
//! changes the schema itself through its `schema_editor`.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};

/// The `schema_editor` methods that change the schema.
const SCHEMA_CHANGES: &[&str] = &[
    "execute", "create_model", "delete_model", "add_field", "remove_field", "alter_field", "add_index",
    "remove_index", "add_constraint", "remove_constraint", "alter_db_table", "alter_unique_together",
];

#[derive(Debug, Default, PartialEq)]
pub struct Effects {
    /// `(app_label, model_name)` of models all of whose rows the function
    /// deletes unconditionally (`M.objects.all().delete()` at the top of its
    /// body, `M` from `apps.get_model(...)`).
    pub emptied: Vec<(String, String)>,
    /// It calls a method of its `schema_editor` that changes the schema.
    pub changes_schema: bool,
}

/// The function a `RunPython(code=...)` names, defined at the top of the
/// migration module.
pub fn function<'a>(module: &'a [Stmt], code: &Expr) -> Option<&'a ast::StmtFunctionDef> {
    let Expr::Name(name) = code else { return None };
    module.iter().rev().find_map(|stmt| match stmt {
        Stmt::FunctionDef(f) if f.name.as_str() == name.id.as_str() => Some(f),
        _ => None,
    })
}

pub fn effects(function: &ast::StmtFunctionDef) -> Effects {
    let params: Vec<&str> = function.parameters.iter_non_variadic_params().map(|p| p.parameter.name.as_str()).collect();
    let mut effects = Effects::default();
    if let Some(editor) = params.get(1) {
        let mut calls = EditorCalls { editor, found: false, guard: Default::default() };
        calls.visit_body(&function.body);
        effects.changes_schema = calls.found;
    }
    let Some(apps) = params.first() else { return effects };
    // Names bound at the top of the body to `apps.get_model(app, model)`.
    let mut models: Vec<(&str, (String, String))> = Vec::new();
    for stmt in &function.body {
        match stmt {
            Stmt::Assign(assign) => {
                if let ([Expr::Name(target)], Some(model)) = (&assign.targets[..], get_model(&assign.value, apps)) {
                    models.retain(|(n, _)| *n != target.id.as_str());
                    models.push((target.id.as_str(), model));
                }
            }
            Stmt::Expr(e) => {
                if let Some(name) = deletes_all(&e.value) {
                    if let Some((_, model)) = models.iter().find(|(n, _)| *n == name) {
                        effects.emptied.push(model.clone());
                    }
                }
            }
            _ => {}
        }
    }
    effects
}

/// `apps.get_model("app", "Model")`, by position or keyword.
fn get_model(expr: &Expr, apps: &str) -> Option<(String, String)> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Attribute(method) = call.func.as_ref() else { return None };
    if method.attr.as_str() != "get_model" || !matches!(method.value.as_ref(), Expr::Name(n) if n.id.as_str() == apps) {
        return None;
    }
    let arg = |i: usize, name: &str| {
        let value = crate::field::keyword(call, name).or_else(|| call.arguments.args.get(i))?;
        value.as_string_literal_expr().map(|s| s.value.to_str().to_string())
    };
    match (arg(0, "app_label"), arg(1, "model_name")) {
        (Some(app), Some(model)) => Some((app, model)),
        // `get_model("app.Model")`.
        (Some(dotted), None) => dotted.split_once('.').map(|(a, m)| (a.to_string(), m.to_string())),
        _ => None,
    }
}

/// `M.objects.all().delete()` or `M.objects.delete()`: the name `M`.
fn deletes_all(expr: &Expr) -> Option<&str> {
    let Expr::Call(call) = expr else { return None };
    let Expr::Attribute(delete) = call.func.as_ref() else { return None };
    if delete.attr.as_str() != "delete" || !call.arguments.is_empty() {
        return None;
    }
    let manager = match delete.value.as_ref() {
        Expr::Call(all) if all.arguments.is_empty() => match all.func.as_ref() {
            Expr::Attribute(a) if a.attr.as_str() == "all" => a.value.as_ref(),
            _ => return None,
        },
        other => other,
    };
    let Expr::Attribute(objects) = manager else { return None };
    match objects.value.as_ref() {
        Expr::Name(model) if objects.attr.as_str() == "objects" => Some(model.id.as_str()),
        _ => None,
    }
}

struct EditorCalls<'n> {
    editor: &'n str,
    found: bool,
    guard: dbveto_python_semantic::DepthGuard,
}

impl<'a> Visitor<'a> for EditorCalls<'_> {
    fn visit_stmt(&mut self, stmt: &'a ruff_python_ast::Stmt) {
        if !self.found && self.guard.enter() {
            visitor::walk_stmt(self, stmt);
            self.guard.leave();
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.found || !self.guard.enter() {
            return;
        }
        if let Expr::Call(call) = expr {
            if let Expr::Attribute(method) = call.func.as_ref() {
                if SCHEMA_CHANGES.contains(&method.attr.as_str()) && matches!(method.value.as_ref(), Expr::Name(n) if n.id.as_str() == self.editor) {
                    self.found = true;
                }
            }
        }
        if !self.found {
            visitor::walk_expr(self, expr);
        }
        self.guard.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects_of(source: &str) -> Effects {
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let body = &parsed.syntax().body;
        let code = ruff_python_parser::parse_expression("forwards").expect("parses");
        effects(function(body, code.expr()).expect("function"))
    }

    #[test]
    fn rows_deleted_outright_empty_the_table() {
        let e = effects_of("def forwards(apps, _):\n    Cache = apps.get_model('users', 'BanCache')\n    Cache.objects.all().delete()\n");
        assert_eq!(e.emptied, [("users".to_string(), "BanCache".to_string())]);
        assert!(!e.changes_schema);
    }

    #[test]
    fn a_filtered_or_conditional_delete_does_not() {
        let filtered = "def forwards(apps, _):\n    M = apps.get_model('a', 'M')\n    M.objects.filter(x=1).delete()\n";
        assert!(effects_of(filtered).emptied.is_empty());
        let conditional = "def forwards(apps, _):\n    M = apps.get_model('a', 'M')\n    if flag:\n        M.objects.all().delete()\n";
        assert!(effects_of(conditional).emptied.is_empty());
    }

    #[test]
    fn schema_editor_calls_change_the_schema() {
        let e = effects_of("def forwards(apps, schema_editor):\n    with x:\n        schema_editor.remove_field(model=M, field=f)\n");
        assert!(e.changes_schema);
        let e = effects_of("def forwards(apps, schema_editor):\n    alias = schema_editor.connection.alias\n");
        assert!(!e.changes_schema);
    }
}
