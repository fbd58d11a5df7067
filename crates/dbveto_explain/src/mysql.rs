//! MySQL and MariaDB messages (client `ERROR <errno> (<state>)`, Go's
//! `Error <errno> (<state>):`, Python's `(errno, "message")`).

use crate::template::find;
use crate::{DbError, Dialect, ErrorKind, Key, Primary};

const FK_TAIL: &str = "a foreign key constraint fails ({}.{}, CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}))";

pub(crate) fn primary(line: &str) -> Option<Primary> {
    let simple: &[(&str, ErrorKind, u32, &str)] = &[
        ("Column {} cannot be null", ErrorKind::NotNull, 1048, "23000"),
        ("Field {} doesn't have a default value", ErrorKind::NotNull, 1364, "HY000"),
        ("Data too long for column {} at row {}", ErrorKind::ValueTooLong, 1406, "22001"),
    ];
    for (template, kind, errno, state) in simple {
        if let Some(m) = find(line, template) {
            let mut e = error(line, &m, *kind, Dialect::Mysql, *errno, state);
            e.column = m.holes.first().cloned();
            return Some(Primary { error: e, start: m.start, end: m.end });
        }
    }
    if let Some(m) = find(line, "Check constraint {} is violated.") {
        let mut e = error(line, &m, ErrorKind::Check, Dialect::Mysql, 3819, "HY000");
        e.constraint = m.holes.first().cloned();
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    if let Some(m) = find(line, "CONSTRAINT {} failed for {}.{}").or_else(|| find(line, "CONSTRAINT {} failed for {}")) {
        let mut e = error(line, &m, ErrorKind::Check, Dialect::Mariadb, 4025, "23000");
        let table = m.holes.last().cloned();
        let name = m.holes[0].clone();
        // An unnamed column CHECK shows as `table.column`.
        if let Some((t, column)) = name.split_once('.') {
            if Some(t) == table.as_deref() {
                e.column = Some(column.to_string());
            }
        }
        e.constraint = Some(name);
        e.table = table;
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    for (head, kind, errno) in [
        ("Cannot add or update a child row: ", ErrorKind::ForeignKeyMissingParent, 1452),
        ("Cannot delete or update a parent row: ", ErrorKind::ForeignKeyStillReferenced, 1451),
    ] {
        if let Some(m) = find(line, &format!("{head}{FK_TAIL}")) {
            let mut e = error(line, &m, kind, Dialect::Mysql, errno, "23000");
            let h = &m.holes;
            e.child_table = Some(h[1].clone());
            e.constraint = Some(h[2].clone());
            e.parent_table = Some(h[4].clone());
            let columns: Vec<String> = h[3].split(", ").map(|c| c.trim_matches('`').to_string()).collect();
            if let [single] = columns.as_slice() {
                e.column = Some(single.clone());
            }
            e.table = if kind == ErrorKind::ForeignKeyMissingParent { e.child_table.clone() } else { e.parent_table.clone() };
            return Some(Primary { error: e, start: m.start, end: m.end });
        }
    }
    if let Some(m) = find(line, "Duplicate entry {} for key {}") {
        let mut e = error(line, &m, ErrorKind::Unique, Dialect::Mysql, 1062, "23000");
        e.value = Some(m.holes[0].clone());
        // MySQL 8 qualifies the key with the table: `child.PRIMARY`.
        let key = &m.holes[1];
        match key.split_once('.') {
            Some((table, name)) => {
                e.table = Some(table.to_string());
                e.constraint = Some(name.to_string());
            }
            None => e.constraint = Some(key.clone()),
        }
        e.key = None::<Key>;
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    None
}

fn error(line: &str, m: &crate::template::Match, kind: ErrorKind, dialect: Dialect, errno: u32, state: &str) -> DbError {
    let mut e = DbError::new(kind, dialect, &line[m.start..m.end]);
    e.errno = Some(errno);
    e.sqlstate = Some(state.to_string());
    e
}
