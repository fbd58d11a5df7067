//! The model of a parameter that only its callers tell: `def retire(host):
//! host.state = "retired"; host.save()` with every call passing a `Host`
//! loaded from the database.
//!
//! A parameter is typed only when every call of its function in the
//! repository is seen and bound, and all pass objects of one model: a
//! function whose name is also used as a value (a callback, `f.delay(...)`,
//! a signal's `connect(f)`) or called where dbveto cannot tell which
//! function runs (`obj.f(...)` on an unknown object, `super().f(...)`, a
//! method that another class of the repository also defines) may receive
//! anything.

use dbveto_python_semantic::{ModuleId, ProjectIndex};
use ruff_python_ast::{self as ast, Stmt};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::models::Model;

/// A parameter: the module and offset of its `def`, and its name.
pub type ParamKey = (ModuleId, u32, String);

/// What one call site passes to one parameter of the function it names:
/// a model's object loaded from the database, or something else.
pub struct Passed<'p> {
    pub param: ParamKey,
    pub function: String,
    pub model: Option<&'p Model>,
}

/// What the call sites of one walk over the project saw.
#[derive(Default)]
pub struct CallSites<'p> {
    pub passed: Vec<Passed<'p>>,
    /// Names called where the callee could not be told.
    pub unresolved: FxHashSet<String>,
}

/// The parameters typed by their callers.
#[derive(Default)]
pub struct Callers<'p> {
    params: FxHashMap<ParamKey, &'p Model>,
}

impl<'p> Callers<'p> {
    /// The table one walk's call sites (each module's) make;
    /// `used_as_values` holds the names the project uses other than as
    /// callees.
    pub fn new<'s>(sites: impl Iterator<Item = &'s CallSites<'p>> + Clone, used_as_values: &FxHashSet<&str>) -> Self
    where
        'p: 's,
    {
        let unresolved: FxHashSet<&str> = sites.clone().flat_map(|s| s.unresolved.iter().map(String::as_str)).collect();
        let mut seen: FxHashMap<&ParamKey, Option<&'p Model>> = FxHashMap::default();
        for Passed { param, function, model } in sites.flat_map(|s| s.passed.iter()) {
            let fully_seen = !unresolved.contains(function.as_str()) && !used_as_values.contains(function.as_str());
            let model = model.filter(|_| fully_seen);
            match seen.get_mut(param) {
                Some(known) => {
                    if !matches!((*known, model), (Some(a), Some(b)) if std::ptr::eq(a, b)) {
                        *known = None;
                    }
                }
                None => {
                    seen.insert(param, model);
                }
            }
        }
        Callers { params: seen.into_iter().filter_map(|(k, m)| Some((k.clone(), m?))).collect() }
    }

    pub fn model(&self, key: &ParamKey) -> Option<&'p Model> {
        self.params.get(key).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The modules of the parameters this table types otherwise than
    /// `before` does.
    pub fn modules_changed_from(&self, before: &Callers<'p>) -> FxHashSet<ModuleId> {
        let differs = |a: &Callers<'p>, b: &Callers<'p>| {
            a.params.iter().filter(|(k, m)| !b.params.get(*k).is_some_and(|o| std::ptr::eq(**m, *o))).map(|(k, _)| k.0).collect::<Vec<_>>()
        };
        differs(self, before).into_iter().chain(differs(before, self)).collect()
    }
}

/// Every name the project's modules use as a value; `None` when a module
/// is too deep to be read whole, and no parameter can be typed by callers.
pub fn used_as_values<'a>(index: &ProjectIndex<'a>) -> Option<FxHashSet<&'a str>> {
    use rayon::prelude::*;
    index.modules.par_iter().map(|m| dbveto_python_semantic::names_used_as_values(m.body)).try_reduce(FxHashSet::default, |mut all, names| {
        all.extend(names);
        Some(all)
    })
}

/// The names under which the repository's functions may be called: the
/// name of every function at any depth, and every name an import binds
/// under another (`from .ops import retire as r`). A call whose last name
/// is none of them runs no function of the repository (a function bound
/// to another name by assignment is used as a value, and never typed).
pub fn callable_names<'a>(index: &ProjectIndex<'a>) -> FxHashSet<&'a str> {
    fn collect<'a>(body: &'a [Stmt], depth: u32, out: &mut FxHashSet<&'a str>) {
        if depth > dbveto_python_semantic::MAX_DEPTH {
            return;
        }
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    out.insert(f.name.as_str());
                    collect(&f.body, depth + 1, out);
                }
                Stmt::ClassDef(c) => collect(&c.body, depth + 1, out),
                Stmt::ImportFrom(i) => out.extend(i.names.iter().filter_map(|a| a.asname.as_ref()).map(|n| n.as_str())),
                Stmt::If(s) => {
                    collect(&s.body, depth + 1, out);
                    for clause in &s.elif_else_clauses {
                        collect(&clause.body, depth + 1, out);
                    }
                }
                Stmt::For(s) => {
                    collect(&s.body, depth + 1, out);
                    collect(&s.orelse, depth + 1, out);
                }
                Stmt::While(s) => {
                    collect(&s.body, depth + 1, out);
                    collect(&s.orelse, depth + 1, out);
                }
                Stmt::With(s) => collect(&s.body, depth + 1, out),
                Stmt::Try(t) => {
                    collect(&t.body, depth + 1, out);
                    for handler in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = handler;
                        collect(&h.body, depth + 1, out);
                    }
                    collect(&t.orelse, depth + 1, out);
                    collect(&t.finalbody, depth + 1, out);
                }
                Stmt::Match(m) => {
                    for case in &m.cases {
                        collect(&case.body, depth + 1, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut names = FxHashSet::default();
    for module in &index.modules {
        collect(module.body, 0, &mut names);
    }
    names
}

/// Method names that more than one class of the project defines: a call
/// of one through `self` may run any of them (an override).
pub fn shared_method_names(index: &ProjectIndex<'_>) -> FxHashSet<String> {
    let mut count: FxHashMap<&str, u32> = FxHashMap::default();
    for module in &index.modules {
        let mut classes: Vec<(&ast::StmtClassDef, u32)> = module.body.iter().filter_map(Stmt::as_class_def_stmt).map(|c| (c, 0)).collect();
        while let Some((class, depth)) = classes.pop() {
            for stmt in &class.body {
                match stmt {
                    Stmt::FunctionDef(f) => *count.entry(f.name.as_str()).or_default() += 1,
                    Stmt::ClassDef(inner) if depth < 8 => classes.push((inner, depth + 1)),
                    _ => {}
                }
            }
        }
    }
    count.into_iter().filter(|(_, n)| *n > 1).map(|(name, _)| name.to_string()).collect()
}
