//! Flow-sensitive member values: what each attribute of an object, or each
//! key of a dict, may hold when a given statement runs (`obj.status = "a"`
//! in one branch, `"b"` in the other; a later assignment replaces an
//! earlier one on the same path). Paths that leave the block (`return`, `raise`, `break`,
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
    /// Members set on some paths only: on the others they hold what they
    /// held before (an attribute its constructor's or loaded value, a dict
    /// no such key).
    pub maybe_absent: Vec<&'a str>,
    pub rest: bool,
}

impl<'a> AttributeValues<'a> {
    fn set(&mut self, attr: &'a str, value: Option<&'a Expr>) {
        self.attributes.retain(|(a, _)| *a != attr);
        self.maybe_absent.retain(|a| *a != attr);
        self.attributes.push((attr, vec![value]));
    }

    fn join(mut self, other: &AttributeValues<'a>) -> Self {
        let one_sided: Vec<&'a str> = self
            .attributes
            .iter()
            .map(|(a, _)| *a)
            .filter(|a| !other.attributes.iter().any(|(b, _)| b == a))
            .chain(other.attributes.iter().map(|(b, _)| *b).filter(|b| !self.attributes.iter().any(|(a, _)| a == b)))
            .collect();
        for a in one_sided.into_iter().chain(other.maybe_absent.iter().copied()) {
            if !self.maybe_absent.contains(&a) {
                self.maybe_absent.push(a);
            }
        }
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

/// Whether `e` is the name or dotted path `path` (`obj`, `self.obj`).
fn is_path(e: &Expr, path: &str) -> bool {
    match e {
        Expr::Name(n) => n.id.as_str() == path,
        Expr::Attribute(a) => path.rsplit_once('.').is_some_and(|(head, attr)| a.attr.as_str() == attr && is_path(&a.value, head)),
        _ => false,
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

/// The values the attributes of `name` (a name or a dotted path such as
/// `self.obj`) may hold when the statement of `body` that contains `at`
/// runs; `None` if no statement contains it or no path reaches it.
pub fn attribute_values<'a>(body: &'a [Stmt], name: &str, at: TextSize) -> Option<AttributeValues<'a>> {
    let mut flow = Flow { name, members: Members::Attributes, at, found: None, recording: true };
    flow.block(body, Some(AttributeValues::default()), 0);
    flow.found
}

/// The entries the dict bound to `name` may hold when the statement of
/// `body` that contains `at` runs: from the dict display or `dict(...)` it
/// was bound to, `name["key"] = value` and `name.update(...)` since. `rest`
/// when it may hold other keys (bound to anything else, a key that is not
/// a string literal, `**` of something unknown, `pop`, `del`). `None` if
/// nothing in `body` binds it or no path reaches `at`.
pub fn dict_entries<'a>(body: &'a [Stmt], name: &str, at: TextSize) -> Option<AttributeValues<'a>> {
    // Until bound in this body, it holds what dbveto does not see.
    let unbound = AttributeValues { rest: true, ..AttributeValues::default() };
    let mut flow = Flow { name, members: Members::Keys, at, found: None, recording: true };
    flow.block(body, Some(unbound), 0);
    flow.found
}

#[derive(Clone, Copy, PartialEq)]
enum Members {
    Attributes,
    Keys,
}

struct Flow<'n, 'a> {
    name: &'n str,
    members: Members,
    at: TextSize,
    found: Option<AttributeValues<'a>>,
    /// False on the first pass over a loop body, whose state only feeds the second.
    recording: bool,
}

