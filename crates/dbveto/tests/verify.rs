//! `dbveto verify` on a real PostgreSQL: every finding of every fixture is
//! confirmed by the server (or skipped for a stated reason), negatives stay
//! clean, the schema self-check finds no difference, several runs at once
//! work and leave nothing behind, Ctrl-C cleans up, and a live database is
//! only ever read.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::postgres::Postgres;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn dbveto(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(args).arg(dir).output().expect("run dbveto");
    (out.status.code().unwrap_or(-1), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn fixtures() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for parent in ["examples", "tests/fixtures"] {
        for e in std::fs::read_dir(repo(parent)).expect("fixtures").flatten() {
            // `long-names-sql` fails on PostgreSQL by design: its own test is in `postgres_catalog.rs`.
            if e.path().is_dir() && e.file_name() != "long-names-sql" {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// `rule path:line` of each finding of a JSON report.
fn sites(v: &Value) -> Vec<String> {
    let f = v["findings"].as_array().into_iter().flatten();
    f.map(|f| format!("{} {}:{}", f["rule"].as_str().unwrap_or(""), f["location"]["path"].as_str().unwrap_or(""), f["location"]["line"])).collect()
}

/// Rules whose findings are not a statement for the server to refuse
/// (besides those that name no SQLSTATE: job systems, missing rollbacks).
const NOT_STATEMENTS: [&str; 2] = ["model-drift", "identifier-too-long"];

#[test]
fn every_finding_of_every_fixture_is_confirmed_by_postgres() {
    let mut confirmed = 0;
    let mut problems = Vec::new();
    for dir in fixtures() {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().to_string();
        let (code, out) = dbveto(&["verify", "--format", "json"], &dir);
        let v = json(&out);
        // The same findings as `check` (inline suppressions included).
        let (_, checked) = dbveto(&["check", "--format", "json"], &dir);
        if sites(&v) != sites(&json(&checked)) {
            problems.push(format!("{name}: verify reports {:?}, check {:?}", sites(&v), sites(&json(&checked))));
        }
        for f in v["findings"].as_array().into_iter().flatten() {
            let what = format!("{name}: {} {} {} {}", f["rule"], f["table"], f["column"], f["value"]);
            let verification = &f["verification"];
            if NOT_STATEMENTS.contains(&f["rule"].as_str().unwrap_or("")) || f["sqlstate"].is_null() {
                if verification["status"] != "skipped" {
                    problems.push(format!("{what}: expected skipped, got {verification}"));
                }
            } else if verification["status"] == "confirmed" && verification["sqlstate"] == f["sqlstate"] {
                confirmed += 1;
            } else {
                problems.push(format!("{what}: not confirmed: {verification}"));
            }
        }
        for d in v["diagnostics"].as_array().into_iter().flatten() {
            let message = d["message"].as_str().unwrap_or("");
            let broken_on_purpose = name == "bad-input" && message.contains("syntax error");
            if (message.starts_with("schema self-check") || message.contains("failed on PostgreSQL")) && !broken_on_purpose {
                problems.push(format!("{name}: {message}"));
            }
        }
        let expected = if name == "bad-input" { 3 } else if v["findings"].as_array().is_some_and(|f| f.is_empty()) { 0 } else { 1 };
        if code != expected {
            problems.push(format!("{name}: exit code {code}, expected {expected}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(confirmed >= 25, "only {confirmed} findings confirmed");
}

#[test]
fn negative_fixtures_have_no_findings_and_no_differences() {
    for name in ["constraint-readded", "defaults-identity", "catalog-features", "django-ddl", "pending-migrations"] {
        let (code, out) = dbveto(&["verify", "--format", "json"], &repo(&format!("tests/fixtures/{name}")));
        let v = json(&out);
        assert_eq!(v["findings"], serde_json::json!([]), "{name}: {out}");
        assert_eq!(code, 0, "{name}: {out}");
    }
}

#[test]
fn schema_only_compares_every_sql_fixture() {
    for dir in fixtures() {
        let name = dir.file_name().unwrap_or_default().to_string_lossy().to_string();
        if name == "bad-input" {
            continue;
        }
        let (code, out) = dbveto(&["verify", "--schema-only", "--color", "never"], &dir);
        assert_eq!(code, 0, "{name}: {out}");
        assert!(!out.contains("schema self-check"), "{name}: {out}");
    }
}

#[test]
fn seed_002_is_confirmed_in_text_output() {
    let (code, out) = dbveto(&["verify", "--color", "never"], &repo("examples/timeout-service"));
    assert_eq!(code, 1);
    insta::assert_snapshot!(out);
}

/// A fresh directory the server's unprivileged user can reach.
fn scratch(tag: &str) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!("dbveto-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::DirBuilder::new().mode(0o755).recursive(true).create(&dir).expect("scratch dir");
    dir
}

/// Processes whose command line mentions `dir` (a server's `-D` argument).
fn processes_under(dir: &Path) -> Vec<String> {
    let needle = dir.to_string_lossy().to_string();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&needle) {
                out.push(format!("{}: {cmdline}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect()
}

#[test]
fn concurrent_runs_use_separate_servers_and_leave_nothing_behind() {
    let tmp = scratch("concurrent");
    let spawn = |fixture: &str| {
        Command::new(env!("CARGO_BIN_EXE_dbveto"))
            .args(["verify", "--format", "json"])
            .arg(repo(fixture))
            .env("TMPDIR", &tmp)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn dbveto")
    };
    let runs = [spawn("examples/timeout-service"), spawn("tests/fixtures/not-null-later"), spawn("examples/timeout-service")];
    for run in runs {
        let out = run.wait_with_output().expect("wait");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}{}", String::from_utf8_lossy(&out.stderr));
        let v = json(&text);
        assert!(v["findings"].as_array().is_some_and(|f| !f.is_empty() && f.iter().all(|f| f["verification"]["status"] == "confirmed")), "{text}");
    }
    assert_eq!(entries(&tmp), Vec::<String>::new(), "temporary directories left behind");
    assert_eq!(processes_under(&tmp), Vec::<String>::new(), "server processes left behind");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn ctrl_c_stops_the_server_and_removes_its_files() {
    let tmp = scratch("sigint");
    let project = scratch("sigint-project");
    let migrations = project.join("db/migrations");
    std::fs::create_dir_all(&migrations).expect("migrations dir");
    // A migration that keeps the server busy long enough to be interrupted.
    std::fs::write(migrations.join("001_slow.up.sql"), "CREATE TABLE t (a int);\nSELECT pg_sleep(120);\n").expect("write migration");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbveto"))
        .arg("verify")
        .arg(&project)
        .env("TMPDIR", &tmp)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn dbveto");
    let started = Instant::now();
    let running = |tmp: &Path| entries(tmp).iter().any(|d| tmp.join(d).join("data/postmaster.pid").exists() && tmp.join(d).join(".s.PGSQL.5432").exists());
    while !running(&tmp) {
        assert!(started.elapsed() < Duration::from_secs(90), "the server never started");
        assert!(child.try_wait().expect("try_wait").is_none(), "dbveto exited before it was interrupted");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!processes_under(&tmp).is_empty(), "the server should be running");
    // Let the migration start sleeping.
    std::thread::sleep(Duration::from_millis(1500));
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s.code();
        }
        assert!(started.elapsed() < Duration::from_secs(60), "dbveto did not exit after SIGINT");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, Some(130));
    assert_eq!(entries(&tmp), Vec::<String>::new(), "temporary directories left behind");
    assert_eq!(processes_under(&tmp), Vec::<String>::new(), "server processes left behind");
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&project);
}

/// Applies the up migrations of a golang-migrate folder, the first `n` of them.
fn migrate(pg: &Postgres, db: &str, dir: &Path, n: usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir).expect("migrations").flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with(".up.sql")).collect();
    files.sort();
    for f in files.into_iter().take(n) {
        pg.psql(db, &std::fs::read_to_string(&f).expect("read")).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
    }
}

#[test]
fn check_reads_the_schema_from_a_live_database_and_never_shows_the_password() {
    let pg = Postgres::start();
    pg.create_database("timeout");
    migrate(&pg, "timeout", &repo("examples/timeout-service/internal/database/migrations"), 2);
    let url = pg.conninfo("timeout", "password=hunter2");
    let (code, live) = dbveto(&["check", "--format", "json", "--database-url", &url], &repo("examples/timeout-service"));
    assert_eq!(code, 1, "{live}");
    assert!(!live.contains("hunter2"), "{live}");
    let (_, local) = dbveto(&["check", "--format", "json"], &repo("examples/timeout-service"));
    let key = |v: &Value| -> Vec<String> {
        v["findings"].as_array().into_iter().flatten().map(|f| format!("{} {} {} {} {}", f["rule"], f["table"], f["column"], f["constraint"], f["value"])).collect()
    };
    assert_eq!(key(&json(&live)), key(&json(&local)));
    // The constraint comes from the catalog, named by the redacted URL.
    assert!(live.contains("dbname=timeout password=********"), "{live}");

    let bad = pg.conninfo("no_such_db", "password=hunter2");
    let (code, out) = dbveto(&["check", "--database-url", &bad], &repo("examples/timeout-service"));
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("password=********") && !out.contains("hunter2"), "{out}");
}

#[test]
fn a_live_session_is_read_only() {
    let pg = Postgres::start();
    pg.create_database("ro");
    let mut live = dbveto_verify::live::connect(&pg.conninfo("ro", "")).expect("connect");
    let e = live.client.batch_execute("CREATE TABLE written (a int)").expect_err("a write must be refused");
    assert_eq!(e.as_db_error().map(|d| d.code().code()), Some("25006"), "{e}");
    let timeout = live.client.query_one("SHOW statement_timeout", &[]).expect("show").get::<_, String>(0);
    assert_eq!(timeout, "30s");
}

#[test]
fn pending_migrations_count_the_rows_they_would_fail_on() {
    let pg = Postgres::start();
    pg.create_database("shop");
    let fixture = repo("tests/fixtures/pending-migrations");
    migrate(&pg, "shop", &fixture.join("db/migrations"), 1);
    pg.psql(
        "shop",
        "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
         INSERT INTO schema_migrations VALUES (1, false);
         INSERT INTO customers VALUES (1, 'ada');
         INSERT INTO orders (state, customer_id, note) VALUES
           (NULL, 1, NULL), ('cancelled', 1, NULL), ('new', 99, NULL), ('paid', NULL, 'longer than ten'), ('shipped', 1, 'short');",
    )
    .expect("seed rows");
    let (code, out) = dbveto(&["verify", "--format", "json", "--pending", "--database-url", &pg.conninfo("shop", "")], &fixture);
    let v = json(&out);
    let messages = support::cli::diagnostic_lines(&v);
    insta::assert_snapshot!(messages.join("\n"));
    assert_eq!(code, 1, "{out}");
    assert_eq!(v["databases"][0]["pending_migrations"], 1, "{out}");
    // Nothing was written.
    assert_eq!(pg.psql("shop", "SELECT count(*) FROM orders").expect("count").trim(), "5");
    assert_eq!(pg.psql("shop", "SELECT version FROM schema_migrations").expect("version").trim(), "1");
}
