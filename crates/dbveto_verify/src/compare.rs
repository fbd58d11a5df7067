//! The schema self-check: dbveto's replayed schema against the catalog of
//! a database that ran the same migrations. Tables, column order, types,
//! NOT NULL, whether a default (or generation) exists, identity,
//! constraint names and kinds, CHECK value sets, enum labels. Indexes are
//! not compared (their generated names are checked through constraints).

use dbveto_schema::{Column, Constraint, ConstraintKind, Identity, Schema, Table};
use dbveto_source::Location;

/// One way dbveto's schema and the database's disagree; `location` is
/// where dbveto's side of it was made, when dbveto has that side.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub location: Option<Location>,
    pub message: String,
}

/// What to compare.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// Report tables the database has and dbveto does not. Off for a live
    /// database, which also holds the tables of tools and other apps.
    pub extra_tables: bool,
}

pub fn compare(ours: &Schema, theirs: &Schema, scope: Scope) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut diff = |location: Option<&Location>, message: String| out.push(Difference { location: location.cloned(), message });
    for (name, t) in &theirs.tables {
        if scope.extra_tables && !ours.tables.contains_key(name) {
            let columns: Vec<String> = t.columns.iter().map(describe_column).collect();
            diff(None, format!("table `{name}` is in PostgreSQL but not in dbveto's schema; PostgreSQL has columns [{}]", columns.join(", ")));
        }
    }
    for (name, o) in &ours.tables {
        match theirs.tables.get(name) {
            None => diff(Some(&o.provenance.current.location), format!("table `{name}` is in dbveto's schema but not in PostgreSQL")),
            Some(t) => compare_table(o, t, &mut diff),
        }
    }
    for (name, o) in &ours.enums {
        match theirs.enums.get(name) {
            Some(t) if t.labels == o.labels => {}
            Some(t) => diff(Some(&o.provenance.current.location), format!("enum `{name}`: dbveto has labels {:?}, PostgreSQL {:?}", o.labels, t.labels)),
            None => diff(Some(&o.provenance.current.location), format!("enum `{name}` is in dbveto's schema but not in PostgreSQL")),
        }
    }
    if scope.extra_tables {
        for name in theirs.enums.keys().filter(|n| !ours.enums.contains_key(*n)) {
            diff(None, format!("enum `{name}` is in PostgreSQL but not in dbveto's schema"));
        }
    }
    out
}

fn compare_table(ours: &Table, theirs: &Table, diff: &mut impl FnMut(Option<&Location>, String)) {
    let name = &ours.name;
    let at = Some(&ours.provenance.current.location);
    for t in &theirs.columns {
        if ours.column(&t.name).is_none() {
            diff(at, format!("`{name}.{}`: column is in PostgreSQL ({}) but not in dbveto's schema", t.name, describe_column(t)));
        }
    }
    for o in &ours.columns {
        let Some(t) = theirs.column(&o.name) else {
            diff(Some(&o.provenance.current.location), format!("`{name}.{}`: column is in dbveto's schema but not in PostgreSQL", o.name));
            continue;
        };
        let at = Some(&o.provenance.current.location);
        let col = format!("`{name}.{}`", o.name);
        if o.data_type.display() != t.data_type.display() {
            diff(at, format!("{col}: type is {} in dbveto's schema, {} in PostgreSQL", o.data_type.display(), t.data_type.display()));
        }
        if o.not_null != t.not_null {
            diff(at, format!("{col}: {} in dbveto's schema, {} in PostgreSQL", null_word(o.not_null), null_word(t.not_null)));
        }
        let (od, td) = (o.default.is_some() || o.generated.is_some(), t.default.is_some() || t.generated.is_some());
        if od != td {
            diff(at, format!("{col}: {} in dbveto's schema, {} in PostgreSQL", default_word(o), default_word(t)));
        }
        if o.identity != t.identity {
            diff(at, format!("{col}: identity {} in dbveto's schema, {} in PostgreSQL", identity_word(o.identity), identity_word(t.identity)));
        }
    }
    let order = |a: &Table, b: &Table| -> Vec<String> { a.columns.iter().filter(|c| b.column(&c.name).is_some()).map(|c| c.name.clone()).collect() };
    if order(ours, theirs) != order(theirs, ours) {
        diff(at, format!("`{name}`: column order is {:?} in dbveto's schema, {:?} in PostgreSQL", order(ours, theirs), order(theirs, ours)));
    }
    for t in &theirs.constraints {
        if ours.constraint(&t.name).is_none() {
            diff(at, format!("`{name}`: constraint `{}` ({}) is in PostgreSQL but not in dbveto's schema", t.name, t.kind.label()));
        }
    }
    for o in &ours.constraints {
        let at = Some(&o.provenance.current.location);
        let Some(t) = theirs.constraint(&o.name) else {
            diff(at, format!("`{name}`: constraint `{}` ({}) is in dbveto's schema but not in PostgreSQL", o.name, o.kind.label()));
            continue;
        };
        if o.kind.label() != t.kind.label() {
            diff(at, format!("`{name}.{}`: a {} constraint in dbveto's schema, a {} in PostgreSQL", o.name, o.kind.label(), t.kind.label()));
            continue;
        }
        match (check_values(o, &o.columns), check_values(t, &o.columns)) {
            (Some(ov), Some(tv)) if ov != tv => {
                diff(at, format!("`{name}.{}`: CHECK allows {} in dbveto's schema, {} in PostgreSQL", o.name, ov.join(", "), tv.join(", ")))
            }
            (Some(ov), None) => diff(at, format!("`{name}.{}`: CHECK allows {} in dbveto's schema; PostgreSQL's has no value set", o.name, ov.join(", "))),
            (None, Some(tv)) => diff(at, format!("`{name}.{}`: CHECK allows {} in PostgreSQL; dbveto's has no value set", o.name, tv.join(", "))),
            _ => {}
        }
    }
}

/// The sorted values a one-column CHECK allows, as SQL.
fn check_values(k: &Constraint, columns: &[String]) -> Option<Vec<String>> {
    let ConstraintKind::Check { predicate, .. } = &k.kind else { return None };
    let [column] = columns else { return None };
    let mut v: Vec<String> = predicate.allowed_values(column)?.iter().map(|l| l.to_sql()).collect();
    v.sort();
    Some(v)
}

fn null_word(not_null: bool) -> &'static str {
    if not_null { "NOT NULL" } else { "nullable" }
}

fn default_word(c: &Column) -> &'static str {
    if c.generated.is_some() {
        "generated"
    } else if c.default.is_some() {
        "with a default"
    } else {
        "without a default"
    }
}

fn identity_word(i: Option<Identity>) -> &'static str {
    match i {
        Some(Identity::Always) => "ALWAYS",
        Some(Identity::ByDefault) => "BY DEFAULT",
        None => "none",
    }
}

/// A column as one line: name, type, then NOT NULL, default, identity.
fn describe_column(c: &Column) -> String {
    let mut s = format!("{} {}", c.name, c.data_type.display());
    if c.not_null {
        s.push_str(" not null");
    }
    if c.generated.is_some() {
        s.push_str(" generated");
    } else if c.default.is_some() {
        s.push_str(" default");
    }
    if let Some(i) = c.identity {
        s.push_str(&format!(" identity {}", identity_word(Some(i))));
    }
    s
}
