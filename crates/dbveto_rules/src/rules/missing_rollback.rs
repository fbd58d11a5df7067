use dbveto_source::Severity;

use crate::{Check, Finding, ProjectFacts, Related, Rule, SwallowedError};

pub const RULE: Rule = Rule {
    id: "missing-rollback",
    summary: "An except handler swallows a session error without rollback(), and the session is used again",
    docs: r#"## What it does
Finds an `except` handler around SQLAlchemy session work (in the function
or in the helpers it calls) that neither raises nor calls `rollback()` or
`close()` on the session, when the same session is used again afterwards:
by later statements, in the handler itself, by the next turn of a loop, or
by the caller.

Only what can go wrong is counted:
- the handler must be able to catch a database error: `except Exception`,
  a bare `except:`, `SQLAlchemyError`, `DBAPIError` or one of its
  subclasses (`IntegrityError`, `OperationalError`, ...). A driver's,
  another library's or the application's own exception class never
  catches one: SQLAlchemy wraps every driver error in a `DBAPIError`. A
  handler after `except DBAPIError: raise` sees none;
- the work must send something that can fail as a write: a flush, a
  commit, a statement, or a read (`query()`, `get()`,
  `execute(select(...))`) that autoflushes objects added and not yet sent
  (`add()` and `delete()` send nothing; a read with nothing pending fails
  only as a read);
- work inside `with session.begin_nested():`, `with session.begin():` or
  `with Session() as s:` was rolled back by the block when the error left
  it; `savepoint.rollback()` recovers too;
- the session is one object: a fresh session per call (`with
  create_session() as s`, a decorator that opens one) is not the caller's;
  a module-level one (`db.session`, `Session = scoped_session(...)`) is the
  same in every function;
- a handler that raises (or calls `abort()`, `sys.exit()`) on every path
  swallows nothing; one that raises on some paths swallows on the others.

## Why is this bad?
When a flush fails, SQLAlchemy rolls the session's transaction back and
every further use of the session raises until `rollback()` is called. One
failed write turns into a cascade: every later cache write, query and the
final `commit()` fail too, far from the real cause:

```
sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled back due to a previous exception during flush. To begin a new transaction with this Session, first issue Session.rollback(). Original exception was: (psycopg2.errors.ForeignKeyViolation) ...
```

This is not one SQL error (there is no SQLSTATE): it is the state the
session is left in after one.

## Example
```python
for kind, rows in results.items():
    try:
        cache_rows(db, kind, rows)      # add_all() + commit()
    except Exception as e:
        logger.error("caching %s failed: %s", kind, e)
db.commit()                             # PendingRollbackError
```

## Use instead
```python
    except Exception as e:
        db.rollback()
        logger.error("caching %s failed: %s", kind, e)
```
or use one `with Session() as db, db.begin():` per unit of work.
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    for swallowed in &facts.swallowed_errors {
        out.push(finding(swallowed));
    }
}

fn finding(s: &SwallowedError) -> Finding {
    Finding {
        rule: RULE.id,
        message: format!(
            "this handler swallows a database error without `{}.rollback()`, and `{}` is used again afterwards: every later use fails (PendingRollbackError after a failed flush; on PostgreSQL, \"current transaction is aborted\" after a failed statement)",
            s.session, s.session
        ),
        location: s.handler.clone(),
        table: String::new(),
        column: None,
        constraint: None,
        value: None,
        related: vec![
            Related { location: s.work.clone(), message: "the session work that may fail".into() },
            Related { location: s.reused.clone(), message: format!("`{}` is used again here", s.session) },
        ],
        help: Some(format!("call `{}.rollback()` in the handler (or re-raise)", s.session)),
        sqlstate: None,
        severity: Severity::Error,
        verification: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbveto_source::Location;

    #[test]
    fn swallowed_error_is_reported_at_the_handler() {
        let at = |line| Location { path: "app/sync.py".into(), line, column: 9 };
        let facts = ProjectFacts {
            swallowed_errors: vec![SwallowedError { session: "db".into(), handler: at(12), work: at(11), reused: at(15) }],
            ..Default::default()
        };
        let mut out = Vec::new();
        check(&facts, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].location.line, out[0].sqlstate, out[0].severity), (12, None, Severity::Error));
        assert!(out[0].message.contains("`db.rollback()`"));
        assert_eq!(out[0].related[1].location.line, 15);
    }
}
