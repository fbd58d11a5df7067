//! What pass 1 records about one file: its package-level facts, which other
//! files need, and the places pass 2 evaluates. Nodes point into the file's
//! tree, which lives as long as the run.

use tree_sitter::Node;

use crate::scope::FuncScope;

/// A string literal, by file index and byte offset: what a query consumed.
pub(crate) type Key = (usize, usize);

#[derive(Debug)]
pub(crate) struct Import<'t> {
    /// `m` in `import m "..."`; also `.` and `_`.
    pub alias: Option<&'t str>,
    pub path: String,
}

#[derive(Debug)]
pub(crate) struct ConstDef<'t> {
    pub name: &'t str,
    /// The expression, inherited from the previous spec in a block when omitted.
    pub value: Option<Node<'t>>,
    pub iota: i64,
}

#[derive(Debug)]
pub(crate) struct FieldDef<'t> {
    /// The field name; for an embedded field, its type's name.
    pub name: &'t str,
    pub embedded: Option<Node<'t>>,
    /// The `db` tag's column, before any comma.
    pub column: Option<String>,
    /// `db:"-"`: sqlx ignores the field.
    pub skip: bool,
}

#[derive(Debug)]
pub(crate) enum TypeBody<'t> {
    Struct(Vec<FieldDef<'t>>),
    Alias(Node<'t>),
    Other,
}

#[derive(Debug)]
pub(crate) struct TypeDef<'t> {
    pub name: &'t str,
    pub body: TypeBody<'t>,
}

/// `T{...}`, or an element of `[]T{{...}}` whose type is elided.
#[derive(Debug)]
pub(crate) struct StructLit<'t> {
    pub ty: Node<'t>,
    pub body: Node<'t>,
    pub scope: Option<usize>,
}

/// `v.Field = value` (or `v.Field++`, `&v.Field`: `value` is `None`)
/// where `v` has a declared type.
#[derive(Debug)]
pub(crate) struct FieldAssign<'t> {
    pub ty: Node<'t>,
    pub field: &'t str,
    pub value: Option<Node<'t>>,
    pub scope: Option<usize>,
}

/// A call of one of `EXEC_METHODS`.
#[derive(Debug)]
pub(crate) struct CallSite<'t> {
    pub node: Node<'t>,
    pub method: &'t str,
    /// `db` in `db.Exec(...)`.
    pub operand: Option<Node<'t>>,
    pub args: Vec<Node<'t>>,
    pub scope: Option<usize>,
}

/// A string literal or `+` chain that is not part of a larger chain.
#[derive(Debug)]
pub(crate) struct StringRoot<'t> {
    pub node: Node<'t>,
    pub scope: Option<usize>,
    pub iota: Option<i64>,
    /// A constant's `+` chain: evaluated even when it has no literal.
    pub constant: bool,
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
    pub scopes: Vec<FuncScope<'t>>,
    pub calls: Vec<CallSite<'t>>,
    pub roots: Vec<StringRoot<'t>>,
}
