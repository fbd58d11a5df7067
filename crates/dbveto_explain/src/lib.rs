//! Understands the error text a database, its driver or a framework prints
//! when a write is refused: which kind of violation, which table, column
//! and constraint, which values, and which SQL. It reads whole logs and
//! tracebacks and finds the error in them.
//!
//! Invariant: pure text in, data out. Nothing here knows the repository;
//! `dbveto explain` resolves what this crate finds against the schema.

mod context;
mod django;
mod mysql;
mod params;
mod postgres;
mod sqlite;
mod template;

use serde::Serialize;

pub use params::{Parameters, Value};

/// What went wrong, in the database's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// A NULL for a NOT NULL column (23502; MySQL 1048, 1364; SQLite).
    NotNull,
    /// `ALTER TABLE ... SET NOT NULL` / `ADD COLUMN ... NOT NULL` over rows
    /// that hold NULL (23502, a migration fails).
    NullsInExistingRows,
    /// A row outside a CHECK constraint (23514; MySQL 3819, MariaDB 4025; SQLite).
    Check,
    /// `ADD CONSTRAINT ... CHECK` over rows that fail it (23514, a migration fails).
    CheckViolatedByExistingRow,
    /// A child row whose parent does not exist (23503 insert or update; MySQL 1452).
    ForeignKeyMissingParent,
    /// A parent row deleted or re-keyed while children point at it
    /// (23503 update or delete; MySQL 1451).
    ForeignKeyStillReferenced,
    /// SQLite's `FOREIGN KEY constraint failed`, which does not say which way.
    ForeignKey,
    /// A duplicate key (23505; MySQL 1062; SQLite UNIQUE).
    Unique,
    /// A string longer than `varchar(n)` (22001; MySQL 1406).
    ValueTooLong,
    /// A value that is not a label of the enum type (22P02).
    InvalidEnumValue,
    /// Text that does not convert to the column's type (22P02).
    InvalidInput,
    /// Django's system check models.E034: an index name over 30 characters.
    IndexNameTooLong,
}

impl ErrorKind {
    /// The SQLSTATE PostgreSQL answers with, when it is a PostgreSQL error.
    pub fn postgres_sqlstate(self) -> Option<&'static str> {
        Some(match self {
            ErrorKind::NotNull | ErrorKind::NullsInExistingRows => "23502",
            ErrorKind::Check | ErrorKind::CheckViolatedByExistingRow => "23514",
            ErrorKind::ForeignKeyMissingParent | ErrorKind::ForeignKeyStillReferenced | ErrorKind::ForeignKey => "23503",
            ErrorKind::Unique => "23505",
            ErrorKind::ValueTooLong => "22001",
            ErrorKind::InvalidEnumValue | ErrorKind::InvalidInput => "22P02",
            ErrorKind::IndexNameTooLong => return None,
        })
    }

    /// A short description for people.
    pub fn describe(self) -> &'static str {
        match self {
            ErrorKind::NotNull => "NOT NULL violation",
            ErrorKind::NullsInExistingRows => "NOT NULL added over existing NULLs",
            ErrorKind::Check => "CHECK violation",
            ErrorKind::CheckViolatedByExistingRow => "CHECK added over existing rows that fail it",
            ErrorKind::ForeignKeyMissingParent => "foreign key violation: parent row missing",
            ErrorKind::ForeignKeyStillReferenced => "foreign key violation: row still referenced",
            ErrorKind::ForeignKey => "foreign key violation",
            ErrorKind::Unique => "unique violation",
            ErrorKind::ValueTooLong => "value too long",
            ErrorKind::InvalidEnumValue => "invalid enum value",
            ErrorKind::InvalidInput => "invalid input for type",
            ErrorKind::IndexNameTooLong => "index name too long (Django system check)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgresql,
    /// MySQL or MariaDB (the message does not tell them apart).
    Mysql,
    Mariadb,
    Sqlite,
    /// Not a database error: a framework's start-up check.
    Django,
}

/// A key as PostgreSQL's DETAIL prints it: `Key (a, b)=(1, x)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Key {
    pub columns: Vec<String>,
    /// The values as one text: PostgreSQL does not quote them, so a value
    /// holding `, ` cannot be told from two.
    pub values: String,
}

/// A frame of a Python traceback: where the error passed through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    pub path: String,
    pub line: u32,
    pub function: String,
}

