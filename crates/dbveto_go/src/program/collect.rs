//! One walk over a parsed Go file: its package, imports, types,
//! package-level constants and variables, and for each function (and
//! function literal) the types of its names, what it calls or hands on,
//! what it starts with `go`, the entry points it registers and the ticker
//! loops it runs. Everything is owned: the tree can go.

use std::collections::{HashMap, HashSet};

use dbveto_source::{Location, SourceFile};
use crate::cst::{Node, Tree};

use super::value::{self, ConstExpr};
use crate::{strings, text};

/// Deeper nesting is not walked: no hand-written code is this deep.
const MAX_DEPTH: u32 = 300;
/// Calls of calls of ... as an expression, at most this deep.
const MAX_EXPR_DEPTH: u32 = 12;

/// A type as written, pointers and type arguments left out.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TypeExpr {
    Named { qualifier: Option<String>, name: String },
    Other,
}

/// An expression, as far as naming functions and values goes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ex {
    Ident(String),
    Select(Box<Ex>, String),
    Call(Box<Ex>, Vec<Ex>),
    /// A function literal, by the offset of its `func`.
    Literal(usize),
    /// `T{...}`, `&T{...}`, `new(T)`.
    Value(TypeExpr),
    Other,
}

/// Where the type of a name comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    Type(TypeExpr),
    Value(Ex),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TypeBody {
    Struct { fields: Vec<(String, TypeExpr)>, embedded: Vec<TypeExpr> },
    Interface { methods: Vec<String>, embedded: Vec<TypeExpr> },
    /// `type A = B`.
    Alias(TypeExpr),
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct TypeDecl {
    pub name: String,
    pub body: TypeBody,
}

/// What a function does with an expression that may name a function.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Use {
    Call(Ex),
    /// Handed on as a value: it may run under this function.
    Ref(Ex),
    Go(Ex),
    Register(Registration),
}

/// An entry point registered with a router or a scheduler.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Registration {
    pub kind: RegKind,
    /// The function, method value, literal, or a value whose method runs.
    pub handler: Ex,
    /// The handler as written, for people.
    pub shown: String,
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum RegKind {
    /// A route: its method when the call names one, its path when constant.
    Http { method: Option<String>, route: Option<ConstExpr> },
    /// A cron spec (robfig/cron `AddFunc` and `AddJob`, gocron `Cron()`).
    Cron { scheduler: &'static str, spec: ConstExpr },
    /// A fixed period: a count of a unit in seconds (gocron `Every(1).Minute()`), or a duration.
    Every { scheduler: &'static str, count: ConstExpr, unit_seconds: Option<u64> },
    /// A scheduler entry whose period is not known.
    Scheduled { scheduler: &'static str, shown: String },
}

/// The kind of a [`Ticker`] that is a loop sleeping between rounds.
pub(super) const SLEEP_LOOP: &str = "time.Sleep loop";

/// A `for` loop that waits on a ticker, or sleeps between rounds.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Ticker {
    pub every: ConstExpr,
    pub kind: &'static str,
    pub at: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Func {
    /// `handleSync`, `Server.handleSync`, `Server.routes.func1`.
    pub display: String,
    /// A function's or method's own name; `None` for a literal.
    pub name: Option<String>,
    /// The receiver's type name, for a method.
    pub receiver: Option<String>,
    /// The function a literal is written in.
    pub parent: Option<usize>,
    /// Offset of its `func`, for a literal.
    pub offset: usize,
    pub location: Location,
    pub last_line: u32,
    /// Parameters (the receiver among them) and local names.
    pub locals: Vec<(String, Source)>,
    pub results: Vec<TypeExpr>,
    pub uses: Vec<Use>,
    pub tickers: Vec<Ticker>,
    pub has_body: bool,
}

#[derive(Debug, Default)]
pub(super) struct FileFacts {
    pub package: Option<String>,
    /// Local name (the alias, else the path's last element) → import path.
    pub imports: HashMap<String, String>,
    pub types: Vec<TypeDecl>,
    pub consts: Vec<(String, ConstExpr)>,
    pub vars: Vec<(String, Source)>,
    pub funcs: Vec<Func>,
}

impl FileFacts {
    fn imported(&self, local: &str) -> Option<&str> {
        self.imports.get(local).map(String::as_str)
    }

    /// Whether the file imports a path that starts with `prefix`.
    fn imports_from(&self, prefix: &str) -> bool {
        self.imports.values().any(|p| p.starts_with(prefix))
    }
}

pub(super) fn collect(file: &SourceFile, tree: &Tree) -> FileFacts {
    let mut c = Collector {
        file,
        src: &file.text,
        facts: FileFacts::default(),
        stack: Vec::new(),
        handed: HashSet::new(),
        literal_counts: HashMap::new(),
    };
    let root = tree.root_node();
    let mut cursor = root.walk();
    let children: Vec<Node<'_>> = root.named_children(&mut cursor).collect();
    // Imports first: registrations are told apart by the packages they come from.
    for child in &children {
        if child.kind() == "import_declaration" {
            c.imports(*child);
        }
    }
    for child in children {
        match child.kind() {
            "package_clause" => {
                c.facts.package = child.named_child(0).map(|n| text(c.src, n).to_string());
            }
            "type_declaration" => c.types(child),
            "const_declaration" => c.consts(child, true),
            "var_declaration" => c.vars(child),
            "function_declaration" | "method_declaration" => c.function(child, 0),
            _ => {}
        }
    }
    c.facts
}

struct Frame {
    func: usize,
    /// Tickers and `time.Tick` channels bound to names here.
    tickers: HashMap<String, (ConstExpr, &'static str, usize)>,
    consts: HashMap<String, ConstExpr>,
}

struct Collector<'f> {
    file: &'f SourceFile,
    src: &'f str,
    facts: FileFacts,
    stack: Vec<Frame>,
    /// Offsets of expressions handed to a registration or `go`: not also a plain reference.
    handed: HashSet<usize>,
    /// Literals written so far directly in each function.
    literal_counts: HashMap<usize, usize>,
}

fn children<'n>(node: Node<'n>) -> Vec<Node<'n>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect()
}

fn field<'n>(node: Node<'n>, name: &str) -> Option<Node<'n>> {
    node.child_by_field_name(name)
}

