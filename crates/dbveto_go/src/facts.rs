//! What pass 1 keeps of one file once its syntax tree is dropped: its
//! package-level facts, which other files need, and the places pass 2
//! evaluates. Everything is owned or borrows the file's text; no syntax
//! tree outlives pass 1.
//!
//! Expressions are kept as [`Expr`], a small tree of what the evaluator
//! understands. Local names are resolved while the tree is still there: a
//! local with a known value becomes that value ([`Expr::Local`], shared),
//! any other local becomes [`Expr::Unknown`], and `iota` becomes its value.
//! Only package-level names ([`Expr::Ident`], [`Expr::Qualified`]) are left
//! for pass 2, which knows every package.

use std::sync::Arc;

/// A string literal, by file index and byte offset: what a query consumed.
pub(crate) type Key = (usize, usize);

/// An expression, as far as constant evaluation goes. Byte offsets are in
/// the file the expression was written in.
#[derive(Debug)]
pub(crate) enum Expr<'t> {
    /// `"..."`: the literal's range, and its children (content runs and
    /// escape sequences) unless it is one content run or empty.
    Interpreted {
        start: usize,
        end: usize,
        parts: Option<Box<[StrPart]>>,
    },
    /// `` `...` ``: the literal's range.
    Raw {
        start: usize,
        end: usize,
    },
    Int(&'t str),
    Rune(&'t str),
    Float(&'t str),
    Bool(bool),
    Nil,
    /// `iota` in a constant specification, already counted.
    Iota(i64),
    /// A name that no local hides: a package-level constant, maybe.
    Ident(&'t str),
    /// `pkg.Name` where no local hides `pkg`.
    Qualified(&'t str, &'t str),
    /// A local whose value is known (declared once, never written again).
    Local(Arc<Expr<'t>>),
    Paren(Box<Expr<'t>>),
    /// A `+` chain, flattened through parentheses: its operands in order,
    /// and the number of nodes (operands and `+`s) the chain has.
    Concat {
        operands: Vec<Expr<'t>>,
        nodes: u32,
    },
    /// Any other binary operator.
    Binary(&'static str, Box<Expr<'t>>, Box<Expr<'t>>),
    Unary(&'static str, Box<Expr<'t>>),
    /// `T(x)`, where `T` may be a type.
    Convert(Conversion<'t>, Box<Expr<'t>>),
    /// Anything else: never a constant.
    Unknown,
}

/// One named child of an interpreted string literal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StrPart {
    pub start: usize,
    pub end: usize,
    pub escape: bool,
}

/// The callee of a conversion.
#[derive(Debug)]
pub(crate) enum Conversion<'t> {
    /// `Status(x)`, `string(x)`.
    Name(&'t str),
    /// `models.Status(x)`.
    Qualified(&'t str, &'t str),
}

/// A named type as written: `T`, `*T`, `pkg.T`, `T[X]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeRef<'t> {
    Local(&'t str),
    Qualified(&'t str, &'t str),
}

#[derive(Debug)]
pub(crate) struct Import<'t> {
    /// `m` in `import m "..."`; also `.` and `_`.
    pub alias: Option<&'t str>,
    pub path: String,
}

#[derive(Debug)]
pub(crate) struct ConstDef<'t> {
    pub name: &'t str,
    /// The expression (inherited from the previous spec in a block when
    /// omitted), with its byte offset.
    pub value: Option<(usize, Expr<'t>)>,
    pub iota: i64,
}

#[derive(Debug)]
pub(crate) struct FieldDef<'t> {
    /// The field name; for an embedded field, its type's name.
    pub name: &'t str,
    /// The type of an embedded field, when it names one.
    pub embedded: Option<TypeRef<'t>>,
    /// The `db` tag's column, before any comma.
    pub column: Option<String>,
    /// `db:"-"`: sqlx ignores the field.
    pub skip: bool,
}

#[derive(Debug)]
pub(crate) enum TypeBody<'t> {
    Struct(Vec<FieldDef<'t>>),
    /// `type A = B`; `None` when `B` is not a named type.
    Alias(Option<TypeRef<'t>>),
    Other,
}

#[derive(Debug)]
pub(crate) struct TypeDef<'t> {
    pub name: &'t str,
    pub body: TypeBody<'t>,
}

/// What one element of a composite literal gives.
#[derive(Debug)]
pub(crate) enum ElemValue<'t> {
    /// A keyed element without a value (only in broken code).
    Missing,
    /// A nested literal (`{...}`): set, to something unknown.
    Nested,
    /// An expression, with its byte offset.
    Expr(usize, Expr<'t>),
}

#[derive(Debug)]
pub(crate) struct LitElem<'t> {
    /// A `key: value` element.
    pub keyed: bool,
    /// The key, when it is an identifier (a field name).
    pub key: Option<&'t str>,
    pub value: ElemValue<'t>,
}

/// `T{...}`, or an element of `[]T{{...}}` whose type is elided.
#[derive(Debug)]
pub(crate) struct StructLit<'t> {
    pub ty: TypeRef<'t>,
    /// Whether any element is keyed: then only keyed elements count.
    pub keyed: bool,
    pub elements: Vec<LitElem<'t>>,
}

/// `v.Field = value` (or `v.Field++`, `&v.Field`: `value` is `None`)
/// where `v` has a declared type.
#[derive(Debug)]
pub(crate) struct FieldAssign<'t> {
    pub ty: TypeRef<'t>,
    pub field: &'t str,
    pub value: Option<(usize, Expr<'t>)>,
}

/// How a known argument reaches a call, for people.
#[derive(Debug)]
pub(crate) enum Via<'t> {
    Variable(&'t str),
    Constant(&'t str),
    Argument,
}

/// The argument of a `Named*` call, as far as its parameters go.
#[derive(Debug)]
pub(crate) enum NamedArg<'t> {
    /// A map literal: its keyed elements.
    Map(Vec<MapEntry<'t>>),
    /// A value of this (struct, or slice of struct) type.
    Type(TypeRef<'t>),
    Unknown,
}

#[derive(Debug)]
pub(crate) struct MapEntry<'t> {
    pub key: Option<Expr<'t>>,
    pub value: Option<(usize, Expr<'t>)>,
}

#[derive(Debug)]
pub(crate) struct CallArg<'t> {
    /// The byte offset of the argument.
    pub at: usize,
    pub expr: Expr<'t>,
    /// `db.Rebind(q)`: the query is `q`.
    pub rebound: Option<Expr<'t>>,
    /// `args...`
    pub variadic: bool,
    pub via: Via<'t>,
    /// For `Named*` calls.
    pub named: Option<NamedArg<'t>>,
}

/// A call of one of `EXEC_METHODS`.
#[derive(Debug)]
pub(crate) struct CallSite<'t> {
    /// The byte offset of the call.
    pub at: usize,
    pub method: &'t str,
    /// `db` in `db.Exec(...)`, when it is an identifier no local hides.
    pub package_operand: Option<&'t str>,
    /// The first argument looks like a `context.Context`.
    pub ctx_first: bool,
    pub args: Vec<CallArg<'t>>,
}

/// A string literal or `+` chain that is not part of a larger chain.
#[derive(Debug)]
pub(crate) struct StringRoot<'t> {
    pub at: usize,
    pub expr: Expr<'t>,
}

#[derive(Debug, Default)]
pub(crate) struct FileFacts<'t> {
    pub generated: bool,
    pub package: Option<&'t str>,
    pub imports: Vec<Import<'t>>,
    pub consts: Vec<ConstDef<'t>>,
    pub types: Vec<TypeDef<'t>>,
    pub literals: Vec<StructLit<'t>>,
    pub assigns: Vec<FieldAssign<'t>>,
    pub calls: Vec<CallSite<'t>>,
    pub roots: Vec<StringRoot<'t>>,
}
