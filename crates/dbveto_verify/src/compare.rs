//! The schema self-check: dbveto's replayed schema against the catalog of
//! a database that ran the same migrations. Tables, column order, types,
//! NOT NULL, whether a default (or generation) exists, identity,
//! constraint names and kinds, CHECK value sets, enum labels, and the
//! indexes that no constraint makes: name, table, uniqueness.

use dbveto_schema::{Column, Constraint, ConstraintKind, Identity, Schema, Table};
use dbveto_source::Location;

/// One way dbveto's schema and the database's disagree; `location` is
/// where dbveto's side of it was made, when dbveto has that side.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub location: Option<Location>,
    pub message: String,
}

/// What to compare, and what the two sides are called.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// Report tables the database has and dbveto does not. Off for a live
    /// database, which also holds the tables of tools and other apps.
    pub extra_tables: bool,
    pub ours: &'static str,
    pub theirs: &'static str,
}

impl Scope {
    /// dbveto's replayed schema and the database it was built in.
    pub const BUILT: Scope = Scope { extra_tables: true, ours: "dbveto's schema", theirs: "PostgreSQL" };
    /// dbveto's replayed schema and a live database.
    pub const LIVE: Scope = Scope { extra_tables: false, ours: "dbveto's schema", theirs: "PostgreSQL" };
    /// A live database's catalog and the copy dbveto built of it.
    pub const COPY: Scope = Scope { extra_tables: true, ours: "the live database", theirs: "its copy" };
}

pub fn compare(ours: &Schema, theirs: &Schema, scope: Scope) -> Vec<Difference> {
    let (ours_name, theirs_name) = (scope.ours, scope.theirs);
    let mut out = Vec::new();
    let mut diff = |location: Option<&Location>, message: String| out.push(Difference { location: location.cloned(), message });
    for (name, t) in &theirs.tables {
        if scope.extra_tables && !ours.tables.contains_key(name) {
            let columns: Vec<String> = t.columns.iter().map(describe_column).collect();
            diff(None, format!("table `{name}` is in {theirs_name} but not in {ours_name}; {theirs_name} has columns [{}]", columns.join(", ")));
        }
    }
    for (name, o) in &ours.tables {
        match theirs.tables.get(name) {
            None => diff(Some(&o.provenance.current.location), format!("table `{name}` is in {ours_name} but not in {theirs_name}")),
            Some(t) => compare_table(o, t, scope, &mut diff),
        }
    }
    for (name, o) in &ours.enums {
        match theirs.enums.get(name) {
            Some(t) if t.labels == o.labels => {}
            Some(t) => diff(Some(&o.provenance.current.location), format!("enum `{name}`: {ours_name} has labels {:?}, {theirs_name} {:?}", o.labels, t.labels)),
            None => diff(Some(&o.provenance.current.location), format!("enum `{name}` is in {ours_name} but not in {theirs_name}")),
        }
    }
    if scope.extra_tables {
        for name in theirs.enums.keys().filter(|n| !ours.enums.contains_key(*n)) {
            diff(None, format!("enum `{name}` is in {theirs_name} but not in {ours_name}"));
        }
    }
    // Indexes of tables both sides have; a constraint's index goes with it.
    let compared = |i: &&dbveto_schema::Index| !i.constraint && ours.tables.contains_key(&i.table) && theirs.tables.contains_key(&i.table);
    for o in ours.indexes.values().filter(compared) {
        let at = Some(&o.provenance.current.location);
        let unique = |u: bool| if u { "unique" } else { "not unique" };
        match theirs.indexes.get(&o.name) {
            None => diff(at, format!("index `{}` on `{}` is in {ours_name} but not in {theirs_name}", o.name, o.table)),
            Some(t) if t.table != o.table => diff(at, format!("index `{}` is on `{}` in {ours_name}, on `{}` in {theirs_name}", o.name, o.table, t.table)),
            Some(t) if t.unique != o.unique => {
                diff(at, format!("index `{}`: {} in {ours_name}, {} in {theirs_name}", o.name, unique(o.unique), unique(t.unique)))
            }
            Some(_) => {}
        }
    }
    if scope.extra_tables {
        for t in theirs.indexes.values().filter(compared).filter(|t| !ours.indexes.contains_key(&t.name)) {
            diff(None, format!("index `{}` on `{}` is in {theirs_name} but not in {ours_name}", t.name, t.table));
        }
    }
    out
}

