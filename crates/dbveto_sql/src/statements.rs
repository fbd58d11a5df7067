//! Splitting SQL text into parsed statements without ever giving up on a
//! file: parse all at once, and when that fails, statement by statement.

use dbveto_source::{Diagnostic, Severity, SourceFile};
use pg_raw_parse::{Node, ParseResult};

/// The parse of one piece of a file: a whole range, or, when that does
/// not parse, one statement of it. Its statements borrow from it.
pub struct Parsed {
    result: ParseResult,
    /// Each statement's file range, from its first token.
    ranges: Vec<(usize, usize)>,
    /// The file offset the parser's locations are relative to.
    base: usize,
}

/// A parsed statement and the byte range of its text in the source file.
pub struct Statement<'p> {
    pub node: Node<'p>,
    pub start: usize,
    pub end: usize,
    /// The file offset that the parser's locations are relative to.
    pub base: usize,
}

impl Parsed {
    /// The statements, in order.
    pub fn statements(&self) -> impl Iterator<Item = Statement<'_>> + '_ {
        self.result.iter().zip(&self.ranges).map(|(raw, &(start, end))| Statement { node: raw.stmt(), start, end, base: self.base })
    }
}

/// Parses `file.text[range]`. Statements that fail to parse become
/// diagnostics at their first line; the others are returned in order,
/// each starting at its first token.
pub fn parse(file: &SourceFile, range: std::ops::Range<usize>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Parsed> {
    let Some(text) = file.text.get(range.clone()) else { return Vec::new() };
    let (text, meta_commands) = crate::psql::blank_meta_commands(text);
    for m in meta_commands.iter().filter(|m| crate::psql::is_include(&m.name)) {
        let message = format!("psql meta-command `\\{}` reads another file, which dbveto does not follow: its statements are not replayed here", m.name);
        diagnostics.push(file.diagnostic(range.start + m.offset, Severity::Warning, message));
    }
    let text: &str = &text;
    match parse_text(text, range.start) {
        Ok(parsed) => vec![parsed],
        Err(_) => {
            let pieces = match crate::scanner::split(text) {
                Ok(pieces) => pieces,
                Err(e) => {
                    diagnostics.push(file.diagnostic(range.start, Severity::Error, format!("could not split SQL into statements: {e}")));
                    return Vec::new();
                }
            };
            let mut out = Vec::new();
            for piece in pieces {
                let offset = range.start + piece.start;
                let piece = text.get(piece).unwrap_or("");
                match parse_text(piece, offset) {
                    Ok(parsed) => out.push(parsed),
                    Err(message) => {
                        let lead = piece.len() - piece.trim_start().len();
                        diagnostics.push(file.diagnostic(
                            offset + lead,
                            Severity::Error,
                            format!("could not parse SQL: {message}; statement skipped"),
                        ));
                    }
                }
            }
            out
        }
    }
}

/// Parses `text`, whose first byte is at file offset `base`; the error is
/// the parser's message.
fn parse_text(text: &str, base: usize) -> Result<Parsed, String> {
    let result = parse_sql(text)?;
    let ranges = result
        .iter()
        .map(|raw| {
            let (start, end) = statement_range(text, raw);
            // Locations include leading whitespace and comments: point at the keyword.
            let start = start + leading_trivia(text.get(start..end).unwrap_or(""));
            (base + start, base + end)
        })
        .collect();
    Ok(Parsed { result, ranges, base })
}

/// The byte range of a parsed statement in the text it was parsed from
/// (a length of 0 means: to the end).
pub fn statement_range(text: &str, raw: &pg_raw_parse::nodes::RawStmt) -> (usize, usize) {
    let start = usize::try_from(raw.stmt_location).unwrap_or(0).min(text.len());
    let end = match usize::try_from(raw.stmt_len) {
        Ok(0) | Err(_) => text.len(),
        Ok(len) => (start + len).min(text.len()),
    };
    (start, end)
}

/// PostgreSQL's raw parse of `text`, or its error message.
pub fn parse_sql(text: &str) -> Result<ParseResult, String> {
    pg_raw_parse::parse(text).map_err(|e| match e {
        pg_raw_parse::Error::Parse(m) => m.to_string(),
        other => other.to_string(),
    })
}

/// Bytes of whitespace and comments before the first token.
pub fn leading_trivia(text: &str) -> usize {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        if let Some(r) = trimmed.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i + 1..]);
        } else if let Some(r) = trimmed.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            rest = trimmed;
            break;
        }
    }
    text.len() - rest.len()
}

/// A statement's text on one line, shortened for messages.
pub fn summary(text: &str) -> String {
    const MAX: usize = 120;
    // Words are joined until the summary is sure to be cut: long
    // statements (a CREATE TABLE) are not joined whole.
    let mut s = String::new();
    let mut chars = 0;
    let mut only_semicolons_follow = false;
    for word in text.split_whitespace() {
        if !s.is_empty() {
            s.push(' ');
            chars += 1;
        }
        s.push_str(word);
        chars += word.chars().count();
        // Trailing semicolons are dropped: cut once something else follows.
        if chars > MAX && !only_semicolons_follow {
            let end = word.as_ptr() as usize - text.as_ptr() as usize + word.len();
            if text.get(end..).unwrap_or("").contains(|c: char| !c.is_whitespace() && c != ';') {
                let cut: String = s.chars().take(MAX - 3).collect();
                return format!("{cut}...");
            }
            only_semicolons_follow = true;
        }
    }
    let s = s.trim_end_matches(';');
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX - 3).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    /// What `summary` computes, the slow way.
    fn joined_whole(text: &str) -> String {
        let s = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let s = s.trim_end_matches(';');
        if s.chars().count() > 120 {
            format!("{}...", s.chars().take(117).collect::<String>())
        } else {
            s.to_string()
        }
    }

    #[test]
    fn summaries_join_words_and_cut_long_statements() {
        let long = format!("CREATE TABLE t (\n  {}\n);", (0..40).map(|i| format!("c{i} int")).collect::<Vec<_>>().join(",\n  "));
        let edge = format!("{} ;;; ;\n", "x".repeat(119));
        let wide = format!("INSERT INTO t VALUES ('{}')", "é".repeat(200));
        for text in ["", ";", "  SELECT 1;  ", "a ; ;", long.as_str(), edge.as_str(), wide.as_str()] {
            assert_eq!(summary(text), joined_whole(text), "{text:?}");
        }
        assert!(summary(&long).ends_with("..."));
    }
}
