//! Pass 1: one walk over a file's tree collects what other files may need
//! (package, imports, constants, struct types, struct literals, field
//! assignments) and what pass 2 will evaluate (exec-like calls, string
//! roots), with the function scopes their names resolve in. Nothing is
//! evaluated here: values may depend on constants of packages not indexed
//! yet. Once the walk is done, `lower` turns what was found into owned
//! facts, and the tree can go.

use std::ops::Range;

use dbveto_source::SourceFile;

use crate::facts::{FieldDef, FileFacts, Import, TypeBody, TypeDef};
use crate::lower::{self, Found, RawCall, RawConst, RawLit, RawRoot};
use crate::scope::{Def, FuncScope};
use crate::cst::{Cursor, Node, Tree, F};
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

/// Pass 1 over one file.
pub(crate) fn index_file<'t>(source: &'t SourceFile, tree: &Tree, generated: bool) -> FileFacts<'t> {
    let mut facts = FileFacts { generated, ..FileFacts::default() };
    let root = tree.root_node();
    let mut walker = Walker {
        src: &source.text,
        generated,
        found: Found::default(),
        imports: Vec::new(),
        types: Vec::new(),
        package: None,
        pending: Vec::new(),
        cursor: root.walk(),
        stack: vec![Frame { node: root, scope: None, block: (0, source.text.len()), chain: false }],
    };
    while let Some(frame) = walker.stack.pop() {
        walker.visit(frame);
    }
    for scope in &mut walker.found.scopes {
        scope.finish();
    }
    for p in std::mem::take(&mut walker.pending) {
        if let Some(ty) = walker.found.scopes[p.scope].type_of(p.var, p.at) {
            walker.found.assigns.push(lower::RawAssign {
                ty,
                field: p.field,
                value: p.value,
                scope: p.scope,
            });
        }
    }
    facts.package = walker.package;
    facts.imports = walker.imports;
    facts.types = walker.types;
    lower::lower(&source.text, walker.found, &mut facts);
    facts
}

#[derive(Clone, Copy)]
struct Frame<'n> {
    node: Node<'n>,
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
struct PendingAssign<'t, 'n> {
    scope: usize,
    var: &'t str,
    field: &'t str,
    value: Option<Node<'n>>,
    at: usize,
}

struct Walker<'t, 'n> {
    src: &'t str,
    generated: bool,
    package: Option<&'t str>,
    imports: Vec<Import<'t>>,
    types: Vec<TypeDef<'t>>,
    /// What `lower` turns into facts once the walk is done.
    found: Found<'t, 'n>,
    pending: Vec<PendingAssign<'t, 'n>>,
    cursor: Cursor,
    // An explicit stack: deeply nested code must not overflow ours.
    stack: Vec<Frame<'n>>,
}

