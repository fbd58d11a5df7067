//! Constant strings assembled from literals, remembering where each piece
//! of the value is spelled so that SQL offsets map back to the file.

use dbveto_source::{Location, SourceFile};
use dbveto_writes::SqlText;
use ruff_python_ast::{self as ast, StringFlags};
use ruff_text_size::Ranged;

use crate::index::ModuleId;

/// Longer constants are not followed: they are data, not SQL, and
/// concatenating them could exhaust memory.
pub const MAX_TEXT_LEN: usize = 1 << 20;

/// Identifies a string expression of the project: the module and the byte
/// offset where the expression starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LiteralKey {
    pub module: ModuleId,
    pub offset: u32,
}

/// A constant string: its value in pieces, each with the location of its
/// first character, and the literals it was built from.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    start: Location,
    pieces: Vec<(String, Location)>,
    keys: Vec<LiteralKey>,
    len: usize,
}

impl Text {
    /// An empty text whose content would start at `start`.
    pub fn new(start: Location) -> Self {
        Text { start, pieces: Vec::new(), keys: Vec::new(), len: 0 }
    }

    /// Appends `text`, spelled at `start`. `None` when the text gets too long.
    pub fn push(&mut self, text: String, start: Location) -> Option<()> {
        self.len = self.len.checked_add(text.len()).filter(|&n| n <= MAX_TEXT_LEN)?;
        if self.pieces.is_empty() {
            self.start = start.clone();
        }
        if !text.is_empty() {
            self.pieces.push((text, start));
        }
        Some(())
    }

    /// Appends another text (`a + b`). `None` when the text gets too long.
    pub fn append(&mut self, other: Text) -> Option<()> {
        if self.pieces.is_empty() && self.len == 0 && other.len > 0 {
            self.start = other.start.clone();
        }
        self.len = self.len.checked_add(other.len).filter(|&n| n <= MAX_TEXT_LEN)?;
        self.pieces.extend(other.pieces);
        for key in other.keys {
            self.add_key(key);
        }
        Some(())
    }

    pub fn add_key(&mut self, key: LiteralKey) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }

    /// The string expressions this text was built from.
    pub fn keys(&self) -> &[LiteralKey] {
        &self.keys
    }

    /// Where the content starts in the file.
    pub fn start(&self) -> &Location {
        &self.start
    }

    pub fn value(&self) -> String {
        let mut s = String::with_capacity(self.len);
        for (piece, _) in &self.pieces {
            s.push_str(piece);
        }
        s
    }

    /// The parts of the value in `ranges` (ascending, disjoint) put
    /// together, each piece still mapped to where it is spelled. `None` if
    /// a bound splits a character.
    fn keep(&self, ranges: impl IntoIterator<Item = (usize, usize)>) -> Option<Text> {
        let mut kept = Text::new(self.start.clone());
        kept.keys.clone_from(&self.keys);
        // The first piece that does not end before the range, and its offset.
        let (mut first, mut first_start) = (0, 0);
        for (start, end) in ranges {
            while let Some((piece, _)) = self.pieces.get(first) {
                if first_start + piece.len() > start {
                    break;
                }
                first_start += piece.len();
                first += 1;
            }
            let mut piece_start = first_start;
            for (piece, location) in self.pieces.get(first..).unwrap_or_default() {
                if piece_start >= end {
                    break;
                }
                let from = start.max(piece_start) - piece_start;
                let to = end.min(piece_start + piece.len()) - piece_start;
                if from < to {
                    let before = piece.get(..from)?;
                    kept.push(piece.get(from..to)?.to_string(), advance(location, before))?;
                }
                piece_start += piece.len();
            }
        }
        Some(kept)
    }

    /// `str.strip()`, `lstrip()`, `rstrip()` without arguments.
    pub fn strip(&self, leading: bool, trailing: bool) -> Option<Text> {
        let value = self.value();
        let start = if leading { value.len() - value.trim_start().len() } else { 0 };
        let end = if trailing { value.trim_end().len() } else { value.len() };
        self.keep([(start, end.max(start))])
    }

    /// `textwrap.dedent()`: the margin common to the lines that have text
    /// is removed, and lines of spaces and tabs only are emptied.
    pub fn dedent(&self) -> Option<Text> {
        let value = self.value();
        let is_blank = |line: &str| line.chars().all(|c| c == ' ' || c == '\t');
        let mut margin: Option<&str> = None;
        for line in value.split('\n').filter(|line| !is_blank(line)) {
            let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
            margin = Some(match margin {
                None => indent,
                Some(margin) => {
                    let common = margin.bytes().zip(indent.bytes()).take_while(|(a, b)| a == b).count();
                    &margin[..common]
                }
            });
        }
        let margin = margin.map_or(0, str::len);
        let mut kept = Vec::new();
        let mut line_start = 0;
        for line in value.split_inclusive('\n') {
            let content = line.strip_suffix('\n').unwrap_or(line);
            let skip = if is_blank(content) { content.len() } else { margin };
            kept.push((line_start + skip, line_start + line.len()));
            line_start += line.len();
        }
        self.keep(kept)
    }

    pub fn to_sql_text(&self) -> SqlText {
        let mut pieces = self.pieces.iter();
        let Some((first, start)) = pieces.next() else {
            return SqlText::new("", self.start.clone());
        };
        let mut sql = SqlText::new(first.clone(), start.clone());
        for (text, start) in pieces {
            sql.push(text, start.clone());
        }
        sql
    }
}

