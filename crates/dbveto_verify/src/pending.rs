//! Pre-flight for migrations a live database has not applied yet: which
//! ones are pending (per the tool's bookkeeping table: `schema_migrations`
//! and the like, `django_migrations`, `alembic_version`), and for each new
//! NOT NULL, CHECK, FOREIGN KEY, UNIQUE or shorter `varchar(n)` they bring
//! to an existing table, how many of today's rows would make it fail.
//! Only read-only SELECTs.
//!
//! The database has applied some migrations; the pending ones run after
//! them, in the tool's order, one change at a time. A count is only exact
//! when nothing before the constraint changes the rows: a backfill
//! `UPDATE` that fills the NULLs of a column makes its NOT NULL safe, and
//! any other change to the rows it reads (a `DELETE`, a `RunPython`) makes
//! the count a warning that says so.

use std::collections::{BTreeSet, HashMap};

use dbveto_schema::{Column, Constraint, ConstraintKind, QualifiedName, Schema, Table};
use dbveto_source::{Diagnostic, Location, Severity};
use dbveto_sql::RowChange;
use postgres::Client;

use crate::error::describe;
use crate::sql::{ident, qualified};

/// The bookkeeping of a migration tool whose migrations are SQL files.
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

/// Whether `table` exists (on the search path).
fn exists(client: &mut Client, table: &str) -> Result<bool, String> {
    Ok(client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .map_err(|e| format!("could not look for {table}: {}", describe(&e)))?
        .try_get::<_, bool>(0)
        .unwrap_or(false))
}

/// The first column of every row of `query`, as text.
fn texts(client: &mut Client, table: &str, query: &str) -> Result<Vec<Vec<String>>, String> {
    let rows = client.query(query, &[]).map_err(|e| format!("could not read {table}: {}", describe(&e)))?;
    Ok(rows.iter().map(|r| (0..r.len()).map(|i| r.try_get::<_, String>(i).unwrap_or_default()).collect()).collect())
}

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
        if !exists(client, table)? {
            continue;
        }
        let versions = texts(client, table, query)?.iter().map(|r| parse_version(&r[0])).collect();
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

/// The table Django records applied migrations in.
pub const DJANGO_MIGRATIONS: &str = "django_migrations";

/// The `(app, name)` of every migration `django_migrations` lists, or
/// `None` when the database has no such table.
pub fn django_applied(client: &mut Client) -> Result<Option<BTreeSet<(String, String)>>, String> {
    if !exists(client, DJANGO_MIGRATIONS)? {
        return Ok(None);
    }
    let rows = texts(client, DJANGO_MIGRATIONS, "SELECT app::text, name::text FROM django_migrations")?;
    Ok(Some(rows.into_iter().filter_map(|r| Some((r.first()?.clone(), r.get(1)?.clone()))).collect()))
}

/// Whether Django counts a migration as applied. A squashed migration is
/// when it is recorded itself or all the migrations it replaces are;
/// when only some of them are, Django runs those that are not, which
/// dbveto did not interpret.
pub fn django_status(key: &(String, String), replaces: &[(String, String)], applied: &BTreeSet<(String, String)>) -> Status {
    if applied.contains(key) || (!replaces.is_empty() && replaces.iter().all(|r| applied.contains(r))) {
        return Status::Applied;
    }
    let done: Vec<String> = replaces.iter().filter(|r| applied.contains(*r)).map(|(a, n)| format!("{a}.{n}")).collect();
    match done.is_empty() {
        true => Status::Pending,
        false => Status::PartlyApplied(format!("the database has applied {} of the migrations it replaces", done.join(", "))),
    }
}

/// The table Alembic records its heads in.
pub const ALEMBIC_VERSION: &str = "alembic_version";

/// The revisions `alembic_version` lists (one per head), or `None` when
/// the database has no such table.
pub fn alembic_heads(client: &mut Client) -> Result<Option<Vec<String>>, String> {
    if !exists(client, ALEMBIC_VERSION)? {
        return Ok(None);
    }
    let rows = texts(client, ALEMBIC_VERSION, "SELECT version_num::text FROM alembic_version")?;
    Ok(Some(rows.into_iter().filter_map(|r| r.into_iter().next()).collect()))
}

/// An Alembic revision as the graph walk needs it.
pub struct RevisionNode<'a> {
    pub id: &'a str,
    pub down: &'a [String],
    pub depends_on: &'a [String],
}

