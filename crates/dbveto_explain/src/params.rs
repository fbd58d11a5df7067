//! SQLAlchemy's `[parameters: ...]`: the Python `repr` of a dict (named
//! parameters), a tuple (positional), or a list of them (executemany).
//! Values stay as their repr text; strings are unquoted.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "form", content = "values", rename_all = "lowercase")]
pub enum Parameters {
    /// `{'host_id': 2, 'ifname': 'e0'}`.
    Named(Vec<(String, Value)>),
    /// `(2, 'e0')`.
    Positional(Vec<Value>),
    /// Anything else (executemany, hidden, shortened), as printed.
    Raw(String),
}

/// One parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Value {
    Str(String),
    /// A number as written.
    Number(String),
    Bool(bool),
    None,
    /// Another repr (`datetime.datetime(2025, 1, 1, 0, 0)`, `UUID('...')`).
    Other(String),
}

impl Parameters {
    pub fn parse(text: &str) -> Parameters {
        let text = text.trim();
        let mut p = Reader { s: text, i: 0 };
        let parsed = match text.chars().next() {
            Some('{') => p.dict().map(Parameters::Named),
            Some('(') => p.sequence('(', ')').map(Parameters::Positional),
            _ => None,
        };
        match parsed {
            Some(v) if p.rest().trim().is_empty() => v,
            _ => Parameters::Raw(text.to_string()),
        }
    }

    /// The value of a named parameter.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Parameters::Named(values) => values.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }

    fn skip_ws(&mut self) {
        self.i = self.s.len() - self.rest().trim_start().len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn dict(&mut self) -> Option<Vec<(String, Value)>> {
        self.eat('{').then_some(())?;
        let mut out = Vec::new();
        loop {
            if self.eat('}') {
                return Some(out);
            }
            let Value::Str(key) = self.value()? else { return None };
            self.eat(':').then_some(())?;
            out.push((key, self.value()?));
            if !self.eat(',') {
                return self.eat('}').then_some(out);
            }
        }
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Vec<Value>> {
        self.eat(open).then_some(())?;
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.value()?);
            if !self.eat(',') {
                return self.eat(close).then_some(out);
            }
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_ws();
        let rest = self.rest();
        let first = rest.chars().next()?;
        if first == '\'' || first == '"' {
            return self.string(first).map(Value::Str);
        }
        // Anything else runs to the next `,` `}` `)` `]` outside brackets and quotes.
        let mut depth = 0i32;
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        let mut escaped = false;
        for (k, c) in rest.char_indices() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => {
                    end = k;
                    break;
                }
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    end = k;
                    break;
                }
                _ => {}
            }
        }
        let token = rest[..end].trim().to_string();
        self.i += end;
        if token.is_empty() {
            return None;
        }
        Some(match token.as_str() {
            "None" => Value::None,
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            t if t.parse::<f64>().is_ok() => Value::Number(t.to_string()),
            t => Value::Other(t.to_string()),
        })
    }

    /// A Python string literal's repr: `'...'` with backslash escapes.
    fn string(&mut self, q: char) -> Option<String> {
        let body = &self.rest()[1..];
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    other => out.push(other),
                },
                c if c == q => {
                    self.i += 1 + k + c.len_utf8();
                    return Some(out);
                }
                c => out.push(c),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dict_of_named_parameters() {
        let p = Parameters::parse("{'host_id': 2, 'ifname': 'e0', 'oper_state': 'up', 'speed_mbps': None}");
        assert_eq!(p.get("host_id"), Some(&Value::Number("2".into())));
        assert_eq!(p.get("ifname"), Some(&Value::Str("e0".into())));
        assert_eq!(p.get("speed_mbps"), Some(&Value::None));
    }

    #[test]
    fn tuples_quotes_and_nested_reprs() {
        let p = Parameters::parse(r#"('it\'s', "a, b", datetime.datetime(2025, 8, 11, 0, 0), True, -1.5)"#);
        assert_eq!(
            p,
            Parameters::Positional(vec![
                Value::Str("it's".into()),
                Value::Str("a, b".into()),
                Value::Other("datetime.datetime(2025, 8, 11, 0, 0)".into()),
                Value::Bool(true),
                Value::Number("-1.5".into()),
            ])
        );
    }

    #[test]
    fn anything_else_is_kept_raw() {
        let text = "[{'a': 1}, {'a': 2}]";
        assert_eq!(Parameters::parse(text), Parameters::Raw(text.into()));
        assert_eq!(Parameters::parse("{'a': 1"), Parameters::Raw("{'a': 1".into()));
        assert_eq!(Parameters::parse("{'a': 1, ... 3 more}"), Parameters::Raw("{'a': 1, ... 3 more}".into()));
    }
}
