//! Constant evaluation of Go expressions: literals, constants of any
//! package of the module, locals assigned exactly once, `+` chains,
//! integer arithmetic and conversions. Anything else is unknown.
//!
//! Works on the expressions pass 1 kept ([`Expr`]), whose locals are
//! already resolved; package-level names are looked up in the index.
//!
//! Bounded on every input: recursion depth, a fuel budget per evaluation
//! (constants may refer to each other exponentially), the size of strings,
//! and a stack of definitions being evaluated (cyclic constants).

use dbveto_source::Location;
use dbveto_writes::{Literal, SqlText};

use crate::facts::{Conversion, Expr, Key, StrPart};
use crate::resolve::{Index, Lookup};
use crate::strings;

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

/// An interpreted literal, one piece (offset, text) per run of plain text
/// or of escapes: a decoded `\n` must not shift the lines of what follows.
pub(crate) fn interpreted_pieces(
    src: &str,
    start: usize,
    end: usize,
    parts: Option<&[StrPart]>,
) -> Vec<(usize, String)> {
    let mut pieces = Vec::new();
    // A run of adjacent escapes is decoded at once: `\xc3\xa9` is one character.
    let mut escapes: Option<(usize, usize)> = None;
    let flush = |pieces: &mut Vec<(usize, String)>, escapes: &mut Option<(usize, usize)>| {
        if let Some((start, end)) = escapes.take() {
            pieces.push((start, strings::unescape(src.get(start..end).unwrap_or(""))));
        }
    };
    for part in crate::lower::parts_of(start, end, parts).iter() {
        if part.escape {
            escapes = Some(match escapes {
                Some((start, end)) if end == part.start => (start, part.end),
                _ => {
                    flush(&mut pieces, &mut escapes);
                    (part.start, part.end)
                }
            });
        } else {
            flush(&mut pieces, &mut escapes);
            pieces.push((part.start, src.get(part.start..part.end).unwrap_or("").to_string()));
        }
    }
    flush(&mut pieces, &mut escapes);
    if pieces.is_empty() {
        // `""`: an empty piece after the opening quote.
        pieces.push((start + 1, String::new()));
    }
    pieces
}

pub(crate) struct Evaluator<'i, 't> {
    index: &'i Index<'t>,
    fuel: u32,
    /// Constants being evaluated: (file, offset of the value, iota).
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

    /// The constant value of an expression written in `file`, if it has one.
    pub fn eval(&mut self, file: usize, expr: &Expr<'t>) -> Option<Value> {
        self.fuel = FUEL;
        self.visiting.clear();
        self.value(file, expr, 0)
    }

    fn value(&mut self, file: usize, expr: &Expr<'t>, depth: u32) -> Option<Value> {
        if depth > MAX_DEPTH || self.fuel == 0 {
            return None;
        }
        self.fuel -= 1;
        match expr {
            Expr::Interpreted { start, end, parts } => {
                let src = self.index.src(file);
                let pieces = interpreted_pieces(src, *start, *end, parts.as_deref());
                Some(Value::Str(
                    pieces.into_iter().map(|(at, text)| self.piece(file, *start, at, text)).collect(),
                ))
            }
            Expr::Raw { start, end } => {
                let raw = self.index.src(file).get(*start..*end).unwrap_or("");
                // The content starts after the one-byte backtick.
                Some(Value::Str(vec![self.piece(file, *start, start + 1, strings::raw(raw))]))
            }
            Expr::Int(raw) => strings::int(raw).map(Value::Int),
            Expr::Rune(raw) => strings::rune(raw).map(Value::Int),
            Expr::Float(raw) => Some(Value::Float(raw.to_string())),
            Expr::Bool(b) => Some(Value::Bool(*b)),
            Expr::Nil => Some(Value::Nil),
            Expr::Iota(i) => Some(Value::Int((*i).into())),
            Expr::Ident(name) => self.identifier(file, name, depth),
            Expr::Qualified(pkg, name) => {
                let pkg = self.index.import(file, pkg)?;
                self.constant(pkg, name, depth)
            }
            Expr::Local(value) => self.value(file, value, depth + 1),
            Expr::Paren(inner) => self.value(file, inner, depth + 1),
            Expr::Concat { operands, nodes } => {
                // Each node of the chain costs what it did as a tree.
                self.fuel = self.fuel.checked_sub(*nodes)?;
                let mut sum: Option<Value> = None;
                for operand in operands {
                    let v = self.value(file, operand, depth + 1)?;
                    sum = Some(match sum {
                        None => v,
                        Some(acc) => add(acc, v)?,
                    });
                }
                sum
            }
            Expr::Binary(op, left, right) => {
                let left = self.value(file, left, depth + 1)?;
                let right = self.value(file, right, depth + 1)?;
                arithmetic(op, left, right)
            }
            Expr::Unary(op, operand) => {
                let operand = self.value(file, operand, depth + 1)?;
                unary(op, operand)
            }
            Expr::Convert(target, arg) => {
                let target = self.conversion(file, target)?;
                convert(target, self.value(file, arg, depth + 1)?)
            }
            Expr::Unknown => None,
        }
    }

    /// A piece of the literal starting at `literal` whose text starts at byte `at`.
    fn piece(&self, file: usize, literal: usize, at: usize, text: String) -> Piece {
        let start = match self.index.sources.get(file) {
            Some(source) => source.location(at),
            None => Location { path: "".into(), line: 1, column: 1 },
        };
        Piece { text, start, key: (file, literal) }
    }

    fn identifier(&mut self, file: usize, name: &str, depth: u32) -> Option<Value> {
        let index = self.index;
        let pkg = *index.file_pkg.get(file)?;
        if index.packages.get(pkg)?.consts.contains_key(name) {
            return self.constant(pkg, name, depth);
        }
        let dots = &index.imports.get(file)?.dot;
        let mut found =
            dots.iter().filter(|&&p| index.packages.get(p).is_some_and(|p| p.consts.contains_key(name)));
        match (found.next(), found.next()) {
            (Some(&pkg), None) => self.constant(pkg, name, depth),
            _ => None,
        }
    }

    fn constant(&mut self, pkg: usize, name: &str, depth: u32) -> Option<Value> {
        let index: &'i Index<'t> = self.index;
        let Lookup::Found(file, def) = index.constant(pkg, name) else { return None };
        let (at, value) = def.value.as_ref()?;
        let key = (file, *at, def.iota);
        if self.visiting.contains(&key) {
            return None;
        }
        self.visiting.push(key);
        let value = self.value(file, value, depth + 1);
        self.visiting.pop();
        value
    }

    /// The basic kind a conversion's target type converts to; `Some(None)`
    /// for a type of the module.
    fn conversion(&self, file: usize, target: &Conversion<'t>) -> Option<Option<Basic>> {
        match target {
            Conversion::Name(name) => {
                let pkg = *self.index.file_pkg.get(file)?;
                if self.index.is_type(pkg, name) {
                    return Some(None);
                }
                basic(name).map(Some)
            }
            Conversion::Qualified(qualifier, name) => {
                let pkg = self.index.import(file, qualifier)?;
                self.index.is_type(pkg, name).then_some(None)
            }
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
