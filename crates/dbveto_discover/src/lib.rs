//! Walks a repository once, reads each file of interest once, and sorts
//! what it finds: SQL migration sets (with their order), SQL query files,
//! Go and Python sources, go.mod files.
//!
//! Invariant: every file that cannot be used (binary, not UTF-8, too big,
//! a symlink loop) becomes a diagnostic; nothing is skipped silently
//! except what `.gitignore`, hidden folders, vendored folders (`vendor`,
//! `node_modules`, `site-packages`, `venv`, `third_party`) and test
//! conventions exclude.

mod filter;
mod migrations;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use dbveto_source::{relative_path, Diagnostic, Severity, SourceFile};
use rayon::prelude::*;

pub use filter::PathFilter;
pub use migrations::{DeclaredSet, Migration, MigrationSet, MigrationTool};

/// What the configuration changes about discovery.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub filter: PathFilter,
    /// Migration folders declared by hand, in the order they are declared.
    pub declared: Vec<DeclaredSet>,
    /// The project's Python environment, relative to the root (else
    /// `.venv`, `venv` or `$VIRTUAL_ENV` is looked for).
    pub python_environment: Option<std::path::PathBuf>,
}

/// Files bigger than this are not read.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Folders of third-party code that a repository carries but does not own.
const VENDORED: &[&str] = &["vendor", "node_modules", "site-packages", "venv", "third_party"];

#[derive(Debug, Default)]
pub struct Discovery {
    pub migration_sets: Vec<MigrationSet>,
    /// `.sql` files of queries (sqlc-style `-- name:` files).
    pub query_files: Vec<SourceFile>,
    pub go_files: Vec<SourceFile>,
    pub go_mods: Vec<SourceFile>,
    pub python_files: Vec<SourceFile>,
    pub diagnostics: Vec<Diagnostic>,
    /// Bytes read, for throughput numbers.
    pub bytes: u64,
    /// Files found that could not be read (each has its diagnostic).
    pub unreadable: usize,
    /// Whether the configuration's `exclude` left out a folder or a file
    /// dbveto would read: an empty run is then what the user asked for.
    pub excluded_by_configuration: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Sql,
    Go,
    GoMod,
    Python,
}

fn kind_of(path: &Path) -> Option<Kind> {
    // A name that is not UTF-8 is read too, and shown lossily (as ripgrep does).
    let name = path.file_name()?.to_string_lossy();
    if name == "go.mod" {
        return Some(Kind::GoMod);
    }
    match &*path.extension()?.to_string_lossy() {
        "sql" => Some(Kind::Sql),
        // Tests often write invalid rows on purpose, to test the constraints.
        "go" if !name.ends_with("_test.go") => Some(Kind::Go),
        "py" if !(name.starts_with("test_") || name.ends_with("_test.py") || name == "conftest.py") => Some(Kind::Python),
        _ => None,
    }
}

/// A file found and read: its path, its kind, its text (or why not), its size.
type ReadFile = (PathBuf, Kind, Result<SourceFile, Diagnostic>, u64);

/// Walks `root` (honouring `.gitignore`) and reads the files dbveto uses.
pub fn discover(root: &Path) -> Discovery {
    discover_with(root, &Options::default())
}

