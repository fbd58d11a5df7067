//! Splitting SQL text into parsed statements without ever giving up on a
//! file: parse all at once, and when that fails, statement by statement.

use dbveto_source::{Diagnostic, Severity, SourceFile};
use pg_query::protobuf::Node;

/// A parsed statement and the byte range of its text in the source file.
pub struct Statement {
    pub node: Node,
    pub start: usize,
    pub end: usize,
    /// The file offset that the parser's locations are relative to.
    pub base: usize,
}

/// Parses `file.text[range]`. Statements that fail to parse become
/// diagnostics at their first line; the others are returned in order.
pub fn parse(file: &SourceFile, range: std::ops::Range<usize>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Statement> {
    let Some(text) = file.text.get(range.clone()) else { return Vec::new() };
    let (text, meta_commands) = crate::psql::blank_meta_commands(text);
    for m in meta_commands.iter().filter(|m| crate::psql::is_include(&m.name)) {
        let message = format!("psql meta-command `\\{}` reads another file, which dbveto does not follow: its statements are not replayed here", m.name);
        diagnostics.push(file.diagnostic(range.start + m.offset, Severity::Warning, message));
    }
    let text: &str = &text;
    match parse_all(text, range.start) {
        Ok(stmts) => stmts,
        Err(_) => {
            let pieces = match pg_query::split_with_scanner(text) {
                Ok(pieces) => pieces,
                Err(e) => {
                    diagnostics.push(file.diagnostic(range.start, Severity::Error, format!("could not split SQL into statements: {e}")));
                    return Vec::new();
                }
            };
            let mut out = Vec::new();
            for piece in pieces {
                let offset = range.start + (piece.as_ptr() as usize - text.as_ptr() as usize);
                match parse_all(piece, offset) {
                    Ok(stmts) => out.extend(stmts),
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

fn parse_all(text: &str, base: usize) -> Result<Vec<Statement>, String> {
    let parsed = pg_query::parse(text, 0).map_err(|e| match e {
        pg_query::Error::Parse(m) => m,
        other => other.to_string(),
    })?;
    Ok(parsed
        .protobuf
        .stmts
        .into_iter()
        .filter_map(|raw| {
            let node = *raw.stmt?;
            let mut start = raw.stmt_location.max(0) as usize;
            let end = if raw.stmt_len == 0 { text.len() } else { (start + raw.stmt_len as usize).min(text.len()) };
            // Locations include leading whitespace and comments: point at the keyword.
            start += leading_trivia(text.get(start..end).unwrap_or(""));
            Some(Statement { node, start: base + start, end: base + end, base })
        })
        .collect())
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
