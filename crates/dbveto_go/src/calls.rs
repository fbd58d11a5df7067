//! Pass 2: with the merged index, turn a file's exec-like calls into
//! queries with their parameters, and its other write-like strings into
//! queries without (`call: None`).

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use dbveto_writes::{looks_like_write, Arg, EmbeddedQuery, KnownValue, Params};

use crate::eval::{sql_text, Evaluator, Value};
use crate::facts::{
    CallSite, ElemValue, Expr, FieldDef, Key, MapEntry, NamedArg, StringRoot, StructLit, Via,
};
use crate::resolve::{Index, StructKey};

/// sqlx package functions, which take the executor (and a ctx) first.
pub(crate) const SQLX_FUNCTIONS: &[&str] = &[
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
            out.found.push((call.at, query));
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
    fn location(&self, at: usize) -> Option<dbveto_source::Location> {
        self.index.sources.get(self.file).map(|s| s.location(at))
    }

    fn call(&mut self, call: &CallSite<'t>) -> Option<(EmbeddedQuery, Vec<Key>)> {
        let method = call.method;
        let context = method.ends_with("Context");
        let dest = method.starts_with("Get") || method.starts_with("Select");
        let package_function = call.package_operand.is_some_and(|name| {
            self.index.imports.get(self.file).is_some_and(|i| i.sqlx.iter().any(|s| s == name))
        });
        let query_at = if package_function {
            if !SQLX_FUNCTIONS.contains(&method) {
                return None;
            }
            usize::from(context) + 1 + usize::from(dest)
        } else {
            // pgx and wrappers take a ctx first without the `Context` suffix.
            usize::from(context || call.ctx_first) + usize::from(dest)
        };
        let query = call.args.get(query_at)?;
        let query_expr = query.rebound.as_ref().unwrap_or(&query.expr);
        let Value::Str(pieces) = self.ev.eval(self.file, query_expr)? else { return None };
        let sql = sql_text(&pieces)?;
        if !looks_like_write(&sql.text) {
            return None;
        }
        let rest = call.args.get(query_at + 1..).unwrap_or(&[]);
        let params = if method.starts_with("Named") {
            match rest.first().and_then(|a| a.named.as_ref()) {
                Some(arg) => self.named(arg),
                None => Params::Unknown,
            }
        } else {
            self.positional(call, query_at)
        };
        let query = EmbeddedQuery { sql, params, call: self.location(call.at) };
        Some((query, pieces.into_iter().map(|p| p.key).collect()))
    }

    fn positional(&mut self, call: &CallSite<'t>, query_at: usize) -> Params {
        let rest = call.args.get(query_at + 1..).unwrap_or(&[]);
        if rest.iter().any(|a| a.variadic) {
            return Params::Unknown;
        }
        let args = rest
            .iter()
            .enumerate()
            .map(|(i, arg)| match self.ev.eval(self.file, &arg.expr) {
                Some(value) => {
                    let via = match arg.via {
                        Via::Variable(name) => format!("variable {name}"),
                        Via::Constant(name) => format!("constant {name}"),
                        Via::Argument => format!("argument {} of {}", query_at + i + 2, call.method),
                    };
                    Arg::known(value.literal(), self.location(arg.at), Some(via))
                }
                None => Arg::unknown(),
            })
            .collect();
        Params::Positional(args)
    }

    /// The named parameters a Named* call binds from its argument.
    fn named(&mut self, arg: &NamedArg<'t>) -> Params {
        match arg {
            NamedArg::Map(entries) => self.map_params(entries),
            NamedArg::Type(ty) => match self.index.resolve_struct(self.file, ty) {
                Some(key) => self.struct_params(key),
                None => Params::Unknown,
            },
            NamedArg::Unknown => Params::Unknown,
        }
    }

    fn map_params(&mut self, entries: &[MapEntry<'t>]) -> Params {
        let mut params = BTreeMap::new();
        for entry in entries {
            let Some(Value::Str(pieces)) = entry.key.as_ref().and_then(|k| self.ev.eval(self.file, k)) else {
                continue;
            };
            let column: String = pieces.iter().map(|p| p.text.as_str()).collect();
            let arg = match entry.value.as_ref().and_then(|(at, v)| Some((*at, self.ev.eval(self.file, v)?)))
            {
                Some((at, v)) => Arg::known(
                    v.literal(),
                    self.location(at),
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
        let mut add = |ev: &mut Evaluator<'i, 't>, file: usize, value: Option<(usize, &Expr<'t>)>| {
            set = true;
            match value.and_then(|(at, v)| Some((at, ev.eval(file, v)?))) {
                Some((at, v)) => {
                    let origin = index.sources.get(file).map(|s| s.location(at));
                    // Each value has its own origin: no duplicates to merge.
                    arg.known.push(KnownValue { literal: v.literal(), origin, via: Some(via.clone()) });
                }
                None => arg.unknown = true,
            }
        };
        for &(file, item) in index.literals.get(&column.owner).into_iter().flatten() {
            let Some(lit) = index.files.get(file).and_then(|f| f.literals.get(item)) else { continue };
            match literal_field(lit, fields, column.field) {
                Some(ElemValue::Expr(at, value)) => add(&mut self.ev, file, Some((*at, value))),
                Some(ElemValue::Nested) => add(&mut self.ev, file, None),
                Some(ElemValue::Missing) | None => {}
            }
        }
        // Promoted fields can be assigned through any struct embedding them.
        for owner in &column.path {
            for &(file, item) in index.assigns.get(&(*owner, column.field)).into_iter().flatten() {
                let Some(assign) = index.files.get(file).and_then(|f| f.assigns.get(item)) else { continue };
                add(&mut self.ev, file, assign.value.as_ref().map(|(at, v)| (*at, v)));
            }
        }
        if !set {
            // Never set anywhere we can see.
            arg.unknown = true;
        }
        arg
    }

    fn root(&mut self, root: &StringRoot<'t>) -> Option<Candidate> {
        let Value::Str(pieces) = self.ev.eval(self.file, &root.expr)? else { return None };
        let sql = sql_text(&pieces)?;
        if !looks_like_write(&sql.text) {
            return None;
        }
        let keys = pieces.into_iter().map(|p| p.key).collect();
        Some(Candidate {
            at: root.at,
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
            let embedded = field.embedded.and_then(|ty| index.resolve_struct(file, &ty));
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
fn literal_field<'a, 't>(
    lit: &'a StructLit<'t>,
    fields: &[FieldDef<'_>],
    field: &str,
) -> Option<&'a ElemValue<'t>> {
    let element = if lit.keyed {
        lit.elements.iter().find(|e| e.keyed && e.key == Some(field))?
    } else {
        let position = fields.iter().position(|f| f.name == field)?;
        lit.elements.get(position)?
    };
    Some(&element.value)
}
