//! `dbveto explain` on the seeds' error messages, against the fixtures
//! modeled on them, in every format; and a whole traceback on stdin.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

/// Runs `dbveto explain --path DIR [args]`, with `stdin` piped when given.
fn explain(dir: &str, args: &[&str], stdin: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbveto"));
    cmd.arg("explain").arg("--path").arg(repo(dir)).args(args);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run dbveto");
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("wait for dbveto");
    (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn json(dir: &str, message: &str) -> (i32, serde_json::Value) {
    let (code, out) = explain(dir, &["--format", "json", message], None);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}")))
}

/// Seed 000, as the report quotes it (PostgreSQL 12 wording, retyped quotes).
const SEED_000: &str = "K8s sync fails with \"null value in column 'managed_file_path' violates not-null constraint\"";
const SEED_000_DIR: &str = "tests/fixtures/django-seed000";
/// Seed 001: the system check output.
const SEED_001: &str = "SystemCheckError: System check identified some issues:

ERRORS:
netops.SyncJob: (models.E034) The index name 'netops_syncjob_fabric_type_start_idx' cannot be longer than 30 characters.

System check identified 1 issue (0 silenced).";
const SEED_001_DIR: &str = "tests/fixtures/django-seed001";
/// Seed 002: the log line.
const SEED_002: &str = "Warning: failed to create timeout log entry: pq: new row for relation \"update_logs\" violates check constraint \"update_logs_result_check\"";
const SEED_002_DIR: &str = "examples/timeout-service";

#[test]
fn seed_000_text() {
    let (code, out) = explain(SEED_000_DIR, &[SEED_000], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_000_json() {
    let (code, out) = explain(SEED_000_DIR, &["--format", "json", SEED_000], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_000_markdown() {
    let (code, out) = explain(SEED_000_DIR, &["--format", "markdown", SEED_000], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_000_resolves_to_both_orm_writes_and_migration_0004() {
    let (_, v) = json(SEED_000_DIR, SEED_000);
    assert_eq!(v["table"]["name"], "fleetsync_managedresource");
    assert_eq!(v["column"]["history"][0]["location"]["path"], "src/fleetsync/migrations/0004_gitops_file_tracking.py");
    assert_eq!(v["column"]["history"][0]["location"]["line"], 13);
    let sites: Vec<String> = v["sites"].as_array().unwrap().iter().map(|s| format!("{}:{}", s["location"]["path"].as_str().unwrap(), s["location"]["line"])).collect();
    assert_eq!(sites, ["src/fleetsync/services/sync.py:19", "src/fleetsync/services/sync.py:41"]);
    assert_eq!(v["model"]["name"], "fleetsync.ManagedResource");
}

#[test]
fn seed_001_text() {
    let (code, out) = explain(SEED_001_DIR, &[SEED_001], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_001_json() {
    let (code, out) = explain(SEED_001_DIR, &["--format", "json", SEED_001], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_001_markdown() {
    let (code, out) = explain(SEED_001_DIR, &["--format", "markdown", SEED_001], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_002_text() {
    let (code, out) = explain(SEED_002_DIR, &[SEED_002], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_002_json() {
    let (code, out) = explain(SEED_002_DIR, &["--format", "json", SEED_002], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_002_markdown() {
    let (code, out) = explain(SEED_002_DIR, &["--format", "markdown", SEED_002], None);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_002_first_site_is_the_timed_out_literal() {
    let (_, v) = json(SEED_002_DIR, SEED_002);
    assert_eq!(v["sites"][0]["location"]["path"], "internal/services/timeout.go");
    assert_eq!(v["sites"][0]["location"]["line"], 26);
    assert_eq!(v["value"], "timed_out");
    assert_eq!(v["constraint"]["history"][0]["location"]["path"], "internal/database/migrations/002_create_update_logs.up.sql");
}

/// A Django traceback, piped whole: the error is found in it and the
/// frame that passes through the write ranks it first.
const TRACEBACK_000: &str = r#"Traceback (most recent call last):
  File "/usr/local/lib/python3.11/site-packages/django/db/backends/utils.py", line 105, in _execute
    return self.cursor.execute(sql, params)
psycopg2.errors.NotNullViolation: null value in column "managed_file_path" of relation "fleetsync_managedresource" violates not-null constraint
DETAIL:  Failing row contains (7, 2025-08-11 09:00:00.1+00, 2025-08-11 09:00:00.1+00, Switch, leaf-1, default, v1, {"spec": {"asn": 65101}}, null, null, , null, 3, {}, 4f2a9c1, {}, desired, 2, null, null, null, null, null, null, null).


The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/opt/app/src/fleetsync/services/sync.py", line 62, in sync_fabric
    resource = apply_desired(fabric, doc, commit_sha)
  File "/opt/app/src/fleetsync/services/sync.py", line 19, in apply_desired
    resource, created = ManagedResource.objects.get_or_create(
  File "/usr/local/lib/python3.11/site-packages/django/db/models/manager.py", line 87, in manager_method
    return getattr(self.get_queryset(), name)(*args, **kwargs)
django.db.utils.IntegrityError: null value in column "managed_file_path" of relation "fleetsync_managedresource" violates not-null constraint
DETAIL:  Failing row contains (7, 2025-08-11 09:00:00.1+00, 2025-08-11 09:00:00.1+00, Switch, leaf-1, default, v1, {"spec": {"asn": 65101}}, null, null, , null, 3, {}, 4f2a9c1, {}, desired, 2, null, null, null, null, null, null, null).
"#;

#[test]
fn traceback_on_stdin() {
    let (code, out) = explain(SEED_000_DIR, &[], Some(TRACEBACK_000));
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn traceback_frame_ranks_its_write_first() {
    let (code, out) = explain(SEED_000_DIR, &["--format", "json"], Some(TRACEBACK_000));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sites"][0]["location"]["line"], 19);
    assert_eq!(v["error"]["wrappers"][0], "django.db.utils.IntegrityError");
    assert_eq!(v["error"]["exception"], "psycopg2.errors.NotNullViolation");
}

#[test]
fn sqlalchemy_statement_matches_the_write_with_the_same_columns() {
    let message = "sqlalchemy.exc.IntegrityError: (psycopg2.errors.ForeignKeyViolation) insert or update on table \"update_logs\" violates foreign key constraint \"update_logs_command_id_fkey\"
DETAIL:  Key (command_id)=(5b0c4c4e-0000-4000-8000-000000000001) is not present in table \"agent_commands\".

[SQL: INSERT INTO update_logs (command_id, agent_id, result, message) VALUES (%(command_id)s, %(agent_id)s, %(result)s, %(message)s) RETURNING update_logs.id]
[parameters: {'command_id': '5b0c4c4e-0000-4000-8000-000000000001', 'agent_id': 'a', 'result': 'success', 'message': ''}]
(Background on this error at: https://sqlalche.me/e/20/gkpj)
sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled back due to a previous exception during flush.";
    let (code, v) = json(SEED_002_DIR, message);
    assert_eq!(code, 0);
    assert_eq!(v["parent_table"]["name"], "agent_commands");
    assert_eq!(v["constraint"]["definition"], "FOREIGN KEY (command_id) REFERENCES agent_commands (id)");
    let first = &v["sites"][0];
    assert_eq!(first["location"]["path"], "internal/database/update_logs.go");
    assert!(first["reasons"].to_string().contains("sends the statement in the error"), "{first}");
    assert!(v["error"]["pending_rollback"].as_bool().unwrap());
    let fixes = v["fixes"].to_string();
    assert!(fixes.contains("session.rollback()"), "{fixes}");
    assert!(fixes.contains("ALTER TABLE update_logs ALTER CONSTRAINT update_logs_command_id_fkey DEFERRABLE INITIALLY DEFERRED;"), "{fixes}");
    assert!(fixes.contains("003_update_logs_command_id_fkey_deferrable.up.sql"), "{fixes}");
}

#[test]
fn foreign_key_delete_form_resolves_the_child() {
    let (code, v) = json(SEED_002_DIR, "pq: update or delete on table \"agent_commands\" violates foreign key constraint \"update_logs_command_id_fkey\" on table \"update_logs\"");
    assert_eq!(code, 0);
    assert_eq!(v["child_table"]["name"], "update_logs");
    assert_eq!(v["parent_table"]["name"], "agent_commands");
    assert!(v["fixes"].to_string().contains("ON DELETE CASCADE"));
}

#[test]
fn mysql_not_null_without_table_finds_the_only_table_with_the_column() {
    let (code, v) = json(SEED_002_DIR, "Error 1048 (23000): Column 'command_type' cannot be null");
    assert_eq!(code, 0);
    assert_eq!(v["table"]["name"], "agent_commands");
    assert_eq!(v["error"]["errno"], 1048);
}

#[test]
fn recognised_but_not_in_the_repository_exits_1() {
    let (code, out) = explain(SEED_002_DIR, &["ERROR:  null value in column \"x\" of relation \"nowhere\" violates not-null constraint"], None);
    assert_eq!(code, 1);
    assert!(out.contains("nothing in this repository matches the error"), "{out}");
}

#[test]
fn no_database_error_exits_2() {
    let (code, out) = explain(SEED_002_DIR, &[], Some("panic: runtime error: index out of range [3] with length 3\n"));
    assert_eq!(code, 2);
    assert!(out.contains("no database error found"), "{out}");
    let (code, out) = explain(SEED_002_DIR, &["--format", "json", "connection refused"], None);
    assert_eq!(code, 2);
    assert!(out.contains("\"resolved\": false"), "{out}");
}

/// Seed 003: the cache writer's log, the foreign key violation and then the
/// cascade of `PendingRollbackError`s, as the report quotes them.
const SEED_003: &str = r#"ERROR app.services.device_cache_service: failed to cache topology
(psycopg2.errors.ForeignKeyViolation) insert or update on table "static_route_cache"
violates foreign key constraint "static_route_cache_device_id_fkey"
DETAIL:  Key (device_id)=(3ec64b79-aa33-46be-b9c2-6a5aa9ea6381) is not present in table "device_cache".
ERROR app.services.device_cache_service: failed to cache topology
sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled back
due to a previous exception during flush.
"#;
const SEED_003_DIR: &str = "tests/fixtures/sqlalchemy-seed003";

#[test]
fn seed_003_resolves_to_the_child_insert_and_the_parent_it_needs() {
    let (code, out) = explain(SEED_003_DIR, &[], Some(SEED_003));
    assert_eq!(code, 0, "{out}");
    insta::assert_snapshot!(out);
    let (code, v) = json(SEED_003_DIR, SEED_003);
    assert_eq!(code, 0);
    let text = v.to_string();
    assert!(text.contains("static_route_cache_device_id_fkey") && text.contains("device_cache_service.py"), "{text}");
}
