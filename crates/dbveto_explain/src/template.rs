//! Matching a message against a template: literal text with `{}` holes.
//! A hole takes a quoted name (`"x"`, `'x'` or `` `x` ``, the quote
//! ending where the next literal follows) or unquoted text up to the next
//! literal (the rest of the line for a trailing hole).
//!
//! A template is compiled to a regular expression run by an engine without
//! backtracking: the time is linear in the line, however many quotes and
//! repeats of the literals it holds.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::Regex;

/// Where a template matched in a line and what its holes hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    pub holes: Vec<String>,
}

/// Capture groups per hole: one per kind of quote, one unquoted.
const GROUPS: usize = 4;

thread_local! {
    static COMPILED: RefCell<HashMap<String, Option<Regex>>> = RefCell::new(HashMap::new());
}

/// The expression of a template: each hole a choice of `"..."`, `'...'`,
/// `` `...` `` (the shortest first: the closing quote is the first one the
/// rest can follow) or unquoted text that starts with no quote (up to the
/// next literal, or to the end for a trailing hole).
fn compile(template: &str) -> Option<Regex> {
    let literals: Vec<&str> = template.split("{}").collect();
    if literals[0].is_empty() {
        return None;
    }
    let mut pattern = regex::escape(literals[0]);
    let holes = literals.len() - 1;
    for (i, literal) in literals[1..].iter().enumerate() {
        let trailing = i + 1 == holes && literal.is_empty();
        let unquoted = if trailing { r#"((?:[^"'`].*)?)"# } else { r#"((?:[^"'`].*?)?)"# };
        pattern.push_str(&format!(r#"(?:"(.*?)"|'(.*?)'|`(.*?)`|{unquoted})"#));
        pattern.push_str(&regex::escape(literal));
    }
    Regex::new(&pattern).ok()
}

/// The first place in `line` where `template` matches. The template must
/// start with literal text.
pub fn find(line: &str, template: &str) -> Option<Match> {
    COMPILED.with(|compiled| {
        let mut compiled = compiled.borrow_mut();
        let regex = compiled.entry(template.to_string()).or_insert_with(|| compile(template)).as_ref()?;
        let captures = regex.captures(line)?;
        let whole = captures.get(0)?;
        let holes = (regex.captures_len() - 1) / GROUPS;
        let mut end = whole.end();
        let mut values = Vec::with_capacity(holes);
        for hole in 0..holes {
            let group = (1..=GROUPS).find_map(|g| captures.get(hole * GROUPS + g).map(|m| (g, m)));
            match group {
                // A trailing unquoted hole runs to the end of the line, less its trailing spaces.
                Some((GROUPS, m)) if hole + 1 == holes && template.ends_with("{}") => {
                    let value = m.as_str().trim_end();
                    end = m.start() + value.len();
                    values.push(value.to_string());
                }
                Some((_, m)) => values.push(m.as_str().to_string()),
                None => values.push(String::new()),
            }
        }
        Some(Match { start: whole.start(), end, holes: values })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_holes_take_either_quote() {
        let t = "null value in column {} of relation {} violates not-null constraint";
        let m = find(r#"ERROR:  null value in column "a" of relation "t" violates not-null constraint"#, t).unwrap();
        assert_eq!(m.holes, ["a", "t"]);
        assert_eq!(m.start, 8);
        let m = find("null value in column 'a' of relation 't' violates not-null constraint (23502)", t).unwrap();
        assert_eq!(m.holes, ["a", "t"]);
        assert_eq!(m.end, "null value in column 'a' of relation 't' violates not-null constraint".len());
    }

    #[test]
    fn a_quote_inside_a_name_does_not_end_it() {
        let m = find(r#"constraint "a"b" on table "t""#, "constraint {} on table {}").unwrap();
        assert_eq!(m.holes, ["a\"b", "t"]);
    }

    #[test]
    fn unquoted_holes_run_to_the_next_literal_or_the_end() {
        let m = find(r#"invalid input value for enum mood: "happy""#, "invalid input value for enum {}: {}").unwrap();
        assert_eq!(m.holes, ["mood", "happy"]);
        let m = find("NOT NULL constraint failed: child.parent_id  ", "NOT NULL constraint failed: {}").unwrap();
        assert_eq!(m.holes, ["child.parent_id"]);
    }

    #[test]
    fn time_is_linear_in_the_line() {
        // Quotes and repeats of the literals everywhere: a backtracking
        // matcher tries every pairing of them.
        let line = format!("{}{}", r#"constraint "a" on table "#.repeat(20_000), "'".repeat(50_000));
        assert!(find(&line, "constraint {} on table {} of {} with {}").is_none());
        let line = format!("{}\"x\" on table \"t\"", "constraint \"".repeat(30_000));
        assert_eq!(find(&line, "constraint {} on table {}").map(|m| m.holes.len()), Some(2));
    }

    #[test]
    fn no_match_is_none() {
        assert!(find("all good", "null value in column {}").is_none());
        assert!(find(r#"null value in column "a"#, "null value in column {} of").is_none());
    }
}
