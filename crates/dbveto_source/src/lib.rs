//! The vocabulary every stage of dbveto shares: a source file read once, its
//! line index, locations in it, and diagnostics about the user's files.
//!
//! Invariant: nothing here parses or judges; it only says *where*.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

/// A file of the checked repository, read once. `path` is relative to the
/// checked root and uses `/` separators, as it appears in every report.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: Arc<str>,
    pub text: Arc<str>,
    lines: LineIndex,
}

impl SourceFile {
    pub fn new(path: impl Into<Arc<str>>, text: impl Into<Arc<str>>) -> Self {
        let text = text.into();
        let lines = LineIndex::new(&text);
        SourceFile { path: path.into(), text, lines }
    }

    /// The location of a byte offset in this file.
    pub fn location(&self, offset: usize) -> Location {
        let (line, column) = self.lines.line_col(&self.text, offset);
        Location { path: self.path.clone(), line, column }
    }

    /// The text of a 1-based line, without its line ending.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        self.lines.line_text(&self.text, line)
    }

    pub fn line_count(&self) -> u32 {
        self.lines.starts.len() as u32
    }

    /// A diagnostic at a byte offset of this file.
    pub fn diagnostic(&self, offset: usize, severity: Severity, message: impl Into<String>) -> Diagnostic {
        Diagnostic { location: self.location(offset), severity, message: message.into() }
    }
}

/// Byte offsets of line starts, so that offsets become line:column once.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
    /// Characters before each block of [`BLOCK`] bytes of a text that is
    /// not all ASCII; empty for ASCII, where a byte is a character. A
    /// column is then found in time bounded by the block, not the line.
    blocks: Vec<usize>,
}

const BLOCK: usize = 4096;

/// Characters in a byte slice: the bytes that do not continue one.
fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        // memchr scans a word (or a SIMD vector) at a time: every file read is indexed.
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        let mut blocks = Vec::new();
        if !text.is_ascii() {
            let mut before = 0;
            for block in text.as_bytes().chunks(BLOCK) {
                blocks.push(before);
                before += chars_in(block);
            }
            // The end of a text whose length is a multiple of the block.
            blocks.push(before);
        }
        LineIndex { starts, blocks }
    }

    /// Characters before a byte offset (a character boundary).
    fn chars_before(&self, text: &str, offset: usize) -> usize {
        if self.blocks.is_empty() {
            return offset;
        }
        let block = offset / BLOCK;
        self.blocks.get(block).copied().unwrap_or_default() + text.as_bytes().get(block * BLOCK..offset).map_or(0, chars_in)
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    /// Offsets past the end or inside a character are clamped, never panic.
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let column = self.chars_before(text, offset) - self.chars_before(text, start) + 1;
        (line as u32 + 1, column as u32)
    }

    pub fn line_text<'a>(&self, text: &'a str, line: u32) -> Option<&'a str> {
        let i = (line as usize).checked_sub(1)?;
        let start = *self.starts.get(i)?;
        let end = self.starts.get(i + 1).copied().unwrap_or(text.len());
        Some(text[start..end].trim_end_matches(['\n', '\r']))
    }
}

pub fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A place in a checked file: path relative to the root, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    pub path: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path, self.line, self.column)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

/// A problem with the user's files (unparsable, unreadable, ambiguous), as
/// opposed to a finding of a rule. The run always goes on after one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    pub location: Location,
    pub severity: Severity,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic about a whole file (line 1, column 1).
    pub fn file(path: impl Into<Arc<str>>, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            location: Location { path: path.into(), line: 1, column: 1 },
            severity,
            message: message.into(),
        }
    }
}

/// The path of `path` relative to `root`, with `/` separators.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    if s.is_empty() { ".".to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_lines_from_one() {
        let f = SourceFile::new("a.sql", "ab\ncé d\n");
        assert_eq!(f.location(0), Location { path: "a.sql".into(), line: 1, column: 1 });
        assert_eq!((f.location(6).line, f.location(6).column), (2, 3));
        assert_eq!(f.line_text(2), Some("cé d"));
        assert_eq!(f.line_text(9), None);
    }

    #[test]
    fn columns_of_long_non_ascii_lines_count_characters() {
        let text = format!("{}\n{}x", "é".repeat(5000), "aé".repeat(3000));
        let f = SourceFile::new("a", text.as_str());
        assert_eq!((f.location(10_000).line, f.location(10_000).column), (1, 5001));
        let x = text.len() - 1;
        assert_eq!((f.location(x).line, f.location(x).column), (2, 6001));
        assert_eq!(f.location(10_001 + 4).column, 4);
        // A text ending at a block's end.
        let f = SourceFile::new("a", "é".repeat(BLOCK));
        assert_eq!(f.location(2 * BLOCK).column as usize, BLOCK + 1);
    }

    #[test]
    fn offsets_inside_a_character_or_past_the_end_are_clamped() {
        let f = SourceFile::new("a", "é");
        assert_eq!(f.location(1).column, 1);
        assert_eq!(f.location(99).column, 2);
    }
}