fn strip(mut node: Node<'_>) -> Node<'_> {
    while matches!(node.kind(), "parenthesized_expression" | "parenthesized_type" | "pointer_type") {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

impl<'f> Collector<'f> {
    fn text(&self, node: Node<'_>) -> &'f str {
        text(self.src, node)
    }

    fn imports(&mut self, node: Node<'_>) {
        let mut specs = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            match n.kind() {
                "import_spec" => specs.push(n),
                _ => stack.extend(children(n)),
            }
        }
        for spec in specs {
            let Some(path) = field(spec, "path") else { continue };
            let path = crate::index::string_value(self.src, path);
            let local = match field(spec, "name") {
                Some(name) if matches!(name.kind(), "blank_identifier" | "dot") => continue,
                Some(name) => self.text(name).to_string(),
                None => crate::gomod::default_name(&path).to_string(),
            };
            self.facts.imports.insert(local, path);
        }
    }

    fn type_expr(&self, node: Option<Node<'_>>) -> TypeExpr {
        let Some(node) = node.map(strip) else { return TypeExpr::Other };
        match node.kind() {
            "type_identifier" => TypeExpr::Named { qualifier: None, name: self.text(node).to_string() },
            "qualified_type" => match (field(node, "package"), field(node, "name")) {
                (Some(q), Some(n)) => {
                    TypeExpr::Named { qualifier: Some(self.text(q).to_string()), name: self.text(n).to_string() }
                }
                _ => TypeExpr::Other,
            },
            "generic_type" => self.type_expr(field(node, "type")),
            _ => TypeExpr::Other,
        }
    }

    fn types(&mut self, node: Node<'_>) {
        for spec in children(node) {
            let (Some(name), Some(ty)) = (field(spec, "name"), field(spec, "type")) else { continue };
            let body = if spec.kind() == "type_alias" {
                TypeBody::Alias(self.type_expr(Some(ty)))
            } else {
                match ty.kind() {
                    "struct_type" => self.struct_body(ty),
                    "interface_type" => self.interface_body(ty),
                    _ => TypeBody::Other,
                }
            };
            self.facts.types.push(TypeDecl { name: self.text(name).to_string(), body });
        }
    }

    fn struct_body(&self, ty: Node<'_>) -> TypeBody {
        let mut fields = Vec::new();
        let mut embedded = Vec::new();
        for list in children(ty).into_iter().filter(|n| n.kind() == "field_declaration_list") {
            for decl in children(list).into_iter().filter(|n| n.kind() == "field_declaration") {
                let ty = self.type_expr(field(decl, "type"));
                let mut cursor = decl.walk();
                let names: Vec<Node<'_>> = decl.children_by_field_name("name", &mut cursor).collect();
                if names.is_empty() {
                    embedded.push(ty);
                } else {
                    fields.extend(names.into_iter().map(|n| (self.text(n).to_string(), ty.clone())));
                }
            }
        }
        TypeBody::Struct { fields, embedded }
    }

    fn interface_body(&self, ty: Node<'_>) -> TypeBody {
        let mut methods = Vec::new();
        let mut embedded = Vec::new();
        for member in children(ty) {
            match member.kind() {
                "method_elem" | "method_spec" => {
                    if let Some(name) = field(member, "name") {
                        methods.push(self.text(name).to_string());
                    }
                }
                "type_elem" => {
                    let parts = children(member);
                    if let [only] = parts.as_slice() {
                        embedded.push(self.type_expr(Some(*only)));
                    }
                }
                _ => {}
            }
        }
        TypeBody::Interface { methods, embedded }
    }

    /// A `const` declaration: at top level into the file's constants, in a
    /// function into its frame. Specs without values (`iota` repeats) are unknown.
    fn consts(&mut self, node: Node<'_>, top: bool) {
        for spec in children(node).into_iter().filter(|n| n.kind() == "const_spec") {
            let values = field(spec, "value").map(children).unwrap_or_default();
            let mut cursor = spec.walk();
            let names: Vec<Node<'_>> = spec.children_by_field_name("name", &mut cursor).collect();
            for (i, name) in names.into_iter().enumerate() {
                let value = values.get(i).map_or(ConstExpr::Unknown, |v| self.const_expr(*v, 0));
                let name = self.text(name).to_string();
                if top {
                    self.facts.consts.push((name, value));
                } else if let Some(frame) = self.stack.last_mut() {
                    frame.consts.insert(name, value);
                }
            }
        }
    }

    fn vars(&mut self, node: Node<'_>) {
        let mut specs = Vec::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            match n.kind() {
                "var_spec" => specs.push(n),
                "var_declaration" | "var_spec_list" => stack.extend(children(n)),
                _ => {}
            }
        }
        for spec in specs {
            for (name, source) in self.var_spec(spec) {
                self.facts.vars.push((name, source));
            }
        }
    }

    fn var_spec(&self, spec: Node<'_>) -> Vec<(String, Source)> {
        let ty = field(spec, "type");
        let values = field(spec, "value").map(children).unwrap_or_default();
        let mut cursor = spec.walk();
        let names: Vec<Node<'_>> = spec.children_by_field_name("name", &mut cursor).collect();
        let mut out = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let source = match (ty, values.get(i)) {
                (Some(ty), _) => Source::Type(self.type_expr(Some(ty))),
                (None, Some(value)) if values.len() == names.len() => Source::Value(self.ex(*value, 0)),
                (None, _) if i == 0 && values.len() == 1 => Source::Value(self.ex(values[0], 0)),
                _ => continue,
            };
            out.push((self.text(*name).to_string(), source));
        }
        out
    }

    fn const_expr(&self, node: Node<'_>, depth: u32) -> ConstExpr {
        if depth > MAX_EXPR_DEPTH {
            return ConstExpr::Unknown;
        }
        let node = strip(node);
        let sub = |n: Option<Node<'_>>| Box::new(n.map_or(ConstExpr::Unknown, |n| self.const_expr(n, depth + 1)));
        match node.kind() {
            "int_literal" => strings::int(self.text(node)).map_or(ConstExpr::Unknown, ConstExpr::Int),
            "interpreted_string_literal" | "raw_string_literal" => {
                ConstExpr::Str(crate::index::string_value(self.src, node))
            }
            "identifier" => {
                let name = self.text(node);
                match self.stack.iter().rev().find_map(|f| f.consts.get(name)) {
                    Some(local) => local.clone(),
                    None => ConstExpr::Name(None, name.to_string()),
                }
            }
            "selector_expression" => {
                let (Some(operand), Some(name)) = (field(node, "operand"), field(node, "field")) else {
                    return ConstExpr::Unknown;
                };
                if operand.kind() != "identifier" {
                    return ConstExpr::Unknown;
                }
                let (q, name) = (self.text(operand), self.text(name));
                match self.facts.imported(q) {
                    Some("time") => value::time_unit(name).map_or(ConstExpr::Unknown, ConstExpr::Int),
                    Some(_) => ConstExpr::Name(Some(q.to_string()), name.to_string()),
                    None => ConstExpr::Unknown,
                }
            }
            "binary_expression" => {
                let (left, right) = (sub(field(node, "left")), sub(field(node, "right")));
                match field(node, "operator").map(|o| o.kind()) {
                    Some("*") => ConstExpr::Mul(left, right),
                    Some("/") => ConstExpr::Div(left, right),
                    Some("+") => ConstExpr::Add(left, right),
                    Some("-") => ConstExpr::Sub(left, right),
                    _ => ConstExpr::Unknown,
                }
            }
            // `time.Duration(60)`: a conversion keeps the value.
            "call_expression" | "type_conversion_expression" => {
                let callee = field(node, "function").or_else(|| field(node, "type"));
                let args = field(node, "arguments").map(children).or_else(|| field(node, "operand").map(|o| vec![o]));
                let is_duration = callee.is_some_and(|f| {
                    let t = self.text(f);
                    t.ends_with(".Duration") && t.split('.').next().is_some_and(|q| self.facts.imported(q) == Some("time"))
                        || matches!(t, "int" | "int64" | "int32" | "uint" | "uint64")
                });
                match args.as_deref() {
                    Some([one]) if is_duration => self.const_expr(*one, depth + 1),
                    _ => ConstExpr::Unknown,
                }
            }
            _ => ConstExpr::Unknown,
        }
    }

    /// An expression, as far as it names functions or values of a type.
    fn ex(&self, node: Node<'_>, depth: u32) -> Ex {
        if depth > MAX_EXPR_DEPTH {
            return Ex::Other;
        }
        let node = strip(node);
        match node.kind() {
            "identifier" => Ex::Ident(self.text(node).to_string()),
            "selector_expression" => match (field(node, "operand"), field(node, "field")) {
                (Some(operand), Some(name)) => Ex::Select(Box::new(self.ex(operand, depth + 1)), self.text(name).to_string()),
                _ => Ex::Other,
            },
            "call_expression" => {
                let Some(function) = field(node, "function") else { return Ex::Other };
                let args = field(node, "arguments").map(children).unwrap_or_default();
                if self.text(function) == "new" {
                    return match args.first() {
                        Some(ty) => Ex::Value(self.type_expr(Some(*ty))),
                        None => Ex::Other,
                    };
                }
                let args = args.iter().take(8).map(|a| self.ex(*a, depth + 1)).collect();
                Ex::Call(Box::new(self.ex(function, depth + 1)), args)
            }
            "func_literal" => Ex::Literal(node.start_byte()),
            "composite_literal" => Ex::Value(self.type_expr(field(node, "type"))),
            "unary_expression" if field(node, "operator").is_some_and(|o| o.kind() == "&") => {
                field(node, "operand").map_or(Ex::Other, |o| self.ex(o, depth + 1))
            }
            // A generic function instantiated: `f[T]`.
            "index_expression" => field(node, "operand").map_or(Ex::Other, |o| self.ex(o, depth + 1)),
            _ => Ex::Other,
        }
    }

    fn current(&mut self) -> Option<&mut Func> {
        let i = self.stack.last()?.func;
        self.facts.funcs.get_mut(i)
    }

    fn add_use(&mut self, u: Use) {
        if let Some(f) = self.current() {
            f.uses.push(u);
        }
    }

    fn params(&self, list: Option<Node<'_>>, out: &mut Vec<(String, Source)>) {
        let Some(list) = list else { return };
        for decl in children(list) {
            if !matches!(decl.kind(), "parameter_declaration" | "variadic_parameter_declaration") {
                continue;
            }
            let ty = if decl.kind() == "variadic_parameter_declaration" {
                TypeExpr::Other
            } else {
                self.type_expr(field(decl, "type"))
            };
            let mut cursor = decl.walk();
            for name in decl.children_by_field_name("name", &mut cursor) {
                out.push((self.text(name).to_string(), Source::Type(ty.clone())));
            }
        }
    }

    fn results(&self, result: Option<Node<'_>>) -> Vec<TypeExpr> {
        let Some(result) = result else { return Vec::new() };
        if result.kind() != "parameter_list" {
            return vec![self.type_expr(Some(result))];
        }
        let mut out = Vec::new();
        for decl in children(result) {
            let ty = self.type_expr(field(decl, "type"));
            let mut cursor = decl.walk();
            let names = decl.children_by_field_name("name", &mut cursor).count().max(1);
            out.extend(std::iter::repeat_n(ty, names));
        }
        out
    }

    /// A function or method declaration (`depth` 0) or a literal.
    fn function(&mut self, node: Node<'_>, depth: u32) {
        let literal = node.kind() == "func_literal";
        let parent = self.stack.last().map(|f| f.func);
        let mut locals = Vec::new();
        let mut receiver = None;
        if let Some(list) = field(node, "receiver") {
            self.params(Some(list), &mut locals);
            receiver = children(list).into_iter().find_map(|d| match self.type_expr(field(d, "type")) {
                TypeExpr::Named { name, .. } => Some(name),
                TypeExpr::Other => None,
            });
        }
        self.params(field(node, "parameters"), &mut locals);
        let name = (!literal).then(|| field(node, "name").map(|n| self.text(n).to_string())).flatten();
        let display = match (&name, &receiver, parent) {
            (Some(n), Some(r), _) => format!("{r}.{n}"),
            (Some(n), None, _) => n.clone(),
            (None, _, Some(p)) => {
                let count = self.literal_counts.entry(p).or_default();
                *count += 1;
                let parent_name = self.facts.funcs.get(p).map_or("", |f| f.display.as_str());
                // Go's own names: `main.func1`, and `main.func1.1` inside it.
                if self.facts.funcs.get(p).is_some_and(|f| f.name.is_none()) {
                    format!("{parent_name}.{count}")
                } else {
                    format!("{parent_name}.func{count}")
                }
            }
            (None, _, None) => "func".to_string(),
        };
        let at = if literal { node.start_byte() } else { field(node, "name").unwrap_or(node).start_byte() };
        let end = node.end_byte().saturating_sub(1).max(node.start_byte());
        let body = field(node, "body");
        let func = Func {
            display,
            name,
            receiver,
            parent: if literal { parent } else { None },
            offset: node.start_byte(),
            location: self.file.location(at),
            last_line: self.file.location(end).line,
            locals,
            results: self.results(field(node, "result")),
            uses: Vec::new(),
            tickers: Vec::new(),
            has_body: body.is_some_and(|b| b.named_child_count() > 0),
        };
        let id = self.facts.funcs.len();
        self.facts.funcs.push(func);
        if literal && !self.handed.contains(&node.start_byte()) {
            self.add_use(Use::Ref(Ex::Literal(node.start_byte())));
        }
        self.stack.push(Frame { func: id, tickers: HashMap::new(), consts: HashMap::new() });
        if let Some(body) = body {
            self.walk(body, depth + 1);
        }
        self.stack.pop();
    }

    fn walk(&mut self, node: Node<'_>, depth: u32) {
        if depth > MAX_DEPTH {
            return;
        }
        match node.kind() {
            "func_literal" => return self.function(node, depth),
            "call_expression" => self.call(node),
            "go_statement" => {
                if let Some(call) = children(node).into_iter().next().filter(|c| c.kind() == "call_expression") {
                    if let Some(function) = field(call, "function") {
                        self.handed.insert(strip(function).start_byte());
                        let target = self.ex(function, 0);
                        self.add_use(Use::Go(target));
                        if let Some(args) = field(call, "arguments") {
                            self.value_refs(args);
                        }
                    }
                    for child in children(call) {
                        self.walk(child, depth + 1);
                    }
                    return;
                }
            }
            "short_var_declaration" | "assignment_statement" => self.assignment(node),
            "var_spec" => {
                self.bind_tickers(node);
                let bound = self.var_spec(node);
                if let Some(f) = self.current() {
                    f.locals.extend(bound);
                }
                if let Some(values) = field(node, "value") {
                    self.value_refs(values);
                }
            }
            "const_declaration" => return self.consts(node, false),
            "for_statement" => self.for_loop(node),
            "return_statement" => {
                for list in children(node) {
                    self.value_refs(list);
                }
            }
            "literal_element" => self.value_refs(node),
            _ => {}
        }
        for child in children(node) {
            self.walk(child, depth + 1);
        }
    }

    /// Identifiers and selectors among `list`'s children (or `list` itself):
    /// functions handed on as values.
    fn value_refs(&mut self, list: Node<'_>) {
        let items = match list.kind() {
            "argument_list" | "expression_list" | "literal_element" => children(list),
            _ => vec![list],
        };
        for item in items {
            let item = strip(item);
            if matches!(item.kind(), "identifier" | "selector_expression") && !self.handed.contains(&item.start_byte()) {
                let target = self.ex(item, 0);
                self.add_use(Use::Ref(target));
            }
        }
    }

    fn assignment(&mut self, node: Node<'_>) {
        let plain = node.kind() == "short_var_declaration"
            || field(node, "operator").is_some_and(|o| o.kind() == "=");
        let left = field(node, "left").map(children).unwrap_or_default();
        let right = field(node, "right").map(children).unwrap_or_default();
        if let Some(values) = field(node, "right") {
            self.value_refs(values);
        }
        if !plain {
            return;
        }
        for (i, target) in left.iter().enumerate() {
            if target.kind() != "identifier" {
                continue;
            }
            let value = if left.len() == right.len() {
                right.get(i)
            } else if i == 0 && right.len() == 1 {
                right.first()
            } else {
                None
            };
            let Some(value) = value else { continue };
            let name = self.text(*target).to_string();
            self.bind_ticker(&name, *value);
            let source = Source::Value(self.ex(*value, 0));
            if let Some(f) = self.current() {
                f.locals.push((name, source));
            }
        }
    }

    fn bind_ticker(&mut self, name: &str, value: Node<'_>) {
        if let Some(ticker) = self.ticker_call(value) {
            if let Some(frame) = self.stack.last_mut() {
                frame.tickers.insert(name.to_string(), ticker);
            }
        }
    }

    /// `var t = time.NewTicker(d)`.
    fn bind_tickers(&mut self, spec: Node<'_>) {
        let values = field(spec, "value").map(children).unwrap_or_default();
        let mut cursor = spec.walk();
        let names: Vec<String> = spec.children_by_field_name("name", &mut cursor).map(|n| self.text(n).to_string()).collect();
        if names.len() == values.len() {
            for (name, value) in names.iter().zip(values) {
                self.bind_ticker(name, value);
            }
        }
    }

    /// `time.NewTicker(d)` or `time.Tick(d)`: the period, and which.
    fn ticker_call(&self, node: Node<'_>) -> Option<(ConstExpr, &'static str, usize)> {
        let node = strip(node);
        if node.kind() != "call_expression" {
            return None;
        }
        let function = field(node, "function")?;
        if function.kind() != "selector_expression" {
            return None;
        }
        let operand = field(function, "operand")?;
        if operand.kind() != "identifier" || self.facts.imported(self.text(operand)) != Some("time") {
            return None;
        }
        let kind = match self.text(field(function, "field")?) {
            "NewTicker" => "time.Ticker",
            "Tick" => "time.Tick",
            _ => return None,
        };
        let arg = children(field(node, "arguments")?).into_iter().next()?;
        Some((self.const_expr(arg, 0), kind, node.start_byte()))
    }

    /// The ticker a receive waits on: `t.C` of a ticker, a `time.Tick`
    /// channel, or `time.Tick(d)` itself.
    fn ticker_of(&self, channel: Node<'_>) -> Option<(ConstExpr, &'static str, usize)> {
        let channel = strip(channel);
        let bound = |name: &str| self.stack.iter().rev().find_map(|f| f.tickers.get(name)).cloned();
        match channel.kind() {
            "selector_expression" => {
                let operand = field(channel, "operand")?;
                let is_c = field(channel, "field").is_some_and(|f| self.text(f) == "C");
                (is_c && operand.kind() == "identifier").then(|| bound(self.text(operand))).flatten().filter(|t| t.1 == "time.Ticker")
            }
            "identifier" => bound(self.text(channel)).filter(|t| t.1 == "time.Tick"),
            "call_expression" => self.ticker_call(channel).filter(|t| t.1 == "time.Tick"),
            _ => None,
        }
    }

    /// `for range t.C`, or a loop that receives from a ticker (in a `select`
    /// or not), outside any function literal.
    fn for_loop(&mut self, node: Node<'_>) {
        let mut found = None;
        for child in children(node) {
            if child.kind() == "range_clause" {
                found = field(child, "right").and_then(|r| self.ticker_of(r));
            }
        }
        if found.is_none() {
            let mut stack: Vec<Node<'_>> = field(node, "body").into_iter().collect();
            let mut budget = 10_000;
            while let Some(n) = stack.pop() {
                budget -= 1;
                if budget == 0 || found.is_some() {
                    break;
                }
                match n.kind() {
                    "func_literal" => {}
                    "unary_expression" if field(n, "operator").is_some_and(|o| o.kind() == "<-") => {
                        found = field(n, "operand").and_then(|o| self.ticker_of(o));
                    }
                    _ => stack.extend(children(n)),
                }
            }
        }
        let found = found.or_else(|| self.sleep_loop(node));
        if let Some((every, kind, at)) = found {
            if let Some(f) = self.current() {
                f.tickers.push(Ticker { every, kind, at });
            }
        }
    }

    /// `for { ...; time.Sleep(d) }`: a loop without a header that sleeps
    /// at its top level and that nothing leaves but a `select` (the usual
    /// shutdown on `ctx.Done()`). A loop that breaks or returns otherwise
    /// is a retry, not a schedule.
    fn sleep_loop(&self, node: Node<'_>) -> Option<(ConstExpr, &'static str, usize)> {
        let body = field(node, "body")?;
        if children(node).len() != 1 {
            return None;
        }
        let statements: Vec<Node<'_>> =
            children(body).into_iter().flat_map(|n| if n.kind() == "statement_list" { children(n) } else { vec![n] }).collect();
        let sleep = statements.iter().find_map(|statement| {
            let call = strip(children(*statement).into_iter().next().filter(|_| statement.kind() == "expression_statement")?);
            let function = field(call, "function").filter(|f| f.kind() == "selector_expression")?;
            let operand = field(function, "operand")?;
            let is_sleep = self.facts.imported(self.text(operand)) == Some("time") && field(function, "field").is_some_and(|f| self.text(f) == "Sleep");
            let period = children(field(call, "arguments")?).into_iter().next()?;
            is_sleep.then(|| self.const_expr(period, 0))
        })?;
        // Exits: a `return` or `goto` anywhere but in a `select` or a
        // function literal; a `break` outside the loops and switches within.
        let mut stack: Vec<(Node<'_>, bool)> = vec![(body, false)];
        let mut budget = 10_000;
        while let Some((n, nested)) = stack.pop() {
            budget -= 1;
            if budget == 0 {
                return None;
            }
            match n.kind() {
                "func_literal" | "select_statement" => {}
                "return_statement" | "goto_statement" => return None,
                "break_statement" if !nested => return None,
                "for_statement" | "expression_switch_statement" | "type_switch_statement" => stack.extend(children(n).into_iter().map(|c| (c, true))),
                _ => stack.extend(children(n).into_iter().map(|c| (c, nested))),
            }
        }
        Some((sleep, SLEEP_LOOP, node.start_byte()))
    }

    fn string_arg(&self, node: Option<&Node<'_>>) -> Option<ConstExpr> {
        node.map(|n| self.const_expr(*n, 0))
    }

    /// A call: what it calls, and whether it registers an entry point.
    fn call(&mut self, node: Node<'_>) {
        let Some(function) = field(node, "function") else { return };
        if strip(function).kind() != "func_literal" {
            let target = self.ex(function, 0);
            self.add_use(Use::Call(target));
        }
        self.registrations(node, strip(function));
        if let Some(list) = field(node, "arguments") {
            self.value_refs(list);
        }
    }

    /// The entry points a call registers, if it is a router's or a scheduler's.
    fn registrations(&mut self, node: Node<'_>, function: Node<'_>) {
        if function.kind() != "selector_expression" {
            return;
        }
        let args = field(node, "arguments").map(children).unwrap_or_default();
        let (Some(operand), Some(method)) = (field(function, "operand"), field(function, "field")) else { return };
        let method = self.text(method);
        let receiver_package = (operand.kind() == "identifier").then(|| self.facts.imported(self.text(operand))).flatten();
        let facts = &self.facts;
        let http = receiver_package == Some("net/http") || facts.imports_from("net/http") || facts.imports_from("github.com/gorilla/mux");
        let chi = facts.imports_from("github.com/go-chi/chi");
        let gin = facts.imports_from("github.com/gin-gonic/gin");
        let echo = facts.imports_from("github.com/labstack/echo");
        let cron = facts.imports_from("github.com/robfig/cron");
        let gocron = facts.imports_from("github.com/go-co-op/gocron");
        let route = |i: usize| self.string_arg(args.get(i));
        let registrations: Vec<(RegKind, usize)> = match method {
            "HandleFunc" | "Handle" if (http || chi) && args.len() >= 2 => {
                vec![(RegKind::Http { method: None, route: route(0) }, 1)]
            }
            "Get" | "Post" | "Put" | "Patch" | "Delete" | "Head" | "Options" | "Connect" | "Trace" if chi && args.len() >= 2 => {
                vec![(RegKind::Http { method: Some(method.to_ascii_uppercase()), route: route(0) }, 1)]
            }
            "Method" | "MethodFunc" if chi && args.len() >= 3 => {
                let verb = self.string_arg(args.first()).and_then(|m| match m {
                    ConstExpr::Str(s) => Some(s),
                    _ => None,
                });
                vec![(RegKind::Http { method: verb, route: route(1) }, 2)]
            }
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS" | "CONNECT" | "TRACE" | "Any"
                if (gin || echo) && args.len() >= 2 =>
            {
                let verb = (method != "Any").then(|| method.to_string());
                // gin runs every handler given, in order; echo's later arguments are middleware.
                let last = if gin { args.len() } else { 2 };
                (1..last).map(|i| (RegKind::Http { method: verb.clone(), route: route(0) }, i)).collect()
            }
            "AddFunc" if cron && args.len() >= 2 => {
                vec![(RegKind::Cron { scheduler: "robfig/cron", spec: route(0).unwrap_or(ConstExpr::Unknown) }, 1)]
            }
            "AddJob" if cron && args.len() >= 2 => {
                vec![(RegKind::Cron { scheduler: "robfig/cron", spec: route(0).unwrap_or(ConstExpr::Unknown) }, 1)]
            }
            // `c.Schedule(cron.Every(d), job)`.
            "Schedule" if cron && args.len() >= 2 => {
                let every = strip(args[0]);
                let is_every = every.kind() == "call_expression"
                    && field(every, "function").is_some_and(|f| self.text(f).ends_with("Every"));
                let count = field(every, "arguments").and_then(|a| children(a).into_iter().next()).map(|d| self.const_expr(d, 0));
                let kind = match count {
                    Some(count) if is_every => RegKind::Every { scheduler: "robfig/cron", count, unit_seconds: None },
                    _ => RegKind::Scheduled { scheduler: "robfig/cron", shown: squeeze(self.text(every)) },
                };
                vec![(kind, 1)]
            }
            "Do" if gocron && !args.is_empty() => self.gocron_chain(operand).map(|k| vec![(k, 0)]).unwrap_or_default(),
            "NewJob" if gocron && args.len() >= 2 => self.gocron_v2(&args).into_iter().collect(),
            _ => Vec::new(),
        };
        for (kind, position) in registrations {
            let Some(arg) = args.get(position) else { continue };
            let handler = self.unwrap_handler(*arg);
            let Some(handler) = handler else { continue };
            self.handed.insert(strip(handler).start_byte());
            let shown = squeeze(self.text(handler));
            let target = self.ex(handler, 0);
            self.add_use(Use::Register(Registration { kind, handler: target, shown, at: node.start_byte() }));
        }
    }

    /// `http.HandlerFunc(h)`, `cron.FuncJob(f)`, `gocron.NewTask(f, ...)`: `h`, `f`.
    fn unwrap_handler<'n>(&self, mut node: Node<'n>) -> Option<Node<'n>> {
        for _ in 0..4 {
            node = strip(node);
            if node.kind() != "call_expression" {
                break;
            }
            let function = field(node, "function")?;
            let name = match function.kind() {
                "selector_expression" => field(function, "field").map(|f| self.text(f)),
                "identifier" => Some(self.text(function)),
                _ => None,
            };
            if !matches!(name, Some("HandlerFunc" | "FuncJob" | "NewTask")) {
                break;
            }
            node = children(field(node, "arguments")?).into_iter().next()?;
        }
        Some(node)
    }

    /// gocron v1: `s.Every(1).Minute().At("10:30").Do(f)`, `s.Every("1m")`, `s.Cron("...")`.
    fn gocron_chain(&self, mut receiver: Node<'_>) -> Option<RegKind> {
        let mut unit = None;
        for _ in 0..16 {
            receiver = strip(receiver);
            if receiver.kind() != "call_expression" {
                return None;
            }
            let function = field(receiver, "function")?;
            if function.kind() != "selector_expression" {
                return None;
            }
            let name = self.text(field(function, "field")?);
            let args = field(receiver, "arguments").map(children).unwrap_or_default();
            match name {
                "Every" => {
                    let count = self.string_arg(args.first()).unwrap_or(ConstExpr::Unknown);
                    return Some(RegKind::Every { scheduler: "gocron", count, unit_seconds: unit });
                }
                "Cron" | "CronWithSeconds" => {
                    return Some(RegKind::Cron { scheduler: "gocron", spec: self.string_arg(args.first()).unwrap_or(ConstExpr::Unknown) });
                }
                _ => {
                    if let Some(seconds) = value::gocron_unit(name) {
                        unit = unit.or(Some(seconds));
                    }
                }
            }
            receiver = field(function, "operand")?;
        }
        None
    }

    /// gocron v2: `s.NewJob(gocron.DurationJob(d), gocron.NewTask(f, ...))`: the definition, and the task's position.
    fn gocron_v2(&self, args: &[Node<'_>]) -> Option<(RegKind, usize)> {
        let definition = strip(*args.first()?);
        if definition.kind() != "call_expression" {
            return None;
        }
        let function = field(definition, "function")?;
        let name = match function.kind() {
            "selector_expression" => self.text(field(function, "field")?),
            _ => self.text(function),
        };
        let def_args = field(definition, "arguments").map(children).unwrap_or_default();
        let kind = match name {
            "DurationJob" => RegKind::Every {
                scheduler: "gocron",
                count: self.string_arg(def_args.first()).unwrap_or(ConstExpr::Unknown),
                unit_seconds: None,
            },
            "CronJob" => RegKind::Cron { scheduler: "gocron", spec: self.string_arg(def_args.first()).unwrap_or(ConstExpr::Unknown) },
            _ => RegKind::Scheduled { scheduler: "gocron", shown: squeeze(self.text(definition)) },
        };
        Some((kind, 1))
    }
}

/// Whitespace runs made one space, cut at 80 characters.
pub(super) fn squeeze(text: &str) -> String {
    let mut shown = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = shown.char_indices().nth(80) {
        shown.truncate(cut);
        shown.push('…');
    }
    shown
}
