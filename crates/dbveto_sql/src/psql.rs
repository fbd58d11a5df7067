//! psql meta-commands in SQL files. A line that starts with a backslash
//! outside a string, quoted name, comment or dollar-quoted body is a
//! command to psql, not SQL: `pg_dump` writes `\restrict KEY` and
//! `\unrestrict KEY` around every dump since PostgreSQL 17.6/16.10/15.14,
//! and hand-written scripts use `\connect`, `\set` or `\i`. They are
//! blanked (same length, so offsets and line numbers hold) before parsing.

use std::borrow::Cow;

/// A meta-command found in the text: its byte offset and its name
/// (`restrict`, `i`, ...).
pub struct MetaCommand {
    pub offset: usize,
    pub name: String,
}

/// `text` with every meta-command line replaced by spaces, and the
/// commands found.
pub fn blank_meta_commands(text: &str) -> (Cow<'_, str>, Vec<MetaCommand>) {
    let mut found = Vec::new();
    // Text from `checked` on has not yet been scanned; everything before
    // it ends outside any literal.
    let mut checked = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let body = line.trim_start();
        let Some(command) = body.strip_prefix('\\') else { continue };
        if !ends_outside_literals(&text[checked..start]) {
            continue;
        }
        let name: String = command.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        found.push(MetaCommand { offset: start + (line.len() - body.len()), name });
        checked = offset;
    }
    if found.is_empty() {
        return (Cow::Borrowed(text), found);
    }
    let mut out = text.as_bytes().to_vec();
    for m in &found {
        let end = text[m.offset..].find('\n').map_or(text.len(), |i| m.offset + i);
        out[m.offset..end].fill(b' ');
    }
    // Only whole lines of ASCII and UTF-8 text were replaced by spaces.
    (Cow::Owned(String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())), found)
}

/// Whether PostgreSQL's scanner reads `text` to its end without being left
/// inside an unterminated string, quoted identifier, comment or
/// dollar-quoted body (those are scan errors).
fn ends_outside_literals(text: &str) -> bool {
    crate::scanner::split(text).is_ok()
}

/// Meta-commands that read another file, which dbveto does not follow.
pub fn is_include(name: &str) -> bool {
    matches!(name, "i" | "ir" | "include" | "include_relative")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(text: &str) -> (String, Vec<String>) {
        let (out, found) = blank_meta_commands(text);
        assert_eq!(out.len(), text.len());
        (out.into_owned(), found.into_iter().map(|m| m.name).collect())
    }

    #[test]
    fn pg_dump_restrict_lines_are_blanked() {
        let (out, names) = blanked("\\restrict 98hMWx\n\nCREATE TABLE t (a int);\n\n\\unrestrict 98hMWx\n");
        assert_eq!(names, ["restrict", "unrestrict"]);
        assert_eq!(out.trim(), "CREATE TABLE t (a int);");
    }

    #[test]
    fn a_backslash_line_inside_a_literal_is_sql() {
        for text in [
            "CREATE FUNCTION f() RETURNS text AS $$\n\\not a command\n$$ LANGUAGE sql;\n",
            "SELECT 'a\n\\b';\n",
            "/* a\n\\b */ SELECT 1;\n",
            "SELECT \"a\n\\b\";\n",
        ] {
            let (out, names) = blanked(text);
            assert!(names.is_empty(), "{text:?}: {names:?}");
            assert_eq!(out, text);
        }
    }

    #[test]
    fn commands_after_a_literal_are_still_found() {
        let (out, names) = blanked("SELECT 'x\n\\y';\n\\connect other\nSELECT 2;\n");
        assert_eq!(names, ["connect"]);
        assert!(out.contains("\\y") && !out.contains("other"));
    }
}
