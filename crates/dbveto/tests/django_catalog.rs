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
use std::time::Instant;

use serde_json::{json, Value};
use support::catalog;
use support::frameworks::{django_venv, Project, DJANGO_VERSION};
use support::postgres::Postgres;

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
