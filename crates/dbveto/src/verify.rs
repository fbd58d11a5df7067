//! `dbveto verify` and `check --database-url`: the glue between the
//! analysis and `dbveto_verify`. Which statements build each database
//! (the repository's SQL, or DDL derived from the schema of a frontend
//! whose migrations are not SQL), which database each finding belongs to,
//! and the summary people read.

use std::path::PathBuf;

use dbveto_discover::{MigrationSet, MigrationTool};
use dbveto_rules::{Finding, Rule, Verification, VerificationStatus};
use dbveto_source::{Diagnostic, Location, Severity};
use dbveto_verify::pending::{self, Bookkeeping};
use dbveto_verify::{apply, ddl, live, DatabaseInput};

use crate::analysis::{Analysis, Database, Framework};

pub struct Options {
    pub database_url: Option<String>,
    pub postgres_bin: Option<PathBuf>,
    pub schema_only: bool,
    pub pending: bool,
}

#[derive(Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub diagnostics: Vec<Diagnostic>,
    /// Differences between dbveto's schema and PostgreSQL's catalog.
    pub differences: usize,
    /// Migrations (or derived DDL) PostgreSQL refused.
    pub failed_statements: usize,
    /// Existing rows a pending migration would fail on.
    pub pending_violations: usize,
    /// What each database was built from, for JSON.
    pub databases: Vec<serde_json::Value>,
}

impl Report {
    pub fn count(&self, status: VerificationStatus) -> usize {
        self.findings.iter().filter(|f| f.verification.as_ref().is_some_and(|v| v.status == status)).count()
    }

    /// PostgreSQL disagrees with dbveto somewhere.
    pub fn disagrees(&self) -> bool {
        self.count(VerificationStatus::NotReproduced) > 0 || self.differences > 0 || self.failed_statements > 0
    }
}

/// Whether the tool's migrations are SQL that the server can run as they are.
fn is_sql(tool: MigrationTool) -> bool {
    matches!(
        tool,
        MigrationTool::GolangMigrate | MigrationTool::Goose | MigrationTool::Dbmate | MigrationTool::Flyway | MigrationTool::Numbered | MigrationTool::SchemaDump
    )
}

/// The statements that build a database: its SQL migrations as they are,
/// or DDL derived from `schema`.
fn steps(db: &Database, schema: &dbveto_schema::Schema) -> Vec<apply::Step> {
    if is_sql(db.set.tool) {
        db.set.migrations.iter().flat_map(|m| apply::migration_steps(&m.file, &m.up)).collect()
    } else {
        ddl::derived_steps(schema)
    }
}

/// The schema without the foreign keys whose referenced table it does not
/// have, each left out with a note.
fn without_dangling_foreign_keys(schema: &dbveto_schema::Schema, notes: &mut Vec<Diagnostic>) -> dbveto_schema::Schema {
    let mut schema = schema.clone();
    let tables: Vec<dbveto_schema::QualifiedName> = schema.tables.keys().cloned().collect();
    for table in schema.tables.values_mut() {
        table.constraints.retain(|k| {
            let dbveto_schema::ConstraintKind::ForeignKey { references, .. } = &k.kind else { return true };
            if tables.contains(references) {
                return true;
            }
            notes.push(Diagnostic {
                location: k.provenance.current.location.clone(),
                severity: Severity::Info,
                message: format!("foreign key `{}` references `{references}`, which no migration of the repository creates; it is left out of the derived DDL", k.name),
            });
            false
        });
    }
    schema
}

fn at_dir(dir: &str) -> Location {
    Location { path: dir.into(), line: 1, column: 1 }
}

fn skipped(message: String) -> Verification {
    Verification { status: VerificationStatus::Skipped, sqlstate: None, message, statement: None }
}

/// Verifies on a throwaway server built from the repository, or, with a
/// database URL, against a live database: then the findings are those of
/// its catalog (as `check --database-url` finds them), proven on a copy.
pub fn verify(analysis: &mut Analysis, rules: &[&Rule], options: &Options) -> Result<Report, String> {
    match &options.database_url {
        Some(url) => verify_live(analysis, rules, url, options),
        None => {
            let findings = if options.schema_only { Vec::new() } else { analysis.check(rules) };
            verify_throwaway(analysis, findings, options)
        }
    }
}

