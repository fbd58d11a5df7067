//! `verify --database-url`: the live database is only read; findings are
//! proven on a copy of its schema that dbveto builds on its own throwaway
//! server from the live catalog (tables, types, defaults, NOT NULL, CHECK,
//! foreign keys, UNIQUE, enums, domains, exclusion constraints, indexes),
//! plus the extensions and functions the live database has.

mod support;

use std::path::{Path, PathBuf};

use dbveto_discover::{discover_with, MigrationTool};
use dbveto_verify::{apply, catalog, copy};
use serde_json::Value;
use support::cli::repo;
use support::postgres::Postgres;

/// Every fixture with SQL migrations.
fn sql_fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for parent in ["examples", "tests/fixtures"] {
        for e in std::fs::read_dir(repo(parent)).expect("fixtures").flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            // `long-names-sql` fails on PostgreSQL by design (its own test is in `postgres_catalog.rs`).
            if e.path().is_dir() && name != "bad-input" && name != "long-names-sql" {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn is_sql(tool: MigrationTool) -> bool {
    matches!(
        tool,
        MigrationTool::GolangMigrate | MigrationTool::Goose | MigrationTool::Dbmate | MigrationTool::Flyway | MigrationTool::Numbered | MigrationTool::SchemaDump
    )
}

/// Applies each SQL migration set of `fixture` to a database of its own;
/// their names.
fn build_from_migrations(pg: &Postgres, fixture: &Path, prefix: &str) -> Vec<String> {
    let config = dbveto_config::find(fixture).ok().flatten().map(|l| l.config).unwrap_or_default();
    let discovery = discover_with(fixture, &config.discover_options());
    let mut out = Vec::new();
    for (i, set) in discovery.migration_sets.iter().filter(|s| is_sql(s.tool)).enumerate() {
        let db = format!("{prefix}_{i}");
        pg.create_database(&db);
        let mut client = pg.server().connect(&db).expect("connect");
        let steps: Vec<apply::Step> = set.migrations.iter().flat_map(|m| apply::migration_steps(&m.file, &m.up)).collect();
        let failed = apply::apply(&mut client, &steps);
        assert!(failed.is_empty(), "{}: {failed:?}", fixture.display());
        out.push(db);
    }
    out
}

#[test]
fn a_copy_of_every_sql_fixture_has_the_same_catalog() {
    let pg = Postgres::start();
    let mut problems = Vec::new();
    let mut copies = 0;
    for (i, fixture) in sql_fixtures().iter().enumerate() {
        let name = fixture.file_name().unwrap_or_default().to_string_lossy().to_string();
        for db in build_from_migrations(&pg, fixture, &format!("live_{i}")) {
            let mut live = pg.server().connect(&db).expect("connect");
            let schema = catalog::read_schema(&mut live, "live").expect("catalog");
            let prelude = copy::prelude(&mut live, "live").expect("prelude");
            let built = copy::build(pg.server(), &format!("{db}_copy"), &schema, prelude).expect("copy");
            problems.extend(built.diagnostics.iter().map(|d| format!("{name}: {}", d.message)));
            problems.extend(built.differences.iter().map(|d| format!("{name}: {}", d.message)));
            copies += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(copies >= 8, "only {copies} databases copied");
}

fn run(args: &[&str], dir: &Path) -> (i32, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbveto")).args(args).arg(dir).output().expect("run dbveto");
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn keys(v: &Value) -> Vec<String> {
    v["findings"].as_array().into_iter().flatten().map(|f| format!("{} {} {} {}", f["rule"], f["table"], f["column"], f["value"])).collect()
}

/// What the live database holds, to show nothing was written: its
/// relations, and the rows of its tables.
const STATE: &str = "SELECT string_agg(c.relname || ':' || c.relkind::text, ' ' ORDER BY c.relname) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL SELECT (SELECT count(*) FROM rooms)::text || ' rooms, ' || (SELECT count(*) FROM bookings)::text || ' bookings'";

#[test]
fn findings_are_proven_on_a_copy_and_the_live_database_is_not_written() {
    let pg = Postgres::start();
    let fixture = repo("tests/fixtures/live-copy");
    let [db] = build_from_migrations(&pg, &fixture, "live").try_into().expect("one database");
    pg.psql(&db, "INSERT INTO rooms (name) VALUES ('Blue')").expect("a row");
    let before = pg.psql(&db, STATE).expect("state");
    let url = pg.conninfo(&db, "password=hunter2");

    let (code, v) = run(&["verify", "--format", "json", "--database-url", &url], &fixture);
    let findings = v["findings"].as_array().cloned().unwrap_or_default();
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(findings.len(), 2, "{v:#}");
    for f in &findings {
        let verification = &f["verification"];
        assert_eq!(verification["status"], "confirmed", "{f:#}");
        assert_eq!(verification["sqlstate"], f["sqlstate"], "{f:#}");
        assert!(verification["message"].as_str().is_some_and(|m| m.ends_with("(on a throwaway copy of the live schema)")), "{f:#}");
    }
    let copy_problems: Vec<&Value> = v["diagnostics"].as_array().into_iter().flatten().filter(|d| d["message"].as_str().is_some_and(|m| m.contains("copy of the live schema"))).collect();
    assert!(copy_problems.is_empty(), "{copy_problems:#?}");
    assert!(!v.to_string().contains("hunter2"));

    // The same findings as `check --database-url`.
    let (_, checked) = run(&["check", "--format", "json", "--database-url", &url], &fixture);
    assert_eq!(keys(&v), keys(&checked));
    // Nothing was written to the live database.
    assert_eq!(pg.psql(&db, STATE).expect("state"), before);
}
