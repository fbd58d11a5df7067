//! Recognising SQL migration sets by their tool's conventions and putting
//! each set in the order the tool applies it.

use std::collections::BTreeMap;
use std::ops::Range;

use dbveto_source::{Diagnostic, Severity, SourceFile};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MigrationTool {
    /// `NNN_name.up.sql` (golang-migrate, sqlx reversible).
    GolangMigrate,
    /// `-- +goose Up` sections.
    Goose,
    /// `-- migrate:up` sections.
    Dbmate,
    /// `V<version>__name.sql`, then `R__name.sql`.
    Flyway,
    /// `<timestamp or number>_name.sql` (sqlx, refinery and hand-rolled runners).
    Numbered,
    /// One file: `schema.sql`, `structure.sql`, or `pg_dump` output.
    SchemaDump,
    /// Django's `migrations/` packages, in the order `migrate` applies them.
    Django,
    /// Alembic's `versions/` revisions, in `down_revision` order.
    Alembic,
    /// No migrations: the tables SQLAlchemy's `metadata.create_all()` makes from the models.
    SqlalchemyModels,
}

impl MigrationTool {
    pub fn name(self) -> &'static str {
        match self {
            MigrationTool::GolangMigrate => "golang-migrate",
            MigrationTool::Goose => "goose",
            MigrationTool::Dbmate => "dbmate",
            MigrationTool::Flyway => "flyway",
            MigrationTool::Numbered => "numbered",
            MigrationTool::SchemaDump => "schema-dump",
            MigrationTool::Django => "django",
            MigrationTool::Alembic => "alembic",
            MigrationTool::SqlalchemyModels => "sqlalchemy-models",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Migration {
    pub file: SourceFile,
    /// The version parsed from the name; repeatable Flyway migrations sort last.
    pub version: Vec<u64>,
    /// The byte ranges that the tool applies when migrating up.
    pub up: Vec<Range<usize>>,
}

/// Migrations that build one database, in the order they are applied.
#[derive(Debug, Clone)]
pub struct MigrationSet {
    pub dir: String,
    pub tool: MigrationTool,
    pub migrations: Vec<Migration>,
}

/// A migration folder declared in the configuration, for when the
/// conventions guess wrong: every `.sql` file directly in `dir` is a
/// migration of `tool`. Sets that name the same `database` are one
/// database, replayed one set after the other in declaration order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSet {
    pub dir: String,
    pub tool: MigrationTool,
    pub database: Option<String>,
}

impl MigrationTool {
    /// The tools a folder can be declared as (Django's migrations are
    /// found through its apps, never declared).
    pub fn declarable() -> &'static [MigrationTool] {
        &[
            MigrationTool::GolangMigrate,
            MigrationTool::Goose,
            MigrationTool::Dbmate,
            MigrationTool::Flyway,
            MigrationTool::Numbered,
            MigrationTool::SchemaDump,
        ]
    }

    pub fn from_name(name: &str) -> Option<MigrationTool> {
        Self::declarable().iter().copied().find(|t| t.name() == name)
    }
}

/// What a `.sql` file is.
enum Role {
    Migration(MigrationTool, Option<u64>, Range<usize>),
    /// A down migration, a Flyway undo: never applied when migrating up.
    Skipped,
    Other,
}

