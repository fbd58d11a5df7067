//! The pipeline, end to end: discover → schema sources → Schema → code
//! frontends → writes → rules → findings. Everything here is data in,
//! data out; printing happens in `main`.

use std::collections::HashMap;
use std::path::Path;

use dbveto_discover::{discover_with, Migration, MigrationSet, MigrationTool, Options};
use dbveto_python_semantic::Environment;
use dbveto_report::Sources;
use dbveto_rules::{Finding, Rule};
use dbveto_schema::Schema;
use dbveto_source::{Diagnostic, SourceFile};
use dbveto_writes::{EmbeddedQuery, SqlText, Write};
use rayon::prelude::*;

/// One database: a migration set and the schema its replay builds.
pub struct Database {
    pub set: MigrationSet,
    pub schema: Schema,
    /// What each migration of a framework did, for pending migrations.
    pub framework: Framework,
}

/// The migrations of a framework as dbveto applied them, one by one.
pub enum Framework {
    /// SQL migrations (their files are the record) or ORM models.
    None,
    Django(Vec<dbveto_django::AppliedMigration>),
    Alembic(Vec<dbveto_sqlalchemy::AppliedRevision>),
}

pub struct Analysis {
    pub databases: Vec<Database>,
    /// What project rules read: names, added columns, model drift.
    pub facts: dbveto_rules::ProjectFacts,
    pub writes: Vec<Write>,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Sources,
    pub files: usize,
    /// No file was read, and the configuration did not ask for that.
    pub nothing_read: bool,
    /// Django apps (label and folder), for migrations `explain` proposes.
    pub django_apps: Vec<dbveto_django::App>,
}

/// Reads the repository at `root` and builds its schemas and writes, with
/// what the configuration says about discovery.
pub fn analyze_with(root: &Path, options: &Options) -> Analysis {
    let d = discover_with(root, options);
    let mut diagnostics = d.diagnostics;
    let mut sources = Sources::default();
    let files = d.go_files.len()
        + d.python_files.len()
        + d.query_files.len()
        + d.migration_sets.iter().map(|s| s.migrations.len()).sum::<usize>();

    // Files that could not be read each have their diagnostic; a run that
    // found none at all says why.
    let nothing_read = files == 0 && !d.excluded_by_configuration;
    if files == 0 && d.unreadable == 0 {
        diagnostics.push(match d.excluded_by_configuration {
            true => dbveto_source::Diagnostic::file(".", dbveto_source::Severity::Warning, "no file read: the configuration's `exclude` leaves out every file dbveto would read here"),
            false => dbveto_discover::nothing_read(root),
        });
    }
    let (replayed, (go, (python, django, sqlalchemy, mut jobs))) = rayon::join(
        || d.migration_sets.into_par_iter().map(replay_set).collect::<Vec<_>>(),
        || rayon::join(|| dbveto_go::extract(&d.go_files, &d.go_mods), || {
            let environment = Environment::find(root, options.python_environment.as_deref(), std::env::var_os("VIRTUAL_ENV").as_deref().map(Path::new));
            python_frontends(&d.python_files, &environment)
        }),
    );
    let mut databases = Vec::new();
    let mut facts = dbveto_django::facts(&django);
    let django_apps = django.apps.apps.clone();
    diagnostics.extend(django.diagnostics);
    let mut orm_writes = django.writes;
    if let Some(applied) = django.migrations {
        databases.push(django_database(&django.apps, applied));
    }
    let sqlalchemy = sqlalchemy_databases(sqlalchemy, &mut databases);
    facts.extend(sqlalchemy.facts);
    diagnostics.extend(sqlalchemy.diagnostics);
    orm_writes.extend(sqlalchemy.writes);
    for (db, diags, names) in replayed {
        diagnostics.extend(diags);
        facts.names.extend(names);
        for m in &db.set.migrations {
            sources.insert(&m.file);
        }
        databases.push(db);
    }
    let mut queries: Vec<EmbeddedQuery> = go.queries;
    queries.extend(python.queries);
    queries.extend(d.query_files.iter().flat_map(query_file));
    diagnostics.extend(go.diagnostics);
    diagnostics.extend(python.diagnostics);
    // Filing the sources, one by one, overlaps the SQL extraction.
    let (extracted, ()) = rayon::join(
        || dbveto_sql::extract_writes_all(&queries),
        || d.go_files.iter().chain(&d.python_files).chain(&d.query_files).for_each(|f| sources.insert(f)),
    );
    let mut writes = orm_writes;
    for (w, diags) in extracted {
        // A data migration inside an Alembic revision runs against the schema of its
        // time, not the final one.
        writes.extend(w.into_iter().filter(|w| !dbveto_sqlalchemy::is_revision_path(&w.location.path)));
        diagnostics.extend(diags);
    }
    // Freeing the queries (their SQL, piece by piece) overlaps the jobs' facts.
    let (jobs_facts, ()) = rayon::join(
        || {
            jobs.add_go(&d.go_files, &d.go_mods, &go.outline, &writes);
            jobs.connect_signals(&writes);
            dbveto_jobs::facts(&jobs, &writes)
        },
        move || drop(queries),
    );
    facts.jobs = jobs_facts;
    diagnostics.sort();
    diagnostics.dedup();
    Analysis { databases, facts, writes, diagnostics, sources, files, nothing_read, django_apps }
}

