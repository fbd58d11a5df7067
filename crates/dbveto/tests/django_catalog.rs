//! Every `tests/fixtures/django-*` project, migrated by real Django on a
//! real PostgreSQL, must give the catalog that `dbveto schema --format json`
//! reconstructs from its migrations: tables, column order, types, NOT NULL,
//! default present or not, identity, constraint names and types, CHECK value
//! sets (the comparison of `postgres_catalog.rs`, in `support/catalog.rs`).
//!
//! Django comes from the package registry, pinned, into a virtual
//! environment kept under Cargo's target directory and rebuilt when it is
//! missing or broken. Set `DBVETO_PYTHON` to choose the interpreter that
//! creates it (default `python3`). Set `DBVETO_DJANGO_SQLMIGRATE_DIR` to a
//! directory to also get, per fixture, the `sqlmigrate` output of every
//! migration, each taken just before that migration is applied.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use support::catalog;
use support::postgres::Postgres;

const DJANGO_VERSION: &str = "5.2.19";

/// Exact pins, Django's own dependencies included, so every run migrates
/// with the same code.
const REQUIREMENTS: &[&str] = &["Django==5.2.19", "asgiref==3.13.0", "sqlparse==0.6.1", "psycopg2-binary==2.9.13"];

/// Tables Django keeps for itself (and those of its contrib apps): not
/// part of a project's schema.
fn is_django_internal(table: &str) -> bool {
    matches!(table, "django_migrations" | "django_content_type" | "django_admin_log" | "django_session" | "django_site") || table.starts_with("auth_")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn django_fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/fixtures"))
        .expect("tests/fixtures")
        .flatten()
        .filter(|e| e.path().is_dir() && e.file_name().to_string_lossy().starts_with("django-"))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

// ---------------------------------------------------------------- venv

/// A virtual environment with the pinned Django and psycopg2, reused across runs.
fn django_venv() -> PathBuf {
    let probe = format!("import sys, django, psycopg2; sys.exit(0 if django.get_version() == '{DJANGO_VERSION}' else 1)");
    support::venv::cached("django-venv", REQUIREMENTS, &probe)
}

// ---------------------------------------------------------------- Django

struct Project<'a> {
    python: &'a Path,
    dir: &'a Path,
    pg: &'a Postgres,
    database: String,
}

impl Project<'_> {
    /// `python manage.py ARGS` against this project's database; `Err`
    /// carries the output's last lines.
    fn manage(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(self.python)
            .arg("manage.py")
            .args(args)
            .current_dir(self.dir)
            .env("DBVETO_PG_HOST", self.pg.socket_dir())
            .env("DBVETO_PG_PORT", self.pg.port().to_string())
            .env("DBVETO_PG_DB", &self.database)
            .env("DBVETO_PG_USER", self.pg.user())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("could not run manage.py: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).to_string())
        } else {
            let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            let lines: Vec<&str> = text.lines().collect();
            Err(lines[lines.len().saturating_sub(12)..].join("\n"))
        }
    }

    /// Applies every migration. System checks are skipped: a fixture may
    /// carry a model that fails them on purpose (django-seed001's index
    /// name, models.E034), and the database is what is compared here.
    fn migrate(&self) -> Result<(), String> {
        self.manage(&["migrate", "--noinput", "--skip-checks"]).map(|_| ())
    }

    /// Applies the migrations one at a time in plan order, writing each
    /// one's `sqlmigrate` output, taken just before it runs (Django
    /// introspects the database for some names), to `out/<app>_<name>.sql`.
    fn migrate_recording(&self, out: &Path) -> Result<(), String> {
        std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
        let plan = self.manage(&["migrate", "--plan", "--skip-checks"])?;
        for line in plan.lines() {
            // "app.migration_name" at the start of a line; operations are indented.
            let Some((app, name)) = line.trim_end().split_once('.') else { continue };
            let is_label = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if line.starts_with(char::is_whitespace) || !is_label(app) || !is_label(name) {
                continue;
            }
            let sql = self.manage(&["sqlmigrate", "--skip-checks", app, name])?;
            std::fs::write(out.join(format!("{app}_{name}.sql")), sql).map_err(|e| e.to_string())?;
            self.manage(&["migrate", "--noinput", "--skip-checks", app, name])?;
        }
        Ok(())
    }
}