/// Sorts `.sql` files into migration sets and query files; in the folders
/// the configuration declares, by the declared tool's conventions.
pub fn classify_declared(files: Vec<SourceFile>, declared: &[DeclaredSet]) -> (Vec<MigrationSet>, Vec<SourceFile>, Vec<Diagnostic>) {
    let mut sets: BTreeMap<(String, MigrationTool), Vec<Migration>> = BTreeMap::new();
    // Which declaration a set comes from, to merge sets by database.
    let mut declared_sets: BTreeMap<(String, MigrationTool), usize> = BTreeMap::new();
    let mut declared_used = vec![false; declared.len()];
    let mut queries = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let (dir, name) = match file.path.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n.to_string()),
            None => (".".to_string(), file.path.to_string()),
        };
        let declaration = declared.iter().position(|d| d.dir == dir);
        let role = match declaration {
            Some(i) => {
                declared_used[i] = true;
                match as_declared(declared[i].tool, &file, &name) {
                    Ok(role) => role,
                    Err(message) => {
                        diagnostics.push(Diagnostic::file(file.path.clone(), Severity::Warning, message));
                        continue;
                    }
                }
            }
            None => guess(&file, &name),
        };
        let (tool, version, up) = match role {
            Role::Migration(tool, version, up) => (tool, version, up),
            Role::Skipped => continue,
            Role::Other => {
                if file.text.contains("-- name:") {
                    queries.push(file);
                }
                continue;
            }
        };
        let Some(version) = version else {
            diagnostics.push(Diagnostic::file(
                file.path.clone(),
                Severity::Warning,
                format!("{} migration without a version number in its name; not applied", tool.name()),
            ));
            continue;
        };
        // A schema dump is a database of its own; migrations group by folder.
        let key_dir = if tool == MigrationTool::SchemaDump { file.path.to_string() } else { dir };
        let version = if tool == MigrationTool::Flyway && version == u64::MAX { vec![u64::MAX] } else { flyway_parts(&name).unwrap_or(vec![version]) };
        if let Some(i) = declaration {
            declared_sets.insert((key_dir.clone(), tool), i);
        }
        sets.entry((key_dir, tool)).or_default().push(Migration { file, version, up: vec![up] });
    }
    for (d, used) in declared.iter().zip(&declared_used) {
        if !used {
            diagnostics.push(Diagnostic::file(d.dir.as_str(), Severity::Warning, format!("declared {} migrations folder has no .sql files", d.tool.name())));
        }
    }
    let mut out = Vec::new();
    let mut declared_out: Vec<(usize, MigrationSet)> = Vec::new();
    for ((dir, tool), mut migrations) in sets {
        migrations.sort_by(|a, b| (&a.version, &a.file.path).cmp(&(&b.version, &b.file.path)));
        for pair in migrations.windows(2) {
            if pair[0].version == pair[1].version && pair[0].version != [u64::MAX] {
                diagnostics.push(Diagnostic::file(
                    pair[1].file.path.clone(),
                    Severity::Warning,
                    format!("same version as `{}`; both are applied, in name order", pair[0].file.path),
                ));
            }
        }
        let set = MigrationSet { dir: dir.clone(), tool, migrations };
        match declared_sets.get(&(dir, tool)) {
            Some(i) => declared_out.push((*i, set)),
            None => out.push(set),
        }
    }
    out.extend(merge_databases(declared_out, declared));
    (out, queries, diagnostics)
}

/// Declared sets in declaration order; those naming the same database
/// become one set, replayed one after the other, under the first folder.
fn merge_databases(mut sets: Vec<(usize, MigrationSet)>, declared: &[DeclaredSet]) -> Vec<MigrationSet> {
    sets.sort_by(|a, b| (a.0, &a.1.dir).cmp(&(b.0, &b.1.dir)));
    let mut out: Vec<(Option<&str>, MigrationSet)> = Vec::new();
    for (i, set) in sets {
        let database = declared[i].database.as_deref();
        match out.iter_mut().find(|(db, _)| database.is_some() && *db == database) {
            Some((_, merged)) => merged.migrations.extend(set.migrations),
            None => out.push((database, set)),
        }
    }
    out.into_iter().map(|(_, set)| set).collect()
}

/// The conventions, tried in turn.
fn guess(file: &SourceFile, name: &str) -> Role {
    let text_len = file.text.len();
    let lower_name = name.to_ascii_lowercase();
    if let Some(up) = section(&file.text, "-- +goose up", "-- +goose down") {
        Role::Migration(MigrationTool::Goose, leading_number(name), up)
    } else if let Some(up) = section(&file.text, "-- migrate:up", "-- migrate:down") {
        Role::Migration(MigrationTool::Dbmate, leading_number(name), up)
    } else if lower_name.ends_with(".down.sql") || is_flyway(name, 'U') {
        Role::Skipped
    } else if lower_name.ends_with(".up.sql") && leading_number(name).is_some() && name.contains('_') {
        Role::Migration(MigrationTool::GolangMigrate, leading_number(name), 0..text_len)
    } else if let Some(v) = flyway_version(name) {
        Role::Migration(MigrationTool::Flyway, Some(v), 0..text_len)
    } else if is_flyway(name, 'R') {
        Role::Migration(MigrationTool::Flyway, Some(u64::MAX), 0..text_len)
    } else if leading_number(name).is_some() && name.contains('_') {
        Role::Migration(MigrationTool::Numbered, leading_number(name), 0..text_len)
    } else if matches!(lower_name.as_str(), "schema.sql" | "structure.sql") || file.text.contains("PostgreSQL database dump") {
        Role::Migration(MigrationTool::SchemaDump, Some(0), 0..text_len)
    } else {
        Role::Other
    }
}