fn replay_set(set: MigrationSet) -> (Database, Vec<Diagnostic>, Vec<dbveto_rules::GivenName>) {
    let mut schema = Schema::default();
    let mut diagnostics = Vec::new();
    let mut long_names = Vec::new();
    for m in &set.migrations {
        for range in &m.up {
            dbveto_sql::replay_noting_long_names(&mut schema, &m.file, range.clone(), &mut diagnostics, &mut long_names);
        }
    }
    // Only the database's limit applies to names written in SQL.
    let names = long_names
        .into_iter()
        .map(|l| dbveto_rules::GivenName { name: l.name, what: l.what, table: l.table, location: l.location, limit: None, related: Vec::new() })
        .collect();
    (Database { set, schema, framework: Framework::None }, diagnostics, names)
}

/// Python is parsed once; the raw-SQL, Django, SQLAlchemy and jobs frontends read the same trees.
fn python_frontends(
    files: &[SourceFile],
    environment: &Environment,
) -> (dbveto_python::PythonExtraction, dbveto_django::Django, dbveto_sqlalchemy::SqlAlchemy, dbveto_jobs::Jobs) {
    let mut project = dbveto_python_semantic::ParsedProject::parse(files);
    let parse_diagnostics = std::mem::take(&mut project.diagnostics);
    let index = project.index();
    let (mut python, ((django, jobs), sqlalchemy)) = rayon::join(
        || dbveto_python::extract_indexed(&index),
        || {
            rayon::join(
                || {
                    // Jobs attribute the ORM's saves to the models Django reads.
                    let django = dbveto_django::analyze(&index, environment);
                    let jobs = dbveto_jobs::analyze(&index, &django.models);
                    (django, jobs)
                },
                || dbveto_sqlalchemy::analyze(&index),
            )
        },
    );
    python.diagnostics.extend(parse_diagnostics);
    (python, django, sqlalchemy, jobs)
}