/// dbveto's databases for a Django project, as one: tables and enums of all.
fn dbveto_database(schema: &Value, differences: &mut Vec<String>) -> Value {
    let databases: Vec<&Value> = schema["databases"].as_array().into_iter().flatten().collect();
    if databases.len() != 1 {
        differences.push(format!("dbveto reports {} databases, expected 1 (the project's default database)", databases.len()));
    }
    let tables: Vec<Value> = databases.iter().flat_map(|d| d["tables"].as_array().cloned().unwrap_or_default()).collect();
    let enums: Vec<Value> = databases.iter().flat_map(|d| d["enums"].as_array().cloned().unwrap_or_default()).collect();
    let indexes: Vec<Value> = databases.iter().flat_map(|d| d["indexes"].as_array().cloned().unwrap_or_default()).collect();
    json!({ "tables": tables, "enums": enums, "indexes": indexes })
}

#[test]
fn django_migrations_match_the_postgres_catalog() {
    let fixtures = django_fixtures();
    assert!(fixtures.len() >= 3, "expected at least 3 tests/fixtures/django-* projects, found {}", fixtures.len());

    let started = Instant::now();
    let venv = django_venv();
    let python = support::venv::bin(&venv, "python");
    eprintln!("Django {DJANGO_VERSION} virtual environment ready in {:.1?}", started.elapsed());
    let pg = Postgres::start();
    let record = std::env::var_os("DBVETO_DJANGO_SQLMIGRATE_DIR").map(PathBuf::from);

    let mut report: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, fixture) in fixtures.iter().enumerate() {
        let t = Instant::now();
        let name = fixture.file_name().unwrap_or_default().to_string_lossy().to_string();
        let mut differences = Vec::new();
        let project = Project { python: &python, dir: fixture, pg: &pg, database: format!("django_{i}") };
        pg.create_database(&project.database);
        let migrated = match &record {
            Some(dir) => project.migrate_recording(&dir.join(&name)),
            None => project.migrate(),
        };
        if let Err(message) = migrated {
            differences.push(format!("Django could not migrate the project:\n{message}"));
            report.insert(name, differences);
            continue;
        }
        let text = pg.psql(&project.database, catalog::CATALOG).expect("catalog query");
        let theirs = catalog::without_tables(&serde_json::from_str(text.trim()).expect("catalog json"), is_django_internal);
        if theirs["tables"].as_array().is_none_or(|t| t.is_empty()) {
            differences.push("Django created no table: the fixture's migrations do nothing".to_string());
        }
        match catalog::dbveto_schema(fixture) {
            Ok(schema) => {
                let ours = catalog::without_tables(&dbveto_database(&schema, &mut differences), is_django_internal);
                let mut lines = Vec::new();
                catalog::compare(&name, &ours, &theirs, &mut lines);
                let prefix = format!("{name}: ");
                differences.extend(lines.into_iter().map(|l| l.strip_prefix(&prefix).map(str::to_string).unwrap_or(l)));
            }
            Err(message) => differences.push(message),
        }
        eprintln!("{name}: migrated and compared in {:.1?}", t.elapsed());
        report.insert(name, differences);
    }

    let total: usize = report.values().map(Vec::len).sum();
    if total > 0 {
        let mut message = format!(
            "dbveto's schema differs from the catalog that Django {DJANGO_VERSION} built on PostgreSQL: {total} difference(s)\n"
        );
        for (fixture, differences) in &report {
            if differences.is_empty() {
                message.push_str(&format!("\n{fixture}: matches\n"));
                continue;
            }
            message.push_str(&format!("\n{fixture}: {} difference(s)\n", differences.len()));
            for d in differences {
                message.push_str(&format!("  - {}\n", d.replace('\n', "\n    ")));
            }
        }
        panic!("{message}");
    }
}
