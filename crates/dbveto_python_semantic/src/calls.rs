//! Calls of the repository's own functions: which argument each parameter
//! receives at a call site, and which function names are used as values
//! somewhere (passed as callbacks, stored, dispatched), so that some of
//! their callers are not seen as calls.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr};
use rustc_hash::FxHashSet;

use crate::bindings::DepthGuard;

/// The last name of a name or dotted reference: `models.Index` → `Index`,
/// `f` → `f`.
pub fn last_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// A callable a call runs on the caller's behalf, and the call whose
/// arguments it receives when they are known:
/// - `asyncio.to_thread(f, *args)`, `executor.submit(f, *args)`,
///   `loop.run_in_executor(executor, f, *args)`: the same call;
/// - `sync_to_async(f)(*args)`: the outer call (given `call` = the outer one);
/// - `transaction.on_commit(f)`, `threading.Thread(target=f)`,
///   `threading.Timer(t, f)`: none.
///
/// `functools.partial(f, ...)` stands for `f`. The callable runs outside the
/// caller's transaction: after its commit, or in another thread.
pub fn passed_callable(call: &ast::ExprCall) -> Option<(&Expr, Option<&ast::ExprCall>)> {
    let (callable, arguments) = match call.func.as_ref() {
        Expr::Call(inner) if matches!(last_name(&inner.func), Some("sync_to_async" | "database_sync_to_async")) => {
            (inner.arguments.find_argument_value("func", 0)?, Some(call))
        }
        func => match last_name(func)? {
            "to_thread" | "submit" => (call.arguments.args.first()?, Some(call)),
            "run_in_executor" => (call.arguments.args.get(1)?, Some(call)),
            "on_commit" => (call.arguments.find_argument_value("func", 0)?, None),
            "Thread" => (call.arguments.find_argument_value("target", 1)?, None),
            "Timer" => (call.arguments.find_argument_value("function", 1)?, None),
            _ => return None,
        },
    };
    match callable {
        Expr::Call(partial) if last_name(&partial.func) == Some("partial") => Some((partial.arguments.args.first()?, None)),
        _ => Some((callable, arguments)),
    }
}

/// How a method is bound when it is called.
pub fn method_kind(def: &ast::StmtFunctionDef) -> MethodKind {
    for decorator in &def.decorator_list {
        match last_name(&decorator.expression) {
            Some("staticmethod") => return MethodKind::Static,
            Some("classmethod") => return MethodKind::Class,
            _ => {}
        }
    }
    MethodKind::Instance
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Instance,
    Class,
    Static,
}

/// The argument each named parameter of `def` receives at `call`, in the
/// order of the parameters; `None` where it is not known statically (the
/// default, a `*args` or `**kwargs` at the call). `bound_first` skips the
/// first parameter, bound to the receiver (`self`, `cls`). A call that does
/// not match the signature leaves every parameter unknown.
pub fn bind_arguments<'a>(def: &'a ast::StmtFunctionDef, call: &'a ast::ExprCall, bound_first: bool) -> Vec<(&'a str, Option<&'a Expr>)> {
    let parameters = &def.parameters;
    let positional: Vec<&ast::Parameter> =
        parameters.posonlyargs.iter().chain(&parameters.args).map(|p| &p.parameter).skip(usize::from(bound_first)).collect();
    let keyword_only = parameters.kwonlyargs.iter().map(|p| &p.parameter);
    let mut bound: Vec<(&'a str, Option<&'a Expr>)> = positional.iter().copied().chain(keyword_only).map(|p| (p.name.as_str(), None)).collect();
    let unknown = |mut bound: Vec<(&'a str, Option<&'a Expr>)>| {
        bound.iter_mut().for_each(|(_, arg)| *arg = None);
        bound
    };
    let args = &call.arguments.args;
    if args.iter().any(Expr::is_starred_expr) || call.arguments.keywords.iter().any(|k| k.arg.is_none()) {
        return unknown(bound);
    }
    if args.len() > positional.len() && parameters.vararg.is_none() {
        return unknown(bound);
    }
    for (slot, arg) in bound.iter_mut().zip(args.iter()).take(positional.len()) {
        slot.1 = Some(arg);
    }
    let positional_only = parameters.posonlyargs.len().saturating_sub(usize::from(bound_first));
    for keyword in &call.arguments.keywords {
        let Some(name) = &keyword.arg else { continue };
        match bound.iter().position(|(n, _)| *n == name.as_str()) {
            Some(k) if k >= positional_only && bound[k].1.is_none() => bound[k].1 = Some(&keyword.value),
            Some(_) => return unknown(bound),
            None if parameters.kwarg.is_some() => {}
            None => return unknown(bound),
        }
    }
    bound
}