/// A file of a declared folder, read by its tool's convention only; `Err`
/// says why the tool would not apply it.
fn as_declared(tool: MigrationTool, file: &SourceFile, name: &str) -> Result<Role, String> {
    let whole = 0..file.text.len();
    let lower_name = name.to_ascii_lowercase();
    let version = leading_number(name);
    let role = match tool {
        MigrationTool::Goose => section(&file.text, "-- +goose up", "-- +goose down").map(|up| Role::Migration(tool, version, up)),
        MigrationTool::Dbmate => section(&file.text, "-- migrate:up", "-- migrate:down").map(|up| Role::Migration(tool, version, up)),
        MigrationTool::GolangMigrate if lower_name.ends_with(".down.sql") => Some(Role::Skipped),
        MigrationTool::GolangMigrate => lower_name.ends_with(".up.sql").then_some(Role::Migration(tool, version, whole)),
        MigrationTool::Flyway if is_flyway(name, 'U') => Some(Role::Skipped),
        MigrationTool::Flyway if is_flyway(name, 'R') => Some(Role::Migration(tool, Some(u64::MAX), whole)),
        MigrationTool::Flyway => flyway_version(name).map(|v| Role::Migration(tool, Some(v), whole)),
        MigrationTool::Numbered => Some(Role::Migration(tool, version, whole)),
        MigrationTool::SchemaDump => Some(Role::Migration(tool, Some(0), whole)),
        MigrationTool::Django | MigrationTool::Alembic | MigrationTool::SqlalchemyModels => None,
    };
    role.ok_or_else(|| {
        let expected = match tool {
            MigrationTool::Goose => "a `-- +goose Up` section",
            MigrationTool::Dbmate => "a `-- migrate:up` section",
            MigrationTool::GolangMigrate => "a name like `001_name.up.sql`",
            MigrationTool::Flyway => "a name like `V1__name.sql`",
            _ => "its conventions",
        };
        format!("in a folder declared as {} migrations but without {expected}; not applied", tool.name())
    })
}

/// The range between a marker line and the next end marker (or the end).
fn section(text: &str, start: &str, end: &str) -> Option<Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let s = find_marker(&lower, start)?;
    let body_start = lower[s..].find('\n').map_or(lower.len(), |i| s + i + 1);
    let body_end = find_marker(&lower[body_start..], end).map_or(lower.len(), |i| body_start + i);
    Some(body_start..body_end)
}

/// A marker at the start of a line.
fn find_marker(text: &str, marker: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(marker) {
        let at = from + i;
        if at == 0 || text.as_bytes()[at - 1] == b'\n' {
            return Some(at);
        }
        from = at + marker.len();
    }
    None
}

fn leading_number(name: &str) -> Option<u64> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

fn is_flyway(name: &str, prefix: char) -> bool {
    name.starts_with(prefix) && name.contains("__") && name.to_ascii_lowercase().ends_with(".sql")
}

/// `V1_2__x.sql` → `[1, 2]`.
fn flyway_parts(name: &str) -> Option<Vec<u64>> {
    if !is_flyway(name, 'V') {
        return None;
    }
    let (version, _) = name[1..].split_once("__")?;
    version.split(['.', '_']).map(|p| p.parse().ok()).collect()
}

