//! Constant evaluation of Go expressions: literals, constants of any
//! package of the module, locals assigned exactly once, `+` chains,
//! integer arithmetic and conversions. Anything else is unknown.
//!
//! Bounded on every input: recursion depth, a fuel budget per evaluation
//! (constants may refer to each other exponentially), the size of strings,
//! and a stack of definitions being evaluated (cyclic constants).

use dbveto_source::Location;
use dbveto_writes::{Literal, SqlText};
use tree_sitter::Node;

use crate::facts::Key;
use crate::index::strip_parens;
use crate::resolve::{Index, Lookup};
use crate::{strings, text};

const MAX_DEPTH: u32 = 64;
const FUEL: u32 = 20_000;
const MAX_STRING: usize = 1 << 20;

/// One string literal's contribution to a string value.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub text: String,
    /// The first character of the literal's content.
    pub start: Location,
    pub key: Key,
}

#[derive(Debug, Clone)]
pub(crate) enum Value {
    Str(Vec<Piece>),
    Int(i128),
    /// A floating-point constant, as written.
    Float(String),
    Bool(bool),
    Nil,
}

impl Value {
    pub fn literal(&self) -> Literal {
        match self {
            Value::Str(pieces) => Literal::Str(pieces.iter().map(|p| p.text.as_str()).collect()),
            Value::Int(i) => i64::try_from(*i).map_or_else(|_| Literal::Num(i.to_string()), Literal::Int),
            Value::Float(f) => Literal::Num(f.replace('_', "")),
            Value::Bool(b) => Literal::Bool(*b),
            Value::Nil => Literal::Null,
        }
    }
}

/// The SQL text of a string value, piece by piece so that offsets map back
/// to the right literal.
pub(crate) fn sql_text(pieces: &[Piece]) -> Option<SqlText> {
    let (first, rest) = pieces.split_first()?;
    let mut sql = SqlText::new(first.text.clone(), first.start.clone());
    for piece in rest {
        sql.push(&piece.text, piece.start.clone());
    }
    Some(sql)
}

/// Where an expression is evaluated: its file, function scope, and `iota`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx {
    pub file: usize,
    pub scope: Option<usize>,
    pub iota: Option<i64>,
}

pub(crate) struct Evaluator<'i, 't> {
    index: &'i Index<'t>,
    fuel: u32,
    /// Definitions being evaluated: (file, offset of the value, iota).
    visiting: Vec<(usize, usize, i64)>,
}

#[derive(Clone, Copy)]
enum Basic {
    String,
    Int,
    Float,
    Bool,
}

impl<'i, 't> Evaluator<'i, 't> {
    pub fn new(index: &'i Index<'t>) -> Self {
        Evaluator { index, fuel: FUEL, visiting: Vec::new() }
    }

    /// The constant value of an expression, if it has one.
    pub fn eval(&mut self, ctx: Ctx, node: Node<'t>) -> Option<Value> {
        self.fuel = FUEL;
        self.visiting.clear();
        self.value(ctx, node, 0)
    }