fn verify_throwaway(analysis: &Analysis, mut findings: Vec<Finding>, options: &Options) -> Result<Report, String> {
    let bin = dbveto_verify::Binaries::find(options.postgres_bin.as_deref())?;
    let server = dbveto_verify::Server::start(&bin).map_err(|e| format!("could not start a throwaway PostgreSQL: {e}"))?;
    let owner: Vec<Option<usize>> = findings.iter().map(|f| owner_of(analysis, f)).collect();
    let mut report = Report::default();
    for (i, db) in analysis.databases.iter().enumerate() {
        let derived = !is_sql(db.set.tool);
        if derived {
            report.diagnostics.push(Diagnostic {
                location: at_dir(&db.set.dir),
                severity: Severity::Info,
                message: format!("database `{}` was built from DDL dbveto derived from the {} migrations (`dbveto schema --format sql`), not from SQL in the repository", db.set.dir, db.set.tool.name()),
            });
        }
        // A derived schema may name tables of apps outside the repository
        // (Django's `contenttypes`): their foreign keys cannot be built.
        let schema = match derived {
            true => without_dangling_foreign_keys(&db.schema, &mut report.diagnostics),
            false => db.schema.clone(),
        };
        let steps = steps(db, &schema);
        let input = DatabaseInput { name: &db.set.dir, schema: &schema, steps, derived };
        let mut mine: Vec<&mut Finding> = findings.iter_mut().zip(&owner).filter(|(_, o)| **o == Some(i)).map(|(f, _)| f).collect();
        let outcome = dbveto_verify::verify_database(&server, i, &input, &mut mine)?;
        let failed = outcome.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
        report.failed_statements += failed;
        report.differences += outcome.differences.len();
        report.databases.push(serde_json::json!({
            "name": db.set.dir,
            "tool": db.set.tool.name(),
            "schema_source": if derived { "derived" } else { "migrations" },
            "statements": input.steps.len(),
            "failed_statements": failed,
            "schema_differences": outcome.differences.len(),
        }));
        report.diagnostics.extend(outcome.diagnostics);
    }
    for (f, o) in findings.iter_mut().zip(&owner) {
        if o.is_none() {
            f.verification = Some(skipped(format!("no database of the repository has a table `{}`", f.table)));
        }
    }
    drop(server);
    report.findings = findings;
    Ok(report)
}

/// The database a finding is about: the closest of those with its table.
fn owner_of(analysis: &Analysis, finding: &Finding) -> Option<usize> {
    let table = dbveto_verify::prove::table_name(finding);
    analysis.closest_database(&finding.location.path, |s| s.tables.contains_key(&table))
}

/// The repository's database that a live catalog is: the one with the most
/// tables in common (the only one, usually).
fn matching_database<'a>(databases: &'a [Database], catalog: &dbveto_schema::Schema) -> Option<&'a Database> {
    databases
        .iter()
        .map(|db| (db.schema.tables.keys().filter(|t| catalog.tables.contains_key(*t)).count(), db))
        .filter(|(n, _)| *n > 0)
        .max_by_key(|(n, _)| *n)
        .map(|(_, db)| db)
}

fn verify_live(analysis: &mut Analysis, rules: &[&Rule], url: &str, options: &Options) -> Result<Report, String> {
    let mut live = live::connect(url)?;
    let catalog = dbveto_verify::catalog::read_schema(&mut live.client, &live.shown).map_err(|e| live.redactor.clean(&e))?;
    let mut report = Report::default();
    let db = matching_database(&analysis.databases, &catalog);
    if let Some(db) = db {
        let bookkept = bookkept(&mut live.client, db).map_err(|e| live.redactor.clean(&e))?;
        // The database should look like what the migrations it applied
        // build; the pending ones are not there yet.
        let (expected, table, pending_count) = match &bookkept {
            Bookkept::Read { table, migrations } => {
                let pending = migrations.iter().filter(|m| m.status != pending::Status::Applied).count();
                (pending::expected_schema(migrations), Some(table.clone()), Some(pending))
            }
            _ => (db.schema.clone(), None, None),
        };
        let differences = dbveto_verify::compare::compare(&expected, &catalog, dbveto_verify::Scope::LIVE);
        report.differences = differences.len();
        let fallback = at_dir(&db.set.dir);
        report.diagnostics.extend(differences.iter().map(|d| dbveto_verify::difference_diagnostic(d, &fallback)));
        if options.pending {
            let notes = match &bookkept {
                Bookkept::Read { table, migrations } => pending::preflight(&mut live.client, table, migrations, &catalog),
                Bookkept::Missing(message) => vec![Diagnostic { location: fallback.clone(), severity: Severity::Info, message: message.clone() }],
            };
            // Each error of the pre-flight is a requirement that existing rows fail.
            report.pending_violations = notes.iter().filter(|d| d.severity == Severity::Error).count();
            report.diagnostics.extend(notes.into_iter().map(|mut d| {
                d.message = live.redactor.clean(&d.message);
                d
            }));
        }
        report.databases.push(serde_json::json!({
            "name": db.set.dir,
            "tool": db.set.tool.name(),
            "schema_source": "live",
            "bookkeeping": table,
            "pending_migrations": pending_count,
            "schema_differences": differences.len(),
        }));
    } else {
        report.diagnostics.push(Diagnostic {
            location: at_dir("."),
            severity: Severity::Warning,
            message: format!("`{}` has none of the tables of the repository's migrations; nothing to compare", live.shown),
        });
    }
    if !options.schema_only {
        let index = substitute_catalog(analysis, catalog.clone());
        let mut findings = analysis.check(rules);
        prove_on_copy(&mut live, &catalog, analysis, index, &mut findings, options, &mut report)?;
        report.findings = findings;
    }
    Ok(report)
}

