//! What an `except` clause catches of the errors a flush raises.
//!
//! SQLAlchemy wraps every driver error in a subclass of
//! `sqlalchemy.exc.DBAPIError` (`IntegrityError`, `OperationalError`,
//! ...), so only `DBAPIError`, its bases (`StatementError`,
//! `SQLAlchemyError`, `Exception`, `BaseException`), a bare `except:` and
//! its subclasses catch one. A driver's own classes (`psycopg2.Error`),
//! other libraries' and the repository's exception classes never see a
//! flush error: SQLAlchemy never raises them.

use ruff_python_ast::{self as ast, Expr};

use crate::{Evaluator, ModuleId, Scope, Value};

/// How much of the database errors a handler (or a clause of types) catches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Catches {
    /// None of them: `except KeyError`, an application exception.
    Nothing,
    /// What its types are is not known statically (`except errors:`).
    Unknown,
    /// Some of them: `except IntegrityError`.
    Some,
    /// Every one: `except Exception`, `except SQLAlchemyError`, `except:`.
    All,
}

/// `sqlalchemy.exc` classes every database error is an instance of.
const CATCH_ALL: &[&str] = &["SQLAlchemyError", "StatementError", "DBAPIError"];
/// `sqlalchemy.exc` subclasses of `DBAPIError` (PEP 249's hierarchy).
const CATCH_SOME: &[&str] = &[
    "DatabaseError", "IntegrityError", "OperationalError", "DataError", "ProgrammingError",
    "InternalError", "NotSupportedError", "InterfaceError",
];
/// Bounds the classes of one clause (`except (A, B, ...)`).
const MAX_TYPES: usize = 64;

/// What one `except` clause catches of the database errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clause {
    pub catches: Catches,
    /// One of its types is one of SQLAlchemy's database errors (not only
    /// `Exception` or a bare `except:`): its author expects the work in the
    /// `try` to fail in the database, a read included.
    pub names_database_error: bool,
}

/// What `except <types>:` catches, `None` being a bare `except:`.
pub fn database_errors<'a>(eval: &mut Evaluator<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], types: Option<&'a Expr>) -> Clause {
    let Some(types) = types else { return Clause { catches: Catches::All, names_database_error: false } };
    let listed: Vec<&'a Expr> = match types {
        Expr::Tuple(t) => t.elts.iter().take(MAX_TYPES).collect(),
        one => vec![one],
    };
    let mut clause = Clause { catches: Catches::Nothing, names_database_error: false };
    for t in listed {
        let (catches, sqlalchemy) = one_type(eval, module, scopes, t);
        clause.catches = clause.catches.max(catches);
        clause.names_database_error |= sqlalchemy;
    }
    clause
}

/// What one type catches, and whether it is one of SQLAlchemy's errors.
fn one_type<'a>(eval: &mut Evaluator<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], expr: &'a Expr) -> (Catches, bool) {
    if let Expr::Name(name) = expr {
        if eval.is_builtin(module, scopes, name.id.as_str()) {
            return match name.id.as_str() {
                "Exception" | "BaseException" => (Catches::All, false),
                _ => (Catches::Nothing, false),
            };
        }
    }
    match eval.eval(module, scopes, expr) {
        Some(Value::Module(m)) => external(&m.path.dotted),
        // The repository's own exception classes: SQLAlchemy never raises them.
        Some(Value::Class { .. }) => (Catches::Nothing, false),
        Some(_) => (Catches::Nothing, false),
        None => (Catches::Unknown, false),
    }
}

/// A class outside the repository, by its dotted path: what it catches,
/// and whether it is one of SQLAlchemy's database errors.
fn external(dotted: &str) -> (Catches, bool) {
    let (package, last) = (dotted.split('.').next().unwrap_or(dotted), dotted.rsplit('.').next().unwrap_or(dotted));
    // Flask-SQLAlchemy and SQLModel re-export SQLAlchemy's names.
    if !matches!(package, "sqlalchemy" | "flask_sqlalchemy" | "sqlmodel") {
        return match dotted {
            "builtins.Exception" | "builtins.BaseException" => (Catches::All, false),
            _ => (Catches::Nothing, false),
        };
    }
    if CATCH_ALL.contains(&last) {
        (Catches::All, true)
    } else if CATCH_SOME.contains(&last) {
        (Catches::Some, true)
    } else {
        (Catches::Nothing, false)
    }
}

