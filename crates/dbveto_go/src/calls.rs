//! Pass 2: with the merged index, turn a file's exec-like calls into
//! queries with their parameters, and its other write-like strings into
//! queries without (`call: None`).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use dbveto_writes::{looks_like_write, Arg, EmbeddedQuery, KnownValue, Params};
use tree_sitter::Node;

use crate::eval::{sql_text, Ctx, Evaluator, Value};
use crate::facts::{CallSite, FieldDef, Key, StringRoot};
use crate::index::{strip_parens, strip_pointer};
use crate::resolve::{Index, StructKey};
use crate::scope::FuncScope;
use crate::text;

/// sqlx package functions, which take the executor (and a ctx) first.
const SQLX_FUNCTIONS: &[&str] = &[
    "NamedExec",
    "NamedExecContext",
    "NamedQuery",
    "NamedQueryContext",
    "MustExec",
    "MustExecContext",
    "Get",
    "GetContext",
    "Select",
    "SelectContext",
];

/// Embedded structs are followed this deep at most.
const MAX_EMBEDDING: usize = 16;

#[derive(Debug, Default)]
pub(crate) struct FileQueries {
    /// Queries run by calls, by byte offset of the call.
    pub found: Vec<(usize, EmbeddedQuery)>,
    /// Write-like strings outside calls, dropped later if a call used them.
    pub candidates: Vec<Candidate>,
    /// The literals the calls' queries are made of.
    pub consumed: Vec<Key>,
}

#[derive(Debug)]
pub(crate) struct Candidate {
    pub at: usize,
    pub query: EmbeddedQuery,
    pub keys: Vec<Key>,
}

pub(crate) fn file_queries(index: &Index<'_>, file: usize) -> FileQueries {
    let mut out = FileQueries::default();
    let Some(facts) = index.files.get(file) else { return out };
    let mut pass = Pass { index, ev: Evaluator::new(index), file, bound: HashMap::new() };
    for call in &facts.calls {
        if let Some((query, keys)) = pass.call(call) {
            out.consumed.extend(keys);
            out.found.push((call.node.start_byte(), query));
        }
    }
    for root in &facts.roots {
        if let Some(candidate) = pass.root(root) {
            out.candidates.push(candidate);
        }
    }
    out
}

struct Pass<'i, 't> {
    index: &'i Index<'t>,
    ev: Evaluator<'i, 't>,
    file: usize,
    /// Named parameters of the struct types bound so far in this file.
    bound: HashMap<StructKey<'t>, Params>,
}

