//! What surrounds a primary message: the driver and the exceptions around
//! it, DETAIL and HINT lines, the statement and its parameters, traceback
//! frames.

use crate::params::Parameters;
use crate::{postgres, DbError, Dialect, ErrorKind, Frame};

/// Logs shipped as JSON keep newlines as `\n`: undo that when the escaped
/// text holds the lines an error continues with.
pub(crate) fn unescape(input: &str) -> String {
    let text = input.replace("\r\n", "\n");
    if ["\\nDETAIL:", "\\n[SQL:", "\\nHINT:"].iter().any(|m| text.contains(m)) {
        text.replace("\\n", "\n").replace("\\\"", "\"")
    } else {
        text
    }
}

/// Completes an error recognised at `lines[i][start..end]` from the rest
/// of its line and the lines after it.
pub(crate) fn complete(e: &mut DbError, lines: &[&str], i: usize, start: usize, end: usize) {
    let line = lines[i];
    prefix(e, &line[..start]);
    suffix(e, &line[end..]);
    let mut j = i + 1;
    while let Some(next) = lines.get(j) {
        let t = next.trim();
        if let Some(k) = next.find("DETAIL:") {
            postgres::detail(e, &next[k + "DETAIL:".len()..]);
        } else if let Some(k) = next.find("HINT:") {
            e.hint = Some(next[k + "HINT:".len()..].trim().to_string());
        } else if let Some(k) = next.find("STATEMENT:") {
            e.sql = Some(next[k + "STATEMENT:".len()..].trim().to_string());
        } else if t.is_empty() || t.starts_with("LINE ") || t.chars().all(|c| c == '^' || c == ' ') || postgres::verbose_field(e, next) {
        } else {
            break;
        }
        j += 1;
    }
    statement(e, lines, j);
}

/// The class names and driver markers before the message.
fn prefix(e: &mut DbError, before: &str) {
    if before.trim_end().ends_with("pq:") {
        e.driver = Some("lib/pq".into());
    }
    if let Some(state) = postgres::verbose_sqlstate(before) {
        e.sqlstate = Some(state);
    }
    // `(psycopg2.errors.X) ` inside SQLAlchemy's text, `X: ` at a
    // traceback's last line; several when one is wrapped in another.
    for word in before.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
        let class = word.trim_end_matches(':');
        if class.contains('.') && class.rsplit('.').next().is_some_and(|n| n.chars().next().is_some_and(|c| c.is_ascii_uppercase())) {
            classify(e, class);
        }
    }
    // Go's MySQL driver: `Error 1452 (23000): `; the client: `ERROR 1452 (23000) at line 1: `.
    for head in ["Error ", "ERROR "] {
        if e.dialect == Dialect::Postgresql {
            break;
        }
        if let Some(k) = before.rfind(head) {
            let rest = &before[k + head.len()..];
            if let Some(n) = rest.split_whitespace().next().and_then(|n| n.trim_end_matches(':').parse::<u32>().ok()) {
                e.errno = e.errno.or(Some(n));
                if e.driver.is_none() && before[k..].starts_with("Error ") {
                    e.driver = Some("go-sql-driver/mysql".into());
                }
            }
        }
    }
}

/// What a dotted class name says: the driver, its exception, or a wrapper.
fn classify(e: &mut DbError, class: &str) {
    let module = class.split('.').next().unwrap_or("");
    let driver = match module {
        "psycopg2" => Some("psycopg2"),
        "psycopg" => Some("psycopg"),
        "asyncpg" => Some("asyncpg"),
        "sqlite3" => Some("sqlite3"),
        "MySQLdb" => Some("mysqlclient"),
        "pymysql" => Some("PyMySQL"),
        "mysql" => Some("mysql-connector"),
        _ => None,
    };
    match driver {
        Some(d) => {
            e.driver = Some(d.to_string());
            if e.exception.is_none() || class.contains(".errors.") {
                e.exception = Some(class.to_string());
            }
            if let Some(state) = class.rsplit('.').next().and_then(sqlstate_of_class) {
                e.sqlstate = Some(state.to_string());
            }
        }
        None if (module == "django" || module == "sqlalchemy") && !e.wrappers.iter().any(|w| w == class) => {
            e.wrappers.push(class.to_string());
        }
        None => {}
    }
}

