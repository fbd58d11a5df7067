//! The recursive-descent parser: the Go spec's grammar, building the nodes
//! tree-sitter-go's grammar names. Where tree-sitter-go resolves an
//! ambiguity its own way (`m[k](x)` is a conversion to a generic type, a
//! `case nil:` of a type switch names a type), the parser does the same.

use super::lexer::{lex, Token, T};
use super::{Edge, NodeData, Tree, F};

/// Deeper nesting is a syntax error rather than a stack overflow.
const MAX_DEPTH: u32 = 400;

pub(super) fn parse(src: &str, skipped: &[(usize, usize)]) -> Tree {
    let toks = lex(src, skipped);
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        prev_end: 0,
        nodes: Vec::new(),
        edges: Vec::new(),
        scratch: Vec::new(),
        error: None,
        expr_lev: 0,
        guard: None,
        depth: 0,
    };
    p.nodes.reserve(p.toks.len());
    p.edges.reserve(p.toks.len());
    let root = p.source_file();
    Tree { nodes: p.nodes, edges: p.edges, root, error: p.error }
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    /// The end of the last token taken.
    prev_end: u32,
    nodes: Vec<NodeData>,
    edges: Vec<Edge>,
    /// Children of the nodes being built, innermost last.
    scratch: Vec<Edge>,
    error: Option<u32>,
    /// Below 0 in a control clause, where `T{` starts the block, not a literal.
    expr_lev: i32,
    /// The operand of the last `x.(type)` seen.
    guard: Option<u32>,
    depth: u32,
}

/// Kinds a conversion `T(x)` or literal `T{}` takes as its type outright.
fn is_type_kind(kind: &str) -> bool {
    matches!(
        kind,
        "slice_type"
            | "array_type"
            | "implicit_length_array_type"
            | "map_type"
            | "struct_type"
            | "interface_type"
            | "channel_type"
            | "function_type"
            | "parenthesized_type"
            | "pointer_type"
            | "generic_type"
            | "qualified_type"
            | "type_identifier"
            | "negated_type"
    )
}

fn starts_type(t: T) -> bool {
    matches!(t, T::Ident | T::Mul | T::LBrack | T::Map | T::Chan | T::Func | T::Struct | T::Interface | T::LParen | T::Arrow)
}

impl<'s> Parser<'s> {
    // --- tokens ---------------------------------------------------------

    fn peek(&self) -> T {
        self.toks[self.pos].kind
    }

    fn peek_at(&self, n: usize) -> T {
        self.toks.get(self.pos + n).map_or(T::Eof, |t| t.kind)
    }

    fn tok(&self) -> Token {
        self.toks[self.pos]
    }