/// [`discover`], with the configuration's globs and declared migration sets.
pub fn discover_with(root: &Path, options: &Options) -> Discovery {
    let filter = &options.filter;
    let (walk_filter, walk_root) = (filter.clone(), root.to_path_buf());
    // Walked on several threads, each file read by the thread that finds it:
    // neither the walk nor the reads wait for the other. Sorted afterwards.
    let found: Mutex<Vec<ReadFile>> = Mutex::default();
    let walk_errors: Mutex<Vec<Diagnostic>> = Mutex::default();
    let excluded_any = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let excluded_in_walk = excluded_any.clone();
    ignore::WalkBuilder::new(root)
        .follow_links(true)
        .require_git(false)
        .filter_entry(move |e| {
            let is_dir = e.file_type().is_some_and(|t| t.is_dir());
            let vendored = is_dir && e.file_name().to_str().is_some_and(|n| VENDORED.contains(&n));
            let excluded = is_dir && e.depth() > 0 && walk_filter.excludes_dir(&relative_path(&walk_root, e.path()));
            if excluded {
                excluded_in_walk.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            !(vendored || excluded)
        })
        .build_parallel()
        .run(|| {
            let (found, walk_errors, excluded_any) = (&found, &walk_errors, &*excluded_any);
            Box::new(move |entry| {
                match entry {
                    Ok(e) => {
                        if let Some(special) = e.file_type().and_then(special_kind) {
                            let rel = relative_path(root, e.path());
                            let message = format!("{special}, not a regular file; not read");
                            walk_errors.lock().unwrap_or_else(PoisonError::into_inner).push(Diagnostic::file(rel, Severity::Warning, message));
                        } else if let Some(kind) = kind_of(e.path()).filter(|_| e.file_type().is_some_and(|t| t.is_file())) {
                            let rel = relative_path(root, e.path());
                            if filter.accepts_file(&rel) {
                                let (file, bytes) = read_source(e.path(), &rel);
                                found.lock().unwrap_or_else(PoisonError::into_inner).push((e.into_path(), kind, file, bytes));
                            } else {
                                excluded_any.store(true, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    }
                    Err(err) => walk_errors.lock().unwrap_or_else(PoisonError::into_inner).push(walk_error(root, &err)),
                }
                ignore::WalkState::Continue
            })
        });
    let mut found = found.into_inner().unwrap_or_else(PoisonError::into_inner);
    found.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut diagnostics = walk_errors.into_inner().unwrap_or_else(PoisonError::into_inner);
    diagnostics.sort();
    let excluded_by_configuration = excluded_any.load(std::sync::atomic::Ordering::Relaxed);
    let mut d = Discovery { diagnostics, excluded_by_configuration, ..Discovery::default() };
    let mut sql = Vec::new();
    for (_, kind, file, bytes) in found {
        d.bytes += bytes;
        match (kind, file) {
            (_, Err(diag)) => {
                d.unreadable += 1;
                d.diagnostics.push(diag)
            }
            (Kind::Sql, Ok(f)) => sql.push(f),
            (Kind::Go, Ok(f)) => d.go_files.push(f),
            (Kind::GoMod, Ok(f)) => d.go_mods.push(f),
            (Kind::Python, Ok(f)) => d.python_files.push(f),
        }
    }
    let (sets, queries, diags) = migrations::classify_declared(sql, &options.declared);
    d.migration_sets = sets;
    d.query_files = queries;
    d.diagnostics.extend(diags);
    d
}

/// What a file that is neither a regular file nor a folder is: reading a
/// FIFO would wait for a writer, a device may never end.
fn special_kind(t: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        Some("a named pipe (FIFO)")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else {
        None
    }
}

/// Why nothing was read under `root`, when nothing was: how many files
/// dbveto would read there are left out by ignore files (`.gitignore`,
/// `.ignore`), hidden folders or the configuration. Walks again without
/// those rules, so only after a run that read nothing.
pub fn nothing_read(root: &Path) -> Diagnostic {
    let mut left_out = 0usize;
    // Bounded: the count only has to say whether there are some.
    let walk = ignore::WalkBuilder::new(root).standard_filters(false).follow_links(false).build();
    for entry in walk.flatten().take(1_000_000) {
        if entry.file_type().is_some_and(|t| t.is_file()) && kind_of(entry.path()).is_some() {
            left_out += 1;
        }
    }
    let message = match left_out {
        0 => "no file read: there is no SQL, Python or Go file here".to_string(),
        1 => "no file read: the one SQL, Python or Go file here is left out by an ignore file (.gitignore, .ignore), a hidden folder or the configuration's exclude".to_string(),
        n => format!(
            "no file read: the {n} SQL, Python and Go files here are left out by ignore files (.gitignore, .ignore), hidden folders or the configuration's exclude"
        ),
    };
    Diagnostic::file(".", Severity::Warning, message)
}

fn walk_error(root: &Path, err: &ignore::Error) -> Diagnostic {
    let path = error_path(err).map(|p| relative_path(root, p)).unwrap_or_else(|| ".".into());
    let message = if is_loop(err) {
        "symlink loop: this link points back to a directory above it; not followed".to_string()
    } else {
        format!("could not read: {err}")
    };
    Diagnostic::file(path, Severity::Warning, message)
}

fn is_loop(err: &ignore::Error) -> bool {
    match err {
        ignore::Error::Loop { .. } => true,
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => is_loop(err),
        _ => false,
    }
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::Loop { child, .. } => Some(child),
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => error_path(err),
        _ => None,
    }
}

/// Reads one file, refusing binary, non-UTF-8 and oversized content with a
/// diagnostic that says where and why.
pub fn read_source(path: &Path, rel: &str) -> (Result<SourceFile, Diagnostic>, u64) {
    let could_not_read = |e: std::io::Error| (Err(Diagnostic::file(rel, Severity::Warning, format!("could not read: {e}"))), 0);
    // One open, and the size from the open file: no second lookup of the path.
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return could_not_read(e),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE_BYTES {
        let message = format!("file of {} MB is larger than the {} MB dbveto reads; skipped", size / (1024 * 1024), MAX_FILE_BYTES / (1024 * 1024));
        return (Err(Diagnostic::file(rel, Severity::Warning, message)), 0);
    }
    let mut bytes = Vec::with_capacity(size as usize);
    // Through `take` (which limits nothing here): `File`'s own `read_to_end`
    // would look up the size again (a stat and a seek) for every file.
    if let Err(e) = std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, u64::MAX), &mut bytes) {
        return could_not_read(e);
    }
    let n = bytes.len() as u64;
    // Anywhere in the file: no parser reads past a NUL byte.
    if let Some(at) = memchr::memchr(0, &bytes) {
        let mut d = Diagnostic::file(rel, Severity::Warning, "binary file (contains NUL bytes); skipped");
        (d.location.line, d.location.column) = line_and_column(&bytes, at);
        return (Err(d), n);
    }
    match String::from_utf8(bytes) {
        Ok(text) => (Ok(SourceFile::new(rel, text)), n),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            let mut d = Diagnostic::file(rel, Severity::Warning, format!("not valid UTF-8 (invalid byte 0x{:02x}); file skipped", bytes[valid]));
            (d.location.line, d.location.column) = line_and_column(bytes, valid);
            (Err(d), n)
        }
    }
}