/// The location of the end of `text` spelled from `start`.
fn advance(start: &Location, text: &str) -> Location {
    let mut location = start.clone();
    match text.rfind('\n') {
        Some(newline) => {
            let lines = u32::try_from(text.matches('\n').count()).unwrap_or(u32::MAX);
            location.line = location.line.saturating_add(lines);
            location.column = column(&text[newline + 1..]).saturating_add(1);
        }
        None => location.column = location.column.saturating_add(column(text)),
    }
    location
}

fn column(text: &str) -> u32 {
    u32::try_from(text.chars().count()).unwrap_or(u32::MAX)
}

/// The value of a string expression if it is constant: plain literals and
/// f-strings without interpolations, implicitly concatenated or not.
pub fn string_expr_text(file: &SourceFile, module: ModuleId, expr: &ast::Expr) -> Option<Text> {
    let mut text = Text::new(file.location(expr.start().to_usize()));
    match expr {
        ast::Expr::StringLiteral(s) => {
            for part in s.value.iter() {
                push_literal(&mut text, file, part)?;
            }
        }
        ast::Expr::FString(f) => {
            for part in f.value.iter() {
                match part {
                    ast::FStringPart::Literal(lit) => push_literal(&mut text, file, lit)?,
                    ast::FStringPart::FString(fstring) => push_fstring(&mut text, file, fstring)?,
                }
            }
        }
        _ => return None,
    }
    text.add_key(LiteralKey { module, offset: expr.start().to_u32() });
    Some(text)
}

fn push_literal(text: &mut Text, file: &SourceFile, lit: &ast::StringLiteral) -> Option<()> {
    if lit.flags.is_invalid() || lit.flags.is_unclosed() {
        return None;
    }
    let start = lit.start().to_usize() + lit.flags.opener_len().to_usize();
    let end = lit.end().to_usize().saturating_sub(lit.flags.closer_len().to_usize());
    let raw = StringFlags::prefix(lit.flags).is_raw();
    push_decoded(text, file, start, end, &lit.value, raw, false)
}

fn push_fstring(text: &mut Text, file: &SourceFile, fstring: &ast::FString) -> Option<()> {
    if fstring.flags.is_unclosed() {
        return None;
    }
    let raw = StringFlags::prefix(fstring.flags).is_raw();
    for element in fstring.elements.iter() {
        // An interpolation makes the value depend on run time.
        let ast::InterpolatedStringElement::Literal(lit) = element else { return None };
        let (start, end) = (lit.start().to_usize(), lit.end().to_usize());
        push_decoded(text, file, start, end, &lit.value, raw, true)?;
    }
    Some(())
}

/// Pushes the decoded `value` of the literal content spelled at
/// `start..end`. The parser already decoded it; decoding the source again
/// here only serves to split it after each escape sequence, so that every
/// piece maps to the exact place it is spelled. When the two decodings
/// disagree (`\N{...}`, line endings), the value is kept as one piece.
fn push_decoded(
    text: &mut Text,
    file: &SourceFile,
    start: usize,
    end: usize,
    value: &str,
    raw: bool,
    fstring: bool,
) -> Option<()> {
    let source = file.text.get(start..end);
    // Without escapes or f-string braces the source decodes to one segment
    // spelled at `start`: the value itself, as the fallback below pushes it.
    let plain = |source: &str| (raw || !source.contains('\\')) && !(fstring && source.contains(['{', '}']));
    if source.is_none_or(plain) {
        return text.push(value.to_string(), file.location(start));
    }
    let segments = source
        .and_then(|source| decode_segments(source, raw, fstring))
        .filter(|segments| concatenation_equals(segments, value));
    match segments {
        Some(segments) => {
            for (offset, segment) in segments {
                text.push(segment, file.location(start + offset))?;
            }
            Some(())
        }
        None => text.push(value.to_string(), file.location(start)),
    }
}

