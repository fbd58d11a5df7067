//! Execute calls and the parameters they bind: `cursor.execute(sql,
//! params)`, `executemany(sql, rows)`, `conn.exec_driver_sql(sql, params)`.

use std::collections::BTreeMap;

use dbveto_writes::{Arg, Params};
use ruff_python_ast::{self as ast, Expr};

use dbveto_python_semantic::{target_names, Binding, Binds, Const, ConstValue, Evaluator, ModuleId, Scope, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Execute,
    ExecuteMany,
    ExecDriverSql,
}

impl Method {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "execute" => Some(Method::Execute),
            "executemany" => Some(Method::ExecuteMany),
            "exec_driver_sql" => Some(Method::ExecDriverSql),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Method::Execute => "execute",
            Method::ExecuteMany => "executemany",
            Method::ExecDriverSql => "exec_driver_sql",
        }
    }
}

/// The keyword names drivers give the statement (psycopg, sqlite3,
/// SQLAlchemy, DB-API).
const SQL_KEYWORDS: &[&str] = &["query", "sql", "statement", "operation"];
const PARAMS_KEYWORDS: &[&str] =
    &["params", "parameters", "vars", "args", "vars_list", "params_seq", "seq_params", "seq_of_parameters"];
/// Keywords that bind no parameter. Any other keyword may be one
/// (SQLAlchemy 1.x: `conn.execute(stmt, name=value)`).
const OPTION_KEYWORDS: &[&str] =
    &["execution_options", "bind_arguments", "prepare", "binary", "timeout", "multi", "returning"];

/// A call `<anything>.execute(sql, ...)` and its arguments.
pub struct ExecuteCall<'a> {
    pub method: Method,
    pub sql: &'a Expr,
    params: ParamsArg<'a>,
}

