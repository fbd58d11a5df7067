//! The Django fixtures end to end: seeds 000 and 001 are caught, the
//! checks fixture gives exactly its findings, and the negatives none.

mod support;

use support::cli::{dbveto, dbveto_at, repo, summary};

#[test]
fn seed_000_columns_the_model_never_declares() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/django-seed000");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_001_index_name_over_djangos_limit() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/django-seed001");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn checks_fixture_gives_exactly_its_findings() {
    let (code, lines) = summary("tests/fixtures/django-checks");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            // An object typed by every caller, and one `__init__` loaded.
            "error check-value-rejected helpdesk/escalation.py:7 status \"escalated\"",
            "error check-value-rejected helpdesk/escalation.py:26 status \"rejected\"",
            "error add-not-null-without-default helpdesk/migrations/0002_ticket_queue.py:13 queue null",
            // The index name of an abstract base, filled in for `SupportAgreement`.
            "error identifier-too-long helpdesk/models.py:51 - null",
            "error check-value-rejected helpdesk/services.py:18 status \"archived\"",
            "error check-value-rejected helpdesk/services.py:28 status \"bogus\"",
            "error check-value-rejected helpdesk/services.py:33 reopen_count -1",
            "error value-too-long helpdesk/services.py:38 code \"LEGACY-000001\"",
            "error not-null-omitted helpdesk/services.py:49 purchased_on null",
            "error check-value-rejected helpdesk/services.py:60 status \"archived\"",
            "error check-value-rejected helpdesk/services.py:77 minutes_spent -15",
            "error check-value-rejected helpdesk/services.py:84 minutes_spent -1",
            // The async ORM: `aget()`, then a save run by `asyncio.to_thread`.
            "error check-value-rejected helpdesk/services.py:90 status \"archived\"",
            // A lambda given to `transaction.on_commit`.
            "error check-value-rejected helpdesk/services.py:103 status \"archived\"",
        ]
    );
}

#[test]
fn negatives_give_no_error() {
    let (_, lines) = summary("tests/fixtures/django-negatives");
    // The RunSQL column is real drift, but it has a database default: a
    // warning, never a failing write.
    assert_eq!(lines, ["warning model-drift catalog/models/product.py:29 search_weight null"]);
    // Every field type and operation of the DDL fixture, and writes that all succeed.
    let (code, lines) = summary("tests/fixtures/django-ddl");
    assert_eq!((code, lines), (0, Vec::<String>::new()));
}

#[test]
fn django_schema_is_reconstructed_with_provenance() {
    let (code, out) = dbveto(&["schema"], "tests/fixtures/django-seed000");
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn columns_of_external_bases_are_judged_column_by_column() {
    // NetBox's and Django's abstract bases by the fields dbveto ships, an
    // unknown base by its other models here, a lone unknown base not at all.
    let (code, lines) = summary("tests/fixtures/external-bases");
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        [
            "error not-null-omitted accounts/services.py:5 badge null",
            "error not-null-omitted inventory/services.py:6 file_path null",
            "error not-null-omitted inventory/services.py:10 file_path null",
            "error not-null-omitted inventory/services.py:15 file_path null",
            "error not-null-omitted inventory/services.py:15 kind null",
            "error not-null-omitted inventory/services.py:19 region null",
        ]
    );
    let (_, out) = dbveto(&["check", "--color", "never", "--select", "not-null-omitted"], "tests/fixtures/external-bases");
    assert!(out.contains("nor does its base `NetBoxModel`, whose fields dbveto knows from NetBox 4.2 to 4.7"), "{out}");
    assert!(out.contains("nor does its base `AuditedModel`: of the 1 other model on it here, 1 has no such column"), "{out}");
}

#[test]
fn external_bases_are_read_from_the_projects_environment() {
    // A lone model on a library's base: its mixin's and its own fields
    // read from `.venv`, the column only the repository added judged.
    let (code, lines) = summary("tests/fixtures/external-bases-environment");
    assert_eq!(code, 1);
    assert_eq!(lines, ["error not-null-omitted catalog/services.py:7 batch null"]);
    let (_, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/external-bases-environment");
    assert!(out.contains("nor does its base `VendorModel`, read from `vendorlib/models/base.py` in the project's environment `.venv`"), "{out}");
}

#[test]
fn the_environment_may_be_configured_or_come_from_virtual_env() {
    let dir = std::env::temp_dir().join(format!("dbveto-configured-env-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let copied = std::process::Command::new("cp").arg("-r").arg(repo("tests/fixtures/external-bases-environment")).arg(&dir).status();
    assert!(copied.is_ok_and(|s| s.success()));
    std::fs::create_dir_all(dir.join("deps")).expect("mkdir");
    std::fs::rename(dir.join(".venv"), dir.join("deps/py")).expect("move the environment");
    // Not found where none is said: the lone base is not judged.
    let (code, _) = dbveto_at(&["check"], &dir);
    assert_eq!(code, 0);
    std::fs::write(dir.join("dbveto.toml"), "python-environment = \"deps/py\"\n").expect("config");
    let (code, out) = dbveto_at(&["check", "--color", "never"], &dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("in the project's environment `deps/py`"), "{out}");
    std::fs::remove_file(dir.join("dbveto.toml")).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbveto"))
        .args(["check", "--color", "never"])
        .arg(&dir)
        .env("VIRTUAL_ENV", dir.join("deps/py"))
        .output()
        .expect("run dbveto");
    assert!(String::from_utf8_lossy(&out.stdout).contains("in the project's environment `$VIRTUAL_ENV`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn classes_from_outside_the_repository_are_not_guessed() {
    // Unknown field and base classes, an overridden `save()`, `ImageField`
    // dimensions and a generic foreign key set fields the caller does not
    // give: only the omission `save()` does not cover is reported.
    let (code, lines) = summary("tests/fixtures/third-party-classes");
    assert_eq!(code, 1);
    assert_eq!(lines, ["error not-null-omitted cms/services.py:14 version null"]);
    let (_, schema) = dbveto(&["schema"], "tests/fixtures/third-party-classes");
    // `table.column` for every column line under its table's heading.
    let mut table = "";
    let mut columns: Vec<String> = Vec::new();
    for line in schema.lines() {
        if let Some(rest) = line.strip_prefix("  table ") {
            table = rest.split(' ').next().unwrap_or_default();
        } else if let Some(column) = line.strip_prefix("    ").and_then(|l| l.split(' ').next()) {
            columns.push(format!("{table}.{column}"));
        }
    }
    for unknown in ["cms_article.tags", "cms_pagelink.page", "cms_pagelink.page_id"] {
        assert!(!columns.iter().any(|c| c == unknown), "unknown field classes get no column ({unknown}):\n{schema}");
    }
    assert!(columns.iter().any(|c| c == "cms_revision.page_id"), "{schema}");
}
