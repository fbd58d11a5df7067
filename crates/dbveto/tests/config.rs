//! The configuration file, inline suppressions and baselines, through the
//! real binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn dbveto(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(args).arg(dir).env_remove("NO_COLOR").output().expect("run dbveto");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn json(args: &[&str], dir: &Path) -> (i32, Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend(args);
    let (code, out, err) = dbveto(&all, dir);
    (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")))
}

/// `rule path:line` of each finding.
fn findings(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{} {}:{}", f["rule"].as_str().unwrap_or(""), f["location"]["path"].as_str().unwrap_or(""), f["location"]["line"]))
        .collect()
}

/// A scratch copy of a fixture, to edit.
fn scratch(fixture: &str, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&repo(fixture), &dir);
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn declared_sets_of_one_database_are_replayed_together_and_excluded_paths_are_not_read() {
    let dir = repo("tests/fixtures/config-shared-database");
    let (code, v) = json(&[], &dir);
    assert_eq!(code, 1);
    // The CHECK comes from billing's migration on the table accounts created;
    // scripts/ (which writes 'legacy') is excluded.
    assert_eq!(findings(&v), ["check-value-rejected services/billing/plans.py:10"]);
    assert_eq!(v["findings"][0]["related"][1]["path"], "services/billing/migrations/001_add_plan.up.sql");
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    let (_, out, _) = dbveto(&["schema"], &dir);
    assert!(out.starts_with("database services/accounts/migrations (golang-migrate, 2 migrations)"), "{out}");
}