/// One database error, with everything its text says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DbError {
    pub kind: ErrorKind,
    pub dialect: Dialect,
    pub sqlstate: Option<String>,
    /// MySQL/MariaDB error number.
    pub errno: Option<u32>,
    /// `lib/pq`, `pgx`, `psycopg2`, `psycopg`, `asyncpg`, `sqlite3`, `mysqlclient`, ...
    pub driver: Option<String>,
    /// The driver's exception class (`psycopg2.errors.ForeignKeyViolation`).
    pub exception: Option<String>,
    /// The framework exceptions around it, outermost last
    /// (`django.db.utils.IntegrityError`, `sqlalchemy.exc.PendingRollbackError`).
    pub wrappers: Vec<String>,
    /// The primary message, as printed.
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// The table the failing statement wrote (the child for a missing
    /// parent, the parent for a row still referenced).
    pub table: Option<String>,
    pub column: Option<String>,
    pub constraint: Option<String>,
    /// Foreign keys: the referenced table.
    pub parent_table: Option<String>,
    /// Foreign keys: the referencing table.
    pub child_table: Option<String>,
    /// `Failing row contains (...)`: every column of the table in order,
    /// `None` for `null`. `None` when there is no DETAIL.
    pub failing_row: Option<Vec<Option<String>>>,
    pub key: Option<Key>,
    /// The offending value when the message names it (enum input, MySQL
    /// duplicate entry, Django's index name).
    pub value: Option<String>,
    /// `character varying(20)`, the enum type's name.
    pub type_name: Option<String>,
    /// The limit in the message (`varchar(n)`, Django's 30 characters).
    pub max_length: Option<u32>,
    /// Django system checks: `app_label.Model` and the check id.
    pub model: Option<String>,
    pub check_id: Option<String>,
    /// The statement, when the log shows it (`[SQL: ...]`, `STATEMENT:`).
    pub sql: Option<String>,
    pub parameters: Option<Parameters>,
    /// The error surfaced again as SQLAlchemy's PendingRollbackError:
    /// the session was used after the failed flush without a rollback.
    pub pending_rollback: bool,
    /// Python traceback frames found in the input, innermost last.
    pub frames: Vec<Frame>,
}

impl DbError {
    fn new(kind: ErrorKind, dialect: Dialect, message: &str) -> Self {
        DbError {
            kind,
            dialect,
            sqlstate: None,
            errno: None,
            driver: None,
            exception: None,
            wrappers: Vec::new(),
            message: message.to_string(),
            detail: None,
            hint: None,
            table: None,
            column: None,
            constraint: None,
            parent_table: None,
            child_table: None,
            failing_row: None,
            key: None,
            value: None,
            type_name: None,
            max_length: None,
            model: None,
            check_id: None,
            sql: None,
            parameters: None,
            pending_rollback: false,
            frames: Vec::new(),
        }
    }

    /// The value the failing row holds in the column at `index` (table order).
    pub fn row_value(&self, index: usize) -> Option<Option<&str>> {
        self.failing_row.as_ref()?.get(index).map(|v| v.as_deref())
    }
}

/// A primary message recognised in one line.
pub(crate) struct Primary {
    pub error: DbError,
    pub start: usize,
    pub end: usize,
}

/// Finds the database error in `input` (a message, a log, a traceback).
/// When several errors are in it, the first is the cause and the others
/// are only used to complete it when they are the same error.
pub fn understand(input: &str) -> Option<DbError> {
    let text = unwrap_lines(&context::unescape(input));
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Vec<(usize, DbError)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(p) = recognise(line) {
            found.push((i, p.error.clone()));
            let last = found.len() - 1;
            context::complete(&mut found[last].1, &lines, i, p.start, p.end);
        }
    }
    let mut errors = found.into_iter().map(|(_, e)| e);
    let mut error = match errors.next() {
        Some(e) => e,
        None => context::from_exception_class(&lines)?,
    };
    for other in errors {
        if same_error(&error, &other) {
            merge(&mut error, other);
        }
    }
    error.pending_rollback = text.contains("PendingRollbackError") || text.contains("This Session's transaction has been rolled back");
    if error.pending_rollback && !error.wrappers.iter().any(|w| w.ends_with("PendingRollbackError")) {
        error.wrappers.push("sqlalchemy.exc.PendingRollbackError".into());
    }
    error.frames = context::frames(&lines);
    if error.sqlstate.is_none() && error.dialect == Dialect::Postgresql {
        error.sqlstate = error.kind.postgres_sqlstate().map(str::to_string);
    }
    Some(error)
}

/// Joins a message that a log, a terminal or an incident report wrapped
/// before `violates ...` (`insert or update on table "t"` / `violates
/// foreign key constraint "c"`): PostgreSQL sends it as one line.
fn unwrap_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push(if line.starts_with("violates ") { ' ' } else { '\n' });
        }
        out.push_str(line);
    }
    out
}

/// The first recognised primary message in a line, any dialect.
fn recognise(line: &str) -> Option<Primary> {
    postgres::primary(line).or_else(|| mysql::primary(line)).or_else(|| sqlite::primary(line)).or_else(|| django::primary(line))
}

fn same_error(a: &DbError, b: &DbError) -> bool {
    fn agree(x: &Option<String>, y: &Option<String>) -> bool {
        match (x, y) {
            (Some(x), Some(y)) => x == y,
            _ => true,
        }
    }
    a.kind == b.kind && agree(&a.table, &b.table) && agree(&a.column, &b.column) && agree(&a.constraint, &b.constraint)
}

/// Fills what `into` lacks from another report of the same error.
fn merge(into: &mut DbError, other: DbError) {
    macro_rules! fill {
        ($($f:ident),*) => {$(if into.$f.is_none() { into.$f = other.$f; })*};
    }
    fill!(sqlstate, errno, driver, exception, detail, hint, table, column, constraint, parent_table, child_table, failing_row, key, value, type_name, max_length, model, check_id, sql, parameters);
    for w in other.wrappers {
        if !into.wrappers.contains(&w) {
            into.wrappers.push(w);
        }
    }
}

#[cfg(test)]
mod tests;
