//! Decoding of Go literals as the compiler reads them: string, rune and
//! integer literals, and struct tags. Malformed input decodes to something
//! (or `None`), never panics.

/// The value of an interpreted string literal, given its source text with
/// the quotes; escapes are decoded, invalid UTF-8 from `\x` bytes is replaced.
pub(crate) fn interpreted(src: &str) -> String {
    unescape(strip_delimiters(src, '"'))
}

/// The content of an interpreted string literal with its escapes decoded.
pub(crate) fn unescape(inner: &str) -> String {
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            push_char(&mut out, c);
            continue;
        }
        match escape(&mut chars) {
            Some(Escape::Byte(b)) => out.push(b),
            Some(Escape::Char(c)) => push_char(&mut out, c),
            // An unknown or truncated escape is kept as written.
            None => out.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of a raw string literal, given its source text with the
/// backticks; Go drops carriage returns from raw strings.
pub(crate) fn raw(src: &str) -> String {
    strip_delimiters(src, '`').replace('\r', "")
}

/// The value of a rune literal (`'a'`, `'\n'`, `'\x41'`) as an integer.
pub(crate) fn rune(src: &str) -> Option<i128> {
    let inner = strip_delimiters(src, '\'');
    let mut chars = inner.chars().peekable();
    let value = match chars.next()? {
        '\\' => match escape(&mut chars)? {
            Escape::Byte(b) => i128::from(b),
            Escape::Char(c) => i128::from(u32::from(c)),
        },
        c => i128::from(u32::from(c)),
    };
    chars.next().is_none().then_some(value)
}

/// The value of an integer literal (decimal, `0x`, `0o`, `0b`, legacy
/// octal, `_` separators); `None` when malformed or beyond 128 bits.
pub(crate) fn int(src: &str) -> Option<i128> {
    let s: String = src.chars().filter(|c| *c != '_').collect();
    let lower = s.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let value = u128::from_str_radix(digits, radix).ok()?;
    i128::try_from(value).ok()
}

/// The value of `key` in a decoded struct tag, as `reflect.StructTag.Lookup`
/// reads it (`db:"name,omitempty" json:"n"`).
pub(crate) fn tag_lookup(tag: &str, key: &str) -> Option<String> {
    let mut rest = tag;
    loop {
        rest = rest.trim_start_matches(' ');
        let bytes = rest.as_bytes();
        let name_len = bytes
            .iter()
            .position(|&b| b <= b' ' || b == b':' || b == b'"' || b == 0x7f)
            .unwrap_or(bytes.len());
        if name_len == 0 || bytes.get(name_len) != Some(&b':') || bytes.get(name_len + 1) != Some(&b'"') {
            return None;
        }
        let name = rest.get(..name_len)?;
        rest = rest.get(name_len + 1..)?;
        // Find the closing quote of the value, skipping escaped characters.
        let bytes = rest.as_bytes();
        let mut i = 1;
        while i < bytes.len() && bytes[i] != b'"' {
            if bytes[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        if i >= bytes.len() {
            return None;
        }
        let quoted = rest.get(..=i)?;
        rest = rest.get(i + 1..)?;
        if name == key {
            return Some(interpreted(quoted));
        }
    }
}

fn strip_delimiters(src: &str, delimiter: char) -> &str {
    let s = src.strip_prefix(delimiter).unwrap_or(src);
    s.strip_suffix(delimiter).unwrap_or(s)
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut buf = [0; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

enum Escape {
    Byte(u8),
    Char(char),
}

/// Decodes one escape after its backslash.
fn escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Escape> {
    let c = *chars.peek()?;
    let simple = match c {
        'a' => Some(0x07),
        'b' => Some(0x08),
        'f' => Some(0x0c),
        'n' => Some(b'\n'),
        'r' => Some(b'\r'),
        't' => Some(b'\t'),
        'v' => Some(0x0b),
        '\\' | '\'' | '"' => Some(c as u8),
        _ => None,
    };
    if let Some(b) = simple {
        chars.next();
        return Some(Escape::Byte(b));
    }
    match c {
        '0'..='7' => {
            let v = digits(chars, 8, 3);
            Some(Escape::Byte(u8::try_from(v?).unwrap_or(0xff)))
        }
        'x' | 'u' | 'U' => {
            let count = match c {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            // Look past the letter first: a truncated escape consumes nothing.
            let mut ahead = chars.clone();
            ahead.next();
            let v = digits(&mut ahead, 16, count)?;
            *chars = ahead;
            Some(match c {
                'x' => Escape::Byte(u8::try_from(v).unwrap_or(0xff)),
                _ => Escape::Char(char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER)),
            })
        }
        _ => None,
    }
}

/// Exactly `count` digits of `radix`, consumed only if all are present.
fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, radix: u32, count: usize) -> Option<u32> {
    let ahead: Vec<char> = chars.clone().take(count).collect();
    if ahead.len() < count || !ahead.iter().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mut value: u32 = 0;
    for c in ahead {
        chars.next();
        value = value.saturating_mul(radix).saturating_add(c.to_digit(radix)?);
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpreted_strings_decode_escapes() {
        assert_eq!(interpreted(r#""a\tb\n\"c\" \x41\101\u00e9\U0001F600""#), "a\tb\n\"c\" AAé😀");
        assert_eq!(interpreted(r#""bad \q and \x4""#), "bad \\q and \\x4");
        assert_eq!(interpreted("\"unterminated"), "unterminated");
        assert_eq!(interpreted("\""), "");
    }

    #[test]
    fn raw_strings_drop_carriage_returns() {
        assert_eq!(raw("`a\r\nb\\n`"), "a\nb\\n");
    }

    #[test]
    fn runes_and_ints_decode_like_go() {
        assert_eq!(rune("'a'"), Some(97));
        assert_eq!(rune(r"'\n'"), Some(10));
        assert_eq!(rune(r"'\xff'"), Some(255));
        assert_eq!(rune("'ab'"), None);
        assert_eq!(int("1_000"), Some(1000));
        assert_eq!(int("0x1F"), Some(31));
        assert_eq!(int("0o17"), Some(15));
        assert_eq!(int("017"), Some(15));
        assert_eq!(int("0b101"), Some(5));
        assert_eq!(int("0"), Some(0));
        assert_eq!(int("0x"), None);
        assert_eq!(int("99999999999999999999999999999999999999999999"), None);
    }

    #[test]
    fn struct_tags_are_looked_up_by_key() {
        assert_eq!(
            tag_lookup(r#"json:"x" db:"result,omitempty""#, "db").as_deref(),
            Some("result,omitempty")
        );
        assert_eq!(tag_lookup(r#"db:"-""#, "db").as_deref(), Some("-"));
        assert_eq!(tag_lookup(r#"json:"x""#, "db"), None);
        assert_eq!(tag_lookup(r#"db:"unterminated"#, "db"), None);
        assert_eq!(tag_lookup("db", "db"), None);
    }
}