    fn value(&mut self, ctx: Ctx, node: Node<'t>, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH || self.fuel == 0 {
            return None;
        }
        self.fuel -= 1;
        let src = self.index.src(ctx.file);
        let raw = text(src, node);
        match node.kind() {
            "interpreted_string_literal" => Some(Value::Str(self.interpreted(ctx.file, node))),
            "raw_string_literal" => {
                // The content starts after the one-byte backtick.
                Some(Value::Str(vec![self.piece(ctx.file, node, node.start_byte() + 1, strings::raw(raw))]))
            }
            "int_literal" => strings::int(raw).map(Value::Int),
            "rune_literal" => strings::rune(raw).map(Value::Int),
            "float_literal" => Some(Value::Float(raw.to_string())),
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            "nil" => Some(Value::Nil),
            "iota" => ctx.iota.map(|i| Value::Int(i.into())),
            "identifier" => self.identifier(ctx, node, depth),
            "selector_expression" => {
                let pkg = self.package(ctx, node.child_by_field_name("operand")?)?;
                let name = text(src, node.child_by_field_name("field")?);
                self.constant(pkg, name, depth)
            }
            "parenthesized_expression" => self.value(ctx, node.named_child(0)?, depth + 1),
            "binary_expression" => self.binary(ctx, node, depth),
            "unary_expression" => {
                let operand = self.value(ctx, node.child_by_field_name("operand")?, depth + 1)?;
                unary(node.child_by_field_name("operator")?.kind(), operand)
            }
            "call_expression" => {
                // `T(x)`: a conversion when the callee is a type.
                let args = node.child_by_field_name("arguments")?;
                let mut cursor = args.walk();
                let mut args = args.named_children(&mut cursor).filter(|n| n.kind() != "comment");
                let (Some(arg), None) = (args.next(), args.next()) else { return None };
                let target = self.conversion(ctx, node.child_by_field_name("function")?)?;
                convert(target, self.value(ctx, arg, depth + 1)?)
            }
            "type_conversion_expression" => {
                let target = self.conversion(ctx, node.child_by_field_name("type")?)?;
                convert(target, self.value(ctx, node.child_by_field_name("operand")?, depth + 1)?)
            }
            _ => None,
        }
    }

    /// A piece of the literal `node` whose text starts at byte `at`.
    fn piece(&self, file: usize, node: Node<'t>, at: usize, text: String) -> Piece {
        let start = match self.index.sources.get(file) {
            Some(source) => source.location(at),
            None => Location { path: "".into(), line: 1, column: 1 },
        };
        Piece { text, start, key: (file, node.start_byte()) }
    }

    /// An interpreted literal, one piece per run of plain text or of
    /// escapes: a decoded `\n` must not shift the lines of what follows.
    fn interpreted(&self, file: usize, node: Node<'t>) -> Vec<Piece> {
        let src = self.index.src(file);
        let mut pieces = Vec::new();
        // A run of adjacent escapes is decoded at once: `\xc3\xa9` is one character.
        let mut escapes: Option<(usize, usize)> = None;
        let flush = |pieces: &mut Vec<Piece>, escapes: &mut Option<(usize, usize)>| {
            if let Some((start, end)) = escapes.take() {
                let decoded = strings::unescape(src.get(start..end).unwrap_or(""));
                pieces.push(self.piece(file, node, start, decoded));
            }
        };
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            if child.kind() == "escape_sequence" {
                escapes = Some(match escapes {
                    Some((start, end)) if end == child.start_byte() => (start, child.end_byte()),
                    _ => {
                        flush(&mut pieces, &mut escapes);
                        (child.start_byte(), child.end_byte())
                    }
                });
            } else {
                flush(&mut pieces, &mut escapes);
                pieces.push(self.piece(file, node, child.start_byte(), text(src, child).to_string()));
            }
        }
        flush(&mut pieces, &mut escapes);
        if pieces.is_empty() {
            // `""`: an empty piece after the opening quote.
            pieces.push(self.piece(file, node, node.start_byte() + 1, String::new()));
        }
        pieces
    }

    fn identifier(&mut self, ctx: Ctx, node: Node<'t>, depth: u32) -> Option<Value> {
        let index = self.index;
        let name = text(index.src(ctx.file), node);
        if let Some(scope) = ctx.scope.and_then(|s| index.files.get(ctx.file)?.scopes.get(s)) {
            if scope.shadows(name, node.start_byte()) {
                let def = scope.value_at(name, node.start_byte())?;
                let key = (ctx.file, def.value.start_byte(), def.iota.unwrap_or(i64::MIN));
                let inner = Ctx { iota: def.iota, ..ctx };
                return self.guarded(key, |this| this.value(inner, def.value, depth + 1));
            }
        }
        let pkg = *index.file_pkg.get(ctx.file)?;
        if index.packages.get(pkg)?.consts.contains_key(name) {
            return self.constant(pkg, name, depth);
        }
        let dots = &index.imports.get(ctx.file)?.dot;
        let mut found =
            dots.iter().filter(|&&p| index.packages.get(p).is_some_and(|p| p.consts.contains_key(name)));
        match (found.next(), found.next()) {
            (Some(&pkg), None) => self.constant(pkg, name, depth),
            _ => None,
        }
    }

    fn constant(&mut self, pkg: usize, name: &str, depth: u32) -> Option<Value> {
        let Lookup::Found(file, def) = self.index.constant(pkg, name) else { return None };
        let value = def.value?;
        let key = (file, value.start_byte(), def.iota);
        let ctx = Ctx { file, scope: None, iota: Some(def.iota) };
        self.guarded(key, |this| this.value(ctx, value, depth + 1))
    }

    fn guarded(
        &mut self,
        key: (usize, usize, i64),
        f: impl FnOnce(&mut Self) -> Option<Value>,
    ) -> Option<Value> {
        if self.visiting.contains(&key) {
            return None;
        }
        self.visiting.push(key);
        let value = f(self);
        self.visiting.pop();
        value
    }

    /// The package an operand names (`models` in `models.X`), unless a
    /// local of that name hides the import.
    fn package(&self, ctx: Ctx, operand: Node<'t>) -> Option<usize> {
        let name = match operand.kind() {
            "identifier" | "package_identifier" => text(self.index.src(ctx.file), operand),
            _ => return None,
        };
        if self.is_local(ctx, operand) {
            return None;
        }
        self.index.import(ctx.file, name)
    }

    /// Whether an identifier names a local where it is used.
    fn is_local(&self, ctx: Ctx, name: Node<'t>) -> bool {
        let text = text(self.index.src(ctx.file), name);
        ctx.scope
            .and_then(|s| self.index.files.get(ctx.file)?.scopes.get(s))
            .is_some_and(|scope| scope.shadows(text, name.start_byte()))
    }

    fn binary(&mut self, ctx: Ctx, node: Node<'t>, depth: u32) -> Option<Value> {
        let op = node.child_by_field_name("operator")?.kind();
        if op != "+" {
            let left = self.value(ctx, node.child_by_field_name("left")?, depth + 1)?;
            let right = self.value(ctx, node.child_by_field_name("right")?, depth + 1)?;
            return arithmetic(op, left, right);
        }
        // Long concatenations are left-deep trees: flatten them with a
        // stack instead of recursing once per `+`.
        let mut sum: Option<Value> = None;
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            self.fuel = self.fuel.checked_sub(1)?;
            let n = strip_parens(n);
            if n.kind() == "binary_expression"
                && n.child_by_field_name("operator").map(|o| o.kind()) == Some("+")
            {
                stack.push(n.child_by_field_name("right")?);
                stack.push(n.child_by_field_name("left")?);
                continue;
            }
            let v = self.value(ctx, n, depth + 1)?;
            sum = Some(match sum {
                None => v,
                Some(acc) => add(acc, v)?,
            });
        }
        sum
    }

    /// The basic kind a conversion's target type converts to.
    fn conversion(&self, ctx: Ctx, ty: Node<'t>) -> Option<Option<Basic>> {
        let ty = strip_parens(ty);
        let src = self.index.src(ctx.file);
        match ty.kind() {
            "identifier" | "type_identifier" => {
                let name = text(src, ty);
                if self.is_local(ctx, ty) {
                    return None;
                }
                let pkg = *self.index.file_pkg.get(ctx.file)?;
                if self.index.is_type(pkg, name) {
                    return Some(None);
                }
                basic(name).map(Some)
            }
            "selector_expression" | "qualified_type" => {
                let (operand, name) = match ty.kind() {
                    "qualified_type" => (ty.child_by_field_name("package")?, ty.child_by_field_name("name")?),
                    _ => (ty.child_by_field_name("operand")?, ty.child_by_field_name("field")?),
                };
                let pkg = self.package(ctx, operand)?;
                self.index.is_type(pkg, text(src, name)).then_some(None)
            }
            _ => None,
        }
    }
}

