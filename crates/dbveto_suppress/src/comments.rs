//! Comments of a file, found by a small lexical scan per language that
//! knows where string literals begin and end, so that a `#`, `//` or `--`
//! inside a string is never taken for a comment.

/// A comment: the line it starts on (1-based), its column (1-based,
/// in characters) and its text without the comment markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment<'a> {
    pub line: u32,
    pub column: u32,
    pub text: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    Go,
    Sql,
}

impl Language {
    pub fn of_path(path: &str) -> Option<Language> {
        match path.rsplit_once('.')?.1 {
            "py" | "pyi" => Some(Language::Python),
            "go" => Some(Language::Go),
            "sql" => Some(Language::Sql),
            _ => None,
        }
    }
}

pub fn comments(text: &str, language: Language) -> Vec<Comment<'_>> {
    let mut scan = Scanner { text, bytes: text.as_bytes(), at: 0, out: Vec::new() };
    match language {
        Language::Python => scan.python(),
        Language::Go => scan.go(),
        Language::Sql => scan.sql(),
    }
    scan.out
}

struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    out: Vec<Comment<'a>>,
}

impl<'a> Scanner<'a> {
    fn peek(&self, offset: usize) -> Option<u8> {
        self.bytes.get(self.at + offset).copied()
    }

    fn starts_with(&self, s: &str) -> bool {
        self.bytes[self.at..].starts_with(s.as_bytes())
    }

    /// A comment from `start` (at its marker) whose text runs from
    /// `text_start` to `text_end`.
    fn push(&mut self, start: usize, text_start: usize, text_end: usize) {
        let before = &self.text[..start];
        let line = before.bytes().filter(|b| *b == b'\n').count() as u32 + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() as u32 + 1;
        self.out.push(Comment { line, column, text: &self.text[text_start..text_end] });
    }

    /// A comment to the end of the line, after a marker of `marker_len` bytes.
    fn line_comment(&mut self, marker_len: usize) {
        let start = self.at;
        let end = self.text[start..].find('\n').map_or(self.text.len(), |i| start + i);
        self.push(start, start + marker_len, end);
        self.at = end;
    }

    /// `/* ... */`, nested when `nested` (SQL), not in Go.
    fn block_comment(&mut self, nested: bool) {
        let start = self.at;
        self.at += 2;
        let mut depth = 1;
        while self.at < self.bytes.len() {
            if self.starts_with("*/") {
                depth -= 1;
                self.at += 2;
                if depth == 0 {
                    self.push(start, start + 2, self.at - 2);
                    return;
                }
            } else if nested && self.starts_with("/*") {
                depth += 1;
                self.at += 2;
            } else {
                self.at += 1;
            }
        }
        self.push(start, start + 2, self.bytes.len());
    }

    /// A string closed by `quote`; a backslash escapes the next byte when
    /// `backslash`, a doubled quote stands for one when `doubled`; an
    /// unclosed string ends at a newline when `single_line`.
    fn string(&mut self, quote: &str, backslash: bool, doubled: bool, single_line: bool) {
        self.at += quote.len();
        while self.at < self.bytes.len() {
            let b = self.bytes[self.at];
            if backslash && b == b'\\' {
                self.at += 2;
            } else if self.starts_with(quote) {
                self.at += quote.len();
                if doubled && self.starts_with(quote) {
                    self.at += quote.len();
                } else {
                    return;
                }
            } else if single_line && b == b'\n' {
                return;
            } else {
                self.at += 1;
            }
        }
    }

    fn python(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b'#' => self.line_comment(1),
                b'\'' | b'"' => {
                    let q = b as char;
                    let triple: String = std::iter::repeat_n(q, 3).collect();
                    if self.starts_with(&triple) {
                        self.string(&triple, true, false, false);
                    } else {
                        self.string(&q.to_string(), true, false, true);
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    fn go(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b'/' if self.peek(1) == Some(b'/') => self.line_comment(2),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(false),
                b'"' => self.string("\"", true, false, true),
                b'\'' => self.string("'", true, false, true),
                b'`' => self.string("`", false, false, false),
                _ => self.at += 1,
            }
        }
    }

    fn sql(&mut self) {
        while let Some(b) = self.peek(0) {
            match b {
                b'-' if self.peek(1) == Some(b'-') => self.line_comment(2),
                b'/' if self.peek(1) == Some(b'*') => self.block_comment(true),
                b'\'' => {
                    // E'...' strings take backslash escapes.
                    let escaped = self.at > 0 && matches!(self.bytes[self.at - 1], b'E' | b'e') && !self.identifier_before(self.at - 1);
                    self.string("'", escaped, true, false);
                }
                b'"' => self.string("\"", false, true, false),
                b'$' => match self.dollar_tag() {
                    Some(tag) => self.string(tag, false, false, false),
                    None => self.at += 1,
                },
                _ if is_identifier_byte(b) => {
                    while self.peek(0).is_some_and(is_identifier_byte) {
                        self.at += 1;
                    }
                }
                _ => self.at += 1,
            }
        }
    }

    /// Whether an identifier character stands just before `at`.
    fn identifier_before(&self, at: usize) -> bool {
        at > 0 && is_identifier_byte(self.bytes[at - 1])
    }

    /// `$tag$` or `$$` opening a dollar-quoted string (`$1` is a parameter).
    fn dollar_tag(&self) -> Option<&'a str> {
        if self.identifier_before(self.at) {
            return None;
        }
        let rest = &self.text[self.at + 1..];
        let len = rest.bytes().take_while(|b| is_identifier_byte(*b)).count();
        if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) || rest.as_bytes().get(len) != Some(&b'$') {
            return None;
        }
        Some(&self.text[self.at..self.at + len + 2])
    }
}

fn is_identifier_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str, language: Language) -> Vec<(u32, &str)> {
        comments(text, language).into_iter().map(|c| (c.line, c.text)).collect()
    }

    #[test]
    fn python_hashes_inside_strings_are_not_comments() {
        let src = "a = '#x' # one\nb = \"\"\"\n# not\n\"\"\"  # two\nc = 'it\\'s # no'\nd = f\"{x}#\" #three\n";
        assert_eq!(texts(src, Language::Python), [(1, " one"), (4, " two"), (6, "three")]);
    }

    #[test]
    fn go_raw_strings_runes_and_block_comments() {
        let src = "q := `-- // not`\nr := '\"' // one\ns := \"a // \\\" b\" /* two */\n/* three\n*/";
        assert_eq!(texts(src, Language::Go), [(2, " one"), (3, " two "), (4, " three\n")]);
    }

    #[test]
    fn sql_quotes_dollar_quotes_and_nested_block_comments() {
        let src = "SELECT '--a'''; -- one\nSELECT $f$ -- no $f$, $1 -- two\n/* x /* y */ z */ SELECT E'\\' --' -- three\nSELECT \"a--\" --four";
        assert_eq!(texts(src, Language::Sql), [(1, " one"), (2, " two"), (3, " x /* y */ z "), (3, " three"), (4, "four")]);
    }

    #[test]
    fn unterminated_strings_and_comments_do_not_panic() {
        for src in ["'abc", "\"\"\"abc", "`abc", "/* abc", "$a$ abc", "E'\\", "#", "--", "x = '\\"] {
            for lang in [Language::Python, Language::Go, Language::Sql] {
                let _ = comments(src, lang);
            }
        }
    }

    #[test]
    fn columns_count_characters() {
        let c = comments("é = 1  # x", Language::Python);
        assert_eq!(c[0].column, 8);
    }
}
