//! Bad input never crashes: unparsable SQL, Go and Python, binary and
//! non-UTF-8 files, a file of many MB and a symlink loop each give a
//! diagnostic with a path (and line), and the rest of the run goes on.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

fn fixture_with_generated_files() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/bad-input");
    let dir = std::env::temp_dir().join(format!("dbveto-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&src, &dir);
    std::fs::write(dir.join("db/migrations/002_blob.up.sql"), b"CREATE TABLE x (\x00\x01\x02\xff)").expect("binary");
    std::fs::write(dir.join("app/latin1.py"), b"# caf\xe9\nx = 1\n").expect("latin-1");
    // Several MB of valid Python with one write in the middle.
    let mut big = String::from("ROWS = [\n");
    for i in 0..120_000 {
        big.push_str(&format!("    ({i}, 'row number {i}'),\n"));
    }
    big.push_str("]\n\ndef add(cur):\n    cur.execute(\"INSERT INTO devices (status, site) VALUES ('gone', 'x')\")\n");
    std::fs::write(dir.join("app/big.py"), big).expect("big");
    // A NUL byte past the first 8 KB.
    let late_nul = format!("# {}\nx = 1\n\0\n", "x".repeat(9000));
    std::fs::write(dir.join("app/late_nul.py"), late_nul).expect("late NUL");
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::os::unix::fs::symlink("..", dir.join("app/loop")).expect("symlink");
        // A name that is not UTF-8, holding a real finding.
        let name = std::ffi::OsStr::from_bytes(b"app/caf\xe9.py");
        std::fs::write(dir.join(name), "def gone(cur):\n    cur.execute(\"INSERT INTO devices (status, site) VALUES ('gone', 'x')\")\n").expect("non-UTF-8 name");
        // A named pipe: reading it would wait for a writer forever.
        let fifo = dir.join("app/pipe.py");
        let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
    }
    dir
}

#[test]
fn bad_input_gives_diagnostics_and_the_run_goes_on() {
    let dir = fixture_with_generated_files();
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["check", "--format", "json"]).arg(&dir).output().expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let diagnostics: Vec<String> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| format!("{}:{}: {}", d["location"]["path"].as_str().unwrap_or(""), d["location"]["line"], d["message"].as_str().unwrap_or("")))
        .collect();
    let has = |path: &str, line: u32, words: &str| {
        diagnostics.iter().any(|d| d.starts_with(&format!("{path}:{line}: ")) && d.contains(words))
    };
    assert!(has("db/migrations/001_init.up.sql", 6, "could not parse SQL"), "{diagnostics:#?}");
    assert!(has("db/migrations/002_blob.up.sql", 1, "binary"), "{diagnostics:#?}");
    assert!(has("app/latin1.py", 1, "UTF-8"), "{diagnostics:#?}");
    assert!(diagnostics.iter().any(|d| d.starts_with("app/broken.go:") && d.contains("Go")), "{diagnostics:#?}");
    assert!(diagnostics.iter().any(|d| d.starts_with("app/broken.py:4:") && d.contains("Python")), "{diagnostics:#?}");
    assert!(has("app/bad_query.py", 2, "could not parse SQL"), "{diagnostics:#?}");
    assert!(diagnostics.iter().any(|d| d.starts_with("app/loop") && d.contains("loop")), "{diagnostics:#?}");
    assert!(has("app/late_nul.py", 3, "NUL"), "{diagnostics:#?}");
    assert!(has("app/pipe.py", 1, "named pipe"), "{diagnostics:#?}");

    // Replay went on past the broken statement: `site` exists and is NOT NULL.
    let findings: Vec<(String, String)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f["rule"].as_str().unwrap_or("").to_string(), format!("{}:{}", f["location"]["path"].as_str().unwrap_or(""), f["location"]["line"])))
        .collect();
    assert!(findings.contains(&("check-value-rejected".into(), "app/broken.go:6".into())), "{findings:?}");
    assert!(findings.contains(&("check-value-rejected".into(), "app/big.py:120005".into())), "{findings:?}");
    // The file whose name is not UTF-8 is read, its path shown lossily.
    assert!(findings.contains(&("check-value-rejected".into(), "app/caf\u{fffd}.py:2".into())), "{findings:?}");
    assert!(!findings.iter().any(|(_, at)| at.starts_with("app/broken.py")), "{findings:?}");
}