#[derive(Clone, Copy)]
enum ParamsArg<'a> {
    Absent,
    One(&'a Expr),
    /// Several: asyncpg's `conn.execute("... $1, $2", a, b)`.
    Each(&'a [Expr]),
    /// `*args`, `**kwargs`.
    Unknown,
}

impl<'a> ExecuteCall<'a> {
    pub fn of(call: &'a ast::ExprCall) -> Option<Self> {
        let Expr::Attribute(function) = call.func.as_ref() else {
            return None;
        };
        let method = Method::from_name(function.attr.as_str())?;
        let arguments = &call.arguments;
        let keyword = |names: &[&str]| {
            arguments.keywords.iter().find(|k| k.arg.as_ref().is_some_and(|a| names.contains(&a.as_str())))
        };
        // `*args`, `**kwargs` and unknown keywords may bind anything.
        let opaque = arguments.args.iter().any(Expr::is_starred_expr)
            || arguments
                .keywords
                .iter()
                .any(|k| !k.arg.as_ref().is_some_and(|a| is_known_keyword(a.as_str())));
        let (sql, rest) = match arguments.args.split_first() {
            Some((sql, rest)) if !sql.is_starred_expr() => (sql, rest),
            Some(_) => return None,
            None => (&keyword(SQL_KEYWORDS)?.value, &[][..]),
        };
        let params = match rest {
            _ if opaque => ParamsArg::Unknown,
            [] => keyword(PARAMS_KEYWORDS).map_or(ParamsArg::Absent, |k| ParamsArg::One(&k.value)),
            [one] => ParamsArg::One(one),
            several => ParamsArg::Each(several),
        };
        Some(ExecuteCall { method, sql, params })
    }

    /// The parameters bound to `sql`, the statement's text, whose text
    /// clause (if any) has `binds`.
    pub fn params(
        &self,
        ev: &mut Evaluator<'_, 'a>,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        sql: &str,
        binds: &Binds,
    ) -> Params {
        let rows = match self.params {
            ParamsArg::Absent => return absent_params(binds),
            ParamsArg::Unknown => return Params::Unknown,
            ParamsArg::Each(each) if has_dollar_placeholders(sql) => return self.each(ev, m, scopes, each),
            // Extra positional arguments of another driver (`multi=` of mysql).
            ParamsArg::Each(_) => return Params::Unknown,
            ParamsArg::One(one) if self.method == Method::Execute && has_dollar_placeholders(sql) => {
                return self.each(ev, m, scopes, std::slice::from_ref(one));
            }
            ParamsArg::One(one) => one,
        };
        let many = match self.method {
            Method::ExecuteMany => true,
            // SQLAlchemy runs a list of dicts (and `exec_driver_sql` a list
            // of tuples) as executemany.
            Method::Execute | Method::ExecDriverSql => match rows {
                Expr::List(list) if !list.elts.is_empty() => list
                    .elts
                    .iter()
                    .all(|row| is_dict(row) || (self.method == Method::ExecDriverSql && row.is_tuple_expr())),
                _ => false,
            },
        };
        let params = if many {
            self.rows(ev, m, scopes, rows)
        } else {
            self.row(ev, m, scopes, rows, None).into_params()
        };
        with_binds(params, binds)
    }

    fn each(
        &self,
        ev: &mut Evaluator<'_, 'a>,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        each: &'a [Expr],
    ) -> Params {
        let args = each
            .iter()
            .enumerate()
            .map(|(i, expr)| ev.arg(m, scopes, expr, &self.position(&(i + 1).to_string(), None)))
            .collect();
        Params::Positional(args)
    }

    /// `executemany(sql, [row, ...])`: what each position or name may be
    /// across the rows.
    fn rows(&self, ev: &mut Evaluator<'_, 'a>, m: ModuleId, scopes: &[&Scope<'a>], rows: &'a Expr) -> Params {
        match rows {
            Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
                let rows: Vec<Row> = elts
                    .iter()
                    .enumerate()
                    .map(|(r, row)| self.row(ev, m, scopes, row, Some(r + 1)))
                    .collect();
                merge_rows(&rows)
            }
            // `[(x.id, "new") for x in items]`: one row stands for all, its
            // comprehension variables unknown.
            Expr::ListComp(ast::ExprListComp { elt, generators, .. })
            | Expr::Generator(ast::ExprGenerator { elt, generators, .. }) => {
                let mut names = Vec::new();
                for generator in generators {
                    target_names(&generator.target, &mut names);
                }
                let hidden = Scope::hidden(names);
                let mut inner = scopes.to_vec();
                inner.push(&hidden);
                self.row(ev, m, &inner, elt, None).into_params()
            }
            _ => Params::Unknown,
        }
    }

    fn row(
        &self,
        ev: &mut Evaluator<'_, 'a>,
        m: ModuleId,
        scopes: &[&Scope<'a>],
        row: &'a Expr,
        index: Option<usize>,
    ) -> Row {
        match row {
            Expr::Tuple(ast::ExprTuple { elts, .. }) | Expr::List(ast::ExprList { elts, .. }) => {
                if elts.iter().any(Expr::is_starred_expr) {
                    return Row::Unknown;
                }
                let args = elts
                    .iter()
                    .enumerate()
                    .map(|(i, value)| ev.arg(m, scopes, value, &self.position(&(i + 1).to_string(), index)))
                    .collect();
                Row::Positional(args)
            }
            Expr::Dict(dict) => {
                let mut named = BTreeMap::new();
                for item in &dict.items {
                    // `**other` may add or replace any key.
                    let Some(key) = &item.key else { return Row::Unknown };
                    let Some(Value::Const(Const { value: ConstValue::Str(key), .. })) =
                        ev.eval(m, scopes, key)
                    else {
                        return Row::Unknown;
                    };
                    let key = key.value();
                    let arg = ev.arg(m, scopes, &item.value, &self.position(&format!("\"{key}\""), index));
                    named.insert(key, arg);
                }
                Row::Named(named)
            }
            Expr::Call(call) if is_dict_call(call) => {
                let mut named = BTreeMap::new();
                for keyword in &call.arguments.keywords {
                    let Some(key) = &keyword.arg else { return Row::Unknown };
                    let arg = ev.arg(m, scopes, &keyword.value, &self.position(&format!("\"{key}\""), index));
                    named.insert(key.to_string(), arg);
                }
                Row::Named(named)
            }
            // `params = {...}` earlier in the function, not changed since.
            Expr::Name(name) => match bound_display(scopes, name.id.as_str()) {
                Some(value) => self.row(ev, m, scopes, value, index),
                None => Row::Unknown,
            },
            _ => Row::Unknown,
        }
    }

    /// `parameter 2 of execute()`, `parameter "id" of row 3 of executemany()`.
    fn position(&self, parameter: &str, row: Option<usize>) -> String {
        match row {
            Some(row) => format!("parameter {parameter} of row {row} of {}()", self.method.name()),
            None => format!("parameter {parameter} of {}()", self.method.name()),
        }
    }
}

/// The dict, tuple or list display a name of the innermost scope that
/// binds it is bound to, once and not changed in place.
fn bound_display<'a>(scopes: &[&Scope<'a>], name: &str) -> Option<&'a Expr> {
    let scope = scopes.iter().rev().find(|s| s.bindings.get(name).is_some())?;
    match scope.bindings.get(name)? {
        Binding::Value(value) if !scope.bindings.mutated.contains(name) => match value {
            Expr::Dict(_) | Expr::Tuple(_) | Expr::List(_) => Some(value),
            Expr::Call(call) if is_dict_call(call) => Some(value),
            _ => None,
        },
        _ => None,
    }
}

