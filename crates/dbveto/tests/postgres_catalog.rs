//! Every SQL fixture's migrations, applied to a real PostgreSQL, must give
//! the catalog that `dbveto schema --format json` reconstructs: tables,
//! columns, types, nullability, defaults present or not, constraint names
//! and CHECK value sets.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::postgres::Postgres;

const CATALOG: &str = r#"
SELECT json_build_object('tables', coalesce((SELECT json_agg(json_build_object(
    'schema', n.nspname, 'name', c.relname,
    'columns', (SELECT json_agg(json_build_object(
        'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
        'not_null', a.attnotnull, 'has_default', a.atthasdef, 'identity', a.attidentity)
        ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
    'constraints', coalesce((SELECT json_agg(json_build_object('name', k.conname, 'type', k.contype, 'def', pg_get_constraintdef(k.oid))
        ORDER BY k.conname) FROM pg_constraint k WHERE k.conrelid = c.oid), '[]'))
    ORDER BY n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'), '[]'),
  'enums', coalesce((SELECT json_agg(json_build_object('name', t.typname,
      'labels', (SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)) ORDER BY t.typname)
    FROM pg_type t WHERE t.typtype = 'e'), '[]'));
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Every example and fixture that has SQL migrations.
fn sql_fixtures() -> Vec<PathBuf> {
    let root = repo_root();
    let mut out = Vec::new();
    for parent in ["examples", "tests/fixtures"] {
        let Ok(entries) = std::fs::read_dir(root.join(parent)) else { continue };
        for e in entries.flatten() {
            if e.path().is_dir() && e.file_name() != "bad-input" {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

fn dbveto_schema(dir: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["schema", "--format", "json"]).arg(dir).output().expect("run dbveto");
    assert!(out.status.success(), "dbveto schema failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("schema json")
}

fn by_name<'a>(items: &'a Value, key: &str) -> std::collections::BTreeMap<String, &'a Value> {
    items.as_array().into_iter().flatten().map(|v| (v[key].as_str().unwrap_or_default().to_string(), v)).collect()
}

fn check_values(constraint: &Value) -> Option<Vec<String>> {
    let column = constraint["columns"].as_array().filter(|c| c.len() == 1)?[0].as_str()?.to_string();
    let predicate = dbveto_sql::check_definition(constraint["def"].as_str()?)?;
    let values = predicate.allowed_values(&column)?;
    let mut v: Vec<String> = values.iter().map(|l| l.to_sql()).collect();
    v.sort();
    Some(v)
}

fn compare(fixture: &str, ours: &Value, theirs: &Value, differences: &mut Vec<String>) {
    let ours_tables: std::collections::BTreeMap<String, &Value> = ours["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (format!("{}.{}", t["schema"].as_str().unwrap_or(""), t["name"].as_str().unwrap_or("")), t))
        .collect();
    let their_tables: std::collections::BTreeMap<String, &Value> = theirs["tables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (format!("{}.{}", t["schema"].as_str().unwrap_or(""), t["name"].as_str().unwrap_or("")), t))
        .collect();
    let ours_names: Vec<&String> = ours_tables.keys().collect();
    let their_names: Vec<&String> = their_tables.keys().collect();
    if ours_names != their_names {
        differences.push(format!("{fixture}: tables: dbveto {ours_names:?}, PostgreSQL {their_names:?}"));
    }
    for (name, theirs) in &their_tables {
        let Some(ours) = ours_tables.get(name) else { continue };
        let oc: Vec<&Value> = ours["columns"].as_array().into_iter().flatten().collect();
        let tc: Vec<&Value> = theirs["columns"].as_array().into_iter().flatten().collect();
        let on: Vec<&str> = oc.iter().filter_map(|c| c["name"].as_str()).collect();
        let tn: Vec<&str> = tc.iter().filter_map(|c| c["name"].as_str()).collect();
        if on != tn {
            differences.push(format!("{fixture}: {name}: columns: dbveto {on:?}, PostgreSQL {tn:?}"));
            continue;
        }
        for (o, t) in oc.iter().zip(&tc) {
            let col = format!("{fixture}: {name}.{}", t["name"].as_str().unwrap_or(""));
            if o["type"] != t["type"] {
                differences.push(format!("{col}: type: dbveto {}, PostgreSQL {}", o["type"], t["type"]));
            }
            if o["not_null"] != t["not_null"] {
                differences.push(format!("{col}: not null: dbveto {}, PostgreSQL {}", o["not_null"], t["not_null"]));
            }
            let our_default = !o["default"].is_null() || !o["generated"].is_null();
            if Value::Bool(our_default) != t["has_default"] {
                differences.push(format!("{col}: default present: dbveto {our_default}, PostgreSQL {}", t["has_default"]));
            }
            let their_identity = match t["identity"].as_str() {
                Some("a") => "always",
                Some("d") => "by_default",
                _ => "",
            };
            if o["identity"].as_str().unwrap_or("") != their_identity {
                differences.push(format!("{col}: identity: dbveto {}, PostgreSQL {their_identity:?}", o["identity"]));
            }
        }
        let ok = by_name(&ours["constraints"], "name");
        let tk = by_name(&theirs["constraints"], "name");
        let okn: Vec<&String> = ok.keys().collect();
        let tkn: Vec<&String> = tk.keys().collect();
        if okn != tkn {
            differences.push(format!("{fixture}: {name}: constraints: dbveto {okn:?}, PostgreSQL {tkn:?}"));
        }
        for (cname, t) in &tk {
            let Some(o) = ok.get(cname) else { continue };
            let their_type = match t["type"].as_str() {
                Some("c") => "check",
                Some("f") => "foreign key",
                Some("u") => "unique",
                Some("p") => "primary key",
                Some("x") => "exclusion",
                _ => "?",
            };
            if o["type"].as_str() != Some(their_type) {
                differences.push(format!("{fixture}: {name}.{cname}: type: dbveto {}, PostgreSQL {their_type}", o["type"]));
            }
            if their_type == "check" {
                let mut with_columns = (*t).clone();
                with_columns["columns"] = o["columns"].clone();
                let theirs = check_values(&with_columns);
                let mut ours: Option<Vec<String>> = o["values"].as_array().map(|v| {
                    v.iter()
                        .map(|x| match x {
                            Value::String(s) => format!("'{}'", s.replace('\'', "''")),
                            other => other.to_string(),
                        })
                        .collect()
                });
                if let Some(v) = ours.as_mut() {
                    v.sort();
                }
                if ours != theirs {
                    differences.push(format!("{fixture}: {name}.{cname}: CHECK values: dbveto {ours:?}, PostgreSQL {theirs:?}"));
                }
            }
        }
    }
    let oe = by_name(&ours["enums"], "name");
    let te = by_name(&theirs["enums"], "name");
    for (n, t) in &te {
        match oe.get(n) {
            Some(o) if o["labels"] == t["labels"] => {}
            o => differences.push(format!("{fixture}: enum {n}: dbveto {:?}, PostgreSQL {}", o.map(|o| &o["labels"]), t["labels"])),
        }
    }
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
            let catalog = pg.psql(&database, CATALOG).expect("catalog query");
            let theirs: Value = serde_json::from_str(catalog.trim()).expect("catalog json");
            compare(&name, db, &theirs, &mut differences);
            compared += 1;
        }
    }
    assert!(compared >= 4, "expected the SQL fixtures to give at least 4 databases, got {compared}");
    assert!(differences.is_empty(), "dbveto's schema differs from PostgreSQL's catalog:\n{}", differences.join("\n"));
}
