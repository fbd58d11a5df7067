//! The DDL `metadata.create_all()` runs on PostgreSQL for the mapped
//! tables (`DDLCompiler`, `PGDDLCompiler`), replayed by the SQL replay with
//! each piece's Python line as its provenance: a column at its `Column(...)`,
//! a constraint at its `__table_args__` item.
//!
//! Each table is created empty and its columns and constraints added one
//! by one; PostgreSQL gives every unnamed constraint the same name either
//! way (`<table>_<column>_fkey`, `_key`, `_check`, `<table>_pkey`).

use dbveto_schema::{Constraint, ConstraintKind, History, LongName, Predicate, Provenance, QualifiedName, Schema};
use dbveto_source::{Diagnostic, Location};

use crate::models::{ClientDefault, MappedColumn, MappedTable, Models, TableItem};
use crate::names::{quote, sql_string};
use crate::naming::{shorten, Conventions, Subject, POSTGRES_MAX_NAME};
use crate::types::ColumnType;

/// One piece of generated DDL and the code it stands for.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Sql(String),
    /// A CHECK written as a SQLAlchemy expression: it exists, and nothing
    /// is known of what it allows.
    OpaqueCheck { table: QualifiedName, name: String },
}

#[derive(Default)]
pub struct Generated {
    pub steps: Vec<(Step, Location, String)>,
    /// Constraint and index names sent as the code wrote them (no
    /// convention, no `conv()`) and over PostgreSQL's 63 bytes. SQLAlchemy's
    /// PostgreSQL dialect refuses those over 63 characters at DDL compile
    /// time (`IdentifierError`); PostgreSQL truncates the others.
    pub long_names: Vec<LongName>,
}