fn flyway_version(name: &str) -> Option<u64> {
    flyway_parts(name)?.first().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(files: Vec<SourceFile>) -> (Vec<MigrationSet>, Vec<SourceFile>, Vec<Diagnostic>) {
        classify_declared(files, &[])
    }

    fn f(path: &str, text: &str) -> SourceFile {
        SourceFile::new(path, text)
    }

    #[test]
    fn golang_migrate_orders_by_number_not_text_and_ignores_down() {
        let (sets, _, d) = classify(vec![
            f("db/10_c.up.sql", ""),
            f("db/9_b.up.sql", ""),
            f("db/9_b.down.sql", ""),
            f("db/1_a.up.sql", ""),
        ]);
        assert!(d.is_empty());
        let names: Vec<&str> = sets[0].migrations.iter().map(|m| &*m.file.path).collect();
        assert_eq!(names, ["db/1_a.up.sql", "db/9_b.up.sql", "db/10_c.up.sql"]);
        assert_eq!(sets[0].tool, MigrationTool::GolangMigrate);
    }

    #[test]
    fn goose_and_dbmate_apply_only_the_up_section() {
        let goose = "-- +goose Up\nCREATE TABLE a (x int);\n-- +goose Down\nDROP TABLE a;\n";
        let (sets, _, _) = classify(vec![f("m/20240101_a.sql", goose)]);
        let m = &sets[0].migrations[0];
        assert_eq!(sets[0].tool, MigrationTool::Goose);
        assert_eq!(&goose[m.up[0].clone()], "CREATE TABLE a (x int);\n");
        let dbmate = "-- migrate:up\nCREATE TABLE b (x int);\n\n-- migrate:down\nDROP TABLE b;\n";
        let (sets, _, _) = classify(vec![f("db/migrations/20240101_b.sql", dbmate)]);
        assert_eq!(sets[0].tool, MigrationTool::Dbmate);
        assert_eq!(&dbmate[sets[0].migrations[0].up[0].clone()], "CREATE TABLE b (x int);\n\n");
    }

    #[test]
    fn flyway_versions_then_repeatables() {
        let (sets, _, _) = classify(vec![
            f("sql/R__views.sql", ""),
            f("sql/V1_10__c.sql", ""),
            f("sql/V1_2__b.sql", ""),
            f("sql/U1_2__b.sql", ""),
            f("sql/V1__a.sql", ""),
        ]);
        let names: Vec<&str> = sets[0].migrations.iter().map(|m| &*m.file.path).collect();
        assert_eq!(names, ["sql/V1__a.sql", "sql/V1_2__b.sql", "sql/V1_10__c.sql", "sql/R__views.sql"]);
    }

    #[test]
    fn duplicate_versions_are_reported() {
        let (_, _, d) = classify(vec![f("db/1_a.up.sql", ""), f("db/1_b.up.sql", "")]);
        assert_eq!(d.len(), 1);
    }

    fn declared(dir: &str, tool: MigrationTool, database: Option<&str>) -> DeclaredSet {
        DeclaredSet { dir: dir.into(), tool, database: database.map(Into::into) }
    }

    #[test]
    fn a_declared_folder_is_read_by_its_tool_only() {
        // Guessed, `2_b.sql` would be a numbered migration of its own set.
        let files = vec![f("db/1_a.up.sql", ""), f("db/1_a.down.sql", ""), f("db/2_b.sql", ""), f("db/3_c.up.sql", "")];
        let (sets, _, d) = classify_declared(files, &[declared("db", MigrationTool::GolangMigrate, None)]);
        assert_eq!(sets.len(), 1);
        let names: Vec<&str> = sets[0].migrations.iter().map(|m| &*m.file.path).collect();
        assert_eq!(names, ["db/1_a.up.sql", "db/3_c.up.sql"]);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("declared as golang-migrate") && &*d[0].location.path == "db/2_b.sql", "{d:?}");
    }

    #[test]
    fn sets_of_one_database_are_replayed_in_declaration_order() {
        let files = vec![f("core/1_users.up.sql", ""), f("billing/1_invoices.up.sql", ""), f("billing/2_items.up.sql", ""), f("other/1_x.up.sql", "")];
        let decl = [declared("core", MigrationTool::GolangMigrate, Some("main")), declared("billing", MigrationTool::GolangMigrate, Some("main"))];
        let (sets, _, d) = classify_declared(files, &decl);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(sets.len(), 2);
        let main = sets.iter().find(|s| s.dir == "core").expect("merged set under its first folder");
        let names: Vec<&str> = main.migrations.iter().map(|m| &*m.file.path).collect();
        assert_eq!(names, ["core/1_users.up.sql", "billing/1_invoices.up.sql", "billing/2_items.up.sql"]);
    }

    #[test]
    fn a_declared_folder_without_files_is_reported() {
        let (_, _, d) = classify_declared(vec![], &[declared("db/migrate", MigrationTool::Goose, None)]);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("no .sql files"));
    }

    #[test]
    fn schema_dumps_and_query_files() {
        let (sets, q, _) = classify(vec![
            f("db/schema.sql", ""),
            f("db/queries/logs.sql", "-- name: CreateLog :exec\nINSERT INTO t VALUES (1);"),
            f("scripts/adhoc.sql", "SELECT 1;"),
        ]);
        assert_eq!(sets.len(), 1);
        assert_eq!(sets[0].tool, MigrationTool::SchemaDump);
        assert_eq!(q.len(), 1);
    }
}
