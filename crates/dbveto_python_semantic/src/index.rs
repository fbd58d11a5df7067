//! The module-level index of the project: for each file, what its
//! module-level names and its classes' attributes are bound to. Frontends
//! resolve constants through it with an [`crate::eval::Evaluator`].

use std::collections::HashSet;

use dbveto_source::SourceFile;
use rayon::prelude::*;
use ruff_python_ast::{Stmt, StmtClassDef, StmtFunctionDef};
use ruff_text_size::Ranged;
use rustc_hash::FxHashMap;

use crate::bindings::{Binding, Bindings, Scope, ScopeKind};
pub use crate::modules::ModuleId;
use crate::modules::{ModuleName, ModuleTable};
use crate::parse::{ParsedModule, ParsedProject};

pub struct ProjectIndex<'a> {
    pub table: &'a ModuleTable,
    /// By [`ModuleId`]: one for every file.
    pub modules: Vec<ModuleIndex<'a>>,
}

impl<'a> ProjectIndex<'a> {
    pub fn new(project: &'a ParsedProject<'_>) -> Self {
        let modules = project
            .files
            .par_iter()
            .zip(project.modules.par_iter())
            .enumerate()
            .map(|(id, (file, parsed))| {
                let id = ModuleId::try_from(id).unwrap_or(ModuleId::MAX);
                ModuleIndex::new(id, file, parsed, &project.table)
            })
            .collect();
        ProjectIndex { table: &project.table, modules }
    }

    pub fn module(&self, id: ModuleId) -> Option<&ModuleIndex<'a>> {
        self.modules.get(id as usize)
    }
}

pub struct ModuleIndex<'a> {
    pub id: ModuleId,
    pub file: &'a SourceFile,
    pub name: Option<&'a ModuleName>,
    pub body: &'a [Stmt],
    pub bindings: Bindings<'a>,
    /// Names declared `global` or `nonlocal` somewhere in the file: what
    /// they name may change from a function.
    pub changed_from_functions: &'a HashSet<String>,
    /// The scope of each class bound once at module level, by the offset of
    /// its `class` statement.
    classes: FxHashMap<u32, Scope<'a>>,
}

impl<'a> ModuleIndex<'a> {
    fn new(id: ModuleId, file: &'a SourceFile, parsed: &'a ParsedModule, table: &'a ModuleTable) -> Self {
        let name = table.name(id);
        let body = parsed.body();
        let mut bindings = Bindings::of_body(body, name);
        bindings.make_opaque(parsed.changed_from_functions.iter().map(String::as_str));
        let classes = bindings
            .values()
            .filter_map(|binding| match binding {
                Binding::Class(class) => {
                    let bindings = Bindings::of_body(&class.body, name);
                    Some((class.start().to_u32(), Scope { kind: ScopeKind::Class, bindings }))
                }
                _ => None,
            })
            .collect();
        ModuleIndex {
            id,
            file,
            name,
            body,
            bindings,
            changed_from_functions: &parsed.changed_from_functions,
            classes,
        }
    }

    /// The scope of a class bound once at module level.
    pub fn class_scope(&self, class: &StmtClassDef) -> Option<&Scope<'a>> {
        self.classes.get(&class.start().to_u32())
    }

    /// The scope of the body of a class of this module, at any depth.
    pub fn class_body_scope(&self, class: &'a StmtClassDef) -> Scope<'a> {
        Scope { kind: ScopeKind::Class, bindings: Bindings::of_body(&class.body, self.name) }
    }

    /// The scope of a function of this module.
    pub fn function_scope(&self, function: &'a StmtFunctionDef) -> Scope<'a> {
        let mut bindings = Bindings::of_function(function, self.name);
        // `nonlocal` in a nested function may change any of them.
        bindings.make_opaque(self.changed_from_functions.iter().map(String::as_str));
        Scope { kind: ScopeKind::Function, bindings }
    }
}