/// The revisions applied when `heads` are: each head and everything it
/// follows (`down_revision`, merges included) or depends on
/// (`depends_on`). `Err` names a head no revision file defines.
pub fn alembic_applied(revisions: &[RevisionNode], heads: &[String]) -> Result<BTreeSet<String>, String> {
    let by_id: HashMap<&str, &RevisionNode> = revisions.iter().map(|r| (r.id, r)).collect();
    let mut applied = BTreeSet::new();
    let mut stack: Vec<&str> = Vec::new();
    for head in heads {
        if !by_id.contains_key(head.as_str()) {
            return Err(head.clone());
        }
        stack.push(head);
    }
    while let Some(id) = stack.pop() {
        if !applied.insert(id.to_string()) {
            continue;
        }
        if let Some(r) = by_id.get(id) {
            stack.extend(r.down.iter().chain(r.depends_on).map(String::as_str).filter(|p| by_id.contains_key(p)));
        }
    }
    Ok(applied)
}

/// Whether the database has applied a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Applied,
    Pending,
    /// Part of it is applied, and why dbveto cannot tell which part: its
    /// changes are replayed, its rows not counted.
    PartlyApplied(String),
}

/// One change of a migration: a statement, or an operation of a framework.
pub struct Change<'a> {
    /// Applies it to dbveto's schema.
    pub replay: Box<dyn Fn(&mut Schema) + 'a>,
    /// What it does to the rows already there.
    pub rows: Vec<RowChange>,
    pub location: Location,
    /// The change as people read it.
    pub what: String,
}

/// A migration as the pre-flight sees it.
pub struct Migration<'a> {
    /// The name its tool gives it: a file, `app.0002_name`, a revision.
    pub name: String,
    pub location: Location,
    pub status: Status,
    /// Its changes, in the order they run.
    pub changes: Vec<Change<'a>>,
}

/// The schema the applied migrations build.
pub fn expected_schema(migrations: &[Migration]) -> Schema {
    let mut schema = Schema::default();
    for m in migrations.iter().filter(|m| m.status == Status::Applied) {
        for c in &m.changes {
            (c.replay)(&mut schema);
        }
    }
    schema
}

/// Replays the applied migrations, then each pending one change by
/// change, and counts the rows of `live` that each new requirement would
/// reject. `bookkeeping` names the table that says what is applied.
pub fn preflight(client: &mut Client, bookkeeping: &str, migrations: &[Migration], live: &Schema) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut schema = expected_schema(migrations);
    // The pending changes so far that change rows.
    let mut earlier: Vec<&Change> = Vec::new();
    let mut pending = 0;
    for m in migrations.iter().filter(|m| m.status != Status::Applied) {
        pending += 1;
        out.push(note(&m.location, format!("pending migration: `{}` is not applied yet (per {bookkeeping})", m.name)));
        if let Status::PartlyApplied(why) = &m.status {
            out.push(note(&m.location, format!("pending migration: `{}` is partly applied ({why}); its constraints are not counted", m.name)));
        }
        for change in &m.changes {
            let before = schema.clone();
            (change.replay)(&mut schema);
            if m.status == Status::Pending {
                for requirement in new_requirements(&before, &schema) {
                    out.extend(count(client, &requirement, live, &earlier));
                }
            }
            if !change.rows.is_empty() {
                earlier.push(change);
            }
        }
    }
    if pending == 0 {
        let at = migrations.last().map(|m| m.location.clone()).unwrap_or_else(|| Location { path: "".into(), line: 1, column: 1 });
        out.push(note(&at, format!("pending migrations: none; the database has applied every migration (per {bookkeeping})")));
    }
    out
}

fn note(location: &Location, message: String) -> Diagnostic {
    Diagnostic { location: location.clone(), severity: Severity::Info, message }
}

