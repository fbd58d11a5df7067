use dbveto_source::Severity;

use crate::{Check, Finding, InsertOrder, ProjectFacts, Related, Rule};

pub const RULE: Rule = Rule {
    id: "fk-insert-order",
    summary: "A child row is sent before the parent row its foreign key names",
    docs: r#"## What it does
Follows each function, and the repository's helper functions it calls,
through its SQLAlchemy session work, and finds a row whose foreign key
column is given a key that is flushed or committed *before* the row that
holds the key is added to the same session. Also finds a child and its
parent sent in the same flush in the wrong order: SQLAlchemy's unit of
work orders INSERTs of different mappers only along `relationship()`s.

A parent that the flow never adds (it may already exist) is not a finding.

## Why is this bad?
PostgreSQL checks a foreign key at each statement unless it is
`DEFERRABLE INITIALLY DEFERRED` (SQLAlchemy's are not, by default). The
child's INSERT fails with SQLSTATE 23503 and the session's transaction is
rolled back:

```
(psycopg2.errors.ForeignKeyViolation) insert or update on table "static_route_cache" violates foreign key constraint "static_route_cache_device_id_fkey"
DETAIL:  Key (device_id)=(3ec64b79-...) is not present in table "device_cache".
```

How SQLAlchemy orders one flush (`orm/unitofwork.py`,
`UOWTransaction._per_mapper_flush_actions`): each mapper's INSERTs are one
action; edges between actions come only from the dependency processors of
`relationship()`s (one on either class is enough). A `ForeignKey` without
a `relationship()` adds no edge, so the actions run sorted by
`("SaveUpdateAll", "<module>.<Class>")`: alphabetical, whatever order the
objects were `add()`ed in. Within one inheritance hierarchy tables are
ordered by their foreign keys.

## Example
```python
def discover(db: Session, device_id: str, routes: list[dict]):
    for r in routes:
        db.add(StaticRouteCache(device_id=device_id, network=r["network"]))
    db.commit()                                # INSERT INTO static_route_cache ... fails
    db.add(DeviceCache(device_id=device_id))   # the parent comes too late
    db.commit()
```

## Use instead
Add the parent first and `flush()` it, or give the child a
`relationship()` to the parent (the unit of work then inserts the parent
first), or declare the key `DEFERRABLE INITIALLY DEFERRED` and commit once:
```python
db.add(DeviceCache(device_id=device_id))
db.flush()
for r in routes:
    db.add(StaticRouteCache(device_id=device_id, network=r["network"]))
db.commit()
```
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    for order in &facts.insert_orders {
        out.push(finding(order));
    }
}

fn finding(order: &InsertOrder) -> Finding {
    let mut related = Vec::new();
    let message = match &order.flushed_at {
        Some(flushed) => {
            related.push(Related { location: flushed.clone(), message: format!("`{}` is sent to the database here", order.child_model) });
            related.push(Related { location: order.parent_at.clone(), message: format!("the `{}` row it refers to is only added here", order.parent_model) });
            format!(
                "`{}` row is flushed before its `{}` parent is added: the INSERT into `{}` fails on `{}`",
                order.child_model, order.parent_model, order.child_table, order.column
            )
        }
        None => {
            related.push(Related { location: order.parent_at.clone(), message: format!("`{}` is added to the same flush here", order.parent_model) });
            format!(
                "`{}` and its `{}` parent go in the same flush, but without a `relationship()` SQLAlchemy inserts `{}` first (mappers are ordered by name): the INSERT fails on `{}`",
                order.child_model, order.parent_model, order.child_table, order.column
            )
        }
    };
    let what = match &order.constraint {
        Some(name) => format!("foreign key `{name}` declared here"),
        None => "foreign key declared here".to_string(),
    };
    related.push(Related { location: order.foreign_key_at.clone(), message: what });
    let help = match &order.flushed_at {
        Some(_) => format!("add the `{}` row first and `flush()` it before the `{}` rows are sent", order.parent_model, order.child_model),
        None => format!("give `{}` a `relationship()` to `{}`, or `flush()` after adding the parent", order.child_model, order.parent_model),
    };
    Finding {
        rule: RULE.id,
        message,
        location: order.child_at.clone(),
        table: order.child_table.clone(),
        column: Some(order.column.clone()),
        constraint: order.constraint.clone(),
        value: None,
        related,
        help: Some(help),
        sqlstate: Some("23503"),
        severity: Severity::Error,
        verification: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbveto_source::Location;

    fn order(flushed: Option<u32>) -> InsertOrder {
        let at = |line| Location { path: "app/cache.py".into(), line, column: 5 };
        InsertOrder {
            child_table: "arp_cache".into(),
            child_model: "ArpCache".into(),
            column: "device_id".into(),
            parent_table: "device_cache".into(),
            parent_model: "DeviceCache".into(),
            child_at: at(10),
            flushed_at: flushed.map(at),
            parent_at: at(14),
            constraint: Some("arp_cache_device_id_fkey".into()),
            foreign_key_at: Location { path: "app/models.py".into(), line: 20, column: 17 },
        }
    }

    #[test]
    fn child_flushed_before_parent() {
        let mut out = Vec::new();
        check(&ProjectFacts { insert_orders: vec![order(Some(12))], ..Default::default() }, &mut out);
        assert_eq!(out.len(), 1);
        let f = &out[0];
        assert_eq!(f.message, "`ArpCache` row is flushed before its `DeviceCache` parent is added: the INSERT into `arp_cache` fails on `device_id`");
        assert_eq!((f.location.line, f.sqlstate, f.constraint.as_deref()), (10, Some("23503"), Some("arp_cache_device_id_fkey")));
        assert_eq!(f.related.iter().map(|r| r.location.line).collect::<Vec<_>>(), [12, 14, 20]);
    }

    #[test]
    fn same_flush_without_relationship() {
        let mut out = Vec::new();
        check(&ProjectFacts { insert_orders: vec![order(None)], ..Default::default() }, &mut out);
        assert!(out[0].message.contains("same flush"));
        assert!(out[0].help.as_deref().is_some_and(|h| h.contains("relationship()")));
    }

    #[test]
    fn nothing_without_facts() {
        let mut out = Vec::new();
        check(&ProjectFacts::default(), &mut out);
        assert!(out.is_empty());
    }
}
