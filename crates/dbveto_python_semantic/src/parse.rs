//! Parsing every file once, in parallel, keeping what the parser recovered
//! from files with syntax errors.

use std::collections::HashSet;

use dbveto_source::{Diagnostic, Severity, SourceFile};
use rayon::prelude::*;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, InterpolatedStringElement, ModModule, Pattern, Stmt};
use ruff_python_parser::{Mode, ParseOptions, Parsed};
use ruff_text_size::{Ranged, TextSize};

use crate::bindings::{binary_operands, MAX_DEPTH};
use crate::index::ProjectIndex;
use crate::modules::ModuleTable;

/// Larger files are not parsed: they are generated data, and their syntax
/// trees would take too much memory.
pub const MAX_FILE_LEN: usize = 32 << 20;

/// Syntax trees nested deeper than this are never dropped but leaked:
/// dropping a `Box` chain recurses once per level and could overflow the
/// stack of a worker thread. Only generated or hostile files get there.
const DROP_DEPTH_LIMIT: u32 = 300;

/// Stack reserved per level of nesting a file may hold while it is
/// parsed: the parser's error recovery drops what it built by a recursion
/// that does not grow the stack (about 100 bytes a level, measured; four
/// times that reserved). Only the pages a parse touches are ever used.
const STACK_PER_LEVEL: usize = 400;

/// The most stack a parse may reserve; a file that could nest deeper than
/// it holds is not parsed.
const MAX_PARSE_STACK: usize = 4 << 30;

/// Files up to this size parse on the calling thread's stack (a worker's
/// 2 MiB holds their deepest nesting); larger ones on a stack of their own.
const SMALL_FILE: usize = 4 << 10;

/// How deep a file's syntax tree can nest at most: each level needs a
/// bracket, an operator or a dot (a byte of punctuation), or a keyword
/// that nests (`not`, `lambda`, `await`, `yield`, `if`).
fn nesting_bound(text: &str) -> usize {
    let bytes = text.as_bytes();
    let punctuation = bytes.iter().filter(|b| matches!(b, b'(' | b'[' | b'{' | b'-' | b'+' | b'~' | b'*' | b'/' | b'%' | b'@' | b'<' | b'>' | b'&' | b'|' | b'^' | b'.' | b'=' | b'!')).count();
    let keywords: usize = ["not", "lambda", "await", "yield", "if"].iter().map(|k| memchr::memmem::find_iter(bytes, k).count()).sum();
    punctuation + keywords
}

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
        let parse = || ruff_python_parser::parse_unchecked(&file.text, ParseOptions::from(Mode::Module));
        let parsed = if file.text.len() <= SMALL_FILE {
            parse()
        } else {
            let stack = nesting_bound(&file.text).saturating_mul(STACK_PER_LEVEL).saturating_add(1 << 20);
            let grown = (stack <= MAX_PARSE_STACK).then(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| stacker::grow(stack, parse))).ok()).flatten();
            match grown {
                Some(parsed) => parsed,
                None => {
                    let message = format!("skipped: could not reserve the {} MiB of stack this file may need to be parsed safely", stack >> 20);
                    let module = ParsedModule { ast: None, too_deep: false, changed_from_functions: HashSet::new() };
                    return (module, Some(Diagnostic::file(file.path.clone(), Severity::Warning, message)));
                }
            }
        };
        let diagnostic = parsed.errors().iter().min_by_key(|error| error.range().start()).map(|error| {
            let message = format!("could not parse Python: {}", error.error);
            file.diagnostic(error.range().start().to_usize(), Severity::Warning, message)
        });
        let ast = parsed.try_into_module().map(Parsed::into_syntax);
        let mut scan = Scan::default();
        if let Some(ast) = &ast {
            scan.visit_body(&ast.body);
        }
        // A syntax error says more; else, say where reading stops.
        let diagnostic = diagnostic.or_else(|| {
            let at = scan.unread?;
            let message = format!("code nested more than {MAX_DEPTH} levels deep from here is not read");
            Some(file.diagnostic(at.to_usize(), Severity::Warning, message))
        });
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

/// One pass over the whole tree: its depth, where the walks' depth guards
/// stop reading, and the `global` and `nonlocal` names.
#[derive(Default)]
struct Scan {
    /// Nesting as dropping the tree recurses: a binary chain as deep as it is long.
    depth: u32,
    too_deep: bool,
    /// Nesting as the walks see it: a binary chain is one level.
    levels: u32,
    /// The first node nested deeper than the walks read.
    unread: Option<TextSize>,
    names: HashSet<String>,
}

impl Scan {
    fn enter(&mut self, node: &impl Ranged) -> bool {
        if self.depth >= DROP_DEPTH_LIMIT {
            self.too_deep = true;
            return false;
        }
        self.depth += 1;
        self.levels += 1;
        if self.levels > MAX_DEPTH && self.unread.is_none() {
            self.unread = Some(node.start());
        }
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
        self.levels -= 1;
    }
}

impl<'a> Visitor<'a> for Scan {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if self.enter(stmt) {
            match stmt {
                Stmt::Global(g) => self.names.extend(g.names.iter().map(ToString::to_string)),
                Stmt::Nonlocal(n) => self.names.extend(n.names.iter().map(ToString::to_string)),
                _ => visitor::walk_stmt(self, stmt),
            }
            self.leave();
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
            self.levels += 1;
            for operand in operands {
                self.visit_expr(operand);
            }
            self.levels -= 1;
            self.depth = depth;
        } else if self.enter(expr) {
            visitor::walk_expr(self, expr);
            self.leave();
        }
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        if self.enter(pattern) {
            visitor::walk_pattern(self, pattern);
            self.leave();
        }
    }

    // Format specs nest without an expression in between: `f"{x:{y:{z}}}"`.
    fn visit_interpolated_string_element(&mut self, element: &'a InterpolatedStringElement) {
        if self.enter(element) {
            visitor::walk_interpolated_string_element(self, element);
            self.leave();
        }
    }
}
