//! Matching a message against a template: literal text with `{}` holes.
//! A hole takes a quoted name (`"x"`, `'x'` or `` `x` ``, the quote
//! ending where the next literal follows) or unquoted text up to the next
//! literal (the rest of the line for a trailing hole).

/// Where a template matched in a line and what its holes hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    pub holes: Vec<String>,
}

/// The first place in `line` where `template` matches. The template must
/// start with literal text.
pub fn find(line: &str, template: &str) -> Option<Match> {
    let literals: Vec<&str> = template.split("{}").collect();
    let first = literals[0];
    if first.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(i) = line[from..].find(first) {
        let start = from + i;
        if let Some((end, holes)) = match_rest(line, start + first.len(), &literals[1..]) {
            return Some(Match { start, end, holes });
        }
        from = start + first.len();
    }
    None
}

/// Matches holes and the literals after them, from `pos`.
fn match_rest(line: &str, pos: usize, rest: &[&str]) -> Option<(usize, Vec<String>)> {
    let Some((next, after)) = rest.split_first() else {
        return Some((pos, Vec::new()));
    };
    let tail = &line[pos..];
    let quote = tail.chars().next().filter(|c| matches!(c, '"' | '\'' | '`'));
    match quote {
        Some(q) => {
            // The closing quote is the first one followed by the next literal
            // (a name may itself contain the quote character).
            let body = &tail[1..];
            let mut from = 0;
            while let Some(i) = body[from..].find(q) {
                let close = from + i;
                let after_quote = pos + 1 + close + 1;
                if line[after_quote..].starts_with(next) {
                    if let Some((end, mut holes)) = match_rest(line, after_quote + next.len(), after) {
                        holes.insert(0, body[..close].to_string());
                        return Some((end, holes));
                    }
                }
                if next.is_empty() {
                    return Some((after_quote, vec![body[..close].to_string()]));
                }
                from = close + 1;
            }
            None
        }
        None if next.is_empty() => {
            let value = tail.trim_end();
            Some((pos + value.len(), vec![value.to_string()]))
        }
        None => {
            let i = tail.find(next)?;
            let (end, mut holes) = match_rest(line, pos + i + next.len(), after)?;
            holes.insert(0, tail[..i].to_string());
            Some((end, holes))
        }
    }
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
    fn no_match_is_none() {
        assert!(find("all good", "null value in column {}").is_none());
        assert!(find(r#"null value in column "a"#, "null value in column {} of").is_none());
    }
}
