//! Parsing every file once, in parallel, keeping what the parser recovered
//! from files with syntax errors.

use std::collections::HashSet;

use dbveto_source::{Diagnostic, Severity, SourceFile};
use rayon::prelude::*;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::token::TokenKind;
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

/// Files that nest brackets deeper than this are not parsed: the parser's
/// error recovery drops what it built by a recursion that does not grow
/// the stack, which a worker thread's holds to about 20,000 levels. Real
/// code nests a few levels; only generated or hostile files get here.
const MAX_BRACKET_DEPTH: usize = 5_000;

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
        if let Some(at) = too_deeply_bracketed(&file.text) {
            let message = format!("skipped: brackets nested more than {MAX_BRACKET_DEPTH} deep; nothing in this file is read");
            let module = ParsedModule { ast: None, too_deep: false, changed_from_functions: HashSet::new() };
            return (module, Some(file.diagnostic(at, Severity::Warning, message)));
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

/// Where brackets first nest deeper than [`MAX_BRACKET_DEPTH`], when they
/// do. Python's own tokens decide (a bracket in a string or a comment does
/// not count); a file with fewer opening bracket characters than the limit
/// cannot get there and is not lexed. The offset is the raw bracket
/// count's, for the diagnostic only.
fn too_deeply_bracketed(text: &str) -> Option<usize> {
    let opening = |b: &u8| matches!(b, b'(' | b'[' | b'{');
    if text.bytes().filter(opening).count() <= MAX_BRACKET_DEPTH {
        return None;
    }
    let mut lexer = ruff_python_parser::lexer::lex(text, Mode::Module);
    let mut depth = 0usize;
    loop {
        match lexer.next_token() {
            TokenKind::EndOfFile => return None,
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                depth += 1;
                if depth > MAX_BRACKET_DEPTH {
                    break;
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let mut raw = 0usize;
    let at = text.bytes().position(|b| {
        match b {
            b'(' | b'[' | b'{' => raw += 1,
            b')' | b']' | b'}' => raw = raw.saturating_sub(1),
            _ => {}
        }
        raw > MAX_BRACKET_DEPTH
    });
    Some(at.unwrap_or(0))
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
