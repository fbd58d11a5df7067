//! SQLite's constraint messages (`sqlite3.IntegrityError`, Django and
//! SQLAlchemy around it).

use crate::template::find;
use crate::{DbError, Dialect, ErrorKind, Key, Primary};

pub(crate) fn primary(line: &str) -> Option<Primary> {
    if let Some(m) = find(line, "NOT NULL constraint failed: {}") {
        let mut e = DbError::new(ErrorKind::NotNull, Dialect::Sqlite, &line[m.start..m.end]);
        if let Some((table, column)) = m.holes[0].split_once('.') {
            e.table = Some(table.to_string());
            e.column = Some(column.to_string());
        }
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    if let Some(m) = find(line, "CHECK constraint failed: {}") {
        let mut e = DbError::new(ErrorKind::Check, Dialect::Sqlite, &line[m.start..m.end]);
        // A named CHECK shows its name; an unnamed one its expression.
        e.constraint = Some(m.holes[0].clone());
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    if let Some(m) = find(line, "UNIQUE constraint failed: {}") {
        let mut e = DbError::new(ErrorKind::Unique, Dialect::Sqlite, &line[m.start..m.end]);
        let mut columns = Vec::new();
        for part in m.holes[0].split(", ") {
            if let Some((table, column)) = part.split_once('.') {
                e.table = Some(table.to_string());
                columns.push(column.to_string());
            }
        }
        if let [single] = columns.as_slice() {
            e.column = Some(single.clone());
        }
        e.key = Some(Key { columns, values: String::new() });
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    let m = find(line, "FOREIGN KEY constraint failed")?;
    let e = DbError::new(ErrorKind::ForeignKey, Dialect::Sqlite, &line[m.start..m.end]);
    Some(Primary { error: e, start: m.start, end: m.end })
}
