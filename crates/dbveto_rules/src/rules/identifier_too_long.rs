use std::collections::BTreeMap;

use dbveto_schema::truncate_identifier;
use dbveto_source::Severity;

use crate::{Check, Finding, GivenName, ProjectFacts, Related, Rule};

/// PostgreSQL's `NAMEDATALEN - 1`, in bytes.
const POSTGRES_MAX: usize = 63;

pub const RULE: Rule = Rule {
    id: "identifier-too-long",
    summary: "A table, index or constraint name is longer than the framework or the database allows",
    docs: r#"## What it does
Finds names written in models and migrations that are too long:

- an index name in Django's `Meta.indexes` (or `AddIndex`) over 30
  characters, Django's `Index.max_name_length` on every backend (error);
- a constraint or index name that SQLAlchemy or an Alembic operation sends
  as written (`name=`, `Index("...")`, `op.create_index("...")`) over 63
  characters, the PostgreSQL dialect's `max_identifier_length` (error);
- two names that PostgreSQL truncates to the same 63 bytes (error);
- any other name over PostgreSQL's 63 bytes, in SQL migrations too
  (warning: PostgreSQL truncates it and the statement runs).

A name SQLAlchemy makes itself is never reported: a naming convention's,
a written name that a convention's `%(constraint_name)s` takes in, and a
`conv()` or `op.f()` name are shortened with a hash of the whole name.

## Why is this bad?
Django's system check refuses the first at start-up, for every management
command, `migrate` and `runserver` included:

```
SystemCheckError: System check identified some issues:
ERRORS:
netops.SyncJob: (models.E034) The index name 'netops_syncjob_fabric_type_start_idx' cannot be longer than 30 characters.
```

SQLAlchemy refuses the second when it compiles the DDL, in
`metadata.create_all()` or in `alembic upgrade`, which stops there:

```
sqlalchemy.exc.IdentifierError: Identifier 'shipments_carrier_tracking_number_unique_across_all_regions_and_years' exceeds maximum length of 63 characters
```

PostgreSQL silently truncates a longer name (`NOTICE: identifier ... will be
truncated`, SQLSTATE 42622): the catalog holds a name the code does not
write, which tools that compare names (Alembic's autogenerate, Django's
introspection) see as a different object, and two names with the same
first 63 bytes collide (`relation ... already exists`, 42P07; constraint
names per table, 42710). MySQL refuses names over 64 characters
(`ERROR 1059: Identifier name ... is too long`).

## Example
```python
class Meta:
    indexes = [models.Index(fields=["fabric", "operation_type", "started"], name="netops_syncjob_fabric_type_start_idx")]
```

## Use instead
```python
class Meta:
    indexes = [models.Index(fields=["fabric", "operation_type", "started"], name="syncjob_fab_type_start_idx")]
```
and a `RenameIndex` migration for databases that already have the old name.
"#,
    check: Check::Project(check),
};

fn check(facts: &ProjectFacts, out: &mut Vec<Finding>) {
    // Indexes share the schema's namespace with tables; constraints are per table.
    let mut first_of: BTreeMap<(String, String), &GivenName> = BTreeMap::new();
    for given in &facts.names {
        let chars = given.name.chars().count();
        if let Some(limit) = given.limit.as_ref().filter(|l| chars > l.max) {
            out.push(finding(
                given,
                format!("{} name `{}` is {chars} characters, over {} of {}", given.what, given.name, limit.by, limit.max),
                format!("shorten it to {} characters or fewer; {} reports: {}", limit.max, limit.reporter, limit.error),
                None,
                Severity::Error,
            ));
            continue;
        }
        if given.name.len() <= POSTGRES_MAX {
            continue;
        }
        let truncated = truncate_identifier(&given.name);
        let scope = if given.what == "constraint" { given.table.clone() } else { String::new() };
        match first_of.get(&(scope.clone(), truncated.clone())) {
            Some(first) if first.name != given.name => {
                let mut f = finding(
                    given,
                    format!("{} name `{}` collides with `{}`: PostgreSQL truncates both to `{truncated}`", given.what, given.name, first.name),
                    "make the first 63 bytes of the two names differ".to_string(),
                    Some(if given.what == "constraint" { "42710" } else { "42P07" }),
                    Severity::Error,
                );
                f.related.insert(0, Related { location: first.location.clone(), message: format!("`{}` is named here", first.name) });
                out.push(f);
            }
            seen => {
                if seen.is_none() {
                    first_of.insert((scope, truncated.clone()), given);
                }
                // The statement runs; the name in the catalog is not the one written.
                out.push(finding(
                    given,
                    format!(
                        "{} name `{}` is {} bytes: PostgreSQL truncates it to `{truncated}` (MySQL refuses names over 64 characters)",
                        given.what,
                        given.name,
                        given.name.len(),
                    ),
                    format!("shorten it to {POSTGRES_MAX} bytes or fewer"),
                    Some("42622"),
                    Severity::Warning,
                ));
            }
        }
    }
}

fn finding(given: &GivenName, message: String, help: String, sqlstate: Option<&'static str>, severity: Severity) -> Finding {
    Finding {
        rule: RULE.id,
        message,
        location: given.location.clone(),
        table: given.table.clone(),
        column: None,
        constraint: (given.what != "table").then(|| given.name.clone()),
        value: None,
        related: given.related.clone(),
        help: Some(help),
        sqlstate,
        severity,
        verification: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NameLimit;
    use dbveto_source::Location;

    fn name(name: &str, limit: Option<usize>) -> GivenName {
        GivenName {
            name: name.into(),
            what: "index",
            table: "netops_syncjob".into(),
            location: Location { path: "netops/models.py".into(), line: 30, column: 13 },
            limit: limit.map(|max| NameLimit { max, by: "Django's Index.max_name_length", reporter: "Django", error: "models.E034".into() }),
            related: Vec::new(),
        }
    }

    fn run(names: Vec<GivenName>) -> Vec<Finding> {
        let mut out = Vec::new();
        check(&ProjectFacts { names, ..Default::default() }, &mut out);
        out
    }

    #[test]
    fn django_index_name_over_30_characters_is_reported() {
        let f = run(vec![name("netops_syncjob_fabric_type_start_idx", Some(30))]);
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("is 36 characters, over Django's Index.max_name_length of 30"), "{}", f[0].message);
    }

    #[test]
    fn names_within_limits_are_fine() {
        assert!(run(vec![name("netops_syncjob_status_idx", Some(30)), name(&"x".repeat(63), None)]).is_empty());
    }

    #[test]
    fn names_over_63_bytes_are_truncated_and_may_collide() {
        let long = "a".repeat(63);
        let f = run(vec![name(&format!("{long}_one"), None), name(&format!("{long}_two"), None)]);
        // The second name's finding is the collision, an error; the first is truncated, a warning.
        assert_eq!(f.iter().map(|f| (f.severity, f.message.contains("collides"))).collect::<Vec<_>>(), [(Severity::Warning, false), (Severity::Error, true)]);
        // Multibyte names are measured in bytes.
        assert_eq!(run(vec![name(&"é".repeat(35), None)]).len(), 1);
    }
}