impl<'i, 't> Pass<'i, 't> {
    fn src(&self) -> &'t str {
        self.index.src(self.file)
    }

    fn scope(&self, scope: Option<usize>) -> Option<&'i FuncScope<'t>> {
        let index: &'i Index<'t> = self.index;
        index.files.get(self.file)?.scopes.get(scope?)
    }

    /// Whether an identifier names a local where it is used.
    fn is_local(&self, scope: Option<usize>, name: Node<'_>) -> bool {
        self.scope(scope).is_some_and(|s| s.shadows(text(self.src(), name), name.start_byte()))
    }

    fn location(&self, node: Node<'_>) -> Option<dbveto_source::Location> {
        self.index.sources.get(self.file).map(|s| s.location(node.start_byte()))
    }

    fn call(&mut self, call: &CallSite<'t>) -> Option<(EmbeddedQuery, Vec<Key>)> {
        let method = call.method;
        let context = method.ends_with("Context");
        let dest = method.starts_with("Get") || method.starts_with("Select");
        let package_function = call.operand.is_some_and(|o| {
            let name = text(self.src(), o);
            o.kind() == "identifier"
                && !self.is_local(call.scope, o)
                && self.index.imports.get(self.file).is_some_and(|i| i.sqlx.iter().any(|s| s == name))
        });
        let query_at = if package_function {
            if !SQLX_FUNCTIONS.contains(&method) {
                return None;
            }
            usize::from(context) + 1 + usize::from(dest)
        } else {
            // pgx and wrappers take a ctx first without the `Context` suffix.
            let ctx_first = context || call.args.first().is_some_and(|a| self.context_like(call.scope, *a));
            usize::from(ctx_first) + usize::from(dest)
        };
        let ctx = Ctx { file: self.file, scope: call.scope, iota: None };
        let query = unwrap_rebind(self.src(), *call.args.get(query_at)?);
        let Value::Str(pieces) = self.ev.eval(ctx, query)? else { return None };
        let sql = sql_text(&pieces)?;
        if !looks_like_write(&sql.text) {
            return None;
        }
        let rest = call.args.get(query_at + 1..).unwrap_or(&[]);
        let params = if method.starts_with("Named") {
            match rest.first() {
                Some(arg) => self.named(call.scope, *arg),
                None => Params::Unknown,
            }
        } else {
            self.positional(call, query_at, rest)
        };
        let query = EmbeddedQuery { sql, params, call: self.location(call.node) };
        Some((query, pieces.into_iter().map(|p| p.key).collect()))
    }

    /// `ctx`, a `context.Context` parameter, `context.Background()`, `r.Context()`.
    fn context_like(&self, scope: Option<usize>, arg: Node<'t>) -> bool {
        let src = self.src();
        let arg = strip_parens(arg);
        match arg.kind() {
            "identifier" => {
                let name = text(src, arg);
                let declared = self.scope(scope).and_then(|s| s.type_text(name, arg.start_byte()));
                name == "ctx" || declared == Some("context.Context")
            }
            "call_expression" => {
                let Some(function) = arg.child_by_field_name("function") else { return false };
                if function.kind() != "selector_expression" {
                    return false;
                }
                let operand = function.child_by_field_name("operand");
                let field = function.child_by_field_name("field").map(|n| text(src, n));
                let context_package =
                    operand.is_some_and(|o| text(src, o) == "context" && !self.is_local(scope, o));
                field == Some("Context") || context_package
            }
            _ => false,
        }
    }

    fn positional(&mut self, call: &CallSite<'t>, query_at: usize, rest: &[Node<'t>]) -> Params {
        if rest.iter().any(|a| a.kind() == "variadic_argument") {
            return Params::Unknown;
        }
        let ctx = Ctx { file: self.file, scope: call.scope, iota: None };
        let args = rest
            .iter()
            .enumerate()
            .map(|(i, arg)| match self.ev.eval(ctx, *arg) {
                Some(value) => {
                    let via = self.describe(call.scope, *arg, query_at + i + 2, call.method);
                    Arg::known(value.literal(), self.location(*arg), Some(via))
                }
                None => Arg::unknown(),
            })
            .collect();
        Params::Positional(args)
    }

    /// How a known argument reaches the call, for people.
    fn describe(&self, scope: Option<usize>, arg: Node<'t>, position: usize, method: &str) -> String {
        let arg = strip_parens(arg);
        let name = text(self.src(), arg);
        match arg.kind() {
            "identifier" if self.is_local(scope, arg) => format!("variable {name}"),
            "identifier" | "selector_expression" => format!("constant {name}"),
            _ => format!("argument {position} of {method}"),
        }
    }

    /// The named parameters a Named* call binds from its argument.
    fn named(&mut self, scope: Option<usize>, arg: Node<'t>) -> Params {
        let mut node = strip_parens(arg);
        if node.kind() == "unary_expression"
            && node.child_by_field_name("operator").map(|o| o.kind()) == Some("&")
        {
            match node.child_by_field_name("operand") {
                Some(operand) => node = strip_parens(operand),
                None => return Params::Unknown,
            }
        }
        if is_map_literal(node) {
            return self.map_params(scope, node);
        }
        let ty = match node.kind() {
            "composite_literal" => node.child_by_field_name("type"),
            "identifier" => {
                let name = text(self.src(), node);
                let local = self.scope(scope);
                // A map built once right before the call.
                let def =
                    local.and_then(|s| s.value_at(name, node.start_byte())).map(|d| strip_parens(d.value));
                if let Some(map) = def.filter(|d| is_map_literal(*d)) {
                    return self.map_params(scope, map);
                }
                local.and_then(|s| s.type_of(name, node.start_byte()))
            }
            "call_expression"
                if node.child_by_field_name("function").map(|f| text(self.src(), f)) == Some("new") =>
            {
                node.child_by_field_name("arguments").and_then(|a| a.named_child(0))
            }
            _ => None,
        };
        let Some(mut ty) = ty.map(strip_pointer) else { return Params::Unknown };
        // sqlx binds a slice of structs as a batch: same columns.
        if matches!(ty.kind(), "slice_type" | "array_type") {
            match ty.child_by_field_name("element") {
                Some(element) => ty = strip_pointer(element),
                None => return Params::Unknown,
            }
        }
        match self.index.resolve_struct(self.file, ty) {
            Some(key) => self.struct_params(key),
            None => Params::Unknown,
        }
    }

    fn map_params(&mut self, scope: Option<usize>, literal: Node<'t>) -> Params {
        let Some(body) = literal.child_by_field_name("body") else { return Params::Unknown };
        let ctx = Ctx { file: self.file, scope, iota: None };
        let mut cursor = body.walk();
        let elements: Vec<Node<'t>> =
            body.named_children(&mut cursor).filter(|n| n.kind() == "keyed_element").collect();
        let mut params = BTreeMap::new();
        for element in elements {
            let key = element.child_by_field_name("key").and_then(element_expression);
            let Some(Value::Str(pieces)) = key.and_then(|k| self.ev.eval(ctx, k)) else { continue };
            let column: String = pieces.iter().map(|p| p.text.as_str()).collect();
            let value = element.child_by_field_name("value").and_then(element_expression);
            let arg = match value.and_then(|v| Some((v, self.ev.eval(ctx, v)?))) {
                Some((node, v)) => Arg::known(
                    v.literal(),
                    self.location(node),
                    Some(format!("key \"{column}\" of a map literal")),
                ),
                None => Arg::unknown(),
            };
            params.insert(column, arg);
        }
        Params::Named(params)
    }

    /// One parameter per `db` tag of the struct and the structs it embeds,
    /// each with the values the module's literals and assignments give it.
    fn struct_params(&mut self, key: StructKey<'t>) -> Params {
        if let Some(params) = self.bound.get(&key) {
            return params.clone();
        }
        let mut params = BTreeMap::new();
        for column in columns(self.index, key) {
            if params.contains_key(&column.name) {
                continue;
            }
            let arg = self.field_arg(&column);
            params.insert(column.name, arg);
        }
        let params = Params::Named(params);
        self.bound.insert(key, params.clone());
        params
    }

    fn field_arg(&mut self, column: &Column<'t>) -> Arg {
        let index = self.index;
        let via =
            format!("field {} (db:\"{}\") of {}", column.field, column.tag, index.display(column.owner));
        let fields = index.struct_fields(column.owner).map_or(&[][..], |(_, f)| f);
        let mut arg = Arg::default();
        let mut set = false;
        let mut add = |ev: &mut Evaluator<'i, 't>, ctx: Ctx, value: Option<Node<'t>>| {
            set = true;
            match value.and_then(|v| Some((v, ev.eval(ctx, v)?))) {
                Some((node, v)) => {
                    let origin = index.sources.get(ctx.file).map(|s| s.location(node.start_byte()));
                    // Each value has its own origin: no duplicates to merge.
                    arg.known.push(KnownValue { literal: v.literal(), origin, via: Some(via.clone()) });
                }
                None => arg.unknown = true,
            }
        };
        for &(file, item) in index.literals.get(&column.owner).into_iter().flatten() {
            let Some(lit) = index.files.get(file).and_then(|f| f.literals.get(item)) else { continue };
            let ctx = Ctx { file, scope: lit.scope, iota: None };
            if let Some(value) = literal_field(index.src(file), lit.body, fields, column.field) {
                add(&mut self.ev, ctx, value);
            }
        }
        // Promoted fields can be assigned through any struct embedding them.
        for owner in &column.path {
            for &(file, item) in index.assigns.get(&(*owner, column.field)).into_iter().flatten() {
                let Some(assign) = index.files.get(file).and_then(|f| f.assigns.get(item)) else { continue };
                let ctx = Ctx { file, scope: assign.scope, iota: None };
                add(&mut self.ev, ctx, assign.value);
            }
        }
        if !set {
            // Never set anywhere we can see.
            arg.unknown = true;
        }
        arg
    }

    fn root(&mut self, root: &StringRoot<'t>) -> Option<Candidate> {
        if !root.constant && root.node.kind() == "binary_expression" && !has_string_leaf(root.node) {
            return None;
        }
        let ctx = Ctx { file: self.file, scope: root.scope, iota: root.iota };
        let Value::Str(pieces) = self.ev.eval(ctx, root.node)? else { return None };
        let sql = sql_text(&pieces)?;
        if !looks_like_write(&sql.text) {
            return None;
        }
        let keys = pieces.into_iter().map(|p| p.key).collect();
        Some(Candidate {
            at: root.node.start_byte(),
            query: EmbeddedQuery { sql, params: Params::Unknown, call: None },
            keys,
        })
    }
}