/// How the code names a constraint or index.
#[derive(Debug, Clone, Copy)]
pub enum Given<'n> {
    Unnamed,
    Written(&'n str),
    /// `conv("name")`, `op.f("name")`: final, no convention applies.
    Final(&'n str),
}

/// The name SQLAlchemy sends for a constraint or index of kind `key`: a
/// final name as written, but shortened like a convention's when too long
/// (`_truncate_and_render_maxlen_name`), else [`constraint_name`].
pub fn sent_name(conventions: &Conventions, key: &str, given: Given<'_>, subject: Subject<'_>) -> Option<String> {
    match given {
        Given::Final(name) => Some(shorten(name, POSTGRES_MAX_NAME)),
        Given::Unnamed => constraint_name(conventions, key, None, subject),
        Given::Written(written) => constraint_name(conventions, key, Some(written), subject),
    }
}

/// A written name that is `sent` as written and is over 63 bytes, created
/// at `at`; never when the conventions are unknown (one may template it).
pub fn long_name(conventions: &Conventions, key: &str, given: Given<'_>, sent: Option<&str>, table: &str, at: &Location) -> Option<LongName> {
    let Given::Written(written) = given else { return None };
    (conventions.known && sent == Some(written) && dbveto_schema::is_truncated(written)).then(|| LongName {
        name: written.to_string(),
        what: if key == "ix" { "index" } else { "constraint" },
        table: table.to_string(),
        location: at.clone(),
    })
}

impl Generated {
    pub fn sql(&mut self, sql: String, at: &Location, action: &str) {
        self.steps.push((Step::Sql(sql), at.clone(), action.to_string()));
    }

    /// Applies every step to `schema`.
    pub fn replay(self, schema: &mut Schema, diagnostics: &mut Vec<Diagnostic>) {
        for (step, at, action) in self.steps {
            apply(schema, step, &at, &action, diagnostics);
        }
    }
}

pub fn apply(schema: &mut Schema, step: Step, at: &Location, action: &str, diagnostics: &mut Vec<Diagnostic>) {
    match step {
        Step::Sql(sql) => dbveto_sql::replay_generated(schema, &sql, at, action, diagnostics),
        Step::OpaqueCheck { table, name } => {
            if let Some(t) = schema.tables.get_mut(&table) {
                t.constraints.push(Constraint {
                    name,
                    kind: ConstraintKind::Check { expression: "(a condition dbveto does not compile)".into(), predicate: Predicate::Opaque },
                    columns: Vec::new(),
                    validated: true,
                    provenance: History::new(Provenance { location: at.clone(), action: action.to_string() }),
                });
            }
        }
    }
}

pub fn qualified(schema: Option<&str>, name: &str) -> String {
    match schema {
        Some(s) => format!("{}.{}", quote(s), quote(name)),
        None => quote(name),
    }
}

fn list(columns: &[String]) -> String {
    columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
}

/// `CONSTRAINT "name" ` when the constraint gets a name from the code.
fn named(name: &Option<String>) -> String {
    name.as_ref().map(|n| format!("CONSTRAINT {} ", quote(n))).unwrap_or_default()
}

/// The name SQLAlchemy gives a constraint: the convention's when it has a
/// template for `key` and the constraint is unnamed or the template uses
/// `%(constraint_name)s`, else the name written.
pub fn constraint_name(conventions: &Conventions, key: &str, given: Option<&str>, subject: Subject<'_>) -> Option<String> {
    let template_uses_name = conventions.templates.iter().any(|(k, t)| k == key && t.contains("%(constraint_name)s"));
    let subject = Subject { constraint_name: given.or(subject.constraint_name), ..subject };
    match given {
        Some(name) if !template_uses_name => Some(name.to_string()),
        _ => conventions.name(key, &subject).or_else(|| given.map(str::to_string)),
    }
}

/// [`sent_name`] for a constraint or index of `table`, written at `at`.
fn name_in(table: &MappedTable, key: &str, given: Option<&str>, subject: Subject<'_>, at: &Location, out: &mut Generated) -> Option<String> {
    let given = match given {
        None => Given::Unnamed,
        Some(name) if table.final_names.iter().any(|n| n == name) => Given::Final(name),
        Some(name) => Given::Written(name),
    };
    let sent = sent_name(&table.conventions, key, given, subject);
    out.long_names.extend(long_name(&table.conventions, key, given, sent.as_deref(), &table.name, at));
    sent
}

/// Whether SQLAlchemy makes this column `SERIAL`: the table's only
/// primary key column, an integer, without a default or foreign key
/// (`Table._autoincrement_column`).
pub fn is_serial(table: &MappedTable, column: &MappedColumn) -> bool {
    let keys: Vec<&MappedColumn> = table.columns.iter().filter(|c| c.primary_key || in_primary_key_item(table, &c.name)).collect();
    if keys.len() != 1 || keys[0].name != column.name {
        return false;
    }
    let integer = column.ty.as_ref().is_some_and(ColumnType::is_integer);
    match column.autoincrement {
        Some(false) => false,
        Some(true) => integer,
        None => integer && column.foreign_keys.is_empty() && column.server_default.is_none() && column.default == ClientDefault::None,
    }
}

fn in_primary_key_item(table: &MappedTable, column: &str) -> bool {
    table.items.iter().any(|(i, _)| matches!(i, TableItem::PrimaryKey { columns, .. } if columns.iter().any(|c| c == column)))
}

/// The DDL of `create_all()` for every table of `models`, in the order
/// `MetaData.sorted_tables` would give (by name; foreign keys last).
pub fn create_all(models: &Models) -> Generated {
    let mut out = Generated::default();
    let mut tables: Vec<&MappedTable> = models.tables.iter().collect();
    tables.sort_by(|a, b| (&a.schema, &a.name).cmp(&(&b.schema, &b.name)));
    tables.dedup_by(|a, b| a.schema == b.schema && a.name == b.name);
    let mut enums: Vec<String> = Vec::new();
    for table in &tables {
        create_table(table, &mut enums, &mut out);
    }
    for table in &tables {
        foreign_keys(table, true, &mut out);
    }
    out
}

/// `CREATE TYPE` for each native enum not created yet.
fn create_enums(table: &MappedTable, created: &mut Vec<String>, out: &mut Generated) {
    for column in &table.columns {
        let Some(ColumnType::Enum(e)) = &column.ty else { continue };
        let (true, Some(name), Some(labels)) = (e.native, &e.name, &e.labels) else { continue };
        if created.contains(name) {
            continue;
        }
        created.push(name.clone());
        let labels: Vec<String> = labels.iter().map(|l| sql_string(l)).collect();
        out.sql(format!("CREATE TYPE {} AS ENUM ({})", quote(name), labels.join(", ")), &column.location, &format!("`Enum` type `{name}`"));
    }
}

pub fn column_definition(table: &MappedTable, column: &MappedColumn) -> String {
    let ty = column.ty.as_ref().and_then(ColumnType::ddl).unwrap_or_else(|| quote("NullType"));
    let ty = if is_serial(table, column) {
        match ty.as_str() {
            "BIGINT" => "BIGSERIAL".to_string(),
            "SMALLINT" => "SMALLSERIAL".to_string(),
            _ => "SERIAL".to_string(),
        }
    } else {
        ty
    };
    let mut sql = format!("{} {ty}", quote(&column.name));
    if let Some(default) = &column.server_default {
        sql.push_str(&format!(" DEFAULT {default}"));
    }
    if !column.nullable {
        sql.push_str(" NOT NULL");
    }
    sql
}

pub fn create_table(table: &MappedTable, enums: &mut Vec<String>, out: &mut Generated) {
    let name = qualified(table.schema.as_deref(), &table.name);
    let what = match &table.class_name {
        Some(class) => format!("model `{class}`"),
        None => format!("`Table(\"{}\")`", table.name),
    };
    create_enums(table, enums, out);
    out.sql(format!("CREATE TABLE {name} ()"), &table.location, &format!("{what} (`create_all`)"));
    for column in &table.columns {
        out.sql(format!("ALTER TABLE {name} ADD COLUMN {}", column_definition(table, column)), &column.location, &format!("column `{}` of {what}", column.name));
    }
    // The primary key.
    let keys: Vec<String> = table.columns.iter().filter(|c| c.primary_key).map(|c| c.name.clone()).collect();
    let pk_item = table.items.iter().find_map(|(i, at)| match i {
        TableItem::PrimaryKey { name, columns } => Some((name.clone(), columns.clone(), at.clone())),
        _ => None,
    });
    let primary_key = match pk_item {
        Some(found) => Some(found),
        None if !keys.is_empty() => {
            let at = table.columns.iter().find(|c| c.primary_key).map(|c| c.location.clone()).unwrap_or_else(|| table.location.clone());
            Some((None, keys, at))
        }
        None => None,
    };
    if let Some((given, columns, at)) = primary_key {
        let cname = name_in(table, "pk", given.as_deref(), subject(table, &columns), &at, out);
        out.sql(format!("ALTER TABLE {name} ADD {}PRIMARY KEY ({})", named(&cname), list(&columns)), &at, &format!("primary key of {what}"));
    }
    constraints_and_indexes(table, out);
}

/// The UNIQUE and CHECK constraints and the indexes of a table's columns
/// and items (all but its primary key and foreign keys).
pub fn constraints_and_indexes(table: &MappedTable, out: &mut Generated) {
    let name = qualified(table.schema.as_deref(), &table.name);
    for column in &table.columns {
        let columns = vec![column.name.clone()];
        if column.unique && !column.index {
            let cname = name_in(table, "uq", None, subject(table, &columns), &column.location, out);
            out.sql(format!("ALTER TABLE {name} ADD {}UNIQUE ({})", named(&cname), list(&columns)), &column.location, &format!("`unique=True` on `{}`", column.name));
        }
        for (given, sql) in &column.checks {
            check(table, &name, given.as_deref(), sql.as_deref(), &columns, &column.location, out);
        }
        if let Some(ColumnType::Enum(e)) = &column.ty {
            if !e.native && e.create_constraint {
                if let Some(labels) = &e.labels {
                    let values: Vec<String> = labels.iter().map(|l| sql_string(l)).collect();
                    let sql = format!("{} IN ({})", quote(&column.name), values.join(", "));
                    check(table, &name, e.name.as_deref(), Some(&sql), &columns, &column.location, out);
                }
            }
        }
    }
    for (item, at) in &table.items {
        match item {
            TableItem::Unique { name: given, columns } => {
                let cname = name_in(table, "uq", given.as_deref(), subject(table, columns), at, out);
                out.sql(format!("ALTER TABLE {name} ADD {}UNIQUE ({})", named(&cname), list(columns)), at, "`UniqueConstraint`");
            }
            TableItem::Check { name: given, sql } => check(table, &name, given.as_deref(), sql.as_deref(), &[], at, out),
            _ => {}
        }
    }
    for column in table.columns.iter().filter(|c| c.index) {
        let columns = vec![column.name.clone()];
        let Some(index) = name_in(table, "ix", None, subject(table, &columns), &column.location, out) else { continue };
        let unique = if column.unique { "UNIQUE " } else { "" };
        out.sql(format!("CREATE {unique}INDEX {} ON {name} ({})", quote(&index), list(&columns)), &column.location, &format!("`index=True` on `{}`", column.name));
    }
    for (item, at) in &table.items {
        if let TableItem::Index { name: given, columns, unique } = item {
            let Some(index) = name_in(table, "ix", given.as_deref(), subject(table, columns), at, out) else { continue };
            let unique = if *unique { "UNIQUE " } else { "" };
            out.sql(format!("CREATE {unique}INDEX {} ON {name} ({})", quote(&index), list(columns)), at, "`Index`");
        }
    }
}

fn subject<'s>(table: &'s MappedTable, columns: &'s [String]) -> Subject<'s> {
    Subject { table: &table.name, columns, referred_table: None, referred_columns: &[], constraint_name: None }
}

fn check(table: &MappedTable, qualified_name: &str, given: Option<&str>, sql: Option<&str>, columns: &[String], at: &Location, out: &mut Generated) {
    let subject = Subject { table: &table.name, columns, referred_table: None, referred_columns: &[], constraint_name: given };
    let cname = name_in(table, "ck", given, subject, at, out);
    match sql {
        Some(sql) => out.sql(format!("ALTER TABLE {qualified_name} ADD {}CHECK ({sql})", named(&cname)), at, "`CheckConstraint`"),
        None => {
            if let Some(cname) = cname {
                let table = QualifiedName::new(table.schema.clone().unwrap_or_else(|| "public".into()), table.name.clone());
                out.steps.push((Step::OpaqueCheck { table, name: cname }, at.clone(), "`CheckConstraint`".into()));
            }
        }
    }
}

/// The foreign keys of a table; those with `use_alter=True` only with
/// `with_use_alter` (`create_all()` adds them, Alembic's `create_table` not).
pub fn foreign_keys(table: &MappedTable, with_use_alter: bool, out: &mut Generated) {
    let name = qualified(table.schema.as_deref(), &table.name);
    // (name, columns, targets, on delete, on update, where)
    type Key = (Option<String>, Vec<String>, Vec<String>, Option<String>, Option<String>, Location);
    let mut keys: Vec<Key> = Vec::new();
    for column in &table.columns {
        for fk in column.foreign_keys.iter().filter(|fk| with_use_alter || !fk.use_alter) {
            keys.push((fk.name.clone(), vec![column.name.clone()], vec![fk.target.clone()], fk.ondelete.clone(), fk.onupdate.clone(), fk.location.clone()));
        }
    }
    for (item, at) in &table.items {
        if let TableItem::ForeignKey { name, columns, targets, ondelete, onupdate, use_alter } = item {
            if *use_alter && !with_use_alter {
                continue;
            }
            keys.push((name.clone(), columns.clone(), targets.clone(), ondelete.clone(), onupdate.clone(), at.clone()));
        }
    }
    for (given, columns, targets, ondelete, onupdate, at) in keys {
        let mut referred_table: Option<(Option<String>, String)> = None;
        let mut referred_columns = Vec::new();
        for target in &targets {
            let parts: Vec<&str> = target.split('.').collect();
            let (schema, t, c) = match parts[..] {
                [s, t, c] => (Some(s.to_string()), t, c),
                [t, c] => (None, t, c),
                _ => return,
            };
            referred_table = Some((schema, t.to_string()));
            referred_columns.push(c.to_string());
        }
        let Some((ref_schema, ref_table)) = referred_table else { continue };
        let subject = Subject { table: &table.name, columns: &columns, referred_table: Some(&ref_table), referred_columns: &referred_columns, constraint_name: given.as_deref() };
        let cname = name_in(table, "fk", given.as_deref(), subject, &at, out);
        let mut sql = format!(
            "ALTER TABLE {name} ADD {}FOREIGN KEY ({}) REFERENCES {} ({})",
            named(&cname),
            list(&columns),
            qualified(ref_schema.as_deref(), &ref_table),
            list(&referred_columns)
        );
        if let Some(d) = ondelete {
            sql.push_str(&format!(" ON DELETE {d}"));
        }
        if let Some(u) = onupdate {
            sql.push_str(&format!(" ON UPDATE {u}"));
        }
        out.sql(sql, &at, &format!("`ForeignKey(\"{}\")`", targets.join("\", \"")));
    }
}