/// psycopg's (and asyncpg's) class for a SQLSTATE.
fn sqlstate_of_class(name: &str) -> Option<&'static str> {
    Some(match name.trim_end_matches("Error") {
        "NotNullViolation" => "23502",
        "CheckViolation" => "23514",
        "ForeignKeyViolation" => "23503",
        "UniqueViolation" => "23505",
        "StringDataRightTruncation" => "22001",
        "InvalidTextRepresentation" => "22P02",
        _ => return None,
    })
}

fn kind_of_class(name: &str) -> Option<ErrorKind> {
    Some(match name.trim_end_matches("Error") {
        "NotNullViolation" => ErrorKind::NotNull,
        "CheckViolation" => ErrorKind::Check,
        "ForeignKeyViolation" => ErrorKind::ForeignKey,
        "UniqueViolation" => ErrorKind::Unique,
        "StringDataRightTruncation" => ErrorKind::ValueTooLong,
        "InvalidTextRepresentation" => ErrorKind::InvalidInput,
        _ => return None,
    })
}

/// pgx: ` (SQLSTATE 23502)`; lib/pq 1.11+: ` (23502)`.
fn suffix(e: &mut DbError, after: &str) {
    let after = after.trim_start();
    if let Some(rest) = after.strip_prefix("(SQLSTATE ") {
        if let Some(code) = rest.split(')').next() {
            e.sqlstate = Some(code.trim().to_string());
            if e.driver.is_none() {
                e.driver = Some("pgx".into());
            }
        }
    } else if let Some(rest) = after.strip_prefix('(') {
        let code = rest.split(')').next().unwrap_or("");
        if code.len() == 5 && code.chars().all(|c| c.is_ascii_alphanumeric()) && e.dialect == Dialect::Postgresql {
            e.sqlstate = Some(code.to_string());
        }
    }
}

/// SQLAlchemy's `[SQL: ...]` and `[parameters: ...]` after the message;
/// the statement may span lines.
fn statement(e: &mut DbError, lines: &[&str], from: usize) {
    let Some(first) = lines.get(from).filter(|l| l.trim_start().starts_with("[SQL: ")) else { return };
    let mut sql = first.trim_start()["[SQL: ".len()..].to_string();
    let mut j = from;
    loop {
        let next = lines.get(j + 1).map(|l| l.trim_start());
        let closes = next.is_none_or(|n| n.starts_with("[parameters: ") || n.starts_with("[SQL parameters hidden") || n.starts_with("(Background on this error"));
        if closes && sql.trim_end().ends_with(']') {
            break;
        }
        match lines.get(j + 1) {
            Some(l) => {
                sql.push('\n');
                sql.push_str(l);
                j += 1;
            }
            None => break,
        }
    }
    let sql = sql.trim_end();
    e.sql = Some(sql.strip_suffix(']').unwrap_or(sql).to_string());
    if let Some(p) = lines.get(j + 1).and_then(|l| l.trim_start().strip_prefix("[parameters: ")) {
        let p = p.trim_end();
        e.parameters = Some(Parameters::parse(p.strip_suffix(']').unwrap_or(p)));
    }
}

/// When no message is recognised (SQLAlchemy shortens the one inside
/// PendingRollbackError), a driver class still tells the kind.
pub(crate) fn from_exception_class(lines: &[&str]) -> Option<DbError> {
    for line in lines {
        for word in line.split(|c: char| c.is_whitespace() || c == '(' || c == ')') {
            let class = word.trim_end_matches(':');
            let Some(name) = class.strip_prefix("psycopg2.errors.").or_else(|| class.strip_prefix("psycopg.errors.")) else { continue };
            let Some(kind) = kind_of_class(name) else { continue };
            let mut e = DbError::new(kind, Dialect::Postgresql, line.trim());
            classify(&mut e, class);
            return Some(e);
        }
    }
    None
}

/// `  File "app/models.py", line 41, in create` lines of Python tracebacks.
pub(crate) fn frames(lines: &[&str]) -> Vec<Frame> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = l.trim_start().strip_prefix("File \"")?;
            let (path, rest) = rest.split_once("\", line ")?;
            let (line, rest) = rest.split_once(", in ").unwrap_or((rest, ""));
            Some(Frame { path: path.to_string(), line: line.trim().parse().ok()?, function: rest.trim().to_string() })
        })
        .collect()
}
