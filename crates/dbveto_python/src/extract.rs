//! The walk over one module: execute calls and their statements, SQLAlchemy
//! text clauses, and every other string literal that looks like a write.

use dbveto_writes::{looks_like_write, EmbeddedQuery, Params};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_text_size::Ranged;
use rustc_hash::FxHashSet;

use dbveto_python_semantic::{
    binary_operands, string_expr_text, target_names, Binds, Const, ConstValue, Evaluator, LiteralKey, ModuleIndex,
    ProjectIndex, Scope, Text, Value, MAX_DEPTH,
};

use crate::params::ExecuteCall;

/// What one module contributes.
#[derive(Default)]
pub(crate) struct ModuleOutput {
    /// Statements run by execute calls, by offset of the call.
    pub queries: Vec<(u32, EmbeddedQuery)>,
    /// String literals and text clauses not known to be run by a call.
    pub candidates: Vec<Candidate>,
    /// String expressions an execute call ran, in any module: they are not
    /// candidates anywhere.
    pub consumed: Vec<LiteralKey>,
}

pub(crate) struct Candidate {
    pub offset: u32,
    pub keys: Vec<LiteralKey>,
    pub query: EmbeddedQuery,
}

pub(crate) fn extract_module<'a>(project: &ProjectIndex<'a>, module: &ModuleIndex<'a>) -> ModuleOutput {
    let mut walker = Walker {
        ev: Evaluator::new(project),
        module,
        scopes: Vec::new(),
        depth: 0,
        out: ModuleOutput::default(),
        taken: FxHashSet::default(),
    };
    walker.body(module.body);
    walker.out
}

struct Walker<'p, 'a> {
    ev: Evaluator<'p, 'a>,
    module: &'p ModuleIndex<'a>,
    /// The scopes around the node being visited, innermost last.
    scopes: Vec<Scope<'a>>,
    depth: u32,
    out: ModuleOutput,
    /// Literals already emitted or consumed in this module.
    taken: FxHashSet<LiteralKey>,
}

impl<'a> Walker<'_, 'a> {
    /// A body of statements, skipping its docstring.
    fn body(&mut self, body: &'a [Stmt]) {
        let rest = match body.split_first() {
            Some((Stmt::Expr(first), rest)) if first.value.is_string_literal_expr() => rest,
            _ => body,
        };
        for stmt in rest {
            self.visit_stmt(stmt);
        }
    }

    fn with_scope(&mut self, scope: Scope<'a>, visit: impl FnOnce(&mut Self)) {
        self.scopes.push(scope);
        visit(self);
        self.scopes.pop();
    }

    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH {
            return false;
        }
        self.depth += 1;
        true
    }

    fn offset(node: &impl Ranged) -> u32 {
        node.start().to_u32()
    }

    fn call(&mut self, call: &'a ast::ExprCall, expr: &'a Expr) {
        let execute = ExecuteCall::of(call);
        if execute.is_none() && !is_text_clause_call(call) {
            return;
        }
        let id = self.module.id;
        let chain: Vec<&Scope<'a>> = self.scopes.iter().collect();
        if let Some(execute) = execute {
            let (sql, binds) = match self.ev.eval(id, &chain, execute.sql) {
                Some(Value::Const(Const { value: ConstValue::Str(text), .. })) => (text, Binds::None),
                Some(Value::Text(clause)) => (clause.sql, clause.binds),
                _ => return,
            };
            // Not through a `&mut self` method: `chain` borrows the scopes.
            self.out.consumed.extend_from_slice(sql.keys());
            self.taken.extend(sql.keys().iter().copied());
            let value = sql.value();
            if !looks_like_write(&value) {
                return;
            }
            let params = execute.params(&mut self.ev, id, &chain, &value, &binds);
            let location = self.module.file.location(call.start().to_usize());
            let query = EmbeddedQuery { sql: sql.to_sql_text(), params, call: Some(location) };
            self.out.queries.push((Self::offset(call), query));
        } else {
            // A text clause not run here: it is SQL, but its parameters
            // come from wherever it is run.
            let Some(Value::Text(clause)) = self.ev.eval(id, &chain, expr) else { return };
            if looks_like_write(&clause.sql.value()) {
                let query = EmbeddedQuery {
                    sql: clause.sql.to_sql_text(),
                    params: Params::Unknown,
                    call: Some(clause.call.clone()),
                };
                self.candidate(&clause.sql, Self::offset(call), query);
            }
        }
    }

    /// A string expression on its own: a candidate when it looks like a write.
    fn literal(&mut self, expr: &'a Expr) {
        // Cheap tests first: most literals are not SQL, or were run by a call.
        if self.taken.contains(&LiteralKey { module: self.module.id, offset: Self::offset(expr) }) {
            return;
        }
        match expr {
            Expr::StringLiteral(s) if !looks_like_write(s.value.to_str()) => return,
            // An interpolation makes it no constant: `string_expr_text` gives `None`.
            Expr::FString(f) if f.value.elements().any(|e| e.as_interpolation().is_some()) => return,
            _ => {}
        }
        let text = match expr {
            Expr::BinOp(_) => match self.ev.eval(self.module.id, &[], expr) {
                Some(Value::Const(Const { value: ConstValue::Str(text), .. })) => text,
                _ => return,
            },
            _ => match string_expr_text(self.module.file, self.module.id, expr) {
                Some(text) => text,
                None => return,
            },
        };
        if !looks_like_write(&text.value()) {
            return;
        }
        let query = EmbeddedQuery { sql: text.to_sql_text(), params: Params::Unknown, call: None };
        self.candidate(&text, Self::offset(expr), query);
    }

    fn candidate(&mut self, text: &Text, offset: u32, query: EmbeddedQuery) {
        if text.keys().iter().any(|key| self.taken.contains(key)) {
            return;
        }
        self.taken.extend(text.keys().iter().copied());
        self.out.candidates.push(Candidate { offset, keys: text.keys().to_vec(), query });
    }
}

