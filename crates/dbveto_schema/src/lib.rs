//! The catalog that schema sources build: tables, columns, constraints,
//! enum types, domains and indexes, each with its provenance.
//!
//! Invariants: names are stored exactly as PostgreSQL stores them (folded
//! and truncated by the source that built them); this crate knows nothing
//! about parsing, only about the catalog and PostgreSQL's naming rules.

mod names;
mod predicate;

use std::collections::BTreeMap;

use dbveto_source::Location;
use serde::Serialize;

pub use names::{choose_name, choose_name_from, is_truncated, make_object_name, quote_ident, truncate_identifier, LongName, NAMEDATALEN};
pub use predicate::{Comparison, Eval, Predicate};

/// `schema.name` of a table, type or index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualifiedName { schema: schema.into(), name: name.into() }
    }

    pub fn public(name: impl Into<String>) -> Self {
        QualifiedName::new("public", name)
    }
}

impl std::fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.schema == "public" {
            f.write_str(&self.name)
        } else {
            write!(f, "{}.{}", self.schema, self.name)
        }
    }
}

/// Where an object got its current shape: the statement's location and a
/// short description of what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub location: Location,
    pub action: String,
}

/// An object's provenance: `current` is the last change; `history` every
/// change in order, `current` included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    pub current: Provenance,
    pub history: Vec<Provenance>,
}

impl History {
    pub fn new(p: Provenance) -> Self {
        History { current: p.clone(), history: vec![p] }
    }

    pub fn record(&mut self, p: Provenance) {
        self.current = p.clone();
        self.history.push(p);
    }

