//! Pass 1: one walk over a file's tree collects what other files may need
//! (package, imports, constants, struct types, struct literals, field
//! assignments) and what pass 2 will evaluate (exec-like calls, string
//! roots, function scopes). Nothing is evaluated here: values may depend on
//! constants of packages not indexed yet.

use std::ops::Range;

use dbveto_source::SourceFile;
use tree_sitter::{Node, Tree, TreeCursor};

use crate::facts::{
    CallSite, ConstDef, FieldAssign, FieldDef, FileFacts, Import, StringRoot, StructLit, TypeBody, TypeDef,
};
use crate::scope::{Def, FuncScope};
use crate::{strings, text};

/// Methods (and sqlx package functions) that run their query argument.
pub(crate) const EXEC_METHODS: &[&str] = &[
    "Exec",
    "ExecContext",
    "MustExec",
    "MustExecContext",
    "Query",
    "QueryContext",
    "QueryRow",
    "QueryRowContext",
    "Queryx",
    "QueryRowx",
    "QueryxContext",
    "QueryRowxContext",
    "Get",
    "GetContext",
    "Select",
    "SelectContext",
    "NamedExec",
    "NamedExecContext",
    "NamedQuery",
    "NamedQueryContext",
];

/// Nodes whose children see names declared inside them only.
const BLOCK_KINDS: &[&str] = &[
    "block",
    "if_statement",
    "for_statement",
    "expression_switch_statement",
    "type_switch_statement",
    "select_statement",
    "expression_case",
    "default_case",
    "type_case",
    "communication_case",
    "func_literal",
    "function_declaration",
    "method_declaration",
];

/// Pass 1 over one file. A file without a tree gives empty facts.
pub(crate) fn index_file<'t>(
    source: &'t SourceFile,
    tree: Option<&'t Tree>,
    generated: bool,
) -> FileFacts<'t> {
    let facts = FileFacts { generated, ..FileFacts::default() };
    let Some(tree) = tree else { return facts };
    let root = tree.root_node();
    let mut walker = Walker {
        src: &source.text,
        facts,
        pending: Vec::new(),
        cursor: root.walk(),
        stack: vec![Frame { node: root, scope: None, block: (0, source.text.len()), chain: false }],
    };
    while let Some(frame) = walker.stack.pop() {
        walker.visit(frame);
    }
    walker.finish()
}

#[derive(Clone, Copy)]
struct Frame<'t> {
    node: Node<'t>,
    /// The function scope the node is in.
    scope: Option<usize>,
    /// The byte range names declared here are visible in.
    block: (usize, usize),
    /// Inside a `+` chain (or an already recorded root): not a root itself.
    chain: bool,
}

impl Frame<'_> {
    fn visible(&self) -> Range<usize> {
        self.block.0..self.block.1
    }
}

/// `v.Field` written in a function; `v`'s type is known once the whole
/// function has been walked.
struct PendingAssign<'t> {
    scope: usize,
    var: &'t str,
    field: &'t str,
    value: Option<Node<'t>>,
    at: usize,
}

struct Walker<'t> {
    src: &'t str,
    facts: FileFacts<'t>,
    pending: Vec<PendingAssign<'t>>,
    cursor: TreeCursor<'t>,
    // An explicit stack: deeply nested code must not overflow ours.
    stack: Vec<Frame<'t>>,
}

