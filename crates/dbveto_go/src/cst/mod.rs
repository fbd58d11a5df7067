//! Go's concrete syntax tree: a hand-written recursive-descent parser
//! (`parser`, over `lexer`'s tokens) that builds the tree tree-sitter-go
//! builds for valid Go, with the same node kinds and fields, and the same
//! small API (`Node::kind`, `field`, `named_children`, ...). The frontend
//! was written against tree-sitter-go; this parser is many times faster
//! (tree-sitter's generic GLR runtime parses Go at about 7 MB/s), and a
//! test compares the two trees on real Go.
//!
//! Only named nodes are kept, plus the anonymous tokens the frontend reads:
//! operators (the `operator` field) and the `:=` or `=` of a range clause,
//! a receive and a short variable declaration. Comments are not in the
//! tree. On a syntax error the parser records where, keeps what it parsed
//! and goes on at the next statement or declaration.

mod lexer;
mod parser;

#[cfg(test)]
mod tests;

/// The fields a node's children may be in (tree-sitter-go's field names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum F {
    Alias,
    Alternative,
    Arguments,
    Body,
    Capacity,
    Channel,
    Communication,
    Condition,
    Consequence,
    Element,
    End,
    Field,
    Function,
    Index,
    Initializer,
    Key,
    Label,
    Left,
    Length,
    Name,
    Operand,
    Operator,
    Package,
    Parameters,
    Path,
    Receiver,
    Result,
    Right,
    Start,
    Tag,
    Type,
    TypeArguments,
    TypeParameters,
    Update,
    Value,
}

impl F {
    const ALL: [F; 35] = [
        F::Alias,
        F::Alternative,
        F::Arguments,
        F::Body,
        F::Capacity,
        F::Channel,
        F::Communication,
        F::Condition,
        F::Consequence,
        F::Element,
        F::End,
        F::Field,
        F::Function,
        F::Index,
        F::Initializer,
        F::Key,
        F::Label,
        F::Left,
        F::Length,
        F::Name,
        F::Operand,
        F::Operator,
        F::Package,
        F::Parameters,
        F::Path,
        F::Receiver,
        F::Result,
        F::Right,
        F::Start,
        F::Tag,
        F::Type,
        F::TypeArguments,
        F::TypeParameters,
        F::Update,
        F::Value,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            F::Alias => "alias",
            F::Alternative => "alternative",
            F::Arguments => "arguments",
            F::Body => "body",
            F::Capacity => "capacity",
            F::Channel => "channel",
            F::Communication => "communication",
            F::Condition => "condition",
            F::Consequence => "consequence",
            F::Element => "element",
            F::End => "end",
            F::Field => "field",
            F::Function => "function",
            F::Index => "index",
            F::Initializer => "initializer",
            F::Key => "key",
            F::Label => "label",
            F::Left => "left",
            F::Length => "length",
            F::Name => "name",
            F::Operand => "operand",
            F::Operator => "operator",
            F::Package => "package",
            F::Parameters => "parameters",
            F::Path => "path",
            F::Receiver => "receiver",
            F::Result => "result",
            F::Right => "right",
            F::Start => "start",
            F::Tag => "tag",
            F::Type => "type",
            F::TypeArguments => "type_arguments",
            F::TypeParameters => "type_parameters",
            F::Update => "update",
            F::Value => "value",
        }
    }

    fn named(name: &str) -> Option<F> {
        F::ALL.into_iter().find(|f| f.name() == name)
    }
}

#[derive(Debug, Clone, Copy)]
struct NodeData {
    kind: &'static str,
    named: bool,
    start: u32,
    end: u32,
    /// Children: `edges[first..first + count]`.
    first: u32,
    count: u32,
}

#[derive(Debug, Clone, Copy)]
struct Edge {
    node: u32,
    field: Option<F>,
}

/// A parsed file.
pub(crate) struct Tree {
    nodes: Vec<NodeData>,
    edges: Vec<Edge>,
    root: u32,
    /// Where the first syntax error is.
    error: Option<u32>,
}

/// Parses Go source, leaving out the `skipped` spans (sorted and
/// disjoint; each starts at a token and ends where a line break, `;` or
/// `}` still follows, so that what is left is Go).
pub(crate) fn parse(src: &str, skipped: &[(usize, usize)]) -> Tree {
    parser::parse(src, skipped)
}

