//! Every SQL fixture's migrations, applied to a real PostgreSQL, must give
//! the catalog that `dbveto schema --format json` reconstructs: tables,
//! columns, types, nullability, defaults present or not, constraint names
//! and CHECK value sets.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::catalog;
use support::postgres::Postgres;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Every example and fixture (their SQL databases are compared below).
fn sql_fixtures() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = Vec::new();
    for parent in ["examples", "tests/fixtures"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            // `long-names-sql` fails on PostgreSQL by design (its own test below).
            if e.path().is_dir() && name != "bad-input" && name != COLLIDING {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// The fixture whose migrations PostgreSQL refuses: two names truncated alike.
const COLLIDING: &str = "long-names-sql";

/// A fresh directory for one dump, removed by the caller.
fn tempdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn dbveto_schema(dir: &Path) -> Value {
    catalog::dbveto_schema(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

#[test]
fn replayed_schema_matches_the_postgres_catalog() {
    let pg = Postgres::start();
    let mut differences = Vec::new();
    let mut compared = 0;
    for (i, fixture) in sql_fixtures().iter().enumerate() {
        let name = fixture.file_name().unwrap_or_default().to_string_lossy().to_string();
        let schema = dbveto_schema(fixture);
        for (j, db) in schema["databases"].as_array().into_iter().flatten().enumerate() {
            // Migrations written in Python are not SQL to apply as they are:
            // `django_catalog.rs` and `sqlalchemy_catalog.rs` build those
            // databases with the framework itself.
            if ["django", "alembic", "sqlalchemy-models"].iter().any(|t| db["tool"] == *t) {
                continue;
            }
            let database = format!("f{i}_{j}");
            pg.create_database(&database);
            for m in db["migrations"].as_array().into_iter().flatten() {
                let path = fixture.join(m["path"].as_str().unwrap_or_default());
                let text = std::fs::read_to_string(&path).expect("migration text");
                for range in m["up"].as_array().into_iter().flatten() {
                    let (s, e) = (range[0].as_u64().unwrap_or(0) as usize, range[1].as_u64().unwrap_or(0) as usize);
                    if let Err(message) = pg.psql(&database, &text[s..e]) {
                        differences.push(format!("{name}: {} failed on PostgreSQL: {message}", path.display()));
                    }
                }
            }
            let text = pg.psql(&database, catalog::CATALOG).expect("catalog query");
            let theirs: Value = serde_json::from_str(text.trim()).expect("catalog json");
            catalog::compare(&name, db, &theirs, &mut differences);
            compared += 1;
            // `dbveto schema --format sql` applies as it is and builds the same catalog.
            // (Not where the migrations make objects outside dbveto's model, which the
            // DDL leaves out: `live-copy` has extensions and a function a default calls.)
            if schema["databases"].as_array().map(Vec::len) == Some(1) && name != "live-copy" {
                let ddl = catalog::dbveto_schema_sql(fixture).unwrap_or_else(|e| panic!("{name}: {e}"));
                let rebuilt = format!("{database}_ddl");
                pg.create_database(&rebuilt);
                match pg.psql(&rebuilt, &ddl) {
                    Ok(_) => {
                        let text = pg.psql(&rebuilt, catalog::CATALOG).expect("catalog query");
                        let from_ddl: Value = serde_json::from_str(text.trim()).expect("catalog json");
                        catalog::same_catalog(&format!("{name} (schema --format sql)"), &from_ddl, &theirs, &mut differences);
                    }
                    Err(e) => differences.push(format!("{name}: `dbveto schema --format sql` does not apply: {e}")),
                }
            }
            // The same database dumped by `pg_dump --schema-only` and read
            // back as a `schema.sql` must give the same catalog.
            match pg.pg_dump(&database) {
                Ok(dump) => {
                    let dir = tempdir(&format!("dump-{database}"));
                    std::fs::write(dir.join("schema.sql"), &dump).expect("write dump");
                    let dumped = dbveto_schema(&dir);
                    match dumped["databases"].as_array().map(Vec::as_slice) {
                        Some([db]) => catalog::compare(&format!("{name} (pg_dump)"), db, &theirs, &mut differences),
                        _ => differences.push(format!("{name}: the pg_dump output is not read as one database: {dumped}")),
                    }
                    for d in dumped["diagnostics"].as_array().into_iter().flatten() {
                        differences.push(format!("{name} (pg_dump): diagnostic {d}"));
                    }
                    let _ = std::fs::remove_dir_all(&dir);
                }
                Err(e) => differences.push(format!("{name}: pg_dump failed: {e}")),
            }
        }
    }
    assert!(compared >= 4, "expected the SQL fixtures to give at least 4 databases, got {compared}");
    assert!(differences.is_empty(), "dbveto's schema differs from PostgreSQL's catalog:\n{}", differences.join("\n"));
}

/// PostgreSQL runs the statements whose names it truncates, and refuses the
/// one whose truncated name is taken: the one dbveto reports as colliding.
#[test]
fn truncated_names_collide_where_dbveto_says() {
    let fixture = repo_root().join("tests/fixtures").join(COLLIDING);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["check", "--format", "json"]).arg(&fixture).output().expect("run dbveto");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let errors: Vec<String> = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["severity"] == "error")
        .map(|f| format!("{}:{} {}", f["location"]["path"].as_str().unwrap_or(""), f["location"]["line"], f["sqlstate"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(errors, ["migrations/002_reports.sql:3 42P07"]);
    let pg = Postgres::start();
    pg.create_database("colliding");
    let first = std::fs::read_to_string(fixture.join("migrations/001_shipments.sql")).expect("001");
    pg.psql("colliding", &first).expect("001 runs: PostgreSQL truncates its names");
    let second = std::fs::read_to_string(fixture.join("migrations/002_reports.sql")).expect("002");
    let refused = pg.psql("colliding", &second).expect_err("002 must fail");
    assert!(refused.contains("already exists") && refused.contains("shipments_by_carrier_and_tracking_number_for_the_nightly_reconc"), "{refused}");
}
