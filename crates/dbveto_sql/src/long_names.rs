//! Names written longer than PostgreSQL keeps. The parser, like the
//! server's scanner, cuts every identifier to 63 bytes, so the name as
//! written is found again in the statement's text: where the parsed name
//! starts a longer identifier.

use dbveto_schema::NAMEDATALEN;

/// The identifier of `statement` that `parsed` (63 bytes, as the parser
/// gives it) was cut from, when it was written longer: lower-cased unless
/// quoted, as PostgreSQL reads it, and its byte offset in `statement`. The
/// search starts at `from`, where the parser places the node that has the
/// name. `None` when it was written at 63 bytes.
pub fn written_form(statement: &str, parsed: &str, from: usize) -> Option<(String, usize)> {
    if parsed.len() < NAMEDATALEN - 1 {
        return None;
    }
    // PostgreSQL folds only ASCII letters of unquoted names; folding them
    // alone keeps every byte offset (and character boundary) in place.
    let lower = statement.to_ascii_lowercase();
    let needle = parsed.to_ascii_lowercase();
    let mut from = from.min(statement.len());
    while let Some(found) = lower.get(from..).and_then(|rest| rest.find(&needle)) {
        let start = from + found;
        from = start + 1;
        let quoted = statement[..start].ends_with('"');
        if !quoted && statement[..start].chars().next_back().is_some_and(is_identifier_char) {
            continue;
        }
        let source = if quoted { statement } else { lower.as_str() };
        let rest = &source[start..];
        let end = if quoted {
            rest.find('"').unwrap_or(rest.len())
        } else {
            rest.find(|c: char| !is_identifier_char(c)).unwrap_or(rest.len())
        };
        if end > parsed.len() {
            return Some((rest[..end].to_string(), start));
        }
    }
    None
}

/// A character of an unquoted identifier (`ident_cont` of PostgreSQL's scanner).
fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_name_is_found_from_the_cut_one() {
        let long = format!("{}_tail", "a".repeat(60));
        let cut = &long[..63];
        let sql = format!("CREATE INDEX {} ON t (x)", long.to_uppercase());
        assert_eq!(written_form(&sql, cut, 0), Some((long.clone(), 13)));
        // Quoted names keep their case.
        let quoted = format!("ALTER TABLE t ADD CONSTRAINT \"{}_Tail\" CHECK (x > 0)", "B".repeat(60));
        assert_eq!(written_form(&quoted, &format!("{}_Ta", "B".repeat(60)), 14), Some((format!("{}_Tail", "B".repeat(60)), 30)));
        // Non-ASCII text before the name (`İ` lower-cases to more bytes) keeps offsets.
        let after_dotted_i = format!("-- İstanbul\nCREATE INDEX {} ON t (x)", long.to_uppercase());
        assert_eq!(written_form(&after_dotted_i, cut, 0), Some((long.clone(), 26)));
        // Exactly 63 bytes, or another identifier that merely ends with it: not cut.
        let exact = "c".repeat(63);
        assert_eq!(written_form(&format!("CREATE INDEX {exact} ON t (x)"), &exact, 0), None);
        assert_eq!(written_form(&format!("CREATE INDEX x{exact} ON t (x)"), &exact, 0), None);
    }
}