impl<'t, 'n> Walker<'t, 'n> {
    fn visit(&mut self, f: Frame<'n>) {
        let node = f.node;
        match node.k() {
            // Types hold no values, and their parameter names are not variables.
            "comment" | "field_declaration" | "function_type" | "interface_type" | "struct_type" => {}
            "package_clause" => {
                if let Some(name) = self.named_children(node).first() {
                    self.package = Some(text(self.src, *name));
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
                        if let Some(name) = spec.field(F::Name) {
                            self.found.scopes[scope].declare_type(text(self.src, name));
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
                let declares = node.children(&mut self.cursor).any(|c| c.k() == ":=");
                if let (Some(scope), Some(left)) = (f.scope, node.field(F::Left)) {
                    for name in self.named_children(left) {
                        if !declares {
                            self.mutated(Some(scope), name);
                        } else if name.k() == "identifier" {
                            let name = text(self.src, name);
                            self.found.scopes[scope].declare(name, f.visible(), node.end_byte(), None, None);
                        }
                    }
                }
                if let Some(right) = node.field(F::Right) {
                    self.push(right, f, false);
                }
            }
            "type_switch_statement" => {
                if let (Some(scope), Some(alias)) = (f.scope, node.field(F::Alias)) {
                    for name in self.named_children(alias) {
                        let name = text(self.src, name);
                        self.found.scopes[scope].declare(
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
                    if let Some(operand) = node.field(F::Operand) {
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

    fn named_children(&mut self, node: Node<'n>) -> Vec<Node<'n>> {
        node.named_children(&mut self.cursor).filter(|n| n.k() != "comment").collect()
    }

    fn push_children(&mut self, f: Frame<'n>, chain: bool) {
        let node = f.node;
        if node.child_count() == 0 {
            return;
        }
        let block = match node.k() {
            // Parameters live in the body's block: `x, err := ...` there
            // assigns a parameter `x`.
            "function_declaration" | "method_declaration" | "func_literal" => {
                let body = node.field(F::Body).unwrap_or(node);
                (body.start_byte(), body.end_byte())
            }
            kind if BLOCK_KINDS.contains(&kind) => (node.start_byte(), node.end_byte()),
            _ => f.block,
        };
        // Children go on the stack last first, so that they are visited in
        // document order; no list of them is built.
        let first = self.stack.len();
        for child in node.named_children(&mut self.cursor) {
            if child.k() != "comment" {
                self.stack.push(Frame { node: child, scope: f.scope, block, chain });
            }
        }
        self.stack[first..].reverse();
    }

    fn push(&mut self, node: Node<'n>, f: Frame<'n>, chain: bool) {
        self.stack.push(Frame { node, chain, ..f });
    }

    fn new_scope(&mut self) -> usize {
        self.found.scopes.push(FuncScope::default());
        self.found.scopes.len() - 1
    }

    fn root(&mut self, f: Frame<'n>, iota: Option<i64>, constant: bool) {
        if !self.generated {
            self.found.roots.push(RawRoot { node: f.node, scope: f.scope, iota, constant });
        }
    }

    fn import(&mut self, node: Node<'n>) {
        let alias = node.field(F::Name).map(|n| text(self.src, n));
        if let Some(path) = node.field(F::Path) {
            let path = string_value(self.src, path);
            self.imports.push(Import { alias, path });
        }
    }

    /// A const block: specs without values repeat the previous expressions,
    /// with `iota` counting specs.
    fn constants(&mut self, f: Frame<'n>) {
        let mut iota: i64 = 0;
        let mut values: Vec<Node<'n>> = Vec::new();
        for spec in self.named_children(f.node) {
            if spec.k() != "const_spec" {
                continue;
            }
            if let Some(list) = spec.field(F::Value) {
                values = self.named_children(list);
                for &value in &values {
                    let frame = Frame { node: value, ..f };
                    if strip_parens(value).k() == "binary_expression" {
                        self.root(frame, Some(iota), true);
                        self.push(value, f, true);
                    } else {
                        self.push(value, f, false);
                    }
                }
            }
            let names: Vec<Node<'n>> = self.names_of(spec);
            for (i, name) in names.into_iter().enumerate() {
                let name = text(self.src, name);
                let value = values.get(i).copied();
                match f.scope {
                    None => self.found.consts.push(RawConst { name, value, iota }),
                    Some(scope) => {
                        let def = value.map(|value| Def { value, iota: Some(iota) });
                        self.found.scopes[scope].declare(name, f.visible(), spec.end_byte(), def, None);
                    }
                }
            }
            iota = iota.saturating_add(1);
        }
    }

    fn types(&mut self, node: Node<'n>) {
        for spec in self.named_children(node) {
            let (Some(name), Some(ty)) = (spec.field(F::Name), spec.field(F::Type)) else {
                continue;
            };
            let body = match (spec.k(), ty.k()) {
                ("type_alias", _) => TypeBody::Alias(lower::type_ref(self.src, ty)),
                (_, "struct_type") => TypeBody::Struct(self.fields(ty)),
                _ => TypeBody::Other,
            };
            self.types.push(TypeDef { name: text(self.src, name), body });
        }
    }

    fn fields(&mut self, struct_type: Node<'n>) -> Vec<FieldDef<'t>> {
        let mut fields = Vec::new();
        let Some(list) =
            self.named_children(struct_type).into_iter().find(|n| n.k() == "field_declaration_list")
        else {
            return fields;
        };
        for decl in self.named_children(list) {
            if decl.k() != "field_declaration" {
                continue;
            }
            let tag = decl.field(F::Tag).and_then(|t| strings::tag_lookup(&string_value(self.src, t), "db"));
            let column = tag.as_deref().map(|t| t.split(',').next().unwrap_or(""));
            let skip = column == Some("-");
            let column = column.filter(|c| !c.is_empty() && *c != "-").map(str::to_string);
            let names: Vec<Node<'n>> = self.names_of(decl);
            let ty = decl.field(F::Type);
            if names.is_empty() {
                if let Some(ty) = ty {
                    let name = type_name(self.src, ty).unwrap_or("");
                    let embedded = lower::type_ref(self.src, ty);
                    fields.push(FieldDef { name, embedded, column, skip });
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

    fn parameters(&mut self, f: Frame<'n>) {
        let Some(scope) = f.scope else { return };
        let variadic = f.node.k() == "variadic_parameter_declaration";
        // `xs ...T` is a []T: its element type is not its type.
        let ty = f.node.field(F::Type).filter(|_| !variadic);
        let ty = self.module_type(f.scope, ty);
        let names: Vec<Node<'n>> = self.names_of(f.node);
        for name in names {
            self.found.scopes[scope].declare(
                text(self.src, name),
                f.visible(),
                f.node.start_byte(),
                None,
                ty,
            );
        }
    }

    fn short_var(&mut self, f: Frame<'n>) {
        let left = self.list(f.node, F::Left);
        let right = self.list(f.node, F::Right);
        if let Some(scope) = f.scope {
            for (i, name) in left.iter().enumerate() {
                if name.k() != "identifier" {
                    continue;
                }
                let value = (left.len() == right.len()).then(|| right[i]);
                let def = value.map(|value| Def { value, iota: None });
                let ty = self.module_type(f.scope, value.and_then(|v| inferred_type(self.src, v)));
                let name = text(self.src, *name);
                self.found.scopes[scope].declare(name, f.visible(), f.node.end_byte(), def, ty);
            }
        }
        for value in right.into_iter().rev() {
            self.push(value, f, false);
        }
    }

    fn var_spec(&mut self, f: Frame<'n>) {
        let values = self.list(f.node, F::Value);
        if let Some(scope) = f.scope {
            let declared = f.node.field(F::Type);
            let names: Vec<Node<'n>> = self.names_of(f.node);
            for (i, name) in names.iter().enumerate() {
                let value = (names.len() == values.len()).then(|| values[i]);
                let def = value.map(|value| Def { value, iota: None });
                let ty = self.module_type(
                    f.scope,
                    declared.or_else(|| value.and_then(|v| inferred_type(self.src, v))),
                );
                let name = text(self.src, *name);
                self.found.scopes[scope].declare(name, f.visible(), f.node.end_byte(), def, ty);
            }
        }
        for value in values.into_iter().rev() {
            self.push(value, f, false);
        }
    }

    fn assignment(&mut self, f: Frame<'n>) {
        let left = self.list(f.node, F::Left);
        let right = self.list(f.node, F::Right);
        let plain = operator(f.node) == Some("=") && left.len() == right.len();
        if let Some(scope) = f.scope {
            for (i, target) in left.iter().enumerate() {
                match target.k() {
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
    fn mutated(&mut self, scope: Option<usize>, target: Node<'n>) {
        let Some(scope) = scope else { return };
        let mut target = strip_parens(target);
        // `m[i][j] = v` writes `m`.
        while target.k() == "index_expression" {
            match target.field(F::Operand) {
                Some(operand) => target = strip_parens(operand),
                None => return,
            }
        }
        match target.k() {
            "identifier" => self.found.scopes[scope].write(text(self.src, target), target.start_byte()),
            "selector_expression" => self.field_write(scope, target, None),
            _ => {}
        }
    }

    fn field_write(&mut self, scope: usize, selector: Node<'n>, value: Option<Node<'n>>) {
        let (Some(operand), Some(field)) = (selector.field(F::Operand), selector.field(F::Field)) else {
            return;
        };
        if operand.k() == "identifier" {
            let var = text(self.src, operand);
            let (field, at) = (text(self.src, field), operand.start_byte());
            self.pending.push(PendingAssign { scope, var, field, value, at });
        }
    }

    fn composite(&mut self, f: Frame<'n>) {
        let (Some(ty), Some(body)) = (f.node.field(F::Type), f.node.field(F::Body)) else {
            return;
        };
        let element = match ty.k() {
            "type_identifier" | "qualified_type" | "generic_type" => {
                if self.module_type(f.scope, Some(ty)).is_some() {
                    self.found.literals.push(RawLit { ty, body, scope: f.scope });
                }
                return;
            }
            "slice_type" | "array_type" | "implicit_length_array_type" => ty.field(F::Element),
            "map_type" => ty.field(F::Value),
            _ => None,
        };
        let Some(element) = self.module_type(f.scope, element).map(|(t, _)| strip_pointer(t)) else { return };
        if !matches!(element.k(), "type_identifier" | "qualified_type" | "generic_type") {
            return;
        }
        // `[]T{{...}, {...}}`: the inner literals are T literals.
        for item in self.named_children(body) {
            let item = match item.k() {
                "keyed_element" => item.field(F::Value),
                _ => Some(item),
            };
            let inner = item.and_then(|i| self.named_children(i).into_iter().next());
            if let Some(inner) = inner.filter(|n| n.k() == "literal_value") {
                self.found.literals.push(RawLit { ty: element, body: inner, scope: f.scope });
            }
        }
    }

    fn call(&mut self, f: Frame<'n>) {
        if self.generated {
            return;
        }
        let Some(function) = f.node.field(F::Function) else { return };
        if function.k() != "selector_expression" {
            return;
        }
        let Some(method) = function.field(F::Field).map(|n| text(self.src, n)) else { return };
        if !EXEC_METHODS.contains(&method) {
            return;
        }
        let args = match f.node.field(F::Arguments) {
            Some(list) => self.named_children(list),
            None => Vec::new(),
        };
        self.found.calls.push(RawCall {
            node: f.node,
            method,
            operand: function.field(F::Operand),
            args,
            scope: f.scope,
        });
    }

    /// A type expression with its text, unless it names a type declared in
    /// the function (not indexed).
    fn module_type(&self, scope: Option<usize>, ty: Option<Node<'n>>) -> Option<(Node<'n>, &'t str)> {
        let ty = ty?;
        let mut base = strip_pointer(ty);
        while matches!(base.k(), "slice_type" | "array_type") {
            base = strip_pointer(base.field(F::Element)?);
        }
        let local = base.k() == "type_identifier"
            && scope.is_some_and(|s| self.found.scopes[s].has_type(text(self.src, base)));
        (!local).then(|| (ty, text(self.src, ty)))
    }

    /// The children in field `name`.
    fn names_of(&mut self, node: Node<'n>) -> Vec<Node<'n>> {
        node.children_in(F::Name).collect()
    }

    fn list(&mut self, node: Node<'n>, field: F) -> Vec<Node<'n>> {
        match node.field(field) {
            Some(list) if list.k() == "expression_list" => self.named_children(list),
            Some(single) => vec![single],
            None => Vec::new(),
        }
    }
}

fn operator(node: Node<'_>) -> Option<&'static str> {
    node.field(F::Operator).map(|n| n.k())
}

pub(crate) fn strip_parens(mut node: Node<'_>) -> Node<'_> {
    // Bounded: a parenthesized expression always has a shorter child.
    while matches!(node.k(), "parenthesized_expression" | "parenthesized_type") {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

pub(crate) fn strip_pointer(mut node: Node<'_>) -> Node<'_> {
    while matches!(node.k(), "pointer_type" | "parenthesized_type") {
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
    if value.k() == "unary_expression" && operator(value) == Some("&") {
        value = strip_parens(value.field(F::Operand)?);
    }
    let ty = match value.k() {
        "composite_literal" => value.field(F::Type)?,
        "call_expression" => {
            let function = value.field(F::Function)?;
            if text(src, function) != "new" {
                return None;
            }
            value.field(F::Arguments)?.named_child(0)?
        }
        _ => return None,
    };
    Some(ty)
}

/// The name an embedded field takes from its type: `Base`, `*Base`, `pkg.Base`.
fn type_name<'t>(src: &'t str, ty: Node<'_>) -> Option<&'t str> {
    let ty = strip_pointer(ty);
    match ty.k() {
        "type_identifier" => Some(text(src, ty)),
        "qualified_type" => ty.field(F::Name).map(|n| text(src, n)),
        "generic_type" => type_name(src, ty.field(F::Type)?),
        _ => None,
    }
}

/// The decoded value of a string literal node.
pub(crate) fn string_value(src: &str, node: Node<'_>) -> String {
    let raw = text(src, node);
    if node.k() == "raw_string_literal" {
        strings::raw(raw)
    } else {
        strings::interpreted(raw)
    }
}
