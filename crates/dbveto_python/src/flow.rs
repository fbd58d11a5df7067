//! Flow-sensitive attribute values: what each attribute of an object may
//! hold when a given statement runs (`obj.status = "a"` in one branch,
//! `"b"` in the other; a later assignment replaces an earlier one on the
//! same path). Paths that leave the block (`return`, `raise`, `break`,
//! `continue`) carry nothing further, so a value is reported only when some
//! path brings it to the statement.

use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::{Ranged, TextSize};

/// How deep nested blocks are followed.
const MAX_DEPTH: u32 = 64;

/// What each attribute of the object may hold at a point: its possible
/// values (`None` for a change that is not a plain assignment, such as
/// `obj.n += 1`), and whether anything else (`setattr`) may have changed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeValues<'a> {
    pub attributes: Vec<(&'a str, Vec<Option<&'a Expr>>)>,
    pub rest: bool,
}

impl<'a> AttributeValues<'a> {
    fn set(&mut self, attr: &'a str, value: Option<&'a Expr>) {
        self.attributes.retain(|(a, _)| *a != attr);
        self.attributes.push((attr, vec![value]));
    }

    fn join(mut self, other: &AttributeValues<'a>) -> Self {
        for (attr, values) in &other.attributes {
            match self.attributes.iter_mut().find(|(a, _)| a == attr) {
                Some((_, mine)) => {
                    for v in values {
                        if !mine.iter().any(|m| same(*m, *v)) {
                            mine.push(*v);
                        }
                    }
                }
                None => self.attributes.push((attr, values.clone())),
            }
        }
        self.rest |= other.rest;
        self
    }
}

fn same(a: Option<&Expr>, b: Option<&Expr>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => std::ptr::eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Joins the states of paths, `None` being a path that does not reach.
fn join<'a>(a: Option<AttributeValues<'a>>, b: Option<&AttributeValues<'a>>) -> Option<AttributeValues<'a>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.join(b)),
        (Some(a), None) => Some(a),
        (None, b) => b.cloned(),
    }
}

/// The values the attributes of `name` may hold when the statement of
/// `body` that contains `at` runs; `None` if no statement contains it or no
/// path reaches it.
pub fn attribute_values<'a>(body: &'a [Stmt], name: &str, at: TextSize) -> Option<AttributeValues<'a>> {
    let mut flow = Flow { name, at, found: None, recording: true };
    flow.block(body, Some(AttributeValues::default()), 0);
    flow.found
}

struct Flow<'n, 'a> {
    name: &'n str,
    at: TextSize,
    found: Option<AttributeValues<'a>>,
    /// False on the first pass over a loop body, whose state only feeds the second.
    recording: bool,
}