/// A run that reads no file says why, and does not pass.
#[test]
fn a_run_that_reads_nothing_says_why_and_fails() {
    let dir = std::env::temp_dir().join(format!("dbveto-nothing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("app")).expect("mkdir");
    std::fs::write(dir.join("app/models.py"), "x = 1\n").expect("write");
    std::fs::write(dir.join(".gitignore"), "*\n").expect("write");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_dbveto")).arg("check").args(args).arg(&dir).output().expect("run");
    let out = run(&[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("no file read: the one SQL, Python or Go file here is left out by an ignore file"), "{text}");
    assert!(text.contains("Nothing checked"), "{text}");
    // What the user asked for.
    assert_eq!(run(&["--exit-zero"]).status.code(), Some(0));
    std::fs::remove_file(dir.join(".gitignore")).expect("rm");
    assert_eq!(run(&[]).status.code(), Some(0));
    // The configuration's `exclude` leaving out everything is a choice: said, and a pass.
    std::fs::write(dir.join("dbveto.toml"), "exclude = [\"app\"]\n").expect("write");
    let out = run(&[]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("the configuration's `exclude` leaves out every file"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Inputs that once aborted or stalled a run, found by the mutation
/// campaign (`tests/mutations.rs`) or by hand, each in a project of its own.
fn check_generated(name: &str, files: &[(&str, Vec<u8>)]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("dbveto-regression-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, bytes) in files {
        let target = dir.join(path);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(target, bytes).expect("write");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_dbveto")).args(["check", "--format", "json"]).arg(&dir).output().expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    (out.status.code(), String::from_utf8_lossy(&out.stdout).to_string())
}

#[test]
fn python_expressions_nested_in_a_call_with_a_keyword_error_do_not_overflow_the_stack() {
    // The parser's error recovery dropped the 50,000-deep expression by
    // recursion: subscripts, unary minus, `not`, `lambda:` (the campaign's).
    let shapes = [("subscripts", "a["), ("minus", "-"), ("not", "not "), ("lambda", "lambda: ")];
    let files: Vec<(String, Vec<u8>)> =
        shapes.iter().map(|(name, piece)| (format!("app/{name}.py"), format!("f({}x=", piece.repeat(50_000)).into_bytes())).collect();
    let files: Vec<(&str, Vec<u8>)> = files.iter().map(|(p, b)| (p.as_str(), b.clone())).collect();
    let (code, out) = check_generated("deep-expressions", &files);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.matches("could not parse Python").count(), shapes.len(), "{out}");
}

#[test]
fn sql_create_table_repeating_a_column_with_unnamed_checks_does_not_stall() {
    // 20,000 copies of `at text CHECK (kind IN (...))`: each CHECK's name
    // was chosen by trying `_check`, `_check1`, ... from the start.
    let column = "    at text NOT NULL CHECK (kind IN ('click', 'view')),\n";
    let repeated = format!("CREATE TABLE events (\n    kind text,\n{}    id int\n);\n", column.repeat(20_000));
    let distinct: String = (0..20_000).map(|i| format!("    c{i} text CHECK (kind IN ('click', 'view')),\n")).collect();
    let distinct = format!("CREATE TABLE clicks (\n    kind text,\n{distinct}    id int\n);\n");
    let (code, out) = check_generated("repeated-checks", &[("migrations/001_events.sql", repeated.into_bytes()), ("migrations/002_clicks.sql", distinct.into_bytes())]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("column `at` specified more than once"), "{out}");
}

#[test]
fn sqlalchemy_and_alembic_walks_over_a_deep_recovered_expression_do_not_overflow_the_stack() {
    // `def create_task{{{...`: the parser recovers 60,000 nested sets, which
    // the SQLAlchemy frontend's search for calls walked without a bound.
    let models = "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n\nclass Base(DeclarativeBase):\n    pass\n\nclass Task(Base):\n    __tablename__ = 'tasks'\n    id: Mapped[int] = mapped_column(primary_key=True)\n    title: Mapped[str]\n";
    let tasks = format!("from sqlalchemy.orm import Session\n\nfrom .models import Task\n\n\ndef create_task{}(db: Session) -> Task:\n    db.add(Task())\n", "{".repeat(60_000));
    let revision = format!("revision = 'r1'\ndown_revision = None\nfrom alembic import op\nimport sqlalchemy as sa\ndef upgrade():\n    op.execute({})\n", "(".repeat(60_000));
    let (code, out) = check_generated(
        "deep-sqlalchemy",
        &[("app/__init__.py", Vec::new()), ("app/models.py", models.as_bytes().to_vec()), ("app/tasks.py", tasks.into_bytes()), ("migrations/versions/r1.py", revision.into_bytes())],
    );
    assert!(matches!(code, Some(0..=1)), "{out}");
}