impl<'a> Flow<'_, 'a> {
    fn is_name(&self, e: &Expr) -> bool {
        is_path(e, self.name)
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
    fn effect(&self, stmt: &'a Stmt, state: AttributeValues<'a>) -> AttributeValues<'a> {
        match self.members {
            Members::Attributes => self.attribute_effect(stmt, state),
            Members::Keys => self.key_effect(stmt, state),
        }
    }

    /// What a simple statement does to the dict's entries.
    fn key_effect(&self, stmt: &'a Stmt, mut state: AttributeValues<'a>) -> AttributeValues<'a> {
        let key = |e: &'a Expr| e.as_string_literal_expr().map(|s| s.value.to_str());
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    match target {
                        Expr::Name(_) if self.is_name(target) => state = entries_of(&a.value),
                        Expr::Subscript(t) if self.is_name(&t.value) => match key(&t.slice) {
                            Some(k) => state.set(k, Some(&a.value)),
                            None => state.rest = true,
                        },
                        _ => {}
                    }
                }
            }
            Stmt::AugAssign(a) => {
                if let Expr::Subscript(t) = a.target.as_ref() {
                    if self.is_name(&t.value) {
                        match key(&t.slice) {
                            Some(k) => state.set(k, None),
                            None => state.rest = true,
                        }
                    }
                }
            }
            Stmt::Delete(d) if d.targets.iter().any(|t| matches!(t, Expr::Subscript(s) if self.is_name(&s.value))) => state.rest = true,
            Stmt::Expr(e) => {
                let Expr::Call(call) = e.value.as_ref() else { return state };
                let Expr::Attribute(method) = call.func.as_ref() else { return state };
                if !self.is_name(&method.value) {
                    return state;
                }
                match method.attr.as_str() {
                    "update" => {
                        let given = entries_of_call(call);
                        for (k, v) in given.attributes {
                            state.attributes.retain(|(a, _)| *a != k);
                            state.maybe_absent.retain(|a| *a != k);
                            state.attributes.push((k, v));
                        }
                        state.rest |= given.rest;
                    }
                    "get" | "items" | "keys" | "values" | "copy" => {}
                    _ => state.rest = true,
                }
            }
            _ => {}
        }
        state
    }

    /// What a simple statement does to the object's attributes.
    fn attribute_effect(&self, stmt: &'a Stmt, mut state: AttributeValues<'a>) -> AttributeValues<'a> {
        match stmt {
            Stmt::Assign(a) => {
                for target in &a.targets {
                    match target {
                        Expr::Attribute(t) if self.is_name(&t.value) => state.set(t.attr.as_str(), Some(&a.value)),
                        // A new object under the name.
                        _ if self.is_name(target) => state = AttributeValues::default(),
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

/// The entries of a dict display or `dict(...)` call; anything else may
/// hold any key.
fn entries_of(value: &Expr) -> AttributeValues<'_> {
    match value {
        Expr::Dict(dict) => {
            let mut out = AttributeValues::default();
            for item in dict.items.iter() {
                match &item.key {
                    Some(Expr::StringLiteral(k)) => out.set(k.value.to_str(), Some(&item.value)),
                    _ => out.rest = true,
                }
            }
            out
        }
        Expr::Call(call) if matches!(call.func.as_ref(), Expr::Name(n) if n.id.as_str() == "dict") => entries_of_call(call),
        _ => AttributeValues { rest: true, ..AttributeValues::default() },
    }
}

/// `f({...})`, `f(key=value)`, as `dict(...)` and `d.update(...)` take them.
fn entries_of_call(call: &ast::ExprCall) -> AttributeValues<'_> {
    let mut out = match &call.arguments.args[..] {
        [] => AttributeValues::default(),
        [one] => entries_of(one),
        _ => AttributeValues { rest: true, ..AttributeValues::default() },
    };
    for kw in call.arguments.keywords.iter() {
        match &kw.arg {
            Some(k) => out.set(k.as_str(), Some(&kw.value)),
            None => out.rest = true,
        }
    }
    out
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
    fn a_dotted_path_is_followed_like_a_name() {
        let source = "self.obj.s = 'a'\nself.other.s = 'x'\nself.obj = load()\nself.obj.t = 'b'\nself.obj.save()\n";
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let at = TextSize::try_from(source.find("self.obj.save()").expect("a save")).expect("offset");
        let values = attribute_values(&parsed.syntax().body, "self.obj", at).expect("reached");
        let attrs: Vec<&str> = values.attributes.iter().map(|(a, _)| *a).collect();
        // A new object under the path forgets what the old one was given.
        assert_eq!(attrs, ["t"]);
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

    fn entries_at(source: &str) -> (Vec<(String, Vec<String>)>, bool) {
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let at = TextSize::try_from(source.find("create(").expect("a create")).expect("offset");
        let values = dict_entries(&parsed.syntax().body, "fields", at).expect("reached");
        let mut pairs: Vec<(String, Vec<String>)> = values
            .attributes
            .iter()
            .map(|(a, vs)| (a.to_string(), vs.iter().map(|v| v.map_or("?".to_string(), |e| source[e.range()].to_string())).collect()))
            .collect();
        pairs.sort();
        (pairs, values.rest)
    }

    #[test]
    fn dict_entries_follow_the_display_item_assignments_and_update() {
        let source = "fields = {'a': 1}\nfields['b'] = 2\nfields.update(c=3)\nif x:\n    fields['a'] = 4\nM.objects.create(**fields)\n";
        assert_eq!(entries_at(source), (pairs(&[("a", &["4", "1"]), ("b", &["2"]), ("c", &["3"])]), false));
    }

    #[test]
    fn a_member_set_on_one_path_may_be_absent() {
        let source = "fields = {'a': 1}\nif x:\n    fields['b'] = 2\nM.objects.create(**fields)\n";
        let parsed = ruff_python_parser::parse_module(source).expect("parses");
        let at = TextSize::try_from(source.find("create(").expect("create")).expect("offset");
        let values = dict_entries(&parsed.syntax().body, "fields", at).expect("reached");
        assert_eq!(values.maybe_absent, ["b"]);
    }

    #[test]
    fn a_dict_from_elsewhere_may_hold_any_key() {
        assert!(entries_at("fields = build()\nfields['a'] = 1\nM.objects.create(**fields)\n").1);
        // A parameter, or a name bound nowhere in the body.
        assert!(entries_at("M.objects.create(**fields)\n").1);
        assert!(entries_at("fields = {}\nfields[k] = 1\nM.objects.create(**fields)\n").1);
        assert!(entries_at("fields = {'a': 1}\nfields.pop('a')\nM.objects.create(**fields)\n").1);
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
