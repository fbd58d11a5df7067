//! The reference texts, verbatim, as each server, driver and framework
//! prints them.

use crate::params::Value;
use crate::{understand, Dialect, ErrorKind, Parameters};

fn get(input: &str) -> crate::DbError {
    match understand(input) {
        Some(e) => e,
        None => panic!("not understood: {input}"),
    }
}

fn fields(e: &crate::DbError) -> (Option<&str>, Option<&str>, Option<&str>) {
    (e.table.as_deref(), e.column.as_deref(), e.constraint.as_deref())
}

// PostgreSQL, psql

#[test]
fn not_null_with_failing_row() {
    let e = get("ERROR:  null value in column \"parent_id\" of relation \"child\" violates not-null constraint\nDETAIL:  Failing row contains (1, null, 1, null, null).");
    assert_eq!(e.kind, ErrorKind::NotNull);
    assert_eq!(e.sqlstate.as_deref(), Some("23502"));
    assert_eq!(fields(&e), (Some("child"), Some("parent_id"), None));
    assert_eq!(e.failing_row, Some(vec![Some("1".into()), None, Some("1".into()), None, None]));
    assert_eq!(e.message, "null value in column \"parent_id\" of relation \"child\" violates not-null constraint");
    assert_eq!(e.dialect, Dialect::Postgresql);
}

#[test]
fn not_null_before_postgres_13_has_no_relation() {
    let e = get("ERROR:  null value in column \"username\" violates not-null constraint");
    assert_eq!(fields(&e), (None, Some("username"), None));
}

#[test]
fn seed_000_message_as_a_person_retyped_it() {
    let e = get("K8s sync fails with \"null value in column 'managed_file_path' violates not-null constraint\"");
    assert_eq!(e.kind, ErrorKind::NotNull);
    assert_eq!(fields(&e), (None, Some("managed_file_path"), None));
}

#[test]
fn set_not_null_over_nulls_verbose() {
    let e = get("ERROR:  23502: column \"s\" of relation \"k\" contains null values\nSCHEMA NAME:  public\nTABLE NAME:  k\nCOLUMN NAME:  s\nLOCATION:  ATRewriteTable, tablecmds.c:6049");
    assert_eq!(e.kind, ErrorKind::NullsInExistingRows);
    assert_eq!(fields(&e), (Some("k"), Some("s"), None));
    assert_eq!(e.sqlstate.as_deref(), Some("23502"));
}

#[test]
fn check_violation_with_failing_row() {
    let e = get("ERROR:  new row for relation \"job_runs\" violates check constraint \"job_runs_state_check\"\nDETAIL:  Failing row contains (1, 11111111-1111-1111-1111-111111111111, expired, null, 2026-11-22 23:17:00.5611+00, heartbeat lost).");
    assert_eq!(e.kind, ErrorKind::Check);
    assert_eq!(e.sqlstate.as_deref(), Some("23514"));
    assert_eq!(fields(&e), (Some("job_runs"), None, Some("job_runs_state_check")));
    assert_eq!(e.row_value(2), Some(Some("expired")));
    assert_eq!(e.row_value(3), Some(None));
    assert_eq!(e.row_value(5), Some(Some("heartbeat lost")));
}

#[test]
fn check_added_over_failing_rows() {
    let e = get("ERROR:  23514: check constraint \"k_qty_neg\" of relation \"k\" is violated by some row");
    assert_eq!(e.kind, ErrorKind::CheckViolatedByExistingRow);
    assert_eq!(fields(&e), (Some("k"), None, Some("k_qty_neg")));
}

#[test]
fn foreign_key_insert_form_names_the_parent() {
    let e = get("ERROR:  insert or update on table \"child\" violates foreign key constraint \"child_parent_id_fkey\"\nDETAIL:  Key (parent_id)=(42) is not present in table \"parent\".");
    assert_eq!(e.kind, ErrorKind::ForeignKeyMissingParent);
    assert_eq!(e.sqlstate.as_deref(), Some("23503"));
    assert_eq!(fields(&e), (Some("child"), Some("parent_id"), Some("child_parent_id_fkey")));
    assert_eq!(e.parent_table.as_deref(), Some("parent"));
    assert_eq!(e.child_table.as_deref(), Some("child"));
    assert_eq!(e.key.as_ref().map(|k| k.values.as_str()), Some("42"));
}

