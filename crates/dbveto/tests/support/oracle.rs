//! What the ORM-oracle tests share: the fixture's files as dbveto reads
//! them, and how a write dbveto reads differs from one the ORM sent.

use std::path::Path;

use dbveto_source::SourceFile;
use dbveto_writes::{Arg, Literal, Write, WriteKind};

/// The Python files of the fixture, as dbveto reads them.
pub fn sources(dir: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("fixture dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                let rel = path.strip_prefix(dir).expect("inside").to_string_lossy().replace('\\', "/");
                files.push(SourceFile::new(rel, std::fs::read_to_string(&path).expect("utf-8 fixture")));
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn columns(write: &Write) -> Vec<(String, &Arg)> {
    write.columns.iter().flatten().cloned().zip(&write.values).collect()
}

/// How `ours` differs from the ORM's `theirs`; empty when it matches.
pub fn differences(ours: &Write, theirs: &Write, orm: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (ours_cols, theirs_cols) = (columns(ours), columns(theirs));
    for (column, arg) in &ours_cols {
        match theirs_cols.iter().find(|(c, _)| c == column) {
            None => out.push(format!("dbveto sends `{column}`, {orm} does not")),
            Some((_, sent)) => {
                let claimed: Vec<&Literal> = if arg.unknown { Vec::new() } else { arg.known.iter().map(|k| &k.literal).collect() };
                let actual: Vec<&Literal> = sent.known.iter().map(|k| &k.literal).collect();
                if arg.default != sent.default {
                    out.push(format!("`{column}`: dbveto's DEFAULT keyword is {}, {orm}'s {}", arg.default, sent.default));
                } else if !claimed.is_empty() && !sent.unknown && !claimed.iter().any(|c| actual.contains(c)) {
                    out.push(format!("`{column}`: dbveto claims {claimed:?}, {orm} sends {actual:?}"));
                }
            }
        }
    }
    if ours.kind == WriteKind::Insert && !ours.partial {
        for (column, _) in &theirs_cols {
            if !ours_cols.iter().any(|(c, _)| c == column) {
                out.push(format!("{orm} sends `{column}`, dbveto does not"));
            }
        }
    }
    out
}

