//! Every function and method of the repository, with its qualified name
//! and its lines, so that calls, decorators and writes can be tied to it.

use dbveto_python_semantic::{ModuleId, ProjectIndex};
use dbveto_source::Location;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::FxHashMap;

/// Index of a function in [`Defs::functions`].
pub type FnId = usize;

const MAX_DEPTH: u32 = 100;

pub struct Function<'a> {
    pub module: ModuleId,
    pub def: &'a ast::StmtFunctionDef,
    /// The class whose body defines it: it is a method.
    pub class: Option<&'a ast::StmtClassDef>,
    /// `Class.method`, `function`, `outer.inner`.
    pub qualname: String,
    pub location: Location,
    pub last_line: u32,
}

#[derive(Default)]
pub struct Defs<'a> {
    pub functions: Vec<Function<'a>>,
    by_def: FxHashMap<(ModuleId, u32), FnId>,
    /// Functions defined at module level, by name: the last one wins, as in Python.
    module_functions: FxHashMap<(ModuleId, &'a str), FnId>,
    /// Methods by (module, class offset) and name.
    methods: FxHashMap<(ModuleId, u32), FxHashMap<&'a str, FnId>>,
}

impl<'a> Defs<'a> {
    pub fn collect(index: &ProjectIndex<'a>) -> Self {
        let mut defs = Defs::default();
        for module in &index.modules {
            let mut collector = Collector { defs: &mut defs, module: module.id, file: module.file, owners: Vec::new(), depth: 0 };
            collector.visit_body(module.body);
        }
        defs
    }

    pub fn of_def(&self, module: ModuleId, def: &ast::StmtFunctionDef) -> Option<FnId> {
        self.by_def.get(&(module, def.start().to_u32())).copied()
    }

    pub fn module_function(&self, module: ModuleId, name: &str) -> Option<FnId> {
        self.module_functions.get(&(module, name)).copied()
    }

    pub fn method(&self, module: ModuleId, class: &ast::StmtClassDef, name: &str) -> Option<FnId> {
        self.methods.get(&(module, class.start().to_u32()))?.get(name).copied()
    }
}

enum Owner<'a> {
    Class(&'a ast::StmtClassDef),
    Function(&'a ast::StmtFunctionDef),
}

struct Collector<'d, 'a> {
    defs: &'d mut Defs<'a>,
    module: ModuleId,
    file: &'a dbveto_source::SourceFile,
    owners: Vec<Owner<'a>>,
    depth: u32,
}

impl<'a> Collector<'_, 'a> {
    fn qualname(&self, name: &str) -> String {
        let mut parts: Vec<&str> = self
            .owners
            .iter()
            .map(|o| match o {
                Owner::Class(c) => c.name.as_str(),
                Owner::Function(f) => f.name.as_str(),
            })
            .collect();
        parts.push(name);
        parts.join(".")
    }
}

impl<'a> Visitor<'a> for Collector<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        match stmt {
            Stmt::FunctionDef(def) => {
                let id = self.defs.functions.len();
                let class = match self.owners.last() {
                    Some(Owner::Class(c)) => Some(*c),
                    _ => None,
                };
                let end = def.end().to_usize().saturating_sub(1).max(def.start().to_usize());
                self.defs.functions.push(Function {
                    module: self.module,
                    def,
                    class,
                    qualname: self.qualname(def.name.as_str()),
                    // The `def` line, after any decorators.
                    location: self.file.location(def.name.start().to_usize()),
                    last_line: self.file.location(end).line,
                });
                self.defs.by_def.insert((self.module, def.start().to_u32()), id);
                match self.owners.last() {
                    None => {
                        self.defs.module_functions.insert((self.module, def.name.as_str()), id);
                    }
                    Some(Owner::Class(c)) => {
                        self.defs
                            .methods
                            .entry((self.module, c.start().to_u32()))
                            .or_default()
                            .insert(def.name.as_str(), id);
                    }
                    Some(Owner::Function(_)) => {}
                }
                self.owners.push(Owner::Function(def));
                self.visit_body(&def.body);
                self.owners.pop();
            }
            Stmt::ClassDef(class) => {
                self.owners.push(Owner::Class(class));
                self.visit_body(&class.body);
                self.owners.pop();
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.depth -= 1;
    }

    // Expressions hold no `def`.
    fn visit_expr(&mut self, _: &'a ast::Expr) {}
}
