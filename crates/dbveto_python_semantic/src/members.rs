//! Where a member of an object is assigned across a body, in any order:
//! `self.host = ...` in the methods of a class.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt};

use crate::bindings::DepthGuard;

/// The values assigned to `receiver.attr` in `body` (nested functions and
/// classes, being other scopes, are not read). `None` when it is changed
/// otherwise (`receiver.attr += 1`, an unpacking, `setattr(receiver, ...)`,
/// `del`) or the body is too deep to be read whole.
pub fn member_assignments<'a>(body: &'a [Stmt], receiver: &str, attr: &str) -> Option<Vec<&'a Expr>> {
    let mut collector = Assignments { receiver, attr, values: Vec::new(), unknown: false, guard: DepthGuard::default() };
    collector.visit_body(body);
    (!collector.unknown && !collector.guard.reached_bound).then_some(collector.values)
}

struct Assignments<'n, 'a> {
    receiver: &'n str,
    attr: &'n str,
    values: Vec<&'a Expr>,
    unknown: bool,
    guard: DepthGuard,
}

impl Assignments<'_, '_> {
    fn is_member(&self, e: &Expr) -> bool {
        matches!(e, Expr::Attribute(a) if a.attr.as_str() == self.attr && matches!(a.value.as_ref(), Expr::Name(n) if n.id.as_str() == self.receiver))
    }

    /// Whether the member is among the targets of an unpacking.
    fn in_unpacking(&self, target: &Expr) -> bool {
        match target {
            Expr::Tuple(t) => t.elts.iter().any(|e| self.in_unpacking(e)),
            Expr::List(l) => l.elts.iter().any(|e| self.in_unpacking(e)),
            Expr::Starred(s) => self.in_unpacking(&s.value),
            other => self.is_member(other),
        }
    }
}

impl<'a> Visitor<'a> for Assignments<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !self.guard.enter() {
            return;
        }
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Assign(a) => {
                for target in &a.targets {
                    if self.is_member(target) {
                        self.values.push(&a.value);
                    } else if self.in_unpacking(target) {
                        self.unknown = true;
                    }
                }
            }
            Stmt::AnnAssign(a) if self.is_member(&a.target) => self.values.extend(a.value.as_deref()),
            Stmt::AugAssign(a) if self.is_member(&a.target) => self.unknown = true,
            Stmt::Delete(d) if d.targets.iter().any(|t| self.is_member(t)) => self.unknown = true,
            Stmt::For(f) if self.in_unpacking(&f.target) => self.unknown = true,
            Stmt::With(w) if w.items.iter().any(|i| i.optional_vars.as_deref().is_some_and(|v| self.in_unpacking(v))) => self.unknown = true,
            _ => {}
        }
        if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
            visitor::walk_stmt(self, stmt);
        }
        self.guard.leave();
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.guard.enter() {
            return;
        }
        match expr {
            // Other scopes.
            Expr::Lambda(_) => {}
            // `setattr(self, ...)` anywhere.
            Expr::Call(call)
                if matches!(call.func.as_ref(), Expr::Name(f) if f.id.as_str() == "setattr")
                    && matches!(call.arguments.args.first(), Some(Expr::Name(n)) if n.id.as_str() == self.receiver) =>
            {
                self.unknown = true;
            }
            _ => visitor::walk_expr(self, expr),
        }
        self.guard.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assigned(source: &str) -> Option<Vec<String>> {
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        member_assignments(parsed.suite(), "self", "host").map(|values| values.iter().map(|v| source[ruff_text_size::Ranged::range(*v)].to_string()).collect())
    }

    #[test]
    fn assignments_in_any_branch_are_collected() {
        assert_eq!(assigned("self.host = a\nif c:\n    self.host = b\nself.other = c\n"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(assigned("def inner():\n    self.host = x\n"), Some(vec![]));
    }

    #[test]
    fn other_changes_make_it_unknown() {
        assert_eq!(assigned("self.host += 1\n"), None);
        assert_eq!(assigned("self.host, y = pair\n"), None);
        assert_eq!(assigned("setattr(self, name, v)\n"), None);
        assert_eq!(assigned("for self.host in xs:\n    pass\n"), None);
    }
}
