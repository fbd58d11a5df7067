//! PostgreSQL SQL through the real PostgreSQL parser (`pg_query`).
//!
//! Two directions: `replay` turns migrations into a `Schema`; `dml` turns
//! SQL found in code into `Write`s. Invariant: parsing never aborts a file;
//! a statement that does not parse becomes a diagnostic and the rest goes on.

pub mod write;

pub use write::*;

/// Whether a string literal found in code is worth handing to the SQL
/// parser as a write: its first keyword (after whitespace and comments) is
/// one that can start an INSERT or UPDATE. A cheap filter, not a parser.
pub fn looks_like_write(text: &str) -> bool {
    let keyword = first_keyword(text);
    ["insert", "update", "with"].iter().any(|k| keyword.eq_ignore_ascii_case(k))
}

/// The first word of a SQL text, skipping whitespace, `--` and `/* */` comments.
pub fn first_keyword(text: &str) -> &str {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.find('\n').map_or("", |i| &r[i + 1..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            break;
        }
    }
    let end = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
    &rest[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_keyword_skips_comments() {
        assert_eq!(first_keyword("-- name: CreateLog :exec\n/* x */ INSERT INTO t"), "INSERT");
        assert!(looks_like_write("\n  update t set a = 1"));
        assert!(!looks_like_write("SELECT 1"));
        assert!(!looks_like_write("insertion order"[..0].as_ref()));
    }
}
