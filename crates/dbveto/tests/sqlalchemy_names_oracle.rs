//! Truth from the real SQLAlchemy for `identifier-too-long`: which
//! constraint and index names SQLAlchemy's PostgreSQL dialect refuses
//! (`IdentifierError`), which it shortens with a hash (a convention's,
//! `conv()`, `op.f()`), and which it sends as written over PostgreSQL's 63
//! bytes (PostgreSQL truncates them). dbveto must report exactly the first
//! and the last, and name the shortened ones as SQLAlchemy does.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::cli::{dbveto, repo};
use support::frameworks::sqlalchemy_venv;

/// Compiles the DDL of every constraint and index of `app.models`'s
/// metadata on the PostgreSQL dialect; prints `refused NAME` or `sent NAME`.
const COMPILE_EACH: &str = r#"
import sys
from sqlalchemy import Index
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IdentifierError
from sqlalchemy.schema import AddConstraint, CreateIndex
from app import models

dialect = postgresql.dialect()
preparer = dialect.identifier_preparer
for table in models.Base.metadata.sorted_tables:
    for item in sorted(list(table.constraints) + list(table.indexes), key=lambda i: str(i.name)):
        if item.name is None:
            continue
        try:
            if isinstance(item, Index):
                CreateIndex(item).compile(dialect=dialect)
                sent = preparer.format_index(item)
            else:
                AddConstraint(item).compile(dialect=dialect)
                sent = preparer.format_constraint(item)
            print("sent", sent.strip('"'))
        except IdentifierError:
            print("refused", item.name)
"#;

fn python(args: &[&str], dir: &Path) -> (bool, String, String) {
    let venv = sqlalchemy_venv();
    let out = Command::new(support::venv::bin(&venv, "python"))
        .args(args)
        .current_dir(dir)
        .env("PYTHONPATH", dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .expect("run python");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The names of dbveto's `identifier-too-long` findings: refused by
/// SQLAlchemy, and truncated by PostgreSQL.
fn reported(fixture: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (_, out) = dbveto(&["check", "--format", "json", "--select", "identifier-too-long"], fixture);
    let v: Value = serde_json::from_str(&out).expect("json");
    let (mut refused, mut truncated) = (BTreeSet::new(), BTreeSet::new());
    for f in v["findings"].as_array().into_iter().flatten() {
        let name = f["constraint"].as_str().unwrap_or_default().to_string();
        if f["help"].as_str().unwrap_or_default().contains("IdentifierError") {
            refused.insert(name);
        } else {
            truncated.insert(name);
        }
    }
    (refused, truncated)
}

/// Every constraint and index name of `dbveto schema`.
fn schema_names(fixture: &str) -> BTreeSet<String> {
    let (_, out) = dbveto(&["schema", "--format", "json"], fixture);
    let v: Value = serde_json::from_str(&out).expect("json");
    let mut names = BTreeSet::new();
    for database in v["databases"].as_array().into_iter().flatten() {
        for table in database["tables"].as_array().into_iter().flatten() {
            names.extend(table["constraints"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).map(str::to_string));
        }
        names.extend(database["indexes"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str()).map(str::to_string));
    }
    names
}

#[test]
fn model_names_sqlalchemy_refuses_are_reported_and_only_they() {
    let fixture = "tests/fixtures/long-names-sqlalchemy";
    let (ok, out, err) = python(&["-c", COMPILE_EACH], &repo(fixture));
    assert!(ok, "{err}");
    let mut refused = BTreeSet::new();
    let mut sent = BTreeSet::new();
    for line in out.lines() {
        match line.split_once(' ') {
            Some(("refused", name)) => refused.insert(name.to_string()),
            Some(("sent", name)) => sent.insert(name.to_string()),
            _ => panic!("unexpected line {line}"),
        };
    }
    let over_63_bytes: BTreeSet<String> = sent.iter().filter(|n| n.len() > 63).cloned().collect();
    assert_eq!(refused.len(), 3, "the fixture's refused names: {refused:?}");
    assert_eq!(over_63_bytes.len(), 1, "the fixture's name over 63 bytes: {over_63_bytes:?}");
    assert_eq!(reported(fixture), (refused, over_63_bytes));
    // The names SQLAlchemy shortens are the ones dbveto's schema has.
    let ours = schema_names(fixture);
    let shortened: Vec<&String> = sent.iter().filter(|n| !ours.contains(*n) && n.len() <= 63).collect();
    assert!(shortened.is_empty(), "names SQLAlchemy sends that dbveto's schema lacks: {shortened:?}");
}

#[test]
fn a_revision_stops_at_the_name_sqlalchemy_refuses() {
    let fixture = "tests/fixtures/long-names-alembic";
    // Offline: the SQL of each operation, until the one that fails.
    let (ok, out, err) = python(&["-m", "alembic", "upgrade", "heads", "--sql"], &repo(fixture));
    assert!(!ok, "the upgrade must fail:\n{out}");
    let marker = "IdentifierError: Identifier '";
    let start = err.find(marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no IdentifierError:\n{err}"));
    let refused = err[start..].split('\'').next().unwrap_or_default().to_string();
    assert_eq!(reported(fixture), (BTreeSet::from([refused]), BTreeSet::new()));
    // The CHECK and `op.f()` names, shortened with a hash, as dbveto names them.
    let ours = schema_names(fixture);
    for hashed in ["ck_parcels_parcels_depot_must_be_a_positive_identifier__", "ix_parcels_route_for_the_dispatch_board_and_the_courier_"] {
        let theirs = out.split(|c: char| !(c.is_alphanumeric() || c == '_')).find(|w| w.starts_with(hashed)).unwrap_or_else(|| panic!("{hashed} not in:\n{out}"));
        assert!(ours.contains(theirs), "{theirs} not in dbveto's schema: {ours:?}");
    }
}
