//! Pre-flight for migrations a live database has not applied yet: which
//! ones are pending (per the tool's bookkeeping table), and for each new
//! NOT NULL, CHECK, FOREIGN KEY, UNIQUE or shorter `varchar(n)` they bring
//! to an existing table, how many existing rows would make it fail. Only
//! read-only SELECTs.

use std::ops::Range;

use dbveto_schema::{Column, Constraint, ConstraintKind, Schema, Table};
use dbveto_source::{Diagnostic, Location, Severity, SourceFile};
use postgres::Client;

use crate::error::describe;
use crate::sql::{ident, qualified};

/// A migration as the pre-flight needs it.
pub struct PendingInput<'a> {
    pub file: &'a SourceFile,
    pub version: &'a [u64],
    pub up: &'a [Range<usize>],
}

/// The bookkeeping of a migration tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bookkeeping {
    /// golang-migrate: one row, the current version.
    CurrentVersion,
    /// dbmate, sqlx, refinery: one row per applied version.
    AppliedVersions,
    /// goose: the latest row per version says whether it is applied.
    Goose,
    /// Flyway: `flyway_schema_history`.
    Flyway,
}

/// A bookkeeping table's name and the versions it lists.
pub type Applied = (String, Vec<Vec<u64>>);

/// The versions the database has applied, or `None` when it has no
/// bookkeeping table of that tool; also the table's name, for messages.
pub fn applied(client: &mut Client, bookkeeping: Bookkeeping) -> Result<Option<Applied>, String> {
    let queries: &[(&str, &str)] = match bookkeeping {
        Bookkeeping::CurrentVersion => &[("schema_migrations", "SELECT version::text FROM schema_migrations")],
        Bookkeeping::AppliedVersions => &[
            ("schema_migrations", "SELECT version::text FROM schema_migrations"),
            ("_sqlx_migrations", "SELECT version::text FROM _sqlx_migrations WHERE success"),
            ("refinery_schema_history", "SELECT version::text FROM refinery_schema_history"),
        ],
        Bookkeeping::Goose => &[(
            "goose_db_version",
            "SELECT version_id::text FROM (SELECT DISTINCT ON (version_id) version_id, is_applied FROM goose_db_version ORDER BY version_id, id DESC) v WHERE is_applied",
        )],
        Bookkeeping::Flyway => &[("flyway_schema_history", "SELECT version FROM flyway_schema_history WHERE success AND version IS NOT NULL")],
    };
    for (table, query) in queries {
        let exists = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[table])
            .map_err(|e| format!("could not look for {table}: {}", describe(&e)))?
            .try_get::<_, bool>(0)
            .unwrap_or(false);
        if !exists {
            continue;
        }
        let rows = client.query(*query, &[]).map_err(|e| format!("could not read {table}: {}", describe(&e)))?;
        let versions = rows.iter().filter_map(|r| r.try_get::<_, String>(0).ok()).map(|v| parse_version(&v)).collect();
        return Ok(Some((table.to_string(), versions)));
    }
    Ok(None)
}

fn parse_version(v: &str) -> Vec<u64> {
    v.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty()).filter_map(|p| p.parse().ok()).collect()
}

/// Whether a migration of `version` is applied.
pub fn is_applied(bookkeeping: Bookkeeping, applied: &[Vec<u64>], version: &[u64]) -> bool {
    match bookkeeping {
        Bookkeeping::CurrentVersion => applied.iter().any(|v| version <= v.as_slice()),
        _ => applied.iter().any(|v| v.as_slice() == version),
    }
}

/// The schema the migrations the database has applied build, the name of
/// the bookkeeping table, and how many migrations are pending; `None` when
/// the database has no bookkeeping table of the tool.
pub fn applied_schema(client: &mut Client, bookkeeping: Bookkeeping, migrations: &[PendingInput]) -> Result<Option<(Schema, String, usize)>, String> {
    let Some((table, versions)) = applied(client, bookkeeping)? else { return Ok(None) };
    let mut schema = Schema::default();
    let mut ignored = Vec::new();
    let mut pending = 0;
    for m in migrations {
        if !is_applied(bookkeeping, &versions, m.version) {
            pending += 1;
            continue;
        }
        for range in m.up {
            dbveto_sql::replay(&mut schema, m.file, range.clone(), &mut ignored);
        }
    }
    Ok(Some((schema, table, pending)))
}

