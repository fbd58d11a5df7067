//! The end of pass 1: what the walk found, still as nodes of the file's
//! tree, becomes owned facts ([`crate::facts`]). Local names are resolved
//! here, while the function scopes are known: pass 2 only looks up
//! package-level names.

use std::collections::HashMap;
use std::sync::Arc;

use dbveto_writes::looks_like_write;

use crate::facts::{
    CallArg, CallSite, ConstDef, Conversion, ElemValue, Expr, FieldAssign, FileFacts, LitElem, MapEntry,
    NamedArg, StrPart, StringRoot, StructLit, TypeRef, Via,
};
use crate::index::{strip_parens, strip_pointer};
use crate::scope::FuncScope;
use crate::cst::{Node, F};
use crate::{strings, text};

/// Deeper expressions are not kept: evaluation gives up at depth 64 anyway.
const MAX_DEPTH: u32 = 72;

pub(crate) struct RawConst<'t, 'n> {
    pub name: &'t str,
    pub value: Option<Node<'n>>,
    pub iota: i64,
}

pub(crate) struct RawLit<'n> {
    pub ty: Node<'n>,
    pub body: Node<'n>,
    pub scope: Option<usize>,
}

pub(crate) struct RawAssign<'t, 'n> {
    pub ty: Node<'n>,
    pub field: &'t str,
    pub value: Option<Node<'n>>,
    pub scope: usize,
}

pub(crate) struct RawCall<'t, 'n> {
    pub node: Node<'n>,
    pub method: &'t str,
    pub operand: Option<Node<'n>>,
    pub args: Vec<Node<'n>>,
    pub scope: Option<usize>,
}

pub(crate) struct RawRoot<'n> {
    pub node: Node<'n>,
    pub scope: Option<usize>,
    pub iota: Option<i64>,
    /// A constant's `+` chain: evaluated even when it has no literal.
    pub constant: bool,
}

/// What the walk over one file found.
#[derive(Default)]
pub(crate) struct Found<'t, 'n> {
    pub consts: Vec<RawConst<'t, 'n>>,
    pub literals: Vec<RawLit<'n>>,
    pub assigns: Vec<RawAssign<'t, 'n>>,
    pub scopes: Vec<FuncScope<'t, 'n>>,
    pub calls: Vec<RawCall<'t, 'n>>,
    pub roots: Vec<RawRoot<'n>>,
}

/// Turns what the walk found into `facts`.
pub(crate) fn lower<'t, 'n>(src: &'t str, found: Found<'t, 'n>, facts: &mut FileFacts<'t>) {
    let mut l = Lowerer { src, scopes: &found.scopes, memo: HashMap::new(), truncated: false };
    facts.consts = found
        .consts
        .iter()
        .map(|c| ConstDef {
            name: c.name,
            value: c.value.map(|v| (v.start_byte(), l.expr(v, None, Some(c.iota), 0))),
            iota: c.iota,
        })
        .collect();
    facts.literals = found.literals.iter().filter_map(|lit| l.literal(lit)).collect();
    facts.assigns = found
        .assigns
        .iter()
        .filter_map(|a| {
            Some(FieldAssign {
                ty: type_ref(src, a.ty)?,
                field: a.field,
                value: a.value.map(|v| (v.start_byte(), l.expr(v, Some(a.scope), None, 0))),
            })
        })
        .collect();
    facts.calls = found.calls.iter().map(|c| l.call(c)).collect();
    facts.roots = found.roots.iter().filter_map(|r| l.root(r)).collect();
}

struct Lowerer<'a, 't, 'n> {
    src: &'t str,
    scopes: &'a [FuncScope<'t, 'n>],
    /// The value of each local declaration lowered so far: (scope, id).
    memo: HashMap<(usize, u32), Arc<Expr<'t>>>,
    /// Set when an expression was cut at `MAX_DEPTH`.
    truncated: bool,
}