/// The names under which functions may be called where no call of them is
/// written: every name read other than as the callee of a call (`f` in
/// `connect(f)`, `callback=self.f`, `f.delay(...)`), bare or as an
/// attribute. `None` when the body is too deep to be read whole.
pub fn names_used_as_values(body: &[ast::Stmt]) -> Option<FxHashSet<&str>> {
    let mut collector = ValueNames { names: FxHashSet::default(), guard: DepthGuard::default() };
    collector.visit_body(body);
    (!collector.guard.reached_bound).then_some(collector.names)
}

struct ValueNames<'a> {
    names: FxHashSet<&'a str>,
    guard: DepthGuard,
}

impl<'a> Visitor<'a> for ValueNames<'a> {
    fn visit_stmt(&mut self, stmt: &'a ast::Stmt) {
        if !self.guard.enter() {
            return;
        }
        visitor::walk_stmt(self, stmt);
        self.guard.leave();
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.guard.enter() {
            return;
        }
        match expr {
            Expr::Call(call) => {
                // The callee is called, not used as a value; what it is read from is.
                match call.func.as_ref() {
                    Expr::Name(_) => {}
                    Expr::Attribute(attribute) => self.visit_expr(&attribute.value),
                    func => self.visit_expr(func),
                }
                self.visit_arguments(&call.arguments);
            }
            Expr::Name(name) => {
                self.names.insert(name.id.as_str());
            }
            Expr::Attribute(attribute) => {
                self.names.insert(attribute.attr.as_str());
                self.visit_expr(&attribute.value);
            }
            _ => visitor::walk_expr(self, expr),
        }
        self.guard.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_def_and_call(source: &str, check: impl FnOnce(&ast::StmtFunctionDef, &ast::ExprCall)) {
        let parsed = ruff_python_parser::parse_module(source).unwrap();
        let suite = parsed.suite();
        let ast::Stmt::FunctionDef(def) = &suite[0] else { panic!("no def") };
        let ast::Stmt::Expr(e) = &suite[1] else { panic!("no call") };
        let Expr::Call(call) = e.value.as_ref() else { panic!("no call") };
        check(def, call);
    }

    fn bound(source: &str, bound_first: bool) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        first_def_and_call(source, |def, call| {
            out = bind_arguments(def, call, bound_first)
                .into_iter()
                .map(|(n, a)| (n.to_string(), a.and_then(|a| a.as_name_expr().map(|n| n.id.to_string()))))
                .collect();
        });
        out
    }

    fn pairs(expected: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        expected.iter().map(|(n, a)| (n.to_string(), a.map(str::to_string))).collect()
    }

    #[test]
    fn arguments_bind_by_position_and_keyword() {
        assert_eq!(bound("def f(a, b, c=1): pass\nf(x, c=z)\n", false), pairs(&[("a", Some("x")), ("b", None), ("c", Some("z"))]));
        assert_eq!(bound("def m(self, host): pass\nm(h)\n", true), pairs(&[("host", Some("h"))]));
        assert_eq!(bound("def f(a, *, k): pass\nf(x, k=y)\n", false), pairs(&[("a", Some("x")), ("k", Some("y"))]));
    }

    #[test]
    fn calls_that_cannot_be_bound_leave_every_parameter_unknown() {
        assert_eq!(bound("def f(a, b): pass\nf(*xs)\n", false), pairs(&[("a", None), ("b", None)]));
        assert_eq!(bound("def f(a, b): pass\nf(x, **kw)\n", false), pairs(&[("a", None), ("b", None)]));
        assert_eq!(bound("def f(a): pass\nf(x, y)\n", false), pairs(&[("a", None)]));
        assert_eq!(bound("def f(a): pass\nf(x, a=y)\n", false), pairs(&[("a", None)]));
        assert_eq!(bound("def f(a): pass\nf(b=y)\n", false), pairs(&[("a", None)]));
        assert_eq!(bound("def f(a, /): pass\nf(a=y)\n", false), pairs(&[("a", None)]));
    }

    #[test]
    fn names_read_other_than_as_callees_are_values() {
        let parsed = ruff_python_parser::parse_module("f(x)\nconnect(g)\nh.delay(1)\nobj.m(2)\ncb = self.k\n").unwrap();
        let names = names_used_as_values(parsed.suite()).unwrap();
        for used in ["x", "g", "h", "obj", "k", "self"] {
            assert!(names.contains(used), "{used}");
        }
        for called in ["f", "connect", "delay", "m"] {
            assert!(!names.contains(called), "{called}");
        }
    }

    #[test]
    fn method_kinds_come_from_decorators() {
        let parsed = ruff_python_parser::parse_module("@staticmethod\ndef a(): pass\n@classmethod\ndef b(cls): pass\ndef c(self): pass\n").unwrap();
        let kinds: Vec<MethodKind> = parsed.suite().iter().filter_map(|s| s.as_function_def_stmt()).map(method_kind).collect();
        assert_eq!(kinds, [MethodKind::Static, MethodKind::Class, MethodKind::Instance]);
    }
}