/// Replays the applied migrations, then each pending one, and counts the
/// existing rows that each new constraint would reject.
pub fn preflight(client: &mut Client, bookkeeping: Bookkeeping, migrations: &[PendingInput], live: &Schema) -> Result<Vec<Diagnostic>, String> {
    let mut out = Vec::new();
    let Some((table, versions)) = applied(client, bookkeeping)? else {
        return Ok(vec![note(
            migrations.first().map(|m| m.file.location(0)),
            "pending migrations: the database has no bookkeeping table of this migration tool; nothing to compare".into(),
        )]);
    };
    let mut schema = Schema::default();
    let mut ignored = Vec::new();
    for m in migrations {
        let applied = is_applied(bookkeeping, &versions, m.version);
        let before = schema.clone();
        for range in m.up {
            dbveto_sql::replay(&mut schema, m.file, range.clone(), &mut ignored);
        }
        if applied {
            continue;
        }
        out.push(note(Some(m.file.location(0)), format!("pending migration: `{}` is not applied yet (per {table})", m.file.path)));
        for check in new_requirements(&before, &schema) {
            // Only tables that exist now have rows.
            if !live.tables.contains_key(&check.table.name) {
                continue;
            }
            let message = match client.query_one(&check.query, &[]) {
                Ok(row) => {
                    let n = row.try_get::<_, i64>(0).unwrap_or(0);
                    let severity = if n > 0 { Severity::Error } else { Severity::Info };
                    let rows = if n == 1 { "row" } else { "rows" };
                    out.push(Diagnostic {
                        location: check.location.clone(),
                        severity,
                        message: format!("pending migration: {n} existing {rows} of `{}` would fail {}", check.table.name, check.what),
                    });
                    continue;
                }
                Err(e) => format!("pending migration: could not count the rows of `{}` that would fail {}: {}", check.table.name, check.what, describe(&e)),
            };
            out.push(Diagnostic { location: check.location, severity: Severity::Warning, message });
        }
    }
    Ok(out)
}

fn note(location: Option<Location>, message: String) -> Diagnostic {
    Diagnostic { location: location.unwrap_or(Location { path: "".into(), line: 1, column: 1 }), severity: Severity::Info, message }
}

/// A requirement a pending migration adds to a table that existed before.
pub struct Requirement<'a> {
    pub table: &'a Table,
    pub what: String,
    /// `SELECT count(*) ...` of the rows that fail it.
    pub query: String,
    pub location: Location,
}

/// What `after` requires of the rows of tables that `before` already had.
pub fn new_requirements<'a>(before: &Schema, after: &'a Schema) -> Vec<Requirement<'a>> {
    let mut out = Vec::new();
    for (name, table) in &after.tables {
        let Some(old) = before.tables.get(name) else { continue };
        let target = qualified(&name.schema, &name.name);
        for c in &table.columns {
            let at = c.provenance.current.location.clone();
            match old.column(&c.name) {
                None if c.not_null && !c.fills_itself() => out.push(Requirement {
                    table,
                    what: format!("the new NOT NULL column `{}` (it has no default)", c.name),
                    query: format!("SELECT count(*) FROM {target}"),
                    location: at,
                }),
                Some(o) if c.not_null && !o.not_null => out.push(Requirement {
                    table,
                    what: format!("NOT NULL on `{}`", c.name),
                    query: format!("SELECT count(*) FROM {target} WHERE {} IS NULL", ident(&c.name)),
                    location: at,
                }),
                Some(o) => {
                    if let Some(n) = shorter(o, c) {
                        out.push(Requirement {
                            table,
                            what: format!("the new type {} of `{}`", c.data_type.display(), c.name),
                            query: format!("SELECT count(*) FROM {target} WHERE char_length({}) > {n}", ident(&c.name)),
                            location: at,
                        });
                    }
                }
                None => {}
            }
        }
        for k in table.constraints.iter().filter(|k| k.validated && old.constraint(&k.name).is_none()) {
            if let Some((what, query)) = violating_rows(&target, k, after) {
                out.push(Requirement { table, what, query, location: k.provenance.current.location.clone() });
            }
        }
    }
    out
}

/// The new length limit when a string column's type gets shorter.
fn shorter(old: &Column, new: &Column) -> Option<u32> {
    let n = new.data_type.length?;
    let longer = old.data_type.length.is_none_or(|o| o > n);
    (new.data_type.is_string() && old.data_type.is_string() && longer).then_some(n)
}