/// Counts the rows that fail `requirement`, when `live` has what the
/// count reads.
fn count(client: &mut Client, requirement: &Requirement, live: &Schema, earlier: &[&Change]) -> Option<Diagnostic> {
    let name = &requirement.table.name;
    // Only tables that exist now have rows.
    let table = live.tables.get(name)?;
    let what = &requirement.what;
    let at = &requirement.location;
    if let Some(c) = requirement.columns().iter().find(|c| table.column(c).is_none()) {
        return Some(note(at, format!("pending migration: {what} is not counted: `{name}` has no column `{c}` in the database yet")));
    }
    if let Check::ForeignKey { parent, parent_columns, .. } = &requirement.check {
        if let Some(c) = live.tables.get(parent).and_then(|p| parent_columns.iter().find(|c| p.column(c).is_none())) {
            return Some(note(at, format!("pending migration: {what} is not counted: `{parent}` has no column `{c}` in the database yet")));
        }
    }
    if let Check::NotNull(column) = &requirement.check {
        let fill = earlier.iter().find(|c| c.rows.iter().any(|r| matches!(r, RowChange::FillsNulls { table, column: filled } if table == name && filled == column)));
        if let Some(fill) = fill {
            let by = match fill.location == *at {
                true => "the same operation".to_string(),
                false => format!("{} ({})", fill.what, short(&fill.location)),
            };
            return Some(note(at, format!("pending migration: {what} is safe: {by} fills its NULLs first")));
        }
    }
    let n = match client.query_one(&requirement.query(live), &[]) {
        Ok(row) => row.try_get::<_, i64>(0).unwrap_or(0),
        Err(e) => {
            let message = format!("pending migration: could not count the rows of `{name}` that would fail {what}: {}", describe(&e));
            return Some(Diagnostic { location: at.clone(), severity: Severity::Warning, message });
        }
    };
    let rows = if n == 1 { "row" } else { "rows" };
    let mut message = format!("pending migration: {n} existing {rows} of `{name}` would fail {what}");
    let mut severity = if n > 0 { Severity::Error } else { Severity::Info };
    if let Some(change) = earlier.iter().rev().find(|c| c.rows.iter().any(|r| requirement.is_touched_by(r))).filter(|_| n > 0) {
        message.push_str(&format!(", unless {} ({}), which runs before it, changes them", change.what, short(&change.location)));
        severity = Severity::Warning;
    }
    Some(Diagnostic { location: at.clone(), severity, message })
}

fn short(at: &Location) -> String {
    format!("{}:{}", at.path, at.line)
}

/// A requirement a pending change adds to a table that existed before it.
pub struct Requirement<'a> {
    pub table: &'a Table,
    pub what: String,
    pub check: Check,
    pub location: Location,
}

/// What a row must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// A new NOT NULL column without a default: every row fails.
    NoRows,
    /// NOT NULL on an existing column.
    NotNull(String),
    /// A string column's new length limit.
    ShorterThan(String, u32),
    /// A CHECK expression and the columns it reads.
    Expression(String, Vec<String>),
    ForeignKey { columns: Vec<String>, parent: QualifiedName, parent_columns: Vec<String> },
    /// UNIQUE or PRIMARY KEY: rows that share a key.
    NoDuplicates(Vec<String>),
}

impl Requirement<'_> {
    /// The columns of the table the count reads.
    pub fn columns(&self) -> Vec<String> {
        match &self.check {
            Check::NoRows => Vec::new(),
            Check::NotNull(c) | Check::ShorterThan(c, _) => vec![c.clone()],
            Check::Expression(_, columns) | Check::ForeignKey { columns, .. } | Check::NoDuplicates(columns) => columns.clone(),
        }
    }

    /// `SELECT count(*) ...` of the rows that fail it, on `live`.
    pub fn query(&self, live: &Schema) -> String {
        let target = qualified(&self.table.name.schema, &self.table.name.name);
        let quoted = |columns: &[String]| -> Vec<String> { columns.iter().map(|c| ident(c)).collect() };
        let all_set = |columns: &[String], prefix: &str| quoted(columns).iter().map(|c| format!("{prefix}{c} IS NOT NULL")).collect::<Vec<_>>().join(" AND ");
        match &self.check {
            Check::NoRows => format!("SELECT count(*) FROM {target}"),
            Check::NotNull(c) => format!("SELECT count(*) FROM {target} WHERE {} IS NULL", ident(c)),
            Check::ShorterThan(c, n) => format!("SELECT count(*) FROM {target} WHERE char_length({}) > {n}", ident(c)),
            Check::Expression(expression, _) => format!("SELECT count(*) FROM {target} WHERE NOT ({expression})"),
            // A parent table the database does not have yet is empty when the key is added.
            Check::ForeignKey { columns, parent, parent_columns } if live.tables.contains_key(parent) && !parent_columns.is_empty() => {
                let join: Vec<String> = quoted(columns).iter().zip(quoted(parent_columns)).map(|(c, p)| format!("p.{p} = c.{c}")).collect();
                format!(
                    "SELECT count(*) FROM {target} c WHERE {} AND NOT EXISTS (SELECT 1 FROM {} p WHERE {})",
                    all_set(columns, "c."),
                    qualified(&parent.schema, &parent.name),
                    join.join(" AND ")
                )
            }
            Check::ForeignKey { columns, .. } => format!("SELECT count(*) FROM {target} WHERE {}", all_set(columns, "")),
            Check::NoDuplicates(columns) => format!(
                "SELECT coalesce(sum(n), 0)::int8 FROM (SELECT count(*) AS n FROM {target} WHERE {} GROUP BY {} HAVING count(*) > 1) d",
                all_set(columns, ""),
                quoted(columns).join(", ")
            ),
        }
    }

    /// Whether a change to rows made before this requirement changes what
    /// the count reads.
    pub fn is_touched_by(&self, change: &RowChange) -> bool {
        let name = &self.table.name;
        let parent = match &self.check {
            Check::ForeignKey { parent, parent_columns, .. } => Some((parent, parent_columns)),
            _ => None,
        };
        let reads = self.columns();
        let overlaps = |a: &[String], b: &[String]| a.iter().any(|c| b.contains(c));
        match change {
            RowChange::Unknown => true,
            RowChange::Table { table, columns: None } => table == name || parent.is_some_and(|(p, _)| p == table),
            RowChange::Table { table, columns: Some(columns) } => {
                (table == name && overlaps(columns, &reads)) || parent.is_some_and(|(p, pc)| p == table && overlaps(columns, pc))
            }
            RowChange::FillsNulls { table, column } => table == name && reads.contains(column),
        }
    }
}

