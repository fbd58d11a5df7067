//! A mutation campaign: inputs made from the fixtures by random edits
//! (bytes replaced, spans deleted or repeated thousands of times, brackets
//! nested tens of thousands deep, quotes, NUL and non-UTF-8 bytes, files
//! cut or spliced) must never abort dbveto nor keep it over 20 s.
//!
//! Each frontend's seed project is copied once per input with one file
//! mutated; twenty copies are checked in one run, and a run that fails is
//! split to name the input. `explain` gets mutated error texts, one run
//! each. The default size suits CI; the campaign the README reports is
//!
//!     DBVETO_MUTATIONS=10000 DBVETO_EXPLAIN_MUTATIONS=3000 \
//!         cargo test --release -p dbveto --test mutations -- --nocapture
//!
//! `DBVETO_MUTATION_SEED` changes the inputs.

#![cfg(unix)]

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);
const PER_RUN: usize = 20;

/// xorshift64*: the same inputs for the same seed, on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Pieces that make parsers work hard, or recover.
const PIECES: &[&[u8]] = &[
    b"(", b"[", b"{", b")", b"]", b"}", b"'", b"\"", b"`", b"\"\"\"", b"\\", b"\0", b"\xff\xfe", b"\n", b"    ", b"\t",
    b"a[", b"f(", b"x=", b"not ", b"lambda: ", b" if x else ", b" + ", b"**", b"await ", b"f\"{", b"class X(models.Model):\n",
    b"def f(self):\n", b"CREATE TABLE t (", b"CHECK (", b"ALTER TABLE t ADD ", b"$$", b"/*", b"--", b"INSERT INTO t VALUES (",
    b"func f() {", b"go func() {", b"for {", b"`UPDATE t SET a = ", b"select {", b"objects.create(", b".save()",
    b"session.add(", b"op.create_table(", b"sa.Column(", b"Mapped[", b"mapped_column(", b"\xc3\xa9", b"\xe2\x80\xae",
];

fn mutate(rng: &mut Rng, text: &[u8], other: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(out.len());
                    if i < out.len() {
                        out[i] = rng.next() as u8;
                    }
                }
            }
            1 => {
                let end = (at + rng.below(200)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                // A span repeated up to thousands of times: long lines, many statements.
                let end = (at + 1 + rng.below(80)).min(out.len());
                let span = out[at..end].to_vec();
                let times = [2, 10, 1000, 20_000][rng.below(4)];
                let repeated: Vec<u8> = span.iter().copied().cycle().take(span.len() * times).collect();
                out.splice(at..at, repeated);
            }
            3 => {
                // Deep nesting.
                let piece = [&b"("[..], b"[", b"{", b"a[", b"f(", b"not ", b"-", b"lambda: "][rng.below(8)];
                let times = [50, 500, 5_000, 60_000][rng.below(4)];
                out.splice(at..at, piece.repeat(times));
            }
            4 | 5 => {
                let piece = PIECES[rng.below(PIECES.len())];
                out.splice(at..at, piece.iter().copied());
            }
            6 => out.truncate(at),
            7 => {
                let from = rng.below(other.len());
                let end = (from + rng.below(400)).min(other.len());
                out.splice(at..at, other[from..end].iter().copied());
            }
            _ => {
                // A line's indentation changed.
                let line_start = out[..at].iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
                out.splice(line_start..line_start, b"        ".iter().copied());
            }
        }
    }
    out
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.extension().is_some_and(|x| matches!(x.to_str(), Some("py" | "sql" | "go" | "mod"))) {
            out.push(p);
        }
    }
    out.sort();
}