    pub fn created(&self) -> &Provenance {
        &self.history[0]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Schema {
    pub tables: BTreeMap<QualifiedName, Table>,
    pub enums: BTreeMap<QualifiedName, EnumType>,
    pub domains: BTreeMap<QualifiedName, Domain>,
    pub indexes: BTreeMap<QualifiedName, Index>,
    /// Sequences created by serial columns or CREATE SEQUENCE: they take
    /// relation names, which matters for PostgreSQL's generated names.
    pub sequences: BTreeMap<QualifiedName, Location>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    pub name: QualifiedName,
    pub columns: Vec<Column>,
    pub constraints: Vec<Constraint>,
    pub partition_of: Option<QualifiedName>,
    /// `LIKE other` clauses, recorded (their columns are copied at creation).
    pub like: Vec<QualifiedName>,
    pub provenance: History,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    pub fn constraint(&self, name: &str) -> Option<&Constraint> {
        self.constraints.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    pub data_type: DataType,
    pub not_null: bool,
    /// The default expression as written, when there is one.
    pub default: Option<String>,
    pub identity: Option<Identity>,
    /// `GENERATED ALWAYS AS (expr) STORED`: the expression.
    pub generated: Option<String>,
    pub provenance: History,
}

impl Column {
    /// Whether an INSERT that leaves this column out still gets a value.
    pub fn fills_itself(&self) -> bool {
        self.default.is_some() || self.identity.is_some() || self.generated.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Identity {
    Always,
    ByDefault,
}

/// A column type as PostgreSQL's catalog names it (`character varying`,
/// `integer`, `timestamp with time zone`, or a user type's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataType {
    pub name: String,
    /// The schema of a user-defined type (enum, domain); `None` for built-ins.
    pub schema: Option<String>,
    /// `n` of `varchar(n)` / `char(n)`.
    pub length: Option<u32>,
    /// Other type modifiers (`numeric(10, 2)`), as written.
    pub modifiers: Vec<i64>,
    pub array_dims: u32,
}

impl DataType {
    pub fn is_string(&self) -> bool {
        self.array_dims == 0
            && matches!(self.name.as_str(), "character varying" | "character" | "text" | "citext")
    }

    pub fn is_numeric(&self) -> bool {
        self.array_dims == 0
            && matches!(
                self.name.as_str(),
                "smallint" | "integer" | "bigint" | "numeric" | "real" | "double precision"
            )
    }

    /// The type as `format_type` would print it.
    pub fn display(&self) -> String {
        let mut s = match &self.schema {
            Some(schema) if schema != "public" => format!("{schema}.{}", self.name),
            _ => self.name.clone(),
        };
        if let Some(n) = self.length {
            s.push_str(&format!("({n})"));
        } else if let (Some(p), Some(rest)) = (self.modifiers.first(), s.strip_prefix("timestamp ").or(s.strip_prefix("time "))) {
            // `timestamp(3) without time zone`: the precision goes after the first word.
            let first = if s.starts_with("timestamp") { "timestamp" } else { "time" };
            s = format!("{first}({p}) {rest}");
        } else if !self.modifiers.is_empty() {
            let m: Vec<String> = self.modifiers.iter().map(|m| m.to_string()).collect();
            s.push_str(&format!("({})", m.join(",")));
        }
        for _ in 0..self.array_dims {
            s.push_str("[]");
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Constraint {
    pub name: String,
    pub kind: ConstraintKind,
    pub columns: Vec<String>,
    /// False for `NOT VALID` until `VALIDATE CONSTRAINT` (new rows are
    /// checked either way).
    pub validated: bool,
    pub provenance: History,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConstraintKind {
    Check {
        /// The expression as written.
        expression: String,
        predicate: Predicate,
    },
    ForeignKey {
        references: QualifiedName,
        referenced_columns: Vec<String>,
        deferrable: bool,
        initially_deferred: bool,
        on_delete: Option<String>,
    },
    Unique,
    PrimaryKey,
    Exclusion {
        /// `EXCLUDE USING gist (room_id WITH =, during WITH &&)`: what a
        /// `CONSTRAINT name` clause needs after the name to make it again.
        definition: String,
    },
}

impl ConstraintKind {
    pub fn label(&self) -> &'static str {
        match self {
            ConstraintKind::Check { .. } => "check",
            ConstraintKind::ForeignKey { .. } => "foreign key",
            ConstraintKind::Unique => "unique",
            ConstraintKind::PrimaryKey => "primary key",
            ConstraintKind::Exclusion { .. } => "exclusion",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnumType {
    pub name: QualifiedName,
    pub labels: Vec<String>,
    pub provenance: History,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Domain {
    pub name: QualifiedName,
    pub base: DataType,
    pub not_null: bool,
    pub default: Option<String>,
    /// CHECK constraints; their predicates test the column `value`.
    pub checks: Vec<Constraint>,
    pub provenance: History,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Index {
    pub name: QualifiedName,
    pub table: QualifiedName,
    /// The key columns named plainly.
    pub columns: Vec<String>,
    pub unique: bool,
    /// Whether the index backs a constraint (PRIMARY KEY, UNIQUE).
    pub constraint: bool,
    /// The `CREATE INDEX` statement that makes it, with its name: all an
    /// expression index, a partial one or one with a method has. `None`
    /// for the index of a constraint, which the constraint makes.
    pub definition: Option<String>,
    pub provenance: History,
}

impl Schema {
    /// The table a statement names: `schema.name`, or `name` looked up in
    /// `public` (dbveto assumes the default `search_path`).
    pub fn table(&self, schema: Option<&str>, name: &str) -> Option<&Table> {
        let key = QualifiedName::new(schema.unwrap_or("public"), truncate_identifier(name));
        self.tables.get(&key)
    }

    /// Whether a relation (table, index, sequence) of that name exists in
    /// the schema, as PostgreSQL checks for generated index names.
    pub fn relation_exists(&self, name: &QualifiedName) -> bool {
        self.tables.contains_key(name) || self.indexes.contains_key(name) || self.sequences.contains_key(name)
    }

    pub fn enum_type(&self, data_type: &DataType) -> Option<&EnumType> {
        let schema = data_type.schema.as_deref().unwrap_or("public");
        self.enums.get(&QualifiedName::new(schema, data_type.name.clone()))
    }

    pub fn domain(&self, data_type: &DataType) -> Option<&Domain> {
        let schema = data_type.schema.as_deref().unwrap_or("public");
        self.domains.get(&QualifiedName::new(schema, data_type.name.clone()))
    }
}