impl<'a> Flow<'_, 'a> {
    fn is_name(&self, e: &Expr) -> bool {
        matches!(e, Expr::Name(n) if n.id.as_str() == self.name)
    }

    /// The state after `body` from `state`; `None` when no path falls through.
    fn block(&mut self, body: &'a [Stmt], mut state: Option<AttributeValues<'a>>, depth: u32) -> Option<AttributeValues<'a>> {
        for stmt in body {
            if self.found.is_some() && self.recording {
                return None;
            }
            state = self.stmt(stmt, state, depth);
        }
        state
    }

    fn stmt(&mut self, stmt: &'a Stmt, state: Option<AttributeValues<'a>>, depth: u32) -> Option<AttributeValues<'a>> {
        let contains = stmt.range().contains(self.at) || stmt.start() == self.at;
        if depth > MAX_DEPTH {
            return None;
        }
        match stmt {
            Stmt::If(s) => {
                let mut out = self.block(&s.body, state.clone(), depth + 1);
                let mut has_else = false;
                for clause in &s.elif_else_clauses {
                    has_else |= clause.test.is_none();
                    let branch = self.block(&clause.body, state.clone(), depth + 1);
                    out = join(out, branch.as_ref());
                }
                if !has_else {
                    out = join(out, state.as_ref());
                }
                out
            }
            Stmt::For(ast::StmtFor { body, orelse, .. }) | Stmt::While(ast::StmtWhile { body, orelse, .. }) => {
                // Once without recording, to know what a later iteration starts from.
                let recording = std::mem::replace(&mut self.recording, false);
                let once = self.block(body, state.clone(), depth + 1);
                self.recording = recording;
                let entry = join(state, once.as_ref());
                let again = self.block(body, entry.clone(), depth + 1);
                let after = join(entry, again.as_ref());
                self.block(orelse, after, depth + 1)
            }
            Stmt::With(s) => self.block(&s.body, state, depth + 1),
            Stmt::Try(s) => {
                let before = state.clone();
                let body = self.block(&s.body, state, depth + 1);
                // A handler runs after some prefix of the body: from the
                // state before it or the one after it.
                let entry = join(before, body.as_ref());
                let mut out = self.block(&s.orelse, body, depth + 1);
                for handler in &s.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = handler;
                    let handled = self.block(&h.body, entry.clone(), depth + 1);
                    out = join(out, handled.as_ref());
                }
                if s.finalbody.is_empty() {
                    out
                } else {
                    let all = join(out.clone(), entry.as_ref());
                    let finished = self.block(&s.finalbody, all, depth + 1);
                    // Only paths that reached the end of the try go on.
                    finished.and(out)
                }
            }
            Stmt::Match(s) => {
                let mut out = None;
                for case in &s.cases {
                    let branch = self.block(&case.body, state.clone(), depth + 1);
                    out = join(out, branch.as_ref());
                }
                join(out, state.as_ref())
            }
            Stmt::Return(_) | Stmt::Raise(_) | Stmt::Break(_) | Stmt::Continue(_) => {
                if contains {
                    self.record(state);
                }
                None
            }
            // Other scopes.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => state,
            simple => {
                if contains {
                    self.record(state.clone());
                }
                state.map(|s| self.effect(simple, s))
            }
        }
    }

    fn record(&mut self, state: Option<AttributeValues<'a>>) {
        if self.recording && self.found.is_none() {
            if let Some(state) = state {
                self.found = Some(state);
            }
        }
    }

    /// What a simple statement does to the object's attributes.
    fn effect(&self, stmt: &'a Stmt, mut state: AttributeValues<'a>) -> AttributeValues<'a> {
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    match target {
                        Expr::Attribute(t) if self.is_name(&t.value) => state.set(t.attr.as_str(), Some(&a.value)),
                        // A new object under the name.
                        Expr::Name(_) if self.is_name(target) => state = AttributeValues::default(),
                        _ => {}
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let Expr::Attribute(t) = a.target.as_ref() {
                    if self.is_name(&t.value) {
                        state.set(t.attr.as_str(), a.value.as_deref());
                    }
                }
            }
            Stmt::AugAssign(a) => {
                if let Expr::Attribute(t) = a.target.as_ref() {
                    if self.is_name(&t.value) {
                        state.set(t.attr.as_str(), None);
                    }
                }
            }
            Stmt::Expr(e) => {
                // `setattr(obj, ...)`: any attribute.
                if let Expr::Call(c) = e.value.as_ref() {
                    if matches!(c.func.as_ref(), Expr::Name(f) if f.id.as_str() == "setattr") && c.arguments.args.first().is_some_and(|a| self.is_name(a)) {
                        state.rest = true;
                    }
                }
            }
            _ => {}
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values of `obj`'s attributes at the line holding `obj.save()`.
    fn at_save(source: &str) -> Vec<(String, Vec<String>)> {
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let body = &parsed.syntax().body;
        let at = TextSize::try_from(source.find("obj.save()").expect("a save")).expect("offset");
        let values = attribute_values(body, "obj", at).expect("reached");
        values
            .attributes
            .iter()
            .map(|(a, vs)| (a.to_string(), vs.iter().map(|v| v.map_or("?".to_string(), |e| source[e.range()].to_string())).collect()))
            .collect()
    }

    fn pairs(items: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
        items.iter().map(|(a, vs)| (a.to_string(), vs.iter().map(|v| v.to_string()).collect())).collect()
    }

    #[test]
    fn a_later_assignment_replaces_an_earlier_one() {
        assert_eq!(at_save("obj.s = 'a'\nobj.s = 'b'\nobj.save()\n"), pairs(&[("s", &["'b'"])]));
    }

    #[test]
    fn branches_join() {
        let source = "if c:\n    obj.s = 'a'\nelse:\n    obj.s = 'b'\nobj.save()\n";
        assert_eq!(at_save(source), pairs(&[("s", &["'a'", "'b'"])]));
        let without_else = "obj.s = 'x'\nif c:\n    obj.s = 'a'\nobj.save()\n";
        assert_eq!(at_save(without_else), pairs(&[("s", &["'a'", "'x'"])]));
    }

    #[test]
    fn a_handler_sees_what_it_reassigns_not_what_the_body_set() {
        let source = "obj.s = 'syncing'\ntry:\n    obj.s = 'done'\n    work()\nexcept E:\n    obj.s = 'error'\n    obj.save()\n";
        assert_eq!(at_save(source), pairs(&[("s", &["'error'"])]));
        let unassigned = "obj.s = 'syncing'\ntry:\n    obj.s = 'done'\nexcept E:\n    obj.save()\n";
        assert_eq!(at_save(unassigned), pairs(&[("s", &["'syncing'", "'done'"])]));
    }

    #[test]
    fn paths_that_leave_carry_nothing() {
        let source = "if c:\n    obj.s = 'a'\n    return\nobj.s2 = 1\nobj.save()\n";
        assert_eq!(at_save(source), pairs(&[("s2", &["1"])]));
    }

    #[test]
    fn a_loop_brings_its_last_iteration_around() {
        let source = "obj.s = 'a'\nfor x in xs:\n    obj.save()\n    obj.s = 'b'\n";
        assert_eq!(at_save(source), pairs(&[("s", &["'a'", "'b'"])]));
    }

    #[test]
    fn changes_that_are_not_assignments_are_unknown() {
        let source = "obj.n += 1\nsetattr(obj, k, v)\nobj.save()\n";
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let at = TextSize::try_from(source.find("obj.save()").expect("save")).expect("offset");
        let values = attribute_values(&parsed.syntax().body, "obj", at).expect("reached");
        assert!(values.rest);
        assert_eq!(values.attributes.len(), 1);
        assert!(values.attributes[0].1 == vec![None]);
    }
}