#[test]
fn without_the_configuration_the_two_sets_are_two_databases() {
    let dir = scratch("tests/fixtures/config-shared-database", "no-config");
    std::fs::remove_file(dir.join("dbveto.toml")).expect("remove");
    let (code, v) = json(&[], &dir);
    // Billing's ALTER TABLE finds no `users` table: its CHECK is lost.
    assert_eq!((code, findings(&v)), (0, Vec::<String>::new()));
    assert!(v["diagnostics"][0]["message"].as_str().is_some_and(|m| m.contains("no earlier migration creates")), "{v}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn configuration_errors_name_the_file_and_the_key() {
    let dir = scratch("tests/fixtures/config-shared-database", "bad-config");
    let cases = [
        ("dbveto.toml", "exclude = [\"scripts\"]\ninclde = [\"services\"]\n", "unknown field `inclde`"),
        ("dbveto.toml", "dialect = \"mysql\"\n", "dialect `mysql` is not supported; dbveto supports only `postgresql`"),
        ("dbveto.toml", "[[migrations]]\npath = \"db\"\ntool = \"liquibase\"\n", "unknown migration tool `liquibase`"),
        ("dbveto.toml", "ignore = [\"not-a-rule\"]\n", "unknown rule `not-a-rule`"),
    ];
    for (file, text, expected) in cases {
        std::fs::write(dir.join(file), text).expect("write");
        let (code, out, err) = dbveto(&["check"], &dir);
        assert_eq!(code, 2, "{text}: {out}{err}");
        assert!(err.contains("dbveto.toml: ") && err.contains(expected), "{text}: {err}");
    }
    std::fs::write(dir.join("dbveto.toml"), "exclude = [\"scripts\"]\ninclde = [\"services\"]\n").expect("write");
    let message = dbveto(&["check"], &dir).2.replace(&dir.display().to_string(), "[ROOT]");
    insta::assert_snapshot!("unknown_key", message);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pyproject_tool_table_is_read_and_other_tools_are_not() {
    let dir = scratch("tests/fixtures/config-shared-database", "pyproject");
    let config = std::fs::read_to_string(dir.join("dbveto.toml")).expect("read");
    std::fs::remove_file(dir.join("dbveto.toml")).expect("remove");
    let pyproject = format!("[project]\nname = \"billing\"\n\n[tool.ruff]\nline-length = 100\n\n[tool.dbveto]\n{}", config.replace("[[migrations]]", "[[tool.dbveto.migrations]]"));
    std::fs::write(dir.join("pyproject.toml"), pyproject).expect("write");
    let (code, v) = json(&[], &dir);
    assert_eq!((code, findings(&v)), (1, vec!["check-value-rejected services/billing/plans.py:10".to_string()]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn this_repository_checks_itself_with_its_own_pyproject() {
    let (code, out, err) = dbveto(&["check", "--color", "never"], &repo("."));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn rule_selection_from_the_configuration_and_the_command_line() {
    let dir = scratch("tests/fixtures/django-checks", "select");
    std::fs::write(dir.join("dbveto.toml"), "select = [\"check-value-rejected\", \"value-too-long\"]\nignore = [\"value-too-long\"]\n").expect("write");
    let rules = |args: &[&str]| {
        let (_, v) = json(args, &dir);
        let mut r: Vec<String> = findings(&v).iter().map(|f| f.split(' ').next().unwrap_or("").to_string()).collect();
        r.sort();
        r.dedup();
        r
    };
    assert_eq!(rules(&[]), ["check-value-rejected"]);
    assert_eq!(rules(&["--extend-select", "add-not-null-without-default"]), ["add-not-null-without-default", "check-value-rejected"]);
    assert_eq!(rules(&["--select", "value-too-long"]), ["value-too-long"]);
    assert_eq!(rules(&["--ignore", "check-value-rejected"]), Vec::<String>::new());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn suppressions_in_go_python_and_sql() {
    let dir = repo("tests/fixtures/suppressions");
    let (code, out, _) = dbveto(&["check", "--color", "never"], &dir);
    assert_eq!(code, 1);
    insta::assert_snapshot!("suppressions", out);
    // What the comments hide is there without them.
    let (_, v) = json(&["--ignore-suppressions"], &dir);
    let all = findings(&v);
    for hidden in ["check-value-rejected app/orders.go:7", "check-value-rejected app/orders.py:2", "check-value-rejected db/queries/orders.sql:3"] {
        assert!(all.contains(&hidden.to_string()), "{hidden} not in {all:?}");
    }
    let (_, v) = json(&[], &dir);
    assert_eq!(findings(&v).len() + 3, all.len());
}

#[test]
fn a_baseline_hides_recorded_findings_until_their_line_changes() {
    let dir = scratch("examples/timeout-service", "baseline");
    let baseline = dir.join("dbveto-baseline.json");
    let b = baseline.to_str().expect("utf-8 path");
    let (code, _, err) = dbveto(&["check", "--write-baseline", b], &dir);
    assert_eq!(code, 0);
    assert!(err.contains("recorded 1 finding in"), "{err}");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&baseline).expect("baseline")).expect("json");
    assert_eq!(recorded["findings"][0]["rule"], "check-value-rejected");

    let (code, out, _) = dbveto(&["check", "--color", "never", "--baseline", b], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("All checks passed") && out.contains("1 more is in the baseline"), "{out}");

    // Lines added above the finding: still the same finding.
    let go = dir.join("internal/services/timeout.go");
    let text = std::fs::read_to_string(&go).expect("read");
    let moved = text.replacen("package services\n", "package services\n\n// Stale commands are\n// marked here.\n", 1);
    std::fs::write(&go, &moved).expect("write");
    let (code, v) = json(&["--baseline", b], &dir);
    assert_eq!((code, findings(&v)), (0, Vec::<String>::new()));

    // The line itself edited: a new finding.
    std::fs::write(&go, moved.replace("Result:    \"timed_out\",", "Result: \"timed_out\",")).expect("write");
    let (code, v) = json(&["--baseline", b], &dir);
    assert_eq!((code, findings(&v)), (1, vec!["check-value-rejected internal/services/timeout.go:29".to_string()]));

    std::fs::write(&baseline, "{\"findings\": 3}").expect("write");
    let (code, _, err) = dbveto(&["check", "--baseline", b], &dir);
    assert_eq!(code, 2);
    assert!(err.contains("not a dbveto baseline"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