fn basic(name: &str) -> Option<Basic> {
    Some(match name {
        "string" => Basic::String,
        "bool" => Basic::Bool,
        "float32" | "float64" => Basic::Float,
        "int" | "int8" | "int16" | "int32" | "int64" | "uint" | "uint8" | "uint16" | "uint32" | "uint64"
        | "uintptr" | "byte" | "rune" => Basic::Int,
        _ => return None,
    })
}

/// A conversion keeps the value when the kinds agree; a named type of the
/// module (`Status("done")`) keeps it as is.
fn convert(target: Option<Basic>, value: Value) -> Option<Value> {
    match (target, &value) {
        (None, _)
        | (Some(Basic::String), Value::Str(_))
        | (Some(Basic::Int), Value::Int(_))
        | (Some(Basic::Float), Value::Int(_) | Value::Float(_))
        | (Some(Basic::Bool), Value::Bool(_)) => Some(value),
        _ => None,
    }
}

fn add(left: Value, right: Value) -> Option<Value> {
    match (left, right) {
        (Value::Str(mut a), Value::Str(b)) => {
            let len: usize = a.iter().chain(&b).map(|p| p.text.len()).sum();
            if len > MAX_STRING {
                return None;
            }
            a.extend(b);
            Some(Value::Str(a))
        }
        (Value::Int(a), Value::Int(b)) => a.checked_add(b).map(Value::Int),
        _ => None,
    }
}

fn arithmetic(op: &str, left: Value, right: Value) -> Option<Value> {
    if let (Value::Bool(a), Value::Bool(b)) = (&left, &right) {
        return match op {
            "&&" => Some(Value::Bool(*a && *b)),
            "||" => Some(Value::Bool(*a || *b)),
            _ => None,
        };
    }
    let (Value::Int(a), Value::Int(b)) = (left, right) else { return None };
    let shift = || u32::try_from(b).ok().filter(|s| *s < 127);
    let v = match op {
        "-" => a.checked_sub(b)?,
        "*" => a.checked_mul(b)?,
        "/" => a.checked_div(b)?,
        "%" => a.checked_rem(b)?,
        "<<" => a.checked_mul(1i128.checked_shl(shift()?)?)?,
        ">>" => a >> shift()?,
        "&" => a & b,
        "|" => a | b,
        "^" => a ^ b,
        "&^" => a & !b,
        _ => return None,
    };
    Some(Value::Int(v))
}

fn unary(op: &str, value: Value) -> Option<Value> {
    match (op, value) {
        ("+", v @ (Value::Int(_) | Value::Float(_))) => Some(v),
        ("-", Value::Int(i)) => i.checked_neg().map(Value::Int),
        ("-", Value::Float(f)) => Some(Value::Float(match f.strip_prefix('-') {
            Some(positive) => positive.to_string(),
            None => format!("-{f}"),
        })),
        ("^", Value::Int(i)) => Some(Value::Int(!i)),
        ("!", Value::Bool(b)) => Some(Value::Bool(!b)),
        _ => None,
    }
}