/// Whether the segments put together equal `value`, without allocating.
fn concatenation_equals(segments: &[(usize, String)], value: &str) -> bool {
    let mut rest = value;
    for (_, segment) in segments {
        match rest.strip_prefix(segment.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    rest.is_empty()
}

/// Decodes the source of a literal's content into segments, each with its
/// byte offset in `source`; a new segment starts after each escape.
/// `None` for what this decoder does not handle (`\N{...}`, a trailing
/// backslash, invalid escapes).
fn decode_segments(source: &str, raw: bool, fstring: bool) -> Option<Vec<(usize, String)>> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut current_start = 0;
    let mut chars = source.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '\\' if !raw => {
                let (_, escape) = chars.next()?;
                match escape {
                    '\n' => {}
                    '\r' => {
                        chars.next_if(|&(_, c)| c == '\n');
                    }
                    '\\' | '\'' | '"' => current.push(escape),
                    'a' => current.push('\x07'),
                    'b' => current.push('\x08'),
                    'f' => current.push('\x0c'),
                    'n' => current.push('\n'),
                    'r' => current.push('\r'),
                    't' => current.push('\t'),
                    'v' => current.push('\x0b'),
                    '0'..='7' => {
                        let mut code = escape.to_digit(8)?;
                        for _ in 0..2 {
                            match chars.next_if(|&(_, c)| c.is_digit(8)) {
                                Some((_, d)) => code = code * 8 + d.to_digit(8)?,
                                None => break,
                            }
                        }
                        current.push(char::from_u32(code)?);
                    }
                    'x' => current.push(hex_char(&mut chars, 2)?),
                    'u' => current.push(hex_char(&mut chars, 4)?),
                    'U' => current.push(hex_char(&mut chars, 8)?),
                    'N' => return None,
                    other => {
                        current.push('\\');
                        current.push(other);
                    }
                }
                let next = chars.peek().map_or(source.len(), |&(i, _)| i);
                segments.push((current_start, std::mem::take(&mut current)));
                current_start = next;
            }
            '{' | '}' if fstring => {
                current.push(c);
                if chars.next_if(|&(_, d)| d == c).is_some() {
                    let next = chars.peek().map_or(source.len(), |&(i, _)| i);
                    segments.push((current_start, std::mem::take(&mut current)));
                    current_start = next;
                }
            }
            _ => current.push(c),
        }
    }
    segments.push((current_start, current));
    Some(segments)
}

fn hex_char(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>, digits: usize) -> Option<char> {
    let mut code: u32 = 0;
    for _ in 0..digits {
        let (_, d) = chars.next()?;
        code = code.checked_mul(16)?.checked_add(d.to_digit(16)?)?;
    }
    char::from_u32(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_start_new_segments() {
        let segments = decode_segments(r"a\nb\x41c", false, false).unwrap();
        assert_eq!(segments, vec![(0, "a\n".to_string()), (3, "bA".to_string()), (8, "c".to_string())]);
    }

    #[test]
    fn raw_strings_keep_backslashes() {
        let segments = decode_segments(r"a\nb", true, false).unwrap();
        assert_eq!(segments, vec![(0, r"a\nb".to_string())]);
    }

    #[test]
    fn fstring_braces_are_halved() {
        let segments = decode_segments("{{a}}", false, true).unwrap();
        let value: String = segments.into_iter().map(|(_, s)| s).collect();
        assert_eq!(value, "{a}");
    }

    #[test]
    fn dedent_and_strip_keep_each_piece_where_it_is_spelled() {
        let at = |line, column| Location { path: "a.py".into(), line, column };
        let mut text = Text::new(at(1, 1));
        text.push("\n    INSERT\n    ".to_string(), at(1, 5)).unwrap();
        text.push("VALUES\n".to_string(), at(3, 9)).unwrap();
        let sql = text.dedent().unwrap().strip(true, true).unwrap();
        assert_eq!(sql.value(), "INSERT\nVALUES");
        let sql = sql.to_sql_text();
        assert_eq!(sql.location(0), Some(at(2, 5)));
        assert_eq!(sql.location(7), Some(at(3, 9)));
    }

    #[test]
    fn unsupported_escapes_fall_back() {
        assert_eq!(decode_segments(r"\N{DASH}", false, false), None);
        assert_eq!(decode_segments("\\", false, false), None);
        assert_eq!(decode_segments(r"\x4", false, false), None);
    }
}