impl<'t> Walker<'t> {
    fn visit(&mut self, f: Frame<'t>) {
        let node = f.node;
        match node.kind() {
            // Types hold no values, and their parameter names are not variables.
            "comment" | "field_declaration" | "function_type" | "interface_type" | "struct_type" => {}
            "package_clause" => {
                if let Some(name) = self.named_children(node).first() {
                    self.facts.package = Some(text(self.src, *name));
                }
            }
            "import_spec" => self.import(node),
            "const_declaration" => self.constants(f),
            "type_declaration" => match f.scope {
                None => self.types(node),
                // Types declared inside functions are not indexed, but they
                // hide package-level types of the same name.
                Some(scope) => {
                    for spec in self.named_children(node) {
                        if let Some(name) = spec.child_by_field_name("name") {
                            self.facts.scopes[scope].declare_type(text(self.src, name));
                        }
                    }
                }
            },
            "function_declaration" | "method_declaration" => {
                let scope = self.new_scope();
                self.push_children(Frame { scope: Some(scope), ..f }, false);
            }
            "func_literal" => {
                let scope = f.scope.unwrap_or_else(|| self.new_scope());
                self.push_children(Frame { scope: Some(scope), ..f }, false);
            }
            "parameter_declaration" | "variadic_parameter_declaration" => self.parameters(f),
            "short_var_declaration" => self.short_var(f),
            "var_spec" => self.var_spec(f),
            "assignment_statement" => self.assignment(f),
            "inc_statement" | "dec_statement" => {
                for child in self.named_children(node) {
                    self.mutated(f.scope, child);
                }
                self.push_children(f, false);
            }
            "range_clause" | "receive_statement" => {
                // `for k, v := range` declares; `for k = range` writes.
                let declares = node.children(&mut self.cursor).any(|c| c.kind() == ":=");
                if let (Some(scope), Some(left)) = (f.scope, node.child_by_field_name("left")) {
                    for name in self.named_children(left) {
                        if !declares {
                            self.mutated(Some(scope), name);
                        } else if name.kind() == "identifier" {
                            let name = text(self.src, name);
                            self.facts.scopes[scope].declare(name, f.visible(), node.end_byte(), None, None);
                        }
                    }
                }
                if let Some(right) = node.child_by_field_name("right") {
                    self.push(right, f, false);
                }
            }
            "type_switch_statement" => {
                if let (Some(scope), Some(alias)) = (f.scope, node.child_by_field_name("alias")) {
                    for name in self.named_children(alias) {
                        let name = text(self.src, name);
                        self.facts.scopes[scope].declare(
                            name,
                            node.byte_range(),
                            alias.end_byte(),
                            None,
                            None,
                        );
                    }
                }
                self.push_children(f, false);
            }
            "unary_expression" => {
                if operator(node) == Some("&") {
                    if let Some(operand) = node.child_by_field_name("operand") {
                        // Its address escapes: it may be written through it.
                        self.mutated(f.scope, operand);
                    }
                }
                self.push_children(f, false);
            }
            "composite_literal" => {
                self.composite(f);
                self.push_children(f, false);
            }
            "call_expression" => {
                self.call(f);
                self.push_children(f, false);
            }
            "interpreted_string_literal" | "raw_string_literal" => {
                if !f.chain {
                    self.root(f, None, false);
                }
            }
            "binary_expression" => {
                let plus = operator(node) == Some("+");
                if plus && !f.chain {
                    self.root(f, None, false);
                }
                self.push_children(f, plus);
            }
            "parenthesized_expression" => self.push_children(f, f.chain),
            _ => self.push_children(f, false),
        }
    }