/// Proves the findings about the live database on a throwaway server that
/// holds a copy of its schema: the live database is never written to.
fn prove_on_copy(
    live: &mut live::LiveDatabase,
    catalog: &dbveto_schema::Schema,
    analysis: &Analysis,
    index: usize,
    findings: &mut [Finding],
    options: &Options,
    report: &mut Report,
) -> Result<(), String> {
    let owner: Vec<bool> = findings.iter().map(|f| owner_of(analysis, f) == Some(index)).collect();
    for (f, _) in findings.iter_mut().zip(&owner).filter(|(_, mine)| !**mine) {
        f.verification = Some(skipped(format!("the live database has no table `{}`", f.table)));
    }
    let mut mine: Vec<&mut Finding> = findings.iter_mut().zip(&owner).filter(|(_, o)| **o).map(|(f, _)| f).collect();
    if mine.is_empty() {
        return Ok(());
    }
    let skip_all = |mine: &mut [&mut Finding], why: String| {
        for f in mine.iter_mut() {
            f.verification = Some(skipped(format!("could not build a copy of the live schema to prove it on: {why}")));
        }
    };
    let server = match dbveto_verify::Binaries::find(options.postgres_bin.as_deref()).and_then(|bin| dbveto_verify::Server::start(&bin)) {
        Ok(server) => server,
        Err(e) => {
            skip_all(&mut mine, e);
            return Ok(());
        }
    };
    let prelude = dbveto_verify::copy::prelude(&mut live.client, &live.shown).map_err(|e| live.redactor.clean(&e))?;
    let mut copy = match dbveto_verify::copy::build(&server, "dbveto_live_copy", catalog, prelude) {
        Ok(copy) => copy,
        Err(e) => {
            skip_all(&mut mine, e);
            return Ok(());
        }
    };
    let fallback = at_dir(".");
    report.differences += copy.differences.len();
    report.diagnostics.append(&mut copy.diagnostics);
    report.diagnostics.extend(copy.differences.iter().map(|d| Diagnostic {
        location: d.location.clone().unwrap_or_else(|| fallback.clone()),
        severity: Severity::Warning,
        message: format!("copy of the live schema: {}", d.message),
    }));
    dbveto_verify::copy::prove(&mut copy, &mut mine)?;
    drop(copy);
    drop(server);
    Ok(())
}

/// Puts a live catalog in place of the schema of the repository's
/// database it matches (or adds it, when none does); its index.
fn substitute_catalog(analysis: &mut Analysis, catalog: dbveto_schema::Schema) -> usize {
    let best = matching_database(&analysis.databases, &catalog).map(|db| db.set.dir.clone());
    match analysis.databases.iter().position(|db| Some(&db.set.dir) == best.as_ref()) {
        Some(i) => {
            analysis.databases[i].schema = catalog;
            i
        }
        None => {
            analysis.databases.push(Database {
                set: MigrationSet { dir: ".".into(), tool: MigrationTool::SchemaDump, migrations: Vec::new() },
                schema: catalog,
                framework: Framework::None,
            });
            analysis.databases.len() - 1
        }
    }
}