impl<'t, 'n> Lowerer<'_, 't, 'n> {
    fn scope(&self, scope: Option<usize>) -> Option<&FuncScope<'t, 'n>> {
        self.scopes.get(scope?)
    }

    /// Whether an identifier names a local where it is used.
    fn is_local(&self, scope: Option<usize>, name: Node<'n>) -> bool {
        self.scope(scope).is_some_and(|s| s.shadows(text(self.src, name), name.start_byte()))
    }

    fn expr(&mut self, node: Node<'n>, scope: Option<usize>, iota: Option<i64>, depth: u32) -> Expr<'t> {
        if depth > MAX_DEPTH {
            self.truncated = true;
            return Expr::Unknown;
        }
        let src = self.src;
        let child = |field: F| node.field(field);
        match node.k() {
            "interpreted_string_literal" => interpreted(node),
            "raw_string_literal" => Expr::Raw { start: node.start_byte(), end: node.end_byte() },
            "int_literal" => Expr::Int(text(src, node)),
            "rune_literal" => Expr::Rune(text(src, node)),
            "float_literal" => Expr::Float(text(src, node)),
            "true" => Expr::Bool(true),
            "false" => Expr::Bool(false),
            "nil" => Expr::Nil,
            "iota" => iota.map_or(Expr::Unknown, Expr::Iota),
            "identifier" => self.identifier(node, scope, depth),
            "selector_expression" => {
                let (Some(operand), Some(field)) = (child(F::Operand), child(F::Field)) else {
                    return Expr::Unknown;
                };
                match self.package(scope, operand) {
                    Some(pkg) => Expr::Qualified(pkg, text(src, field)),
                    None => Expr::Unknown,
                }
            }
            "parenthesized_expression" => match node.named_child(0) {
                Some(inner) => Expr::Paren(Box::new(self.expr(inner, scope, iota, depth + 1))),
                None => Expr::Unknown,
            },
            "binary_expression" => {
                let Some(op) = child(F::Operator).map(|o| o.k()) else { return Expr::Unknown };
                if op == "+" {
                    return self.concat(node, scope, iota, depth);
                }
                let (Some(left), Some(right)) = (child(F::Left), child(F::Right)) else {
                    return Expr::Unknown;
                };
                let left = self.expr(left, scope, iota, depth + 1);
                let right = self.expr(right, scope, iota, depth + 1);
                Expr::Binary(op, Box::new(left), Box::new(right))
            }
            "unary_expression" => {
                let (Some(operand), Some(op)) = (child(F::Operand), child(F::Operator)) else {
                    return Expr::Unknown;
                };
                Expr::Unary(op.k(), Box::new(self.expr(operand, scope, iota, depth + 1)))
            }
            "call_expression" => {
                // `T(x)`: a conversion when the callee is a type.
                let Some(args) = child(F::Arguments) else { return Expr::Unknown };
                let mut cursor = args.walk();
                let mut args = args.named_children(&mut cursor).filter(|n| n.k() != "comment");
                let (Some(arg), None) = (args.next(), args.next()) else { return Expr::Unknown };
                self.conversion(scope, child(F::Function), arg, iota, depth)
            }
            "type_conversion_expression" => match child(F::Operand) {
                Some(operand) => self.conversion(scope, child(F::Type), operand, iota, depth),
                None => Expr::Unknown,
            },
            _ => Expr::Unknown,
        }
    }

    /// A `+` chain, flattened with a stack: long concatenations are
    /// left-deep trees.
    fn concat(&mut self, node: Node<'n>, scope: Option<usize>, iota: Option<i64>, depth: u32) -> Expr<'t> {
        let mut operands = Vec::new();
        let mut nodes: u32 = 0;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            nodes = nodes.saturating_add(1);
            let n = strip_parens(n);
            if n.k() == "binary_expression" && n.field(F::Operator).map(|o| o.k()) == Some("+") {
                match (n.field(F::Left), n.field(F::Right)) {
                    (Some(left), Some(right)) => {
                        stack.push(right);
                        stack.push(left);
                    }
                    _ => return Expr::Unknown,
                }
                continue;
            }
            operands.push(self.expr(n, scope, iota, depth + 1));
        }
        Expr::Concat { operands, nodes }
    }

    fn identifier(&mut self, node: Node<'n>, scope: Option<usize>, depth: u32) -> Expr<'t> {
        let name = text(self.src, node);
        let Some(s) = scope else { return Expr::Ident(name) };
        let Some(decl) = self.scopes.get(s).and_then(|f| f.binding(name, node.start_byte())) else {
            return Expr::Ident(name);
        };
        // A local: its value if it is never written again, else unknown.
        let def = match decl.def {
            Some(def) if decl.writes == 0 => def,
            _ => return Expr::Unknown,
        };
        let key = (s, decl.id);
        if let Some(value) = self.memo.get(&key) {
            return Expr::Local(value.clone());
        }
        let outer = std::mem::replace(&mut self.truncated, false);
        let value = Arc::new(self.expr(def.value, scope, def.iota, depth + 1));
        if !self.truncated {
            self.memo.insert(key, value.clone());
        }
        self.truncated |= outer;
        Expr::Local(value)
    }

    /// The package an operand names (`models` in `models.X`), unless a
    /// local of that name hides the import.
    fn package(&self, scope: Option<usize>, operand: Node<'n>) -> Option<&'t str> {
        if !matches!(operand.k(), "identifier" | "package_identifier") || self.is_local(scope, operand) {
            return None;
        }
        Some(text(self.src, operand))
    }

    fn conversion(
        &mut self,
        scope: Option<usize>,
        ty: Option<Node<'n>>,
        arg: Node<'n>,
        iota: Option<i64>,
        depth: u32,
    ) -> Expr<'t> {
        let Some(ty) = ty.map(strip_parens) else { return Expr::Unknown };
        let src = self.src;
        let target = match ty.k() {
            "identifier" | "type_identifier" if !self.is_local(scope, ty) => Conversion::Name(text(src, ty)),
            "selector_expression" | "qualified_type" => {
                let (operand, name) = match ty.k() {
                    "qualified_type" => (ty.field(F::Package), ty.field(F::Name)),
                    _ => (ty.field(F::Operand), ty.field(F::Field)),
                };
                let (Some(operand), Some(name)) = (operand, name) else { return Expr::Unknown };
                match self.package(scope, operand) {
                    Some(pkg) => Conversion::Qualified(pkg, text(src, name)),
                    None => return Expr::Unknown,
                }
            }
            _ => return Expr::Unknown,
        };
        Expr::Convert(target, Box::new(self.expr(arg, scope, iota, depth + 1)))
    }

    fn literal(&mut self, lit: &RawLit<'n>) -> Option<StructLit<'t>> {
        let ty = type_ref(self.src, lit.ty)?;
        let mut cursor = lit.body.walk();
        let children: Vec<Node<'n>> =
            lit.body.named_children(&mut cursor).filter(|n| n.k() != "comment").collect();
        let keyed = children.iter().any(|e| e.k() == "keyed_element");
        let elements = children
            .into_iter()
            .map(|e| {
                if e.k() == "keyed_element" {
                    let key = e
                        .field(F::Key)
                        .and_then(element_expression)
                        .filter(|k| k.k() == "identifier")
                        .map(|k| text(self.src, k));
                    let value = match e.field(F::Value) {
                        None => ElemValue::Missing,
                        Some(v) => self.element(v, lit.scope),
                    };
                    LitElem { keyed: true, key, value }
                } else {
                    LitElem { keyed: false, key: None, value: self.element(e, lit.scope) }
                }
            })
            .collect();
        Some(StructLit { ty, keyed, elements })
    }

    fn element(&mut self, element: Node<'n>, scope: Option<usize>) -> ElemValue<'t> {
        match element_expression(element) {
            Some(e) => ElemValue::Expr(e.start_byte(), self.expr(e, scope, None, 0)),
            None => ElemValue::Nested,
        }
    }

    fn call(&mut self, call: &RawCall<'t, 'n>) -> CallSite<'t> {
        let package_operand = call
            .operand
            .filter(|o| o.k() == "identifier" && !self.is_local(call.scope, *o))
            .map(|o| text(self.src, o));
        let ctx_first = call.args.first().is_some_and(|a| self.context_like(call.scope, *a));
        let named = call.method.starts_with("Named");
        let args = call
            .args
            .iter()
            .map(|&arg| CallArg {
                at: arg.start_byte(),
                expr: self.expr(arg, call.scope, None, 0),
                rebound: rebound(self.src, arg).map(|q| self.expr(q, call.scope, None, 0)),
                variadic: arg.k() == "variadic_argument",
                via: self.via(call.scope, arg),
                named: named.then(|| self.named(call.scope, arg)),
            })
            .collect();
        CallSite { at: call.node.start_byte(), method: call.method, package_operand, ctx_first, args }
    }

    /// `ctx`, a `context.Context` parameter, `context.Background()`, `r.Context()`.
    fn context_like(&self, scope: Option<usize>, arg: Node<'n>) -> bool {
        let src = self.src;
        let arg = strip_parens(arg);
        match arg.k() {
            "identifier" => {
                let name = text(src, arg);
                let declared = self.scope(scope).and_then(|s| s.type_text(name, arg.start_byte()));
                name == "ctx" || declared == Some("context.Context")
            }
            "call_expression" => {
                let Some(function) = arg.field(F::Function) else { return false };
                if function.k() != "selector_expression" {
                    return false;
                }
                let operand = function.field(F::Operand);
                let field = function.field(F::Field).map(|n| text(src, n));
                let context_package =
                    operand.is_some_and(|o| text(src, o) == "context" && !self.is_local(scope, o));
                field == Some("Context") || context_package
            }
            _ => false,
        }
    }

    /// How a known argument reaches the call, for people.
    fn via(&self, scope: Option<usize>, arg: Node<'n>) -> Via<'t> {
        let arg = strip_parens(arg);
        let name = text(self.src, arg);
        match arg.k() {
            "identifier" if self.is_local(scope, arg) => Via::Variable(name),
            "identifier" | "selector_expression" => Via::Constant(name),
            _ => Via::Argument,
        }
    }

    /// What a Named* call binds from its argument.
    fn named(&mut self, scope: Option<usize>, arg: Node<'n>) -> NamedArg<'t> {
        let mut node = strip_parens(arg);
        if node.k() == "unary_expression" && node.field(F::Operator).map(|o| o.k()) == Some("&") {
            match node.field(F::Operand) {
                Some(operand) => node = strip_parens(operand),
                None => return NamedArg::Unknown,
            }
        }
        if is_map_literal(node) {
            return self.map(scope, node);
        }
        let src = self.src;
        let ty = match node.k() {
            "composite_literal" => node.field(F::Type),
            "identifier" => {
                let name = text(src, node);
                let local = self.scope(scope);
                // A map built once right before the call.
                let def =
                    local.and_then(|s| s.value_at(name, node.start_byte())).map(|d| strip_parens(d.value));
                if let Some(map) = def.filter(|d| is_map_literal(*d)) {
                    return self.map(scope, map);
                }
                local.and_then(|s| s.type_of(name, node.start_byte()))
            }
            "call_expression" if node.field(F::Function).map(|f| text(src, f)) == Some("new") => {
                node.field(F::Arguments).and_then(|a| a.named_child(0))
            }
            _ => None,
        };
        let Some(mut ty) = ty.map(strip_pointer) else { return NamedArg::Unknown };
        // sqlx binds a slice of structs as a batch: same columns.
        if matches!(ty.k(), "slice_type" | "array_type") {
            match ty.field(F::Element) {
                Some(element) => ty = strip_pointer(element),
                None => return NamedArg::Unknown,
            }
        }
        type_ref(src, ty).map_or(NamedArg::Unknown, NamedArg::Type)
    }

    fn map(&mut self, scope: Option<usize>, literal: Node<'n>) -> NamedArg<'t> {
        let Some(body) = literal.field(F::Body) else { return NamedArg::Unknown };
        let mut cursor = body.walk();
        let elements: Vec<Node<'n>> =
            body.named_children(&mut cursor).filter(|n| n.k() == "keyed_element").collect();
        let entries = elements
            .into_iter()
            .map(|element| {
                let key = element.field(F::Key).and_then(element_expression);
                let value = element.field(F::Value).and_then(element_expression);
                MapEntry {
                    key: key.map(|k| self.expr(k, scope, None, 0)),
                    value: value.map(|v| (v.start_byte(), self.expr(v, scope, None, 0))),
                }
            })
            .collect();
        NamedArg::Map(entries)
    }

    fn root(&mut self, root: &RawRoot<'n>) -> Option<StringRoot<'t>> {
        let node = root.node;
        if !root.constant && node.k() == "binary_expression" && !has_string_leaf(node) {
            return None;
        }
        let expr = self.expr(node, root.scope, root.iota, 0);
        // A lone literal is its own value: most are not SQL at all.
        let lone = match &expr {
            Expr::Interpreted { start, end, parts } => {
                Some(interpreted_text(self.src, *start, *end, parts.as_deref()))
            }
            Expr::Raw { start, end } => Some(strings::raw(self.src.get(*start..*end).unwrap_or(""))),
            _ => None,
        };
        if lone.is_some_and(|text| !looks_like_write(&text)) {
            return None;
        }
        Some(StringRoot { at: node.start_byte(), expr })
    }
}

/// An interpreted string literal: its children, unless it is one run of
/// plain text or empty.
fn interpreted<'t>(node: Node<'_>) -> Expr<'t> {
    let (start, end) = (node.start_byte(), node.end_byte());
    let mut cursor = node.walk();
    let parts: Vec<StrPart> = node
        .named_children(&mut cursor)
        .map(|c| StrPart { start: c.start_byte(), end: c.end_byte(), escape: c.k() == "escape_sequence" })
        .collect();
    let simple = match parts.as_slice() {
        [] => end == start + 2,
        [only] => !only.escape && only.start == start + 1 && only.end + 1 == end && end > start + 2,
        _ => false,
    };
    Expr::Interpreted { start, end, parts: (!simple).then(|| parts.into_boxed_slice()) }
}

/// The parts of an interpreted literal: its named children, or what they
/// are when not recorded (see [`interpreted`]).
pub(crate) fn parts_of(
    start: usize,
    end: usize,
    parts: Option<&[StrPart]>,
) -> std::borrow::Cow<'_, [StrPart]> {
    match parts {
        Some(parts) => std::borrow::Cow::Borrowed(parts),
        None if end > start + 2 => {
            std::borrow::Cow::Owned(vec![StrPart { start: start + 1, end: end - 1, escape: false }])
        }
        None => std::borrow::Cow::Owned(Vec::new()),
    }
}

/// The decoded text of an interpreted literal, as evaluation assembles it.
fn interpreted_text(src: &str, start: usize, end: usize, parts: Option<&[StrPart]>) -> String {
    crate::eval::interpreted_pieces(src, start, end, parts).into_iter().map(|(_, text)| text).collect()
}

/// The named type a type expression is: `T`, `*T`, `pkg.T`, `T[X]`.
pub(crate) fn type_ref<'t>(src: &'t str, ty: Node<'_>) -> Option<TypeRef<'t>> {
    let ty = strip_pointer(ty);
    match ty.k() {
        "type_identifier" | "identifier" => Some(TypeRef::Local(text(src, ty))),
        "qualified_type" => {
            Some(TypeRef::Qualified(text(src, ty.field(F::Package)?), text(src, ty.field(F::Name)?)))
        }
        "selector_expression" => {
            Some(TypeRef::Qualified(text(src, ty.field(F::Operand)?), text(src, ty.field(F::Field)?)))
        }
        "generic_type" => {
            // `Page[T]`: the grammar never nests a generic type here.
            let inner = ty.field(F::Type)?;
            if inner.k() == "generic_type" {
                return None;
            }
            type_ref(src, inner)
        }
        _ => None,
    }
}

/// `db.Rebind(q)` only rewrites placeholders: the query is `q`.
fn rebound<'n>(src: &str, arg: Node<'n>) -> Option<Node<'n>> {
    let call = strip_parens(arg);
    if call.k() != "call_expression" {
        return None;
    }
    let method =
        call.field(F::Function).filter(|f| f.k() == "selector_expression").and_then(|f| f.field(F::Field));
    if method.map(|m| text(src, m)) != Some("Rebind") {
        return None;
    }
    let args = call.field(F::Arguments)?;
    let mut cursor = args.walk();
    let args: Vec<Node<'n>> = args.named_children(&mut cursor).filter(|n| n.k() != "comment").collect();
    match args.as_slice() {
        [only] if only.k() != "variadic_argument" => Some(*only),
        _ => None,
    }
}

/// The expression inside a `literal_element`, `None` for a nested literal.
fn element_expression(element: Node<'_>) -> Option<Node<'_>> {
    let inner = if element.k() == "literal_element" { element.named_child(0)? } else { element };
    (inner.k() != "literal_value").then_some(inner)
}

fn is_map_literal(node: Node<'_>) -> bool {
    node.k() == "composite_literal" && node.field(F::Type).is_some_and(|t| t.k() == "map_type")
}

/// Whether a `+` chain has a string literal among its operands.
fn has_string_leaf(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.k() {
            "interpreted_string_literal" | "raw_string_literal" => return true,
            "binary_expression" | "parenthesized_expression" => {
                let mut cursor = n.walk();
                stack.extend(n.named_children(&mut cursor));
            }
            _ => {}
        }
    }
    false
}
