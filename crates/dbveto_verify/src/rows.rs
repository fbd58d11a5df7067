//! A row PostgreSQL accepts: every NOT NULL column without a default gets
//! a value of its type (a CHECK's or enum's allowed values first), foreign
//! keys get parent rows, and the server is asked. When it refuses, the
//! columns its error names (constraint, column, position) get their next
//! candidate value, and it is asked again. Everything runs inside the
//! caller's transaction, each attempt in a savepoint.

use dbveto_schema::{ConstraintKind, DataType, Predicate, QualifiedName, Schema, Table};
use dbveto_writes::Literal;
use postgres::error::ErrorPosition;
use postgres::Client;

use crate::error::describe;
use crate::sql::{ident, literal, qualified};

/// How many times the server is asked before giving up on a table.
const ATTEMPTS: usize = 40;
/// How deep parent rows for foreign keys may nest.
const MAX_DEPTH: usize = 6;

/// Values for some columns of a table, as SQL expressions.
#[derive(Debug, Clone)]
pub struct Row {
    pub table: QualifiedName,
    pub values: Vec<(String, String)>,
}

impl Row {
    /// `INSERT INTO t (a, b) VALUES (x, y)`, and the byte range of each value.
    pub fn insert(&self) -> (String, Vec<std::ops::Range<usize>>) {
        let target = qualified(&self.table.schema, &self.table.name);
        if self.values.is_empty() {
            return (format!("INSERT INTO {target} DEFAULT VALUES"), Vec::new());
        }
        let columns: Vec<String> = self.values.iter().map(|(c, _)| ident(c)).collect();
        let mut sql = format!("INSERT INTO {target} ({}) VALUES (", columns.join(", "));
        let mut ranges = Vec::new();
        for (i, (_, v)) in self.values.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            ranges.push(sql.len()..sql.len() + v.len());
            sql.push_str(v);
        }
        sql.push(')');
        (sql, ranges)
    }

    pub fn with(&self, column: &str, value: String) -> Row {
        let mut row = self.without(column);
        row.values.push((column.to_string(), value));
        row
    }

    pub fn without(&self, column: &str) -> Row {
        Row { table: self.table.clone(), values: self.values.iter().filter(|(c, _)| c != column).cloned().collect() }
    }
}

/// What the row must look like.
#[derive(Debug, Default, Clone)]
pub struct Shape<'a> {
    /// Columns to give a value even when they are nullable or have a default.
    pub include: Vec<&'a str>,
    /// A column the table does not have for this row (dropped to replay
    /// the migration that adds it).
    pub exclude: Option<&'a str>,
}

pub struct Builder<'c> {
    client: &'c mut Client,
    schema: &'c Schema,
    savepoints: usize,
}

impl<'c> Builder<'c> {
    pub fn new(client: &'c mut Client, schema: &'c Schema) -> Self {
        Builder { client, schema, savepoints: 0 }
    }

    pub fn client(&mut self) -> &mut Client {
        self.client
    }

    /// A row of `table` that the server accepts; the trial insert is
    /// rolled back, parent rows it needed are kept.
    pub fn valid_row(&mut self, table: &Table, shape: &Shape) -> Result<Row, String> {
        self.row(table, shape, 0, false).map(|(row, _)| row)
    }

    fn savepoint(&mut self) -> String {
        self.savepoints += 1;
        format!("dbveto_row_{}", self.savepoints)
    }

    /// Builds and inserts a row; with `keep`, the row stays and the values
    /// of `returning` come back as text.
    fn row(&mut self, table: &Table, shape: &Shape, depth: usize, keep: bool) -> Result<(Row, Vec<String>), String> {
        self.row_returning(table, shape, depth, keep, &[])
    }