impl Tree {
    pub(crate) fn root_node(&self) -> Node<'_> {
        Node { tree: self, id: self.root }
    }

    /// The offset of the first syntax error, if any.
    pub(crate) fn error_offset(&self) -> Option<usize> {
        self.error.map(|e| e as usize)
    }
}

/// Kept for the API's shape (tree-sitter iterates children with one).
pub(crate) struct Cursor;

#[derive(Clone, Copy)]
pub(crate) struct Node<'t> {
    tree: &'t Tree,
    id: u32,
}

impl PartialEq for Node<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.tree, other.tree) && self.id == other.id
    }
}

impl Eq for Node<'_> {}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} [{}..{}]", self.kind(), self.start_byte(), self.end_byte())
    }
}

impl<'t> Node<'t> {
    fn data(&self) -> &'t NodeData {
        &self.tree.nodes[self.id as usize]
    }

    fn edges(&self) -> &'t [Edge] {
        let d = self.data();
        &self.tree.edges[d.first as usize..(d.first + d.count) as usize]
    }

    fn at(&self, id: u32) -> Node<'t> {
        Node { tree: self.tree, id }
    }

    pub(crate) fn kind(&self) -> &'static str {
        self.data().kind
    }

    /// The node's kind (the same as [`Node::kind`]).
    pub(crate) fn k(&self) -> &'static str {
        self.data().kind
    }

    pub(crate) fn is_named(&self) -> bool {
        self.data().named
    }

    pub(crate) fn start_byte(&self) -> usize {
        self.data().start as usize
    }

    pub(crate) fn end_byte(&self) -> usize {
        self.data().end as usize
    }

    pub(crate) fn byte_range(&self) -> std::ops::Range<usize> {
        self.start_byte()..self.end_byte()
    }

    pub(crate) fn walk(&self) -> Cursor {
        Cursor
    }

    pub(crate) fn child_count(&self) -> usize {
        self.data().count as usize
    }

    pub(crate) fn children(&self, _cursor: &mut Cursor) -> impl Iterator<Item = Node<'t>> + 't {
        let tree = self.tree;
        self.edges().iter().map(move |e| Node { tree, id: e.node })
    }

    pub(crate) fn named_children(&self, _cursor: &mut Cursor) -> impl Iterator<Item = Node<'t>> + 't {
        let tree = self.tree;
        self.edges().iter().map(move |e| Node { tree, id: e.node }).filter(|n| n.is_named())
    }

    pub(crate) fn named_child_count(&self) -> usize {
        self.edges().iter().filter(|e| self.at(e.node).is_named()).count()
    }

    pub(crate) fn named_child(&self, i: usize) -> Option<Node<'t>> {
        self.edges().iter().map(|e| self.at(e.node)).filter(|n| n.is_named()).nth(i)
    }

    /// The first child in field `f`.
    pub(crate) fn field(&self, f: F) -> Option<Node<'t>> {
        self.edges().iter().find(|e| e.field == Some(f)).map(|e| self.at(e.node))
    }

    /// The children in field `f`.
    pub(crate) fn children_in(&self, f: F) -> impl Iterator<Item = Node<'t>> + 't {
        let tree = self.tree;
        self.edges().iter().filter(move |e| e.field == Some(f)).map(move |e| Node { tree, id: e.node })
    }

    pub(crate) fn child_by_field_name(&self, name: &str) -> Option<Node<'t>> {
        self.field(F::named(name)?)
    }

    pub(crate) fn children_by_field_name(
        &self,
        name: &str,
        _cursor: &mut Cursor,
    ) -> impl Iterator<Item = Node<'t>> + 't {
        let f = F::named(name);
        let tree = self.tree;
        self.edges().iter().filter(move |e| f.is_some() && e.field == f).map(move |e| Node { tree, id: e.node })
    }

    /// The children with their fields, for tests that print trees.
    #[cfg(test)]
    pub(crate) fn fields_and_children(&self) -> Vec<(Option<&'static str>, Node<'t>)> {
        self.edges().iter().map(|e| (e.field.map(F::name), self.at(e.node))).collect()
    }
}