/// What the migration tool's bookkeeping table says of a database's migrations.
enum Bookkept<'a> {
    /// The table, and every migration with whether it is applied.
    Read { table: String, migrations: Vec<pending::Migration<'a>> },
    /// Why nothing can be said.
    Missing(String),
}

/// Reads the bookkeeping table of `db`'s migration tool.
fn bookkept<'a>(client: &mut dbveto_verify::Client, db: &'a Database) -> Result<Bookkept<'a>, String> {
    let no_table = |table: &str| Bookkept::Missing(format!("pending migrations: the database has no `{table}` table; nothing to compare"));
    match &db.framework {
        Framework::Django(migrations) => {
            let Some(recorded) = pending::django_applied(client)? else { return Ok(no_table(pending::DJANGO_MIGRATIONS)) };
            let migrations = migrations
                .iter()
                .map(|m| {
                    let status = pending::django_status(&(m.app.clone(), m.name.clone()), &m.replaces, &recorded);
                    let counted = status != pending::Status::Applied;
                    let changes = m.changes.iter().map(|c| django_change(c, counted)).collect();
                    pending::Migration { name: format!("{}.{}", m.app, m.name), location: m.file.location(0), status, changes }
                })
                .collect();
            Ok(Bookkept::Read { table: pending::DJANGO_MIGRATIONS.into(), migrations })
        }
        Framework::Alembic(revisions) => {
            let Some(heads) = pending::alembic_heads(client)? else { return Ok(no_table(pending::ALEMBIC_VERSION)) };
            let nodes: Vec<pending::RevisionNode> =
                revisions.iter().map(|r| pending::RevisionNode { id: &r.id, down: &r.down, depends_on: &r.depends_on }).collect();
            let applied = match pending::alembic_applied(&nodes, &heads) {
                Ok(applied) => applied,
                Err(head) => {
                    return Ok(Bookkept::Missing(format!(
                        "pending migrations: `{}` names revision `{head}`, which no revision file of the repository defines; nothing to compare",
                        pending::ALEMBIC_VERSION
                    )))
                }
            };
            let migrations = revisions
                .iter()
                .map(|r| {
                    let status = if applied.contains(&r.id) { pending::Status::Applied } else { pending::Status::Pending };
                    let counted = status != pending::Status::Applied;
                    let changes = r.changes.iter().map(|c| alembic_change(c, counted)).collect();
                    pending::Migration { name: r.id.clone(), location: r.file.location(0), status, changes }
                })
                .collect();
            Ok(Bookkept::Read { table: pending::ALEMBIC_VERSION.into(), migrations })
        }
        Framework::None => {
            let Some(bookkeeping) = bookkeeping(&db.set) else {
                return Ok(Bookkept::Missing(format!("pending migrations: not checked for {} (no bookkeeping table)", db.set.tool.name())));
            };
            let Some((table, versions)) = pending::applied(client, bookkeeping)? else {
                return Ok(Bookkept::Missing(
                    "pending migrations: the database has no bookkeeping table of this migration tool; nothing to compare".into(),
                ));
            };
            let migrations = sql_migrations(db)
                .map(|m| {
                    let applied = pending::is_applied(bookkeeping, &versions, &m.version);
                    let status = if applied { pending::Status::Applied } else { pending::Status::Pending };
                    pending::Migration { name: m.file.path.to_string(), location: m.file.location(0), status, changes: sql_changes(m, !applied) }
                })
                .collect();
            Ok(Bookkept::Read { table, migrations })
        }
    }
}

/// A Django migration's change; `counted` when its effect on rows matters.
fn django_change(change: &dbveto_django::Change, counted: bool) -> pending::Change<'_> {
    let rows = match change {
        dbveto_django::Change::Sql { sql, .. } if counted => dbveto_sql::row_changes(sql),
        dbveto_django::Change::Code { .. } => vec![dbveto_sql::RowChange::Unknown],
        _ => Vec::new(),
    };
    let origin = change.origin();
    pending::Change {
        replay: Box::new(move |schema| change.replay(schema, &mut Vec::new())),
        rows,
        location: origin.location.clone(),
        what: format!("`{}`", origin.action.trim_matches('`')),
    }
}

