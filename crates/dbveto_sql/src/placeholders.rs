//! Driver placeholders (`?`, `%s`, `%(name)s`, `:name`, `@name`) turned
//! into PostgreSQL's `$n` so the real parser accepts the statement, with a
//! map back to what each `$n` stands for and to the original offsets.
//!
//! This is a lexer, not a parser: it only needs to know where strings,
//! quoted identifiers and comments are, as the drivers themselves do.

/// What `$n` (index `n - 1`) stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The n-th argument after the query (0-based).
    Position(usize),
    Name(String),
}

#[derive(Debug, Default)]
pub struct Normalized {
    pub text: String,
    pub slots: Vec<Slot>,
    /// `(offset in text, offset in the original)` at each rewrite.
    shifts: Vec<(usize, usize)>,
}

impl Normalized {
    /// The original offset of an offset in the rewritten text.
    pub fn original(&self, offset: usize) -> usize {
        match self.shifts.binary_search_by(|(n, _)| n.cmp(&offset)) {
            Ok(i) => self.shifts[i].1,
            Err(0) => offset,
            Err(i) => {
                let (n, o) = self.shifts[i - 1];
                o + (offset - n)
            }
        }
    }

    fn slot(&mut self, slot: Slot) -> usize {
        if let Slot::Name(_) = slot {
            if let Some(i) = self.slots.iter().position(|s| *s == slot) {
                return i + 1;
            }
        }
        self.slots.push(slot);
        self.slots.len()
    }
}

pub fn normalize(sql: &str) -> Normalized {
    let b = sql.as_bytes();
    let mut out = Normalized::default();
    let mut i = 0;
    let mut copied = 0;
    let mut positional = 0;
    // `$1` style already: positional slots are the numbers themselves.
    let native = has_dollar_params(sql);
    while i < b.len() {
        let c = b[i];
        let (len, replacement): (usize, Option<Slot>) = match c {
            b'\'' => (skip_quoted(b, i, b'\'', i > 0 && (b[i - 1] == b'E' || b[i - 1] == b'e')), None),
            b'"' => (skip_quoted(b, i, b'"', false), None),
            b'-' if b.get(i + 1) == Some(&b'-') => (b[i..].iter().position(|&c| c == b'\n').unwrap_or(b.len() - i), None),
            b'/' if b.get(i + 1) == Some(&b'*') => (skip_block_comment(b, i), None),
            b'$' => (skip_dollar_quote(sql, i), None),
            b'?' if !native && !is_json_operator(b, i) => {
                positional += 1;
                (1, Some(Slot::Position(positional - 1)))
            }
            b'%' if !native && b.get(i + 1) == Some(&b's') => {
                positional += 1;
                (2, Some(Slot::Position(positional - 1)))
            }
            b'%' if !native && b.get(i + 1) == Some(&b'(') => match sql[i + 2..].find(")s") {
                Some(end) if is_identifier(&sql[i + 2..i + 2 + end]) => (end + 4, Some(Slot::Name(sql[i + 2..i + 2 + end].to_string()))),
                _ => (1, None),
            },
            b':' | b'@' if !native => {
                let prev_colon = i > 0 && b[i - 1] == b':';
                let next_colon = b.get(i + 1) == Some(&b':');
                let name_len = identifier_len(&b[i + 1..]);
                if c == b':' && (prev_colon || next_colon) || name_len == 0 || (i > 0 && is_ident_byte(b[i - 1]) && c == b'@') {
                    (1, None)
                } else {
                    (1 + name_len, Some(Slot::Name(sql[i + 1..i + 1 + name_len].to_string())))
                }
            }
            _ => (1, None),
        };
        let len = len.max(1);
        if let Some(slot) = replacement {
            out.text.push_str(&sql[copied..i]);
            let n = out.slot(slot);
            out.shifts.push((out.text.len(), i));
            out.text.push_str(&format!("${n}"));
            out.shifts.push((out.text.len(), i + len));
            copied = i + len;
        }
        i = (i + len).min(b.len());
        while i < b.len() && !sql.is_char_boundary(i) {
            i += 1;
        }
    }
    out.text.push_str(&sql[copied.min(sql.len())..]);
    if native {
        let max = max_dollar_param(sql);
        out.slots = (0..max).map(Slot::Position).collect();
    }
    out
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn identifier_len(b: &[u8]) -> usize {
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => b.iter().take_while(|c| is_ident_byte(**c)).count(),
        _ => 0,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty() && identifier_len(s.as_bytes()) == s.len()
}

/// `?|` and `?&` are jsonb operators, never placeholders.
fn is_json_operator(b: &[u8], i: usize) -> bool {
    matches!(b.get(i + 1), Some(b'|') | Some(b'&'))
}

fn skip_quoted(b: &[u8], start: usize, quote: u8, backslash_escapes: bool) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            return i + 1 - start;
        }
        i += 1;
    }
    b.len() - start
}

