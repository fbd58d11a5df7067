//! The real binary on the fixtures, with what users see snapshotted.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn dbveto(args: &[&str], dir: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(args).arg(repo(dir)).env_remove("NO_COLOR").output().expect("run dbveto");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr))
}

#[test]
fn seed_002_timed_out_result_is_caught_end_to_end() {
    let (code, out) = dbveto(&["check", "--color", "never"], "examples/timeout-service");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn seed_002_json_contract() {
    let (code, out) = dbveto(&["check", "--format", "json"], "examples/timeout-service");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn not_null_added_later_and_check_values_from_python() {
    let (code, out) = dbveto(&["check", "--color", "never"], "tests/fixtures/not-null-later");
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn negatives_have_no_findings() {
    for dir in ["tests/fixtures/constraint-readded", "tests/fixtures/defaults-identity", "tests/fixtures/catalog-features"] {
        let (code, out) = dbveto(&["check", "--format", "json"], dir);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        assert_eq!(v["findings"], serde_json::json!([]), "{dir}: {out}");
        assert_eq!(code, 0, "{dir}");
    }
}

#[test]
fn schema_formats() {
    let (code, out) = dbveto(&["schema", "--format", "sql"], "examples/timeout-service");
    assert_eq!(code, 0);
    insta::assert_snapshot!("schema_sql", out);
    let (_, out) = dbveto(&["schema"], "tests/fixtures/catalog-features");
    insta::assert_snapshot!("schema_text", out);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let (_, plain) = dbveto(&["check"], "examples/timeout-service");
    assert!(!plain.contains('\x1b'));
    let (_, coloured) = dbveto(&["check", "--color", "always"], "examples/timeout-service");
    assert!(coloured.contains("\x1b[1;31m"));
}

#[test]
fn usage_errors_exit_2() {
    let (code, out) = dbveto(&["check", "--select", "no-such-rule"], "examples/timeout-service");
    assert_eq!(code, 2);
    assert!(out.contains("unknown rule `no-such-rule`"));
    let (code, out) = dbveto(&["check"], "does/not/exist");
    assert_eq!(code, 2);
    assert!(out.contains("is not a directory"));
}

#[test]
fn select_and_ignore_rules() {
    let (code, _) = dbveto(&["check", "--ignore", "check-value-rejected"], "examples/timeout-service");
    assert_eq!(code, 0);
    let (code, _) = dbveto(&["check", "--select", "check-value-rejected"], "examples/timeout-service");
    assert_eq!(code, 1);
}

#[test]
fn rules_are_listed_and_documented() {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).arg("rules").output().expect("run");
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["rule", "check-value-rejected"]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("## Why is this bad?"));
}

#[test]
fn each_sqlc_query_is_parsed_on_its_own() {
    // A broken query does not hide the writes of the next one, and each
    // write is run at its own `-- name:` line.
    let dir = std::env::temp_dir().join(format!("dbveto-sqlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("db/migrations")).expect("dirs");
    std::fs::create_dir_all(dir.join("db/queries")).expect("dirs");
    std::fs::write(dir.join("db/migrations/001_t.up.sql"), "CREATE TABLE t (s text NOT NULL CHECK (s IN ('a', 'b')));\n").expect("write");
    std::fs::write(
        dir.join("db/queries/t.sql"),
        "-- name: Broken :exec\nINSERT INTO t (s) VALUES (;\n\n-- name: Bad :exec\nINSERT INTO t (s) VALUES ('c');\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["check", "--format", "json"]).arg(&dir).output().expect("run dbveto");
    let _ = std::fs::remove_dir_all(&dir);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let finding = &v["findings"][0];
    assert_eq!((finding["rule"].as_str(), finding["location"]["line"].as_u64()), (Some("check-value-rejected"), Some(5)), "{v}");
    assert!(finding["related"].as_array().into_iter().flatten().any(|r| r["line"] == 4), "run at its `-- name:` line: {v}");
    assert_eq!(v["diagnostics"][0]["location"]["line"], 2, "{v}");
}
