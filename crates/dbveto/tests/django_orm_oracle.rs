//! Truth from the real ORM: `tests/fixtures/django-orm-shapes`, migrated by
//! real Django on a real PostgreSQL, runs each function of `shop/writes.py`
//! (one write shape each) with a query logger; the INSERTs and UPDATEs
//! Django sends are compared with the `Write`s dbveto reads in the same
//! function (or in a function no shape contains, such as a signal handler
//! Django runs during the shape): the same tables and kinds; for an INSERT the same columns, for
//! an UPDATE dbveto's columns among Django's (a loaded object's `save()`
//! sends every field, dbveto claims only those the code set); and the same
//! value wherever dbveto claims to know it. Django's statements are read by
//! dbveto's own SQL frontend (libpg_query), so both sides are compared as
//! `Write`s.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dbveto_source::SourceFile;
use dbveto_writes::{Arg, EmbeddedQuery, Literal, Params, SqlText, Write, WriteKind};
use serde_json::Value;
use support::frameworks::{django_venv, Project, DJANGO_VERSION};
use support::oracle::{match_statements, merge_rows, sources};
use support::postgres::Postgres;

const FIXTURE: &str = "tests/fixtures/django-orm-shapes";

/// Runs every shape in a transaction that is rolled back, after `setup()`,
/// and prints one JSON object per shape: its name, its lines, and the
/// INSERT and UPDATE statements sent, with their parameters.
const ORACLE: &str = r#"
import datetime, decimal, inspect, json, os, sys, uuid
import django
django.setup()
from django.db import connection, transaction
from shop import writes

def param(value):
    if value is None or isinstance(value, (bool, int, str)):
        return {"value": value}
    if isinstance(value, float):
        return {"value": value}
    return {"opaque": type(value).__name__}

class Rollback(Exception):
    pass

out = []
for shape in writes.SHAPES:
    lines, first = inspect.getsourcelines(shape)
    sent = []
    def log(execute, sql, params, many, context):
        head = sql.lstrip().split(None, 1)[0].upper()
        if head in ("INSERT", "UPDATE"):
            rows = params if many else [params]
            for row in rows:
                sent.append({"sql": sql, "params": [param(p) for p in (row or [])]})
        return execute(sql, params, many, context)
    try:
        with transaction.atomic():
            writes.setup()
            with connection.execute_wrapper(log):
                shape()
            raise Rollback()
    except Rollback:
        pass
    out.append({"name": shape.__name__, "first": first, "last": first + len(lines) - 1, "sent": sent})
print(json.dumps(out))
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Django's statement as dbveto's SQL frontend reads it.
fn django_write(sql: &str, params: &[Value]) -> Write {
    let args = params
        .iter()
        .map(|p| match p.get("value") {
            Some(Value::Null) => Arg::known(Literal::Null, None, None),
            Some(Value::Bool(b)) => Arg::known(Literal::Bool(*b), None, None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Arg::known(Literal::Int(i), None, None),
                None => Arg::known(Literal::Num(n.to_string()), None, None),
            },
            Some(Value::String(s)) => Arg::known(Literal::Str(s.clone()), None, None),
            _ => Arg::unknown(),
        })
        .collect();
    let file = SourceFile::new("django.sql", sql);
    let query = EmbeddedQuery { sql: SqlText::new(sql, file.location(0)), params: Params::Positional(args), call: None };
    let (mut writes, diagnostics) = dbveto_sql::extract_writes(&query);
    assert!(diagnostics.is_empty() && writes.len() == 1, "dbveto's SQL frontend cannot read Django's `{sql}`: {diagnostics:?}");
    writes.remove(0)
}

#[test]
fn django_sends_what_dbveto_reads() {
    let root = repo_root();
    let dir = root.join(FIXTURE);
    let venv = django_venv();
    let python = support::venv::bin(&venv, "python");
    let pg = Postgres::start();
    let project = Project { python: &python, dir: &dir, pg: &pg, database: "orm_oracle".to_string() };
    pg.create_database(&project.database);
    project.migrate().expect("Django migrates the fixture");
    let output = Command::new(&python)
        .args(["-c", ORACLE])
        .current_dir(&dir)
        .env("DJANGO_SETTINGS_MODULE", "shopsite.settings")
        .env("DBVETO_PG_HOST", pg.socket_dir())
        .env("DBVETO_PG_PORT", pg.port().to_string())
        .env("DBVETO_PG_DB", &project.database)
        .env("DBVETO_PG_USER", pg.user())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", &dir)
        .stdin(Stdio::null())
        .output()
        .expect("run the oracle");
    assert!(output.status.success(), "the oracle failed:\n{}", String::from_utf8_lossy(&output.stderr));
    let shapes: Vec<Value> = serde_json::from_slice(&output.stdout).expect("oracle JSON");

    let files = sources(&dir);
    let parsed = dbveto_python_semantic::ParsedProject::parse(&files);
    let index = parsed.index();
    let django = dbveto_django::analyze(&index, &dbveto_python_semantic::Environment::default());
    // `bulk_create()` sends its objects as the rows of one INSERT: dbveto's
    // writes of its objects, one per object, are one statement, their
    // values merged as the SQL frontend merges the rows of a VALUES list.
    let ours_in = |first: u32, last: u32| -> Vec<Write> {
        let in_shape = django.writes.iter().filter(|w| w.location.path.as_ref() == "shop/writes.py" && (first..=last).contains(&w.location.line));
        merge_rows(in_shape, |m, w| w.kind == WriteKind::Insert && w.statement.contains("bulk_create") && m.statement == w.statement && m.table == w.table && m.columns == w.columns)
    };

    // Writes outside every shape (a signal handler's) may be what a shape
    // sends, through Django.
    let lines: Vec<(u32, u32)> = shapes.iter().map(|s| (s["first"].as_u64().unwrap_or(0) as u32, s["last"].as_u64().unwrap_or(0) as u32)).collect();
    let helpers: Vec<Write> = django
        .writes
        .iter()
        .filter(|w| w.location.path.as_ref() == "shop/writes.py" && !lines.iter().any(|(f, l)| (*f..=*l).contains(&w.location.line)))
        .cloned()
        .collect();
    let mut report = Vec::new();
    for shape in &shapes {
        let name = shape["name"].as_str().unwrap_or("?");
        let (first, last) = (shape["first"].as_u64().unwrap_or(0) as u32, shape["last"].as_u64().unwrap_or(0) as u32);
        let theirs: Vec<Write> = shape["sent"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| django_write(s["sql"].as_str().unwrap_or_default(), s["params"].as_array().map(Vec::as_slice).unwrap_or(&[])))
            .collect();
        let mut ours = ours_in(first, last);
        let own = ours.len();
        ours.extend(helpers.iter().cloned());
        if theirs.is_empty() {
            report.push(format!("{name}: Django sent no INSERT or UPDATE"));
        }
        let unsent = match_statements(name, "Django", ours, own, &theirs, &mut report);
        // `get_or_create` and `update_or_create` take one of two branches;
        // any other write dbveto reads here must have been sent.
        let one_branch = name.contains("_or_");
        for unsent in unsent.iter().filter(|_| !one_branch) {
            report.push(format!("{name}: dbveto reads {:?} {} that Django did not send", unsent.kind, unsent.table.name));
        }
    }
    assert!(shapes.len() >= 14, "expected every shape of shop/writes.py, got {}", shapes.len());
    assert!(report.is_empty(), "Django {DJANGO_VERSION} sends other writes than dbveto reads:\n  {}", report.join("\n  "));
}