impl<'a> Visitor<'a> for Walker<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !self.enter() {
            return;
        }
        match stmt {
            Stmt::FunctionDef(function) => {
                for decorator in &function.decorator_list {
                    self.visit_decorator(decorator);
                }
                self.visit_parameters(&function.parameters);
                if let Some(returns) = &function.returns {
                    self.visit_annotation(returns);
                }
                let scope = self.module.function_scope(function);
                self.with_scope(scope, |w| w.body(&function.body));
            }
            Stmt::ClassDef(class) => {
                for decorator in &class.decorator_list {
                    self.visit_decorator(decorator);
                }
                if let Some(arguments) = &class.arguments {
                    self.visit_arguments(arguments);
                }
                let scope = self.module.class_body_scope(class);
                self.with_scope(scope, |w| w.body(&class.body));
            }
            _ => visitor::walk_stmt(self, stmt),
        }
        self.depth -= 1;
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if !self.enter() {
            return;
        }
        match expr {
            Expr::StringLiteral(_) => self.literal(expr),
            Expr::FString(_) => {
                self.literal(expr);
                visitor::walk_expr(self, expr);
            }
            // `"INSERT ..." + "VALUES ..."` is one statement, not two.
            Expr::BinOp(_) if is_literal_concatenation(expr) => self.literal(expr),
            Expr::BinOp(_) => {
                for operand in binary_operands(expr) {
                    self.visit_expr(operand);
                }
            }
            Expr::Call(call) => {
                self.call(call, expr);
                visitor::walk_expr(self, expr);
            }
            Expr::Lambda(lambda) => {
                let mut names = Vec::new();
                if let Some(parameters) = &lambda.parameters {
                    self.visit_parameters(parameters);
                    names.extend(parameters.iter().map(|p| p.name().as_str()));
                }
                let scope = Scope::hidden(names);
                self.with_scope(scope, |w| w.visit_expr(&lambda.body));
            }
            Expr::ListComp(ast::ExprListComp { generators, .. })
            | Expr::SetComp(ast::ExprSetComp { generators, .. })
            | Expr::DictComp(ast::ExprDictComp { generators, .. })
            | Expr::Generator(ast::ExprGenerator { generators, .. }) => {
                let mut names = Vec::new();
                for generator in generators {
                    target_names(&generator.target, &mut names);
                }
                self.with_scope(Scope::hidden(names), |w| visitor::walk_expr(w, expr));
            }
            _ => visitor::walk_expr(self, expr),
        }
        self.depth -= 1;
    }

    fn visit_pattern(&mut self, pattern: &'a ast::Pattern) {
        if self.enter() {
            visitor::walk_pattern(self, pattern);
            self.depth -= 1;
        }
    }

    // Format specs nest without an expression in between: `f"{x:{y:{z}}}"`.
    fn visit_interpolated_string_element(&mut self, element: &'a ast::InterpolatedStringElement) {
        if self.enter() {
            visitor::walk_interpolated_string_element(self, element);
            self.depth -= 1;
        }
    }
}

/// `text(...)`, `sa.text(...)`, `text(...).bindparams(...)`: worth evaluating
/// as a text clause.
fn is_text_clause_call(call: &ast::ExprCall) -> bool {
    match call.func.as_ref() {
        Expr::Name(name) => name.id.as_str() == "text",
        Expr::Attribute(attribute) => matches!(attribute.attr.as_str(), "text" | "bindparams"),
        _ => false,
    }
}

/// `"a" + "b" + ...` of string literals only.
fn is_literal_concatenation(expr: &Expr) -> bool {
    let mut left = expr;
    while let Expr::BinOp(binary) = left {
        if binary.op != ast::Operator::Add || !is_string(&binary.right) {
            return false;
        }
        left = &binary.left;
    }
    is_string(left)
}

fn is_string(expr: &Expr) -> bool {
    expr.is_string_literal_expr() || expr.is_f_string_expr()
}