    fn row_returning(&mut self, table: &Table, shape: &Shape, depth: usize, keep: bool, returning: &[String]) -> Result<(Row, Vec<String>), String> {
        if depth > MAX_DEPTH {
            return Err(format!("foreign keys nest deeper than {MAX_DEPTH} tables from `{}`", table.name));
        }
        let has = |c: &str| shape.exclude != Some(c);
        let mut fill: Vec<String> = table
            .columns
            .iter()
            .filter(|c| has(&c.name) && c.generated.is_none() && c.identity != Some(dbveto_schema::Identity::Always))
            .filter(|c| (c.not_null && !c.fills_itself()) || shape.include.contains(&c.name.as_str()))
            .map(|c| c.name.clone())
            .collect();
        // Foreign keys among the filled columns take their values from a parent row.
        let mut fixed: Vec<(String, String)> = Vec::new();
        for k in &table.constraints {
            let ConstraintKind::ForeignKey { references, referenced_columns, .. } = &k.kind else { continue };
            if !k.columns.iter().any(|c| fill.contains(c)) || k.columns.iter().any(|c| !has(c)) {
                continue;
            }
            let Some(parent) = self.schema.tables.get(references) else {
                return Err(format!("`{}` references `{references}`, which the database does not have", table.name));
            };
            if parent.name == table.name {
                return Err(format!("`{}` references itself through NOT NULL `{}`", table.name, k.columns.join(", ")));
            }
            let include: Vec<&str> = referenced_columns.iter().map(String::as_str).collect();
            let (_, values) = self
                .row_returning(parent, &Shape { include, exclude: None }, depth + 1, true, referenced_columns)
                .map_err(|e| format!("no parent row in `{}` for `{}`: {e}", parent.name, k.name))?;
            for (c, v) in k.columns.iter().zip(values) {
                fixed.retain(|(f, _)| f != c);
                fixed.push((c.clone(), literal(&v)));
            }
        }
        fill.retain(|c| !fixed.iter().any(|(f, _)| f == c));
        let mut candidates: Vec<(String, Vec<String>)> = Vec::new();
        for name in fill {
            let Some(column) = table.column(&name) else { continue };
            let values = candidates_for(self.schema, table, &name, &column.data_type);
            if values.is_empty() {
                return Err(format!("dbveto knows no value of type {} for `{}.{name}`", column.data_type.display(), table.name));
            }
            candidates.push((name, values));
        }
        let mut choice = vec![0usize; candidates.len()];
        let mut last_error = String::new();
        for _ in 0..ATTEMPTS {
            let mut values = fixed.clone();
            values.extend(candidates.iter().zip(&choice).map(|((c, vals), i)| (c.clone(), vals[*i].clone())));
            let row = Row { table: table.name.clone(), values };
            let (mut sql, ranges) = row.insert();
            if !returning.is_empty() {
                let cols: Vec<String> = returning.iter().map(|c| format!("{}::text", ident(c))).collect();
                sql.push_str(&format!(" RETURNING {}", cols.join(", ")));
            }
            let sp = self.savepoint();
            self.exec(&format!("SAVEPOINT {sp}"))?;
            match self.client.query(&sql, &[]) {
                Ok(rows) => {
                    if keep {
                        self.exec(&format!("RELEASE SAVEPOINT {sp}"))?;
                    } else {
                        self.exec(&format!("ROLLBACK TO SAVEPOINT {sp}"))?;
                    }
                    let returned = match rows.first() {
                        Some(r) => (0..returning.len()).map(|i| r.try_get::<_, Option<String>>(i).ok().flatten().unwrap_or_default()).collect(),
                        None => Vec::new(),
                    };
                    return Ok((row, returned));
                }
                Err(e) => {
                    self.exec(&format!("ROLLBACK TO SAVEPOINT {sp}"))?;
                    last_error = describe(&e);
                    let culprits = culprits(&e, table, self.schema, &row, &ranges, &candidates);
                    if !advance(&mut choice, &candidates, &culprits) {
                        break;
                    }
                }
            }
        }
        Err(format!("PostgreSQL refused every row dbveto tried for `{}`; last: {last_error}", table.name))
    }

    pub fn exec(&mut self, sql: &str) -> Result<(), String> {
        self.client.batch_execute(sql).map_err(|e| describe(&e))
    }
}