/// The 1-based line and column (in bytes) of a byte offset of text that
/// may not be UTF-8.
fn line_and_column(bytes: &[u8], at: usize) -> (u32, u32) {
    let before = &bytes[..at.min(bytes.len())];
    let line = memchr::memchr_iter(b'\n', before).count() as u32 + 1;
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() as u32 + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `bytes` to a file of its own and reads it back as dbveto does.
    fn read(name: &str, bytes: &[u8]) -> (Result<SourceFile, Diagnostic>, u64) {
        let dir = std::env::temp_dir().join(format!("dbveto-discover-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let read = read_source(&path, name);
        std::fs::remove_dir_all(&dir).unwrap();
        read
    }

    #[test]
    fn text_is_read_whole_and_indexed() {
        let (file, n) = read("a.sql", b"SELECT 1;\nSELECT 2;\n");
        let file = file.unwrap();
        assert_eq!((n, &*file.text, file.line_count()), (20, "SELECT 1;\nSELECT 2;\n", 3));
        assert_eq!(file.line_text(2), Some("SELECT 2;"));
    }

    #[test]
    fn binary_and_non_utf8_files_are_refused_with_where_and_why() {
        let (binary, n) = read("b.py", b"x = 1\n\0\0");
        let d = binary.unwrap_err();
        assert_eq!((n, d.message.as_str()), (8, "binary file (contains NUL bytes); skipped"));
        let (latin1, _) = read("c.py", b"a = 1\nb = '\xe9'\n");
        let d = latin1.unwrap_err();
        assert_eq!((d.location.line, d.location.column), (2, 6));
        assert_eq!(d.message, "not valid UTF-8 (invalid byte 0xe9); file skipped");
    }

    #[test]
    fn a_missing_file_is_a_diagnostic() {
        let (missing, n) = read_source(&std::env::temp_dir().join("dbveto-discover-missing").join("x.sql"), "x.sql");
        assert_eq!(n, 0);
        assert!(missing.unwrap_err().message.starts_with("could not read: "));
    }
}
