//! PostgreSQL's primary messages (the text after `ERROR:`), as the server,
//! psql, lib/pq, pgx, psycopg and the frameworks above them print it.

use crate::template::find;
use crate::{DbError, Dialect, ErrorKind, Key, Primary};

/// Which hole of a template fills which field.
#[derive(Clone, Copy)]
enum Field {
    Table,
    Column,
    Constraint,
    ChildTable,
    TypeName,
    Value,
    Length,
}

/// Longer templates first: a shorter one would match inside a longer message.
const TEMPLATES: &[(&str, ErrorKind, &[Field])] = &[
    ("null value in column {} of relation {} violates not-null constraint", ErrorKind::NotNull, &[Field::Column, Field::Table]),
    // PostgreSQL 12 and older do not name the relation.
    ("null value in column {} violates not-null constraint", ErrorKind::NotNull, &[Field::Column]),
    ("column {} of relation {} contains null values", ErrorKind::NullsInExistingRows, &[Field::Column, Field::Table]),
    ("column {} contains null values", ErrorKind::NullsInExistingRows, &[Field::Column]),
    ("new row for relation {} violates check constraint {}", ErrorKind::Check, &[Field::Table, Field::Constraint]),
    ("value for domain {} violates check constraint {}", ErrorKind::Check, &[Field::TypeName, Field::Constraint]),
    ("check constraint {} of relation {} is violated by some row", ErrorKind::CheckViolatedByExistingRow, &[Field::Constraint, Field::Table]),
    (
        "update or delete on table {} violates foreign key constraint {} on table {}",
        ErrorKind::ForeignKeyStillReferenced,
        &[Field::Table, Field::Constraint, Field::ChildTable],
    ),
    ("insert or update on table {} violates foreign key constraint {}", ErrorKind::ForeignKeyMissingParent, &[Field::Table, Field::Constraint]),
    ("duplicate key value violates unique constraint {}", ErrorKind::Unique, &[Field::Constraint]),
    ("could not create unique index {}", ErrorKind::Unique, &[Field::Constraint]),
    ("invalid input value for enum {}: {}", ErrorKind::InvalidEnumValue, &[Field::TypeName, Field::Value]),
    ("value too long for type character varying({})", ErrorKind::ValueTooLong, &[Field::Length]),
    ("value too long for type character({})", ErrorKind::ValueTooLong, &[Field::Length]),
    ("invalid input syntax for type {}: {}", ErrorKind::InvalidInput, &[Field::TypeName, Field::Value]),
];

pub(crate) fn primary(line: &str) -> Option<Primary> {
    for (template, kind, fields) in TEMPLATES {
        let Some(m) = find(line, template) else { continue };
        let message = &line[m.start..m.end];
        let mut e = DbError::new(*kind, Dialect::Postgresql, message);
        for (field, value) in fields.iter().zip(m.holes) {
            match field {
                Field::Table => e.table = Some(value),
                Field::Column => e.column = Some(value),
                Field::Constraint => e.constraint = Some(value),
                Field::ChildTable => e.child_table = Some(value),
                Field::TypeName => e.type_name = Some(value),
                Field::Value => e.value = Some(value),
                Field::Length => e.max_length = value.trim().parse().ok(),
            }
        }
        match kind {
            ErrorKind::ForeignKeyStillReferenced => e.parent_table = e.table.clone(),
            ErrorKind::ForeignKeyMissingParent => e.child_table = e.table.clone(),
            ErrorKind::ValueTooLong => {
                let ty = if template.contains("varying") { "character varying" } else { "character" };
                e.type_name = e.max_length.map(|n| format!("{ty}({n})"));
            }
            _ => {}
        }
        return Some(Primary { error: e, start: m.start, end: m.end });
    }
    None
}

/// Reads a DETAIL line's text into the error.
pub(crate) fn detail(e: &mut DbError, text: &str) {
    let text = text.trim();
    e.detail = Some(text.to_string());
    if let Some(m) = find(text, "Failing row contains ({}).") {
        e.failing_row = Some(failing_row(&m.holes[0]));
        return;
    }
    let forms: &[(&str, &str)] = &[
        ("Key ({})=({}) is not present in table {}.", "parent"),
        ("Key ({})=({}) is still referenced from table {}.", "child"),
        ("Key ({})=({}) already exists.", ""),
        ("Key ({})=({}) is duplicated.", ""),
    ];
    for (template, other) in forms {
        if let Some(m) = find(text, template) {
            let columns = m.holes[0].split(", ").map(|c| c.trim_matches('"').to_string()).collect();
            e.key = Some(Key { columns, values: m.holes[1].clone() });
            match *other {
                "parent" => e.parent_table = m.holes.get(2).cloned(),
                "child" => e.child_table = m.holes.get(2).cloned(),
                _ => {}
            }
            if e.column.is_none() {
                if let Some(Key { columns, .. }) = &e.key {
                    if let [single] = columns.as_slice() {
                        e.column = Some(single.clone());
                    }
                }
            }
            return;
        }
    }
}

/// `1, null, a b, ` → `[1, NULL, "a b", ""]`. PostgreSQL prints text
/// unquoted, so a value holding `, ` splits in two; callers check the
/// count against the table before trusting positions.
fn failing_row(values: &str) -> Vec<Option<String>> {
    values.split(", ").map(|v| if v == "null" { None } else { Some(v.to_string()) }).collect()
}

/// The verbose fields psql prints with `\set VERBOSITY verbose` and that
/// server logs may carry.
pub(crate) fn verbose_field(e: &mut DbError, line: &str) -> bool {
    type Setter = fn(&mut DbError, String);
    let fields: &[(&str, Setter)] = &[
        ("TABLE NAME:", |e, v| e.table = e.table.take().or(Some(v))),
        ("COLUMN NAME:", |e, v| e.column = e.column.take().or(Some(v))),
        ("CONSTRAINT NAME:", |e, v| e.constraint = e.constraint.take().or(Some(v))),
        ("SCHEMA NAME:", |_, _| {}),
        ("LOCATION:", |_, _| {}),
        ("CONTEXT:", |_, _| {}),
        ("DATATYPE NAME:", |e, v| e.type_name = e.type_name.take().or(Some(v))),
    ];
    for (label, set) in fields {
        if let Some(i) = line.find(label) {
            set(e, line[i + label.len()..].trim().to_string());
            return true;
        }
    }
    false
}

/// `ERROR:  23514: new row ...` (psql verbose): the SQLSTATE before the message.
pub(crate) fn verbose_sqlstate(prefix: &str) -> Option<String> {
    let before = prefix.trim_end().strip_suffix(':')?;
    let code = before.rsplit(|c: char| c.is_whitespace()).next()?;
    (code.len() == 5 && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) && code.chars().next()?.is_ascii_digit())
        .then(|| code.to_string())
}