/// What `after` requires of the rows of tables that `before` already had.
pub fn new_requirements<'a>(before: &Schema, after: &'a Schema) -> Vec<Requirement<'a>> {
    let mut out = Vec::new();
    for (name, table) in &after.tables {
        let Some(old) = before.tables.get(name) else { continue };
        for c in &table.columns {
            let location = c.provenance.current.location.clone();
            let (what, check) = match old.column(&c.name) {
                None if c.not_null && !c.fills_itself() => (format!("the new NOT NULL column `{}` (it has no default)", c.name), Check::NoRows),
                Some(o) if c.not_null && !o.not_null => (format!("NOT NULL on `{}`", c.name), Check::NotNull(c.name.clone())),
                Some(o) => match shorter(o, c) {
                    Some(n) => (format!("the new type {} of `{}`", c.data_type.display(), c.name), Check::ShorterThan(c.name.clone(), n)),
                    None => continue,
                },
                None => continue,
            };
            out.push(Requirement { table, what, check, location });
        }
        // A constraint counts once it is validated: when added, or when a
        // NOT VALID one is validated.
        for k in table.constraints.iter().filter(|k| k.validated && !old.constraint(&k.name).is_some_and(|o| o.validated)) {
            if let Some((what, check)) = violating_rows(k) {
                out.push(Requirement { table, what, check, location: k.provenance.current.location.clone() });
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

fn violating_rows(k: &Constraint) -> Option<(String, Check)> {
    match &k.kind {
        ConstraintKind::Check { expression, .. } => {
            Some((format!("the new CHECK `{}` ({expression})", k.name), Check::Expression(expression.clone(), k.columns.clone())))
        }
        ConstraintKind::ForeignKey { references, referenced_columns, .. } => Some((
            format!("the new FOREIGN KEY `{}` to `{references}`", k.name),
            Check::ForeignKey { columns: k.columns.clone(), parent: references.clone(), parent_columns: referenced_columns.clone() },
        )),
        ConstraintKind::Unique | ConstraintKind::PrimaryKey => Some((
            format!("the new {} `{}` ({}) as duplicates", k.kind.label().to_uppercase(), k.name, k.columns.join(", ")),
            Check::NoDuplicates(k.columns.clone()),
        )),
        ConstraintKind::Exclusion { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbveto_source::SourceFile;

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
        let got: Vec<String> = new_requirements(&before, &after).into_iter().map(|r| format!("{} | {}", r.what, r.query(&after))).collect();
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
        // A parent the database does not have yet is empty: every key fails.
        let fk = new_requirements(&before, &after).into_iter().find(|r| matches!(r.check, Check::ForeignKey { .. })).expect("fk");
        assert_eq!(fk.query(&before), "SELECT count(*) FROM \"public\".\"orders\" WHERE \"customer\" IS NOT NULL");
    }

    #[test]
    fn a_column_added_with_a_default_or_a_check_validated_later() {
        let base = "CREATE TABLE orders (id int PRIMARY KEY, state text);";
        let with_default = schema(&format!("{base} ALTER TABLE orders ADD COLUMN total int NOT NULL DEFAULT 0;"));
        assert!(new_requirements(&schema(base), &with_default).is_empty());
        let not_valid = schema(&format!("{base} ALTER TABLE orders ADD CONSTRAINT state_set CHECK (state IS NOT NULL) NOT VALID;"));
        assert!(new_requirements(&schema(base), &not_valid).is_empty());
        let validated = schema(&format!(
            "{base} ALTER TABLE orders ADD CONSTRAINT state_set CHECK (state IS NOT NULL) NOT VALID; ALTER TABLE orders VALIDATE CONSTRAINT state_set;"
        ));
        let got: Vec<String> = new_requirements(&not_valid, &validated).into_iter().map(|r| r.what).collect();
        assert_eq!(got, ["the new CHECK `state_set` (state IS NOT NULL)"]);
    }

    #[test]
    fn changes_to_the_rows_a_count_reads() {
        let before = schema("CREATE TABLE customers (id int PRIMARY KEY); CREATE TABLE orders (id int, state text, note text, customer int);");
        let after = schema(
            "CREATE TABLE customers (id int PRIMARY KEY); CREATE TABLE orders (id int, state text NOT NULL, note text, customer int REFERENCES customers);",
        );
        let requirements = new_requirements(&before, &after);
        let touched = |sql: &str| -> Vec<String> {
            let changes = dbveto_sql::row_changes(sql);
            requirements.iter().filter(|r| changes.iter().any(|c| r.is_touched_by(c))).map(|r| r.what.clone()).collect()
        };
        assert_eq!(touched("UPDATE orders SET note = 'x'"), Vec::<String>::new());
        assert_eq!(touched("UPDATE orders SET state = lower(state)"), ["NOT NULL on `state`"]);
        assert_eq!(touched("DELETE FROM customers WHERE id > 9"), ["the new FOREIGN KEY `orders_customer_fkey` to `customers`"]);
        assert_eq!(touched("DELETE FROM orders").len(), 2);
        assert_eq!(touched("DO $$ BEGIN END $$").len(), 2);
    }

    #[test]
    fn golang_migrate_keeps_only_the_current_version() {
        assert!(is_applied(Bookkeeping::CurrentVersion, &[vec![3]], &[2]));
        assert!(!is_applied(Bookkeeping::CurrentVersion, &[vec![3]], &[4]));
        assert!(!is_applied(Bookkeeping::AppliedVersions, &[vec![3]], &[2]));
        assert_eq!(parse_version("2024.01_2"), vec![2024, 1, 2]);
    }

    fn key(s: &str) -> (String, String) {
        let (a, n) = s.split_once('.').unwrap_or((s, ""));
        (a.to_string(), n.to_string())
    }

    #[test]
    fn django_squashed_migrations() {
        let applied: BTreeSet<(String, String)> = ["shop.0001_initial", "shop.0002_price"].into_iter().map(key).collect();
        let replaces = [key("shop.0001_initial"), key("shop.0002_price")];
        assert_eq!(django_status(&key("shop.0001_squashed_0002_price"), &replaces, &applied), Status::Applied);
        assert_eq!(django_status(&key("shop.0003_more"), &[], &applied), Status::Pending);
        let some: BTreeSet<(String, String)> = [key("shop.0001_initial")].into_iter().collect();
        assert!(matches!(django_status(&key("shop.0001_squashed_0002_price"), &replaces, &some), Status::PartlyApplied(why) if why.contains("shop.0001_initial")));
        assert_eq!(django_status(&key("shop.0001_squashed_0002_price"), &replaces, &BTreeSet::new()), Status::Pending);
    }

    #[test]
    fn alembic_heads_apply_their_ancestors_and_dependencies() {
        let ids = |v: &[&str]| -> Vec<String> { v.iter().map(|s| s.to_string()).collect() };
        let (none, a, b, c, ab) = (ids(&[]), ids(&["a"]), ids(&["b"]), ids(&["c"]), ids(&["b", "c"]));
        // a <- b, a <- c (two branches), merge bc; d depends on c, on its own branch.
        let revisions = [
            RevisionNode { id: "a", down: &none, depends_on: &none },
            RevisionNode { id: "b", down: &a, depends_on: &none },
            RevisionNode { id: "c", down: &a, depends_on: &none },
            RevisionNode { id: "m", down: &ab, depends_on: &none },
            RevisionNode { id: "d", down: &none, depends_on: &c },
            RevisionNode { id: "e", down: &b, depends_on: &none },
        ];
        let applied = |heads: &[&str]| alembic_applied(&revisions, &ids(heads)).map(|s| s.into_iter().collect::<Vec<_>>());
        assert_eq!(applied(&["b"]), Ok(ids(&["a", "b"])));
        assert_eq!(applied(&["b", "c"]), Ok(ids(&["a", "b", "c"])));
        assert_eq!(applied(&["m"]), Ok(ids(&["a", "b", "c", "m"])));
        assert_eq!(applied(&["d", "e"]), Ok(ids(&["a", "b", "c", "d", "e"])));
        assert_eq!(applied(&[]), Ok(Vec::new()));
        assert_eq!(applied(&["zz"]), Err("zz".to_string()));
    }
}