/// The database SQLAlchemy's side describes: what Alembic's revisions
/// build, else what `create_all()` makes of the models.
fn sqlalchemy_databases(mut sqlalchemy: dbveto_sqlalchemy::SqlAlchemy, databases: &mut Vec<Database>) -> dbveto_sqlalchemy::SqlAlchemy {
    if let Some(alembic) = sqlalchemy.alembic.take() {
        let migrations = alembic.files.iter().map(whole_file).collect();
        let set = MigrationSet { dir: alembic.dir, tool: MigrationTool::Alembic, migrations };
        databases.push(Database { set, schema: alembic.schema, framework: Framework::Alembic(alembic.revisions) });
    } else if let Some(schema) = sqlalchemy.model_schema.take() {
        let migrations = sqlalchemy.model_files.iter().map(whole_file).collect();
        let set = MigrationSet { dir: sqlalchemy.model_dir.clone(), tool: MigrationTool::SqlalchemyModels, migrations };
        databases.push(Database { set, schema, framework: Framework::None });
    }
    sqlalchemy
}

/// A file read as a whole: a framework's migration or model module.
fn whole_file(file: &SourceFile) -> Migration {
    let whole = 0..file.text.len();
    Migration { file: file.clone(), version: Vec::new(), up: vec![whole] }
}

/// The database Django's migrations build: its folder is the deepest one
/// that holds every app.
fn django_database(apps: &dbveto_django::Apps, applied: dbveto_django::Applied) -> Database {
    let mut dir: Option<Vec<&str>> = None;
    for app in &apps.apps {
        let parts: Vec<&str> = app.dir.split('/').filter(|p| !p.is_empty()).collect();
        dir = Some(match dir {
            None => parts,
            Some(d) => d.iter().zip(&parts).take_while(|(a, b)| a == b).map(|(a, _)| *a).collect(),
        });
    }
    let dir = dir.map(|d| d.join("/")).filter(|d| !d.is_empty()).unwrap_or_else(|| ".".to_string());
    let migrations = applied
        .files
        .iter()
        .map(|file| Migration { file: file.clone(), version: Vec::new(), up: std::iter::once(0..file.text.len()).collect() })
        .collect();
    let set = MigrationSet { dir, tool: MigrationTool::Django, migrations };
    Database { set, schema: applied.schema, framework: Framework::Django(applied.migrations) }
}

/// A `.sql` file of queries is SQL that runs: its parse errors are
/// reported. sqlc's `-- name: Foo :exec` lines start each query, and each
/// is parsed on its own: a broken query does not hide the others' writes,
/// and each write is "run" at its own `-- name:` line.
fn query_file(f: &SourceFile) -> Vec<EmbeddedQuery> {
    let mut starts = vec![0];
    let mut offset = 0;
    for line in f.text.split_inclusive('\n') {
        if offset > 0 && line.trim_start().to_ascii_lowercase().starts_with("-- name:") {
            starts.push(offset);
        }
        offset += line.len();
    }
    let ends = starts.iter().skip(1).copied().chain(std::iter::once(f.text.len()));
    starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| EmbeddedQuery {
            sql: SqlText::new(&f.text[start..end], f.location(start)),
            params: Default::default(),
            call: Some(f.location(start)),
        })
        .collect()
}

impl Analysis {
    /// The database a write goes to: among those that have its table, the
    /// one whose migrations sit closest to the code in the tree.
    pub fn database_for(&self, write: &Write) -> Option<&Database> {
        self.closest_database(&write.location.path, |s| has_table(s, write)).map(|i| &self.databases[i])
    }

    /// Among the databases whose schema `has` what is looked for, the one
    /// whose folder shares most of `path`: its index.
    pub fn closest_database(&self, path: &str, has: impl Fn(&Schema) -> bool) -> Option<usize> {
        self.nearest_first(path).into_iter().find(|&i| has(&self.databases[i].schema))
    }

    /// The databases in the order they are tried for the code at `path`: nearest
    /// folder first, then the first by name, then the last declared.
    fn nearest_first(&self, path: &str) -> Vec<usize> {
        let mut order: Vec<(usize, usize)> = self.databases.iter().enumerate().map(|(i, db)| (common_prefix(&db.set.dir, path), i)).collect();
        let dir = |i: usize| &self.databases[i].set.dir;
        order.sort_by(|&(pa, ia), &(pb, ib)| pb.cmp(&pa).then_with(|| dir(ia).cmp(dir(ib))).then(ib.cmp(&ia)));
        order.into_iter().map(|(_, i)| i).collect()
    }