/// What each handler of a `try` catches, in order: a handler after one
/// that caught them all sees none.
pub fn handlers_catch<'a>(eval: &mut Evaluator<'_, 'a>, module: ModuleId, scopes: &[&Scope<'a>], handlers: &'a [ast::ExceptHandler]) -> Vec<Clause> {
    let mut seen_all = false;
    handlers
        .iter()
        .map(|h| {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            if seen_all {
                return Clause { catches: Catches::Nothing, names_database_error: false };
            }
            let clause = database_errors(eval, module, scopes, h.type_.as_deref());
            seen_all = clause.catches == Catches::All;
            clause
        })
        .collect()
}

/// Calls that never return: they raise (`abort(404)` raises an
/// `HTTPException`, click's `ctx.exit(1)` an `Exit`, `self.fail()` an
/// `AssertionError`) or end the process (`sys.exit`, `os._exit`).
fn never_returns(callee: &str) -> bool {
    let last = callee.rsplit('.').next().unwrap_or(callee);
    matches!(last, "abort" | "exit" | "_exit" | "fail" | "skip")
}
/// Bounds the statements nested inside one handler.
const MAX_NESTING: u32 = 64;

/// Whether every path through `body` ends by raising (or by a call that
/// never returns), so that nothing after it runs. A path that may fall
/// through or `return` does not.
pub fn always_raises(body: &[ast::Stmt]) -> bool {
    block_raises(body, 0)
}

fn block_raises(body: &[ast::Stmt], depth: u32) -> bool {
    if depth > MAX_NESTING {
        return false;
    }
    for stmt in body {
        if stmt_raises(stmt, depth + 1) {
            return true;
        }
        if may_leave(stmt, depth + 1) {
            return false;
        }
    }
    false
}

/// Whether a path through `stmt` leaves the block early, without raising
/// (`return`, `break`, `continue`).
fn may_leave(stmt: &ast::Stmt, depth: u32) -> bool {
    use ast::Stmt;
    if depth > MAX_NESTING {
        return true;
    }
    let any = |body: &[Stmt]| body.iter().any(|s| may_leave(s, depth + 1));
    match stmt {
        Stmt::Return(_) | Stmt::Break(_) | Stmt::Continue(_) => true,
        Stmt::If(i) => any(&i.body) || i.elif_else_clauses.iter().any(|c| any(&c.body)),
        Stmt::With(w) => any(&w.body),
        Stmt::Try(t) => any(&t.body) || any(&t.orelse) || any(&t.finalbody) || t.handlers.iter().any(|h| {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            any(&h.body)
        }),
        _ => false,
    }
}

fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr)),
        _ => None,
    }
}

fn stmt_raises(stmt: &ast::Stmt, depth: u32) -> bool {
    use ast::Stmt;
    match stmt {
        Stmt::Raise(_) => true,
        Stmt::Expr(e) => matches!(e.value.as_ref(), Expr::Call(c) if dotted(&c.func).is_some_and(|p| never_returns(&p))),
        Stmt::If(i) => {
            let has_else = i.elif_else_clauses.last().is_some_and(|c| c.test.is_none());
            has_else && block_raises(&i.body, depth) && i.elif_else_clauses.iter().all(|c| block_raises(&c.body, depth))
        }
        Stmt::With(w) => block_raises(&w.body, depth),
        Stmt::Try(t) => {
            block_raises(&t.finalbody, depth)
                || (block_raises(&t.body, depth) || block_raises(&t.orelse, depth))
                    && t.handlers.iter().all(|h| {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        block_raises(&h.body, depth)
                    })
        }
        _ => false,
    }
}
