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


/// dbveto's writes of one shape, the rows of one multi-row INSERT (those
/// `same` pairs) merged into one write as the SQL frontend merges the rows
/// of a VALUES list.
pub fn merge_rows<'w>(writes: impl Iterator<Item = &'w Write>, same: impl Fn(&Write, &Write) -> bool) -> Vec<Write> {
    let mut merged: Vec<Write> = Vec::new();
    for w in writes {
        match merged.iter_mut().find(|m| same(m, w)) {
            Some(m) => {
                for (mine, theirs) in m.values.iter_mut().zip(&w.values) {
                    mine.merge(theirs.clone());
                }
            }
            None => merged.push(w.clone()),
        }
    }
    merged
}

/// Matches each statement the ORM sent, in order, with one of `ours` of
/// the same table and kind that it does not contradict, and reports the
/// rest. `ours[..own]` are the shape's own writes, each to be matched at
/// most once; those after it (a signal handler's) may match any number of
/// times. Returns the shape's own writes that were not sent.
pub fn match_statements(name: &str, orm: &str, mut ours: Vec<Write>, mut own: usize, theirs: &[Write], report: &mut Vec<String>) -> Vec<Write> {
    for sent in theirs {
        let candidates: Vec<usize> = (0..ours.len()).filter(|&i| ours[i].table.name == sent.table.name && ours[i].kind == sent.kind).collect();
        let matched = candidates.iter().copied().find(|&i| differences(&ours[i], sent, orm).is_empty());
        match (matched, candidates.first()) {
            (Some(i), _) if i >= own => {}
            (Some(i), _) => {
                ours.remove(i);
                own -= 1;
            }
            (None, Some(&i)) => {
                report.push(format!("{name}: {:?} {}: {}", sent.kind, sent.table.name, differences(&ours[i], sent, orm).join("; ")));
                if i < own {
                    ours.remove(i);
                    own -= 1;
                }
            }
            (None, None) => report.push(format!("{name}: {orm} sent {:?} {} that dbveto does not read", sent.kind, sent.table.name)),
        }
    }
    ours.truncate(own);
    ours
}