#[test]
fn foreign_key_delete_form_names_the_child() {
    let e = get("ERROR:  update or delete on table \"parent\" violates foreign key constraint \"child_parent_id_fkey\" on table \"child\"\nDETAIL:  Key (id)=(1) is still referenced from table \"child\".");
    assert_eq!(e.kind, ErrorKind::ForeignKeyStillReferenced);
    assert_eq!(e.table.as_deref(), Some("parent"));
    assert_eq!(e.parent_table.as_deref(), Some("parent"));
    assert_eq!(e.child_table.as_deref(), Some("child"));
    assert_eq!(e.constraint.as_deref(), Some("child_parent_id_fkey"));
    assert_eq!(e.key.as_ref().map(|k| k.columns.clone()), Some(vec!["id".to_string()]));
}

#[test]
fn unique_violation_and_unique_index_over_duplicates() {
    let e = get("ERROR:  duplicate key value violates unique constraint \"parent_code_key\"\nDETAIL:  Key (code)=(x) already exists.");
    assert_eq!(e.kind, ErrorKind::Unique);
    assert_eq!(e.sqlstate.as_deref(), Some("23505"));
    assert_eq!(fields(&e), (None, Some("code"), Some("parent_code_key")));
    let e = get("ERROR:  could not create unique index \"u2_a_key\"\nDETAIL:  Key (a)=(1) is duplicated.");
    assert_eq!(e.constraint.as_deref(), Some("u2_a_key"));
    let e = get("DETAIL:  Key (customer_id, sku)=(1, a) already exists.\nERROR:  duplicate key value violates unique constraint \"shop_orderitem_customer_id_sku_1accc34a_uniq\"\nDETAIL:  Key (customer_id, sku)=(1, a) already exists.");
    assert_eq!(e.key.as_ref().map(|k| k.columns.len()), Some(2));
    assert_eq!(e.column, None);
}

#[test]
fn enum_input_with_line_and_caret() {
    let e = get("ERROR:  invalid input value for enum mood: \"happy\"\nLINE 1: INSERT INTO m VALUES (1, 'happy');\n                                 ^");
    assert_eq!(e.kind, ErrorKind::InvalidEnumValue);
    assert_eq!(e.sqlstate.as_deref(), Some("22P02"));
    assert_eq!(e.type_name.as_deref(), Some("mood"));
    assert_eq!(e.value.as_deref(), Some("happy"));
}

#[test]
fn value_too_long() {
    let e = get("ERROR:  value too long for type character varying(5)");
    assert_eq!(e.kind, ErrorKind::ValueTooLong);
    assert_eq!(e.sqlstate.as_deref(), Some("22001"));
    assert_eq!(e.max_length, Some(5));
    assert_eq!(e.type_name.as_deref(), Some("character varying(5)"));
    let e = get("django.db.utils.DataError: value too long for type character varying(20)");
    assert_eq!(e.wrappers, ["django.db.utils.DataError"]);
    assert_eq!(e.max_length, Some(20));
}

#[test]
fn server_log_with_statement() {
    let e = get("2025-08-11 10:00:01.123 UTC [4711] ERROR:  null value in column \"reason\" of relation \"job_runs\" violates not-null constraint\n2025-08-11 10:00:01.123 UTC [4711] DETAIL:  Failing row contains (3, 1, queued, null, 2026-11-22 23:17:00.562921+00, null).\n2025-08-11 10:00:01.123 UTC [4711] STATEMENT:  INSERT INTO job_runs (owner, state) VALUES ($1, $2)");
    assert_eq!(e.sql.as_deref(), Some("INSERT INTO job_runs (owner, state) VALUES ($1, $2)"));
    assert_eq!(e.failing_row.as_ref().map(Vec::len), Some(6));
}

// Go drivers

#[test]
fn seed_002_lib_pq_inside_a_log_line() {
    let e = get("Warning: failed to create timeout log entry: pq: new row for relation \"update_logs\" violates check constraint \"update_logs_result_check\"");
    assert_eq!(e.kind, ErrorKind::Check);
    assert_eq!(e.driver.as_deref(), Some("lib/pq"));
    assert_eq!(e.sqlstate.as_deref(), Some("23514"));
    assert_eq!(fields(&e), (Some("update_logs"), None, Some("update_logs_result_check")));
}