    pub fn check(&self, rules: &[&Rule]) -> Vec<Finding> {
        // A file holds many writes: its order of databases is worked out once.
        let mut paths: Vec<&str> = self.writes.iter().map(|w| &*w.location.path).collect();
        paths.dedup();
        paths.par_sort_unstable();
        paths.dedup();
        let nearest: HashMap<&str, Vec<usize>> = paths.into_par_iter().map(|p| (p, self.nearest_first(p))).collect();
        let mut findings: Vec<Finding> = self
            .writes
            .par_iter()
            .flat_map_iter(|w| {
                let order = nearest.get(&*w.location.path).map_or(&[][..], Vec::as_slice);
                match order.iter().map(|&i| &self.databases[i]).find(|db| has_table(&db.schema, w)) {
                    Some(db) => dbveto_rules::check_write(rules, &db.schema, w),
                    None => Vec::new(),
                }
            })
            .collect();
        findings.extend(dbveto_rules::check_project(rules, &self.facts));
        findings.sort_by(|a, b| (&a.location, a.rule, &a.column, &a.message).cmp(&(&b.location, b.rule, &b.column, &b.message)));
        findings.dedup();
        findings
    }
}

fn has_table(schema: &Schema, write: &Write) -> bool {
    schema.table(write.table.schema.as_deref(), &write.table.name).is_some()
}

/// Path components two relative paths share from the start.
fn common_prefix(a: &str, b: &str) -> usize {
    a.split('/').zip(b.split('/')).take_while(|(x, y)| x == y).count()
}


#[cfg(test)]
mod tests {
    use super::*;
    use dbveto_discover::MigrationTool;
    use dbveto_schema::{QualifiedName, Table};

    fn database(dir: &str, tables: &[&str]) -> Database {
        let mut schema = Schema::default();
        for t in tables {
            let name = QualifiedName::public(t.to_string());
            let provenance = dbveto_schema::History::new(dbveto_schema::Provenance {
                location: dbveto_source::Location { path: "m.sql".into(), line: 1, column: 1 },
                action: String::new(),
            });
            let table = Table { name: name.clone(), columns: Vec::new(), constraints: Vec::new(), partition_of: None, like: Vec::new(), provenance };
            schema.tables.insert(name, table);
        }
        let set = MigrationSet { dir: dir.to_string(), tool: MigrationTool::GolangMigrate, migrations: Vec::new() };
        Database { set, schema, framework: Framework::None }
    }

    fn analysis(databases: Vec<Database>) -> Analysis {
        let (facts, sources) = (Default::default(), Default::default());
        Analysis { databases, facts, writes: Vec::new(), diagnostics: Vec::new(), sources, files: 0, nothing_read: false, django_apps: Vec::new() }
    }

    #[test]
    fn the_closest_database_with_the_table_is_the_nearest_folder_then_the_first_by_name_then_the_last() {
        let a = analysis(vec![
            database("svc/b/db", &["orders"]),
            database("svc/a/db", &["orders", "users"]),
            database("svc/a/db", &["orders"]),
            database("other/db", &["users", "audit"]),
        ]);
        let has = |t: &'static str| move |s: &Schema| s.table(None, t).is_some();
        assert_eq!(a.closest_database("svc/b/main.go", has("orders")), Some(0));
        // Equally near: the first folder by name, and of one folder the last declared.
        assert_eq!(a.closest_database("main.go", has("orders")), Some(2));
        assert_eq!(a.closest_database("svc/b/main.go", has("users")), Some(1));
        assert_eq!(a.closest_database("svc/b/main.go", has("audit")), Some(3));
        assert_eq!(a.closest_database("svc/b/main.go", has("nowhere")), None);
    }
}