fn violating_rows(target: &str, k: &Constraint, after: &Schema) -> Option<(String, String)> {
    let cols: Vec<String> = k.columns.iter().map(|c| ident(c)).collect();
    let all_set = cols.iter().map(|c| format!("{c} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
    match &k.kind {
        ConstraintKind::Check { expression, .. } => {
            Some((format!("the new CHECK `{}` ({expression})", k.name), format!("SELECT count(*) FROM {target} WHERE NOT ({expression})")))
        }
        ConstraintKind::ForeignKey { references, referenced_columns, .. } => {
            let parent = qualified(&references.schema, &references.name);
            let query = if after.tables.contains_key(references) && !referenced_columns.is_empty() {
                let join: Vec<String> = cols.iter().zip(referenced_columns).map(|(c, r)| format!("p.{} = c.{c}", ident(r))).collect();
                let child_set: Vec<String> = cols.iter().map(|c| format!("c.{c} IS NOT NULL")).collect();
                format!("SELECT count(*) FROM {target} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {})", child_set.join(" AND "), join.join(" AND "))
            } else {
                format!("SELECT count(*) FROM {target} WHERE {all_set}")
            };
            Some((format!("the new FOREIGN KEY `{}` to `{references}`", k.name), query))
        }
        ConstraintKind::Unique | ConstraintKind::PrimaryKey => Some((
            format!("the new {} `{}` ({}) as duplicates", k.kind.label().to_uppercase(), k.name, k.columns.join(", ")),
            format!("SELECT coalesce(sum(n), 0)::int8 FROM (SELECT count(*) AS n FROM {target} WHERE {all_set} GROUP BY {} HAVING count(*) > 1) d", cols.join(", ")),
        )),
        ConstraintKind::Exclusion => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(sql: &str) -> Schema {
        let file = SourceFile::new("m.sql", sql);
        let mut s = Schema::default();
        dbveto_sql::replay(&mut s, &file, 0..sql.len(), &mut Vec::new());
        s
    }

    #[test]
    fn new_constraints_on_existing_tables_are_counted() {
        let base = "CREATE TABLE orders (id int PRIMARY KEY, state text, note varchar(200), customer int);";
        let before = schema(base);
        let after = schema(&format!(
            "{base} CREATE TABLE customers (id int PRIMARY KEY);
             ALTER TABLE orders ALTER COLUMN state SET NOT NULL;
             ALTER TABLE orders ADD CONSTRAINT orders_state_check CHECK (state IN ('new', 'paid'));
             ALTER TABLE orders ADD FOREIGN KEY (customer) REFERENCES customers (id);
             ALTER TABLE orders ALTER COLUMN note TYPE varchar(20);
             ALTER TABLE orders ADD COLUMN total int NOT NULL;"
        ));
        let got: Vec<String> = new_requirements(&before, &after).into_iter().map(|r| format!("{} | {}", r.what, r.query)).collect();
        assert_eq!(
            got,
            [
                "NOT NULL on `state` | SELECT count(*) FROM \"public\".\"orders\" WHERE \"state\" IS NULL",
                "the new type character varying(20) of `note` | SELECT count(*) FROM \"public\".\"orders\" WHERE char_length(\"note\") > 20",
                "the new NOT NULL column `total` (it has no default) | SELECT count(*) FROM \"public\".\"orders\"",
                "the new CHECK `orders_state_check` (state IN ('new', 'paid')) | SELECT count(*) FROM \"public\".\"orders\" WHERE NOT (state IN ('new', 'paid'))",
                "the new FOREIGN KEY `orders_customer_fkey` to `customers` | SELECT count(*) FROM \"public\".\"orders\" c WHERE c.\"customer\" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \"public\".\"customers\" p WHERE p.\"id\" = c.\"customer\")",
            ]
        );
    }

    #[test]
    fn golang_migrate_keeps_only_the_current_version() {
        assert!(is_applied(Bookkeeping::CurrentVersion, &[vec![3]], &[2]));
        assert!(!is_applied(Bookkeeping::CurrentVersion, &[vec![3]], &[4]));
        assert!(!is_applied(Bookkeeping::AppliedVersions, &[vec![3]], &[2]));
        assert_eq!(parse_version("2024.01_2"), vec![2024, 1, 2]);
    }
}