/// A column bound from a struct: its `db` name (with the prefix of a
/// tagged embedded struct) and the field it comes from.
struct Column<'t> {
    name: String,
    tag: String,
    field: &'t str,
    /// The struct declaring the field.
    owner: StructKey<'t>,
    /// The structs from the bound one down to `owner`.
    path: Vec<StructKey<'t>>,
}

/// The columns of a struct, shallowest first as sqlx resolves duplicates.
fn columns<'t>(index: &Index<'t>, key: StructKey<'t>) -> Vec<Column<'t>> {
    let mut out = Vec::new();
    let mut seen = HashSet::from([key]);
    let mut queue = VecDeque::from([(key, vec![key], String::new())]);
    while let Some((owner, path, prefix)) = queue.pop_front() {
        let Some((file, fields)) = index.struct_fields(owner) else { continue };
        for field in fields.iter().filter(|f| !f.skip) {
            let embedded = field.embedded.and_then(|ty| index.resolve_struct(file, ty));
            match (embedded, &field.column) {
                (Some(inner), column) => {
                    if path.len() < MAX_EMBEDDING && seen.insert(inner) {
                        let prefix = match column {
                            Some(c) => format!("{prefix}{c}."),
                            None => prefix.clone(),
                        };
                        let mut path = path.clone();
                        path.push(inner);
                        queue.push_back((inner, path, prefix));
                    }
                }
                (None, Some(column)) => out.push(Column {
                    name: format!("{prefix}{column}"),
                    tag: column.clone(),
                    field: field.name,
                    owner,
                    path: path.clone(),
                }),
                (None, None) => {}
            }
        }
    }
    out
}

