//! Every `tests/fixtures/sqlalchemy-*` project, built by real SQLAlchemy
//! on a real PostgreSQL, must give the catalog that `dbveto schema --format
//! json` reconstructs: `alembic upgrade heads` where the project has an
//! `alembic.ini`, else `metadata.create_all()` of every `MetaData` its
//! modules define (the comparison of `support/catalog.rs`).
//!
//! SQLAlchemy, Alembic and psycopg2 come from the package registry, pinned,
//! into a virtual environment kept under Cargo's target directory and
//! rebuilt when it is missing or broken. Set `DBVETO_PYTHON` to choose the
//! interpreter that creates it (default `python3`).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use support::catalog;
use support::frameworks::{sqlalchemy_url, sqlalchemy_venv, SQLALCHEMY_VERSION};
use support::postgres::Postgres;

/// Imports every module of the project (those that cannot be imported are
/// skipped) and runs `create_all()` for every `MetaData` they define.
const CREATE_ALL: &str = r#"
import importlib, os, sys
from sqlalchemy import MetaData, create_engine
root = sys.argv[1]
sys.path.insert(0, root)
modules = []
for folder, dirs, files in os.walk(root):
    dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "versions")
    for f in sorted(files):
        if f.endswith(".py"):
            rel = os.path.relpath(os.path.join(folder, f), root)[:-3].replace(os.sep, ".")
            modules.append(rel[: -len(".__init__")] if rel.endswith(".__init__") else rel)
found = {}
for name in modules:
    try:
        module = importlib.import_module(name)
    except Exception as e:
        print(f"skipped {name}: {e}", file=sys.stderr)
        continue
    for value in vars(module).values():
        metadata = value if isinstance(value, MetaData) else getattr(value, "metadata", None)
        if isinstance(metadata, MetaData):
            found[id(metadata)] = metadata
engine = create_engine(os.environ["DATABASE_URL"])
for metadata in found.values():
    metadata.create_all(engine)
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo_root().join("tests/fixtures"))
        .expect("tests/fixtures")
        .flatten()
        .filter(|e| e.path().is_dir() && e.file_name().to_string_lossy().starts_with("sqlalchemy-"))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Builds the fixture's database with SQLAlchemy; `Err` has the output's last lines.
fn build(python: &Path, fixture: &Path, pg: &Postgres, database: &str) -> Result<(), String> {
    let url = sqlalchemy_url(pg, database);
    let mut command = Command::new(python);
    if fixture.join("alembic.ini").is_file() {
        command.args(["-m", "alembic", "upgrade", "heads"]);
    } else {
        command.args(["-c", CREATE_ALL]).arg(fixture);
    }
    let out = command
        .current_dir(fixture)
        .env("DATABASE_URL", url)
        .env("PYTHONPATH", fixture)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run Python: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = text.lines().collect();
    Err(lines[lines.len().saturating_sub(12)..].join("\n"))
}

fn is_internal(table: &str) -> bool {
    table == "alembic_version"
}

#[test]
fn sqlalchemy_schemas_match_the_postgres_catalog() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 3, "expected at least 3 tests/fixtures/sqlalchemy-* projects, found {}", fixtures.len());
    let venv = sqlalchemy_venv();
    let python = support::venv::bin(&venv, "python");
    let pg = Postgres::start();
    let mut report: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, fixture) in fixtures.iter().enumerate() {
        let name = fixture.file_name().unwrap_or_default().to_string_lossy().to_string();
        let database = format!("sqlalchemy_{i}");
        pg.create_database(&database);
        let mut differences = Vec::new();
        if let Err(message) = build(&python, fixture, &pg, &database) {
            differences.push(format!("SQLAlchemy could not build the schema:\n{message}"));
            report.insert(name, differences);
            continue;
        }
        let text = pg.psql(&database, catalog::CATALOG).expect("catalog query");
        let theirs = catalog::without_tables(&serde_json::from_str(text.trim()).expect("catalog json"), is_internal);
        if theirs["tables"].as_array().is_none_or(|t| t.is_empty()) {
            differences.push("SQLAlchemy created no table".to_string());
        }
        match catalog::dbveto_schema(fixture) {
            Ok(schema) => {
                let databases = schema["databases"].as_array().cloned().unwrap_or_default();
                if databases.len() != 1 {
                    differences.push(format!("dbveto reports {} databases, expected 1", databases.len()));
                }
                let ours = serde_json::json!({
                    "tables": databases.iter().flat_map(|d| d["tables"].as_array().cloned().unwrap_or_default()).collect::<Vec<_>>(),
                    "enums": databases.iter().flat_map(|d| d["enums"].as_array().cloned().unwrap_or_default()).collect::<Vec<_>>(),
                    "indexes": databases.iter().flat_map(|d| d["indexes"].as_array().cloned().unwrap_or_default()).collect::<Vec<_>>(),
                });
                let mut lines = Vec::new();
                catalog::compare(&name, &ours, &theirs, &mut lines);
                let prefix = format!("{name}: ");
                differences.extend(lines.into_iter().map(|l| l.strip_prefix(&prefix).map(str::to_string).unwrap_or(l)));
            }
            Err(message) => differences.push(message),
        }
        report.insert(name, differences);
    }
    let total: usize = report.values().map(Vec::len).sum();
    if total > 0 {
        let mut message = format!("dbveto's schema differs from the catalog SQLAlchemy {SQLALCHEMY_VERSION} built on PostgreSQL: {total} difference(s)\n");
        for (fixture, differences) in &report {
            message.push_str(&format!("\n{fixture}: {} difference(s)\n", differences.len()));
            for d in differences {
                message.push_str(&format!("  - {}\n", d.replace('\n', "\n    ")));
            }
        }
        panic!("{message}");
    }
}
