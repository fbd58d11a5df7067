//! The SQLAlchemy fixtures end to end: seed 003 is caught, the checks and
//! Alembic fixtures give exactly their findings, and the negatives none.

mod support;

use support::cli::{dbveto, summary};

#[test]
fn seed_003_children_before_parent_and_no_rollback() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/sqlalchemy-seed003");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_003_json_names_the_constraint_and_sqlstate() {
    let (_, out) = dbveto(&["check", "--format", "json", "--select", "fk-insert-order"], "tests/fixtures/sqlalchemy-seed003");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let first = &v["findings"][0];
    assert_eq!(first["constraint"], "static_route_cache_device_id_fkey");
    assert_eq!(first["sqlstate"], "23503");
    let (_, out) = dbveto(&["check", "--format", "json", "--select", "missing-rollback"], "tests/fixtures/sqlalchemy-seed003");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(4));
    assert!(v["findings"][0]["sqlstate"].is_null());
}

#[test]
fn checks_fixture_gives_exactly_its_findings() {
    let (code, lines) = summary("tests/fixtures/sqlalchemy-checks");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            "error not-null-omitted billing/services.py:11 country null",
            "error check-value-rejected billing/services.py:18 kind \"credit\"",
            "error check-value-rejected billing/services.py:18 balance -5",
            "error value-too-long billing/services.py:28 memo \"opening balance carried over from last period\"",
            "error fk-insert-order billing/services.py:37 customer_id null",
            "error not-null-omitted billing/services.py:42 source null",
            "error not-null-omitted billing/services.py:43 amount null",
        ]
    );
}

#[test]
fn alembic_fixture_gives_exactly_its_findings() {
    let (code, lines) = summary("tests/fixtures/sqlalchemy-alembic");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            "warning model-drift app/models.py:27 reviewer null",
            "error not-null-omitted app/tasks.py:8 reviewer null",
            "error not-null-omitted app/tasks.py:15 reviewer null",
            "error check-value-rejected app/tasks.py:15 state \"parked\"",
        ]
    );
}

#[test]
fn alembic_conventions_fixture_gives_exactly_its_findings() {
    let (code, lines) = summary("tests/fixtures/sqlalchemy-alembic-conventions");
    assert_eq!(code, 1);
    // No diagnostic either: every operation is read, every dropped name exists.
    assert_eq!(lines, ["error check-value-rejected app/stock.py:8 quantity 0"]);
}

#[test]
fn long_names_sqlalchemy_refuses_or_postgres_truncates() {
    let (code, lines) = summary("tests/fixtures/long-names-sqlalchemy");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            "error identifier-too-long app/models.py:28 - null",
            "error identifier-too-long app/models.py:30 - null",
            "warning identifier-too-long app/models.py:36 - null",
            "error identifier-too-long app/models.py:43 - null",
        ]
    );
    let (code, lines) = summary("tests/fixtures/long-names-alembic");
    assert_eq!((code, lines), (1, vec!["error identifier-too-long migrations/versions/a1b2c3d4e5f6_parcels.py:22 - null".to_string()]));
}

#[test]
fn negatives_give_nothing() {
    let (code, lines) = summary("tests/fixtures/sqlalchemy-negatives");
    assert_eq!((code, lines), (0, Vec::<String>::new()));
}

#[test]
fn alembic_schema_is_reconstructed_with_provenance() {
    let (code, out) = dbveto(&["schema"], "tests/fixtures/sqlalchemy-alembic");
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}
