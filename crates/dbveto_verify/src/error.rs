//! Server errors as people read them, and passwords kept out of every
//! message that mentions a connection.

/// `message (SQLSTATE code)` for a server error, the error's text otherwise.
pub fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => {
            // The client's own text, and what caused it (an I/O error).
            let mut s = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let c = cause.to_string();
                if !s.contains(&c) {
                    s.push_str(&format!(": {c}"));
                }
                source = cause.source();
            }
            s
        }
    }
}

/// Removes a password from text that may quote it.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secret: Option<String>,
}

impl Redactor {
    pub fn new(password: Option<&[u8]>) -> Self {
        let secret = password.map(|p| String::from_utf8_lossy(p).to_string()).filter(|p| !p.is_empty());
        Redactor { secret }
    }

    pub fn clean(&self, text: &str) -> String {
        match &self.secret {
            Some(secret) => text.replace(secret.as_str(), "********"),
            None => text.to_string(),
        }
    }
}

/// A connection string with its password replaced, for messages:
/// `postgres://app:********@db:5432/prod`, `host=db password=******** dbname=prod`.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let authority = match authority.rsplit_once('@') {
            Some((user_info, host)) => match user_info.split_once(':') {
                Some((user, _)) => format!("{user}:********@{host}"),
                None => authority.to_string(),
            },
            None => authority.to_string(),
        };
        let tail = redact_query(tail);
        return format!("{scheme}://{authority}{tail}");
    }
    // key=value form; a quoted value may hold spaces.
    let mut out = String::new();
    let mut rest = url;
    while let Some(i) = rest.find("password") {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        let after_key = &after["password".len()..];
        let trimmed = after_key.trim_start();
        if let Some(value) = trimmed.strip_prefix('=') {
            let value = value.trim_start();
            let end = if let Some(quoted) = value.strip_prefix('\'') {
                let mut escaped = false;
                let mut end = quoted.len();
                for (j, c) in quoted.char_indices() {
                    if c == '\'' && !escaped {
                        end = j + 1;
                        break;
                    }
                    escaped = c == '\\' && !escaped;
                }
                1 + end
            } else {
                value.find(char::is_whitespace).unwrap_or(value.len())
            };
            out.push_str("password=********");
            rest = &value[end.min(value.len())..];
        } else {
            out.push_str("password");
            rest = after_key;
        }
    }
    out.push_str(rest);
    out
}

fn redact_query(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else { return tail.to_string() };
    let params: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=********"),
            _ => p.to_string(),
        })
        .collect();
    format!("{path}?{}", params.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_in_every_form() {
        assert_eq!(redact_url("postgres://app:s3cret@db:5432/prod?sslmode=disable"), "postgres://app:********@db:5432/prod?sslmode=disable");
        assert_eq!(redact_url("postgresql://app@db/prod?password=s3cret&x=1"), "postgresql://app@db/prod?password=********&x=1");
        assert_eq!(redact_url("postgres://db/prod"), "postgres://db/prod");
        assert_eq!(redact_url("host=db password='a b\\' c' dbname=prod"), "host=db password=******** dbname=prod");
        assert_eq!(redact_url("host=db password = s3cret user=app"), "host=db password=******** user=app");
        assert_eq!(Redactor::new(Some(b"s3cret")).clean("auth failed for s3cret"), "auth failed for ********");
        assert_eq!(Redactor::new(None).clean("x"), "x");
    }
}