/// The value a struct literal gives a field, keyed (`F: v`) or positional.
/// `Some(None)`: set to something that is not an expression (a nested literal).
fn literal_field<'t>(
    src: &str,
    body: Node<'t>,
    fields: &[FieldDef<'_>],
    field: &str,
) -> Option<Option<Node<'t>>> {
    let mut cursor = body.walk();
    let elements: Vec<Node<'t>> =
        body.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
    let keyed = elements.iter().any(|e| e.kind() == "keyed_element");
    let element = if keyed {
        let src_key = |e: &Node<'t>| e.child_by_field_name("key").and_then(element_expression);
        let found = elements.iter().find(|e| {
            e.kind() == "keyed_element"
                && src_key(e).is_some_and(|k| k.kind() == "identifier" && text(src, k) == field)
        })?;
        found.child_by_field_name("value")?
    } else {
        let position = fields.iter().position(|f| f.name == field)?;
        *elements.get(position)?
    };
    Some(element_expression(element))
}

/// `db.Rebind(q)` only rewrites placeholders: the query is `q`.
fn unwrap_rebind<'t>(src: &str, arg: Node<'t>) -> Node<'t> {
    let call = strip_parens(arg);
    if call.kind() != "call_expression" {
        return arg;
    }
    let method = call
        .child_by_field_name("function")
        .filter(|f| f.kind() == "selector_expression")
        .and_then(|f| f.child_by_field_name("field"));
    if method.map(|m| text(src, m)) != Some("Rebind") {
        return arg;
    }
    let Some(args) = call.child_by_field_name("arguments") else { return arg };
    let mut cursor = args.walk();
    let args: Vec<Node<'t>> = args.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect();
    match args.as_slice() {
        [only] if only.kind() != "variadic_argument" => *only,
        _ => arg,
    }
}

/// The expression inside a `literal_element`, `None` for a nested literal.
fn element_expression(element: Node<'_>) -> Option<Node<'_>> {
    let inner = if element.kind() == "literal_element" { element.named_child(0)? } else { element };
    (inner.kind() != "literal_value").then_some(inner)
}

fn is_map_literal(node: Node<'_>) -> bool {
    node.kind() == "composite_literal"
        && node.child_by_field_name("type").is_some_and(|t| t.kind() == "map_type")
}

/// Whether a `+` chain has a string literal among its operands.
fn has_string_leaf(node: Node<'_>) -> bool {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "interpreted_string_literal" | "raw_string_literal" => return true,
            "binary_expression" | "parenthesized_expression" => {
                let mut cursor = n.walk();
                stack.extend(n.named_children(&mut cursor));
            }
            _ => {}
        }
    }
    false
}