/// An Alembic revision's change; `counted` when its effect on rows matters.
fn alembic_change(change: &dbveto_sqlalchemy::Change, counted: bool) -> pending::Change<'_> {
    let rows = match change.sql() {
        Some(sql) if counted => dbveto_sql::row_changes(sql),
        _ if change.is_unread() => vec![dbveto_sql::RowChange::Unknown],
        _ => Vec::new(),
    };
    pending::Change {
        replay: Box::new(move |schema| change.replay(schema, &mut Vec::new())),
        rows,
        location: change.location.clone(),
        what: format!("`{}`", change.action.trim_matches('`')),
    }
}

/// A SQL migration's changes: each statement on its own when it is
/// pending, else each up section at once.
fn sql_changes(m: &dbveto_discover::Migration, pending: bool) -> Vec<pending::Change<'_>> {
    let file = &m.file;
    let mut out = Vec::new();
    for range in &m.up {
        let pieces = match (pending, file.text.get(range.clone())) {
            (true, Some(text)) => dbveto_sql::split_statements(text).into_iter().map(|r| r.start + range.start..r.end + range.start).collect(),
            _ => vec![range.clone()],
        };
        for piece in pieces {
            let text = file.text.get(piece.clone()).unwrap_or_default();
            let rows = if pending { dbveto_sql::row_changes(text) } else { Vec::new() };
            let what = format!("`{}`", dbveto_verify::apply::one_line(text).trim_end_matches(';'));
            let location = file.location(piece.start);
            out.push(pending::Change { replay: Box::new(move |schema| dbveto_sql::replay(schema, file, piece.clone(), &mut Vec::new())), rows, location, what });
        }
    }
    out
}

fn bookkeeping(set: &MigrationSet) -> Option<Bookkeeping> {
    match set.tool {
        MigrationTool::GolangMigrate => Some(Bookkeeping::CurrentVersion),
        MigrationTool::Dbmate | MigrationTool::Numbered => Some(Bookkeeping::AppliedVersions),
        MigrationTool::Goose => Some(Bookkeeping::Goose),
        MigrationTool::Flyway => Some(Bookkeeping::Flyway),
        _ => None,
    }
}

/// The versioned migrations of a SQL set: Flyway's repeatable migrations
/// have no version; they re-run on change.
fn sql_migrations(db: &Database) -> impl Iterator<Item = &dbveto_discover::Migration> {
    let flyway = db.set.tool == MigrationTool::Flyway;
    db.set.migrations.iter().filter(move |m| !(flyway && m.file.path.rsplit('/').next().is_some_and(|n| n.starts_with("R__"))))
}

/// `check --database-url`: the live catalog is the schema of the database
/// it matches (or the only schema, when the repository has no migrations).
pub fn use_live_catalog(analysis: &mut Analysis, url: &str) -> Result<(), String> {
    let mut live = live::connect(url)?;
    let catalog = dbveto_verify::catalog::read_schema(&mut live.client, &live.shown).map_err(|e| live.redactor.clean(&e))?;
    substitute_catalog(analysis, catalog);
    Ok(())
}

/// The closing lines of `verify`'s text output.
pub fn summary(report: &Report, files: usize) -> String {
    let mut out = String::new();
    let n = report.findings.len();
    let noun = if n == 1 { "problem" } else { "problems" };
    if n == 0 {
        out.push_str(&format!("No problems found ({files} files)."));
    } else {
        out.push_str(&format!(
            "Found {n} {noun} in {files} files: {} confirmed by PostgreSQL, {} not reproduced, {} not verified.",
            report.count(VerificationStatus::Confirmed),
            report.count(VerificationStatus::NotReproduced),
            report.count(VerificationStatus::Skipped)
        ));
    }
    out.push('\n');
    if report.differences > 0 {
        out.push_str(&format!("warning: dbveto's schema differs from PostgreSQL's catalog in {} places (see `schema self-check` above)\n", report.differences));
    }
    if report.failed_statements > 0 {
        out.push_str(&format!("warning: PostgreSQL refused {} migration statements (see above)\n", report.failed_statements));
    }
    let wrong = report.count(VerificationStatus::NotReproduced);
    if wrong > 0 {
        let what = if wrong == 1 { "finding" } else { "findings" };
        out.push_str(&format!("warning: PostgreSQL did not reproduce {wrong} {what}: dbveto was wrong there; please report it\n"));
    }
    if report.pending_violations > 0 {
        out.push_str(&format!("error: {} constraints of pending migrations would fail on existing rows\n", report.pending_violations));
    }
    out
}