fn skip_block_comment(b: &[u8], start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i + 1 < b.len() {
        if b[i] == b'/' && b[i + 1] == b'*' {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b[i + 1] == b'/' {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i - start;
            }
        } else {
            i += 1;
        }
    }
    b.len() - start
}

/// `$tag$ ... $tag$`; a `$n` parameter or a lone `$` is one byte.
fn skip_dollar_quote(sql: &str, start: usize) -> usize {
    let rest = &sql[start + 1..];
    let tag_len = rest.bytes().take_while(|c| is_ident_byte(*c) && !c.is_ascii_digit()).count();
    if rest.as_bytes().get(tag_len) != Some(&b'$') {
        return 1;
    }
    let tag = &sql[start..start + tag_len + 2];
    match sql[start + tag.len()..].find(tag) {
        Some(end) => tag.len() * 2 + end,
        None => sql.len() - start,
    }
}

fn has_dollar_params(sql: &str) -> bool {
    max_dollar_param(sql) > 0
}

fn max_dollar_param(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut max = 0;
    for (i, _) in sql.match_indices('$') {
        if i > 0 && is_ident_byte(b[i - 1]) {
            continue;
        }
        let digits: String = sql[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            max = max.max(n.min(65535));
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn question_marks_become_numbered() {
        let n = normalize("INSERT INTO t (a, b) VALUES (?, ?)");
        assert_eq!(n.text, "INSERT INTO t (a, b) VALUES ($1, $2)");
        assert_eq!(n.slots, vec![Slot::Position(0), Slot::Position(1)]);
    }

    #[test]
    fn named_parameters_share_a_slot_and_casts_are_not_names() {
        let n = normalize("UPDATE t SET a = :a, b = :b::text WHERE id = :a AND c = 'x:y'");
        assert_eq!(n.text, "UPDATE t SET a = $1, b = $2::text WHERE id = $1 AND c = 'x:y'");
        assert_eq!(n.slots, vec![Slot::Name("a".into()), Slot::Name("b".into())]);
    }

    #[test]
    fn pyformat_and_at_names() {
        assert_eq!(normalize("VALUES (%(x)s, %s)").text, "VALUES ($1, $2)");
        assert_eq!(normalize("VALUES (@result)").slots, vec![Slot::Name("result".into())]);
        assert_eq!(normalize("SELECT 'a@b.c' -- :x\n").slots, vec![]);
    }

    #[test]
    fn dollar_params_are_kept_and_offsets_map_back() {
        let n = normalize("VALUES ($1, $3)");
        assert_eq!(n.text, "VALUES ($1, $3)");
        assert_eq!(n.slots.len(), 3);
        let m = normalize("VALUES (?, 'x')");
        assert_eq!(m.original(m.text.find("'x'").unwrap()), 11);
    }

    #[test]
    fn dollar_quoted_bodies_are_skipped() {
        let n = normalize("SELECT $$ ? $$, ?");
        assert_eq!(n.text, "SELECT $$ ? $$, $1");
    }
}