#[test]
fn lib_pq_1_11_appends_the_code() {
    let e = get("pq: null value in column \"n\" of relation \"e5\" violates not-null constraint (23502)");
    assert_eq!(e.sqlstate.as_deref(), Some("23502"));
    assert_eq!(e.driver.as_deref(), Some("lib/pq"));
    assert_eq!(fields(&e), (Some("e5"), Some("n"), None));
}

#[test]
fn pgx_severity_and_sqlstate() {
    let e = get("ERROR: null value in column \"n\" of relation \"e5\" violates not-null constraint (SQLSTATE 23502)");
    assert_eq!(e.driver.as_deref(), Some("pgx"));
    assert_eq!(e.sqlstate.as_deref(), Some("23502"));
    assert_eq!(fields(&e), (Some("e5"), Some("n"), None));
    let e = get("create log: ERROR: new row for relation \"update_logs\" violates check constraint \"update_logs_result_check\" (SQLSTATE 23514)");
    assert_eq!(e.constraint.as_deref(), Some("update_logs_result_check"));
}

// Python drivers and frameworks

#[test]
fn psycopg2_str_and_exception_class() {
    let e = get("psycopg2.errors.NotNullViolation: null value in column \"parent_id\" of relation \"child\" violates not-null constraint\nDETAIL:  Failing row contains (5, null, 1, null, null).\n");
    assert_eq!(e.driver.as_deref(), Some("psycopg2"));
    assert_eq!(e.exception.as_deref(), Some("psycopg2.errors.NotNullViolation"));
    assert_eq!(e.failing_row.as_ref().map(Vec::len), Some(5));
}

#[test]
fn psycopg_3_class() {
    let e = get("psycopg.errors.UniqueViolation: duplicate key value violates unique constraint \"shop_customer_email_key\"\nDETAIL:  Key (email)=(a@x) already exists.");
    assert_eq!(e.driver.as_deref(), Some("psycopg"));
    assert_eq!(e.sqlstate.as_deref(), Some("23505"));
    assert_eq!(e.column.as_deref(), Some("email"));
}

#[test]
fn django_integrity_error() {
    let e = get("django.db.utils.IntegrityError: null value in column \"length_cm\" of relation \"inventory_cable\" violates not-null constraint\nDETAIL:  Failing row contains (1, auto, 1, 2, null).");
    assert_eq!(e.wrappers, ["django.db.utils.IntegrityError"]);
    assert_eq!(fields(&e), (Some("inventory_cable"), Some("length_cm"), None));
    assert_eq!(e.row_value(4), Some(None));
}

#[test]
fn django_foreign_key() {
    let e = get("django.db.utils.IntegrityError: insert or update on table \"shop_orderitem\" violates foreign key constraint \"shop_orderitem_customer_id_6c715ae3_fk_shop_customer_id\"\nDETAIL:  Key (customer_id)=(99998) is not present in table \"shop_customer\".");
    assert_eq!(e.kind, ErrorKind::ForeignKeyMissingParent);
    assert_eq!(e.constraint.as_deref(), Some("shop_orderitem_customer_id_6c715ae3_fk_shop_customer_id"));
    assert_eq!(e.parent_table.as_deref(), Some("shop_customer"));
}

const SQLALCHEMY_FK: &str = "sqlalchemy.exc.IntegrityError: (psycopg2.errors.ForeignKeyViolation) insert or update on table \"interface_stat\" violates foreign key constraint \"interface_stat_host_id_fkey\"
DETAIL:  Key (host_id)=(2) is not present in table \"host\".

