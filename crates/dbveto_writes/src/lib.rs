//! What the code sends: SQL text found in the code, the values bound to its
//! parameters as far as they are known statically, and the writes (INSERT,
//! UPDATE) that the SQL performs. Frontends produce `EmbeddedQuery`s;
//! `dbveto_sql` turns them into `Write`s; rules read `Write`s.

use std::collections::BTreeMap;

use dbveto_source::Location;
use serde::Serialize;

/// A value known statically.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Literal {
    Str(String),
    Int(i64),
    /// A number that does not fit `i64`, or has a fraction, as written.
    Num(String),
    Bool(bool),
    Null,
}

impl Literal {
    /// The value as SQL would spell it, for messages.
    pub fn to_sql(&self) -> String {
        match self {
            Literal::Str(s) => format!("'{}'", s.replace('\'', "''")),
            Literal::Int(i) => i.to_string(),
            Literal::Num(n) => n.clone(),
            Literal::Bool(b) => b.to_string(),
            Literal::Null => "NULL".to_string(),
        }
    }
}

/// One statically known value and where it was written in the code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownValue {
    pub literal: Literal,
    /// Where the value is spelled (a Go struct literal, a call argument, the
    /// SQL text itself). `None` when it is only known to be in the SQL.
    pub origin: Option<Location>,
    /// How the value reaches the statement, for people:
    /// `field Result (db:"result") of UpdateLog`.
    pub via: Option<String>,
}

/// What is known about one value sent to the database: the values it may
/// take that are known statically, whether it may also be something unknown,
/// and whether it is the `DEFAULT` keyword.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Arg {
    pub known: Vec<KnownValue>,
    pub unknown: bool,
    pub default: bool,
}

impl Arg {
    pub fn unknown() -> Self {
        Arg { known: Vec::new(), unknown: true, default: false }
    }

    pub fn default_keyword() -> Self {
        Arg { known: Vec::new(), unknown: false, default: true }
    }

    pub fn known(literal: Literal, origin: Option<Location>, via: Option<String>) -> Self {
        Arg { known: vec![KnownValue { literal, origin, via }], unknown: false, default: false }
    }

    /// The union of two possibilities (two rows of a multi-row VALUES, two
    /// struct literals bound to the same parameter).
    pub fn merge(&mut self, other: Arg) {
        for v in other.known {
            if !self.known.contains(&v) {
                self.known.push(v);
            }
        }
        self.unknown |= other.unknown;
        self.default |= other.default;
    }
}

/// The parameters bound to an embedded statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub enum Params {
    /// Nothing is known about the arguments (or there are none).
    #[default]
    Unknown,
    /// `$1`, `?`, `%s`: the n-th argument after the query.
    Positional(Vec<Arg>),
    /// `:name`, `@name`, `%(name)s`: a struct with `db` tags, a map, a dict.
    Named(BTreeMap<String, Arg>),
}

/// SQL text assembled from one or more literals in a source file, with a
/// map from offsets in the SQL back to locations in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlText {
    pub text: String,
    pieces: Vec<(usize, Location)>,
}

impl SqlText {
    /// SQL taken from one literal whose content starts at `start`.
    pub fn new(text: impl Into<String>, start: Location) -> Self {
        SqlText { text: text.into(), pieces: vec![(0, start)] }
    }

    /// Appends the content of another literal (constant concatenation,
    /// Python's implicit concatenation).
    pub fn push(&mut self, text: &str, start: Location) {
        self.pieces.push((self.text.len(), start));
        self.text.push_str(text);
    }

    /// Appends text that has no place of its own in the file (a joined
    /// separator); it maps to the piece before it.
    pub fn push_unmapped(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// The file location of a byte offset of the SQL text. Exact for raw
    /// strings; for strings with escapes the column is approximate.
    pub fn location(&self, offset: usize) -> Option<Location> {
        let i = match self.pieces.binary_search_by(|(o, _)| o.cmp(&offset)) {
            Ok(i) => i,
            Err(0) => return None,
            Err(i) => i - 1,
        };
        let (start, loc) = &self.pieces[i];
        let offset = dbveto_source::floor_char_boundary(&self.text, offset.min(self.text.len()));
        let before = &self.text[*start..offset];
        let newlines = before.matches('\n').count() as u32;
        let column = match before.rfind('\n') {
            Some(nl) => before[nl + 1..].chars().count() as u32 + 1,
            None => loc.column + before.chars().count() as u32,
        };
        Some(Location { path: loc.path.clone(), line: loc.line + newlines, column })
    }
}

/// A SQL statement found in the code, with what is known about its
/// parameters. Frontends produce these; `extract_writes` turns them into writes.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedQuery {
    pub sql: SqlText,
    pub params: Params,
    /// The call that runs it (`db.NamedExec(...)`), when known.
    pub call: Option<Location>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    Insert,
    Update,
}

/// A table as a statement names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TableRef {
    pub schema: Option<String>,
    pub name: String,
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// One INSERT or UPDATE that the code performs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Write {
    pub kind: WriteKind,
    pub table: TableRef,
    /// The target columns, in order; `None` for an INSERT without a column
    /// list, whose values fill the table's columns in order.
    pub columns: Option<Vec<String>>,
    /// What is sent to each target column (aligned with `columns`, or with
    /// the table's columns when `columns` is `None`).
    pub values: Vec<Arg>,
    /// Where the statement is: the SQL text's location in the file.
    pub location: Location,
    /// The call that runs it, when it is not where the SQL text is.
    pub call: Option<Location>,
    /// The statement, shortened for messages.
    pub statement: String,
    /// The ORM model whose save this is (`ManagedResource`): the columns
    /// are the fields it declares, not a list written in the code.
    pub model: Option<String>,
    /// Some of the columns the statement sends are not known (a model with
    /// fields dbveto cannot read): a column missing from `columns` may
    /// still be sent, so omissions are not judged, except for the columns
    /// of `known_omitted`.
    pub partial: bool,
    /// Columns a `partial` write is known not to send, each with the
    /// evidence it rests on (a model whose base class lives outside the
    /// repository, judged column by column).
    pub known_omitted: Vec<KnownOmission>,
}

/// A column an ORM write is known not to send although some of its
/// columns are unknown, and why dbveto knows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnownOmission {
    pub column: String,
    /// For people: `NetBoxModel's fields as dbveto ships them do not include it`.
    pub evidence: String,
}

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
    // A whole word: `WITH_DOC_STRINGS` is an identifier, not `WITH`.
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
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
        assert!(!looks_like_write("WITH_DOC_STRINGS"));
        assert!(!looks_like_write("insertion order"[..0].as_ref()));
    }
}
