//! Parsing every file once, in parallel, keeping what the parser recovered
//! from files with syntax errors.

use std::collections::HashSet;

use dbveto_source::{Diagnostic, Severity, SourceFile};
use rayon::prelude::*;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, InterpolatedStringElement, ModModule, Pattern, Stmt};
use ruff_python_parser::{Mode, ParseOptions, Parsed};
use ruff_text_size::Ranged;

use crate::bindings::binary_operands;
use crate::index::ProjectIndex;
use crate::modules::ModuleTable;

/// Larger files are not parsed: they are generated data, and their syntax
/// trees would take too much memory.
pub const MAX_FILE_LEN: usize = 32 << 20;

/// Syntax trees nested deeper than this are never dropped but leaked:
/// dropping a `Box` chain recurses once per level and could overflow the
/// stack of a worker thread. Only generated or hostile files get there.
const DROP_DEPTH_LIMIT: u32 = 300;

/// The repository's Python files, parsed.
pub struct ParsedProject<'f> {
    pub files: &'f [SourceFile],
    pub table: ModuleTable,
    pub modules: Vec<ParsedModule>,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'f> ParsedProject<'f> {
    /// Parses every file once, in parallel.
    pub fn parse(files: &'f [SourceFile]) -> Self {
        let table = ModuleTable::new(files);
        let (modules, diagnostics): (Vec<ParsedModule>, Vec<Option<Diagnostic>>) =
            files.par_iter().map(ParsedModule::parse).unzip();
        let diagnostics = diagnostics.into_iter().flatten().collect();
        ParsedProject { files, table, modules, diagnostics }
    }

    /// The module-level index of every file, built in parallel.
    pub fn index(&self) -> ProjectIndex<'_> {
        ProjectIndex::new(self)
    }
}

/// One file's syntax tree (empty for a file too large to parse).
pub struct ParsedModule {
    ast: Option<ModModule>,
    too_deep: bool,
    /// Names declared `global` or `nonlocal` anywhere in the file: what they
    /// name may change from a function.
    pub(crate) changed_from_functions: HashSet<String>,
}

impl ParsedModule {
    fn parse(file: &SourceFile) -> (Self, Option<Diagnostic>) {
        if file.text.len() > MAX_FILE_LEN {
            let message = format!("skipped: a Python file larger than {} MiB", MAX_FILE_LEN >> 20);
            let module = ParsedModule { ast: None, too_deep: false, changed_from_functions: HashSet::new() };
            return (module, Some(Diagnostic::file(file.path.clone(), Severity::Warning, message)));
        }
        let parsed = ruff_python_parser::parse_unchecked(&file.text, ParseOptions::from(Mode::Module));
        let diagnostic = parsed.errors().iter().min_by_key(|error| error.range().start()).map(|error| {
            let message = format!("could not parse Python: {}", error.error);
            file.diagnostic(error.range().start().to_usize(), Severity::Warning, message)
        });
        let ast = parsed.try_into_module().map(Parsed::into_syntax);
        let mut scan = Scan::default();
        if let Some(ast) = &ast {
            scan.visit_body(&ast.body);
        }
        let module = ParsedModule { ast, too_deep: scan.too_deep, changed_from_functions: scan.names };
        (module, diagnostic)
    }

    pub fn body(&self) -> &[Stmt] {
        self.ast.as_ref().map_or(&[], |ast| &ast.body)
    }
}

impl Drop for ParsedModule {
    fn drop(&mut self) {
        if self.too_deep {
            std::mem::forget(self.ast.take());
        }
    }
}

/// One pass over the whole tree: its depth, and the `global` and
/// `nonlocal` names.
#[derive(Default)]
struct Scan {
    depth: u32,
    too_deep: bool,
    names: HashSet<String>,
}

impl Scan {
    fn enter(&mut self) -> bool {
        if self.depth >= DROP_DEPTH_LIMIT {
            self.too_deep = true;
            return false;
        }
        self.depth += 1;
        true
    }
}

impl<'a> Visitor<'a> for Scan {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.enter() {
            match stmt {
                Stmt::Global(g) => self.names.extend(g.names.iter().map(ToString::to_string)),
                Stmt::Nonlocal(n) => self.names.extend(n.names.iter().map(ToString::to_string)),
                _ => visitor::walk_stmt(self, stmt),
            }
            self.depth -= 1;
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::BinOp(_) = expr {
            // A chain `a + b + ...` is as deep as it is long, but is walked
            // in a loop: each operand counts as nested at the chain's end.
            let operands = binary_operands(expr);
            let length = u32::try_from(operands.len()).unwrap_or(u32::MAX);
            let depth = self.depth;
            if depth.saturating_add(length) >= DROP_DEPTH_LIMIT {
                self.too_deep = true;
                return;
            }
            self.depth += length;
            for operand in operands {
                self.visit_expr(operand);
            }
            self.depth = depth;
        } else if self.enter() {
            visitor::walk_expr(self, expr);
            self.depth -= 1;
        }
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        if self.enter() {
            visitor::walk_pattern(self, pattern);
            self.depth -= 1;
        }
    }

    // Format specs nest without an expression in between: `f"{x:{y:{z}}}"`.
    fn visit_interpolated_string_element(&mut self, element: &'a InterpolatedStringElement) {
        if self.enter() {
            visitor::walk_interpolated_string_element(self, element);
            self.depth -= 1;
        }
    }
}
