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

/// Sorts `.sql` files into migration sets and query files.
pub fn classify(files: Vec<SourceFile>) -> (Vec<MigrationSet>, Vec<SourceFile>, Vec<Diagnostic>) {
    let mut sets: BTreeMap<(String, MigrationTool), Vec<Migration>> = BTreeMap::new();
    let mut queries = Vec::new();
    let mut diagnostics = Vec::new();
    for file in files {
        let (dir, name) = match file.path.rsplit_once('/') {
            Some((d, n)) => (d.to_string(), n.to_string()),
            None => (".".to_string(), file.path.to_string()),
        };
        let text_len = file.text.len();
        let lower_name = name.to_ascii_lowercase();
        let (tool, version, up) = if let Some(up) = section(&file.text, "-- +goose up", "-- +goose down") {
            (MigrationTool::Goose, leading_number(&name), up)
        } else if let Some(up) = section(&file.text, "-- migrate:up", "-- migrate:down") {
            (MigrationTool::Dbmate, leading_number(&name), up)
        } else if lower_name.ends_with(".down.sql") || is_flyway(&name, 'U') {
            continue;
        } else if lower_name.ends_with(".up.sql") && leading_number(&name).is_some() && name.contains('_') {
            (MigrationTool::GolangMigrate, leading_number(&name), 0..text_len)
        } else if let Some(v) = flyway_version(&name) {
            (MigrationTool::Flyway, Some(v), 0..text_len)
        } else if is_flyway(&name, 'R') {
            (MigrationTool::Flyway, Some(u64::MAX), 0..text_len)
        } else if leading_number(&name).is_some() && name.contains('_') {
            (MigrationTool::Numbered, leading_number(&name), 0..text_len)
        } else if matches!(lower_name.as_str(), "schema.sql" | "structure.sql") || file.text.contains("PostgreSQL database dump") {
            (MigrationTool::SchemaDump, Some(0), 0..text_len)
        } else {
            if file.text.contains("-- name:") {
                queries.push(file);
            }
            continue;
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
        sets.entry((key_dir, tool)).or_default().push(Migration { file, version, up: vec![up] });
    }
    let mut out = Vec::new();
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
        out.push(MigrationSet { dir, tool, migrations });
    }
    (out, queries, diagnostics)
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