enum Row {
    Positional(Vec<Arg>),
    Named(BTreeMap<String, Arg>),
    Unknown,
}

impl Row {
    fn into_params(self) -> Params {
        match self {
            Row::Positional(args) => Params::Positional(args),
            Row::Named(named) => Params::Named(named),
            Row::Unknown => Params::Unknown,
        }
    }
}

/// The union of the rows, position by position or name by name; a value
/// missing from a row, or a row not known, makes it unknown too.
fn merge_rows(rows: &[Row]) -> Params {
    let positional = rows.iter().all(|r| !matches!(r, Row::Named(_)));
    let named = rows.iter().all(|r| !matches!(r, Row::Positional(_)));
    if rows.iter().all(|r| matches!(r, Row::Unknown)) || !(positional || named) {
        return Params::Unknown;
    }
    if positional {
        let width = rows.iter().map(|r| if let Row::Positional(args) = r { args.len() } else { 0 }).max();
        let merged = (0..width.unwrap_or(0))
            .map(|i| {
                merge_args(rows.iter().map(|row| match row {
                    Row::Positional(args) => args.get(i).cloned().unwrap_or_else(Arg::unknown),
                    _ => Arg::unknown(),
                }))
            })
            .collect();
        return Params::Positional(merged);
    }
    let mut names: Vec<&String> = rows
        .iter()
        .flat_map(|r| if let Row::Named(named) = r { named.keys().collect() } else { Vec::new() })
        .collect();
    names.sort();
    names.dedup();
    let merged = names
        .into_iter()
        .map(|name| {
            let arg = merge_args(rows.iter().map(|row| match row {
                Row::Named(named) => named.get(name).cloned().unwrap_or_else(Arg::unknown),
                _ => Arg::unknown(),
            }));
            (name.clone(), arg)
        })
        .collect();
    Params::Named(merged)
}

fn merge_args(args: impl Iterator<Item = Arg>) -> Arg {
    let mut merged = Arg::default();
    for arg in args {
        merged.merge(arg);
    }
    merged
}

/// No parameters argument: none are bound, except by `bindparams()`.
fn absent_params(binds: &Binds) -> Params {
    match binds {
        Binds::None => Params::Positional(Vec::new()),
        Binds::Named(named) => Params::Named(named.clone()),
        Binds::Unknown => Params::Unknown,
    }
}

/// The execute call's named parameters override those of `bindparams()`.
fn with_binds(params: Params, binds: &Binds) -> Params {
    match (binds, params) {
        (Binds::None, params) => params,
        (Binds::Named(bound), Params::Named(given)) => {
            let mut named = bound.clone();
            named.extend(given);
            Params::Named(named)
        }
        _ => Params::Unknown,
    }
}

fn is_known_keyword(name: &str) -> bool {
    [SQL_KEYWORDS, PARAMS_KEYWORDS, OPTION_KEYWORDS].iter().any(|names| names.contains(&name))
}

fn is_dict(expr: &Expr) -> bool {
    match expr {
        Expr::Dict(_) => true,
        Expr::Call(call) => is_dict_call(call),
        _ => false,
    }
}

/// `dict(a=1, b=2)`.
fn is_dict_call(call: &ast::ExprCall) -> bool {
    matches!(call.func.as_ref(), Expr::Name(name) if name.id.as_str() == "dict")
        && call.arguments.args.is_empty()
}

/// asyncpg's `$1`: the arguments after the statement are the values.
fn has_dollar_placeholders(sql: &str) -> bool {
    sql.as_bytes().windows(2).any(|w| w[0] == b'$' && w[1].is_ascii_digit())
}
