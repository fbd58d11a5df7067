//! `dbveto check` in every output format, and the flags that shape the
//! report, on the timeout-service example and a Django fixture.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const EXAMPLE: &str = "examples/timeout-service";
const DJANGO: &str = "tests/fixtures/django-checks";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn run(args: &[&str], dir: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbveto"));
    cmd.args(args).arg(repo(dir)).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run dbveto");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn check(args: &[&str], dir: &str) -> (i32, String) {
    let mut all = vec!["check"];
    all.extend(args);
    let (code, stdout, _) = run(&all, dir, &[]);
    (code, stdout)
}

#[test]
fn sarif_on_the_example() {
    let (code, out) = check(&["--format", "sarif"], EXAMPLE);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

#[test]
fn sarif_results_on_django() {
    let (code, out) = check(&["--format", "sarif"], DJANGO);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("json");
    // The rules and their documentation are in the example's snapshot.
    insta::assert_json_snapshot!(v["runs"][0]["results"]);
}

#[test]
fn github_annotations() {
    let (code, out) = check(&["--format", "github"], EXAMPLE);
    assert_eq!(code, 1);
    insta::assert_snapshot!("github_example", out);
    let (_, out) = check(&["--format", "github"], DJANGO);
    insta::assert_snapshot!("github_django", out);
}

#[test]
fn markdown_report() {
    let (code, out) = check(&["--format", "markdown"], EXAMPLE);
    assert_eq!(code, 1);
    insta::assert_snapshot!("markdown_example", out);
    let (_, out) = check(&["--format", "markdown"], DJANGO);
    insta::assert_snapshot!("markdown_django", out);
}

#[test]
fn statistics_count_findings_per_rule() {
    let (code, out) = check(&["--statistics"], DJANGO);
    assert_eq!(code, 1);
    insta::assert_snapshot!("statistics_django", out);
    let (_, out) = check(&["--statistics", "--format", "json"], DJANGO);
    let v: Value = serde_json::from_str(&out).expect("json");
    let total: u64 = v.as_array().expect("array").iter().map(|r| r["count"].as_u64().unwrap_or(0)).sum();
    let (_, json) = check(&["--format", "json"], DJANGO);
    let findings: Value = serde_json::from_str(&json).expect("json");
    assert_eq!(total as usize, findings["findings"].as_array().expect("findings").len());
}

#[test]
fn quiet_prints_findings_only() {
    let (code, out) = check(&["--quiet", "--color", "never"], DJANGO);
    assert_eq!(code, 1);
    let (_, full) = check(&["--color", "never"], DJANGO);
    assert!(full.contains("Found ") && full.contains(" problems ("), "{full}");
    assert!(!out.contains("Found"), "{out}");
    assert!(out.starts_with("error["), "{out}");
    // Every finding is still there.
    assert_eq!(out.matches("error[").count() + out.matches("warning[").count(), full.matches("error[").count() + full.matches("warning[").count());
    let (code, out) = check(&["-q"], "tests/fixtures/constraint-readded");
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn exit_zero_keeps_the_report() {
    let (code, out) = check(&["--exit-zero", "--color", "never"], EXAMPLE);
    assert_eq!(code, 0);
    assert!(out.contains("error[check-value-rejected]"));
}

#[test]
fn output_goes_to_a_file_without_colour() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("output-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("report.txt");
    let path = file.to_str().expect("utf-8 path");
    let (code, out) = check(&["--output", path], EXAMPLE);
    assert_eq!((code, out.as_str()), (1, ""));
    let written = std::fs::read_to_string(&file).expect("report written");
    assert!(written.contains("error[check-value-rejected]") && !written.contains('\x1b'), "{written}");
    let (_, out) = check(&["-o", path, "--color", "always"], EXAMPLE);
    assert!(out.is_empty());
    assert!(std::fs::read_to_string(&file).expect("report").contains("\x1b[1;31m"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// On a terminal (a pseudo-terminal from `script`), `auto` colours
/// unless `NO_COLOR` is set to something.
#[test]
fn colour_on_a_terminal_unless_no_color() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let on_terminal = |no_color: Option<&str>| {
        let command = format!("'{}' check '{}'", env!("CARGO_BIN_EXE_dbveto"), repo(EXAMPLE).display());
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"]).env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        String::from_utf8_lossy(&cmd.output().expect("run script").stdout).into_owned()
    };
    assert!(on_terminal(None).contains("\x1b[1;31m"));
    assert!(!on_terminal(Some("1")).contains('\x1b'));
    assert!(on_terminal(Some("")).contains("\x1b[1;31m"), "an empty NO_COLOR does not count");
    let (_, out, _) = run(&["check", "--color", "always"], EXAMPLE, &[("NO_COLOR", "1")]);
    assert!(out.contains("\x1b[1;31m"), "--color always wins over NO_COLOR");
}

#[test]
fn rules_as_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["rules", "--format", "json"]).output().expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = v.as_array().expect("array").iter().filter_map(|r| r["id"].as_str()).collect();
    let text = String::from_utf8_lossy(&Command::new(env!("CARGO_BIN_EXE_dbveto")).arg("rules").output().expect("run").stdout).into_owned();
    let text_ids: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids, text_ids);
    assert!(v[0]["docs"].as_str().is_some_and(|d| d.contains("## What it does")));
}

// ------------------------------------------------------------ SARIF schema

/// Exact pins of a JSON-schema validator and its dependencies.
const JSONSCHEMA: &[&str] = &[
    "jsonschema==4.26.0",
    "attrs==26.1.0",
    "referencing==0.37.0",
    "rpds-py==2026.9.1",
    "jsonschema-specifications==2025.9.1",
    "typing-extensions==4.16.0",
];

const VALIDATE: &str = r#"
import json, sys
from jsonschema import Draft4Validator
schema = json.load(open(sys.argv[1]))
Draft4Validator.check_schema(schema)
validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
failed = False
for path in sys.argv[2:]:
    for error in validator.iter_errors(json.load(open(path))):
        failed = True
        print(f"{path}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
sys.exit(1 if failed else 0)
"#;

/// The output on the example, a Django project and a repository with
/// unreadable input validates against the official SARIF 2.1.0 schema.
#[test]
fn sarif_validates_against_the_official_schema() {
    let venv = support::venv::cached("jsonschema-venv", JSONSCHEMA, "import jsonschema");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut files = Vec::new();
    for (i, fixture) in [EXAMPLE, DJANGO, "tests/fixtures/bad-input", "tests/fixtures/suppressions"].iter().enumerate() {
        let (_, out) = check(&["--format", "sarif"], fixture);
        let v: Value = serde_json::from_str(&out).expect("json");
        assert!(!v["runs"][0]["results"].as_array().expect("results").is_empty() || i == 2, "{fixture}: no results to validate");
        let file = dir.join(format!("{i}.sarif"));
        std::fs::write(&file, out).expect("write");
        files.push(file);
    }
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dbveto_report/tests/sarif-schema-2.1.0.json");
    let out = Command::new(support::venv::bin(&venv, "python")).arg("-c").arg(VALIDATE).arg(&schema).args(&files).output().expect("run python");
    assert!(out.status.success(), "SARIF does not validate:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}