fn compare_table(ours: &Table, theirs: &Table, scope: Scope, diff: &mut impl FnMut(Option<&Location>, String)) {
    let (ours_name, theirs_name) = (scope.ours, scope.theirs);
    let name = &ours.name;
    let at = Some(&ours.provenance.current.location);
    for t in &theirs.columns {
        if ours.column(&t.name).is_none() {
            diff(at, format!("`{name}.{}`: column is in {theirs_name} ({}) but not in {ours_name}", t.name, describe_column(t)));
        }
    }
    for o in &ours.columns {
        let Some(t) = theirs.column(&o.name) else {
            diff(Some(&o.provenance.current.location), format!("`{name}.{}`: column is in {ours_name} but not in {theirs_name}", o.name));
            continue;
        };
        let at = Some(&o.provenance.current.location);
        let col = format!("`{name}.{}`", o.name);
        if o.data_type.display() != t.data_type.display() {
            diff(at, format!("{col}: type is {} in {ours_name}, {} in {theirs_name}", o.data_type.display(), t.data_type.display()));
        }
        if o.not_null != t.not_null {
            diff(at, format!("{col}: {} in {ours_name}, {} in {theirs_name}", null_word(o.not_null), null_word(t.not_null)));
        }
        let (od, td) = (o.default.is_some() || o.generated.is_some(), t.default.is_some() || t.generated.is_some());
        if od != td {
            diff(at, format!("{col}: {} in {ours_name}, {} in {theirs_name}", default_word(o), default_word(t)));
        }
        if o.identity != t.identity {
            diff(at, format!("{col}: identity {} in {ours_name}, {} in {theirs_name}", identity_word(o.identity), identity_word(t.identity)));
        }
    }
    let order = |a: &Table, b: &Table| -> Vec<String> { a.columns.iter().filter(|c| b.column(&c.name).is_some()).map(|c| c.name.clone()).collect() };
    if order(ours, theirs) != order(theirs, ours) {
        diff(at, format!("`{name}`: column order is {:?} in {ours_name}, {:?} in {theirs_name}", order(ours, theirs), order(theirs, ours)));
    }
    for t in &theirs.constraints {
        if ours.constraint(&t.name).is_none() {
            diff(at, format!("`{name}`: constraint `{}` ({}) is in {theirs_name} but not in {ours_name}", t.name, t.kind.label()));
        }
    }
    for o in &ours.constraints {
        let at = Some(&o.provenance.current.location);
        let Some(t) = theirs.constraint(&o.name) else {
            diff(at, format!("`{name}`: constraint `{}` ({}) is in {ours_name} but not in {theirs_name}", o.name, o.kind.label()));
            continue;
        };
        if o.kind.label() != t.kind.label() {
            diff(at, format!("`{name}.{}`: a {} constraint in {ours_name}, a {} in {theirs_name}", o.name, o.kind.label(), t.kind.label()));
            continue;
        }
        match (check_values(o, &o.columns), check_values(t, &o.columns)) {
            (Some(ov), Some(tv)) if ov != tv => {
                diff(at, format!("`{name}.{}`: CHECK allows {} in {ours_name}, {} in {theirs_name}", o.name, ov.join(", "), tv.join(", ")))
            }
            (Some(ov), None) => diff(at, format!("`{name}.{}`: CHECK allows {} in {ours_name}; {theirs_name}'s has no value set", o.name, ov.join(", "))),
            (None, Some(tv)) => diff(at, format!("`{name}.{}`: CHECK allows {} in {theirs_name}; {ours_name}'s has no value set", o.name, tv.join(", "))),
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