/// Runs `dbveto ARGS` with `input` on stdin (if any), at most [`LIMIT`]:
/// `Err` says how it ended when it aborted or ran too long.
fn run(args: &[&str], dir: Option<&Path>, input: Option<&[u8]>) -> Result<(), String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dbveto"));
    command.args(args).stdout(Stdio::null()).stderr(Stdio::piped()).stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    if let Some(dir) = dir {
        command.arg(dir);
    }
    let mut child = command.spawn().map_err(|e| e.to_string())?;
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        let _ = stdin.write_all(input);
    }
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            return match (status.code(), status.signal()) {
                (Some(0..=2), _) => Ok(()),
                (code, signal) => Err(format!("exit {code:?}, signal {signal:?}: {}", stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | "))),
            };
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn copy_project(from: &Path, to: &Path, files: &[PathBuf]) {
    for f in files {
        let rel = f.strip_prefix(from).unwrap_or(f);
        let target = to.join(rel);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::copy(f, target).expect("copy");
    }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Mutates `count` inputs from the project `seed` and checks them.
fn campaign(name: &str, seed_project: &str, count: usize) -> Vec<String> {
    let project = repo(seed_project);
    let mut files = Vec::new();
    files_under(&project, &mut files);
    let texts: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).expect("read seed")).collect();
    let mut rng = Rng(setting("DBVETO_MUTATION_SEED", 0x5eed) as u64 ^ name.len() as u64 * 0x9E37_79B9);
    let root = std::env::temp_dir().join(format!("dbveto-mutations-{name}-{}", std::process::id()));
    let mut problems = Vec::new();
    let mut done = 0;
    let started = Instant::now();
    while done < count {
        let _ = std::fs::remove_dir_all(&root);
        let batch = PER_RUN.min(count - done);
        let mut inputs = Vec::new();
        for i in 0..batch {
            let dir = root.join(format!("p{i}"));
            copy_project(&project, &dir, &files);
            let which = rng.below(files.len());
            let other = &texts[rng.below(texts.len())];
            let mutated = mutate(&mut rng, &texts[which], other);
            let target = dir.join(files[which].strip_prefix(&project).unwrap_or(&files[which]));
            std::fs::write(&target, &mutated).expect("write");
            inputs.push((dir, target));
        }
        if run(&["check", "--format", "json"], Some(&root), None).is_err() {
            // Name the inputs that fail on their own, and keep them.
            for (dir, target) in &inputs {
                if let Err(e) = run(&["check", "--format", "json"], Some(dir), None) {
                    let kept = std::env::temp_dir().join(format!("dbveto-crash-{name}-{}", done));
                    let _ = std::fs::create_dir_all(&kept);
                    let _ = std::fs::copy(target, kept.join(target.file_name().unwrap_or_default()));
                    problems.push(format!("{name}: {} ({e}); kept in {}", target.display(), kept.display()));
                }
            }
        }
        done += batch;
    }
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("{name}: {count} mutated inputs in {:.1?}, {} failed", started.elapsed(), problems.len());
    problems
}

#[test]
fn mutated_projects_never_abort_or_stall() {
    let count = setting("DBVETO_MUTATIONS", 200);
    let mut problems = Vec::new();
    for (name, project) in [
        ("sql", "tests/fixtures/catalog-features"),
        ("django", "tests/fixtures/django-checks"),
        ("sqlalchemy", "tests/fixtures/sqlalchemy-alembic"),
        ("go", "tests/fixtures/go-fabric-sync"),
    ] {
        problems.extend(campaign(name, project, count));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Error texts written for this campaign, each shaped like a real one.
const ERRORS: &[&str] = &[
    "psycopg2.errors.NotNullViolation: null value in column \"created_by\" of relation \"netbox_hedgehog_hedgehogresource\" violates not-null constraint\nDETAIL:  Failing row contains (1, vpc-1, null, 2024-01-01 00:00:00+00).",
    "ERROR:  new row for relation \"update_logs\" violates check constraint \"update_logs_result_check\"\nDETAIL:  Failing row contains (7, timed_out).",
    "sqlalchemy.exc.IntegrityError: (psycopg2.errors.ForeignKeyViolation) insert or update on table \"arp_cache\" violates foreign key constraint \"arp_cache_device_id_fkey\"\nDETAIL:  Key (device_id)=(42) is not present in table \"device_cache\".",
    "django.db.utils.IntegrityError: duplicate key value violates unique constraint \"shop_order_code_key\"\nDETAIL:  Key (code)=(A-1) already exists.",
    "ERROR 1048 (23000): Column 'site_id' cannot be null",
    "ERROR 3819 (HY000): Check constraint 'orders_chk_1' is violated.",
    "sqlite3.IntegrityError: NOT NULL constraint failed: child.parent_id",
    "SystemCheckError: System check identified some issues:\nERRORS:\nnetops.SyncJob: (models.E034) The index name 'netops_syncjob_fabric_type_start_idx' cannot be longer than 30 characters.",
    "pq: invalid input value for enum mood: \"happy\"",
];

#[test]
fn mutated_error_texts_never_abort_or_stall_explain() {
    let count = setting("DBVETO_EXPLAIN_MUTATIONS", 150);
    let mut rng = Rng(setting("DBVETO_MUTATION_SEED", 0x5eed) as u64 ^ 0xE8);
    let project = repo("tests/fixtures/django-checks");
    let path = project.to_string_lossy().to_string();
    let mut problems = Vec::new();
    let started = Instant::now();
    for i in 0..count {
        let text = ERRORS[rng.below(ERRORS.len())].as_bytes();
        let other = ERRORS[rng.below(ERRORS.len())].as_bytes();
        let input = mutate(&mut rng, text, other);
        if let Err(e) = run(&["explain", "--path", &path], None, Some(&input)) {
            let kept = std::env::temp_dir().join(format!("dbveto-crash-explain-{i}.txt"));
            let _ = std::fs::write(&kept, &input);
            problems.push(format!("explain input {i} ({e}); kept in {}", kept.display()));
        }
    }
    eprintln!("explain: {count} mutated error texts in {:.1?}, {} failed", started.elapsed(), problems.len());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
