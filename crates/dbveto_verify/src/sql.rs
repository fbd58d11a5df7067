//! Spelling identifiers and values in the SQL that dbveto sends.

pub use dbveto_schema::quote_ident as ident;

/// `schema.table` with both parts quoted.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A string constant: `'it''s'`. Standard-conforming strings are on in
/// every supported PostgreSQL, so backslashes need no escape.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(qualified("public", "t"), "\"public\".\"t\"");
        assert_eq!(literal("it's"), "'it''s'");
    }
}