/// The positions in `candidates` of the columns an error is about: the
/// constraint's columns, the column it names, or the value at its position;
/// every column when it names none of these.
fn culprits(e: &postgres::Error, table: &Table, schema: &Schema, row: &Row, ranges: &[std::ops::Range<usize>], candidates: &[(String, Vec<String>)]) -> Vec<usize> {
    let index = |c: &str| candidates.iter().position(|(n, _)| n == c);
    let Some(db) = e.as_db_error() else { return (0..candidates.len()).collect() };
    let mut out: Vec<usize> = Vec::new();
    if let Some(name) = db.constraint() {
        if let Some(k) = table.constraint(name) {
            out.extend(k.columns.iter().filter_map(|c| index(c)));
        }
        // A domain's CHECK: the columns of that domain's type.
        for (d, _) in schema.domains.iter().filter(|(_, d)| d.checks.iter().any(|k| k.name == name)) {
            out.extend(
                table.columns.iter().filter(|c| c.data_type.name == d.name && c.data_type.schema.as_deref().unwrap_or("public") == d.schema).filter_map(|c| index(&c.name)),
            );
        }
    }
    if let Some(column) = db.column() {
        out.extend(index(column));
    }
    if let Some(ErrorPosition::Original(p)) = db.position() {
        let (sql, _) = row.insert();
        let byte: usize = sql.chars().take((*p as usize).saturating_sub(1)).map(char::len_utf8).sum();
        if let Some(i) = ranges.iter().position(|r| r.start <= byte && byte < r.end.max(r.start + 1)) {
            out.extend(index(&row.values[i].0));
        }
    }
    if out.is_empty() {
        out = (0..candidates.len()).collect();
    }
    out.sort();
    out.dedup();
    out
}

/// Moves the chosen candidates of `culprits` on like an odometer; false
/// when every combination was tried.
fn advance(choice: &mut [usize], candidates: &[(String, Vec<String>)], culprits: &[usize]) -> bool {
    for &i in culprits {
        if choice[i] + 1 < candidates[i].1.len() {
            choice[i] += 1;
            return true;
        }
        choice[i] = 0;
    }
    false
}

/// Values to try for a column, best first: what its CHECKs, domain or enum
/// allow, then ordinary values of its type.
pub fn candidates_for(schema: &Schema, table: &Table, column: &str, data_type: &DataType) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in &table.constraints {
        if let ConstraintKind::Check { predicate, .. } = &k.kind {
            hinted_values(predicate, column, &mut out);
        }
    }
    let mut base = data_type.clone();
    if let Some(domain) = schema.domain(data_type) {
        for k in &domain.checks {
            if let ConstraintKind::Check { predicate, .. } = &k.kind {
                hinted_values(predicate, "value", &mut out);
            }
        }
        base = domain.base.clone();
        base.array_dims += data_type.array_dims;
    }
    if base.array_dims > 0 {
        out.push("'{}'".into());
    } else if let Some(e) = schema.enum_type(&base) {
        out.extend(e.labels.iter().map(|l| literal(l)));
    } else {
        out.extend(type_values(&base).into_iter().map(|v| literal(&v)));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|v| seen.insert(v.clone()));
    out
}

/// The constants a CHECK compares a column with, and values next to them.
fn hinted_values(p: &Predicate, column: &str, out: &mut Vec<String>) {
    match p {
        Predicate::InSet { column: c, values, negated: false } if c == column => {
            out.extend(values.iter().filter(|v| **v != Literal::Null).map(Literal::to_sql));
        }
        Predicate::Compare { column: c, value, .. } if c == column => match value {
            Literal::Int(i) => out.extend([i.saturating_add(1), *i, i.saturating_sub(1)].map(|n| literal(&n.to_string()))),
            Literal::Null => {}
            other => out.push(other.to_sql()),
        },
        Predicate::And { operands } | Predicate::Or { operands } => operands.iter().for_each(|o| hinted_values(o, column, out)),
        Predicate::Not { operand } => hinted_values(operand, column, out),
        _ => {}
    }
}