    fn start(&self) -> u32 {
        self.toks[self.pos].start
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos];
        if t.kind != T::Eof {
            self.pos += 1;
            self.prev_end = t.end;
        }
        t
    }

    fn eat(&mut self, kind: T) -> bool {
        if self.peek() == kind {
            self.bump();
            true
        } else {
            false
        }
    }

    fn fail(&mut self) {
        if self.error.is_none() {
            self.error = Some(self.start());
        }
    }

    fn expect(&mut self, kind: T) {
        if !self.eat(kind) {
            self.fail();
        }
    }

    /// Whether the next token is a `;` written in the source.
    fn explicit_semi(&self) -> bool {
        let t = self.tok();
        t.kind == T::Semi && self.text(t) == ";"
    }

    fn text(&self, t: Token) -> &'s str {
        self.src.get(t.start as usize..t.end as usize).unwrap_or("")
    }

    // --- nodes ----------------------------------------------------------

    fn mark(&self) -> usize {
        self.scratch.len()
    }

    fn push(&mut self, node: u32, field: Option<F>) {
        self.scratch.push(Edge { node, field });
    }

    fn push_opt(&mut self, node: Option<u32>, field: Option<F>) {
        if let Some(node) = node {
            self.push(node, field);
        }
    }

    fn add(&mut self, kind: &'static str, named: bool, start: u32, end: u32, mark: usize) -> u32 {
        let first = self.edges.len() as u32;
        self.edges.extend(self.scratch.drain(mark..));
        let count = self.edges.len() as u32 - first;
        self.nodes.push(NodeData { kind, named, start, end: end.max(start), first, count });
        (self.nodes.len() - 1) as u32
    }

    /// A node of the children pushed since `mark`, ending at the last token taken.
    fn finish(&mut self, kind: &'static str, start: u32, mark: usize) -> u32 {
        let end = self.prev_end;
        self.add(kind, true, start, end, mark)
    }

    fn leaf(&mut self, kind: &'static str, t: Token) -> u32 {
        let m = self.mark();
        self.add(kind, true, t.start, t.end, m)
    }

    fn anon(&mut self, t: Token) -> u32 {
        let m = self.mark();
        self.add(t.kind.op(), false, t.start, t.end, m)
    }

    /// An empty ERROR node where parsing could not go on.
    fn error_node(&mut self) -> u32 {
        self.fail();
        let at = self.start();
        let m = self.mark();
        self.add("ERROR", true, at, at, m)
    }

    fn kind_of(&self, id: u32) -> &'static str {
        self.nodes[id as usize].kind
    }

    fn start_of(&self, id: u32) -> u32 {
        self.nodes[id as usize].start
    }

    fn children_of(&self, id: u32) -> &[Edge] {
        let d = &self.nodes[id as usize];
        &self.edges[d.first as usize..(d.first + d.count) as usize]
    }

    fn child_in(&self, id: u32, f: F) -> Option<u32> {
        self.children_of(id).iter().find(|e| e.field == Some(f)).map(|e| e.node)
    }

    fn first_named(&self, id: u32) -> Option<u32> {
        self.children_of(id).iter().find(|e| self.nodes[e.node as usize].named).map(|e| e.node)
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.fail();
            return false;
        }
        true
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Runs `parse` one nesting level deeper: past `MAX_DEPTH`, an error
    /// node instead.
    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> u32) -> u32 {
        let node = if self.enter() { parse(self) } else { self.error_node() };
        self.leave();
        node
    }

    // --- recovery -------------------------------------------------------

    /// Skips to the next `;` at this nesting level (taking it), or to
    /// before a `}`, `case` or `default` that closes it.
    fn sync(&mut self) {
        let mut depth = 0i32;
        loop {
            match self.peek() {
                T::Eof => return,
                T::LParen | T::LBrack | T::LBrace => depth += 1,
                T::RParen | T::RBrack => depth = (depth - 1).max(0),
                T::RBrace if depth == 0 => return,
                T::RBrace => depth -= 1,
                T::Case | T::Default if depth == 0 => return,
                T::Semi if depth == 0 => {
                    self.bump();
                    return;
                }
                _ => {}
            }
            self.bump();
        }
    }

    // --- declarations ---------------------------------------------------

    fn source_file(&mut self) -> u32 {
        let m = self.mark();
        loop {
            while self.eat(T::Semi) {}
            if self.peek() == T::Eof {
                break;
            }
            let before = self.pos;
            let node = match self.peek() {
                T::Package => self.package_clause(),
                T::Import => self.import_declaration(),
                T::Func => self.function_declaration(),
                _ => self.statement(),
            };
            self.push(node, None);
            match self.peek() {
                T::Semi | T::Eof => {}
                _ => {
                    self.fail();
                    if self.pos == before {
                        self.bump();
                    }
                    self.sync();
                }
            }
        }
        let end = self.src.len() as u32;
        self.add("source_file", true, 0, end, m)
    }

    fn package_clause(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        if self.peek() == T::Ident {
            let t = self.bump();
            let n = self.leaf("package_identifier", t);
            self.push(n, None);
        } else {
            self.fail();
        }
        self.finish("package_clause", start, m)
    }

    fn import_declaration(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        if self.peek() == T::LParen {
            let list_start = self.bump().start;
            let lm = self.mark();
            while !matches!(self.peek(), T::RParen | T::Eof) {
                if self.eat(T::Semi) {
                    continue;
                }
                let before = self.pos;
                let spec = self.import_spec();
                self.push(spec, None);
                if self.pos == before {
                    self.bump();
                }
            }
            self.expect(T::RParen);
            let list = self.finish("import_spec_list", list_start, lm);
            self.push(list, None);
        } else {
            let spec = self.import_spec();
            self.push(spec, None);
        }
        self.finish("import_declaration", start, m)
    }

    fn import_spec(&mut self) -> u32 {
        let start = self.start();
        let m = self.mark();
        let name = match self.peek() {
            T::Period => Some("dot"),
            T::Ident if self.text(self.tok()) == "_" => Some("blank_identifier"),
            T::Ident => Some("package_identifier"),
            _ => None,
        };
        if let Some(kind) = name {
            let t = self.bump();
            let n = self.leaf(kind, t);
            self.push(n, Some(F::Name));
        }
        match self.peek() {
            T::Str | T::RawStr => {
                let s = self.string();
                self.push(s, Some(F::Path));
            }
            _ => self.fail(),
        }
        self.finish("import_spec", start, m)
    }

    fn function_declaration(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        let method = self.peek() == T::LParen;
        if method {
            let receiver = self.parameter_list();
            self.push(receiver, Some(F::Receiver));
        }
        if self.peek() == T::Ident {
            let t = self.bump();
            let name = self.leaf(if method { "field_identifier" } else { "identifier" }, t);
            self.push(name, Some(F::Name));
        } else {
            self.fail();
        }
        if !method && self.peek() == T::LBrack {
            let tp = self.type_parameter_list();
            self.push(tp, Some(F::TypeParameters));
        }
        let params = self.parameter_list();
        self.push(params, Some(F::Parameters));
        let result = self.result();
        self.push_opt(result, Some(F::Result));
        if self.peek() == T::LBrace {
            let body = self.block();
            self.push(body, Some(F::Body));
        }
        self.finish(if method { "method_declaration" } else { "function_declaration" }, start, m)
    }

    /// A function's result: a parameter list or a simple type.
    fn result(&mut self) -> Option<u32> {
        match self.peek() {
            T::LParen => Some(self.parameter_list()),
            t if starts_type(t) => Some(self.type_()),
            _ => None,
        }
    }

    fn type_parameter_list(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        while self.peek() == T::Ident {
            let dstart = self.start();
            let dm = self.mark();
            loop {
                let t = self.bump();
                let n = self.leaf("identifier", t);
                self.push(n, Some(F::Name));
                // After a name, a comma always brings another: `[K, V any]`.
                if self.peek() == T::Comma && self.peek_at(1) == T::Ident {
                    self.bump();
                    continue;
                }
                break;
            }
            let c = self.type_elem("type_constraint");
            self.push(c, Some(F::Type));
            let decl = self.finish("type_parameter_declaration", dstart, dm);
            self.push(decl, None);
            if !self.eat(T::Comma) {
                break;
            }
        }
        self.expect(T::RBrack);
        self.finish("type_parameter_list", start, m)
    }

    /// Types separated by `|` (a constraint or a type argument).
    fn type_elem(&mut self, kind: &'static str) -> u32 {
        let start = self.start();
        let m = self.mark();
        loop {
            let t = self.type_();
            self.push(t, None);
            if !self.eat(T::Or) {
                break;
            }
        }
        self.finish(kind, start, m)
    }

    fn parameter_list(&mut self) -> u32 {
        struct Entry {
            name: Option<Token>,
            variadic: bool,
            ty: Option<u32>,
            start: u32,
        }
        let start = self.start();
        self.expect(T::LParen);
        let mut entries: Vec<Entry> = Vec::new();
        while !matches!(self.peek(), T::RParen | T::Eof) {
            let before = self.pos;
            let estart = self.start();
            let entry = match self.peek() {
                T::Ident => match self.peek_at(1) {
                    T::Comma | T::RParen => Entry { name: Some(self.bump()), variadic: false, ty: None, start: estart },
                    T::Period => Entry { name: None, variadic: false, ty: Some(self.type_()), start: estart },
                    T::Ellipsis => {
                        let name = self.bump();
                        self.bump();
                        Entry { name: Some(name), variadic: true, ty: Some(self.type_()), start: estart }
                    }
                    T::LBrack if !self.array_follows(1) => {
                        Entry { name: None, variadic: false, ty: Some(self.type_()), start: estart }
                    }
                    t if starts_type(t) => {
                        let name = self.bump();
                        Entry { name: Some(name), variadic: false, ty: Some(self.type_()), start: estart }
                    }
                    _ => Entry { name: None, variadic: false, ty: Some(self.type_()), start: estart },
                },
                T::Ellipsis => {
                    self.bump();
                    Entry { name: None, variadic: true, ty: Some(self.type_()), start: estart }
                }
                _ => Entry { name: None, variadic: false, ty: Some(self.type_()), start: estart },
            };
            entries.push(entry);
            if self.pos == before {
                self.fail();
                self.bump();
            }
            if !self.eat(T::Comma) {
                break;
            }
        }
        self.expect(T::RParen);
        let end = self.prev_end;
        let named = entries.iter().any(|e| e.name.is_some() && e.ty.is_some());
        let m = self.mark();
        if named {
            let mut pending: Vec<(Token, u32)> = Vec::new();
            for e in entries {
                let Some(ty) = e.ty else {
                    if let Some(name) = e.name {
                        pending.push((name, e.start));
                    }
                    continue;
                };
                let dstart = pending.first().map_or(e.start, |(_, s)| *s);
                let dm = self.mark();
                for (name, _) in pending.drain(..) {
                    let n = self.leaf("identifier", name);
                    self.push(n, Some(F::Name));
                }
                if let Some(name) = e.name {
                    let n = self.leaf("identifier", name);
                    self.push(n, Some(F::Name));
                }
                self.push(ty, Some(F::Type));
                let ty_end = self.nodes[ty as usize].end;
                let kind = if e.variadic { "variadic_parameter_declaration" } else { "parameter_declaration" };
                let decl = self.add(kind, true, dstart, ty_end, dm);
                self.push(decl, None);
            }
            if !pending.is_empty() {
                // Names with no type after them.
                if self.error.is_none() {
                    self.error = Some(end);
                }
            }
        } else {
            for e in entries {
                let ty = match (e.ty, e.name) {
                    (Some(ty), _) => ty,
                    (None, Some(name)) => self.leaf("type_identifier", name),
                    (None, None) => continue,
                };
                let dm = self.mark();
                self.push(ty, Some(F::Type));
                let ty_end = self.nodes[ty as usize].end;
                let kind = if e.variadic { "variadic_parameter_declaration" } else { "parameter_declaration" };
                let decl = self.add(kind, true, e.start, ty_end, dm);
                self.push(decl, None);
            }
        }
        self.add("parameter_list", true, start, end, m)
    }

    /// Whether the `[` at `n` tokens ahead opens an array or slice type
    /// (a type follows its `]`) rather than type arguments.
    fn array_follows(&self, n: usize) -> bool {
        let mut depth = 0;
        let mut i = self.pos + n;
        while let Some(t) = self.toks.get(i) {
            match t.kind {
                T::LBrack | T::LParen | T::LBrace => depth += 1,
                T::RBrack | T::RParen | T::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return self.toks.get(i + 1).is_some_and(|t| starts_type(t.kind));
                    }
                }
                T::Semi | T::Eof => return false,
                _ => {}
            }
            i += 1;
        }
        false
    }

    fn const_or_var(&mut self, konst: bool) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        if self.peek() == T::LParen {
            let lstart = self.bump().start;
            let lm = self.mark();
            while !matches!(self.peek(), T::RParen | T::Eof) {
                if self.eat(T::Semi) {
                    continue;
                }
                let before = self.pos;
                let spec = self.spec(konst);
                self.push(spec, None);
                if self.pos == before {
                    self.fail();
                    self.bump();
                }
            }
            self.expect(T::RParen);
            if !konst {
                let list = self.finish("var_spec_list", lstart, lm);
                self.push(list, None);
            }
        } else {
            let spec = self.spec(konst);
            self.push(spec, None);
        }
        self.finish(if konst { "const_declaration" } else { "var_declaration" }, start, m)
    }

    fn spec(&mut self, konst: bool) -> u32 {
        let start = self.start();
        let m = self.mark();
        loop {
            if self.peek() != T::Ident {
                self.fail();
                break;
            }
            let t = self.bump();
            let n = self.leaf("identifier", t);
            self.push(n, Some(F::Name));
            if !self.eat(T::Comma) {
                break;
            }
        }
        if self.peek() != T::Assign && starts_type(self.peek()) {
            let ty = self.type_();
            self.push(ty, Some(F::Type));
        }
        if self.eat(T::Assign) {
            let values = self.expression_list();
            self.push(values, Some(F::Value));
        }
        self.finish(if konst { "const_spec" } else { "var_spec" }, start, m)
    }

    fn type_declaration(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        if self.eat(T::LParen) {
            while !matches!(self.peek(), T::RParen | T::Eof) {
                if self.eat(T::Semi) {
                    continue;
                }
                let before = self.pos;
                let spec = self.type_spec();
                self.push(spec, None);
                if self.pos == before {
                    self.fail();
                    self.bump();
                }
            }
            self.expect(T::RParen);
        } else {
            let spec = self.type_spec();
            self.push(spec, None);
        }
        self.finish("type_declaration", start, m)
    }

    fn type_spec(&mut self) -> u32 {
        let start = self.start();
        let m = self.mark();
        if self.peek() == T::Ident {
            let t = self.bump();
            let n = self.leaf("type_identifier", t);
            self.push(n, Some(F::Name));
        } else {
            self.fail();
        }
        let generic = self.peek() == T::LBrack
            && self.peek_at(1) == T::Ident
            && (matches!(self.peek_at(2), T::Comma) || starts_constraint(self.peek_at(2)));
        if generic {
            let tp = self.type_parameter_list();
            self.push(tp, Some(F::TypeParameters));
        }
        let alias = self.eat(T::Assign);
        let ty = self.type_();
        self.push(ty, Some(F::Type));
        self.finish(if alias { "type_alias" } else { "type_spec" }, start, m)
    }

    // --- types ----------------------------------------------------------

    fn type_(&mut self) -> u32 {
        self.nested(Self::type_inner)
    }

    fn type_inner(&mut self) -> u32 {
        let start = self.start();
        match self.peek() {
            T::Ident => {
                let name = self.type_name();
                if self.peek() == T::LBrack {
                    let m = self.mark();
                    self.push(name, Some(F::Type));
                    let args = self.type_arguments();
                    self.push(args, Some(F::TypeArguments));
                    return self.finish("generic_type", start, m);
                }
                name
            }
            T::Mul => {
                self.bump();
                let m = self.mark();
                let inner = self.type_();
                self.push(inner, None);
                self.finish("pointer_type", start, m)
            }
            T::LBrack => self.array_or_slice_type(),
            T::Map => {
                self.bump();
                let m = self.mark();
                self.expect(T::LBrack);
                let key = self.type_();
                self.push(key, Some(F::Key));
                self.expect(T::RBrack);
                let value = self.type_();
                self.push(value, Some(F::Value));
                self.finish("map_type", start, m)
            }
            T::Chan | T::Arrow => {
                let m = self.mark();
                if self.eat(T::Arrow) {
                    self.expect(T::Chan);
                } else {
                    self.bump();
                    self.eat(T::Arrow);
                }
                let value = self.type_();
                self.push(value, Some(F::Value));
                self.finish("channel_type", start, m)
            }
            T::Func => {
                self.bump();
                let m = self.mark();
                let params = self.parameter_list();
                self.push(params, Some(F::Parameters));
                let result = self.result();
                self.push_opt(result, Some(F::Result));
                self.finish("function_type", start, m)
            }
            T::Struct => self.struct_type(),
            T::Interface => self.interface_type(),
            T::LParen => {
                self.bump();
                let m = self.mark();
                let inner = self.type_();
                self.push(inner, None);
                self.expect(T::RParen);
                self.finish("parenthesized_type", start, m)
            }
            T::Tilde => {
                self.bump();
                let m = self.mark();
                let inner = self.type_();
                self.push(inner, None);
                self.finish("negated_type", start, m)
            }
            _ => self.error_node(),
        }
    }

    /// `T` or `pkg.T`.
    fn type_name(&mut self) -> u32 {
        let first = self.bump();
        if self.peek() == T::Period && self.peek_at(1) == T::Ident {
            self.bump();
            let name = self.bump();
            let m = self.mark();
            let package = self.leaf("package_identifier", first);
            self.push(package, Some(F::Package));
            let name = self.leaf("type_identifier", name);
            self.push(name, Some(F::Name));
            return self.finish("qualified_type", first.start, m);
        }
        self.leaf("type_identifier", first)
    }

    fn type_arguments(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        self.expr_lev += 1;
        while !matches!(self.peek(), T::RBrack | T::Eof) {
            let before = self.pos;
            let e = self.type_elem("type_elem");
            self.push(e, None);
            if self.pos == before || !self.eat(T::Comma) {
                break;
            }
        }
        self.expr_lev -= 1;
        self.expect(T::RBrack);
        self.finish("type_arguments", start, m)
    }

    fn array_or_slice_type(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        if self.eat(T::RBrack) {
            let element = self.type_();
            self.push(element, Some(F::Element));
            return self.finish("slice_type", start, m);
        }
        if self.peek() == T::Ellipsis && self.peek_at(1) == T::RBrack {
            self.bump();
            self.bump();
            let element = self.type_();
            self.push(element, Some(F::Element));
            return self.finish("implicit_length_array_type", start, m);
        }
        self.expr_lev += 1;
        let length = self.expr();
        self.expr_lev -= 1;
        self.push(length, Some(F::Length));
        self.expect(T::RBrack);
        let element = self.type_();
        self.push(element, Some(F::Element));
        self.finish("array_type", start, m)
    }

    fn struct_type(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        let lstart = self.start();
        let lm = self.mark();
        self.expect(T::LBrace);
        while !matches!(self.peek(), T::RBrace | T::Eof) {
            if self.eat(T::Semi) {
                continue;
            }
            let before = self.pos;
            let field = self.field_declaration();
            self.push(field, None);
            if self.pos == before {
                self.fail();
                self.bump();
            }
        }
        self.expect(T::RBrace);
        let list = self.finish("field_declaration_list", lstart, lm);
        self.push(list, None);
        self.finish("struct_type", start, m)
    }

    fn field_declaration(&mut self) -> u32 {
        let start = self.start();
        let m = self.mark();
        let embedded = match self.peek() {
            T::Mul => true,
            T::Ident => match self.peek_at(1) {
                T::Period | T::Semi | T::RBrace | T::Str | T::RawStr => true,
                T::LBrack => !self.array_follows(1),
                _ => false,
            },
            _ => false,
        };
        if embedded {
            self.eat(T::Mul);
            if self.peek() == T::Ident {
                let ty = self.type_();
                self.push(ty, Some(F::Type));
            } else {
                self.fail();
            }
        } else {
            while self.peek() == T::Ident {
                let t = self.bump();
                let n = self.leaf("field_identifier", t);
                self.push(n, Some(F::Name));
                if !self.eat(T::Comma) {
                    break;
                }
            }
            let ty = self.type_();
            self.push(ty, Some(F::Type));
        }
        if matches!(self.peek(), T::Str | T::RawStr) {
            let tag = self.string();
            self.push(tag, Some(F::Tag));
        }
        self.finish("field_declaration", start, m)
    }

    fn interface_type(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        self.expect(T::LBrace);
        while !matches!(self.peek(), T::RBrace | T::Eof) {
            if self.eat(T::Semi) {
                continue;
            }
            let before = self.pos;
            let elem = if self.peek() == T::Ident && self.peek_at(1) == T::LParen {
                let estart = self.start();
                let em = self.mark();
                let t = self.bump();
                let name = self.leaf("field_identifier", t);
                self.push(name, Some(F::Name));
                let params = self.parameter_list();
                self.push(params, Some(F::Parameters));
                let result = self.result();
                self.push_opt(result, Some(F::Result));
                self.finish("method_elem", estart, em)
            } else {
                self.type_elem("type_elem")
            };
            self.push(elem, None);
            if self.pos == before {
                self.fail();
                self.bump();
            }
        }
        self.expect(T::RBrace);
        self.finish("interface_type", start, m)
    }

    // --- statements -----------------------------------------------------

    fn block(&mut self) -> u32 {
        let start = self.start();
        let m = self.mark();
        self.expect(T::LBrace);
        let lev = std::mem::replace(&mut self.expr_lev, 0);
        let list = self.statement_list();
        self.push_opt(list, None);
        self.expr_lev = lev;
        self.expect(T::RBrace);
        self.finish("block", start, m)
    }

    /// Statements up to a `}`, `case` or `default`; `None` if there are none.
    fn statement_list(&mut self) -> Option<u32> {
        let m = self.mark();
        let mut start = None;
        loop {
            match self.peek() {
                T::RBrace | T::Case | T::Default | T::Eof => break,
                T::Semi if self.explicit_semi() => {
                    // A written `;` where a statement could be.
                    start.get_or_insert(self.start());
                    let t = self.bump();
                    let s = self.leaf("empty_statement", t);
                    self.push(s, None);
                    continue;
                }
                T::Semi => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            let before = self.pos;
            start.get_or_insert(self.start());
            let s = self.statement();
            self.push(s, None);
            if self.pos == before {
                self.fail();
                self.bump();
            }
            match self.peek() {
                T::Semi => {
                    self.bump();
                }
                T::RBrace | T::Case | T::Default | T::Eof => break,
                // A statement that ended with its own `;` (`L: ;`).
                _ if self.pos > 0 && self.toks[self.pos - 1].kind == T::Semi => {}
                _ => {
                    self.fail();
                    self.sync();
                }
            }
        }
        let start = start?;
        Some(self.finish("statement_list", start, m))
    }

    fn statement(&mut self) -> u32 {
        self.nested(Self::statement_inner)
    }

    fn statement_inner(&mut self) -> u32 {
        let start = self.start();
        match self.peek() {
            T::Const => self.const_or_var(true),
            T::Var => self.const_or_var(false),
            T::Type => self.type_declaration(),
            T::Return => {
                self.bump();
                let m = self.mark();
                if !matches!(self.peek(), T::Semi | T::RBrace | T::Eof | T::Case | T::Default) {
                    let values = self.expression_list();
                    self.push(values, None);
                }
                self.finish("return_statement", start, m)
            }
            T::Go | T::Defer => {
                let kind = if self.bump().kind == T::Go { "go_statement" } else { "defer_statement" };
                let m = self.mark();
                let e = self.expr();
                self.push(e, None);
                self.finish(kind, start, m)
            }
            T::If => self.if_statement(),
            T::For => self.for_statement(),
            T::Switch => self.switch_statement(),
            T::Select => self.select_statement(),
            T::Break | T::Continue | T::Goto => {
                let kind = match self.bump().kind {
                    T::Break => "break_statement",
                    T::Continue => "continue_statement",
                    _ => "goto_statement",
                };
                let m = self.mark();
                if self.peek() == T::Ident {
                    let t = self.bump();
                    let label = self.leaf("label_name", t);
                    self.push(label, None);
                }
                self.finish(kind, start, m)
            }
            T::Fallthrough => {
                let t = self.bump();
                self.leaf("fallthrough_statement", t)
            }
            T::LBrace => self.block(),
            T::Ident if self.peek_at(1) == T::Colon => {
                let t = self.bump();
                self.bump();
                let m = self.mark();
                let label = self.leaf("label_name", t);
                self.push(label, Some(F::Label));
                if self.peek() == T::Semi && self.explicit_semi() {
                    let t = self.bump();
                    let s = self.leaf("empty_statement", t);
                    self.push(s, None);
                } else if !matches!(self.peek(), T::RBrace | T::Eof | T::Semi | T::Case | T::Default) {
                    let s = self.statement();
                    self.push(s, None);
                }
                self.finish("labeled_statement", start, m)
            }
            _ => self.simple_statement(false),
        }
    }

    /// An expression, send, inc/dec, assignment or short variable
    /// declaration; with `range`, also a range clause.
    fn simple_statement(&mut self, range: bool) -> u32 {
        let start = self.start();
        if range && self.peek() == T::Range {
            self.bump();
            let m = self.mark();
            let right = self.expr();
            self.push(right, Some(F::Right));
            return self.finish("range_clause", start, m);
        }
        let lm = self.mark();
        loop {
            let e = self.expr();
            self.push(e, None);
            if !self.eat(T::Comma) {
                break;
            }
        }
        let op = self.peek();
        if op == T::Define || op.is_assign_op() {
            let left = self.finish("expression_list", start, lm);
            let m = self.mark();
            self.push(left, Some(F::Left));
            let t = self.bump();
            let op_node = self.anon(t);
            if range && self.peek() == T::Range {
                self.push(op_node, None);
                self.bump();
                let right = self.expr();
                self.push(right, Some(F::Right));
                return self.finish("range_clause", start, m);
            }
            let right = self.expression_list();
            if op == T::Define {
                self.push(op_node, None);
                self.push(right, Some(F::Right));
                return self.finish("short_var_declaration", start, m);
            }
            self.push(op_node, Some(F::Operator));
            self.push(right, Some(F::Right));
            return self.finish("assignment_statement", start, m);
        }
        let first = self.scratch[lm].node;
        if self.scratch.len() - lm > 1 {
            self.fail();
        }
        self.scratch.truncate(lm);
        let m = self.mark();
        match op {
            T::Arrow => {
                self.bump();
                self.push(first, Some(F::Channel));
                let value = self.expr();
                self.push(value, Some(F::Value));
                self.finish("send_statement", start, m)
            }
            T::Inc | T::Dec => {
                self.bump();
                self.push(first, None);
                self.finish(if op == T::Inc { "inc_statement" } else { "dec_statement" }, start, m)
            }
            _ => {
                self.push(first, None);
                self.finish("expression_statement", start, m)
            }
        }
    }

    fn expression_list(&mut self) -> u32 {
        let start = self.start();
        let m = self.mark();
        loop {
            let e = self.expr();
            self.push(e, None);
            if !self.eat(T::Comma) {
                break;
            }
        }
        self.finish("expression_list", start, m)
    }

    /// The expression of an expression statement (a condition, a switch's value).
    fn expression_of(&mut self, stmt: u32) -> u32 {
        if self.kind_of(stmt) == "expression_statement" {
            if let Some(e) = self.first_named(stmt) {
                return e;
            }
        }
        if self.error.is_none() {
            self.error = Some(self.start_of(stmt));
        }
        stmt
    }

    fn if_statement(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        let lev = std::mem::replace(&mut self.expr_lev, -1);
        let first = self.simple_statement(false);
        if self.eat(T::Semi) {
            self.push(first, Some(F::Initializer));
            let cond = self.expr();
            self.push(cond, Some(F::Condition));
        } else {
            let cond = self.expression_of(first);
            self.push(cond, Some(F::Condition));
        }
        self.expr_lev = lev;
        let consequence = self.block();
        self.push(consequence, Some(F::Consequence));
        if self.eat(T::Else) {
            let alternative = if self.peek() == T::If { self.if_statement() } else { self.block() };
            self.push(alternative, Some(F::Alternative));
        }
        self.finish("if_statement", start, m)
    }

    fn for_statement(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        let lev = std::mem::replace(&mut self.expr_lev, -1);
        if self.peek() != T::LBrace {
            let cstart = self.start();
            let init = if self.peek() == T::Semi { None } else { Some(self.simple_statement(true)) };
            match init {
                Some(s) if self.kind_of(s) == "range_clause" => self.push(s, None),
                Some(s) if self.peek() != T::Semi => {
                    let cond = self.expression_of(s);
                    self.push(cond, None);
                }
                _ => {
                    let cm = self.mark();
                    self.push_opt(init, Some(F::Initializer));
                    self.expect(T::Semi);
                    if self.peek() != T::Semi {
                        let cond = self.expr();
                        self.push(cond, Some(F::Condition));
                    }
                    self.expect(T::Semi);
                    if self.peek() != T::LBrace {
                        let update = self.simple_statement(false);
                        self.push(update, Some(F::Update));
                    }
                    let clause = self.finish("for_clause", cstart, cm);
                    self.push(clause, None);
                }
            }
        }
        self.expr_lev = lev;
        let body = self.block();
        self.push(body, Some(F::Body));
        self.finish("for_statement", start, m)
    }

    fn switch_statement(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        let lev = std::mem::replace(&mut self.expr_lev, -1);
        let mut init = None;
        let mut tag = None;
        self.guard = None;
        if self.peek() != T::LBrace {
            let first = if self.peek() == T::Semi { None } else { Some(self.simple_statement(false)) };
            if self.eat(T::Semi) {
                init = first;
                self.guard = None;
                if self.peek() != T::LBrace {
                    tag = Some(self.simple_statement(false));
                }
            } else {
                tag = first;
            }
        }
        let guard = self.guard.take();
        self.expr_lev = lev;
        self.push_opt(init, Some(F::Initializer));
        let type_switch = guard.is_some();
        if let (Some(guard), Some(tag)) = (guard, tag) {
            if self.kind_of(tag) == "short_var_declaration" {
                let alias = self.child_in(tag, F::Left);
                self.push_opt(alias, Some(F::Alias));
            }
            self.push(guard, Some(F::Value));
        } else if let Some(tag) = tag {
            let value = self.expression_of(tag);
            self.push(value, Some(F::Value));
        }
        if type_switch {
            self.case_clauses(Self::type_case);
        } else {
            self.case_clauses(Self::expression_case);
        }
        self.finish(if type_switch { "type_switch_statement" } else { "expression_switch_statement" }, start, m)
    }

    /// `case T1, T2:` of a type switch, after `case`.
    fn type_case(&mut self) -> &'static str {
        loop {
            let ty = self.type_();
            self.push(ty, Some(F::Type));
            if !self.eat(T::Comma) {
                break;
            }
        }
        "type_case"
    }

    /// `case v1, v2:` of an expression switch, after `case`.
    fn expression_case(&mut self) -> &'static str {
        let values = self.expression_list();
        self.push(values, Some(F::Value));
        "expression_case"
    }

    fn select_statement(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        self.case_clauses(Self::communication_case);
        self.finish("select_statement", start, m)
    }

    /// `case <-ch:` or `case ch <- v:` of a select, after `case`.
    fn communication_case(&mut self) -> &'static str {
        let s = self.simple_statement(false);
        let comm = self.communication(s);
        self.push(comm, Some(F::Communication));
        "communication_case"
    }

    /// `{ case ...: statements  default: statements }` of a switch or
    /// select: `case_head` reads what follows `case` and names the clause.
    fn case_clauses(&mut self, case_head: fn(&mut Self) -> &'static str) {
        self.expect(T::LBrace);
        while !matches!(self.peek(), T::RBrace | T::Eof) {
            let start = self.start();
            let m = self.mark();
            let kind = match self.bump().kind {
                T::Case => case_head(self),
                T::Default => "default_case",
                _ => {
                    self.fail();
                    self.sync();
                    self.scratch.truncate(m);
                    continue;
                }
            };
            self.expect(T::Colon);
            let body = self.statement_list();
            self.push_opt(body, None);
            let clause = self.finish(kind, start, m);
            self.push(clause, None);
        }
        self.expect(T::RBrace);
    }

    /// A select case's statement: a send as it is, anything else as a receive.
    fn communication(&mut self, s: u32) -> u32 {
        let kind = self.kind_of(s);
        if kind == "send_statement" {
            return s;
        }
        let (start, end) = (self.nodes[s as usize].start, self.nodes[s as usize].end);
        let m = self.mark();
        match kind {
            "expression_statement" => {
                let e = self.expression_of(s);
                self.push(e, Some(F::Right));
            }
            "short_var_declaration" | "assignment_statement" => {
                let edges: Vec<Edge> = self.children_of(s).to_vec();
                for e in edges {
                    match e.field {
                        Some(F::Left) => self.push(e.node, Some(F::Left)),
                        Some(F::Right) => {
                            let right = self.first_named(e.node).unwrap_or(e.node);
                            self.push(right, Some(F::Right));
                        }
                        _ => self.push(e.node, None),
                    }
                }
            }
            _ => {
                self.fail();
                return s;
            }
        }
        self.add("receive_statement", true, start, end, m)
    }

    // --- expressions ----------------------------------------------------

    fn expr(&mut self) -> u32 {
        self.nested(|p| p.binary(1))
    }

    fn binary(&mut self, min: u8) -> u32 {
        let mut left = self.unary();
        loop {
            let op = self.peek();
            let prec = op.precedence();
            if prec == 0 || prec < min {
                return left;
            }
            let start = self.start_of(left);
            let m = self.mark();
            self.push(left, Some(F::Left));
            let t = self.bump();
            let op_node = self.anon(t);
            self.push(op_node, Some(F::Operator));
            let right = self.binary(prec + 1);
            self.push(right, Some(F::Right));
            left = self.finish("binary_expression", start, m);
        }
    }

    fn unary(&mut self) -> u32 {
        match self.peek() {
            T::Arrow if self.peek_at(1) == T::Chan => self.primary(),
            T::Add | T::Sub | T::Not | T::Xor | T::Mul | T::And | T::Arrow => {
                if !self.enter() {
                    let e = self.error_node();
                    self.leave();
                    return e;
                }
                let t = self.bump();
                let operand = self.unary();
                self.leave();
                if t.kind == T::Mul {
                    if let Some(ty) = self.pointer_to(t.start, operand) {
                        return ty;
                    }
                }
                let m = self.mark();
                let op_node = self.anon(t);
                self.push(op_node, Some(F::Operator));
                self.push(operand, Some(F::Operand));
                self.finish("unary_expression", t.start, m)
            }
            _ => self.primary(),
        }
    }

    /// `*x` where tree-sitter-go reads a type: a pointer to a type
    /// literal, and `*(T)(v)`, a conversion to a pointer type.
    fn pointer_to(&mut self, start: u32, x: u32) -> Option<u32> {
        let kind = self.kind_of(x);
        if is_type_kind(kind) {
            let m = self.mark();
            self.push(x, None);
            let end = self.nodes[x as usize].end;
            return Some(self.add("pointer_type", true, start, end, m));
        }
        if kind != "type_conversion_expression" {
            return None;
        }
        let ty = self.child_in(x, F::Type).filter(|&t| self.kind_of(t) == "parenthesized_type")?;
        let operand = self.child_in(x, F::Operand)?;
        let m = self.mark();
        self.push(ty, None);
        let ty_end = self.nodes[ty as usize].end;
        let pointer = self.add("pointer_type", true, start, ty_end, m);
        let m = self.mark();
        self.push(pointer, Some(F::Type));
        self.push(operand, Some(F::Operand));
        let end = self.nodes[x as usize].end;
        Some(self.add("type_conversion_expression", true, start, end, m))
    }

    fn operand(&mut self) -> u32 {
        let t = self.tok();
        match t.kind {
            T::Ident => {
                self.bump();
                let kind = match self.text(t) {
                    "nil" => "nil",
                    "true" => "true",
                    "false" => "false",
                    "iota" => "iota",
                    _ => "identifier",
                };
                self.leaf(kind, t)
            }
            T::Int => {
                self.bump();
                self.leaf("int_literal", t)
            }
            T::Float => {
                self.bump();
                self.leaf("float_literal", t)
            }
            T::Imag => {
                self.bump();
                self.leaf("imaginary_literal", t)
            }
            T::Rune => {
                self.bump();
                self.leaf("rune_literal", t)
            }
            T::Str | T::RawStr => self.string(),
            T::LParen => {
                self.bump();
                self.expr_lev += 1;
                let m = self.mark();
                let inner = self.expr();
                self.push(inner, None);
                self.expr_lev -= 1;
                self.expect(T::RParen);
                let kind = match self.kind_of(inner) {
                    k if is_type_kind(k) => "parenthesized_type",
                    _ => "parenthesized_expression",
                };
                self.finish(kind, t.start, m)
            }
            T::Func => {
                self.bump();
                let m = self.mark();
                let params = self.parameter_list();
                self.push(params, Some(F::Parameters));
                let result = self.result();
                self.push_opt(result, Some(F::Result));
                if self.peek() == T::LBrace {
                    let body = self.block();
                    self.push(body, Some(F::Body));
                    return self.finish("func_literal", t.start, m);
                }
                self.finish("function_type", t.start, m)
            }
            T::LBrack | T::Map | T::Chan | T::Struct | T::Interface | T::Arrow => self.type_(),
            _ => self.error_node(),
        }
    }

    fn primary(&mut self) -> u32 {
        let mut x = self.operand();
        loop {
            let start = self.start_of(x);
            match self.peek() {
                T::Period => match self.peek_at(1) {
                    T::Ident => {
                        self.bump();
                        let t = self.bump();
                        let m = self.mark();
                        self.push(x, Some(F::Operand));
                        let field = self.leaf("field_identifier", t);
                        self.push(field, Some(F::Field));
                        x = self.finish("selector_expression", start, m);
                    }
                    T::LParen if self.peek_at(2) == T::Type => {
                        self.bump();
                        self.bump();
                        self.bump();
                        self.expect(T::RParen);
                        self.guard = Some(x);
                        return x;
                    }
                    T::LParen => {
                        self.bump();
                        self.bump();
                        let m = self.mark();
                        self.push(x, Some(F::Operand));
                        let ty = self.type_();
                        self.push(ty, Some(F::Type));
                        self.expect(T::RParen);
                        x = self.finish("type_assertion_expression", start, m);
                    }
                    _ => {
                        self.bump();
                        self.fail();
                        return x;
                    }
                },
                T::LBrack => x = self.index_or_slice(x),
                T::LParen => x = self.call(x),
                T::LBrace => {
                    let Some(ty) = self.literal_type(x) else { return x };
                    let m = self.mark();
                    self.push(ty, Some(F::Type));
                    let body = self.literal_value();
                    self.push(body, Some(F::Body));
                    x = self.finish("composite_literal", start, m);
                }
                _ => return x,
            }
        }
    }

    fn index_or_slice(&mut self, x: u32) -> u32 {
        let start = self.start_of(x);
        self.bump();
        self.expr_lev += 1;
        let m = self.mark();
        self.push(x, Some(F::Operand));
        let first = if self.peek() == T::Colon { None } else { Some(self.expr()) };
        let kind = match self.peek() {
            T::Colon => {
                self.bump();
                self.push_opt(first, Some(F::Start));
                if !matches!(self.peek(), T::RBrack | T::Colon) {
                    let end = self.expr();
                    self.push(end, Some(F::End));
                }
                if self.eat(T::Colon) {
                    let cap = self.expr();
                    self.push(cap, Some(F::Capacity));
                }
                "slice_expression"
            }
            T::Comma => {
                // Several type arguments: `f[A, B]`.
                self.scratch.truncate(m);
                let mut types = vec![first.unwrap_or(x)];
                while self.eat(T::Comma) {
                    if self.peek() == T::RBrack {
                        break;
                    }
                    types.push(self.expr());
                }
                self.expr_lev -= 1;
                self.expect(T::RBrack);
                return self.instantiation(x, &types);
            }
            _ => {
                if first.is_none() {
                    self.fail();
                }
                self.push_opt(first, Some(F::Index));
                "index_expression"
            }
        };
        self.expr_lev -= 1;
        self.expect(T::RBrack);
        self.finish(kind, start, m)
    }

    /// `x[A, B]`, then a call, a conversion, a literal or nothing.
    fn instantiation(&mut self, x: u32, types: &[u32]) -> u32 {
        let start = self.start_of(x);
        let bracket_end = self.prev_end;
        match self.peek() {
            T::LParen | T::LBrace => {
                let args = self.type_arguments_of(types, bracket_end);
                match self.peek() {
                    T::LBrace => {
                        let Some(ty) = self.generic_of(x, args) else { return x };
                        let m = self.mark();
                        self.push(ty, Some(F::Type));
                        let body = self.literal_value();
                        self.push(body, Some(F::Body));
                        self.finish("composite_literal", start, m)
                    }
                    _ => {
                        let (list, single) = self.argument_list(false);
                        if let (Some(operand), Some(ty)) = (single, self.generic_of(x, args)) {
                            let m = self.mark();
                            self.push(ty, Some(F::Type));
                            self.push(operand, Some(F::Operand));
                            return self.finish("type_conversion_expression", start, m);
                        }
                        let m = self.mark();
                        self.push(x, Some(F::Function));
                        self.push(args, Some(F::TypeArguments));
                        self.push(list, Some(F::Arguments));
                        self.finish("call_expression", start, m)
                    }
                }
            }
            _ => {
                let m = self.mark();
                let ty = self.as_type(x).unwrap_or(x);
                self.push(ty, Some(F::Type));
                for &t in types {
                    let t = self.as_type(t).unwrap_or(t);
                    self.push(t, None);
                }
                self.finish("type_instantiation_expression", start, m)
            }
        }
    }

    /// `type_arguments` of expressions already parsed as types' stand-ins.
    fn type_arguments_of(&mut self, types: &[u32], end: u32) -> u32 {
        let m = self.mark();
        for &t in types {
            let ty = self.as_type(t).unwrap_or(t);
            let (s, e) = (self.nodes[ty as usize].start, self.nodes[ty as usize].end);
            let em = self.mark();
            self.push(ty, None);
            let elem = self.add("type_elem", true, s, e, em);
            self.push(elem, None);
        }
        let start = types.first().map_or(end, |&t| self.start_of(t)).saturating_sub(1);
        self.add("type_arguments", true, start, end, m)
    }

    /// A generic type of `x` (a type name) and type arguments.
    fn generic_of(&mut self, x: u32, args: u32) -> Option<u32> {
        let name = self.type_name_of(x)?;
        let m = self.mark();
        self.push(name, Some(F::Type));
        self.push(args, Some(F::TypeArguments));
        let (start, end) = (self.start_of(x), self.nodes[args as usize].end);
        Some(self.add("generic_type", true, start, end, m))
    }

    /// `x` as a type name: `T` or `pkg.T`.
    fn type_name_of(&mut self, x: u32) -> Option<u32> {
        match self.kind_of(x) {
            "identifier" => Some(self.retag(x, "type_identifier")),
            "selector_expression" => {
                let operand = self.child_in(x, F::Operand)?;
                let field = self.child_in(x, F::Field)?;
                if self.kind_of(operand) != "identifier" {
                    return None;
                }
                let m = self.mark();
                let package = self.retag(operand, "package_identifier");
                self.push(package, Some(F::Package));
                let name = self.retag(field, "type_identifier");
                self.push(name, Some(F::Name));
                let (start, end) = (self.start_of(x), self.nodes[x as usize].end);
                Some(self.add("qualified_type", true, start, end, m))
            }
            _ => None,
        }
    }

    /// A copy of a leaf with another kind.
    fn retag(&mut self, leaf: u32, kind: &'static str) -> u32 {
        let (start, end) = (self.nodes[leaf as usize].start, self.nodes[leaf as usize].end);
        let m = self.mark();
        self.add(kind, true, start, end, m)
    }

    /// An expression as the type it may stand for (a type argument).
    fn as_type(&mut self, x: u32) -> Option<u32> {
        match self.kind_of(x) {
            k if is_type_kind(k) => Some(x),
            "identifier" | "selector_expression" => self.type_name_of(x),
            "nil" => Some(self.retag(x, "type_identifier")),
            "unary_expression" => {
                let operand = self.child_in(x, F::Operand)?;
                if self.children_of(x).first().map(|e| self.kind_of(e.node)) != Some("*") {
                    return None;
                }
                let inner = self.as_type(operand)?;
                let m = self.mark();
                self.push(inner, None);
                let (start, end) = (self.start_of(x), self.nodes[x as usize].end);
                Some(self.add("pointer_type", true, start, end, m))
            }
            "index_expression" => {
                let operand = self.child_in(x, F::Operand)?;
                let index = self.child_in(x, F::Index)?;
                let end = self.nodes[x as usize].end;
                let args = self.type_arguments_of(&[index], end);
                self.generic_of(operand, args)
            }
            _ => None,
        }
    }

    /// The type of a composite literal `x{`, if `x` can be one here.
    fn literal_type(&mut self, x: u32) -> Option<u32> {
        match self.kind_of(x) {
            "slice_type" | "array_type" | "implicit_length_array_type" | "map_type" | "struct_type" => Some(x),
            "identifier" | "selector_expression" if self.expr_lev >= 0 => self.type_name_of(x),
            "generic_type" if self.expr_lev >= 0 => Some(x),
            "index_expression" if self.expr_lev >= 0 => self.as_type(x).filter(|&t| self.kind_of(t) == "generic_type"),
            _ => None,
        }
    }

    fn call(&mut self, x: u32) -> u32 {
        let start = self.start_of(x);
        let special = self.kind_of(x) == "identifier" && matches!(self.text_of(x), "new" | "make");
        let (list, single) = self.argument_list(special);
        let kind = self.kind_of(x);
        if let Some(operand) = single {
            let ty = if is_type_kind(kind) {
                Some(x)
            } else if kind == "index_expression" && self.index_is_type(x) {
                self.as_type(x)
            } else {
                None
            };
            if let Some(ty) = ty {
                let m = self.mark();
                self.push(ty, Some(F::Type));
                self.push(operand, Some(F::Operand));
                return self.finish("type_conversion_expression", start, m);
            }
        }
        let m = self.mark();
        self.push(x, Some(F::Function));
        self.push(list, Some(F::Arguments));
        self.finish("call_expression", start, m)
    }

    /// Whether `x[i]` reads as a generic type to tree-sitter-go: `x` a
    /// type name, `i` one.
    fn index_is_type(&self, x: u32) -> bool {
        let (Some(operand), Some(index)) = (self.child_in(x, F::Operand), self.child_in(x, F::Index)) else {
            return false;
        };
        let name_like = |p: &Self, n: u32| match p.kind_of(n) {
            "identifier" => true,
            "selector_expression" => p.child_in(n, F::Operand).is_some_and(|o| p.kind_of(o) == "identifier"),
            _ => false,
        };
        fn type_like(p: &Parser<'_>, n: u32) -> bool {
            match p.kind_of(n) {
                "identifier" | "nil" => true,
                k if is_type_kind(k) => true,
                "selector_expression" => p.child_in(n, F::Operand).is_some_and(|o| p.kind_of(o) == "identifier"),
                "unary_expression" => {
                    p.children_of(n).first().map(|e| p.kind_of(e.node)) == Some("*")
                        && p.child_in(n, F::Operand).is_some_and(|o| type_like(p, o))
                }
                _ => false,
            }
        }
        name_like(self, operand) && type_like(self, index)
    }

    fn text_of(&self, id: u32) -> &'s str {
        let d = &self.nodes[id as usize];
        self.src.get(d.start as usize..d.end as usize).unwrap_or("")
    }

    /// `(args)`: the argument list, and its only argument if it has exactly
    /// one (no `...`). `special`: the first argument is a type (`new`, `make`).
    fn argument_list(&mut self, special: bool) -> (u32, Option<u32>) {
        let start = self.bump().start;
        let m = self.mark();
        self.expr_lev += 1;
        let mut count = 0;
        let mut variadic = false;
        while !matches!(self.peek(), T::RParen | T::Eof) {
            let before = self.pos;
            let arg = if special && count == 0 { self.type_or_expr() } else { self.expr() };
            let arg = if self.peek() == T::Ellipsis {
                self.bump();
                variadic = true;
                let am = self.mark();
                let s = self.start_of(arg);
                self.push(arg, None);
                self.finish("variadic_argument", s, am)
            } else {
                arg
            };
            self.push(arg, None);
            count += 1;
            if self.pos == before {
                self.bump();
            }
            if !self.eat(T::Comma) {
                break;
            }
        }
        self.expr_lev -= 1;
        self.expect(T::RParen);
        let single = (count == 1 && !variadic).then(|| self.scratch[m].node);
        (self.finish("argument_list", start, m), single)
    }

    /// The first argument of `new` or `make`: a type.
    fn type_or_expr(&mut self) -> u32 {
        match self.peek() {
            T::Ident | T::Mul | T::LBrack | T::Map | T::Chan | T::Func | T::Struct | T::Interface | T::Arrow => self.type_(),
            _ => self.expr(),
        }
    }

    fn literal_value(&mut self) -> u32 {
        self.nested(Self::literal_value_inner)
    }

    fn literal_value_inner(&mut self) -> u32 {
        let start = self.bump().start;
        let m = self.mark();
        self.expr_lev += 1;
        while !matches!(self.peek(), T::RBrace | T::Eof) {
            let before = self.pos;
            let first = self.literal_element();
            let element = if self.eat(T::Colon) {
                let km = self.mark();
                self.push(first, Some(F::Key));
                let value = self.literal_element();
                self.push(value, Some(F::Value));
                let s = self.start_of(first);
                self.finish("keyed_element", s, km)
            } else {
                first
            };
            self.push(element, None);
            if self.pos == before {
                self.fail();
                self.bump();
            }
            if !self.eat(T::Comma) {
                break;
            }
        }
        self.expr_lev -= 1;
        // A line break before the `}` without a trailing comma is an error in Go.
        if self.peek() == T::Semi && self.tok().start != self.tok().end {
            self.fail();
            self.bump();
        }
        self.expect(T::RBrace);
        self.finish("literal_value", start, m)
    }

    fn literal_element(&mut self) -> u32 {
        let start = self.start();
        let m = self.mark();
        let inner = if self.peek() == T::LBrace { self.literal_value() } else { self.expr() };
        self.push(inner, None);
        self.finish("literal_element", start, m)
    }

    /// A string literal, with its parts as tree-sitter-go has them.
    fn string(&mut self) -> u32 {
        let t = self.bump();
        let m = self.mark();
        let (s, e) = (t.start as usize, t.end as usize);
        if t.kind == T::RawStr {
            if e >= s + 2 {
                let mm = self.mark();
                let content = self.add("raw_string_literal_content", true, (s + 1) as u32, (e - 1) as u32, mm);
                self.push(content, None);
            }
            return self.add("raw_string_literal", true, t.start, t.end, m);
        }
        let b = self.src.as_bytes();
        let mut i = s + 1;
        let stop = e.saturating_sub(1).max(i);
        let mut run = i;
        while i < stop {
            if b[i] == b'\\' {
                if run < i {
                    let mm = self.mark();
                    let n = self.add("interpreted_string_literal_content", true, run as u32, i as u32, mm);
                    self.push(n, None);
                }
                let len = escape_len(&b[i..stop]);
                let mm = self.mark();
                let n = self.add("escape_sequence", true, i as u32, (i + len) as u32, mm);
                self.push(n, None);
                i += len;
                run = i;
            } else {
                i += 1;
            }
        }
        if run < stop {
            let mm = self.mark();
            let n = self.add("interpreted_string_literal_content", true, run as u32, stop as u32, mm);
            self.push(n, None);
        }
        self.add("interpreted_string_literal", true, t.start, t.end, m)
    }
}

/// Whether a token can start a type parameter's constraint.
fn starts_constraint(t: T) -> bool {
    starts_type(t) || t == T::Tilde
}

/// The length of the escape sequence at the start of `b` (a `\`).
fn escape_len(b: &[u8]) -> usize {
    let hex = |from: usize, n: usize| {
        let digits = b.iter().skip(from).take(n).take_while(|c| c.is_ascii_hexdigit()).count();
        from + digits
    };
    let len = match b.get(1) {
        Some(b'x') => hex(2, 2),
        Some(b'u') => hex(2, 4),
        Some(b'U') => hex(2, 8),
        Some(c) if c.is_ascii_digit() => 1 + b.iter().skip(1).take(3).take_while(|c| c.is_ascii_digit()).count(),
        Some(c) if *c >= 0x80 => 1 + std::str::from_utf8(&b[1..]).ok().and_then(|s| s.chars().next()).map_or(1, char::len_utf8),
        Some(_) => 2,
        None => 1,
    };
    len.min(b.len()).max(1)
}
