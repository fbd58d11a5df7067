//! Truth from the real ORM: `tests/fixtures/sqlalchemy-orm-shapes`, its
//! tables made by real SQLAlchemy (`create_all`) on a real PostgreSQL, runs
//! each function of `fleet/writes.py` (one write shape each) with a cursor
//! listener; the INSERTs and UPDATEs SQLAlchemy sends, rendered with their
//! parameters by the driver (`cursor.mogrify`), are read by dbveto's own
//! SQL frontend and compared with the `Write`s dbveto reads in the same
//! function: the same tables and kinds, the same columns for an INSERT,
//! and the same value wherever dbveto claims to know it. `dbveto verify`
//! then replays dbveto's statements on PostgreSQL; this test is what makes
//! them SQLAlchemy's.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dbveto_source::SourceFile;
use dbveto_writes::{EmbeddedQuery, Params, SqlText, Write, WriteKind};
use serde_json::Value;
use support::frameworks::{sqlalchemy_url, sqlalchemy_venv, SQLALCHEMY_VERSION};
use support::oracle::{match_statements, merge_rows, sources};
use support::postgres::Postgres;

const FIXTURE: &str = "tests/fixtures/sqlalchemy-orm-shapes";
const WRITES: &str = "fleet/writes.py";

/// Creates the tables, then runs every shape in a transaction that is
/// rolled back, after `setup()`, and prints one JSON object per shape: its
/// name, its lines, and the INSERT and UPDATE statements sent, rendered.
const ORACLE: &str = r#"
import inspect, json, os, sys
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session
from fleet.models import Base
from fleet import writes

engine = create_engine(os.environ["DATABASE_URL"])
Base.metadata.create_all(engine)
out = []
for shape in writes.SHAPES:
    lines, first = inspect.getsourcelines(shape)
    sent = []
    def log(conn, cursor, statement, parameters, context, executemany):
        head = statement.lstrip().split(None, 1)[0].upper()
        if head in ("INSERT", "UPDATE"):
            # A multi-row INSERT ("insertmanyvalues") comes as one set of parameters.
            many = executemany and isinstance(parameters, (list, tuple)) and all(isinstance(p, (dict, list, tuple)) for p in parameters)
            for row in (parameters if many else [parameters]):
                sent.append(cursor.mogrify(statement, row).decode())
    with engine.connect() as conn:
        transaction = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        writes.setup(session)
        event.listen(engine, "before_cursor_execute", log)
        try:
            shape(session)
        finally:
            event.remove(engine, "before_cursor_execute", log)
            session.close()
            transaction.rollback()
    out.append({"name": shape.__name__, "first": first, "last": first + len(lines) - 1, "sent": sent})
print(json.dumps(out))
"#;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// SQLAlchemy's statement, its values rendered, as dbveto's SQL frontend reads it.
fn sqlalchemy_write(sql: &str) -> Write {
    let file = SourceFile::new("sqlalchemy.sql", sql);
    let query = EmbeddedQuery { sql: SqlText::new(sql, file.location(0)), params: Params::Unknown, call: None };
    let (mut writes, diagnostics) = dbveto_sql::extract_writes(&query);
    assert!(diagnostics.is_empty() && writes.len() == 1, "dbveto's SQL frontend cannot read SQLAlchemy's `{sql}`: {diagnostics:?}");
    writes.remove(0)
}

#[test]
fn sqlalchemy_sends_what_dbveto_reads() {
    let root = repo_root();
    let dir = root.join(FIXTURE);
    let venv = sqlalchemy_venv();
    let python = support::venv::bin(&venv, "python");
    let pg = Postgres::start();
    let database = "sqlalchemy_orm_oracle";
    pg.create_database(database);
    let output = Command::new(&python)
        .args(["-c", ORACLE])
        .current_dir(&dir)
        .env("DATABASE_URL", sqlalchemy_url(&pg, database))
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
    let sqlalchemy = dbveto_sqlalchemy::analyze(&index);
    // The objects of one flush that share a statement go out as the rows
    // of one INSERT (SQLAlchemy's "insertmanyvalues"): dbveto's writes of
    // them, one per object, are merged as the SQL frontend merges the rows
    // of a VALUES list.
    let ours_in = |first: u32, last: u32| -> Vec<Write> {
        let in_shape = sqlalchemy.writes.iter().filter(|w| w.location.path.as_ref() == WRITES && (first..=last).contains(&w.location.line));
        merge_rows(in_shape, |m, w| m.kind == WriteKind::Insert && m.statement == w.statement && m.table == w.table && m.columns == w.columns && m.call.is_some() && m.call == w.call)
    };

    let mut report = Vec::new();
    for shape in &shapes {
        let name = shape["name"].as_str().unwrap_or("?");
        let (first, last) = (shape["first"].as_u64().unwrap_or(0) as u32, shape["last"].as_u64().unwrap_or(0) as u32);
        let theirs: Vec<Write> = shape["sent"].as_array().into_iter().flatten().map(|s| sqlalchemy_write(s.as_str().unwrap_or_default())).collect();
        let ours = ours_in(first, last);
        if theirs.is_empty() {
            report.push(format!("{name}: SQLAlchemy sent no INSERT or UPDATE"));
        }
        let own = ours.len();
        let unsent = match_statements(name, "SQLAlchemy", ours, own, &theirs, &mut report);
        for unsent in &unsent {
            report.push(format!("{name}: dbveto reads {:?} {} that SQLAlchemy did not send", unsent.kind, unsent.table.name));
        }
    }
    assert!(shapes.len() >= 7, "expected every shape of {WRITES}, got {}", shapes.len());
    assert!(report.is_empty(), "SQLAlchemy {SQLALCHEMY_VERSION} sends other writes than dbveto reads:\n  {}", report.join("\n  "));
}