/// Ordinary values of a built-in type, as text the type accepts.
fn type_values(t: &DataType) -> Vec<String> {
    let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match t.name.as_str() {
        "smallint" | "integer" | "bigint" | "oid" => v(&["1", "2", "0", "10", "100", "1000", "-1", "12345"]),
        "numeric" | "real" | "double precision" | "money" => v(&["1", "2", "0", "10", "100", "0.5", "-1"]),
        "boolean" => v(&["true", "false"]),
        "character varying" | "character" | "text" | "citext" | "name" => {
            let all = ["a", "dbveto", "b", "abcdefghij", "0", "c", "dbveto-value-1", "x", "y", "z"];
            let max = t.length.unwrap_or(u32::MAX) as usize;
            all.iter().filter(|s| s.len() <= max).map(|s| s.to_string()).collect()
        }
        "uuid" => v(&["00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002", "00000000-0000-4000-8000-000000000003"]),
        "date" => v(&["2000-01-01", "2024-06-01", "1999-12-31"]),
        "timestamp without time zone" | "timestamp with time zone" => v(&["2000-01-01 00:00:00", "2024-06-01 12:00:00", "1999-12-31 23:59:59"]),
        "time without time zone" | "time with time zone" => v(&["12:00:00", "00:00:00"]),
        "interval" => v(&["1 day", "1 second", "0"]),
        "json" | "jsonb" => v(&["{}", "[]", "\"\"", "0"]),
        "bytea" => v(&["\\x00", "\\x01"]),
        "inet" => v(&["127.0.0.1", "127.0.0.2"]),
        "cidr" => v(&["127.0.0.0/8", "10.0.0.0/8"]),
        "macaddr" => v(&["08:00:2b:01:02:03"]),
        "bit" | "bit varying" => {
            let n = t.length.or_else(|| t.modifiers.first().map(|m| *m as u32)).unwrap_or(1).clamp(1, 64) as usize;
            vec!["1".repeat(n), "0".repeat(n)]
        }
        "xml" => v(&["<a/>"]),
        "tsvector" => v(&["dbveto"]),
        "point" => v(&["(0,0)"]),
        "int4range" | "int8range" | "numrange" => v(&["[1,2)", "[3,4)"]),
        "daterange" => v(&["[2000-01-01,2000-01-02)", "[2024-06-01,2024-06-02)"]),
        "tsrange" | "tstzrange" => v(&["[2000-01-01 00:00,2000-01-01 01:00)", "[2024-06-01 12:00,2024-06-01 13:00)"]),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(name: &str, length: Option<u32>) -> DataType {
        DataType { name: name.into(), schema: None, length, modifiers: Vec::new(), array_dims: 0 }
    }

    #[test]
    fn strings_fit_the_column() {
        assert!(type_values(&dt("character varying", Some(1))).iter().all(|s| s.len() == 1));
        assert!(type_values(&dt("text", None)).len() > 5);
        assert!(type_values(&dt("box2d", None)).is_empty());
    }

    #[test]
    fn check_constants_come_first() {
        let p = dbveto_sql::check_definition("CHECK ((status = ANY (ARRAY['open'::text, 'closed'::text])) AND n >= 0)").unwrap();
        let mut out = Vec::new();
        hinted_values(&p, "status", &mut out);
        assert_eq!(out, ["'open'", "'closed'"]);
        out.clear();
        hinted_values(&p, "n", &mut out);
        assert_eq!(out, ["'1'", "'0'", "'-1'"]);
    }

    #[test]
    fn odometer_tries_each_combination_once() {
        let c = vec![("a".to_string(), vec!["1".to_string(), "2".to_string()]), ("b".to_string(), vec!["x".to_string(), "y".to_string()])];
        let mut choice = vec![0, 0];
        let mut seen = vec![choice.clone()];
        while advance(&mut choice, &c, &[0, 1]) {
            seen.push(choice.clone());
        }
        assert_eq!(seen, [vec![0, 0], vec![1, 0], vec![0, 1], vec![1, 1]]);
    }

    #[test]
    fn insert_marks_where_each_value_is() {
        let row = Row { table: QualifiedName::public("t"), values: vec![("a".into(), "'1'".into()), ("b".into(), "'x'".into())] };
        let (sql, ranges) = row.insert();
        assert_eq!(sql, "INSERT INTO \"public\".\"t\" (\"a\", \"b\") VALUES ('1', 'x')");
        assert_eq!(&sql[ranges[1].clone()], "'x'");
        assert_eq!(row.without("a").insert().0, "INSERT INTO \"public\".\"t\" (\"b\") VALUES ('x')");
    }
}