    fn finish(mut self) -> FileFacts<'t> {
        for scope in &mut self.facts.scopes {
            scope.finish();
        }
        for p in std::mem::take(&mut self.pending) {
            if let Some(ty) = self.facts.scopes[p.scope].type_of(p.var, p.at) {
                self.facts.assigns.push(FieldAssign {
                    ty,
                    field: p.field,
                    value: p.value,
                    scope: Some(p.scope),
                });
            }
        }
        self.facts
    }

    fn named_children(&mut self, node: Node<'t>) -> Vec<Node<'t>> {
        node.named_children(&mut self.cursor).filter(|n| n.kind() != "comment").collect()
    }

    fn push_children(&mut self, f: Frame<'t>, chain: bool) {
        let node = f.node;
        let block = match node.kind() {
            // Parameters live in the body's block: `x, err := ...` there
            // assigns a parameter `x`.
            "function_declaration" | "method_declaration" | "func_literal" => {
                let body = node.child_by_field_name("body").unwrap_or(node);
                (body.start_byte(), body.end_byte())
            }
            kind if BLOCK_KINDS.contains(&kind) => (node.start_byte(), node.end_byte()),
            _ => f.block,
        };
        let children = self.named_children(f.node);
        for child in children.into_iter().rev() {
            self.stack.push(Frame { node: child, scope: f.scope, block, chain });
        }
    }

    fn push(&mut self, node: Node<'t>, f: Frame<'t>, chain: bool) {
        self.stack.push(Frame { node, chain, ..f });
    }

    fn new_scope(&mut self) -> usize {
        self.facts.scopes.push(FuncScope::default());
        self.facts.scopes.len() - 1
    }

    fn root(&mut self, f: Frame<'t>, iota: Option<i64>, constant: bool) {
        if !self.facts.generated {
            self.facts.roots.push(StringRoot { node: f.node, scope: f.scope, iota, constant });
        }
    }

    fn import(&mut self, node: Node<'t>) {
        let alias = node.child_by_field_name("name").map(|n| text(self.src, n));
        if let Some(path) = node.child_by_field_name("path") {
            let path = string_value(self.src, path);
            self.facts.imports.push(Import { alias, path });
        }
    }

    /// A const block: specs without values repeat the previous expressions,
    /// with `iota` counting specs.
    fn constants(&mut self, f: Frame<'t>) {
        let mut iota: i64 = 0;
        let mut values: Vec<Node<'t>> = Vec::new();
        for spec in self.named_children(f.node) {
            if spec.kind() != "const_spec" {
                continue;
            }
            if let Some(list) = spec.child_by_field_name("value") {
                values = self.named_children(list);
                for &value in &values {
                    let frame = Frame { node: value, ..f };
                    if strip_parens(value).kind() == "binary_expression" {
                        self.root(frame, Some(iota), true);
                        self.push(value, f, true);
                    } else {
                        self.push(value, f, false);
                    }
                }
            }
            let names: Vec<Node<'t>> = spec.children_by_field_name("name", &mut self.cursor).collect();
            for (i, name) in names.into_iter().enumerate() {
                let name = text(self.src, name);
                let value = values.get(i).copied();
                match f.scope {
                    None => self.facts.consts.push(ConstDef { name, value, iota }),
                    Some(scope) => {
                        let def = value.map(|value| Def { value, iota: Some(iota) });
                        self.facts.scopes[scope].declare(name, f.visible(), spec.end_byte(), def, None);
                    }
                }
            }
            iota = iota.saturating_add(1);
        }
    }

    fn types(&mut self, node: Node<'t>) {
        for spec in self.named_children(node) {
            let (Some(name), Some(ty)) = (spec.child_by_field_name("name"), spec.child_by_field_name("type"))
            else {
                continue;
            };
            let body = match (spec.kind(), ty.kind()) {
                ("type_alias", _) => TypeBody::Alias(ty),
                (_, "struct_type") => TypeBody::Struct(self.fields(ty)),
                _ => TypeBody::Other,
            };
            self.facts.types.push(TypeDef { name: text(self.src, name), body });
        }
    }

    fn fields(&mut self, struct_type: Node<'t>) -> Vec<FieldDef<'t>> {
        let mut fields = Vec::new();
        let Some(list) =
            self.named_children(struct_type).into_iter().find(|n| n.kind() == "field_declaration_list")
        else {
            return fields;
        };
        for decl in self.named_children(list) {
            if decl.kind() != "field_declaration" {
                continue;
            }
            let tag = decl
                .child_by_field_name("tag")
                .and_then(|t| strings::tag_lookup(&string_value(self.src, t), "db"));
            let column = tag.as_deref().map(|t| t.split(',').next().unwrap_or(""));
            let skip = column == Some("-");
            let column = column.filter(|c| !c.is_empty() && *c != "-").map(str::to_string);
            let names: Vec<Node<'t>> = decl.children_by_field_name("name", &mut self.cursor).collect();
            let ty = decl.child_by_field_name("type");
            if names.is_empty() {
                if let Some(ty) = ty {
                    let name = type_name(self.src, ty).unwrap_or("");
                    fields.push(FieldDef { name, embedded: Some(ty), column, skip });
                }
            } else {
                for name in names {
                    fields.push(FieldDef {
                        name: text(self.src, name),
                        embedded: None,
                        column: column.clone(),
                        skip,
                    });
                }
            }
        }
        fields
    }

    fn parameters(&mut self, f: Frame<'t>) {
        let Some(scope) = f.scope else { return };
        let variadic = f.node.kind() == "variadic_parameter_declaration";
        // `xs ...T` is a []T: its element type is not its type.
        let ty = f.node.child_by_field_name("type").filter(|_| !variadic);
        let ty = self.module_type(f.scope, ty);
        let names: Vec<Node<'t>> = f.node.children_by_field_name("name", &mut self.cursor).collect();
        for name in names {
            self.facts.scopes[scope].declare(
                text(self.src, name),
                f.visible(),
                f.node.start_byte(),
                None,
                ty,
            );
        }
    }

    fn short_var(&mut self, f: Frame<'t>) {
        let left = self.list(f.node, "left");
        let right = self.list(f.node, "right");
        if let Some(scope) = f.scope {
            for (i, name) in left.iter().enumerate() {
                if name.kind() != "identifier" {
                    continue;
                }
                let value = (left.len() == right.len()).then(|| right[i]);
                let def = value.map(|value| Def { value, iota: None });
                let ty = self.module_type(f.scope, value.and_then(|v| inferred_type(self.src, v)));
                let name = text(self.src, *name);
                self.facts.scopes[scope].declare(name, f.visible(), f.node.end_byte(), def, ty);
            }
        }
        for value in right.into_iter().rev() {
            self.push(value, f, false);
        }
    }

    fn var_spec(&mut self, f: Frame<'t>) {
        let values = self.list(f.node, "value");
        if let Some(scope) = f.scope {
            let declared = f.node.child_by_field_name("type");
            let names: Vec<Node<'t>> = f.node.children_by_field_name("name", &mut self.cursor).collect();
            for (i, name) in names.iter().enumerate() {
                let value = (names.len() == values.len()).then(|| values[i]);
                let def = value.map(|value| Def { value, iota: None });
                let ty = self.module_type(
                    f.scope,
                    declared.or_else(|| value.and_then(|v| inferred_type(self.src, v))),
                );
                let name = text(self.src, *name);
                self.facts.scopes[scope].declare(name, f.visible(), f.node.end_byte(), def, ty);
            }
        }
        for value in values.into_iter().rev() {
            self.push(value, f, false);
        }
    }

    fn assignment(&mut self, f: Frame<'t>) {
        let left = self.list(f.node, "left");
        let right = self.list(f.node, "right");
        let plain = operator(f.node) == Some("=") && left.len() == right.len();
        if let Some(scope) = f.scope {
            for (i, target) in left.iter().enumerate() {
                match target.kind() {
                    "selector_expression" => {
                        let value = plain.then(|| right[i]);
                        self.field_write(scope, *target, value);
                    }
                    _ => self.mutated(Some(scope), *target),
                }
            }
        }
        for value in right.into_iter().rev() {
            self.push(value, f, false);
        }
    }

    /// A write to `x`, `x.F` or `m[k]` (through `x++`, `&x`, `x += ...`).
    fn mutated(&mut self, scope: Option<usize>, target: Node<'t>) {
        let Some(scope) = scope else { return };
        let mut target = strip_parens(target);
        // `m[i][j] = v` writes `m`.
        while target.kind() == "index_expression" {
            match target.child_by_field_name("operand") {
                Some(operand) => target = strip_parens(operand),
                None => return,
            }
        }
        match target.kind() {
            "identifier" => self.facts.scopes[scope].write(text(self.src, target), target.start_byte()),
            "selector_expression" => self.field_write(scope, target, None),
            _ => {}
        }
    }

    fn field_write(&mut self, scope: usize, selector: Node<'t>, value: Option<Node<'t>>) {
        let (Some(operand), Some(field)) =
            (selector.child_by_field_name("operand"), selector.child_by_field_name("field"))
        else {
            return;
        };
        if operand.kind() == "identifier" {
            let var = text(self.src, operand);
            let (field, at) = (text(self.src, field), operand.start_byte());
            self.pending.push(PendingAssign { scope, var, field, value, at });
        }
    }

    fn composite(&mut self, f: Frame<'t>) {
        let (Some(ty), Some(body)) = (f.node.child_by_field_name("type"), f.node.child_by_field_name("body"))
        else {
            return;
        };
        let element = match ty.kind() {
            "type_identifier" | "qualified_type" | "generic_type" => {
                if self.module_type(f.scope, Some(ty)).is_some() {
                    self.facts.literals.push(StructLit { ty, body, scope: f.scope });
                }
                return;
            }
            "slice_type" | "array_type" | "implicit_length_array_type" => ty.child_by_field_name("element"),
            "map_type" => ty.child_by_field_name("value"),
            _ => None,
        };
        let Some(element) = self.module_type(f.scope, element).map(|(t, _)| strip_pointer(t)) else { return };
        if !matches!(element.kind(), "type_identifier" | "qualified_type" | "generic_type") {
            return;
        }
        // `[]T{{...}, {...}}`: the inner literals are T literals.
        for item in self.named_children(body) {
            let item = match item.kind() {
                "keyed_element" => item.child_by_field_name("value"),
                _ => Some(item),
            };
            let inner = item.and_then(|i| self.named_children(i).into_iter().next());
            if let Some(inner) = inner.filter(|n| n.kind() == "literal_value") {
                self.facts.literals.push(StructLit { ty: element, body: inner, scope: f.scope });
            }
        }
    }

    fn call(&mut self, f: Frame<'t>) {
        if self.facts.generated {
            return;
        }
        let Some(function) = f.node.child_by_field_name("function") else { return };
        if function.kind() != "selector_expression" {
            return;
        }
        let Some(method) = function.child_by_field_name("field").map(|n| text(self.src, n)) else { return };
        if !EXEC_METHODS.contains(&method) {
            return;
        }
        let args = match f.node.child_by_field_name("arguments") {
            Some(list) => self.named_children(list),
            None => Vec::new(),
        };
        self.facts.calls.push(CallSite {
            node: f.node,
            method,
            operand: function.child_by_field_name("operand"),
            args,
            scope: f.scope,
        });
    }

    /// A type expression with its text, unless it names a type declared in
    /// the function (not indexed).
    fn module_type(&self, scope: Option<usize>, ty: Option<Node<'t>>) -> Option<(Node<'t>, &'t str)> {
        let ty = ty?;
        let mut base = strip_pointer(ty);
        while matches!(base.kind(), "slice_type" | "array_type") {
            base = strip_pointer(base.child_by_field_name("element")?);
        }
        let local = base.kind() == "type_identifier"
            && scope.is_some_and(|s| self.facts.scopes[s].has_type(text(self.src, base)));
        (!local).then(|| (ty, text(self.src, ty)))
    }

    fn list(&mut self, node: Node<'t>, field: &str) -> Vec<Node<'t>> {
        match node.child_by_field_name(field) {
            Some(list) if list.kind() == "expression_list" => self.named_children(list),
            Some(single) => vec![single],
            None => Vec::new(),
        }
    }
}

fn operator(node: Node<'_>) -> Option<&'static str> {
    node.child_by_field_name("operator").map(|n| n.kind())
}

pub(crate) fn strip_parens(mut node: Node<'_>) -> Node<'_> {
    // Bounded: a parenthesized expression always has a shorter child.
    while matches!(node.kind(), "parenthesized_expression" | "parenthesized_type") {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

pub(crate) fn strip_pointer(mut node: Node<'_>) -> Node<'_> {
    while matches!(node.kind(), "pointer_type" | "parenthesized_type") {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// The type a short variable declaration gives from its value:
/// `&T{...}`, `T{...}`, `new(T)`.
fn inferred_type<'t>(src: &str, value: Node<'t>) -> Option<Node<'t>> {
    let mut value = strip_parens(value);
    if value.kind() == "unary_expression" && operator(value) == Some("&") {
        value = strip_parens(value.child_by_field_name("operand")?);
    }
    let ty = match value.kind() {
        "composite_literal" => value.child_by_field_name("type")?,
        "call_expression" => {
            let function = value.child_by_field_name("function")?;
            if text(src, function) != "new" {
                return None;
            }
            value.child_by_field_name("arguments")?.named_child(0)?
        }
        _ => return None,
    };
    Some(ty)
}

/// The name an embedded field takes from its type: `Base`, `*Base`, `pkg.Base`.
fn type_name<'t>(src: &'t str, ty: Node<'t>) -> Option<&'t str> {
    let ty = strip_pointer(ty);
    match ty.kind() {
        "type_identifier" => Some(text(src, ty)),
        "qualified_type" => ty.child_by_field_name("name").map(|n| text(src, n)),
        "generic_type" => type_name(src, ty.child_by_field_name("type")?),
        _ => None,
    }
}

/// The decoded value of a string literal node.
pub(crate) fn string_value(src: &str, node: Node<'_>) -> String {
    let raw = text(src, node);
    if node.kind() == "raw_string_literal" {
        strings::raw(raw)
    } else {
        strings::interpreted(raw)
    }
}