[SQL: INSERT INTO interface_stat (host_id, ifname, oper_state, speed_mbps) VALUES (%(host_id)s, %(ifname)s, %(oper_state)s, %(speed_mbps)s) RETURNING interface_stat.id]
[parameters: {'host_id': 2, 'ifname': 'e0', 'oper_state': 'up', 'speed_mbps': None}]
(Background on this error at: https://sqlalche.me/e/21/gkpj)";

#[test]
fn sqlalchemy_wrapped_psycopg2_with_sql_and_parameters() {
    let e = get(SQLALCHEMY_FK);
    assert_eq!(e.kind, ErrorKind::ForeignKeyMissingParent);
    assert_eq!(e.driver.as_deref(), Some("psycopg2"));
    assert_eq!(e.exception.as_deref(), Some("psycopg2.errors.ForeignKeyViolation"));
    assert_eq!(e.wrappers, ["sqlalchemy.exc.IntegrityError"]);
    assert_eq!(e.parent_table.as_deref(), Some("host"));
    assert_eq!(
        e.sql.as_deref(),
        Some("INSERT INTO interface_stat (host_id, ifname, oper_state, speed_mbps) VALUES (%(host_id)s, %(ifname)s, %(oper_state)s, %(speed_mbps)s) RETURNING interface_stat.id")
    );
    let p = e.parameters.as_ref().unwrap();
    assert_eq!(p.get("host_id"), Some(&Value::Number("2".into())));
    assert!(!e.pending_rollback);
}

#[test]
fn sqlalchemy_not_null_with_multiline_sql() {
    let e = get("sqlalchemy.exc.IntegrityError: (psycopg2.errors.NotNullViolation) null value in column \"req\" of relation \"t2\" violates not-null constraint\nDETAIL:  Failing row contains (2, null, k, pydefault).\n\n[SQL: INSERT INTO t2 (req, note)\nVALUES (%(req)s, %(note)s) RETURNING t2.id, t2.kind]\n[parameters: {'req': None, 'note': 'pydefault'}]\n(Background on this error at: https://sqlalche.me/e/21/gkpj)");
    assert_eq!(e.sql.as_deref(), Some("INSERT INTO t2 (req, note)\nVALUES (%(req)s, %(note)s) RETURNING t2.id, t2.kind"));
    assert_eq!(e.parameters.as_ref().and_then(|p| p.get("req")), Some(&Value::None));
}

/// Seed 003: the flush fails on the child table, then every later use of
/// the session raises PendingRollbackError.
const SEED_003: &str = "Traceback (most recent call last):
  File \"/app/backend/app/services/topology_discovery_service.py\", line 412, in _cache_static_routes_sync
    device_cache_service.bulk_replace_static_routes(db, device_id, cache_entries)
  File \"/app/backend/app/services/device_cache_service.py\", line 88, in bulk_replace_static_routes
    db.commit()
psycopg2.errors.ForeignKeyViolation: insert or update on table \"static_route_cache\" violates foreign key constraint \"static_route_cache_device_id_fkey\"
DETAIL:  Key (device_id)=(3ec64b79-aa33-46be-b9c2-6a5aa9ea6381) is not present in table \"device_cache\".


The above exception was the direct cause of the following exception:

sqlalchemy.exc.IntegrityError: (psycopg2.errors.ForeignKeyViolation) insert or update on table \"static_route_cache\" violates foreign key constraint \"static_route_cache_device_id_fkey\"
DETAIL:  Key (device_id)=(3ec64b79-aa33-46be-b9c2-6a5aa9ea6381) is not present in table \"device_cache\".

[SQL: INSERT INTO static_route_cache (device_id, network, nexthop) VALUES (%(device_id)s, %(network)s, %(nexthop)s) RETURNING static_route_cache.id]
[parameters: {'device_id': '3ec64b79-aa33-46be-b9c2-6a5aa9ea6381', 'network': '10.0.0.0/8', 'nexthop': '10.1.1.1'}]
(Background on this error at: https://sqlalche.me/e/20/gkpj)
ERROR:app.services.topology:Failed to cache OSPF routes for 3ec64b79-aa33-46be-b9c2-6a5aa9ea6381: This Session's transaction has been rolled back due to a previous exception during flush. To begin a new transaction with this Session, first issue Session.rollback(). Original exception was: (psycopg2.errors.ForeignKeyViolation) insert or update on table \"static_route_cache\" violates foreign key constraint \"static_route_cache_device_id_fkey\"
sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled back due to a previous exception during flush.";

#[test]
fn seed_003_traceback_with_pending_rollback() {
    let e = get(SEED_003);
    assert_eq!(e.kind, ErrorKind::ForeignKeyMissingParent);
    assert_eq!(fields(&e), (Some("static_route_cache"), Some("device_id"), Some("static_route_cache_device_id_fkey")));
    assert_eq!(e.parent_table.as_deref(), Some("device_cache"));
    assert!(e.pending_rollback);
    assert_eq!(e.wrappers, ["sqlalchemy.exc.IntegrityError", "sqlalchemy.exc.PendingRollbackError"]);
    assert!(e.sql.as_deref().is_some_and(|s| s.starts_with("INSERT INTO static_route_cache (device_id, network, nexthop)")));
    assert_eq!(e.frames.len(), 2);
    assert_eq!(e.frames[0].line, 412);
    assert_eq!(e.frames[1].function, "bulk_replace_static_routes");
}

#[test]
fn pending_rollback_alone_still_tells_the_kind() {
    let e = get("sqlalchemy.exc.PendingRollbackError: This Session's transaction has been rolled back due to a previous exception during flush. To begin a new transaction with this Session, first issue Session.rollback(). Original exception was: (psycopg2.errors.CheckViolation) new row for relation ...");
    assert_eq!(e.kind, ErrorKind::Check);
    assert_eq!(e.sqlstate.as_deref(), Some("23514"));
    assert!(e.pending_rollback);
    assert_eq!(fields(&e), (None, None, None));
}

#[test]
fn json_log_with_escaped_newlines() {
    let e = get(r#"{"level":"error","msg":"(psycopg2.errors.CheckViolation) new row for relation \"job_runs\" violates check constraint \"job_runs_state_check\"\nDETAIL:  Failing row contains (1, expired).\n"}"#);
    assert_eq!(e.constraint.as_deref(), Some("job_runs_state_check"));
    assert_eq!(e.row_value(1), Some(Some("expired")));
}

// MySQL / MariaDB

#[test]
fn mysql_not_null_forms() {
    let e = get("ERROR 1048 (23000) at line 1: Column 'parent_id' cannot be null");
    assert_eq!((e.kind, e.errno, e.dialect), (ErrorKind::NotNull, Some(1048), Dialect::Mysql));
    assert_eq!(e.sqlstate.as_deref(), Some("23000"));
    assert_eq!(e.column.as_deref(), Some("parent_id"));
    let e = get("django.db.utils.OperationalError: (1364, \"Field 'parent_id' doesn't have a default value\")");
    assert_eq!((e.kind, e.errno), (ErrorKind::NotNull, Some(1364)));
    assert_eq!(e.column.as_deref(), Some("parent_id"));
}

#[test]
fn mysql_and_mariadb_check() {
    let e = get("Error 3819 (HY000): Check constraint 't1_chk_1' is violated.");
    assert_eq!((e.kind, e.errno), (ErrorKind::Check, Some(3819)));
    assert_eq!(e.constraint.as_deref(), Some("t1_chk_1"));
    assert_eq!(e.driver.as_deref(), Some("go-sql-driver/mysql"));
    let e = get("ERROR 4025 (23000) at line 3: CONSTRAINT `child_state_ck` failed for `d`.`child`");
    assert_eq!((e.kind, e.dialect), (ErrorKind::Check, Dialect::Mariadb));
    assert_eq!(fields(&e), (Some("child"), None, Some("child_state_ck")));
    let e = get("CONSTRAINT `child.qty` failed for `d`.`child`");
    assert_eq!(fields(&e), (Some("child"), Some("qty"), Some("child.qty")));
}

#[test]
fn mysql_foreign_keys_both_ways() {
    let e = get("ERROR 1452 (23000): Cannot add or update a child row: a foreign key constraint fails (`d`.`child`, CONSTRAINT `child_parent_fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))");
    assert_eq!(e.kind, ErrorKind::ForeignKeyMissingParent);
    assert_eq!(fields(&e), (Some("child"), Some("parent_id"), Some("child_parent_fk")));
    assert_eq!(e.parent_table.as_deref(), Some("parent"));
    let e = get("Cannot delete or update a parent row: a foreign key constraint fails (`d`.`child`, CONSTRAINT `child_parent_fk` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`))");
    assert_eq!(e.kind, ErrorKind::ForeignKeyStillReferenced);
    assert_eq!(e.table.as_deref(), Some("parent"));
    assert_eq!(e.child_table.as_deref(), Some("child"));
    assert_eq!(e.errno, Some(1451));
}

#[test]
fn mysql_too_long_and_duplicate() {
    let e = get("Data too long for column 'name' at row 1");
    assert_eq!((e.kind, e.errno), (ErrorKind::ValueTooLong, Some(1406)));
    assert_eq!(e.column.as_deref(), Some("name"));
    let e = get("Duplicate entry 'x' for key 'code'");
    assert_eq!((e.kind, e.errno), (ErrorKind::Unique, Some(1062)));
    assert_eq!((e.constraint.as_deref(), e.value.as_deref()), (Some("code"), Some("x")));
    let e = get("Duplicate entry '1' for key 'child.PRIMARY'");
    assert_eq!(fields(&e), (Some("child"), None, Some("PRIMARY")));
}

// SQLite

#[test]
fn sqlite_messages() {
    let e = get("sqlite3.IntegrityError: NOT NULL constraint failed: child.parent_id");
    assert_eq!((e.kind, e.dialect), (ErrorKind::NotNull, Dialect::Sqlite));
    assert_eq!(fields(&e), (Some("child"), Some("parent_id"), None));
    assert_eq!(e.driver.as_deref(), Some("sqlite3"));
    assert_eq!(e.sqlstate, None);
    let e = get("CHECK constraint failed: child_state_ck");
    assert_eq!(e.constraint.as_deref(), Some("child_state_ck"));
    let e = get("CHECK constraint failed: qty > 0");
    assert_eq!(e.constraint.as_deref(), Some("qty > 0"));
    let e = get("sqlalchemy.exc.IntegrityError: (sqlite3.IntegrityError) FOREIGN KEY constraint failed\n[SQL: INSERT INTO child (parent_id) VALUES (?)]\n[parameters: (7,)]");
    assert_eq!(e.kind, ErrorKind::ForeignKey);
    assert_eq!(e.sql.as_deref(), Some("INSERT INTO child (parent_id) VALUES (?)"));
    assert_eq!(e.parameters, Some(Parameters::Positional(vec![Value::Number("7".into())])));
    let e = get("django.db.utils.IntegrityError: UNIQUE constraint failed: child.a, child.b");
    assert_eq!(e.kind, ErrorKind::Unique);
    assert_eq!(e.key.as_ref().map(|k| k.columns.clone()), Some(vec!["a".to_string(), "b".to_string()]));
}

// Django system checks

#[test]
fn django_e034_from_system_check_error() {
    let input = "django.core.management.base.SystemCheckError: SystemCheckError: System check identified some issues:\n\nERRORS:\nnetops.SyncJob: (models.E034) The index name 'netops_syncjob_fabric_type_start_idx' cannot be longer than 30 characters.\n\nSystem check identified 1 issue (0 silenced).";
    let e = get(input);
    assert_eq!((e.kind, e.dialect), (ErrorKind::IndexNameTooLong, Dialect::Django));
    assert_eq!(e.value.as_deref(), Some("netops_syncjob_fabric_type_start_idx"));
    assert_eq!(e.model.as_deref(), Some("netops.SyncJob"));
    assert_eq!(e.max_length, Some(30));
    assert_eq!(e.sqlstate, None);
    assert_eq!(e.message, "netops.SyncJob: (models.E034) The index name 'netops_syncjob_fabric_type_start_idx' cannot be longer than 30 characters.");
}

// Finding the error

#[test]
fn no_database_error_is_none() {
    assert!(understand("").is_none());
    assert!(understand("Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nKeyError: 'network_driver'").is_none());
    assert!(understand("connection refused").is_none());
}

#[test]
fn the_first_error_is_the_cause() {
    let e = get("ERROR:  null value in column \"a\" of relation \"t\" violates not-null constraint\nlater:\nERROR:  null value in column \"b\" of relation \"t\" violates not-null constraint");
    assert_eq!(e.column.as_deref(), Some("a"));
}

#[test]
fn serialises_kinds_in_kebab_case() {
    let e = get("pq: new row for relation \"update_logs\" violates check constraint \"update_logs_result_check\"");
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["kind"], "check");
    assert_eq!(v["dialect"], "postgresql");
}

#[test]
fn a_message_wrapped_before_violates_is_joined() {
    let e = get("(psycopg2.errors.ForeignKeyViolation) insert or update on table \"static_route_cache\"\nviolates foreign key constraint \"static_route_cache_device_id_fkey\"\nDETAIL:  Key (device_id)=(3ec6) is not present in table \"device_cache\".");
    assert_eq!(e.table.as_deref(), Some("static_route_cache"));
    assert_eq!(e.constraint.as_deref(), Some("static_route_cache_device_id_fkey"));
    assert_eq!(e.parent_table.as_deref(), Some("device_cache"));
}
