//! Fast access to tree-sitter-go nodes: a node's kind from a table built
//! once (no C string to measure and check per call), and fields by id (no
//! lookup of the field name per call).

use std::num::NonZeroU16;
use std::sync::OnceLock;

use tree_sitter::{Language, Node};

/// The fields the frontend reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum F {
    Alias,
    Arguments,
    Body,
    Element,
    Field,
    Function,
    Key,
    Left,
    Name,
    Operand,
    Operator,
    Package,
    Path,
    Right,
    Tag,
    Type,
    Value,
}

const FIELD_NAMES: [&str; 17] = [
    "alias",
    "arguments",
    "body",
    "element",
    "field",
    "function",
    "key",
    "left",
    "name",
    "operand",
    "operator",
    "package",
    "path",
    "right",
    "tag",
    "type",
    "value",
];

struct Tables {
    kinds: Vec<&'static str>,
    fields: [Option<NonZeroU16>; 17],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let language: Language = tree_sitter_go::LANGUAGE.into();
        let count = u16::try_from(language.node_kind_count()).unwrap_or(u16::MAX);
        let kinds = (0..count).map(|id| language.node_kind_for_id(id).unwrap_or("")).collect();
        let fields = FIELD_NAMES.map(|name| language.field_id_for_name(name));
        Tables { kinds, fields }
    })
}

/// The id of a field; `None` if the grammar has no such field.
pub(crate) fn field_id(f: F) -> Option<NonZeroU16> {
    tables().fields[f as usize]
}

pub(crate) trait NodeExt<'n> {
    /// The node's kind, as [`Node::kind`].
    fn k(&self) -> &'static str;
    /// The first child in field `f`, as [`Node::child_by_field_name`].
    fn field(&self, f: F) -> Option<Node<'n>>;
}

impl<'n> NodeExt<'n> for Node<'n> {
    fn k(&self) -> &'static str {
        let id = self.kind_id();
        match tables().kinds.get(usize::from(id)) {
            Some(kind) => kind,
            // Not in the table (never for this grammar): ask the tree.
            None => self.kind(),
        }
    }

    fn field(&self, f: F) -> Option<Node<'n>> {
        self.child_by_field_id(field_id(f)?.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_exists_and_kinds_match_the_tree() {
        for (f, id) in FIELD_NAMES.iter().zip(tables().fields) {
            assert!(id.is_some(), "{f}");
        }
        let mut parser = tree_sitter::Parser::new();
        parser.set_language(&tree_sitter_go::LANGUAGE.into()).unwrap();
        let src =
            "package p\n\n// c\nfunc f(a int) { x := `r` + \"s\\n\"; a++; _ = T{A: 1}.B; var y = iota }\n";
        let tree = parser.parse(src, None).unwrap();
        let mut cursor = tree.walk();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            assert_eq!(node.k(), node.kind());
            stack.extend(node.children(&mut cursor));
        }
    }
}
